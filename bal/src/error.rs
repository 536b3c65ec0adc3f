//! Why a block access list is rejected: malformed encoding, a broken structural rule, or a
//! hash that does not match the header.

use alloy_eip7928::BlockAccessListValidationError;
use alloy_primitives::B256;

/// Why a BAL cannot be used for its block. Every variant is a verdict on the BAL itself (the
/// block carrying it is invalid), never an I/O or internal failure.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BalError {
    /// The bytes are not one RLP-encoded BAL: the decoder's message, or how many bytes trail
    /// the list ([`decode_rlp`](crate::decode_rlp) accepts exactly one item).
    #[error("malformed BAL RLP: {0}")]
    Rlp(String),
    /// The fixture JSON does not deserialize into a BAL (serde's message).
    #[error("malformed BAL JSON: {0}")]
    Json(String),
    /// One of alloy-eip7928's structural rules is broken: ordering, uniqueness (a slot both
    /// read and written included) or a block access index past the block's `n + 1`.
    #[error(transparent)]
    Structure(#[from] BlockAccessListValidationError),
    #[error(
        "SYSTEM_ADDRESS is listed in a block without transactions (system calls are not recorded)"
    )]
    /// [`SYSTEM_ADDRESS`](crate::SYSTEM_ADDRESS) is listed in a block without transactions:
    /// its accesses during system calls are not recorded, so only a transaction can list it.
    SurplusSystemAddress,
    /// The BAL holds more items than the block's gas could have paid for (one item per
    /// `ITEM_COST` = 2,000 gas of the gas limit).
    #[error("{items} BAL items exceed the gas limit's cap of {cap}")]
    TooManyItems {
        /// Accounts plus written and read storage slots, as `total_bal_items` counts them.
        items: u64,
        /// `gas_limit / ITEM_COST`, rounded down.
        cap: u64,
    },
    /// The BAL's keccak (of its canonical RLP) differs from the header's
    /// `block_access_list_hash`. Nothing in this crate raises it: a caller that compares the
    /// hash reports the mismatch with it.
    #[error("BAL hash {computed}, header says {expected}")]
    HashMismatch {
        /// `compute_block_access_list_hash` of the BAL as received.
        computed: B256,
        /// The header's `block_access_list_hash`.
        expected: B256,
    },
}
