//! Block execution: the first stage of the pipeline.
//!
//! ```text
//! block ─► validate header/body ─► execute txs on revm (alloy-evm block rules) ─► BlockWrites
//!                                                                                   │
//!          WorldState (pre) ◄── apply only if the whole block is valid ◄────────────┘
//! ```
//!
//! [`provider`] is the seam execution reads state through (any revm `DatabaseRef`, so a node plugs
//! in its own store); [`world`] holds the in-memory state and the view that adds block hashes for
//! BLOCKHASH; [`chain`] maps a chain configuration to fork rules; [`genesis`] builds a chain's
//! genesis header and state; [`chainfile`] streams the `genesis.json` and `chain.rlp` a node
//! imports; [`transact`] runs single transactions (state tests); [`block`] executes and verifies
//! whole blocks; [`chainstore`] imports chains of blocks (with side chains), in memory or over
//! the chain database, and keeps the committed state root per block. Two crates of their own
//! sit under it and are re-exported: [`submodule`] compiles contract code to Wasm and runs it
//! as revm's frames (the `compile` tier; blocks and transactions build their EVMs through its
//! `TieredEvmFactory`), and [`storage`] is the chain database.

#![warn(missing_docs, unreachable_pub)]

pub mod block;
pub mod chain;
pub mod chainfile;
pub mod chainstore;
pub mod genesis;
pub mod provider;
pub mod transact;
pub mod world;

pub use provider::StateProvider;
pub use revm;
pub use submodule;
pub use world::{
    AccountWrite, BlockHashes, BlockWrites, InfoChange, StateView, WorldAccount, WorldState,
};
/// The alloy and workspace crates this API speaks in, so a caller needs no version pins of its
/// own.
pub use {alloy_consensus, alloy_genesis, alloy_primitives, alloy_rlp, bal, commitment, storage};
