//! RLP encoding of trie nodes and the references parents hold to them: the node's RLP itself
//! when shorter than 32 bytes, otherwise its keccak hash.

use alloy_primitives::{B256, keccak256};
use alloy_rlp::{Encodable, Header};

/// Encodes a byte string as RLP.
pub fn rlp_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    bytes.encode(out);
}

/// Wraps already-encoded items into an RLP list.
pub fn rlp_list(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 9);
    Header {
        list: true,
        payload_length: payload.len(),
    }
    .encode(&mut out);
    out.extend_from_slice(payload);
    out
}

/// How a parent refers to a child: inline RLP (< 32 bytes) or `0xa0 || keccak(rlp)`.
pub fn node_ref(rlp: Vec<u8>) -> Vec<u8> {
    if rlp.len() < 32 {
        rlp
    } else {
        let mut out = Vec::with_capacity(33);
        rlp_bytes(keccak256(&rlp).as_slice(), &mut out);
        out
    }
}

/// The root hash from the root node's reference: the root is always hashed.
pub fn root_from_ref(reference: &[u8]) -> B256 {
    if reference.len() == 33 && reference[0] == 0xa0 {
        B256::from_slice(&reference[1..])
    } else {
        keccak256(reference)
    }
}
