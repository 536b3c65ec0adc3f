//! State-root cost: our trie against alloy-trie's `HashBuilder` on identical input, and an
//! incremental 1% update against a full rebuild.

use std::hint::black_box;

use alloy_primitives::{B256, keccak256};
use alloy_trie::{HashBuilder, Nibbles};
use commitment::Trie;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// Random-looking 32-byte keys with account-sized (~70-byte) values, sorted for HashBuilder.
fn leaves(n: usize) -> Vec<(B256, Vec<u8>)> {
    let mut out: Vec<_> = (0..n as u64)
        .map(|i| {
            (
                keccak256(i.to_be_bytes()),
                keccak256(i.to_le_bytes()).repeat(3)[..70].to_vec(),
            )
        })
        .collect();
    out.sort_by_key(|(k, _)| *k);
    out
}

fn state_root_full(c: &mut Criterion) {
    let mut group = c.benchmark_group("state_root_full");
    group.sample_size(10);
    for n in [10_000usize, 100_000, 1_000_000] {
        let input = leaves(n);
        group.bench_with_input(BenchmarkId::new("ours", n), &input, |b, input| {
            b.iter(|| black_box(Trie::from_leaves(input).root()))
        });
        group.bench_with_input(BenchmarkId::new("alloy_trie", n), &input, |b, input| {
            b.iter(|| {
                let mut hb = HashBuilder::default();
                for (k, v) in input {
                    hb.add_leaf(Nibbles::unpack(k), v);
                }
                black_box(hb.root())
            })
        });
    }
    group.finish();
}

fn state_root_incremental(c: &mut Criterion) {
    let mut group = c.benchmark_group("state_root_incremental");
    group.sample_size(10);
    let n = 1_000_000;
    let input = leaves(n);
    let mut trie = Trie::from_leaves(&input);
    trie.root();
    // A block's worth of writes to 1% of the keys, applied as one batch the way the
    // calculator applies a block; each round changes every value, so every path is dirty.
    let mut batch: Vec<(B256, Vec<u8>)> = input.iter().step_by(100).cloned().collect();
    let mut round = 0u8;
    group.bench_function(BenchmarkId::new("update_1pct", n), |b| {
        b.iter(|| {
            round = round.wrapping_add(1);
            for (_, v) in &mut batch {
                v[0] = round;
            }
            trie.apply(&batch);
            black_box(trie.root())
        })
    });
    group.bench_function(BenchmarkId::new("rebuild", n), |b| {
        b.iter(|| black_box(Trie::from_leaves(&input).root()))
    });
    group.finish();
}

criterion_group!(benches, state_root_full, state_root_incremental);
criterion_main!(benches);
