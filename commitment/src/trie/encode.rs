//! RLP encoding of trie nodes and the references parents hold to them: the node's RLP itself
//! when shorter than 32 bytes, otherwise its keccak hash.
//!
//! Nodes are encoded into one buffer with room reserved for the list header, and references
//! are fixed-size values, so hashing a node allocates at most its payload buffer. The same
//! encoders give a node's whole RLP ([`Encoded`] for `Vec<u8>`) when it is to be persisted.

use alloy_primitives::{B256, keccak256};
use alloy_rlp::Encodable;

/// Longest RLP list header (1 prefix byte + 8 length bytes).
const MAX_HEADER: usize = 9;

fn keccak(data: &[u8]) -> [u8; 32] {
    keccak256(data).0
}

/// How a parent refers to a child: inline RLP (< 32 bytes) or `0xa0 || keccak(rlp)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeRef {
    len: u8,
    bytes: [u8; 33],
}

/// What encoding a node yields: its reference (hashing) or its whole RLP (persisting).
pub(crate) trait Encoded {
    fn from_rlp(rlp: &[u8]) -> Self;
}

impl Encoded for Vec<u8> {
    fn from_rlp(rlp: &[u8]) -> Self {
        rlp.to_vec()
    }
}

impl Encoded for NodeRef {
    fn from_rlp(rlp: &[u8]) -> Self {
        let mut bytes = [0u8; 33];
        if rlp.len() < 32 {
            bytes[..rlp.len()].copy_from_slice(rlp);
            Self {
                len: rlp.len() as u8,
                bytes,
            }
        } else {
            bytes[0] = alloy_rlp::EMPTY_STRING_CODE + 32;
            bytes[1..].copy_from_slice(&keccak(rlp));
            Self { len: 33, bytes }
        }
    }
}

impl NodeRef {
    /// The reference to a node known only by its hash (one not revealed from a source).
    pub(crate) fn from_hash(hash: B256) -> Self {
        let mut bytes = [0u8; 33];
        bytes[0] = alloy_rlp::EMPTY_STRING_CODE + 32;
        bytes[1..].copy_from_slice(hash.as_slice());
        Self { len: 33, bytes }
    }

    /// Whether the parent embeds the node's hash (its RLP has 32 bytes or more), not the node.
    pub(crate) fn is_hash(&self) -> bool {
        self.len == 33
    }

    /// The bytes a parent embeds: the node's RLP (under 32 bytes) or `0xa0` and its hash.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// The hash of the node this reference names: the root is always hashed, even when its
    /// RLP is short enough to be inlined.
    pub fn node_hash(&self) -> B256 {
        if self.len == 33 {
            B256::from_slice(&self.bytes[1..])
        } else {
            B256::from(keccak(self.as_slice()))
        }
    }
}

thread_local! {
    /// Scratch for node encoding: children are hashed before their parent is encoded, so one
    /// buffer per thread is never in use twice.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Encodes a node as an RLP list whose payload `write` appends to the buffer, and returns the
/// node's reference or RLP.
fn encode_node<E: Encoded>(write: impl FnOnce(&mut Vec<u8>)) -> E {
    SCRATCH.with_borrow_mut(|buf| {
        buf.clear();
        buf.resize(MAX_HEADER, 0);
        write(buf);
        let payload = buf.len() - MAX_HEADER;
        let start = if payload < 56 {
            buf[MAX_HEADER - 1] = 0xc0 + payload as u8;
            MAX_HEADER - 1
        } else {
            let len_bytes = payload.to_be_bytes();
            let skip = len_bytes.iter().take_while(|b| **b == 0).count();
            let start = MAX_HEADER - 1 - (8 - skip);
            buf[start] = 0xf7 + (8 - skip) as u8;
            buf[start + 1..MAX_HEADER].copy_from_slice(&len_bytes[skip..]);
            start
        };
        E::from_rlp(&buf[start..])
    })
}

/// A leaf: its remaining path and its value.
pub(crate) fn encode_leaf<E: Encoded>(path: &[u8], value: &[u8]) -> E {
    encode_node(|buf| {
        rlp_path(path, true, buf);
        rlp_bytes(value, buf);
    })
}

/// A leaf whose path is the rest of a packed `key` from nibble `from`: the hex-prefix form is
/// then a slice of the key itself, so the bulk builder never packs unpacked nibbles again.
pub(crate) fn encode_key_leaf<E: Encoded>(key: &[u8], from: usize, value: &[u8]) -> E {
    encode_node(|buf| {
        let odd = !from.is_multiple_of(2);
        let first = if odd {
            0x30 | (key[from / 2] & 0x0f)
        } else {
            0x20
        };
        let rest = &key[from.div_ceil(2)..];
        if rest.is_empty() {
            buf.push(first);
        } else {
            alloy_rlp::Header {
                list: false,
                payload_length: 1 + rest.len(),
            }
            .encode(buf);
            buf.push(first);
            buf.extend_from_slice(rest);
        }
        rlp_bytes(value, buf);
    })
}

/// An extension: its shared path and its child's reference.
pub(crate) fn encode_extension<E: Encoded>(path: &[u8], child: &NodeRef) -> E {
    encode_node(|buf| {
        rlp_path(path, false, buf);
        buf.extend_from_slice(child.as_slice());
    })
}

/// A branch: sixteen child references (empty string where absent) and its value.
pub(crate) fn encode_branch<E: Encoded>(
    children: &[Option<NodeRef>; 16],
    value: Option<&[u8]>,
) -> E {
    encode_node(|buf| {
        for child in children {
            match child {
                Some(r) => buf.extend_from_slice(r.as_slice()),
                None => buf.push(alloy_rlp::EMPTY_STRING_CODE),
            }
        }
        match value {
            Some(v) => rlp_bytes(v, buf),
            None => buf.push(alloy_rlp::EMPTY_STRING_CODE),
        }
    })
}

/// Appends a byte string as RLP.
fn rlp_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    bytes.encode(out);
}

/// Appends the hex-prefix (compact) encoding of a nibble path as an RLP string, without an
/// intermediate buffer. Keys are arbitrary bytes, so long paths get a long string header.
fn rlp_path(path: &[u8], leaf: bool, out: &mut Vec<u8>) {
    let flag = if leaf { 0x20 } else { 0x00 };
    let odd = path.len() % 2 == 1;
    let first = if odd { flag | 0x10 | path[0] } else { flag };
    let rest = if odd { &path[1..] } else { path };
    let len = 1 + rest.len() / 2;
    if len == 1 && first < alloy_rlp::EMPTY_STRING_CODE {
        out.push(first);
        return;
    }
    alloy_rlp::Header {
        list: false,
        payload_length: len,
    }
    .encode(out);
    out.push(first);
    out.extend(rest.chunks(2).map(|p| (p[0] << 4) | p[1]));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trie::nibbles::hex_prefix;

    #[test]
    fn rlp_path_is_the_rlp_of_hex_prefix() {
        for path in [
            &[][..],
            &[1],
            &[0xf, 1],
            &[1, 2, 3],
            &[0; 64],
            &[0xa; 63],
            &[0x3; 111],
            &[0x5; 500],
        ] {
            for leaf in [false, true] {
                let mut expected = Vec::new();
                rlp_bytes(&hex_prefix(path, leaf), &mut expected);
                let mut got = Vec::new();
                rlp_path(path, leaf, &mut got);
                assert_eq!(got, expected, "{path:?} leaf={leaf}");
            }
        }
    }

    #[test]
    fn key_leaves_encode_as_unpacked_leaves() {
        for key in [
            &[][..],
            &[0xab],
            &[0x12, 0x34, 0x56],
            &[0x5a; 40],
            &[0x01; 70],
        ] {
            let nibbles = crate::trie::nibbles::unpack(key);
            for from in 0..=nibbles.len() {
                assert_eq!(
                    encode_key_leaf::<Vec<u8>>(key, from, b"value"),
                    encode_leaf::<Vec<u8>>(&nibbles[from..], b"value"),
                    "{key:?} from {from}"
                );
            }
        }
    }

    #[test]
    fn long_lists_get_a_long_header() {
        let payload = vec![0x01u8; 600];
        let reference: NodeRef = encode_node(|b| b.extend_from_slice(&payload));
        let mut rlp = Vec::new();
        alloy_rlp::Header {
            list: true,
            payload_length: 600,
        }
        .encode(&mut rlp);
        rlp.extend_from_slice(&payload);
        assert_eq!(reference, NodeRef::from_rlp(&rlp));
    }
}
