//! Block execution: the first stage of the pipeline.
//!
//! ```text
//! block ─► validate header/body ─► execute txs on revm (alloy-evm block rules) ─► BlockWrites
//!                                                                                   │
//!          WorldState (pre) ◄── apply only if the whole block is valid ◄────────────┘
//! ```
//!
//! [`world`] holds the state and the read-only view revm executes against; [`chain`] maps a
//! chain configuration to fork rules; [`transact`] runs single transactions (state tests);
//! [`block`] executes and verifies whole blocks; [`chainstore`] imports chains of blocks
//! (with side chains) and keeps the committed state root per block.

pub mod block;
pub mod chain;
pub mod chainfile;
pub mod chainstore;
pub mod genesis;
pub mod provider;
pub mod submodule;
pub mod transact;
pub mod world;

pub use provider::StateProvider;
pub use revm;
pub use world::{
    AccountWrite, BlockHashes, BlockWrites, InfoChange, StateView, WorldAccount, WorldState,
};
/// The alloy and workspace crates this API speaks in, so a caller needs no version pins of its
/// own.
pub use {alloy_consensus, alloy_genesis, alloy_primitives, alloy_rlp, bal, commitment, storage};
