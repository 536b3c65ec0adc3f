//! Decoding a stored node's RLP back into its parts, the inverse of [`super::encode`].
//!
//! Input comes from a source, so nothing here trusts it: every malformed shape is a reason,
//! never a panic. Shapes the trie itself never writes are refused as well (a branch with
//! fewer than two entries, an extension with an empty path, a leaf with an empty value,
//! an inline child of 32 bytes or more), so a revealed node obeys the same invariants the
//! write paths rely on as one built in memory.

use alloy_primitives::B256;
use alloy_rlp::Header;

/// A decoded node. Paths are nibbles, one per byte; values borrow the RLP.
#[derive(Debug)]
pub(super) enum Decoded<'a> {
    Leaf {
        path: Vec<u8>,
        value: &'a [u8],
    },
    Extension {
        path: Vec<u8>,
        child: Child<'a>,
    },
    Branch {
        children: Box<[Option<Child<'a>>; 16]>,
        value: Option<&'a [u8]>,
    },
}

/// A child as its parent embeds it: by hash, or inline (its RLP and the node it decodes to).
#[derive(Debug)]
pub(super) enum Child<'a> {
    Hash(B256),
    Inline(&'a [u8], Box<Decoded<'a>>),
}

/// One RLP item: whether it is a list, its payload, and its whole encoding.
struct Item<'a> {
    list: bool,
    payload: &'a [u8],
    whole: &'a [u8],
}

fn item<'a>(buf: &mut &'a [u8]) -> Result<Item<'a>, &'static str> {
    let start = *buf;
    let header = Header::decode(buf).map_err(|_| "malformed RLP header")?;
    if buf.len() < header.payload_length {
        return Err("RLP item longer than its input");
    }
    let (payload, rest) = buf.split_at(header.payload_length);
    *buf = rest;
    Ok(Item {
        list: header.list,
        payload,
        whole: &start[..start.len() - rest.len()],
    })
}

/// Decodes one node from exactly `rlp`.
pub(super) fn decode(rlp: &[u8]) -> Result<Decoded<'_>, &'static str> {
    let mut buf = rlp;
    let node = item(&mut buf)?;
    if !node.list || !buf.is_empty() {
        return Err("not exactly one RLP list");
    }
    let mut payload = node.payload;
    let mut items = Vec::with_capacity(17);
    while !payload.is_empty() {
        if items.len() == 17 {
            return Err("more than 17 items");
        }
        items.push(item(&mut payload)?);
    }
    match items.len() {
        17 => branch(&items),
        2 => short(&items[0], &items[1]),
        _ => Err("neither 2 nor 17 items"),
    }
}

fn branch<'a>(items: &[Item<'a>]) -> Result<Decoded<'a>, &'static str> {
    let mut children: Box<[Option<Child<'a>>; 16]> = Box::default();
    for (slot, item) in children.iter_mut().zip(items) {
        // An empty string is an absent child.
        if item.list || !item.payload.is_empty() {
            *slot = Some(child(item)?);
        }
    }
    let value = string(&items[16])?;
    let value = (!value.is_empty()).then_some(value);
    let entries = children.iter().flatten().count() + usize::from(value.is_some());
    if entries < 2 {
        return Err("branch with fewer than two entries");
    }
    Ok(Decoded::Branch { children, value })
}

/// A leaf or an extension, told apart by the hex-prefix flag.
fn short<'a>(path: &Item<'a>, second: &Item<'a>) -> Result<Decoded<'a>, &'static str> {
    let (path, leaf) = hex_prefix(string(path)?)?;
    if leaf {
        let value = string(second)?;
        if value.is_empty() {
            return Err("leaf with an empty value");
        }
        Ok(Decoded::Leaf { path, value })
    } else if path.is_empty() {
        Err("extension with an empty path")
    } else {
        Ok(Decoded::Extension {
            path,
            child: child(second)?,
        })
    }
}

fn string<'a>(item: &Item<'a>) -> Result<&'a [u8], &'static str> {
    if item.list {
        return Err("a list where a string belongs");
    }
    Ok(item.payload)
}

fn child<'a>(item: &Item<'a>) -> Result<Child<'a>, &'static str> {
    match (item.list, item.payload.len()) {
        (true, _) if item.whole.len() < 32 => {
            Ok(Child::Inline(item.whole, Box::new(decode(item.whole)?)))
        }
        (true, _) => Err("inline child of 32 bytes or more"),
        (false, 32) => Ok(Child::Hash(B256::from_slice(item.payload))),
        (false, _) => Err("child reference neither a hash nor an inline node"),
    }
}

/// Hex-prefix (compact) path: nibbles and the leaf flag (yellow paper, App. C).
fn hex_prefix(bytes: &[u8]) -> Result<(Vec<u8>, bool), &'static str> {
    let Some((&first, rest)) = bytes.split_first() else {
        return Err("empty hex-prefix path");
    };
    let flag = first >> 4;
    if flag > 3 {
        return Err("hex-prefix flag above 3");
    }
    let mut path = Vec::with_capacity(rest.len() * 2 + 1);
    if flag & 1 == 1 {
        path.push(first & 0x0f);
    } else if first & 0x0f != 0 {
        return Err("even hex-prefix path with a nonzero pad nibble");
    }
    path.extend(rest.iter().flat_map(|b| [b >> 4, b & 0x0f]));
    Ok((path, flag & 2 == 2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trie::encode::{NodeRef, encode_branch, encode_extension, encode_leaf};

    #[test]
    fn encoded_nodes_decode_to_their_parts() {
        let leaf: Vec<u8> = encode_leaf(&[1, 2, 3], b"value");
        let Ok(Decoded::Leaf { path, value }) = decode(&leaf) else {
            panic!("leaf")
        };
        assert_eq!((path.as_slice(), value), (&[1, 2, 3][..], &b"value"[..]));

        let short: NodeRef = encode_leaf(&[4], b"v");
        let long: NodeRef = encode_leaf(&[5; 40], b"a value long enough to be hashed");
        let mut refs = [None; 16];
        (refs[3], refs[9]) = (Some(short), Some(long));
        let branch: Vec<u8> = encode_branch(&refs, Some(b"x"));
        let Ok(Decoded::Branch { children, value }) = decode(&branch) else {
            panic!("branch")
        };
        assert_eq!(value, Some(&b"x"[..]));
        assert!(matches!(&children[3], Some(Child::Inline(rlp, _)) if *rlp == short.as_slice()));
        assert!(matches!(children[9], Some(Child::Hash(h)) if h == long.node_hash()));

        let extension: Vec<u8> = encode_extension(&[0xa, 0xb], &long);
        assert!(
            matches!(decode(&extension), Ok(Decoded::Extension { path, .. }) if path == [0xa, 0xb])
        );
    }

    #[test]
    fn malformed_nodes_are_reasons_not_panics() {
        let leaf: Vec<u8> = encode_leaf(&[1, 2, 3], b"value");
        for bad in [
            &[][..],
            &[0xc0],
            &[0x80],
            &leaf[..leaf.len() - 1],
            &[&leaf[..], &[0]].concat(),
            &[0xc2, 0x40, 0x01],       // flag 4
            &[0xc3, 0x21, 0x01, 0x80], // even leaf path with a nonzero pad nibble
            &[0xc2, 0x31, 0x80],       // leaf with an empty value
            &[0xc2, 0x00, 0x80],       // extension with an empty path
            &[0xff, 0xff, 0xff, 0xff],
        ] {
            assert!(decode(bad).is_err(), "{bad:02x?}");
        }
    }
}
