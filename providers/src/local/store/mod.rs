//! Persistence for the local provider: the [`LocalStore`] trait and its records.
//!
//! The trait speaks in whole, semantic operations (insert a key with its first version, change
//! a key under a lock, add a version, destroy a key) so that each backend can make them atomic
//! its own way: SQLite with `BEGIN IMMEDIATE`, PostgreSQL with `SELECT ... FOR UPDATE`. Rules
//! that must be checked inside the transaction are passed in as callbacks that run while the
//! row is locked; they are synchronous and do no I/O.

mod postgres;
mod rows;
mod sqlite;

use std::fmt;

use async_trait::async_trait;
use keygate_core::{
    KeySpec, KeyState, KeyUsage, Labels, RotationKind, RotationSchedule, VersionState,
};
use time::OffsetDateTime;

use super::error::LocalError;

pub(crate) use postgres::{PgPoolSettings, PostgresStore};
pub(crate) use sqlite::SqliteStore;

/// A key row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyRecord {
    /// Id and name.
    pub id: String,
    /// Spec.
    pub spec: KeySpec,
    /// Usage.
    pub usage: KeyUsage,
    /// Lifecycle state (with the deletion date when pending deletion).
    pub state: KeyState,
    /// The primary version number.
    pub primary_version: u32,
    /// Automatic rotation; `next_rotation` is always `Some` when stored.
    pub rotation: Option<RotationSchedule>,
    /// Description.
    pub description: String,
    /// Labels.
    pub labels: Labels,
    /// Creation time.
    pub created: OffsetDateTime,
}

/// A key version row. `material` is the wrapped (root-key encrypted) material, `None` once
/// destroyed.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct VersionRecord {
    /// Version number, from 1.
    pub version: u32,
    /// State.
    pub state: VersionState,
    /// Creation time.
    pub created: OffsetDateTime,
    /// When a version scheduled for destruction is destroyed (or, once destroyed by its
    /// schedule, was).
    pub destroy_time: Option<OffsetDateTime>,
    /// What made the version, when it is a rotation.
    pub rotation: Option<RotationKind>,
    /// Wrapped material.
    pub material: Option<Vec<u8>>,
}

impl fmt::Debug for VersionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VersionRecord")
            .field("version", &self.version)
            .field("state", &self.state)
            .field("created", &self.created)
            .field("destroy_time", &self.destroy_time)
            .field("rotation", &self.rotation)
            .field(
                "material",
                &self
                    .material
                    .as_ref()
                    .map(|m| format!("<wrapped {} bytes>", m.len())),
            )
            .finish()
    }
}

/// A change made to a key row while it is locked; an `Err` aborts the transaction and is
/// returned as is.
pub(crate) type KeyChange<'a> = dyn Fn(&mut KeyRecord) -> Result<(), LocalError> + Send + Sync + 'a;

/// Makes a new version while the key row is locked: given the key (which it may change, e.g.
/// to advance its rotation date) and the new version number, it returns the wrapped material.
/// The store sets the primary version itself.
pub(crate) type NewVersion<'a> =
    dyn Fn(&mut KeyRecord, u32) -> Result<Vec<u8>, LocalError> + Send + Sync + 'a;

/// A change made to one version (and its key, e.g. its primary version) while the key row is
/// locked; an `Err` aborts the transaction and is returned as is.
pub(crate) type VersionChange<'a> =
    dyn Fn(&mut KeyRecord, &mut VersionRecord) -> Result<(), LocalError> + Send + Sync + 'a;

/// A key's stored expiry policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExpiryRecord {
    /// The key.
    pub key_id: String,
    /// The [`keygate_core::ExpiryPolicy`], as JSON.
    pub policy_json: String,
    /// The primary version whose notification was last recorded.
    pub notified_version: Option<u32>,
}

/// Where the local provider keeps expiry policies.
#[async_trait]
pub(crate) trait ExpiryStore: Send + Sync {
    /// The key's expiry policy, if it has one.
    async fn expiry(&self, id: &str) -> Result<Option<ExpiryRecord>, LocalError>;

    /// Stores (`Some`, forgetting past notifications) or removes the key's policy; `false`
    /// when the key does not exist.
    async fn set_expiry(&self, id: &str, policy_json: Option<&str>) -> Result<bool, LocalError>;

    /// Every stored policy, by key id.
    async fn expiries(&self) -> Result<Vec<ExpiryRecord>, LocalError>;

    /// Records that `version`'s notification was made; `false` when it already was (so
    /// two maintenance passes notify once).
    async fn mark_notified(&self, id: &str, version: u32) -> Result<bool, LocalError>;
}

/// What the local provider keeps of a key of imported material (a row exists exactly for
/// the keys of origin `external`).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ImportRecord {
    /// The key.
    pub key_id: String,
    /// When the current material expires; `None` when it does not or there is none.
    pub valid_to: Option<OffsetDateTime>,
    /// Whether the current material expires; `None` while there is none.
    pub expires: Option<bool>,
    /// SHA-256 of the first material imported, sealed under the root key: later imports
    /// must bring the same material. `None` before the first import.
    pub material_check: Option<Vec<u8>>,
}

impl fmt::Debug for ImportRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportRecord")
            .field("key_id", &self.key_id)
            .field("valid_to", &self.valid_to)
            .field("expires", &self.expires)
            .field(
                "material_check",
                &self.material_check.as_ref().map(|_| "<sealed>"),
            )
            .finish()
    }
}

/// A change to a key of imported material, its version 1 (which holds the material) and its
/// import row, made while the key row is locked; an `Err` aborts the transaction.
pub(crate) type ImportChange<'a> = dyn Fn(&mut KeyRecord, &mut VersionRecord, &mut ImportRecord) -> Result<(), LocalError>
    + Send
    + Sync
    + 'a;

/// Where the local provider keeps what it knows of imported material.
#[async_trait]
pub(crate) trait ImportStore: Send + Sync {
    /// Inserts a key of origin `external` with its (empty) first version and its import row,
    /// atomically.
    ///
    /// # Errors
    /// A unique violation when the id exists.
    async fn insert_external_key(
        &self,
        key: &KeyRecord,
        first: &VersionRecord,
    ) -> Result<(), LocalError>;

    /// The key's import row; `None` for a key whose material the provider made.
    async fn import_record(&self, id: &str) -> Result<Option<ImportRecord>, LocalError>;

    /// Every import row, by key id.
    async fn import_records(&self) -> Result<Vec<ImportRecord>, LocalError>;

    /// Locks the key, applies `change` to it, its version 1 and its import row, and writes
    /// all three back (the version's state and material). `None` when the key, or its
    /// import row, does not exist.
    async fn update_import(
        &self,
        id: &str,
        change: &ImportChange<'_>,
    ) -> Result<Option<(KeyRecord, ImportRecord)>, LocalError>;
}

/// How many rows a key store holds, per table: `keygate store migrate` compares a copy's
/// source and target with them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyStoreCounts {
    /// Keys (`local_keys`).
    pub keys: u64,
    /// Key versions (`local_key_versions`).
    pub versions: u64,
    /// Keys with policy bindings (`local_policies`).
    pub policies: u64,
    /// Keys with an expiry policy (`local_expiry`).
    pub expiries: u64,
}

/// One key with everything a store keeps about it, copied from one store to another as is
/// (the material stays wrapped under the same root key).
#[derive(Debug, Clone)]
pub(crate) struct KeyCopy {
    /// The key.
    pub key: KeyRecord,
    /// Its versions, oldest first.
    pub versions: Vec<VersionRecord>,
    /// Its policy bindings (JSON), when ever set.
    pub policy: Option<String>,
    /// Its expiry policy and notification mark.
    pub expiry: Option<ExpiryRecord>,
}

/// Where the local provider keeps keys, versions, policies and the root-key check value.
#[async_trait]
pub(crate) trait LocalStore: ExpiryStore + Send + Sync + fmt::Debug {
    /// Where this store keeps imported material's records; `None` (the default) for a
    /// store that keeps none, whose provider then declares no import capability.
    fn imports(&self) -> Option<&dyn ImportStore> {
        None
    }

    /// The stored root-key check value, if the store has one.
    async fn root_check(&self) -> Result<Option<Vec<u8>>, LocalError>;

    /// Stores `value` as the check value unless one exists; returns the value stored now
    /// (the existing one when another process got there first).
    async fn init_root_check(&self, value: &[u8]) -> Result<Vec<u8>, LocalError>;

    /// Inserts a key and its first version atomically.
    ///
    /// # Errors
    /// A unique violation ([`LocalError::is_unique_violation`]) when the id exists.
    async fn insert_key(&self, key: &KeyRecord, first: &VersionRecord) -> Result<(), LocalError>;

    /// One key.
    async fn key(&self, id: &str) -> Result<Option<KeyRecord>, LocalError>;

    /// Up to `limit` keys with ids greater than `after`, ordered by id.
    async fn list_keys(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<KeyRecord>, LocalError>;

    /// Locks the key, applies `change` and writes back its state, deletion date, rotation,
    /// description and labels. `None` when the key does not exist.
    async fn update_key(
        &self,
        id: &str,
        change: &KeyChange<'_>,
    ) -> Result<Option<KeyRecord>, LocalError>;

    /// The key's versions, oldest first.
    async fn versions(&self, id: &str) -> Result<Vec<VersionRecord>, LocalError>;

    /// One version.
    async fn version(&self, id: &str, version: u32) -> Result<Option<VersionRecord>, LocalError>;

    /// Locks the key, numbers a new version one past the highest, lets `make` wrap its
    /// material (and adjust the key), inserts it as the primary version and writes the key
    /// back. `None` when the key does not exist.
    async fn add_version(
        &self,
        id: &str,
        created: OffsetDateTime,
        rotation: RotationKind,
        make: &NewVersion<'_>,
    ) -> Result<Option<(KeyRecord, VersionRecord)>, LocalError>;

    /// Locks the key, applies `change` to it and to its version `version`, and writes both
    /// back (the version's state and destroy time; the key's primary version, state and
    /// settings). `None` when the key does not exist; [`LocalError::Core`] `NotFound` when
    /// the version does not.
    async fn update_version(
        &self,
        id: &str,
        version: u32,
        change: &VersionChange<'_>,
    ) -> Result<Option<(KeyRecord, VersionRecord)>, LocalError>;

    /// (key id, version) of the versions scheduled for destruction at or before `now`.
    async fn due_version_destructions(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<(String, u32)>, LocalError>;

    /// Atomically destroys one version scheduled for destruction at or before `now`: its
    /// material is erased and its state becomes destroyed (its destroy time stays). `false`
    /// when it is not (or no longer) due.
    async fn destroy_version(
        &self,
        id: &str,
        version: u32,
        now: OffsetDateTime,
    ) -> Result<bool, LocalError>;

    /// The key's policy bindings (JSON) when ever set.
    async fn policy(&self, id: &str) -> Result<Option<String>, LocalError>;

    /// Stores the key's policy bindings (JSON); `false` when the key does not exist.
    async fn set_policy(&self, id: &str, bindings_json: &str) -> Result<bool, LocalError>;

    /// Ids of enabled keys whose rotation is due at `now`.
    async fn due_rotations(&self, now: OffsetDateTime) -> Result<Vec<String>, LocalError>;

    /// Ids of keys pending deletion whose deletion date is at or before `now`.
    async fn due_deletions(&self, now: OffsetDateTime) -> Result<Vec<String>, LocalError>;

    /// Atomically destroys a key that is pending deletion with a date at or before `now`:
    /// the key becomes destroyed, every version destroyed and its material erased. `false`
    /// when the key is not (or no longer) due.
    async fn destroy_key(&self, id: &str, now: OffsetDateTime) -> Result<bool, LocalError>;

    /// How many rows each table holds.
    async fn counts(&self) -> Result<KeyStoreCounts, LocalError>;

    /// Inserts `keys` exactly as given (states, version numbers and wrapped material
    /// unchanged) in one transaction: all of them or none.
    ///
    /// # Errors
    /// A unique violation when a key exists.
    async fn copy_in(&self, keys: &[KeyCopy]) -> Result<(), LocalError>;
}

/// Unix nanoseconds for a BIGINT column.
pub(crate) fn to_nanos(t: OffsetDateTime) -> Result<i64, LocalError> {
    i64::try_from(t.unix_timestamp_nanos()).map_err(|_| {
        LocalError::Core(keygate_core::Error::invalid(format!(
            "time {t} is out of the supported range"
        )))
    })
}

/// The time in a BIGINT column of Unix nanoseconds.
pub(crate) fn from_nanos(n: i64) -> Result<OffsetDateTime, LocalError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(n))
        .map_err(|_| LocalError::Corrupt(format!("timestamp {n} is out of range")))
}

/// The stored name of a version state.
pub(crate) fn version_state_from_str(s: &str) -> Result<VersionState, LocalError> {
    Ok(match s {
        "enabled" => VersionState::Enabled,
        "disabled" => VersionState::Disabled,
        "destroy_scheduled" => VersionState::DestroyScheduled,
        "destroyed" => VersionState::Destroyed,
        other => {
            return Err(LocalError::Corrupt(format!(
                "unknown version state `{other}`"
            )));
        }
    })
}
