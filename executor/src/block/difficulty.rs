//! The difficulty a proof-of-work header must carry: its parent's, adjusted for the time
//! between them, plus the exponential "difficulty bomb" (ice age). It depends only on the
//! parent header, the block's number and timestamp, and the fork, so it is checked without
//! the seal (the Ethash proof itself is not verified here).
//!
//! The rules, from the EIP texts:
//! - Frontier (Yellow Paper): `+ parent // 2048` when the block came within 13 s, else `-`.
//! - Homestead (EIP-2): `parent // 2048 * max(1 - Δt // 10, -99)`.
//! - Byzantium (EIP-100): `parent // 2048 * max(y - Δt // 9, -99)`, `y` 2 when the parent
//!   included ommers, else 1, so the target counts ommers as blocks.
//! - The bomb adds `2^(n // 100_000 - 2)` once that exponent is non-negative, where `n` is
//!   the block number less the delay of the last bomb-delaying fork: Byzantium 3M (EIP-649),
//!   Constantinople 5M (EIP-1234), Muir Glacier 9M (EIP-2384), London 9.7M (EIP-3554), Arrow
//!   Glacier 10.7M (EIP-4345), Gray Glacier 11.4M (EIP-5133).
//! - No difficulty is below 131072 (the Yellow Paper's `D_0`). The floor is applied after the
//!   bomb as the Yellow Paper writes `max(D_0, P + x·ς + ε)`; some clients floor before adding
//!   the bomb, which differs only on a chain whose difficulty sits at the floor past block
//!   200000 (never on mainnet).

use alloy_consensus::{EMPTY_OMMER_ROOT_HASH, Header};
use alloy_hardforks::{EthereumHardfork, EthereumHardforks};
use alloy_primitives::U256;

use super::error::HeaderError;
use crate::chain::ChainSpec;

/// The Yellow Paper's `D_0`: no proof-of-work header's difficulty is below it.
pub const MINIMUM_DIFFICULTY: u64 = 131_072;
/// A block moves its parent's difficulty in steps of `parent // 2048`.
const BOUND_DIVISOR: u64 = 2048;
/// The bomb's exponent grows by one every this many blocks.
const BOMB_PERIOD: u64 = 100_000;
/// The furthest a block may lower the difficulty, in steps (EIP-2).
const MAX_DOWNWARD_STEPS: i64 = -99;

/// Each bomb-delaying fork with the delay it sets, latest first: the last one active wins.
const BOMB_DELAYS: &[(EthereumHardfork, u64)] = &[
    (EthereumHardfork::GrayGlacier, 11_400_000),
    (EthereumHardfork::ArrowGlacier, 10_700_000),
    (EthereumHardfork::London, 9_700_000),
    (EthereumHardfork::MuirGlacier, 9_000_000),
    (EthereumHardfork::Constantinople, 5_000_000),
    (EthereumHardfork::Byzantium, 3_000_000),
];

/// How many blocks the bomb is pushed back at block `number`.
pub fn bomb_delay(chain: &ChainSpec, number: u64) -> u64 {
    BOMB_DELAYS
        .iter()
        .find(|(fork, _)| {
            chain
                .ethereum_fork_activation(*fork)
                .active_at_block(number)
        })
        .map_or(0, |&(_, delay)| delay)
}

/// The bomb's term at block `number`: `2^(fake // 100_000 - 2)` with `fake` the number less
/// the fork's delay, or zero while that exponent is negative. Saturates for absurd numbers
/// rather than wrapping.
fn bomb(chain: &ChainSpec, number: u64) -> U256 {
    let fake = number.saturating_sub(bomb_delay(chain, number));
    match (fake / BOMB_PERIOD).checked_sub(2) {
        None => U256::ZERO,
        Some(exponent) => usize::try_from(exponent)
            .ok()
            .and_then(|e| U256::from(1).checked_shl(e))
            .unwrap_or(U256::MAX),
    }
}

/// How many `parent // 2048` steps a block `elapsed` seconds after its parent moves the
/// difficulty (negative: down), under the rule active at `number`.
fn adjustment_steps(chain: &ChainSpec, number: u64, elapsed: u64, parent_has_ommers: bool) -> i64 {
    let elapsed = i64::try_from(elapsed).unwrap_or(i64::MAX);
    if chain.is_byzantium_active_at_block(number) {
        let target = if parent_has_ommers { 2 } else { 1 };
        (target - elapsed / 9).max(MAX_DOWNWARD_STEPS)
    } else if chain.is_homestead_active_at_block(number) {
        (1 - elapsed / 10).max(MAX_DOWNWARD_STEPS)
    } else if elapsed < 13 {
        1
    } else {
        -1
    }
}

/// The difficulty a child of `parent` with `timestamp` must carry before the merge.
pub fn expected_difficulty(chain: &ChainSpec, parent: &Header, timestamp: u64) -> U256 {
    let number = parent.number.saturating_add(1);
    let elapsed = timestamp.saturating_sub(parent.timestamp);
    let parent_has_ommers = parent.ommers_hash != EMPTY_OMMER_ROOT_HASH;
    let steps = adjustment_steps(chain, number, elapsed, parent_has_ommers);
    let step = parent.difficulty / U256::from(BOUND_DIVISOR);
    let moved = step.saturating_mul(U256::from(steps.unsigned_abs()));
    let adjusted = if steps >= 0 {
        parent.difficulty.saturating_add(moved)
    } else {
        parent.difficulty.saturating_sub(moved)
    };
    adjusted
        .saturating_add(bomb(chain, number))
        .max(U256::from(MINIMUM_DIFFICULTY))
}

/// A header before the merge must carry exactly the difficulty its parent implies.
pub(super) fn check(
    chain: &ChainSpec,
    header: &Header,
    parent: &Header,
) -> Result<(), HeaderError> {
    let expected = expected_difficulty(chain, parent, header.timestamp);
    if header.difficulty != expected {
        return Err(HeaderError::Difficulty {
            expected,
            got: header.difficulty,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: u64 = 1 << 30;
    /// `D // 2048`: one adjustment step of a parent at difficulty `D`.
    const STEP: u64 = D / 2048;

    fn network(name: &str) -> ChainSpec {
        ChainSpec::from_test_network(name).unwrap()
    }

    fn parent(number: u64, timestamp: u64, difficulty: u64) -> Header {
        Header {
            number,
            timestamp,
            difficulty: U256::from(difficulty),
            ..Default::default()
        }
    }

    /// The difficulty of block `number` on `chain`, `elapsed` seconds after a parent at `D`.
    fn child(chain: &ChainSpec, number: u64, elapsed: u64) -> U256 {
        expected_difficulty(chain, &parent(number - 1, 1_000, D), 1_000 + elapsed)
    }

    #[test]
    fn mainnet_frontier_blocks_follow_from_their_parents() {
        // Mainnet genesis, blocks 1 and 2: (number, timestamp, difficulty).
        let headers = [
            (0, 0, 17_179_869_184),
            (1, 1_438_269_988, 17_171_480_576),
            (2, 1_438_270_017, 17_163_096_064),
            (3, 1_438_270_048, 17_154_715_646),
        ];
        let chain = ChainSpec::mainnet();
        for pair in headers.windows(2) {
            let (number, timestamp, difficulty) = pair[0];
            let got =
                expected_difficulty(&chain, &parent(number, timestamp, difficulty), pair[1].1);
            assert_eq!(got, U256::from(pair[1].2), "block {}", pair[1].0);
        }
    }

    #[test]
    fn frontier_moves_one_step_either_side_of_13_seconds() {
        let chain = network("Frontier");
        assert_eq!(child(&chain, 10, 12), U256::from(D + STEP));
        assert_eq!(child(&chain, 10, 13), U256::from(D - STEP));
        assert_eq!(child(&chain, 10, 5_000), U256::from(D - STEP));
    }

    #[test]
    fn homestead_steps_by_tens_of_seconds_down_to_99() {
        let chain = network("Homestead");
        assert_eq!(child(&chain, 10, 9), U256::from(D + STEP));
        assert_eq!(child(&chain, 10, 10), U256::from(D));
        assert_eq!(child(&chain, 10, 19), U256::from(D));
        assert_eq!(child(&chain, 10, 25), U256::from(D - STEP));
        assert_eq!(child(&chain, 10, 1_009), U256::from(D - 99 * STEP));
        assert_eq!(child(&chain, 10, 5_000), U256::from(D - 99 * STEP));
    }

    #[test]
    fn byzantium_steps_by_nine_seconds_and_counts_the_parents_ommers() {
        let chain = network("Byzantium");
        assert_eq!(child(&chain, 10, 8), U256::from(D + STEP));
        assert_eq!(child(&chain, 10, 9), U256::from(D));
        assert_eq!(child(&chain, 10, 18), U256::from(D - STEP));
        let mut uncled = parent(9, 1_000, D);
        uncled.ommers_hash = alloy_primitives::B256::repeat_byte(1);
        assert_eq!(
            expected_difficulty(&chain, &uncled, 1_009),
            U256::from(D + STEP)
        );
        assert_eq!(expected_difficulty(&chain, &uncled, 1_018), U256::from(D));
    }

    #[test]
    fn no_difficulty_falls_below_the_minimum() {
        let chain = network("Homestead");
        let low = parent(9, 1_000, MINIMUM_DIFFICULTY);
        assert_eq!(
            expected_difficulty(&chain, &low, 3_000),
            U256::from(MINIMUM_DIFFICULTY)
        );
    }

    #[test]
    fn the_bomb_starts_at_period_two_of_the_delayed_number() {
        // Each network with the first block whose bomb term is 1 (2^0), the fork's delay
        // plus 200_000, and a block time that leaves the parent's difficulty as it is (or,
        // in Frontier, lowers it one step).
        let cases = [
            ("Frontier", 200_000, 20, D - STEP),
            ("Homestead", 200_000, 10, D),
            ("Byzantium", 3_200_000, 9, D),
            ("Constantinople", 5_200_000, 9, D),
            ("Istanbul", 5_200_000, 9, D),
            ("Berlin", 9_200_000, 9, D),
            ("London", 9_900_000, 9, D),
            ("ArrowGlacier", 10_900_000, 9, D),
            ("GrayGlacier", 11_600_000, 9, D),
        ];
        for (name, first, elapsed, unchanged) in cases {
            let chain = network(name);
            assert_eq!(
                child(&chain, first - 1, elapsed),
                U256::from(unchanged),
                "{name}"
            );
            assert_eq!(
                child(&chain, first, elapsed),
                U256::from(unchanged + 1),
                "{name}"
            );
            assert_eq!(
                child(&chain, first + 100_000, elapsed),
                U256::from(unchanged + 2),
                "{name}"
            );
        }
    }

    #[test]
    fn each_glacier_delays_the_bomb_by_its_own_amount() {
        // At block 9_200_000 Istanbul's 5M delay leaves period 42 (2^40); Muir Glacier's 9M
        // leaves period 2 (2^0).
        assert_eq!(
            bomb(&network("Istanbul"), 9_200_000),
            U256::from(1u64 << 40)
        );
        assert_eq!(bomb(&network("Berlin"), 9_200_000), U256::from(1));
        let mainnet = ChainSpec::mainnet();
        assert_eq!(bomb_delay(&mainnet, 4_369_999), 0);
        assert_eq!(bomb_delay(&mainnet, 4_370_000), 3_000_000);
        assert_eq!(bomb_delay(&mainnet, 7_280_000), 5_000_000);
        assert_eq!(bomb_delay(&mainnet, 9_200_000), 9_000_000);
        assert_eq!(bomb_delay(&mainnet, 12_965_000), 9_700_000);
        assert_eq!(bomb_delay(&mainnet, 13_773_000), 10_700_000);
        assert_eq!(bomb_delay(&mainnet, 15_050_000), 11_400_000);
        assert_eq!(bomb(&mainnet, u64::MAX), U256::MAX);
    }
}
