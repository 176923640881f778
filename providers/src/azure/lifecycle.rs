//! Listing, creation, metadata updates, enabling, soft deletion and recovery, versions and
//! rotation (now and by policy).

use azure_core::http::StatusCode;
use azure_core::http::pager::{PagerContinuation, PagerOptions};
use azure_security_keyvault_keys::models::{
    CreateKeyParameters, CurveName, KeyAttributes, KeyClientListDeletedKeyPropertiesOptions,
    KeyClientListKeyPropertiesOptions, KeyRotationPolicy, KeyRotationPolicyAction, LifetimeAction,
    LifetimeActionTrigger, LifetimeActionType, UpdateKeyPropertiesParameters,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::{StreamExt as _, TryStreamExt as _};
use keygate_core::native::azure::iso_days;
use keygate_core::{
    CreateKeyRequest, Error, KeyMetadata, KeySpec, KeyUpdate, KeyVersion, ListKeysRequest, Page,
    Result, RotationSchedule, VersionState,
};
use time::OffsetDateTime;

use super::AzureKeyVaultProvider;
use super::client::{Key, check_name, key_ops, parse_kid, purge_date};
use super::error::{from_sdk, is_status};
use super::tags;

/// Keys described at once while listing.
const LIST_CONCURRENCY: usize = 8;
/// The RSA size of an envelope key.
const ENVELOPE_RSA_BITS: i32 = 3072;
/// Marks cursors as this provider's.
const CURSOR_PREFIX: &str = "az1|";
/// How often, and how far apart, a recovered key is looked for before it is disabled (Key
/// Vault recovers in the background).
const RECOVER_TRIES: u32 = 20;
const RECOVER_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Where a listing is: live keys (from a next link), then deleted keys.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cursor {
    Live(Option<String>),
    Deleted(Option<String>),
}

impl Cursor {
    fn encode(&self) -> String {
        let (phase, link) = match self {
            Self::Live(l) => ("L", l),
            Self::Deleted(l) => ("D", l),
        };
        let text = format!("{CURSOR_PREFIX}{phase}|{}", link.as_deref().unwrap_or(""));
        URL_SAFE_NO_PAD.encode(text)
    }

    fn decode(s: &str) -> Result<Self> {
        let bad = || Error::invalid("the list cursor is not one this provider gave");
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let rest = text.strip_prefix(CURSOR_PREFIX).ok_or_else(bad)?;
        let (phase, link) = rest.split_once('|').ok_or_else(bad)?;
        let link = (!link.is_empty()).then(|| link.to_owned());
        match phase {
            "L" if link.is_some() => Ok(Self::Live(link)),
            "D" => Ok(Self::Deleted(link)),
            _ => Err(bad()),
        }
    }
}

/// `link` with `maxresults` set to `size`, as a continuation.
fn continuation(link: Option<&str>, size: u32) -> Result<Option<PagerContinuation>> {
    let Some(link) = link else {
        return Ok(None);
    };
    let mut url = azure_core::http::Url::parse(link)
        .map_err(|_| Error::invalid("the list cursor is not one this provider gave"))?;
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "maxresults")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair("maxresults", &size.to_string());
    Ok(Some(PagerContinuation::Link(url)))
}

/// Whether a lifetime action is a `Rotate`.
fn rotates(a: &LifetimeAction) -> bool {
    matches!(
        a.action.as_ref().and_then(|t| t.type_prop.as_ref()),
        Some(KeyRotationPolicyAction::Rotate)
    )
}

/// The rotation period of a policy: its `Rotate` action's `timeAfterCreate`.
fn policy_days(policy: &KeyRotationPolicy) -> Option<u32> {
    policy
        .lifetime_actions
        .iter()
        .flatten()
        .filter(|a| rotates(a))
        .find_map(|a| iso_days(a.trigger.as_ref()?.time_after_create.as_deref()?))
}

impl AzureKeyVaultProvider {
    /// keygate's metadata of `key` with its rotation schedule.
    pub(super) fn metadata(&self, key: &Key, rotation: Option<RotationSchedule>) -> KeyMetadata {
        KeyMetadata {
            import: None,
            uri: self.info.key_uri(&key.name),
            provider: self.info.name.clone(),
            id: key.name.clone(),
            name: key.name.clone(),
            spec: key.spec,
            usage: key.usage,
            state: key.state(),
            primary_version: key.version.clone(),
            rotation,
            labels: key.tags.labels.clone(),
            description: key.tags.description.clone(),
            created: key.created,
        }
    }

    /// The metadata of `key`, reading its rotation policy when it is live.
    pub(super) async fn describe(&self, key: &Key) -> Result<KeyMetadata> {
        let rotation = self.rotation(key).await?;
        Ok(self.metadata(key, rotation))
    }

    /// The rotation schedule of `key`: its policy's `Rotate` action, the next rotation one
    /// period after the current version was made. A deleted key has none.
    pub(super) async fn rotation(&self, key: &Key) -> Result<Option<RotationSchedule>> {
        if key.purge_date.is_some() {
            return Ok(None);
        }
        let what = format!("get_key_rotation_policy({})", key.name);
        let policy = match self
            .vault
            .client
            .get_key_rotation_policy(&key.name, None)
            .await
        {
            Ok(r) => r.into_model().map_err(self.vault.err(&what))?,
            // No policy yet (or a vault without rotation policies): no schedule.
            Err(e) if is_status(&e, StatusCode::NotFound) => return Ok(None),
            Err(e) => return Err(from_sdk(&e, &self.info.name, &what)),
        };
        Ok(policy_days(&policy).map(|days| schedule(key, days)))
    }

    /// One page of keys: live keys, then (so pending deletions show) deleted ones.
    pub(super) async fn list(&self, req: ListKeysRequest) -> Result<Page<KeyMetadata>> {
        let size = req
            .page_size
            .unwrap_or(MAX_PAGE_SIZE)
            .clamp(1, self.caps.max_page_size.clamp(1, MAX_PAGE_SIZE));
        let mut cursor = match req.cursor.as_deref() {
            None => Cursor::Live(None),
            Some(c) => Cursor::decode(c)?,
        };
        // Pages may come back empty (a vault that filters); only the last page may be.
        loop {
            let (names, next, deleted) = match &cursor {
                Cursor::Live(link) => {
                    let (names, next) = self.live_page(link.as_deref(), size).await?;
                    let next = match next {
                        Some(l) => Some(Cursor::Live(Some(l))),
                        None => Some(Cursor::Deleted(None)),
                    };
                    (names, next, false)
                }
                Cursor::Deleted(link) => {
                    let (names, next) = self.deleted_page(link.as_deref(), size).await?;
                    (names, next.map(|l| Cursor::Deleted(Some(l))), true)
                }
            };
            let items = self.describe_all(names, deleted).await?;
            match next {
                Some(n) if items.is_empty() => cursor = n,
                next => {
                    return Ok(Page {
                        items,
                        next_cursor: next.map(|c| c.encode()),
                    });
                }
            }
        }
    }

    /// One page of live key names, at most one: the provider's probe.
    pub(super) async fn probe_vault(&self) -> Result<()> {
        self.live_page(None, 1).await.map(drop)
    }

    async fn live_page(
        &self,
        link: Option<&str>,
        size: u32,
    ) -> Result<(Vec<String>, Option<String>)> {
        let what = "list_key_properties";
        let options = KeyClientListKeyPropertiesOptions {
            maxresults: Some(i32::try_from(size).unwrap_or(25)),
            method_options: PagerOptions {
                continuation: continuation(link, size)?,
                ..Default::default()
            },
        };
        let mut pages = self
            .vault
            .client
            .list_key_properties(Some(options))
            .map_err(self.vault.err(what))?
            .into_pages();
        let Some(page) = pages.try_next().await.map_err(self.vault.err(what))? else {
            return Ok((Vec::new(), None));
        };
        let page = page.into_model().map_err(self.vault.err(what))?;
        let names = page
            .value
            .iter()
            .filter_map(|k| parse_kid(k.kid.as_deref()?))
            .map(|(n, _)| n)
            .collect();
        Ok((names, pages.continuation().map(|c| c.to_string())))
    }

    async fn deleted_page(
        &self,
        link: Option<&str>,
        size: u32,
    ) -> Result<(Vec<String>, Option<String>)> {
        let what = "list_deleted_key_properties";
        let options = KeyClientListDeletedKeyPropertiesOptions {
            maxresults: Some(i32::try_from(size).unwrap_or(25)),
            method_options: PagerOptions {
                continuation: continuation(link, size)?,
                ..Default::default()
            },
        };
        let mut pages = self
            .vault
            .client
            .list_deleted_key_properties(Some(options))
            .map_err(self.vault.err(what))?
            .into_pages();
        let Some(page) = pages.try_next().await.map_err(self.vault.err(what))? else {
            return Ok((Vec::new(), None));
        };
        let page = page.into_model().map_err(self.vault.err(what))?;
        let names = page
            .value
            .iter()
            .filter_map(|k| parse_kid(k.kid.as_deref()?))
            .map(|(n, _)| n)
            .collect();
        Ok((names, pages.continuation().map(|c| c.to_string())))
    }

    /// The metadata of listed keys, a few at a time. Keys that vanished meanwhile, or that
    /// keygate does not model, are left out.
    async fn describe_all(&self, names: Vec<String>, deleted: bool) -> Result<Vec<KeyMetadata>> {
        let described: Vec<Result<Option<KeyMetadata>>> = futures::stream::iter(names)
            .map(|name| async move {
                let key = if deleted {
                    self.vault.deleted(&name).await
                } else {
                    self.vault.live(&name, None).await
                };
                match key {
                    Ok(Some(k)) => self.describe(&k).await.map(Some),
                    Ok(None) => Ok(None),
                    Err(Error::Unsupported(why)) => {
                        tracing::debug!(provider = %self.info.name, key = %name, %why, "not listed");
                        Ok(None)
                    }
                    Err(e) => Err(e),
                }
            })
            .buffered(LIST_CONCURRENCY)
            .collect()
            .await;
        Ok(described
            .into_iter()
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Checks a rotation period against the declared bounds.
    fn check_period(&self, days: u32) -> Result<()> {
        match self.caps.rotation_period {
            Some(range) if range.contains(days) => Ok(()),
            Some(range) => Err(Error::invalid(format!(
                "a rotation period of {days} days is outside Key Vault's {range}"
            ))),
            None => Err(Error::unsupported(format!(
                "provider `{}` sets no rotation schedules",
                self.info.name
            ))),
        }
    }

    /// `createKey` after checking the name is free (Key Vault would add a version to an
    /// existing key), then the rotation policy when a schedule is asked for.
    pub(super) async fn create(&self, req: CreateKeyRequest) -> Result<KeyMetadata> {
        check_name(&req.name)?;
        if !self.caps.key_specs.contains(&req.spec) {
            return Err(Error::unsupported(format!(
                "provider `{}` does not create {} keys (Key Vault has no MAC keys)",
                self.info.name, req.spec
            )));
        }
        let usage = req.effective_usage()?;
        if let Some(s) = &req.rotation {
            self.check_period(s.period_days)?;
        }
        let tags = tags::write(&req.labels, &req.description, req.spec, usage)?;
        if self.vault.live(&req.name, None).await?.is_some() {
            return Err(Error::AlreadyExists(format!(
                "key `{}` exists in vault `{}`",
                req.name, self.vault.vault_name
            )));
        }
        if self.vault.deleted(&req.name).await?.is_some() {
            return Err(Error::AlreadyExists(format!(
                "a deleted key named `{}` is held in vault `{}` until its retention ends; recover it (cancel_deletion) or choose another name",
                req.name, self.vault.vault_name
            )));
        }
        let envelope = req.spec == KeySpec::Aes256 && !self.vault.hsm;
        let key_size = match req.spec {
            KeySpec::Rsa2048 => Some(2048),
            KeySpec::Rsa3072 => Some(3072),
            KeySpec::Rsa4096 => Some(4096),
            KeySpec::Aes256 if envelope => Some(ENVELOPE_RSA_BITS),
            KeySpec::Aes256 => Some(256),
            _ => None,
        };
        let curve = match req.spec {
            KeySpec::EcP256 => Some(CurveName::P256),
            KeySpec::EcP384 => Some(CurveName::P384),
            KeySpec::EcP521 => Some(CurveName::P521),
            KeySpec::EcSecp256k1 => Some(CurveName::P256K),
            _ => None,
        };
        let params = CreateKeyParameters {
            kty: Some(self.vault.key_type(req.spec, envelope)),
            key_size,
            curve,
            key_ops: Some(key_ops(req.spec, usage, envelope)),
            tags: Some(tags),
            ..Default::default()
        };
        let what = format!("create_key({})", req.name);
        let body = params.try_into().map_err(self.vault.err(&what))?;
        let made = self
            .vault
            .client
            .create_key(&req.name, body, None)
            .await
            .map_err(self.vault.err(&what))?
            .into_model()
            .map_err(self.vault.err(&what))?;
        let key = self.vault.wrap(&req.name, made)?;
        tracing::info!(provider = %self.info.name, key = %key.name, spec = %req.spec, envelope, "created a Key Vault key");
        let rotation = match req.rotation {
            Some(s) => self.put_rotation(&key, Some(s.period_days)).await?,
            None => None,
        };
        Ok(self.metadata(&key, rotation))
    }

    /// The live key `key_id`; a deleted one is in the wrong state for `op`.
    pub(super) async fn live_key(&self, key_id: &str, op: &str) -> Result<Key> {
        let key = self.vault.key(key_id).await?;
        if key.purge_date.is_some() {
            return Err(Error::state(format!(
                "{op}: key `{key_id}` is pending deletion"
            )));
        }
        Ok(key)
    }

    async fn update_properties(
        &self,
        key: &Key,
        params: UpdateKeyPropertiesParameters,
        what: &str,
    ) -> Result<Key> {
        let body = params.try_into().map_err(self.vault.err(what))?;
        let updated = self
            .vault
            .client
            .update_key_properties(&key.name, body, None)
            .await
            .map_err(self.vault.err(what))?
            .into_model()
            .map_err(self.vault.err(what))?;
        self.vault.wrap(&key.name, updated)
    }

    /// Replaces the tags: labels changed as asked, the description, keygate's own tags kept.
    pub(super) async fn update(&self, key_id: &str, update: KeyUpdate) -> Result<KeyMetadata> {
        let key = self.live_key(key_id, "update_key").await?;
        tags::check_labels(&update.set_labels)?;
        let mut labels = key.tags.labels.clone();
        for k in &update.remove_labels {
            labels.remove(k);
        }
        labels.extend(update.set_labels);
        let description = update
            .description
            .unwrap_or_else(|| key.tags.description.clone());
        let tags = tags::write(&labels, &description, key.spec, key.usage)?;
        let what = format!("update_key({key_id}, tags)");
        let params = UpdateKeyPropertiesParameters {
            tags: Some(tags),
            ..Default::default()
        };
        let key = self.update_properties(&key, params, &what).await?;
        self.describe(&key).await
    }

    /// Sets the current version's `enabled` attribute.
    pub(super) async fn set_enabled(&self, key_id: &str, enabled: bool) -> Result<KeyMetadata> {
        let op = if enabled { "enable_key" } else { "disable_key" };
        let key = self.live_key(key_id, op).await?;
        let key = self.put_enabled(&key, enabled, op).await?;
        self.describe(&key).await
    }

    async fn put_enabled(&self, key: &Key, enabled: bool, op: &str) -> Result<Key> {
        let what = format!("{op}({})", key.name);
        let params = UpdateKeyPropertiesParameters {
            key_attributes: Some(KeyAttributes {
                enabled: Some(enabled),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.update_properties(key, params, &what).await
    }

    /// `deleteKey` (soft delete) when `days` is the vault's retention.
    pub(super) async fn delete(&self, key_id: &str, days: u32) -> Result<KeyMetadata> {
        let key = self.live_key(key_id, "schedule_deletion").await?;
        let window = self.caps.deletion_window;
        if !window.contains(days) {
            return Err(Error::invalid(format!(
                "vault `{}` keeps deleted keys for its soft-delete retention of {} days and no other period; schedule_deletion({days}) is outside {window}",
                self.vault.vault_name, self.retention
            )));
        }
        if let Some(reported) = key.recoverable_days
            && i64::from(reported) != i64::from(days)
        {
            tracing::warn!(provider = %self.info.name, key = %key_id, reported, days, "the vault reports another soft-delete retention than keygate declares; the vault's applies");
        }
        let what = format!("delete_key({key_id})");
        let deleted = self
            .vault
            .client
            .delete_key(key_id, None)
            .await
            .map_err(self.vault.err(&what))?
            .into_model()
            .map_err(self.vault.err(&what))?;
        // The key as it was, now pending deletion (a deleted bundle may carry less of the
        // JWK than the live one did).
        let key = Key {
            purge_date: Some(purge_date(&deleted)),
            ..key
        };
        tracing::info!(provider = %self.info.name, key = %key_id, "soft-deleted a Key Vault key");
        Ok(self.metadata(&key, None))
    }

    /// `recoverDeletedKey`, then disables the key (the contract: a cancelled deletion leaves
    /// the key disabled). Key Vault recovers in the background, so the key is looked for a few
    /// times before it is disabled.
    pub(super) async fn recover(&self, key_id: &str) -> Result<KeyMetadata> {
        let key = self.vault.key(key_id).await?;
        if key.purge_date.is_none() {
            return Err(Error::state(format!(
                "cancel_deletion: key `{key_id}` is not pending deletion"
            )));
        }
        let what = format!("recover_deleted_key({key_id})");
        let recovered = self
            .vault
            .client
            .recover_deleted_key(key_id, None)
            .await
            .map_err(self.vault.err(&what))?
            .into_model()
            .map_err(self.vault.err(&what))?;
        let recovered = self.vault.wrap(key_id, recovered)?;
        let mut tries = 0;
        let key = loop {
            match self.put_enabled(&recovered, false, "cancel_deletion").await {
                Ok(k) => break k,
                Err(Error::NotFound(_)) if tries < RECOVER_TRIES => {
                    tries += 1;
                    tokio::time::sleep(RECOVER_WAIT).await;
                }
                Err(e) => return Err(e),
            }
        };
        tracing::info!(provider = %self.info.name, key = %key_id, "recovered a Key Vault key (disabled)");
        self.describe(&key).await
    }

    /// Every version, oldest first, the current one last and primary. Key Vault's creation
    /// times have a second's resolution: ties are broken by version id.
    pub(super) async fn versions(&self, key_id: &str) -> Result<Vec<KeyVersion>> {
        let key = self.vault.key(key_id).await?;
        let current = key.version.clone().unwrap_or_default();
        if key.purge_date.is_some() {
            // A deleted key's versions cannot be listed; its current one is what is held.
            return Ok(vec![KeyVersion {
                id: current,
                created: key.created,
                state: VersionState::DestroyScheduled,
                primary: true,
                destroy_time: None,
                rotation: None,
            }]);
        }
        let what = format!("list_key_properties_versions({key_id})");
        let items: Vec<_> = self
            .vault
            .client
            .list_key_properties_versions(key_id, None)
            .map_err(self.vault.err(&what))?
            .try_collect()
            .await
            .map_err(self.vault.err(&what))?;
        let mut versions: Vec<KeyVersion> = items
            .iter()
            .filter_map(|item| {
                let (_, version) = parse_kid(item.kid.as_deref()?)?;
                let version = version?;
                let attributes = item.attributes.clone().unwrap_or_default();
                Some(KeyVersion {
                    primary: version == current,
                    id: version,
                    created: attributes.created.unwrap_or(OffsetDateTime::UNIX_EPOCH),
                    state: if attributes.enabled.unwrap_or(true) {
                        VersionState::Enabled
                    } else {
                        VersionState::Disabled
                    },
                    destroy_time: None,
                    rotation: None,
                })
            })
            .collect();
        if !current.is_empty() && !versions.iter().any(|v| v.primary) {
            // A listing that lags behind a rotation still shows the current version.
            versions.push(KeyVersion {
                id: current.clone(),
                created: key.created,
                state: if key.enabled {
                    VersionState::Enabled
                } else {
                    VersionState::Disabled
                },
                primary: true,
                destroy_time: None,
                rotation: None,
            });
        }
        versions.sort_by(|a, b| (a.primary, a.created, &a.id).cmp(&(b.primary, b.created, &b.id)));
        versions.dedup_by(|a, b| a.id == b.id);
        Ok(versions)
    }

    /// `rotateKey`: a new current version.
    pub(super) async fn rotate(&self, key_id: &str) -> Result<KeyVersion> {
        let key = self.live_key(key_id, "rotate_key").await?;
        let what = format!("rotate_key({key_id})");
        let rotated = self
            .vault
            .client
            .rotate_key(&key.name, None)
            .await
            .map_err(self.vault.err(&what))?
            .into_model()
            .map_err(self.vault.err(&what))?;
        let rotated = self.vault.wrap(key_id, rotated)?;
        let id = rotated.version.clone().ok_or_else(|| {
            Error::provider(
                &self.info.name,
                format!("{what}: the vault named no new version"),
            )
        })?;
        tracing::info!(provider = %self.info.name, key = %key_id, version = %id, "rotated a Key Vault key");
        Ok(KeyVersion {
            id,
            created: rotated.created,
            state: if rotated.enabled {
                VersionState::Enabled
            } else {
                VersionState::Disabled
            },
            primary: true,
            destroy_time: None,
            rotation: None,
        })
    }

    /// Sets or removes the policy's `Rotate` action. A schedule's `next_rotation` is not
    /// settable: Key Vault rotates one period after the current version was made.
    pub(super) async fn set_rotation(
        &self,
        key_id: &str,
        schedule: Option<RotationSchedule>,
    ) -> Result<Option<RotationSchedule>> {
        let key = self.vault.key(key_id).await?;
        if let Some(s) = &schedule {
            self.check_period(s.period_days)?;
        }
        if key.purge_date.is_some() {
            return Err(Error::state(format!(
                "set_rotation: key `{key_id}` is pending deletion"
            )));
        }
        self.put_rotation(&key, schedule.map(|s| s.period_days))
            .await
    }

    /// Writes the rotation policy of `key` with a `Rotate` action every `days` (or none),
    /// keeping its other actions (notifications) and attributes.
    async fn put_rotation(&self, key: &Key, days: Option<u32>) -> Result<Option<RotationSchedule>> {
        let what = format!("update_key_rotation_policy({})", key.name);
        let current = match self
            .vault
            .client
            .get_key_rotation_policy(&key.name, None)
            .await
        {
            Ok(r) => r.into_model().map_err(self.vault.err(&what))?,
            Err(e) if is_status(&e, StatusCode::NotFound) => KeyRotationPolicy::default(),
            Err(e) => return Err(from_sdk(&e, &self.info.name, &what)),
        };
        // Notifications before expiry need the expiry the policy sets; without one they are
        // the vault's default, which it restores by itself.
        let keeps_notify = current
            .attributes
            .as_ref()
            .is_some_and(|a| a.expiry_time.is_some());
        let mut actions: Vec<LifetimeAction> = current
            .lifetime_actions
            .unwrap_or_default()
            .into_iter()
            .filter(|a| !rotates(a) && keeps_notify)
            .collect();
        if let Some(days) = days {
            actions.push(LifetimeAction {
                action: Some(LifetimeActionType {
                    type_prop: Some(KeyRotationPolicyAction::Rotate),
                }),
                trigger: Some(LifetimeActionTrigger {
                    time_after_create: Some(format!("P{days}D")),
                    time_before_expiry: None,
                }),
            });
        }
        let policy = KeyRotationPolicy {
            lifetime_actions: Some(actions),
            attributes: current.attributes.filter(|_| keeps_notify),
            id: None,
        };
        let body = policy.try_into().map_err(self.vault.err(&what))?;
        let stored = self
            .vault
            .client
            .update_key_rotation_policy(&key.name, body, None)
            .await
            .map_err(self.vault.err(&what))?
            .into_model()
            .map_err(self.vault.err(&what))?;
        Ok(policy_days(&stored).map(|d| schedule(key, d)))
    }
}

/// Key Vault's largest page.
const MAX_PAGE_SIZE: u32 = super::MAX_PAGE_SIZE;

/// A schedule every `days`, due one period after the current version was made.
fn schedule(key: &Key, days: u32) -> RotationSchedule {
    RotationSchedule {
        period_days: days,
        next_rotation: Some(key.created + time::Duration::days(i64::from(days))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_roundtrip_and_foreign_ones_are_refused() {
        for c in [
            Cursor::Live(Some("https://v/keys?api-version=1&$skiptoken=abc".into())),
            Cursor::Deleted(None),
            Cursor::Deleted(Some("https://v/deletedkeys?x=1".into())),
        ] {
            assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        }
        for bad in [
            "",
            "!!",
            &URL_SAFE_NO_PAD.encode("k1:whatever"),
            &URL_SAFE_NO_PAD.encode("az1|L|"),
        ] {
            assert_eq!(
                Cursor::decode(bad).unwrap_err().kind(),
                keygate_core::ErrorKind::InvalidArgument,
                "{bad}"
            );
        }
    }

    #[test]
    fn continuations_carry_the_page_size() {
        let c = continuation(
            Some("https://v/keys?api-version=7.5&maxresults=25&$skiptoken=x"),
            2,
        )
        .unwrap()
        .unwrap();
        let url = c.to_string();
        assert!(url.contains("maxresults=2"), "{url}");
        assert!(!url.contains("maxresults=25"), "{url}");
        assert!(url.contains("skiptoken=x"), "{url}");
        assert!(continuation(None, 2).unwrap().is_none());
    }

    #[test]
    fn the_rotate_action_gives_the_period_and_notify_is_ignored() {
        let action = |kind, after: &str| LifetimeAction {
            action: Some(LifetimeActionType {
                type_prop: Some(kind),
            }),
            trigger: Some(LifetimeActionTrigger {
                time_after_create: Some(after.into()),
                time_before_expiry: None,
            }),
        };
        let policy = KeyRotationPolicy {
            lifetime_actions: Some(vec![
                action(KeyRotationPolicyAction::Notify, "P10D"),
                action(KeyRotationPolicyAction::Rotate, "P30D"),
            ]),
            ..Default::default()
        };
        assert_eq!(policy_days(&policy), Some(30));
        assert_eq!(policy_days(&KeyRotationPolicy::default()), None);
    }
}
