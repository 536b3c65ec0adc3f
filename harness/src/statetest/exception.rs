//! A state-test entry's `expectException` against why the transaction was actually rejected.
//!
//! Fixtures name the rejection with execution-spec-tests' `TransactionException` names, one
//! or several separated by `|` (any of them may be the reason). A rejection for another reason
//! than the named ones is a failure: a transaction refused for the wrong reason hides the
//! check the test was written for (a set-code transaction rejected for its gas limit instead
//! of its intrinsic gas says nothing about the authorization cost).

use executor::revm::context::result::InvalidTransaction;

use super::transaction::{TxBuildError, TxField};

/// Why a transaction was not executed.
#[derive(Debug)]
pub enum Rejection<'a> {
    /// It could not be built from the fixture's fields.
    Build(&'a TxBuildError),
    /// revm refused it before execution.
    Invalid(&'a InvalidTransaction),
    /// Anything else (a header field the fork requires is missing, ...): never expected.
    Other,
}

/// An `expectException` that names nothing this runner can recognise.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown expected exception `{0}`")]
pub struct UnknownException(pub String);

/// Whether `rejection` is one of the exceptions `expected` names (`A|B|...`). A name this
/// runner does not know is an error only if no other alternative matches.
pub fn matches(expected: &str, rejection: &Rejection<'_>) -> Result<bool, UnknownException> {
    let mut unknown = None;
    for name in expected.split('|').map(str::trim) {
        let short = name.strip_prefix("TransactionException.").unwrap_or(name);
        match is(short, rejection) {
            Some(true) => return Ok(true),
            Some(false) => {}
            None => unknown = Some(name.to_string()),
        }
    }
    unknown.map_or(Ok(false), |name| Err(UnknownException(name)))
}

/// Whether `rejection` is the exception `name`; `None` for a name not known here.
fn is(name: &str, rejection: &Rejection<'_>) -> Option<bool> {
    use InvalidTransaction as I;
    use TxBuildError as B;
    let build_field = |fields: &[TxField]| matches!(rejection, Rejection::Build(B::Field { field, .. }) if fields.contains(field));
    let invalid = match rejection {
        Rejection::Invalid(e) => Some(*e),
        _ => None,
    };
    let revm = |pred: fn(&InvalidTransaction) -> bool| invalid.is_some_and(pred);
    Some(match name {
        "INTRINSIC_GAS_TOO_LOW" => revm(|e| matches!(e, I::CallGasCostMoreThanGasLimit { .. })),
        "INTRINSIC_GAS_BELOW_FLOOR_GAS_COST" => {
            revm(|e| matches!(e, I::GasFloorMoreThanGasLimit { .. }))
        }
        // EIP-7825: a gas limit above the cap, whatever the block's gas limit.
        "GAS_LIMIT_EXCEEDS_MAXIMUM" => revm(|e| matches!(e, I::TxGasLimitGreaterThanCap { .. })),
        // The block's gas left cannot hold the transaction's gas limit.
        "GAS_ALLOWANCE_EXCEEDED" => revm(|e| matches!(e, I::CallerGasLimitMoreThanBlock)),
        "INSUFFICIENT_ACCOUNT_FUNDS" => {
            revm(|e| matches!(e, I::LackOfFundForMaxFee { .. }))
                || build_field(&[TxField::GasPrice])
        }
        "GASLIMIT_PRICE_PRODUCT_OVERFLOW" => {
            revm(|e| matches!(e, I::OverflowPaymentInTransaction))
                || build_field(&[TxField::GasPrice])
        }
        "INSUFFICIENT_MAX_FEE_PER_GAS" => revm(|e| matches!(e, I::GasPriceLessThanBasefee)),
        "PRIORITY_GREATER_THAN_MAX_FEE_PER_GAS" => {
            revm(|e| matches!(e, I::PriorityFeeGreaterThanMaxFee))
        }
        "INSUFFICIENT_MAX_FEE_PER_BLOB_GAS" => {
            revm(|e| matches!(e, I::BlobGasPriceGreaterThanMax { .. }))
        }
        "SENDER_NOT_EOA" => revm(|e| matches!(e, I::RejectCallerWithCode)),
        "NONCE_IS_MAX" => revm(|e| matches!(e, I::NonceOverflowInTransaction)),
        "NONCE_MISMATCH_TOO_HIGH" => revm(|e| matches!(e, I::NonceTooHigh { .. })),
        "NONCE_MISMATCH_TOO_LOW" => revm(|e| matches!(e, I::NonceTooLow { .. })),
        "INITCODE_SIZE_EXCEEDED" => revm(|e| matches!(e, I::CreateInitCodeSizeLimit)),
        "INVALID_CHAINID" => revm(|e| matches!(e, I::InvalidChainId)),
        "TYPE_NOT_SUPPORTED" => revm(|e| {
            matches!(
                e,
                I::Eip2930NotSupported
                    | I::Eip1559NotSupported
                    | I::Eip4844NotSupported
                    | I::Eip7702NotSupported
            )
        }),
        "TYPE_3_TX_PRE_FORK" | "TYPE_3_TX_ZERO_BLOBS_PRE_FORK" => {
            revm(|e| matches!(e, I::Eip4844NotSupported))
        }
        "TYPE_3_TX_ZERO_BLOBS" => revm(|e| matches!(e, I::EmptyBlobs)),
        "TYPE_3_TX_BLOB_COUNT_EXCEEDED" | "TYPE_3_TX_MAX_BLOB_GAS_ALLOWANCE_EXCEEDED" => {
            revm(|e| matches!(e, I::TooManyBlobs { .. }))
        }
        "TYPE_3_TX_INVALID_BLOB_VERSIONED_HASH" => {
            revm(|e| matches!(e, I::BlobVersionNotSupported))
        }
        "TYPE_3_TX_CONTRACT_CREATION" => matches!(rejection, Rejection::Build(B::BlobCreate)),
        "TYPE_4_TX_PRE_FORK" => revm(|e| matches!(e, I::Eip7702NotSupported)),
        "TYPE_4_EMPTY_AUTHORIZATION_LIST" => revm(|e| matches!(e, I::EmptyAuthorizationList)),
        "TYPE_4_TX_CONTRACT_CREATION" => matches!(rejection, Rejection::Build(B::SetCodeCreate)),
        "TYPE_4_INVALID_AUTHORIZATION_FORMAT" => {
            matches!(rejection, Rejection::Build(B::AuthorizationBounds { .. }))
        }
        "NONCE_OVERFLOW" | "RLP_INVALID_NONCE" => build_field(&[TxField::Nonce]),
        "GASLIMIT_OVERFLOW" | "RLP_INVALID_GASLIMIT" => build_field(&[TxField::GasLimit]),
        "GASPRICE_OVERFLOW" => build_field(&[TxField::GasPrice]),
        "PRIORITY_OVERFLOW" => build_field(&[TxField::PriorityFee]),
        "VALUE_OVERFLOW" | "RLP_INVALID_VALUE" => build_field(&[TxField::Value]),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTRINSIC: InvalidTransaction = InvalidTransaction::CallGasCostMoreThanGasLimit {
        gas_limit: 46_000,
        initial_gas: 46_001,
    };
    const CAP: InvalidTransaction = InvalidTransaction::TxGasLimitGreaterThanCap {
        gas_limit: (1 << 24) + 1,
        cap: 1 << 24,
    };

    #[test]
    fn any_alternative_may_match() {
        let names = "TransactionException.INSUFFICIENT_ACCOUNT_FUNDS|\
                     TransactionException.INTRINSIC_GAS_TOO_LOW";
        assert_eq!(matches(names, &Rejection::Invalid(&INTRINSIC)), Ok(true));
    }

    #[test]
    fn another_reason_does_not_match() {
        let name = "TransactionException.INTRINSIC_GAS_TOO_LOW";
        assert_eq!(matches(name, &Rejection::Invalid(&CAP)), Ok(false));
        let name = "TransactionException.GAS_LIMIT_EXCEEDS_MAXIMUM";
        assert_eq!(matches(name, &Rejection::Invalid(&CAP)), Ok(true));
        let name = "TransactionException.GAS_ALLOWANCE_EXCEEDED";
        assert_eq!(matches(name, &Rejection::Invalid(&CAP)), Ok(false));
        assert_eq!(matches(name, &Rejection::Other), Ok(false));
    }

    #[test]
    fn unknown_names_are_reported_unless_another_matches() {
        let rejection = Rejection::Invalid(&INTRINSIC);
        assert_eq!(
            matches("TransactionException.NO_SUCH_THING", &rejection),
            Err(UnknownException(
                "TransactionException.NO_SUCH_THING".into()
            ))
        );
        let names = "TransactionException.NO_SUCH_THING|TransactionException.INTRINSIC_GAS_TOO_LOW";
        assert_eq!(matches(names, &rejection), Ok(true));
    }
}
