//! Why a block access list is rejected: malformed encoding, a broken structural rule, or a
//! hash that does not match the header.

use alloy_eip7928::BlockAccessListValidationError;
use alloy_primitives::B256;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BalError {
    #[error("malformed BAL RLP: {0}")]
    Rlp(String),
    #[error("malformed BAL JSON: {0}")]
    Json(String),
    #[error(transparent)]
    Structure(#[from] BlockAccessListValidationError),
    #[error(
        "SYSTEM_ADDRESS is listed in a block without transactions (system calls are not recorded)"
    )]
    SurplusSystemAddress,
    #[error("{items} BAL items exceed the gas limit's cap of {cap}")]
    TooManyItems { items: u64, cap: u64 },
    #[error("BAL hash {computed}, header says {expected}")]
    HashMismatch { computed: B256, expected: B256 },
}
