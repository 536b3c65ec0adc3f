//! Receipts before Byzantium: each commits to the state root after its transaction (EIP-658
//! replaced that root with a status code), so the receipts root of such a block can only be
//! checked by a trie of the full state folded transaction by transaction.
//!
//! ```text
//! execution ─► BlockOutcome::tx_writes (one BlockWrites per transaction, pre-Byzantium only)
//!                 │
//!  PostStateRoots (a trie at the parent state) ─► root after each transaction ─► receipts ─► == header.receiptsRoot?
//! ```
//!
//! The calculator's trie folds whole blocks and may run ahead from a BAL, so the intermediate
//! roots come from a trie of their own, kept at the committed head while the chain is before
//! Byzantium and dropped after.

use alloy_consensus::{Eip658Value, Header, ReceiptEnvelope, proofs::calculate_receipt_root};
use alloy_primitives::B256;
use commitment::{AccountUpdate, StateTrie};
use revm::database::{
    OriginalValuesKnown,
    states::{BundleState, TransitionState, bundle_state::BundleRetention},
};

use super::{BlockOutcome, BlockState, OutcomeError};
use crate::{
    provider::StateProvider,
    world::{BlockWrites, WorldState},
};

/// How a block's receipts root was checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReceiptsCheck {
    /// Receipts carry a status code (Byzantium on): checked with the other outcome fields.
    #[default]
    Status,
    /// Receipts carry the state root after each transaction, folded on the full state.
    PostState,
    /// Before Byzantium on a partial state (recorded mainnet blocks): not checkable.
    Unchecked,
}

impl std::fmt::Display for ReceiptsCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Status => "status",
            Self::PostState => "post-state roots",
            Self::Unchecked => "unchecked (partial state, pre-Byzantium)",
        })
    }
}

/// The writes of the transaction just committed to `state`, which are then merged into the
/// block's bundle as usual.
pub(super) fn take_tx_writes<S: StateProvider>(state: &mut BlockState<'_, S>) -> BlockWrites {
    let transitions = state
        .transition_state
        .as_mut()
        .map(TransitionState::take)
        .unwrap_or_default();
    let mut tx = BundleState::default();
    tx.apply_transitions_and_create_reverts(transitions.clone(), BundleRetention::PlainState);
    state
        .bundle_state
        .apply_transitions_and_create_reverts(transitions, BundleRetention::PlainState);
    BlockWrites::from_changeset(tx.to_plain_state(OriginalValuesKnown::Yes))
}

/// A state trie at one block's post-state, for the roots after each transaction of its child.
pub struct PostStateRoots {
    at: B256,
    trie: StateTrie,
}

impl PostStateRoots {
    /// The trie of `world`, the post-state of block `at`.
    pub fn new(at: B256, world: &WorldState) -> Self {
        Self {
            at,
            trie: world.state_trie(),
        }
    }

    /// The block whose post-state the trie holds.
    pub fn at(&self) -> B256 {
        self.at
    }

    /// The state root after each transaction whose writes are `tx_writes`, in order. The trie
    /// is back at its block's post-state afterwards.
    pub fn roots(&mut self, tx_writes: &[BlockWrites]) -> Vec<B256> {
        let mut undos = Vec::with_capacity(tx_writes.len());
        let roots = tx_writes
            .iter()
            .map(|writes| {
                // Accounts whose storage alone changed keep their fields as of the transaction
                // before, which the trie holds.
                let updates = writes.updates_with(|address| self.trie.account(address));
                undos.push(self.trie.apply_reversible(&updates));
                self.trie.root()
            })
            .collect();
        while let Some(undo) = undos.pop() {
            self.trie.revert(undo);
        }
        roots
    }

    /// Moves the trie to the post-state of its child `hash`, reached by `updates`.
    pub fn advance(&mut self, hash: B256, updates: &[AccountUpdate]) {
        self.trie.apply(updates);
        self.at = hash;
    }
}

/// Puts the state root after each transaction into the outcome's receipts in place of their
/// status and checks the receipts root against `header`.
pub fn verify_post_state_receipts(
    outcome: &mut BlockOutcome,
    header: &Header,
    roots: &[B256],
) -> Result<(), OutcomeError> {
    set_post_state_roots(&mut outcome.receipts, roots)?;
    let got = calculate_receipt_root(&outcome.receipts);
    if got != header.receipts_root {
        return Err(OutcomeError::ReceiptsRoot {
            expected: header.receipts_root,
            got,
        });
    }
    outcome.receipts_check = ReceiptsCheck::PostState;
    Ok(())
}

/// Gives each receipt the state root after its transaction instead of a status, as receipts
/// before Byzantium carry. One root per receipt, or nothing changes.
pub fn set_post_state_roots(
    receipts: &mut [ReceiptEnvelope],
    roots: &[B256],
) -> Result<(), OutcomeError> {
    if receipts.len() != roots.len() {
        return Err(OutcomeError::PostStateRoots {
            receipts: receipts.len(),
            roots: roots.len(),
        });
    }
    for (receipt, root) in receipts.iter_mut().zip(roots) {
        match receipt {
            ReceiptEnvelope::Legacy(r)
            | ReceiptEnvelope::Eip2930(r)
            | ReceiptEnvelope::Eip1559(r)
            | ReceiptEnvelope::Eip4844(r)
            | ReceiptEnvelope::Eip7702(r) => r.receipt.status = Eip658Value::PostState(*root),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use alloy_consensus::{Receipt, ReceiptWithBloom};

    use super::*;

    #[test]
    fn roots_for_another_number_of_receipts_are_refused_untouched() {
        let receipt = ReceiptEnvelope::Legacy(ReceiptWithBloom::from(Receipt {
            status: Eip658Value::Eip658(true),
            cumulative_gas_used: 21_000,
            logs: vec![],
        }));
        let mut receipts = vec![receipt.clone(), receipt.clone()];
        let refused = set_post_state_roots(&mut receipts, &[B256::ZERO]);
        assert!(matches!(
            refused,
            Err(OutcomeError::PostStateRoots {
                receipts: 2,
                roots: 1
            })
        ));
        assert_eq!(receipts, vec![receipt.clone(), receipt]);
        set_post_state_roots(&mut receipts, &[B256::ZERO, B256::ZERO]).unwrap();
        assert!(matches!(
            &receipts[0],
            ReceiptEnvelope::Legacy(r) if r.receipt.status == Eip658Value::PostState(B256::ZERO)
        ));
    }
}
