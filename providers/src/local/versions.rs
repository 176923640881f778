//! One version at a time: enable, disable, schedule destruction, restore, make primary, and
//! the maintenance step that destroys versions whose destroy time passed.
//!
//! The key's own state wins: a key pending deletion or destroyed refuses every version
//! change. A version scheduled for destruction refuses every use at once and comes back
//! `disabled` when restored (Cloud KMS's rule); the primary version cannot be scheduled for
//! destruction (make another version primary first), so a key always keeps material for new
//! operations.

use keygate_core::{Error, KeyMetadata, KeyState, KeyVersion, Result, VersionState};
use time::OffsetDateTime;

use super::error::LocalError;
use super::store::{KeyRecord, VersionRecord};
use super::{LocalProvider, not_found, validate, version_info};

/// Which change to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    Enable,
    Disable,
    Destroy,
    Restore,
    Primary,
}

impl LocalProvider {
    /// Applies `change` to `version` of `key_id`; answers the key and the version after it.
    pub(super) async fn change_version(
        &self,
        key_id: &str,
        version: &str,
        change: Change,
    ) -> Result<(KeyRecord, VersionRecord)> {
        let missing = || Error::not_found(format!("version `{version}` of key `{key_id}`"));
        if keygate_core::validate_name("key", key_id).is_err() {
            return Err(not_found(key_id));
        }
        let number = validate::version_number(version).ok_or_else(missing)?;
        let destroy_time = match change {
            Change::Destroy => Some(validate::add_days(
                self.clock.now(),
                self.caps.deletion_window.max,
            )?),
            _ => None,
        };
        let apply = move |k: &mut KeyRecord,
                          v: &mut VersionRecord|
              -> std::result::Result<(), LocalError> {
            apply(change, destroy_time, k, v).map_err(LocalError::from)
        };
        let (key, v) = self
            .store
            .update_version(key_id, number, &apply)
            .await
            .map_err(|e| self.err(e))?
            .ok_or_else(|| not_found(key_id))?;
        // The material cache keeps nothing a changed version could still be used through.
        self.forget(key_id);
        tracing::debug!(provider = %self.info.name, key = %key_id, version = number,
            change = ?change, state = %v.state, "changed key version");
        Ok((key, v))
    }

    /// [`LocalProvider::change_version`], answering the version.
    pub(super) async fn version_op(
        &self,
        key_id: &str,
        version: &str,
        change: Change,
    ) -> Result<KeyVersion> {
        let (key, v) = self.change_version(key_id, version, change).await?;
        Ok(version_info(&v, key.primary_version))
    }

    /// [`Change::Primary`], answering the key.
    pub(super) async fn set_primary_impl(
        &self,
        key_id: &str,
        version: &str,
    ) -> Result<KeyMetadata> {
        let (key, _) = self
            .change_version(key_id, version, Change::Primary)
            .await?;
        Ok(self.metadata(&key))
    }

    /// Destroys the material of `version` of `key_id` when its destroy time is at or before
    /// `now` (checked in the store statement that destroys it); `false` when it is not (or
    /// no longer) due.
    pub(super) async fn destroy_due_version_impl(
        &self,
        key_id: &str,
        version: &str,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let Some(number) = validate::version_number(version) else {
            return Ok(false);
        };
        let destroyed = self
            .store
            .destroy_version(key_id, number, now)
            .await
            .map_err(|e| self.err(e))?;
        if destroyed {
            self.forget(key_id);
            tracing::info!(provider = %self.info.name, key = %key_id, version = number,
                "destroyed key version material");
        }
        Ok(destroyed)
    }
}

/// The rule of each change, checked while the key row is locked.
fn apply(
    change: Change,
    destroy_time: Option<OffsetDateTime>,
    key: &mut KeyRecord,
    v: &mut VersionRecord,
) -> Result<()> {
    if let state @ (KeyState::PendingDeletion { .. } | KeyState::Destroyed) = key.state {
        return Err(Error::state(format!(
            "key `{}` is {state}; its versions cannot change",
            key.id
        )));
    }
    let refuse = |what: &str| {
        Err(Error::state(format!(
            "version {} of key `{}` is {}; {what}",
            v.version, key.id, v.state
        )))
    };
    match (change, v.state) {
        (Change::Enable, VersionState::Enabled | VersionState::Disabled) => {
            v.state = VersionState::Enabled;
        }
        (Change::Disable, VersionState::Enabled | VersionState::Disabled) => {
            v.state = VersionState::Disabled;
        }
        (Change::Enable | Change::Disable, VersionState::DestroyScheduled) => {
            return refuse("restore it first");
        }
        (Change::Destroy, VersionState::Enabled | VersionState::Disabled) => {
            if v.version == key.primary_version {
                return Err(Error::state(format!(
                    "version {} is the primary version of key `{}`; make another version primary before destroying it",
                    v.version, key.id
                )));
            }
            v.state = VersionState::DestroyScheduled;
            v.destroy_time = destroy_time;
        }
        // Scheduling again keeps the first date.
        (Change::Destroy, VersionState::DestroyScheduled) => {}
        (Change::Restore, VersionState::DestroyScheduled) => {
            v.state = VersionState::Disabled;
            v.destroy_time = None;
        }
        (Change::Restore, _) => {
            return refuse("only a version scheduled for destruction can be restored");
        }
        (Change::Primary, VersionState::Enabled) => key.primary_version = v.version,
        (Change::Primary, _) => return refuse("only an enabled version can be primary"),
        (_, VersionState::Destroyed) => return refuse("its material is gone"),
        (_, _) => return refuse("this change does not apply to it"),
    }
    Ok(())
}
