//! Criterion benchmarks across the workspace (`cargo bench -p benches`). Each bench target
//! measures one stage of the data flow side by side with its reference implementation, so
//! ratios come from one run on one machine.
