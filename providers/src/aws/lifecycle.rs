//! Listing, creation and everything that changes a key but not through cryptography: state,
//! deletion, rotation, metadata and policy.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use keygate_core::{
    CreateKeyRequest, Error, ErrorKind, KeyMetadata, KeySpec, KeyUpdate, KeyVersion,
    ListKeysRequest, Page, Policy, Result, RotationKind, RotationSchedule, VersionState,
};
use time::OffsetDateTime;

use super::client::{self, CURRENT_VERSION, Described};
use super::policy::{self, POLICY_NAME};
use super::{AwsKmsProvider, DEFAULT_PAGE_SIZE};

/// Keys described at once when listing a page.
const LIST_CONCURRENCY: usize = 8;
/// KMS's longest key description.
const MAX_DESCRIPTION_CHARS: usize = 8192;
/// How often, and how far apart, `rotate_key` looks for the rotation in `ListKeyRotations`
/// (KMS rotates on demand asynchronously).
const ROTATION_POLLS: u32 = 20;
const ROTATION_POLL_INTERVAL: Duration = Duration::from_millis(500);

impl AwsKmsProvider {
    /// One page of `ListKeys`, each key described in full. Keys of specs keygate does not
    /// model are left out.
    pub(super) async fn list(&self, req: ListKeysRequest) -> Result<Page<KeyMetadata>> {
        let size = req
            .page_size
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .clamp(1, self.caps.max_page_size);
        let mut marker = req.cursor;
        loop {
            let out = self
                .kms
                .client
                .list_keys()
                .limit(i32::try_from(size).unwrap_or(i32::MAX))
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| self.kms.err("list_keys")(e.into()))?;
            let next = out.next_marker.filter(|_| out.truncated);
            let ids: Vec<String> = out
                .keys
                .unwrap_or_default()
                .into_iter()
                .filter_map(|k| k.key_id)
                .collect();
            let names = self.alias_names().await?;
            let described: Vec<Result<Option<KeyMetadata>>> = futures::stream::iter(ids)
                .map(|id| {
                    let names = &names;
                    async move { self.listed(&id, names).await }
                })
                .buffered(LIST_CONCURRENCY)
                .collect()
                .await;
            let mut items = Vec::new();
            for d in described {
                items.extend(d?);
            }
            // A page whose keys were all left out is not the last one: keep going, so only
            // the last page may be empty.
            if items.is_empty() && next.is_some() {
                marker = next;
                continue;
            }
            return Ok(Page {
                items,
                next_cursor: next,
            });
        }
    }

    /// One listed key in full; `None` when keygate does not model it or it vanished.
    async fn listed(
        &self,
        id: &str,
        names: &HashMap<String, Vec<String>>,
    ) -> Result<Option<KeyMetadata>> {
        let key = match self.kms.describe(id).await {
            Ok(key) => key,
            Err(e) if matches!(e.kind(), ErrorKind::Unsupported | ErrorKind::NotFound) => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let name = names
            .get(&key.id)
            .and_then(|aliases| client::name_from_aliases(aliases.iter().map(String::as_str)))
            .unwrap_or_else(|| key.id.clone());
        let (labels, rotation, primary) = tokio::try_join!(
            self.kms.labels(&key.id),
            self.kms.rotation(&key),
            self.kms.primary_version(&key),
        )?;
        Ok(Some(self.assemble(&key, name, labels, rotation, primary)))
    }

    /// Every alias of the account and region, by target key id: one sweep per listed page
    /// instead of one `ListAliases` per key.
    async fn alias_names(&self) -> Result<HashMap<String, Vec<String>>> {
        let mut names: HashMap<String, Vec<String>> = HashMap::new();
        let mut marker = None;
        loop {
            let out = self
                .kms
                .client
                .list_aliases()
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| self.kms.err("list_aliases")(e.into()))?;
            for alias in out.aliases.unwrap_or_default() {
                if let (Some(target), Some(name)) = (alias.target_key_id, alias.alias_name) {
                    names.entry(target).or_default().push(name);
                }
            }
            match out.next_marker {
                Some(m) if out.truncated => marker = Some(m),
                _ => return Ok(names),
            }
        }
    }

    /// `CreateKey`, then `CreateAlias` for the name (and `EnableKeyRotation` when asked). If a
    /// later step fails the new key is scheduled for deletion, so no unnamed key is left.
    pub(super) async fn create(&self, req: CreateKeyRequest) -> Result<KeyMetadata> {
        if !self.caps.key_specs.contains(&req.spec) {
            return Err(Error::unsupported(format!(
                "provider `{}` does not create {} keys",
                self.info.name, req.spec
            )));
        }
        let usage = req.effective_usage()?;
        let alias = client::alias_for_name(&req.name)?;
        if let Some(schedule) = &req.rotation {
            self.check_schedule(req.spec, schedule)?;
        }
        check_description(&req.description)?;
        let tags = client::labels_to_tags(&req.labels)?;
        match self.kms.describe(&alias).await {
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) if e.kind() != ErrorKind::Unsupported => return Err(e),
            _ => {
                return Err(Error::AlreadyExists(format!(
                    "a key named `{}` ({alias})",
                    req.name
                )));
            }
        }

        let what = format!("create_key({}, {})", req.name, req.spec);
        let out = self
            .kms
            .client
            .create_key()
            .key_spec(client::spec_to_aws(req.spec))
            .key_usage(client::usage_to_aws(usage))
            .set_origin(
                (req.origin == keygate_core::KeyOrigin::External)
                    .then_some(aws_sdk_kms::types::OriginType::External),
            )
            .set_description((!req.description.is_empty()).then(|| req.description.clone()))
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .map_err(|e| self.kms.err(&what)(e.into()))?;
        let id = out
            .key_metadata
            .map(|m| m.key_id)
            .ok_or_else(|| Error::provider(&self.info.name, format!("{what}: no KeyMetadata")))?;

        let named = async {
            self.kms
                .client
                .create_alias()
                .alias_name(&alias)
                .target_key_id(&id)
                .send()
                .await
                .map_err(|e| self.kms.err(&format!("create_alias({alias})"))(e.into()))?;
            if let Some(schedule) = &req.rotation {
                self.enable_rotation(&id, schedule.period_days).await?;
            }
            Ok::<_, Error>(())
        };
        if let Err(e) = named.await {
            let cleanup = self
                .kms
                .client
                .schedule_key_deletion()
                .key_id(&id)
                .pending_window_in_days(7)
                .send()
                .await;
            if cleanup.is_err() {
                tracing::warn!(provider = %self.info.name, key = %id,
                    "could not schedule the deletion of a key whose creation failed half-way");
            }
            return Err(e);
        }
        let key = self.kms.describe(&id).await?;
        self.metadata(&key).await
    }

    /// Description (`UpdateKeyDescription`) and labels (`TagResource`, `UntagResource`).
    pub(super) async fn update(&self, key_id: &str, update: KeyUpdate) -> Result<KeyMetadata> {
        let key = self.kms.describe(key_id).await?;
        let tags = client::labels_to_tags(&update.set_labels)?;
        if let Some(description) = &update.description {
            check_description(description)?;
            self.kms
                .client
                .update_key_description()
                .key_id(&key.id)
                .description(description)
                .send()
                .await
                .map_err(|e| {
                    self.kms.err(&format!("update_key_description({key_id})"))(e.into())
                })?;
        }
        if !tags.is_empty() {
            self.kms
                .client
                .tag_resource()
                .key_id(&key.id)
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(|e| self.kms.err(&format!("tag_resource({key_id})"))(e.into()))?;
        }
        if !update.remove_labels.is_empty() {
            self.kms
                .client
                .untag_resource()
                .key_id(&key.id)
                .set_tag_keys(Some(update.remove_labels.clone()))
                .send()
                .await
                .map_err(|e| self.kms.err(&format!("untag_resource({key_id})"))(e.into()))?;
        }
        self.fresh(&key.id).await
    }

    /// `EnableKey` or `DisableKey` (both idempotent in KMS).
    pub(super) async fn set_enabled(&self, key_id: &str, enabled: bool) -> Result<KeyMetadata> {
        let key = self.kms.describe(key_id).await?;
        let result = if enabled {
            let what = format!("enable_key({key_id})");
            self.kms
                .client
                .enable_key()
                .key_id(&key.id)
                .send()
                .await
                .map(drop)
                .map_err(|e| self.kms.err(&what)(e.into()))
        } else {
            let what = format!("disable_key({key_id})");
            self.kms
                .client
                .disable_key()
                .key_id(&key.id)
                .send()
                .await
                .map(drop)
                .map_err(|e| self.kms.err(&what)(e.into()))
        };
        result?;
        self.fresh(&key.id).await
    }

    /// `ScheduleKeyDeletion`, with the window checked against KMS's 7–30 days first.
    pub(super) async fn delete(&self, key_id: &str, days: u32) -> Result<KeyMetadata> {
        let key = self.kms.describe(key_id).await?;
        let window = self.caps.deletion_window;
        if !window.contains(days) {
            return Err(Error::invalid(format!(
                "a deletion window of {days} days is outside {window}"
            )));
        }
        self.kms
            .client
            .schedule_key_deletion()
            .key_id(&key.id)
            .pending_window_in_days(i32::try_from(days).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| self.kms.err(&format!("schedule_key_deletion({key_id})"))(e.into()))?;
        self.fresh(&key.id).await
    }

    /// `CancelKeyDeletion`: the key comes back disabled.
    pub(super) async fn undelete(&self, key_id: &str) -> Result<KeyMetadata> {
        let key = self.kms.describe(key_id).await?;
        self.kms
            .client
            .cancel_key_deletion()
            .key_id(&key.id)
            .send()
            .await
            .map_err(|e| self.kms.err(&format!("cancel_key_deletion({key_id})"))(e.into()))?;
        self.fresh(&key.id).await
    }

    /// `RotateKeyOnDemand`, then the new primary version from `ListKeyRotations` (KMS rotates
    /// asynchronously, so it is polled for a while). Without `ListKeyRotations` the key still
    /// rotates and the answer is the version `current`.
    pub(super) async fn rotate(&self, key_id: &str) -> Result<KeyVersion> {
        let key = self.kms.describe(key_id).await?;
        if key.spec != KeySpec::Aes256 {
            return Err(Error::unsupported(format!(
                "AWS KMS rotates only symmetric encryption keys, not {} key {}",
                key.spec, key.id
            )));
        }
        let before = self.kms.versions(&key).await?;
        self.kms
            .client
            .rotate_key_on_demand()
            .key_id(&key.id)
            .send()
            .await
            .map_err(|e| self.kms.err(&format!("rotate_key_on_demand({key_id})"))(e.into()))?;
        let now = OffsetDateTime::now_utc();
        if !self.kms.lists_rotations() {
            return Ok(KeyVersion {
                id: CURRENT_VERSION.to_owned(),
                created: now,
                state: VersionState::Enabled,
                primary: true,
                destroy_time: None,
                rotation: Some(RotationKind::OnDemand),
            });
        }
        for _ in 0..ROTATION_POLLS {
            let after = self.kms.versions(&key).await?;
            if after.len() > before.len()
                && let Some(primary) = after.into_iter().find(|v| v.primary)
            {
                return Ok(primary);
            }
            tokio::time::sleep(ROTATION_POLL_INTERVAL).await;
        }
        // KMS accepted the rotation but has not listed it yet: it will be the next version.
        Ok(KeyVersion {
            id: (before.len() + 1).to_string(),
            created: now,
            state: VersionState::Enabled,
            primary: true,
            destroy_time: None,
            rotation: Some(RotationKind::OnDemand),
        })
    }

    /// `EnableKeyRotation` with `RotationPeriodInDays`, or `DisableKeyRotation`.
    pub(super) async fn set_rotation(
        &self,
        key_id: &str,
        schedule: Option<RotationSchedule>,
    ) -> Result<Option<RotationSchedule>> {
        let key = self.kms.describe(key_id).await?;
        match schedule {
            Some(schedule) => {
                self.check_schedule(key.spec, &schedule)?;
                self.enable_rotation(&key.id, schedule.period_days).await?;
            }
            // Keys KMS never rotates have no schedule to turn off.
            None if key.spec != KeySpec::Aes256 => return Ok(None),
            None => {
                self.kms
                    .client
                    .disable_key_rotation()
                    .key_id(&key.id)
                    .send()
                    .await
                    .map_err(|e| {
                        self.kms.err(&format!("disable_key_rotation({key_id})"))(e.into())
                    })?;
            }
        }
        self.kms.rotation(&key).await
    }

    async fn enable_rotation(&self, id: &str, days: u32) -> Result<()> {
        self.kms
            .client
            .enable_key_rotation()
            .key_id(id)
            .rotation_period_in_days(i32::try_from(days).unwrap_or(i32::MAX))
            .send()
            .await
            .map(drop)
            .map_err(|e| self.kms.err(&format!("enable_key_rotation({id})"))(e.into()))
    }

    /// A schedule KMS can keep: a symmetric key, a period in 90–2560 days, and no first date
    /// (KMS picks it: one period after the schedule is set).
    fn check_schedule(&self, spec: KeySpec, schedule: &RotationSchedule) -> Result<()> {
        let Some(range) = self.caps.rotation_period else {
            return Err(Error::unsupported(format!(
                "provider `{}` declares no automatic rotation",
                self.info.name
            )));
        };
        if !self.caps.scheduled_rotation_specs.contains(&spec) {
            return Err(Error::invalid(format!(
                "AWS KMS rotates only symmetric encryption keys automatically, not {spec} keys"
            )));
        }
        if !range.contains(schedule.period_days) {
            return Err(Error::invalid(format!(
                "a rotation period of {} days is outside {range}",
                schedule.period_days
            )));
        }
        if schedule.next_rotation.is_some() {
            return Err(Error::invalid(
                "AWS KMS sets the next rotation date itself (one period from now); leave it unset",
            ));
        }
        Ok(())
    }

    /// `GetKeyPolicy`, as unified bindings plus the native document.
    pub(super) async fn policy(&self, key_id: &str) -> Result<Policy> {
        let key = self.kms.describe(key_id).await?;
        self.read_policy(&key).await
    }

    async fn read_policy(&self, key: &Described) -> Result<Policy> {
        let out = self
            .kms
            .client
            .get_key_policy()
            .key_id(&key.id)
            .policy_name(POLICY_NAME)
            .send()
            .await
            .map_err(|e| self.kms.err(&format!("get_key_policy({})", key.id))(e.into()))?;
        policy::from_document(out.policy().unwrap_or("{}"))
    }

    /// `PutKeyPolicy` of the native document verbatim, or of the bindings translated; returns
    /// the policy read back.
    pub(super) async fn put_policy(&self, key_id: &str, new: Policy) -> Result<Policy> {
        let key = self.kms.describe(key_id).await?;
        let document = policy::to_document(&new)?;
        policy::validate_document(&document)?;
        self.kms
            .client
            .put_key_policy()
            .key_id(&key.id)
            .policy_name(POLICY_NAME)
            .policy(document)
            .send()
            .await
            .map_err(|e| self.kms.err(&format!("put_key_policy({key_id})"))(e.into()))?;
        self.read_policy(&key).await
    }

    /// The key's metadata, described anew after a change.
    async fn fresh(&self, id: &str) -> Result<KeyMetadata> {
        let key = self.kms.describe(id).await?;
        self.metadata(&key).await
    }
}

fn check_description(description: &str) -> Result<()> {
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(Error::invalid(format!(
            "an AWS KMS key description holds at most {MAX_DESCRIPTION_CHARS} characters"
        )));
    }
    Ok(())
}
