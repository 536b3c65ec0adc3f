//! Fork rules for a chain: which hardfork is active for a given block, the chain id and the blob
//! schedule.
//!
//! Activations come from one of three places: a geth `genesis.json` `config` object, an
//! ethereum/tests network name (`Cancun`, `ShanghaiToCancunAtTime15k`, ...), or mainnet's
//! well-known schedule. Everything downstream asks [`ChainSpec`] through alloy's
//! [`EthereumHardforks`], so block rules are those of alloy-evm, not ours.

use alloy_eips::{
    eip6110::MAINNET_DEPOSIT_CONTRACT_ADDRESS, eip7840::BlobParams, eip7892::BlobScheduleBlobParams,
};
use alloy_evm::eth::spec::EthExecutorSpec;
use alloy_genesis::ChainConfig;
use alloy_hardforks::{EthereumChainHardforks, EthereumHardfork, EthereumHardforks, ForkCondition};
use alloy_primitives::{Address, U256};
use revm::primitives::hardfork::SpecId;

/// A network name or chain configuration that names no fork we know.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown network `{0}`")]
pub struct UnknownNetwork(pub String);

/// Hardfork activations, chain id, blob schedule and deposit contract of one chain.
#[derive(Clone, Debug)]
pub struct ChainSpec {
    /// EIP-155 chain id: signatures and the CHAINID opcode use it.
    pub chain_id: u64,
    forks: EthereumChainHardforks,
    blobs: BlobScheduleBlobParams,
    deposit_contract: Option<Address>,
    /// A merge at a terminal total difficulty whose block the configuration does not name
    /// (mainnet's own `genesis.json` names none): found while importing, by the chain store.
    terminal: Option<TerminalDifficulty>,
}

/// The merge of a chain configured by its terminal total difficulty alone.
#[derive(Clone, Copy, Debug)]
struct TerminalDifficulty {
    total_difficulty: U256,
    /// The first proof-of-stake block, once a parent's total difficulty reached the terminal.
    block: Option<u64>,
}

/// Forks in activation order, with the names test networks give them. The glaciers only
/// delay the difficulty bomb; a network includes those before it (`Berlin` has Muir
/// Glacier's delay, as the test suites' `Berlin` configurations do).
const FORK_ORDER: &[(EthereumHardfork, &str)] = &[
    (EthereumHardfork::Frontier, "Frontier"),
    (EthereumHardfork::Homestead, "Homestead"),
    (EthereumHardfork::Tangerine, "EIP150"),
    (EthereumHardfork::SpuriousDragon, "EIP158"),
    (EthereumHardfork::Byzantium, "Byzantium"),
    (EthereumHardfork::Constantinople, "Constantinople"),
    (EthereumHardfork::Petersburg, "ConstantinopleFix"),
    (EthereumHardfork::Istanbul, "Istanbul"),
    (EthereumHardfork::MuirGlacier, "MuirGlacier"),
    (EthereumHardfork::Berlin, "Berlin"),
    (EthereumHardfork::London, "London"),
    (EthereumHardfork::ArrowGlacier, "ArrowGlacier"),
    (EthereumHardfork::GrayGlacier, "GrayGlacier"),
    (EthereumHardfork::Paris, "Paris"),
    (EthereumHardfork::Shanghai, "Shanghai"),
    (EthereumHardfork::Cancun, "Cancun"),
    (EthereumHardfork::Prague, "Prague"),
    (EthereumHardfork::Osaka, "Osaka"),
    (EthereumHardfork::Amsterdam, "Amsterdam"),
];

/// Names ethereum/tests and execution-spec-tests use for the same fork.
fn fork_index(name: &str) -> Option<usize> {
    let canonical = match name {
        "TangerineWhistle" => "EIP150",
        "SpuriousDragon" => "EIP158",
        "Petersburg" => "ConstantinopleFix",
        "Merge" => "Paris",
        other => other,
    };
    FORK_ORDER.iter().position(|(_, n)| *n == canonical)
}

/// Forks from Shanghai on activate by timestamp; the rest by block number.
fn is_timestamp_fork(fork: EthereumHardfork) -> bool {
    matches!(
        fork,
        EthereumHardfork::Shanghai
            | EthereumHardfork::Cancun
            | EthereumHardfork::Prague
            | EthereumHardfork::Osaka
            | EthereumHardfork::Amsterdam
    )
}

fn activation(fork: EthereumHardfork, at: u64) -> ForkCondition {
    if fork == EthereumHardfork::Paris {
        ForkCondition::TTD {
            activation_block_number: at,
            fork_block: None,
            total_difficulty: U256::ZERO,
        }
    } else if is_timestamp_fork(fork) {
        ForkCondition::Timestamp(at)
    } else {
        ForkCondition::Block(at)
    }
}

impl ChainSpec {
    /// Ethereum mainnet (chain id 1) with its real activation schedule.
    pub fn mainnet() -> Self {
        Self {
            chain_id: 1,
            forks: EthereumChainHardforks::mainnet(),
            blobs: BlobScheduleBlobParams::mainnet(),
            deposit_contract: Some(MAINNET_DEPOSIT_CONTRACT_ADDRESS),
            terminal: None,
        }
    }

    /// A test network by name: a single fork active from genesis (`Cancun`) or a transition
    /// (`ShanghaiToCancunAtTime15k`, `BerlinToLondonAt5`). Chain id 1, as the test suites use.
    pub fn from_test_network(network: &str) -> Result<Self, UnknownNetwork> {
        let unknown = || UnknownNetwork(network.to_string());
        let (from, to_at) = match network.split_once("To") {
            Some((from, rest)) => {
                let (to, at) = if let Some((to, t)) = rest.split_once("AtTime") {
                    (to, parse_activation(t).ok_or_else(unknown)?)
                } else if rest.contains("AtDiff") {
                    // A merge by total difficulty needs TTD tracking across blocks, which the
                    // chain store does not do: refuse rather than guess the activation block.
                    return Err(unknown());
                } else if let Some((to, b)) = rest.split_once("At") {
                    (to, parse_activation(b).ok_or_else(unknown)?)
                } else {
                    return Err(unknown());
                };
                (from, Some((fork_index(to).ok_or_else(unknown)?, at)))
            }
            None => (network, None),
        };
        let from = fork_index(from).ok_or_else(unknown)?;
        let last = to_at.map_or(from, |(to, _)| to);
        let forks = FORK_ORDER[..=last]
            .iter()
            .enumerate()
            .map(|(i, (fork, _))| {
                let at = match to_at {
                    Some((to, at)) if i > from && i <= to => at,
                    _ => 0,
                };
                (*fork, activation(*fork, at))
            });
        Ok(Self {
            chain_id: 1,
            forks: EthereumChainHardforks::new(forks),
            blobs: BlobScheduleBlobParams::mainnet(),
            deposit_contract: Some(MAINNET_DEPOSIT_CONTRACT_ADDRESS),
            terminal: None,
        })
    }

    /// The chain described by a geth `genesis.json` `config` object.
    pub fn from_genesis_config(config: &ChainConfig) -> Self {
        let blocks = [
            (EthereumHardfork::Frontier, Some(0)),
            (EthereumHardfork::Homestead, config.homestead_block),
            (
                EthereumHardfork::Dao,
                config.dao_fork_block.filter(|_| config.dao_fork_support),
            ),
            (EthereumHardfork::Tangerine, config.eip150_block),
            (EthereumHardfork::SpuriousDragon, config.eip158_block),
            (EthereumHardfork::Byzantium, config.byzantium_block),
            (
                EthereumHardfork::Constantinople,
                config.constantinople_block,
            ),
            (EthereumHardfork::Petersburg, config.petersburg_block),
            (EthereumHardfork::Istanbul, config.istanbul_block),
            (EthereumHardfork::MuirGlacier, config.muir_glacier_block),
            (EthereumHardfork::Berlin, config.berlin_block),
            (EthereumHardfork::London, config.london_block),
            (EthereumHardfork::ArrowGlacier, config.arrow_glacier_block),
            (EthereumHardfork::GrayGlacier, config.gray_glacier_block),
        ];
        let mut forks: Vec<_> = blocks
            .into_iter()
            .filter_map(|(fork, at)| at.map(|b| (fork, ForkCondition::Block(b))))
            .collect();
        // A chain whose terminal difficulty is zero starts post-merge; geth dev chains also
        // mark the merge with `mergeNetsplitBlock`. Otherwise the merge block is the first
        // whose parent reaches the terminal total difficulty (EIP-3675), which only importing
        // the chain finds.
        let mut terminal = None;
        if let Some(ttd) = config.terminal_total_difficulty {
            let at = match config.merge_netsplit_block {
                Some(at) => at,
                None if ttd.is_zero() => 0,
                None => {
                    terminal = Some(TerminalDifficulty {
                        total_difficulty: ttd,
                        block: None,
                    });
                    u64::MAX
                }
            };
            forks.push((
                EthereumHardfork::Paris,
                ForkCondition::TTD {
                    activation_block_number: at,
                    fork_block: None,
                    total_difficulty: ttd,
                },
            ));
        }
        let times = [
            (EthereumHardfork::Shanghai, config.shanghai_time),
            (EthereumHardfork::Cancun, config.cancun_time),
            (EthereumHardfork::Prague, config.prague_time),
            (EthereumHardfork::Osaka, config.osaka_time),
            (EthereumHardfork::Amsterdam, config.amsterdam_time),
        ];
        forks.extend(
            times
                .into_iter()
                .filter_map(|(f, t)| t.map(|t| (f, ForkCondition::Timestamp(t)))),
        );
        let blobs = if config.blob_schedule.is_empty() {
            BlobScheduleBlobParams::mainnet()
        } else {
            config.blob_schedule_blob_params()
        };
        Self {
            chain_id: config.chain_id,
            forks: EthereumChainHardforks::new(forks),
            blobs,
            deposit_contract: config
                .deposit_contract_address
                .or(Some(MAINNET_DEPOSIT_CONTRACT_ADDRESS)),
            terminal,
        }
    }

    /// The terminal total difficulty while the merge block is not known yet: the block whose
    /// parent's total difficulty reaches it is the first proof-of-stake block.
    pub fn pending_merge(&self) -> Option<U256> {
        self.terminal
            .filter(|t| t.block.is_none())
            .map(|t| t.total_difficulty)
    }

    /// Records block `number` as the first proof-of-stake block of a chain whose merge was
    /// pending (nothing changes otherwise).
    pub fn merge_at(&mut self, number: u64) {
        if let Some(t) = &mut self.terminal {
            t.block.get_or_insert(number);
        }
    }

    /// The revm spec for a block.
    pub fn spec_at(&self, number: u64, timestamp: u64) -> SpecId {
        alloy_evm::spec_by_timestamp_and_block_number(self, timestamp, number)
    }

    /// Blob fee and limit parameters in force at `timestamp`; `None` before Cancun.
    pub fn blob_params_at(&self, timestamp: u64) -> Option<BlobParams> {
        if let Some(p) = self.blobs.active_scheduled_params_at_timestamp(timestamp) {
            return Some(*p);
        }
        if self.is_osaka_active_at_timestamp(timestamp) {
            Some(self.blobs.osaka)
        } else if self.is_prague_active_at_timestamp(timestamp) {
            Some(self.blobs.prague)
        } else if self.is_cancun_active_at_timestamp(timestamp) {
            Some(self.blobs.cancun)
        } else {
            None
        }
    }
}

/// `5`, `15k`, `0x10`: the activation suffixes the test network names use.
fn parse_activation(s: &str) -> Option<u64> {
    if let Some(k) = s.strip_suffix('k') {
        return k.parse::<u64>().ok().map(|v| v * 1000);
    }
    s.parse().ok()
}

impl ChainSpec {
    /// What the fork of `header`'s block means for folding a state root from a BAL.
    pub fn fold_rules(&self, header: &alloy_consensus::Header) -> commitment::FoldRules {
        commitment::FoldRules {
            eip161: self.is_spurious_dragon_active_at_block(header.number),
            eip6780: self.is_cancun_active_at_timestamp(header.timestamp),
        }
    }
}

impl EthereumHardforks for ChainSpec {
    fn ethereum_fork_activation(&self, fork: EthereumHardfork) -> ForkCondition {
        match self.terminal {
            Some(t) if fork == EthereumHardfork::Paris => ForkCondition::TTD {
                activation_block_number: t.block.unwrap_or(u64::MAX),
                fork_block: t.block,
                total_difficulty: t.total_difficulty,
            },
            _ => self.forks.ethereum_fork_activation(fork),
        }
    }
}

impl EthExecutorSpec for ChainSpec {
    fn deposit_contract_address(&self) -> Option<Address> {
        self.deposit_contract
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_fork_networks_activate_everything_before() {
        let spec = ChainSpec::from_test_network("Cancun").unwrap();
        assert_eq!(spec.spec_at(0, 0), SpecId::CANCUN);
        let spec = ChainSpec::from_test_network("Berlin").unwrap();
        assert_eq!(spec.spec_at(100, 100), SpecId::BERLIN);
        let spec = ChainSpec::from_test_network("Frontier").unwrap();
        assert_eq!(spec.spec_at(100, 100), SpecId::FRONTIER);
    }

    #[test]
    fn transitions_activate_at_their_boundary() {
        let spec = ChainSpec::from_test_network("ShanghaiToCancunAtTime15k").unwrap();
        assert_eq!(spec.spec_at(1, 14_999), SpecId::SHANGHAI);
        assert_eq!(spec.spec_at(2, 15_000), SpecId::CANCUN);
        let spec = ChainSpec::from_test_network("BerlinToLondonAt5").unwrap();
        assert_eq!(spec.spec_at(4, 0), SpecId::BERLIN);
        assert_eq!(spec.spec_at(5, 0), SpecId::LONDON);
    }

    #[test]
    fn unknown_names_are_errors() {
        assert!(ChainSpec::from_test_network("Byzantine").is_err());
        assert!(ChainSpec::from_test_network("CancunToNowhereAt5").is_err());
        assert!(ChainSpec::from_test_network("ArrowGlacierToParisAtDiffC0000").is_err());
    }

    #[test]
    fn blob_params_follow_the_fork() {
        let spec = ChainSpec::from_test_network("Cancun").unwrap();
        assert_eq!(spec.blob_params_at(0), Some(BlobParams::cancun()));
        let spec = ChainSpec::from_test_network("Shanghai").unwrap();
        assert_eq!(spec.blob_params_at(0), None);
    }
}
