//! Key versions: each version of a key's material, with its own state.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};

/// The state of one key version.
///
/// A version that is not [`VersionState::Enabled`] refuses every use: an operation that names
/// it (or, with none named, that would use it) fails with
/// [`Error::InvalidState`] naming the version and its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum VersionState {
    /// Usable: for decrypt and verify, and for new operations when it is the primary or
    /// named.
    Enabled,
    /// Not usable until enabled again.
    Disabled,
    /// Not usable; its material is destroyed at the version's
    /// [`destroy_time`](KeyVersion::destroy_time) unless restored first (to `disabled`).
    /// Serialized `destroy_scheduled`; the older name `pending_destruction` still reads.
    #[serde(alias = "pending_destruction")]
    DestroyScheduled,
    /// Material is gone; only the record remains.
    Destroyed,
}

impl VersionState {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
            Self::DestroyScheduled => "destroy_scheduled",
            Self::Destroyed => "destroyed",
        }
    }

    /// True when the version may be used for cryptographic operations.
    pub fn is_usable(self) -> bool {
        self == Self::Enabled
    }
}

impl fmt::Display for VersionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for VersionState {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "enabled" => Ok(Self::Enabled),
            "disabled" => Ok(Self::Disabled),
            "destroy_scheduled" | "pending_destruction" => Ok(Self::DestroyScheduled),
            "destroyed" => Ok(Self::Destroyed),
            _ => Err(Error::invalid(format!(
                "unknown version state `{s}` (expected enabled, disabled, destroy_scheduled or destroyed)"
            ))),
        }
    }
}

/// What made a version that is a rotation (every version after a key's first): keygate's
/// scheduler when the key's rotation schedule came due, or a caller asking for it now
/// (`keygate keys rotate`, the REST API, AWS's RotateKeyOnDemand, ...). AWS KMS reports the
/// same two kinds as `RotationType` `AUTOMATIC` and `ON_DEMAND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RotationKind {
    /// Made by the rotation schedule.
    Automatic,
    /// Made on request.
    OnDemand,
}

impl RotationKind {
    /// The snake_case name (`automatic`, `on_demand`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Automatic => "automatic",
            Self::OnDemand => "on_demand",
        }
    }
}

impl fmt::Display for RotationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RotationKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "automatic" => Ok(Self::Automatic),
            "on_demand" => Ok(Self::OnDemand),
            _ => Err(Error::invalid(format!(
                "unknown rotation kind `{s}` (expected automatic or on_demand)"
            ))),
        }
    }
}

/// One version of a key's material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyVersion {
    /// Provider-native version id (`1`, `2`, ... for local; a UUID or number elsewhere).
    pub id: String,
    /// When the version was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// Whether the version can be used, or is disabled or on its way to destruction.
    pub state: VersionState,
    /// True for the version new operations use.
    pub primary: bool,
    /// When a destroy-scheduled version will be destroyed (or, for a destroyed version, when
    /// it was); absent otherwise.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub destroy_time: Option<OffsetDateTime>,
    /// For a version made by a rotation, what made it; absent for a key's first version and
    /// where the provider does not record it (versions made before keygate recorded it, and
    /// providers whose cloud keeps no such record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<RotationKind>,
}

impl KeyVersion {
    /// `Ok` when this version may be used, else [`Error::InvalidState`] naming the version
    /// of `key` and its state: what every operation on a version that is not enabled answers.
    ///
    /// # Errors
    /// [`Error::InvalidState`] when the version is not [`VersionState::Enabled`].
    pub fn ensure_usable(&self, key: &str) -> Result<()> {
        if self.state.is_usable() {
            Ok(())
        } else {
            Err(version_not_usable(key, &self.id, self.state))
        }
    }
}

/// The [`Error::InvalidState`] of an operation on version `version` of `key`, which is in
/// `state` (not enabled).
pub fn version_not_usable(key: &str, version: &str, state: VersionState) -> Error {
    Error::state(format!(
        "version {version} of key {key} is {state} and cannot be used"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destroy_scheduled_reads_its_old_name_and_writes_the_new_one() {
        let old: VersionState = serde_json::from_str("\"pending_destruction\"").unwrap();
        assert_eq!(old, VersionState::DestroyScheduled);
        assert_eq!(
            serde_json::to_string(&old).unwrap(),
            "\"destroy_scheduled\""
        );
        assert_eq!(
            "destroy-scheduled".parse::<VersionState>().unwrap(),
            VersionState::DestroyScheduled
        );
        assert!("gone".parse::<VersionState>().is_err());
    }

    #[test]
    fn destroy_time_is_rfc3339_and_left_out_when_absent() {
        let mut v = KeyVersion {
            id: "2".into(),
            created: time::macros::datetime!(2030-01-01 00:00 UTC),
            state: VersionState::Enabled,
            primary: false,
            destroy_time: None,
            rotation: None,
        };
        let json = serde_json::to_value(&v).unwrap();
        assert!(json.get("destroy_time").is_none());
        assert!(json.get("rotation").is_none());
        v.rotation = Some(RotationKind::OnDemand);
        assert_eq!(serde_json::to_value(&v).unwrap()["rotation"], "on_demand");
        assert_eq!(
            "automatic".parse::<RotationKind>().unwrap(),
            RotationKind::Automatic
        );
        assert!(v.ensure_usable("local://k").is_ok());
        v.state = VersionState::DestroyScheduled;
        v.destroy_time = Some(time::macros::datetime!(2030-01-31 00:00 UTC));
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["destroy_time"], "2030-01-31T00:00:00Z");
        assert_eq!(json["state"], "destroy_scheduled");
        let back: KeyVersion = serde_json::from_value(json).unwrap();
        assert_eq!(back, v);
        let err = v.ensure_usable("local://k").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidState);
        assert!(err.to_string().contains("version 2"));
        assert!(err.to_string().contains("destroy_scheduled"));
    }
}
