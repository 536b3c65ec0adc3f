//! Keys as nibble paths and their hex-prefix (compact) encoding from the yellow paper, App. C.

/// Splits bytes into nibbles, high nibble first.
pub(crate) fn unpack(key: &[u8]) -> Vec<u8> {
    key.iter().flat_map(|b| [b >> 4, b & 0x0f]).collect()
}

/// Runs `f` on the nibbles of `key`, unpacked on the stack when the key has at most 32 bytes
/// (every secure-trie key), so a trie operation allocates nothing for its path.
pub(crate) fn with_nibbles<R>(key: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
    let mut buf = [0u8; 64];
    match buf.get_mut(..key.len() * 2) {
        Some(out) => {
            unpack_into(key, 0, out);
            f(out)
        }
        None => f(&unpack(key)),
    }
}

/// Nibble `i` of a packed key.
pub(crate) fn nibble(key: &[u8], i: usize) -> u8 {
    let byte = key[i / 2];
    if i.is_multiple_of(2) {
        byte >> 4
    } else {
        byte & 0x0f
    }
}

/// Nibbles `from..from + out.len()` of a packed key, unpacked a byte at a time.
pub(crate) fn unpack_into(key: &[u8], from: usize, out: &mut [u8]) {
    let end = from + out.len();
    let (mut at, mut skip) = (from, 0);
    if !at.is_multiple_of(2) && !out.is_empty() {
        out[0] = key[at / 2] & 0x0f;
        (at, skip) = (at + 1, 1);
    }
    let mut pairs = out[skip..].chunks_exact_mut(2);
    for (pair, byte) in (&mut pairs).zip(&key[at / 2..]) {
        pair[0] = byte >> 4;
        pair[1] = byte & 0x0f;
    }
    if let [last] = pairs.into_remainder() {
        *last = key[(end - 1) / 2] >> 4;
    }
}

/// Hex-prefix encoding of a nibble path; `leaf` sets the terminator flag. The trie writes it
/// straight into node RLP (`encode::rlp_path`); this plain form is the reference it is tested
/// against.
#[cfg(test)]
pub(crate) fn hex_prefix(path: &[u8], leaf: bool) -> Vec<u8> {
    let flag = if leaf { 0x20 } else { 0x00 };
    let mut out = Vec::with_capacity(path.len() / 2 + 1);
    let rest = if path.len() % 2 == 1 {
        out.push(flag | 0x10 | path[0]);
        &path[1..]
    } else {
        out.push(flag);
        path
    };
    out.extend(rest.chunks(2).map(|p| (p[0] << 4) | p[1]));
    out
}

/// Length of the common prefix of two nibble paths.
pub(crate) fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpack_into_matches_unpack_at_every_offset() {
        let key = [0x12u8, 0x34, 0x56, 0x78, 0x9a];
        let all = unpack(&key);
        for from in 0..=all.len() {
            for to in from..=all.len() {
                let mut out = vec![0xffu8; to - from];
                unpack_into(&key, from, &mut out);
                assert_eq!(out, all[from..to], "{from}..{to}");
                assert!((from..to).all(|i| nibble(&key, i) == all[i]));
            }
        }
    }

    #[test]
    fn hex_prefix_matches_the_yellow_paper_examples() {
        assert_eq!(hex_prefix(&[1, 2, 3, 4, 5], false), vec![0x11, 0x23, 0x45]);
        assert_eq!(
            hex_prefix(&[0, 1, 2, 3, 4, 5], false),
            vec![0x00, 0x01, 0x23, 0x45]
        );
        assert_eq!(
            hex_prefix(&[0, 0xf, 1, 0xc, 0xb, 8], true),
            vec![0x20, 0x0f, 0x1c, 0xb8]
        );
        assert_eq!(
            hex_prefix(&[0xf, 1, 0xc, 0xb, 8], true),
            vec![0x3f, 0x1c, 0xb8]
        );
    }
}
