//! Consensus checks that need no execution: a header against its parent and the active fork,
//! and a body against its header. They run before any transaction so that a malformed block
//! costs nothing.

use alloy_consensus::{
    EMPTY_OMMER_ROOT_HASH, Header, Transaction, TxEnvelope,
    constants::MAXIMUM_EXTRA_DATA_SIZE,
    proofs::{calculate_ommers_root, calculate_transaction_root, calculate_withdrawals_root},
};
use alloy_eips::{
    eip1559::{BaseFeeParams, INITIAL_BASE_FEE},
    eip4844::DATA_GAS_PER_BLOB,
};
use alloy_hardforks::{EthereumHardfork, EthereumHardforks, ForkCondition};

use super::{
    Block, difficulty,
    error::{BodyError, HeaderError},
};
use crate::chain::ChainSpec;

/// How fast the gas limit may move per block: less than 1/1024 of the parent's (Frontier on,
/// kept by EIP-1559).
const GAS_LIMIT_BOUND_DIVISOR: u64 = 1024;
/// EIP-779's extra data of the DAO fork block and the blocks after it.
const DAO_EXTRA_DATA: &[u8] = b"dao-hard-fork";
/// How many blocks from the DAO fork block on must carry it.
const DAO_EXTRA_DATA_BLOCKS: u64 = 10;
/// The smallest gas limit any fork allows.
const MIN_GAS_LIMIT: u64 = 5000;

/// Checks `header` against its `parent` under the rules active for `header`, its difficulty
/// included before the merge. Ommers are held to the same checks against their own parents.
pub fn header_against_parent(
    chain: &ChainSpec,
    header: &Header,
    parent: &Header,
) -> Result<(), HeaderError> {
    if header.number != parent.number + 1 {
        return Err(HeaderError::Number {
            expected: parent.number + 1,
            got: header.number,
        });
    }
    if header.timestamp <= parent.timestamp {
        return Err(HeaderError::Timestamp {
            parent: parent.timestamp,
            got: header.timestamp,
        });
    }
    if header.gas_limit > i64::MAX as u64 {
        return Err(HeaderError::GasLimitTooBig(header.gas_limit));
    }
    if header.gas_used > header.gas_limit {
        return Err(HeaderError::GasUsedOverLimit {
            used: header.gas_used,
            limit: header.gas_limit,
        });
    }
    if header.extra_data.len() > MAXIMUM_EXTRA_DATA_SIZE {
        return Err(HeaderError::ExtraDataTooBig(header.extra_data.len()));
    }
    if let ForkCondition::Block(dao) = chain.ethereum_fork_activation(EthereumHardfork::Dao)
        && (dao..dao.saturating_add(DAO_EXTRA_DATA_BLOCKS)).contains(&header.number)
        && header.extra_data.as_ref() != DAO_EXTRA_DATA
    {
        return Err(HeaderError::DaoForkExtraData);
    }

    let london = chain.is_london_active_at_block(header.number);
    // At the London block the gas target stays, so the limit doubles (elasticity 2).
    let parent_limit = if london && !chain.is_london_active_at_block(parent.number) {
        // Saturating: a genesis limit is not bounded by the checks here.
        parent
            .gas_limit
            .saturating_mul(BaseFeeParams::ethereum().elasticity_multiplier as u64)
    } else {
        parent.gas_limit
    };
    let max_delta = parent_limit / GAS_LIMIT_BOUND_DIVISOR;
    if header.gas_limit.abs_diff(parent_limit) >= max_delta {
        return Err(HeaderError::GasLimit {
            parent: parent_limit,
            got: header.gas_limit,
        });
    }
    if header.gas_limit < MIN_GAS_LIMIT {
        return Err(HeaderError::GasLimitBelowMinimum(header.gas_limit));
    }

    let expected_base_fee = if !london {
        None
    } else if !chain.is_london_active_at_block(parent.number) {
        Some(INITIAL_BASE_FEE)
    } else {
        parent.next_block_base_fee(BaseFeeParams::ethereum())
    };
    if header.base_fee_per_gas != expected_base_fee {
        return Err(HeaderError::BaseFee {
            expected: expected_base_fee,
            got: header.base_fee_per_gas,
        });
    }

    if chain.is_paris_active_at_block(header.number) {
        if !header.difficulty.is_zero() {
            return Err(HeaderError::DifficultyAfterMerge(header.difficulty));
        }
        if !header.nonce.is_zero() {
            return Err(HeaderError::NonceAfterMerge);
        }
        if header.ommers_hash != EMPTY_OMMER_ROOT_HASH {
            return Err(HeaderError::OmmersAfterMerge);
        }
    } else {
        difficulty::check(chain, header, parent)?;
    }

    let shanghai = chain.is_shanghai_active_at_timestamp(header.timestamp);
    require(
        shanghai,
        header.withdrawals_root.is_some(),
        "withdrawals_root",
    )?;

    let blob_params = chain.blob_params_at(header.timestamp);
    require(
        blob_params.is_some(),
        header.blob_gas_used.is_some(),
        "blob_gas_used",
    )?;
    require(
        blob_params.is_some(),
        header.excess_blob_gas.is_some(),
        "excess_blob_gas",
    )?;
    require(
        blob_params.is_some(),
        header.parent_beacon_block_root.is_some(),
        "parent_beacon_block_root",
    )?;
    if let Some(params) = blob_params {
        // The first Cancun block's parent has no blob fields: its excess counts as zero.
        let expected = if parent.excess_blob_gas.is_some() {
            parent.next_block_excess_blob_gas(params)
        } else {
            Some(0)
        };
        if header.excess_blob_gas != expected {
            return Err(HeaderError::ExcessBlobGas {
                expected,
                got: header.excess_blob_gas,
            });
        }
        let used = header.blob_gas_used.unwrap_or_default();
        if used > params.max_blob_gas_per_block() {
            return Err(HeaderError::TooManyBlobs {
                used,
                max: params.max_blob_gas_per_block(),
            });
        }
    }
    require(
        chain.is_prague_active_at_timestamp(header.timestamp),
        header.requests_hash.is_some(),
        "requests_hash",
    )?;
    Ok(())
}

/// A fork-gated header field must be present exactly when its fork is active.
fn require(active: bool, present: bool, field: &'static str) -> Result<(), HeaderError> {
    match (active, present) {
        (true, false) => Err(HeaderError::MissingField(field)),
        (false, true) => Err(HeaderError::UnexpectedField(field)),
        _ => Ok(()),
    }
}

/// The transactions decode to the header's transactions root: the one body check a block
/// recorded without its ommer headers still allows.
pub fn transactions_root(block: &Block) -> Result<(), super::BlockError> {
    let tx_root = calculate_transaction_root(&block.body.transactions);
    if tx_root != block.header.transactions_root {
        return Err(BodyError::TransactionsRoot {
            expected: block.header.transactions_root,
            got: tx_root,
        }
        .into());
    }
    Ok(())
}

/// Checks the body's commitments in the header and the blob gas its transactions use.
pub fn body_against_header(chain: &ChainSpec, block: &Block) -> Result<(), super::BlockError> {
    let header = &block.header;
    transactions_root(block)?;
    if chain.is_paris_active_at_block(header.number) && !block.body.ommers.is_empty() {
        return Err(BodyError::OmmersAfterMerge.into());
    }
    if block.body.ommers.len() > 2 {
        return Err(BodyError::TooManyOmmers(block.body.ommers.len()).into());
    }
    let ommers_hash = calculate_ommers_root(&block.body.ommers);
    if ommers_hash != header.ommers_hash {
        return Err(BodyError::OmmersHash {
            expected: header.ommers_hash,
            got: ommers_hash,
        }
        .into());
    }
    let withdrawals_root = block
        .body
        .withdrawals
        .as_ref()
        .map(|w| calculate_withdrawals_root(w));
    if withdrawals_root != header.withdrawals_root {
        return Err(BodyError::WithdrawalsRoot {
            expected: header.withdrawals_root,
            got: withdrawals_root,
        }
        .into());
    }
    if let Some(expected) = header.blob_gas_used {
        let used: u64 = block
            .body
            .transactions
            .iter()
            .map(|tx: &TxEnvelope| {
                tx.blob_versioned_hashes().map_or(0, |h| h.len() as u64) * DATA_GAS_PER_BLOB
            })
            .sum();
        if used != expected {
            return Err(HeaderError::BlobGasUsed {
                expected,
                got: used,
            }
            .into());
        }
    }
    Ok(())
}
