//! What a reversible apply replaced. Recording only the touched slots (or moving out a trie that
//! is dropped anyway) keeps an undo proportional to the block, never to the account's storage.

use alloy_primitives::{Address, B256};

use super::TrieAccount;
use crate::trie::Trie;

/// The previous state of the accounts one [`super::StateTrie::apply_reversible`] changed.
#[derive(Debug, Default)]
#[must_use = "dropping an Undo makes the change permanent"]
pub struct Undo {
    pub(super) accounts: Vec<AccountUndo>,
}

impl Undo {
    /// Number of account updates it would take back.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// Whether it takes nothing back: the batch was empty, or over a source no account in it
    /// could be read (those updates were not applied).
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }
}

#[derive(Debug)]
pub(super) struct AccountUndo {
    pub address: Address,
    /// `None`: the account did not exist.
    pub info: Option<TrieAccount>,
    /// The whole storage trie, when the update dropped it (deletion or wipe).
    pub storage: Option<Trie>,
    /// Otherwise the previous RLP value of every written slot, by hashed key, in write order.
    pub slots: Vec<(B256, Option<Vec<u8>>)>,
    /// The update dropped the storage trie first since the last export of changes: a revert
    /// takes that drop out of the next export.
    pub wiped: bool,
}
