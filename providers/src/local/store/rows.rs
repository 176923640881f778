//! Records to and from table rows, shared by both backends: the columns are the same in
//! SQLite and PostgreSQL, and so is their meaning.

use std::str::FromStr;

use keygate_core::{KeySpec, KeyState, KeyUsage, Labels, RotationKind, RotationSchedule};
use sqlx::{ColumnIndex, Decode, Row, Type};

use super::{KeyRecord, VersionRecord, from_nanos, to_nanos, version_state_from_str};
use crate::local::error::LocalError;

/// The columns of `local_keys`, in the order [`KeyValues`] binds them.
pub(super) const KEY_COLUMNS: &str = "id, spec, usage, state, deletion_date, primary_version, \
                                      rotation_days, next_rotation, description, labels, created";

/// The columns of `local_key_versions` a [`VersionRecord`] is read from.
pub(super) const VERSION_COLUMNS: &str =
    "version, state, created, destroy_time, rotation, material";

/// A key's column values, ready to bind.
pub(super) struct KeyValues {
    pub state: &'static str,
    pub deletion_date: Option<i64>,
    pub primary_version: i64,
    pub rotation_days: Option<i64>,
    pub next_rotation: Option<i64>,
    pub labels: String,
    pub created: i64,
}

impl KeyValues {
    /// The values of `key`. A stored schedule needs its next rotation when `strict` (every
    /// write but the first insert, which may leave it to the provider).
    pub(super) fn of(key: &KeyRecord, strict: bool) -> Result<Self, LocalError> {
        let (state, deletion_date) = match &key.state {
            KeyState::PendingDeletion { deletion_date } => {
                ("pending_deletion", Some(to_nanos(*deletion_date)?))
            }
            other => (other.as_str(), None),
        };
        let (rotation_days, next_rotation) = match &key.rotation {
            Some(r) => {
                let next = match r.next_rotation {
                    Some(t) => Some(to_nanos(t)?),
                    None if strict => {
                        return Err(LocalError::Corrupt(
                            "a stored schedule needs its next rotation".into(),
                        ));
                    }
                    None => None,
                };
                (Some(i64::from(r.period_days)), next)
            }
            None => (None, None),
        };
        Ok(Self {
            state,
            deletion_date,
            primary_version: i64::from(key.primary_version),
            rotation_days,
            next_rotation,
            labels: serde_json::to_string(&key.labels)
                .map_err(|e| LocalError::Corrupt(format!("labels: {e}")))?,
            created: to_nanos(key.created)?,
        })
    }
}

/// A version's column values, ready to bind.
pub(super) struct VersionValues<'a> {
    pub version: i64,
    pub state: &'static str,
    pub created: i64,
    pub destroy_time: Option<i64>,
    pub rotation: Option<&'static str>,
    pub material: Option<&'a [u8]>,
}

impl<'a> VersionValues<'a> {
    /// The values of `v`.
    pub(super) fn of(v: &'a VersionRecord) -> Result<Self, LocalError> {
        Ok(Self {
            version: i64::from(v.version),
            state: v.state.as_str(),
            created: to_nanos(v.created)?,
            destroy_time: v.destroy_time.map(to_nanos).transpose()?,
            rotation: v.rotation.map(RotationKind::as_str),
            material: v.material.as_deref(),
        })
    }
}

/// A key read from a row of [`KEY_COLUMNS`].
pub(super) fn key_from_row<'r, R>(row: &'r R) -> Result<KeyRecord, LocalError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let corrupt = |what: &str| LocalError::Corrupt(format!("key row has an invalid {what}"));
    let spec: String = row.try_get("spec")?;
    let usage: String = row.try_get("usage")?;
    let state: String = row.try_get("state")?;
    let deletion_date: Option<i64> = row.try_get("deletion_date")?;
    let primary: i64 = row.try_get("primary_version")?;
    let rotation_days: Option<i64> = row.try_get("rotation_days")?;
    let next_rotation: Option<i64> = row.try_get("next_rotation")?;
    let labels: String = row.try_get("labels")?;
    let created: i64 = row.try_get("created")?;
    let state = match (state.as_str(), deletion_date) {
        ("enabled", _) => KeyState::Enabled,
        ("disabled", _) => KeyState::Disabled,
        ("destroyed", _) => KeyState::Destroyed,
        ("pending_import", _) => KeyState::PendingImport,
        ("pending_deletion", Some(d)) => KeyState::PendingDeletion {
            deletion_date: from_nanos(d)?,
        },
        _ => return Err(corrupt("state")),
    };
    let rotation = match (rotation_days, next_rotation) {
        (Some(days), Some(next)) => Some(RotationSchedule {
            period_days: u32::try_from(days).map_err(|_| corrupt("rotation period"))?,
            next_rotation: Some(from_nanos(next)?),
        }),
        (None, None) => None,
        _ => return Err(corrupt("rotation schedule")),
    };
    Ok(KeyRecord {
        id: row.try_get("id")?,
        spec: KeySpec::from_str(&spec).map_err(|_| corrupt("spec"))?,
        usage: KeyUsage::from_str(&usage).map_err(|_| corrupt("usage"))?,
        state,
        primary_version: u32::try_from(primary).map_err(|_| corrupt("primary version"))?,
        rotation,
        description: row.try_get("description")?,
        labels: serde_json::from_str::<Labels>(&labels).map_err(|_| corrupt("labels"))?,
        created: from_nanos(created)?,
    })
}

/// A version read from a row of [`VERSION_COLUMNS`].
pub(super) fn version_from_row<'r, R>(row: &'r R) -> Result<VersionRecord, LocalError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    let version: i64 = row.try_get("version")?;
    let state: String = row.try_get("state")?;
    let created: i64 = row.try_get("created")?;
    Ok(VersionRecord {
        version: version_number(version)?,
        state: version_state_from_str(&state)?,
        created: from_nanos(created)?,
        destroy_time: row
            .try_get::<Option<i64>, _>("destroy_time")?
            .map(from_nanos)
            .transpose()?,
        rotation: row
            .try_get::<Option<String>, _>("rotation")?
            .map(|r| {
                r.parse::<RotationKind>()
                    .map_err(|_| LocalError::Corrupt(format!("rotation kind `{r}`")))
            })
            .transpose()?,
        material: row.try_get("material")?,
    })
}

/// A stored version number.
pub(super) fn version_number(n: i64) -> Result<u32, LocalError> {
    u32::try_from(n).map_err(|_| LocalError::Corrupt(format!("version number {n}")))
}

/// The number after the highest stored version.
pub(super) fn next_version(id: &str, highest: i64) -> Result<u32, LocalError> {
    u32::try_from(highest)
        .ok()
        .and_then(|h| h.checked_add(1))
        .ok_or_else(|| LocalError::Corrupt(format!("key `{id}` has too many versions")))
}
