//! `demo --export DIR`: the chain as `genesis.json` + `chain.rlp`, the pair `replay --format
//! geth` (and `geth import`) reads, written as the blocks are sealed.

use std::{
    fs::File,
    io::{BufWriter, Write},
    path::{Path, PathBuf},
};

use alloy_genesis::Genesis;

use super::{DemoError, SealedBlock};

/// An export in progress: the genesis is written, blocks are appended to `chain.rlp`.
pub(super) struct ChainExport {
    dir: PathBuf,
    chain: BufWriter<File>,
}

impl ChainExport {
    /// Writes `DIR/genesis.json` and starts an empty `DIR/chain.rlp`.
    pub(super) fn create(dir: &Path, genesis: &Genesis) -> Result<Self, DemoError> {
        let io = |source| DemoError::Export {
            dir: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let json = serde_json::to_vec_pretty(genesis).map_err(|e| io(e.into()))?;
        std::fs::write(dir.join("genesis.json"), json).map_err(io)?;
        let chain = File::create(dir.join("chain.rlp")).map_err(io)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            chain: BufWriter::new(chain),
        })
    }

    /// Appends `blocks`, RLP-encoded back to back as `geth export` writes them.
    pub(super) fn append(&mut self, blocks: &[SealedBlock]) -> Result<(), DemoError> {
        let mut rlp = Vec::new();
        for sealed in blocks {
            alloy_rlp::Encodable::encode(&sealed.block, &mut rlp);
        }
        self.chain
            .write_all(&rlp)
            .map_err(|source| self.error(source))
    }

    /// Flushes `chain.rlp`; returns the directory written.
    pub(super) fn finish(mut self) -> Result<PathBuf, DemoError> {
        self.chain.flush().map_err(|source| self.error(source))?;
        Ok(self.dir)
    }

    fn error(&self, source: std::io::Error) -> DemoError {
        DemoError::Export {
            dir: self.dir.clone(),
            source,
        }
    }
}
