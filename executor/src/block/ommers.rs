//! The ommer (uncle) rules of a proof-of-work block. An ommer is a header that lost the race
//! to be a recent ancestor: it earns a reward, so a block may include one only if it is a
//! valid header in its own right, recent, off the block's own line, and never rewarded
//! before. What the rules need of the chain is a few generations of ancestors and the hashes
//! of the ommers those included ([`Ancestor`]), not their bodies.

use alloy_consensus::Header;
use alloy_primitives::B256;

use super::{Block, error::BodyError, validate};
use crate::chain::ChainSpec;

/// How far below the block an ommer may be: its number is in `[N - 6, N - 1]`, so its
/// parent is one of the block's ancestors two to seven generations up.
pub const MAX_OMMER_DEPTH: u64 = 6;

/// How many generations of ancestors the rules look at: the ommers' parents reach
/// `MAX_OMMER_DEPTH + 1` generations up.
pub const OMMER_ANCESTRY: usize = MAX_OMMER_DEPTH as usize + 1;

/// An ancestor of the block being checked, as a chain store keeps it.
#[derive(Clone, Copy, Debug)]
pub struct Ancestor<'a> {
    /// The ancestor's block hash.
    pub hash: B256,
    /// Its header: an ommer's parent is checked against it.
    pub header: &'a Header,
    /// Hashes of the ommers this ancestor included.
    pub ommers: &'a [B256],
}

/// Checks each ommer of `block` against the block's `ancestors`: its parent first, then each
/// earlier generation, [`OMMER_ANCESTRY`] of them or up to genesis. The count of ommers and
/// their hash in the header are checked with the rest of the body.
pub fn check(
    chain: &ChainSpec,
    block: &Block,
    ancestors: &[Ancestor<'_>],
) -> Result<(), BodyError> {
    let number = block.header.number;
    let recent = &ancestors[..ancestors.len().min(MAX_OMMER_DEPTH as usize)];
    let mut checked: Vec<B256> = Vec::with_capacity(block.body.ommers.len());
    for ommer in &block.body.ommers {
        let hash = ommer.hash_slow();
        if checked.contains(&hash) {
            return Err(BodyError::DuplicateOmmer(hash));
        }
        checked.push(hash);
        if ancestors.iter().any(|a| a.hash == hash) {
            return Err(BodyError::OmmerIsAncestor(hash));
        }
        if recent.iter().any(|a| a.ommers.contains(&hash)) {
            return Err(BodyError::OmmerAlreadyIncluded(hash));
        }
        if ommer.number >= number || ommer.number < number.saturating_sub(MAX_OMMER_DEPTH) {
            return Err(BodyError::OmmerNumber {
                hash,
                number: ommer.number,
                block: number,
            });
        }
        // Generation 1 is the block's parent: its child would be the block's sibling.
        let parent = ancestors
            .iter()
            .skip(1)
            .find(|a| a.hash == ommer.parent_hash)
            .ok_or(BodyError::OmmerParentNotAncestor {
                hash,
                parent: ommer.parent_hash,
            })?;
        validate::header_against_parent(chain, ommer, parent.header)
            .map_err(|error| BodyError::OmmerHeader { hash, error })?;
    }
    Ok(())
}
