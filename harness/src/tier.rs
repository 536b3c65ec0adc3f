//! Where contract code ran, as the CLI and the JSON reports spell it (`interpret`, `compile`, `auto`).
//! The executor's [`Tier`] carries no serde of its own; reports name it here, in one place.

use executor::submodule::Tier;
use serde::{Deserialize, Deserializer, Serializer, de::Error};

/// The tier as `--tier` spells it.
pub fn name(tier: Tier) -> &'static str {
    match tier {
        Tier::Interpret => "interpret",
        Tier::Compile => "compile",
        Tier::Auto => "auto",
    }
}

/// For `#[serde(with = "crate::tier")]`: the tier as its [`name`].
pub fn serialize<S: Serializer>(tier: &Tier, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(name(*tier))
}

/// For `#[serde(with = "crate::tier")]`: a tier from its [`name`].
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Tier, D::Error> {
    let spelled = String::deserialize(d)?;
    [Tier::Interpret, Tier::Compile, Tier::Auto]
        .into_iter()
        .find(|&t| name(t) == spelled)
        .ok_or_else(|| D::Error::custom(format!("unknown tier `{spelled}`")))
}
