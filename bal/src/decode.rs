//! The two encodings a BAL arrives in: canonical RLP (the wire and the hash preimage) and the
//! JSON of execution-spec-tests fixtures.

use alloy_eip7928::BlockAccessList;
use alloy_rlp::Decodable;

use crate::BalError;

/// Decodes a BAL from RLP; trailing bytes are an error.
pub fn decode_rlp(mut bytes: &[u8]) -> Result<BlockAccessList, BalError> {
    let bal = BlockAccessList::decode(&mut bytes).map_err(|e| BalError::Rlp(e.to_string()))?;
    if !bytes.is_empty() {
        return Err(BalError::Rlp(format!("{} trailing bytes", bytes.len())));
    }
    Ok(bal)
}

/// The canonical RLP of a BAL (what its hash commits to).
pub fn encode_rlp(bal: &BlockAccessList) -> Vec<u8> {
    let mut out = Vec::new();
    alloy_rlp::encode_list(bal, &mut out);
    out
}

/// Reads a BAL from its fixture JSON form (a list of account objects in camelCase).
pub fn from_json(value: &serde_json::Value) -> Result<BlockAccessList, BalError> {
    serde_json::from_value(value.clone()).map_err(|e| BalError::Json(e.to_string()))
}
