//! The transaction of one state-test entry: the template's fields at the entry's indexes,
//! typed for revm. Numeric fields are decoded here, per entry, so a value that cannot be
//! encoded in the transaction makes that one transaction invalid (a [`TxBuildError`] the
//! entry's `expectException` may name) instead of the whole file unreadable.

use alloy_eips::eip7702::{Authorization, SignedAuthorization};
use alloy_primitives::{Address, Bytes, TxKind, U256};
use executor::revm::context::TxEnv;

use crate::fixtures::{
    decode_hex,
    state_test::{AuthorizationTemplate, Indexes, TxTemplate},
};

/// A transaction field that does not fit the type its encoding (or revm) gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxField {
    Nonce,
    GasLimit,
    /// `gasPrice` or `maxFeePerGas`: above 2^128 wei per gas, past what revm holds (the suites
    /// use such prices only to overflow `gasLimit * price` past any balance).
    GasPrice,
    PriorityFee,
    BlobFee,
    Value,
}

/// Why the entry's transaction cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum TxBuildError {
    /// The value cannot be encoded: the transaction is invalid.
    #[error("{field:?} `{text}` does not fit its type")]
    Field { field: TxField, text: String },
    /// EIP-4844: "`to` is mandatory"; a blob transaction cannot create a contract.
    #[error("a blob transaction cannot create a contract (EIP-4844)")]
    BlobCreate,
    /// EIP-7702: "a null destination is not valid".
    #[error("a set-code transaction cannot create a contract (EIP-7702)")]
    SetCodeCreate,
    /// EIP-7702: a tuple field out of its bounds (`nonce < 2**64`, `y_parity < 2**8`, ...)
    /// makes the transaction invalid (not only the tuple).
    #[error("authorization {index}: {what} `{text}` out of bounds (EIP-7702)")]
    AuthorizationBounds {
        index: usize,
        what: &'static str,
        text: String,
    },
    /// The fixture itself is malformed (an index out of range, bad hex, no sender).
    #[error("{0}")]
    Fixture(String),
}

/// `sender`, or the address of `secretKey`.
pub fn sender(tx: &TxTemplate) -> Result<Address, TxBuildError> {
    if let Some(sender) = tx.sender {
        return Ok(sender);
    }
    let key = tx.secret_key.ok_or_else(|| {
        TxBuildError::Fixture("transaction has neither sender nor secretKey".into())
    })?;
    let key = k256::ecdsa::SigningKey::from_slice(key.as_slice())
        .map_err(|e| TxBuildError::Fixture(format!("bad secretKey: {e}")))?;
    Ok(Address::from_public_key(key.verifying_key()))
}

/// The transaction at indexes `ix` of template `t`, sent by `caller`. The type follows the
/// fields present, as the fillers derive it: access list 1, priority fee 2, blob hashes 3,
/// authorization list 4.
pub fn build(t: &TxTemplate, ix: Indexes, caller: Address) -> Result<TxEnv, TxBuildError> {
    let pick = |list: &[String], i: usize, what: &str| -> Result<String, TxBuildError> {
        list.get(i)
            .cloned()
            .ok_or_else(|| TxBuildError::Fixture(format!("{what} index {i} out of range")))
    };
    let data = decode_hex(&strip_label(&pick(&t.data, ix.data, "data")?))
        .map_err(TxBuildError::Fixture)?;
    let kind = if t.to.is_empty() {
        TxKind::Create
    } else {
        TxKind::Call(
            t.to.parse()
                .map_err(|e| TxBuildError::Fixture(format!("bad `to`: {e}")))?,
        )
    };
    let mut tx = TxEnv {
        caller,
        gas_limit: field(&pick(&t.gas_limit, ix.gas, "gas")?, TxField::GasLimit)?,
        value: field(&pick(&t.value, ix.value, "value")?, TxField::Value)?,
        data: Bytes::from(data),
        nonce: field(&t.nonce, TxField::Nonce)?,
        chain_id: Some(1),
        kind,
        ..Default::default()
    };
    tx.gas_price = match (&t.gas_price, &t.max_fee_per_gas) {
        (Some(p), _) | (None, Some(p)) => field(p, TxField::GasPrice)?,
        (None, None) => 0,
    };
    if let Some(access_list) = t
        .access_lists
        .as_ref()
        .and_then(|l| l.get(ix.data).cloned().flatten())
    {
        tx.access_list = access_list;
        tx.tx_type = 1;
    }
    if let Some(tip) = &t.max_priority_fee_per_gas {
        tx.gas_priority_fee = Some(field(tip, TxField::PriorityFee)?);
        tx.tx_type = 2;
    }
    if let Some(hashes) = &t.blob_versioned_hashes {
        if tx.kind.is_create() {
            return Err(TxBuildError::BlobCreate);
        }
        tx.blob_hashes = hashes.clone();
        tx.max_fee_per_blob_gas = t
            .max_fee_per_blob_gas
            .as_deref()
            .map(|f| field(f, TxField::BlobFee))
            .transpose()?
            .unwrap_or_default();
        tx.tx_type = 3;
    }
    if let Some(list) = &t.authorization_list {
        if tx.kind.is_create() {
            return Err(TxBuildError::SetCodeCreate);
        }
        let signed = list
            .iter()
            .enumerate()
            .map(|(index, a)| authorization(index, a))
            .collect::<Result<Vec<_>, _>>()?;
        // revm recovers each authority when it applies the list, and skips a tuple whose
        // signature, chain id or nonce fails (EIP-7702: "continue to the next tuple").
        tx.set_signed_authorization(signed);
        tx.tx_type = 4;
    }
    Ok(tx)
}

/// One tuple, within the bounds EIP-7702 sets for its fields.
fn authorization(
    index: usize,
    a: &AuthorizationTemplate,
) -> Result<SignedAuthorization, TxBuildError> {
    let out_of_bounds = |what: &'static str, text: &str| TxBuildError::AuthorizationBounds {
        index,
        what,
        text: text.to_string(),
    };
    let word = |what, text: &str| u256_hex(text).ok_or_else(|| out_of_bounds(what, text));
    let parity = a
        .y_parity
        .as_deref()
        .or(a.v.as_deref())
        .ok_or_else(|| out_of_bounds("y_parity", "(missing)"))?;
    let y_parity = word("y_parity", parity)?
        .try_into()
        .map_err(|_| out_of_bounds("y_parity", parity))?;
    let nonce = word("nonce", &a.nonce)?
        .try_into()
        .map_err(|_| out_of_bounds("nonce", &a.nonce))?;
    let inner = Authorization {
        chain_id: word("chain_id", &a.chain_id)?,
        address: a.address,
        nonce,
    };
    Ok(SignedAuthorization::new_unchecked(
        inner,
        y_parity,
        word("r", &a.r)?,
        word("s", &a.s)?,
    ))
}

/// Data entries may carry a `:label ` prefix in filled tests; the hex follows it.
fn strip_label(s: &str) -> String {
    match s.rsplit_once(' ') {
        Some((label, hex)) if label.starts_with(":label") => hex.to_string(),
        _ => s.to_string(),
    }
}

fn u256_hex(s: &str) -> Option<U256> {
    U256::from_str_radix(s.trim_start_matches("0x"), 16).ok()
}

/// `text` as the integer type of `field`.
fn field<T: TryFrom<U256>>(text: &str, which: TxField) -> Result<T, TxBuildError> {
    u256_hex(text)
        .and_then(|v| T::try_from(v).ok())
        .ok_or_else(|| TxBuildError::Field {
            field: which,
            text: text.to_string(),
        })
}
