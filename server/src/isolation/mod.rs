//! Provider isolation: one slow or unreachable provider must not slow the keys that live in
//! the others.
//!
//! - Every call on a provider is bounded by its call timeout and passes its circuit breaker
//!   ([`Guarded`]); a provider that failed [`Isolation::breaker_failures`] times in a row is
//!   skipped (its calls fail fast with `Unavailable`) for [`Isolation::breaker_open_secs`].
//! - Plain key names resolve through a [`NameIndex`] of which provider holds which name, so
//!   a call on a local key never waits for a cloud.
//!
//! Each `[providers.<name>]` section may set the bounds (see [`Isolation`]).

mod breaker;
mod guard;
mod index;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use breaker::{Breaker, BreakerPolicy, Refusal};
pub use guard::Guarded;
pub use index::NameIndex;

/// The isolation settings of one provider section: the keys `call_timeout_secs`,
/// `breaker_failures` and `breaker_open_secs` of `[providers.<name>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Isolation {
    /// Longest one call on the provider may take (retries included) before it fails with
    /// `Unavailable`; default 10 s.
    pub call_timeout_secs: u64,
    /// Failures in a row (unreachable or timed out, not "not found" or "denied") that open
    /// the provider's circuit breaker; default 3.
    pub breaker_failures: u32,
    /// How long an open breaker skips the provider before one trial call; default 30 s.
    pub breaker_open_secs: u64,
}

impl Default for Isolation {
    fn default() -> Self {
        Self {
            call_timeout_secs: 10,
            breaker_failures: 3,
            breaker_open_secs: 30,
        }
    }
}

/// The setting names [`Isolation`] takes out of a provider section.
pub const SETTINGS: [&str; 3] = ["call_timeout_secs", "breaker_failures", "breaker_open_secs"];

impl Isolation {
    /// The call timeout.
    pub fn call_timeout(&self) -> Duration {
        Duration::from_secs(self.call_timeout_secs)
    }

    /// The breaker's policy.
    pub fn breaker_policy(&self) -> BreakerPolicy {
        BreakerPolicy {
            failures: self.breaker_failures,
            open_for: Duration::from_secs(self.breaker_open_secs),
        }
    }

    /// What is out of bounds, as messages naming the setting under `section`
    /// (`providers.aws`).
    pub fn problems(&self, section: &str) -> Vec<String> {
        let mut problems = Vec::new();
        if !(1..=600).contains(&self.call_timeout_secs) {
            problems.push(format!(
                "{section}.call_timeout_secs must be between 1 and 600, not {}",
                self.call_timeout_secs
            ));
        }
        if !(1..=1000).contains(&self.breaker_failures) {
            problems.push(format!(
                "{section}.breaker_failures must be between 1 and 1000, not {}",
                self.breaker_failures
            ));
        }
        if !(1..=86_400).contains(&self.breaker_open_secs) {
            problems.push(format!(
                "{section}.breaker_open_secs must be between 1 and 86400, not {}",
                self.breaker_open_secs
            ));
        }
        problems
    }

    /// Takes the isolation settings out of a provider section's `settings` (the provider
    /// itself never sees them).
    ///
    /// # Errors
    /// A message naming the setting for a value of the wrong type or out of bounds.
    pub fn take_from(section: &str, settings: &mut toml::Table) -> Result<Self, String> {
        let mut own = toml::Table::new();
        for key in SETTINGS {
            if let Some(value) = settings.remove(key) {
                own.insert(key.to_owned(), value);
            }
        }
        // One setting at a time first, so a wrong type is reported with its setting's name.
        for (key, value) in &own {
            let mut one = toml::Table::new();
            one.insert(key.clone(), value.clone());
            toml::Value::Table(one)
                .try_into::<Self>()
                .map_err(|e| format!("{section}.{key}: {}", e.message()))?;
        }
        let isolation: Self = toml::Value::Table(own)
            .try_into()
            .map_err(|e: toml::de::Error| format!("[{section}]: {}", e.message()))?;
        match isolation.problems(section).into_iter().next() {
            Some(problem) => Err(problem),
            None => Ok(isolation),
        }
    }

    /// The settings as a table (only those that differ from the defaults), to write a
    /// section back.
    pub fn to_settings(&self) -> toml::Table {
        let mut table = toml::Table::new();
        let default = Self::default();
        let int = |n: u64| toml::Value::Integer(i64::try_from(n).unwrap_or(i64::MAX));
        if self.call_timeout_secs != default.call_timeout_secs {
            table.insert("call_timeout_secs".into(), int(self.call_timeout_secs));
        }
        if self.breaker_failures != default.breaker_failures {
            table.insert("breaker_failures".into(), int(self.breaker_failures.into()));
        }
        if self.breaker_open_secs != default.breaker_open_secs {
            table.insert("breaker_open_secs".into(), int(self.breaker_open_secs));
        }
        table
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn settings_leave_the_section_and_keep_their_defaults() {
        let mut settings: toml::Table = "region = \"x\"\ncall_timeout_secs = 4".parse().unwrap();
        let iso = Isolation::take_from("providers.aws", &mut settings).unwrap();
        assert_eq!(iso.call_timeout_secs, 4);
        assert_eq!(iso.breaker_failures, 3);
        assert_eq!(iso.breaker_open_secs, 30);
        assert!(!settings.contains_key("call_timeout_secs"));
        assert!(settings.contains_key("region"));
        assert_eq!(iso.to_settings()["call_timeout_secs"].as_integer(), Some(4));
        assert_eq!(iso.to_settings().len(), 1);
    }

    #[test]
    fn bad_values_name_the_setting() {
        for text in [
            "call_timeout_secs = 0",
            "breaker_failures = 0",
            "breaker_open_secs = \"soon\"",
        ] {
            let mut settings: toml::Table = text.parse().unwrap();
            let e = Isolation::take_from("providers.aws", &mut settings).unwrap_err();
            let key = text.split(' ').next().unwrap();
            assert!(e.contains(key), "{e}");
        }
    }
}
