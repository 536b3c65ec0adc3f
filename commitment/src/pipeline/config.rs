//! Which commitment paths run. Read once from the environment by binaries; libraries and tests
//! pass a [`Config`] explicitly so a process can run every combination side by side.

/// Enables the BAL-driven fold ([`crate::FoldMode::BalDriven`]) for blocks that carry a BAL.
pub const BAL_DRIVEN_COMMITMENT: &str = "BAL_DRIVEN_COMMITMENT";
/// Checks every BAL-driven root against the root folded from the executor's writes.
pub const BAL_SHADOW_COMPUTE: &str = "BAL_SHADOW_COMPUTE";

/// The calculator's switches. The default (both off) is the serial path: every block is
/// folded from its executed writes once execution ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Config {
    /// Fold a block's root from its BAL as soon as its parent is committed, while it executes.
    pub bal_driven: bool,
    /// At a BAL-driven block's result, also fold from the actual writes and require both
    /// roots to agree.
    pub shadow: bool,
}

impl Config {
    /// Every combination of the two flags, serial path first.
    pub const ALL: [Config; 4] = [
        Config::new(false, false),
        Config::new(false, true),
        Config::new(true, false),
        Config::new(true, true),
    ];

    /// Both flags, positionally: `Config::default().with_bal_driven(..).with_shadow(..)` reads
    /// better outside tables of combinations.
    pub const fn new(bal_driven: bool, shadow: bool) -> Self {
        Self { bal_driven, shadow }
    }

    /// With the BAL-driven fold on or off.
    pub const fn with_bal_driven(self, on: bool) -> Self {
        Self {
            bal_driven: on,
            ..self
        }
    }

    /// With the shadow check on or off.
    pub const fn with_shadow(self, on: bool) -> Self {
        Self { shadow: on, ..self }
    }

    /// Reads [`BAL_DRIVEN_COMMITMENT`] and [`BAL_SHADOW_COMPUTE`] (`1`, `true` or `on`, any
    /// case, switch a flag on; anything else or unset leaves it off).
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`Self::from_env`] over any source of variables.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let on = |name| {
            var(name).is_some_and(|v| {
                matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "on")
            })
        };
        Self::new(on(BAL_DRIVEN_COMMITMENT), on(BAL_SHADOW_COMPUTE))
    }
}

impl std::fmt::Display for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let flag = |on| if on { "on" } else { "off" };
        write!(
            f,
            "bal-driven {}, shadow {}",
            flag(self.bal_driven),
            flag(self.shadow)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_accept_the_documented_spellings_only() {
        for (value, on) in [
            ("1", true),
            ("true", true),
            ("ON", true),
            (" on ", true),
            ("0", false),
            ("yes", false),
            ("", false),
        ] {
            let config = Config::from_vars(|name| {
                (name == BAL_DRIVEN_COMMITMENT).then(|| value.to_string())
            });
            assert_eq!(config, Config::new(on, false), "{value:?}");
        }
        let named = Config::default().with_bal_driven(true).with_shadow(true);
        assert_eq!(named, Config::new(true, true));
        assert_eq!(named.with_bal_driven(false), Config::new(false, true));
        let both = Config::from_vars(|_| Some("true".into()));
        assert_eq!(both, Config::new(true, true));
        assert_eq!(Config::from_vars(|_| None), Config::default());
    }
}
