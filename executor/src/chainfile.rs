//! The files a node is handed to import a chain, as `geth import` and `reth import` take them:
//! a `genesis.json` (chain config and alloc) and a `chain.rlp` of concatenated RLP blocks.
//!
//! [`ChainFile`] streams blocks one at a time from a buffered reader, so a chain export of any
//! size is imported in the memory of one block.

use std::{
    fs::File,
    io::{BufReader, Read},
    path::{Path, PathBuf},
};

use alloy_genesis::Genesis;
use alloy_rlp::Decodable;

use crate::block::Block;

/// A block claiming more bytes than this is rejected before any allocation.
const MAX_BLOCK_BYTES: usize = 1 << 30;

/// A chain file that cannot be read or decoded.
#[derive(Debug, thiserror::Error)]
pub enum ChainFileError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The genesis file is not JSON of geth's `genesis.json` shape.
    #[error("{path}: malformed genesis JSON: {source}")]
    Genesis {
        /// The file.
        path: PathBuf,
        /// What serde found.
        source: serde_json::Error,
    },
    /// A block of the chain file is truncated, oversized or not a valid RLP block; the
    /// blocks before it were good.
    #[error("{path}: block #{index} (offset {offset}): {reason}")]
    Block {
        /// The file.
        path: PathBuf,
        /// The block's position in the file, from 0 (not its block number).
        index: u64,
        /// The byte offset where the block starts.
        offset: u64,
        /// Why it could not be read.
        reason: String,
    },
}

/// Reads a geth `genesis.json`.
pub fn read_genesis(path: &Path) -> Result<Genesis, ChainFileError> {
    let bytes = std::fs::read(path).map_err(|source| ChainFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| ChainFileError::Genesis {
        path: path.to_path_buf(),
        source,
    })
}

/// The blocks of a `chain.rlp`, decoded one by one; iteration ends after the first error.
#[derive(Debug)]
pub struct ChainFile {
    path: PathBuf,
    reader: BufReader<File>,
    index: u64,
    offset: u64,
    failed: bool,
}

impl ChainFile {
    /// Opens `path` for reading.
    pub fn open(path: &Path) -> Result<Self, ChainFileError> {
        let file = File::open(path).map_err(|source| ChainFileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            reader: BufReader::new(file),
            index: 0,
            offset: 0,
            failed: false,
        })
    }

    /// How many blocks `path` holds, read from the RLP list headers alone (no block is
    /// decoded), so an import can show its total before it starts.
    pub fn count(path: &Path) -> Result<u64, ChainFileError> {
        let mut file = Self::open(path)?;
        let mut count = 0;
        while let Some(item) = file.next_item(false) {
            item?;
            count += 1;
        }
        Ok(count)
    }

    fn error(&self, reason: impl std::fmt::Display) -> ChainFileError {
        ChainFileError::Block {
            path: self.path.clone(),
            index: self.index,
            offset: self.offset,
            reason: reason.to_string(),
        }
    }

    /// The next item's bytes (header and payload), or only skips it; `None` at a clean end.
    fn next_item(&mut self, keep: bool) -> Option<Result<Vec<u8>, ChainFileError>> {
        let mut first = [0u8; 1];
        match self.reader.read(&mut first) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => return Some(Err(self.error(e))),
        }
        Some(self.read_rest(first[0], keep))
    }

    fn read_rest(&mut self, first: u8, keep: bool) -> Result<Vec<u8>, ChainFileError> {
        // A block is a list: 0xc0..=0xf7 carries a short length, 0xf8.. the length's size.
        let length_bytes = match first {
            0xc0..=0xf7 => 0,
            0xf8..=0xff => usize::from(first - 0xf7),
            _ => return Err(self.error("not an RLP list")),
        };
        let mut header = vec![first; 1 + length_bytes];
        self.reader
            .read_exact(&mut header[1..])
            .map_err(|e| self.error(format!("truncated header: {e}")))?;
        // The length by hand: alloy-rlp's header decoder wants the payload in the same buffer.
        let payload = match first {
            0xc0..=0xf7 => usize::from(first - 0xc0),
            _ if header[1] == 0 => return Err(self.error("length with a leading zero")),
            _ => header[1..]
                .iter()
                .try_fold(0usize, |n, b| {
                    n.checked_mul(256).map(|n| n + usize::from(*b))
                })
                .filter(|n| *n <= MAX_BLOCK_BYTES)
                .ok_or_else(|| self.error("block length over the limit"))?,
        };
        let mut item = header;
        if keep {
            let start = item.len();
            item.resize(start + payload, 0);
            self.reader.read_exact(&mut item[start..])
        } else {
            let copied = std::io::copy(
                &mut (&mut self.reader).take(payload as u64),
                &mut std::io::sink(),
            );
            match copied {
                Ok(n) if n == payload as u64 => Ok(()),
                Ok(n) => Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("{n} of {payload} bytes"),
                )),
                Err(e) => Err(e),
            }
        }
        .map_err(|e| self.error(format!("truncated block: {e}")))?;
        self.offset += (1 + length_bytes + payload) as u64;
        self.index += 1;
        Ok(item)
    }
}

impl Iterator for ChainFile {
    type Item = Result<Block, ChainFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let (index, offset) = (self.index, self.offset);
        let decoded = self.next_item(true)?.and_then(|bytes| {
            let mut rest = bytes.as_slice();
            let block = Block::decode(&mut rest);
            match block {
                Ok(block) if rest.is_empty() => Ok(block),
                Ok(_) => Err("trailing bytes inside the block".to_string()),
                Err(e) => Err(e.to_string()),
            }
            .map_err(|reason| ChainFileError::Block {
                path: self.path.clone(),
                index,
                offset,
                reason,
            })
        });
        self.failed = decoded.is_err();
        Some(decoded)
    }
}
