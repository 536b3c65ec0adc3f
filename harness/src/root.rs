//! `harness root FILE`: the state root of a genesis.json or of a bare alloc / `pre` object.

use std::{collections::BTreeMap, path::Path};

use alloy_genesis::{Genesis, GenesisAccount};
use alloy_primitives::{Address, B256};
use executor::WorldState;

use crate::fixtures::{FixtureError, read_json};

/// Reads `path` as a genesis (object with `alloc`) or as a bare alloc and returns its root.
pub fn state_root(path: &Path) -> Result<B256, FixtureError> {
    let value: serde_json::Value = read_json(path)?;
    let shape = |e: serde_json::Error| FixtureError::Shape {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let alloc: BTreeMap<Address, GenesisAccount> = if value.get("alloc").is_some() {
        serde_json::from_value::<Genesis>(value)
            .map_err(shape)?
            .alloc
    } else {
        serde_json::from_value(value).map_err(shape)?
    };
    Ok(WorldState::from_alloc(&alloc).state_root())
}
