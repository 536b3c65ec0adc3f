//! The chain-export reader streams what a whole-file decode gives, counts without decoding, and
//! names the block and offset where a file goes bad.

use std::path::PathBuf;

use alloy_consensus::{BlockBody, Header};
use executor::{
    block::{Block, encode_block},
    chainfile::{ChainFile, ChainFileError},
};

fn blocks(n: u64) -> Vec<Block> {
    (0..n)
        .map(|number| Block {
            header: Header {
                number,
                // Long and short payloads both: extra data pushes some headers past 55 bytes.
                extra_data: vec![7u8; (number as usize * 13) % 40].into(),
                ..Header::default()
            },
            body: BlockBody::default(),
        })
        .collect()
}

fn file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("chainfile-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn export(blocks: &[Block]) -> Vec<u8> {
    blocks.iter().flat_map(encode_block).collect()
}

#[test]
fn streams_every_block_and_counts_them() {
    let chain = blocks(40);
    let path = file("whole", &export(&chain));
    let read: Vec<Block> = ChainFile::open(&path)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(read, chain);
    assert_eq!(ChainFile::count(&path).unwrap(), 40);
}

#[test]
fn a_truncated_or_garbled_file_names_the_bad_block() {
    let chain = blocks(5);
    let bytes = export(&chain);
    let last = encode_block(&chain[4]).len();
    let offset = (bytes.len() - last) as u64;

    let path = file("truncated", &bytes[..bytes.len() - 3]);
    let read: Vec<_> = ChainFile::open(&path).unwrap().collect();
    assert_eq!(read.len(), 5, "four blocks, then the error, then nothing");
    assert!(read[..4].iter().all(Result::is_ok));
    match &read[4] {
        Err(ChainFileError::Block {
            index: 4,
            offset: at,
            ..
        }) => assert_eq!(*at, offset),
        other => panic!("{other:?}"),
    }
    assert!(ChainFile::count(&path).is_err());

    let mut garbled = bytes.clone();
    garbled[offset as usize] = 0x80; // a string where a block's list starts
    let path = file("garbled", &garbled);
    let errors: Vec<_> = ChainFile::open(&path)
        .unwrap()
        .filter_map(Result::err)
        .collect();
    assert!(matches!(
        errors[..],
        [ChainFileError::Block { index: 4, .. }]
    ));

    let path = file("huge", &[0xfb, 0xff, 0xff, 0xff, 0xff]);
    let errors: Vec<_> = ChainFile::open(&path)
        .unwrap()
        .filter_map(Result::err)
        .collect();
    assert!(
        matches!(errors[..], [ChainFileError::Block { index: 0, .. }]),
        "{errors:?}"
    );
}
