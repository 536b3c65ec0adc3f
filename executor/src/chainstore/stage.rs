//! The stage loop: announce a batch of blocks to the calculator, then execute them one by one,
//! each committed only once its verdict is in.

use std::{sync::Arc, time::Instant};

use alloy_primitives::B256;
use bal::BlockAccessList;
use commitment::{
    BlockRequest, BlockResult, Calculator, CancelToken, CommitError, ExecEvent, Verdict,
};

use super::{BlockRecord, ChainStore, Imported, StateStore, StoredBlock, internal};
use crate::{
    block::{
        self, Block, BlockError, BlockOutcome, ExecOptions, PostStateRoots, ReceiptsCheck, Watch,
        validate,
    },
    chain::ChainSpec,
    world::StateView,
};

/// A block as it arrives, with its access list when one travels with it (an Amsterdam block's
/// own, a fixture's, or a recorded sidecar).
#[derive(Clone, Copy, Debug)]
pub struct BlockInput<'a> {
    /// The block to import.
    pub block: &'a Block,
    /// Its access list, verified against execution, never trusted.
    pub access_list: Option<&'a Arc<BlockAccessList>>,
    /// The header's hash when the caller already has it (a sealed block): trusted, so it
    /// must be the header's; hashed here when `None`.
    pub hash: Option<B256>,
}

impl<S: StateStore> ChainStore<S> {
    /// Validates, executes and commits `block`. On error nothing changes.
    pub fn import(&mut self, block: &Block) -> Result<Imported, BlockError> {
        self.import_with_access_list(block, None)
    }

    /// [`Self::import`] with the block's access list, which drives the BAL-driven fold and,
    /// with [`crate::block::ExecMode::Parallel`], parallel execution. It is verified, not trusted.
    pub fn import_with_access_list(
        &mut self,
        block: &Block,
        access_list: Option<&Arc<BlockAccessList>>,
    ) -> Result<Imported, BlockError> {
        let input = BlockInput {
            block,
            access_list,
            hash: None,
        };
        let mut results = self.import_batch(&[input]);
        results.pop().expect("one result per block")
    }

    /// Imports `blocks` in order. All are announced to the calculator first (block arrival),
    /// so each can fold from its BAL while it executes; each result says what became of that
    /// block, and a failed block changes nothing.
    pub fn import_batch(&mut self, blocks: &[BlockInput<'_>]) -> Vec<Result<Imported, BlockError>> {
        let hashes: Vec<B256> = blocks
            .iter()
            .map(|b| b.hash.unwrap_or_else(|| b.block.header.hash_slow()))
            .collect();
        debug_assert!(
            blocks
                .iter()
                .zip(&hashes)
                .all(|(b, h)| b.block.header.hash_slow() == *h),
            "a given hash is the header's"
        );
        for (input, &hash) in blocks.iter().zip(&hashes) {
            if let Err(gone) = self.announce(input, hash) {
                return blocks.iter().map(|_| Err(gone.into())).collect();
            }
        }
        blocks
            .iter()
            .zip(hashes)
            .map(|(input, hash)| self.import_announced(input, hash))
            .collect()
    }

    /// The calculator, spawned at the first use with the trie `new` built for the genesis.
    pub(super) fn calculator(&mut self) -> &Calculator {
        if let Some(trie) = self.genesis_trie.take() {
            self.calculator = Some(Calculator::spawn(trie, self.store.head(), self.config));
        }
        self.calculator
            .as_ref()
            .expect("spawned from the genesis trie at the first use")
    }

    /// Sends the block's request unless it is already waiting for its import.
    fn announce(
        &mut self,
        input: &BlockInput<'_>,
        hash: B256,
    ) -> Result<(), commitment::pipeline::CalculatorGone> {
        if self.announced.contains_key(&hash) {
            return Ok(());
        }
        // A recorded block's state is partial: no header root applies to it.
        let expected_root = match self.recorded_parent(input.block) {
            Some(_) => None,
            None => Some(input.block.header.state_root),
        };
        let access_list = input.access_list.cloned();
        let request = block_request(&self.chain, input.block, hash, access_list, expected_root);
        let cancel = request.cancel.clone();
        self.calculator().announce(request)?;
        self.announced.insert(hash, cancel);
        Ok(())
    }

    fn import_announced(
        &mut self,
        input: &BlockInput<'_>,
        hash: B256,
    ) -> Result<Imported, BlockError> {
        self.announce(input, hash)?;
        let cancel = self.announced.remove(&hash).expect("announced above");
        if let Some(verdict) = self.early.remove(&hash) {
            // Failed from its BAL before it ran: no need to run it.
            return Err(failure(verdict, BlockError::Cancelled));
        }
        if self.config.bal_driven && input.access_list.is_none() && !self.said_recording {
            self.said_recording = true;
            tracing::info!(
                block = input.block.header.number,
                "BAL-driven commitment: the block came without an access list, so it is recorded \
                 while executing and the root folded from it after execution (counted as \
                 recorded_bals)"
            );
        }
        let started = Instant::now();
        let executed = self.execute(input, hash, &cancel);
        let exec = started.elapsed();
        let (outcome, updates) = match executed {
            Ok(done) => done,
            Err(error) => {
                let reason = error.to_string();
                self.calculator()
                    .report(ExecEvent::Failed { hash, reason })?;
                let verdict = self.await_verdict(hash)?;
                return Err(failure(verdict, error));
            }
        };
        let post_state_updates =
            (outcome.receipts_check == ReceiptsCheck::PostState).then(|| updates.clone());
        let recorded = match input.access_list {
            None if self.config.bal_driven => outcome.access_list.clone().map(Arc::new),
            _ => None,
        };
        self.calculator().report(ExecEvent::Block(BlockResult {
            hash,
            updates,
            recorded,
        }))?;
        let mut verdict = self.await_verdict(hash)?;
        let state_root = verdict.outcome.clone()?;
        // Written with the block, then dropped: a batch's results must not hold every
        // block's trie nodes.
        let trie_changes = verdict.trie_changes.take();
        let block = input.block;
        let total_difficulty = self.blocks[&block.header.parent_hash]
            .total_difficulty
            .saturating_add(block.header.difficulty);
        let ommers: Vec<B256> = block.body.ommers.iter().map(|o| o.hash_slow()).collect();
        let record = BlockRecord {
            header: &block.header,
            hash,
            total_difficulty,
            ommers: &ommers,
            trie: trie_changes.as_ref(),
        };
        if let Err(error) = self.store.advance(record, &outcome.writes) {
            // The calculator committed the block the store could not: take its trie back to
            // the store's state.
            let trie = self.store.trie().map_err(internal)?;
            let at = self.store.head();
            self.calculator().rebase(at, trie)?;
            return Err(internal(error));
        }
        if let Some(budget) = self.store.trie_budget() {
            // Durable now: the calculator may give back what the database holds.
            self.calculator().release(hash, budget)?;
        }
        match (&mut self.post_state, post_state_updates) {
            (Some(trie), Some(updates)) => trie.advance(hash, &updates),
            // Past Byzantium no receipt needs it.
            _ => self.post_state = None,
        }

        self.head = hash;
        let number = block.header.number;
        let writes = (self.retain > 0).then(|| Arc::new(outcome.writes.clone()));
        self.blocks.insert(
            hash,
            StoredBlock {
                total_difficulty,
                header: block.header.clone(),
                ommers,
                writes,
            },
        );
        self.held.push_back((number, hash));
        self.prune(number);
        Ok(Imported {
            hash,
            number,
            gas_used: outcome.gas_used,
            state_root,
            exec,
            exec_started: started,
            verdict,
            outcome,
        })
    }

    /// Checks, executes and verifies the block against its parent's state (everything but
    /// the state root), with the store and the calculator moved to the parent; returns the
    /// outcome with its trie updates.
    fn execute(
        &mut self,
        input: &BlockInput<'_>,
        hash: B256,
        cancel: &CancelToken,
    ) -> Result<(BlockOutcome, Vec<commitment::AccountUpdate>), BlockError> {
        let block = input.block;
        let parent_hash = block.header.parent_hash;
        let parent = self
            .blocks
            .get(&parent_hash)
            .ok_or(BlockError::UnknownParent(parent_hash))?;
        if let Some(terminal) = self.chain.pending_merge() {
            // EIP-3675: the first block whose parent's total difficulty reaches the terminal
            // one is proof-of-stake, and so is every block after it.
            if parent.total_difficulty >= terminal {
                self.chain.merge_at(block.header.number);
            }
        }
        if self.recorded_parent(block).is_some() {
            // The rest needs the parent header and ommer headers a recording does not keep.
            validate::transactions_root(block)?;
        } else {
            validate::header_against_parent(&self.chain, &block.header, &parent.header)?;
            validate::body_against_header(&self.chain, block)?;
            self.check_ommers(block)?;
        }
        self.move_to(parent_hash)?;

        let mut outcome = self.execute_on_parent(input, hash, cancel)?;
        if outcome.receipts_check == ReceiptsCheck::Unchecked
            && self.recorded_parent(block).is_none()
        {
            // This store holds the full state: the receipts' post-state roots are checkable.
            let roots = self
                .post_state_roots(parent_hash)?
                .roots(&outcome.tx_writes);
            block::verify_post_state_receipts(&mut outcome, &block.header, &roots)?;
        }
        let updates = self.store.updates_for(&outcome.writes).map_err(internal)?;
        Ok((outcome, updates))
    }

    /// Runs the block on the store's state (its parent's), watched by the calculator.
    fn execute_on_parent(
        &self,
        input: &BlockInput<'_>,
        hash: B256,
        cancel: &CancelToken,
    ) -> Result<BlockOutcome, BlockError> {
        let hashes = match self.recorded_parent(input.block) {
            Some(parent) => parent.hashes.clone(),
            None => self.ancestor_hashes(input.block.header.parent_hash),
        };
        let view = StateView {
            world: self.store.reader(),
            hashes: &hashes,
        };
        let calculator = self.calculator.as_ref().expect("spawned at announce");
        let on_tx = |index| {
            // A gone calculator surfaces at the block's result; progress is best effort.
            let _ = calculator.report(ExecEvent::Tx { hash, index });
        };
        let watch = Watch {
            cancel: Some(cancel),
            on_tx: Some(&on_tx),
        };
        let options = ExecOptions {
            // The BAL-driven fold of a block that came without a list folds the one recorded.
            record_bal: self.config.bal_driven,
            ..ExecOptions::verified()
        }
        .with_access_list(input.access_list.map(Arc::as_ref))
        .with_mode(self.exec)
        .with_tier(self.tier)
        .with_watch(watch);
        block::execute(&self.chain, input.block, &view, options)
    }

    /// The trie for post-state roots, at `parent`'s post-state (rebuilt from the store when
    /// the last block that used it was another).
    fn post_state_roots(&mut self, parent: B256) -> Result<&mut PostStateRoots, BlockError> {
        let trie = match self.post_state.take() {
            Some(trie) if trie.at() == parent => trie,
            _ => PostStateRoots::new(parent, &self.store.plain_state().map_err(internal)?),
        };
        Ok(self.post_state.insert(trie))
    }

    /// The verdict for `hash`, keeping any that overtake it for their own blocks.
    fn await_verdict(&mut self, hash: B256) -> Result<Verdict, BlockError> {
        if let Some(verdict) = self.early.remove(&hash) {
            return Ok(verdict);
        }
        loop {
            let verdict = self.calculator().verdict()?;
            if verdict.hash == hash {
                return Ok(verdict);
            }
            self.early.insert(verdict.hash, verdict);
        }
    }
}

/// The calculator's announcement of `block` (whose hash is `hash`), with a fresh cancellation
/// token. `expected_root` is `None` where the state is partial and no header root applies.
pub fn block_request(
    chain: &ChainSpec,
    block: &Block,
    hash: B256,
    access_list: Option<Arc<BlockAccessList>>,
    expected_root: Option<B256>,
) -> BlockRequest {
    let header = &block.header;
    BlockRequest {
        number: header.number,
        hash,
        parent_hash: header.parent_hash,
        access_list,
        expected_root,
        tx_count: block.body.transactions.len(),
        rules: chain.fold_rules(header),
        cancel: CancelToken::new(),
    }
}

/// Why a block failed: a block cancelled because its commitment failed first fails for the
/// commitment's reason.
fn failure(verdict: Verdict, error: BlockError) -> BlockError {
    match (error, verdict.outcome) {
        (BlockError::Cancelled, Err(commit)) if !matches!(commit, CommitError::Execution(_)) => {
            commit.into()
        }
        (error, _) => error,
    }
}
