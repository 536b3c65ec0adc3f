//! Every test case the harness skips on purpose, with the reason: the one place such lists live.
//!
//! The rule: a case may be skipped only if revm's own runner (`revme statetest`) skips it too.
//! Entries are file stems (or test names); a skipped case is counted and reported as skipped,
//! never as passed.

/// Why the EIP-7610 collision files are skipped.
const STORAGE_COLLISION: &str = "pre-state holds storage on an account without code or nonce \
(create collision with storage); revm assumes such a state cannot exist, and revme skips these files too";

/// GeneralStateTests files skipped by stem.
pub const STATE_TESTS: &[(&str, &str)] = &[
    ("RevertInCreateInInit_Paris", STORAGE_COLLISION),
    ("RevertInCreateInInit", STORAGE_COLLISION),
    ("dynamicAccountOverwriteEmpty", STORAGE_COLLISION),
    ("dynamicAccountOverwriteEmpty_Paris", STORAGE_COLLISION),
    ("RevertInCreateInInitCreate2Paris", STORAGE_COLLISION),
    ("RevertInCreateInInitCreate2", STORAGE_COLLISION),
    ("create2collisionStorage", STORAGE_COLLISION),
    ("create2collisionStorageParis", STORAGE_COLLISION),
    ("InitCollision", STORAGE_COLLISION),
    ("InitCollisionParis", STORAGE_COLLISION),
];

/// BlockchainTests skipped by file stem or test name: none, every case runs.
pub const BLOCKCHAIN_TESTS: &[(&str, &str)] = &[];

/// EIP-7928 fixture tests skipped by `harness bal`: none, every case runs.
pub const BAL_FIXTURES: &[(&str, &str)] = &[];
