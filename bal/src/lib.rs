//! EIP-7928 Block Access Lists, on top of `alloy-eip7928` (whose types this crate re-uses).
//!
//! ```text
//! block arrives with its BAL ─► decode (RLP | fixture JSON) ─► validate ─► hash vs header
//!                                                                 │
//!                       BalView: "value before index i", final values
//!                          │                              │
//!                executor (parallel txs)        commitment (fold the post-state root)
//! ```
//!
//! Index 0 is the pre-execution system calls, `1..=n` the transactions, `n + 1` the
//! post-execution changes (withdrawals, requests).

#![warn(missing_docs, unreachable_pub)]

mod decode;
mod error;
mod validate;
mod view;

pub use alloy_eip7928::{
    AccountChanges, BalanceChange, BlockAccessIndex, BlockAccessList, CodeChange, NonceChange,
    SlotChanges, StorageChange, compute_block_access_list_hash, first_bal_divergence,
};
pub use decode::{decode_rlp, encode_rlp, from_json};
pub use error::BalError;
pub use validate::{SYSTEM_ADDRESS, validate};
pub use view::{AccountFinal, BalView};
