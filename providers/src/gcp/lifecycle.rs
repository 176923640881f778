//! Listing, creation, metadata updates, version states, deletion and rotation.

use futures::StreamExt as _;
use google_cloud_kms_v1::model::crypto_key_version::CryptoKeyVersionState as VState;
use google_cloud_kms_v1::model::{CryptoKey, CryptoKeyVersion, CryptoKeyVersionTemplate};
use google_cloud_wkt as wkt;
use keygate_core::{
    CreateKeyRequest, Error, KeyMetadata, KeyState, KeyUpdate, KeyVersion, ListKeysRequest, Page,
    Result, RotationSchedule, VersionState,
};
use time::OffsetDateTime;

use super::GcpKmsProvider;
use super::client::{
    DAY, Key, algorithm_for, check_id, last_segment, to_time, to_timestamp, version_state,
};
use super::labels;

/// Page size when the caller names none.
const DEFAULT_PAGE_SIZE: u32 = 100;
/// Keys whose versions are read at once while listing.
const LIST_CONCURRENCY: usize = 8;

impl GcpKmsProvider {
    /// keygate's metadata of a key.
    pub(super) fn metadata(&self, key: &Key) -> KeyMetadata {
        let (labels, description) = labels::from_gcp(&key.raw.labels);
        KeyMetadata {
            import: None,
            uri: self.info.key_uri(&key.id),
            provider: self.info.name.clone(),
            id: key.id.clone(),
            name: key.id.clone(),
            spec: key.alg.spec,
            usage: key.alg.usage,
            state: key.state(),
            primary_version: key.primary_id(),
            rotation: key.rotation(),
            labels,
            description,
            created: key
                .raw
                .create_time
                .as_ref()
                .map_or(OffsetDateTime::UNIX_EPOCH, to_time),
        }
    }

    /// `listCryptoKeys` of the ring, one page; keys of algorithms keygate does not model are
    /// left out. Each key's versions are read, a few at a time, so its state is its
    /// primary's own (and, without a primary, its versions').
    pub(super) async fn list(&self, req: ListKeysRequest) -> Result<Page<KeyMetadata>> {
        let size = req
            .page_size
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .clamp(1, self.caps.max_page_size.max(1));
        let what = "list_crypto_keys";
        let page = self
            .kms
            .client
            .list_crypto_keys()
            .set_parent(&self.kms.ring)
            .set_page_size(i32::try_from(size).unwrap_or(i32::MAX))
            .set_page_token(req.cursor.unwrap_or_default())
            .send()
            .await
            .map_err(self.kms.err(what))?;
        let items: Vec<Option<KeyMetadata>> = futures::stream::iter(page.crypto_keys)
            .map(|raw| async move {
                let key = match self.kms.wrap(raw.clone(), None) {
                    Ok(k) => k,
                    Err(e) => {
                        tracing::debug!(provider = %self.info.name, key = %raw.name, error = %e, "not listed");
                        return Ok(None);
                    }
                };
                // Every key's versions are read: asymmetric and MAC keys have no primary,
                // and a symmetric key's listed state is its primary version's own.
                let versions = self.kms.versions(&key.id).await?;
                let key = Key {
                    versions: Some(versions),
                    ..key
                };
                Ok::<_, Error>(Some(self.metadata(&key)))
            })
            .buffered(LIST_CONCURRENCY)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_>>()?;
        Ok(Page {
            items: items.into_iter().flatten().collect(),
            next_cursor: Some(page.next_page_token).filter(|t| !t.is_empty()),
        })
    }

    /// `createCryptoKey` in the ring, with the configured protection level and
    /// destroy-scheduled duration; a symmetric key's rotation schedule is set in the same call.
    pub(super) async fn create(&self, req: CreateKeyRequest) -> Result<KeyMetadata> {
        check_id("crypto key", &req.name)?;
        if !self.caps.key_specs.contains(&req.spec) {
            return Err(Error::unsupported(format!(
                "provider `{}` does not create {} keys",
                self.info.name, req.spec
            )));
        }
        let usage = req.effective_usage()?;
        let (purpose, algorithm) = algorithm_for(req.spec, usage).ok_or_else(|| {
            Error::unsupported(format!("Cloud KMS has no {} {usage} keys", req.spec))
        })?;
        let gcp_labels = labels::to_gcp(&req.labels, &req.description)?;
        let mut key = CryptoKey::new()
            .set_purpose(purpose)
            .set_version_template(
                CryptoKeyVersionTemplate::new()
                    .set_algorithm(algorithm)
                    .set_protection_level(self.kms.protection.clone()),
            )
            .set_labels(gcp_labels)
            .set_destroy_scheduled_duration(wkt::Duration::clamp(
                i64::from(self.kms.destroy_days) * DAY,
                0,
            ));
        if let Some(schedule) = req.rotation {
            let (period, next) = self.checked_schedule(req.spec, schedule)?;
            key = key.set_rotation_period(period).set_next_rotation_time(next);
        }
        let what = format!("create_crypto_key({})", req.name);
        let raw = self
            .kms
            .client
            .create_crypto_key()
            .set_parent(&self.kms.ring)
            .set_crypto_key_id(&req.name)
            .set_crypto_key(key)
            .send()
            .await
            .map_err(self.kms.err(&what))?;
        let mut key = self.kms.wrap(raw, None)?;
        if !key.symmetric() {
            let mut versions = self.kms.versions(&key.id).await?;
            if let Some(last) = versions.pop() {
                versions.push(self.kms.generated(last).await?);
            }
            key.versions = Some(versions);
        }
        tracing::info!(provider = %self.info.name, key = %key.id, spec = %req.spec, "created a Cloud KMS key");
        Ok(self.metadata(&key))
    }

    /// `updateCryptoKey` of the labels (which hold the description too).
    pub(super) async fn update(&self, key_id: &str, update: KeyUpdate) -> Result<KeyMetadata> {
        let key = self.kms.key(key_id, false).await?;
        let (mut current, description) = labels::from_gcp(&key.raw.labels);
        for k in &update.remove_labels {
            current.remove(k);
        }
        current.extend(update.set_labels);
        let description = update.description.unwrap_or(description);
        let gcp_labels = labels::to_gcp(&current, &description)?;
        let what = format!("update_crypto_key({key_id}, labels)");
        let raw = self
            .kms
            .client
            .update_crypto_key()
            .set_crypto_key(
                CryptoKey::new()
                    .set_name(self.kms.key_name(key_id))
                    .set_labels(gcp_labels),
            )
            .set_update_mask(wkt::FieldMask::default().set_paths(["labels"]))
            .send()
            .await
            .map_err(self.kms.err(&what))?;
        let key = Key { raw, ..key };
        Ok(self.metadata(&key))
    }

    /// `updateCryptoKeyVersion` of one version's state.
    async fn set_version_state(&self, key_id: &str, version: &str, state: VState) -> Result<()> {
        let what = format!("update_crypto_key_version({key_id}/{version}, state)");
        self.kms
            .client
            .update_crypto_key_version()
            .set_crypto_key_version(
                CryptoKeyVersion::new()
                    .set_name(self.kms.version_name(key_id, version))
                    .set_state(state),
            )
            .set_update_mask(wkt::FieldMask::default().set_paths(["state"]))
            .send()
            .await
            .map_err(self.kms.err(&what))?;
        Ok(())
    }

    /// Applies `act` to the newest version `pick` selects, reads the versions again, and
    /// repeats until none is selected. Re-reading matters: a backend may change several
    /// versions at once (keygate's own dialect enables and disables whole keys).
    async fn each_version<F>(&self, key_id: &str, pick: F, act: VersionAct) -> Result<Key>
    where
        F: Fn(&CryptoKeyVersion) -> bool,
    {
        let mut key = self.kms.key(key_id, true).await?;
        let limit = key.versions.as_ref().map_or(0, Vec::len) + 1;
        for _ in 0..limit {
            let Some(target) = key
                .versions
                .as_deref()
                .and_then(|vs| vs.iter().rev().find(|v| pick(v)))
            else {
                return Ok(key);
            };
            let version = last_segment(&target.name).to_owned();
            match &act {
                VersionAct::State(state) => {
                    self.set_version_state(key_id, &version, state.clone())
                        .await?;
                }
                VersionAct::Restore => {
                    let what = format!("restore_crypto_key_version({key_id}/{version})");
                    self.kms
                        .client
                        .restore_crypto_key_version()
                        .set_name(self.kms.version_name(key_id, &version))
                        .send()
                        .await
                        .map_err(self.kms.err(&what))?;
                }
            }
            key = self.kms.key(key_id, true).await?;
        }
        Err(Error::provider(
            &self.info.name,
            format!("{key_id}: the versions did not reach the state asked for"),
        ))
    }

    /// Enables (`true`) or disables a key: the primary version of a symmetric key, every
    /// version of another key (newest first). Idempotent.
    pub(super) async fn set_enabled(&self, key_id: &str, enabled: bool) -> Result<KeyMetadata> {
        let key = self.kms.key(key_id, true).await?;
        let op = if enabled { "enable_key" } else { "disable_key" };
        match key.state() {
            KeyState::PendingDeletion { .. } | KeyState::Destroyed => {
                return Err(Error::state(format!(
                    "{op}: key `{key_id}` is {}{}",
                    key.state(),
                    if enabled {
                        " (cancel the deletion first)"
                    } else {
                        ""
                    }
                )));
            }
            _ => {}
        }
        let (from, to) = if enabled {
            (VState::Disabled, VState::Enabled)
        } else {
            (VState::Enabled, VState::Disabled)
        };
        // Every version: Cloud KMS has no key-level state, and a key disabled as a whole
        // must refuse data sealed by any of its versions (one version is disabled with
        // `disable_version`).
        let key = self
            .each_version(key_id, |v| v.state == from, VersionAct::State(to))
            .await?;
        tracing::info!(provider = %self.info.name, key = %key_id, enabled, "changed key state");
        Ok(self.metadata(&key))
    }

    /// Destroys every version (DESTROY_SCHEDULED for the key's destroy-scheduled duration).
    pub(super) async fn delete(&self, key_id: &str, pending_days: u32) -> Result<KeyMetadata> {
        let window = self.caps.deletion_window;
        if !window.contains(pending_days) {
            return Err(Error::invalid(format!(
                "provider `{}` destroys keys after their destroy-scheduled duration of {window}, not {pending_days} days",
                self.info.name
            )));
        }
        let key = self.kms.key(key_id, true).await?;
        if key.destroy_days() != i64::from(pending_days) {
            return Err(Error::invalid(format!(
                "key `{key_id}` has a destroy-scheduled duration of {} days: Cloud KMS destroys its versions after that, not after {pending_days} days",
                key.destroy_days()
            )));
        }
        let live: Vec<String> = key
            .versions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|v| {
                matches!(
                    version_state(&v.state),
                    VersionState::Enabled | VersionState::Disabled
                )
            })
            .map(|v| last_segment(&v.name).to_owned())
            .collect();
        if live.is_empty() {
            return Err(Error::state(format!(
                "schedule_deletion: key `{key_id}` is {}",
                key.state()
            )));
        }
        // The primary goes last: a backend may keep a key's primary while other versions
        // live (keygate's own dialect does), and Cloud KMS takes any order.
        let primary = key.primary_id();
        let mut order: Vec<&String> = live.iter().rev().collect();
        order.sort_by_key(|v| Some(v.as_str()) == primary.as_deref());
        for version in order {
            let what = format!("destroy_crypto_key_version({key_id}/{version})");
            self.kms
                .client
                .destroy_crypto_key_version()
                .set_name(self.kms.version_name(key_id, version))
                .send()
                .await
                .map_err(self.kms.err(&what))?;
        }
        tracing::info!(provider = %self.info.name, key = %key_id, days = pending_days, "scheduled the destruction of every version");
        let key = self.kms.key(key_id, true).await?;
        Ok(self.metadata(&key))
    }

    /// Restores every DESTROY_SCHEDULED version; they come back DISABLED.
    pub(super) async fn undelete(&self, key_id: &str) -> Result<KeyMetadata> {
        let key = self.kms.key(key_id, true).await?;
        let scheduled = |v: &CryptoKeyVersion| v.state == VState::DestroyScheduled;
        if !key
            .versions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(scheduled)
        {
            return Err(Error::state(format!(
                "cancel_deletion: key `{key_id}` is {}, not pending deletion",
                key.state()
            )));
        }
        let key = self
            .each_version(key_id, scheduled, VersionAct::Restore)
            .await?;
        tracing::info!(provider = %self.info.name, key = %key_id, "restored the key's versions");
        Ok(self.metadata(&key))
    }

    /// `createCryptoKeyVersion`, then (symmetric keys) `updateCryptoKeyPrimaryVersion`.
    pub(super) async fn rotate(&self, key_id: &str) -> Result<KeyVersion> {
        let key = self.kms.key(key_id, false).await?;
        if matches!(
            key.state(),
            KeyState::PendingDeletion { .. } | KeyState::Destroyed
        ) {
            return Err(Error::state(format!(
                "rotate_key: key `{key_id}` is {}",
                key.state()
            )));
        }
        let what = format!("create_crypto_key_version({key_id})");
        let version = self
            .kms
            .client
            .create_crypto_key_version()
            .set_parent(self.kms.key_name(key_id))
            .set_crypto_key_version(CryptoKeyVersion::new())
            .send()
            .await
            .map_err(self.kms.err(&what))?;
        let version = self.kms.generated(version).await?;
        let id = last_segment(&version.name).to_owned();
        if key.symmetric() {
            let what = format!("update_crypto_key_primary_version({key_id}, {id})");
            self.kms
                .client
                .update_crypto_key_primary_version()
                .set_name(self.kms.key_name(key_id))
                .set_crypto_key_version_id(&id)
                .send()
                .await
                .map_err(self.kms.err(&what))?;
        }
        tracing::info!(provider = %self.info.name, key = %key_id, version = %id, "rotated");
        Ok(KeyVersion {
            primary: version_state(&version.state) == VersionState::Enabled,
            created: version
                .create_time
                .as_ref()
                .map_or_else(OffsetDateTime::now_utc, to_time),
            state: version_state(&version.state),
            id,
            destroy_time: None,
            rotation: None,
        })
    }

    /// The rotation period and next rotation time of `schedule`, checked.
    fn checked_schedule(
        &self,
        spec: keygate_core::KeySpec,
        schedule: RotationSchedule,
    ) -> Result<(wkt::Duration, wkt::Timestamp)> {
        if !self.caps.scheduled_rotation_specs.contains(&spec) {
            return Err(Error::unsupported(format!(
                "Cloud KMS rotates only symmetric keys automatically, not {spec} keys"
            )));
        }
        let Some(range) = self.caps.rotation_period else {
            return Err(Error::unsupported(format!(
                "provider `{}` has no automatic rotation",
                self.info.name
            )));
        };
        if !range.contains(schedule.period_days) {
            return Err(Error::invalid(format!(
                "rotation period of {} days is outside {range}",
                schedule.period_days
            )));
        }
        let period = i64::from(schedule.period_days) * DAY;
        let now = OffsetDateTime::now_utc();
        let next = schedule
            .next_rotation
            .unwrap_or(now + time::Duration::seconds(period));
        if next <= now {
            return Err(Error::invalid("the next rotation must be in the future"));
        }
        Ok((wkt::Duration::clamp(period, 0), to_timestamp(next)))
    }

    /// `updateCryptoKey` of `rotation_period` and `next_rotation_time` (both cleared for
    /// `None`).
    pub(super) async fn set_rotation(
        &self,
        key_id: &str,
        schedule: Option<RotationSchedule>,
    ) -> Result<Option<RotationSchedule>> {
        let key = self.kms.key(key_id, false).await?;
        let mut patch = CryptoKey::new().set_name(self.kms.key_name(key_id));
        if let Some(schedule) = schedule {
            let (period, next) = self.checked_schedule(key.alg.spec, schedule)?;
            patch = patch
                .set_rotation_period(period)
                .set_next_rotation_time(next);
        }
        let what = format!("update_crypto_key({key_id}, rotation)");
        let raw = self
            .kms
            .client
            .update_crypto_key()
            .set_crypto_key(patch)
            .set_update_mask(
                wkt::FieldMask::default().set_paths(["rotation_period", "next_rotation_time"]),
            )
            .send()
            .await
            .map_err(self.kms.err(&what))?;
        Ok(Key { raw, ..key }.rotation())
    }
}

/// What [`GcpKmsProvider::each_version`] does to a version.
#[derive(Debug, Clone)]
enum VersionAct {
    /// `updateCryptoKeyVersion` to this state.
    State(VState),
    /// `restoreCryptoKeyVersion`.
    Restore,
}
