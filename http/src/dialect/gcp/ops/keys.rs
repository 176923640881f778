//! CryptoKeys: keygate keys of the location's provider, in a ring by their ring label.

use keygate_core::api::{Gateway as _, ProviderSummary};
use keygate_core::{
    CreateKeyRequest, Error, KeyLocator, KeyMetadata, KeyUpdate, KeyVersion, RotationSchedule,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::super::error::{GcpError, GcpResult};
use super::super::model::{Algorithm, KeyView, PROTECTION_LEVELS, PURPOSES};
use super::super::path::{KeyName, RingName, check_id};
use super::super::wire::{Body, parse_duration, parse_timestamp};
use super::super::{DEFAULT_DESTROY_SECONDS, IMPLICIT_RING, RING_LABEL};
use super::{Ctx, KeyTarget, check_ring, crypto_key_id, in_ring, page_by, scoped_name};
use keygate_server::store::KeyRecord;

const KEY_FIELDS: &[&str] = &[
    "name",
    "primary",
    "purpose",
    "createTime",
    "nextRotationTime",
    "rotationPeriod",
    "versionTemplate",
    "labels",
    "importOnly",
    "destroyScheduledDuration",
    "cryptoKeyBackend",
    "keyAccessJustificationsPolicy",
];

const DAY: i64 = 86_400;

/// Renders `meta` as the CryptoKey `name`.
pub fn render(name: &KeyName, meta: &KeyMetadata, record: Option<&KeyRecord>) -> Value {
    render_with(name, meta, record, None)
}

/// Renders `meta` as the CryptoKey `name`, its `primary` with `primary`'s own state.
pub fn render_with(
    name: &KeyName,
    meta: &KeyMetadata,
    record: Option<&KeyRecord>,
    primary: Option<&KeyVersion>,
) -> Value {
    let view = KeyView {
        name,
        meta,
        algorithm: Algorithm::of(meta, record.map(|r| r.algorithm.as_str())),
        destroy_seconds: record.map_or(DEFAULT_DESTROY_SECONDS, |r| r.destroy_seconds),
        primary_version: primary.map(|v| (v.state, v.destroy_time)),
        ring_label: RING_LABEL,
    };
    view.json()
}

/// The primary version of an ENCRYPT_DECRYPT key as `list_versions` reads it (one call; none
/// for other purposes, which have no primary in Cloud KMS), so `CryptoKey.primary` shows the
/// version's own state.
pub async fn primary_of(
    ctx: &Ctx<'_>,
    meta: &KeyMetadata,
    record: Option<&KeyRecord>,
) -> GcpResult<Option<KeyVersion>> {
    let purpose = Algorithm::of(meta, record.map(|r| r.algorithm.as_str())).map(|a| a.purpose);
    if purpose != Some("ENCRYPT_DECRYPT") || meta.primary_version.is_none() {
        return Ok(None);
    }
    let versions = ctx
        .session
        .list_versions(&KeyLocator::Uri(meta.uri.clone()))
        .await?
        .value;
    Ok(versions
        .into_iter()
        .find(|v| Some(&v.id) == meta.primary_version.as_ref()))
}

/// `GET .../cryptoKeys`: one `list_keys` of the provider, filtered to the ring.
pub async fn list(ctx: &Ctx<'_>, ring: &RingName) -> GcpResult<Value> {
    let provider = ctx.provider(&ring.location).await?;
    ctx.require_ring(ring, &provider.name).await?;
    let listing = ctx.session.list_keys(Some(&provider.name)).await?;
    if let Some(failure) = listing.errors.first() {
        return Err(Error::unavailable(failure.message.clone()).into());
    }
    let mut keys: Vec<KeyMetadata> = listing
        .keys
        .into_iter()
        .filter(|k| in_ring(k, &ring.ring))
        .collect();
    // Only a key carrying the ring label can have a scoped name.
    let id = |k: &KeyMetadata| {
        if k.labels.contains_key(RING_LABEL) {
            crypto_key_id(&ring.ring, &k.name).to_owned()
        } else {
            k.name.clone()
        }
    };
    keys.sort_by_key(|k| id(k));
    let (keys, next, total) = page_by(&ctx.query, keys, id)?;
    let store = ctx.store();
    let mut out = Vec::with_capacity(keys.len());
    for meta in &keys {
        let name = ring.key(id(meta));
        let record = store.key(&provider.name, &ring.ring, &name.key).await?;
        out.push(render(&name, meta, record.as_ref()));
    }
    let mut body = json!({ "cryptoKeys": out, "totalSize": total });
    if let Some(t) = next {
        body["nextPageToken"] = json!(t);
    }
    Ok(body)
}

/// `GET .../cryptoKeys/{k}`: one `describe_key` (and, for an ENCRYPT_DECRYPT key, one
/// `list_versions` for its primary's state).
pub async fn get(ctx: &Ctx<'_>, name: &KeyName) -> GcpResult<Value> {
    let key = ctx.key(name).await?;
    let meta = ctx.session.describe_key(&key.locator()).await?;
    check_ring(name, &meta)?;
    let record = ctx.remember(name, &key, &meta).await?;
    let primary = primary_of(ctx, &meta, Some(&record)).await?;
    Ok(render_with(name, &meta, Some(&record), primary.as_ref()))
}

/// The rotation a CryptoKey message asks for: both fields or neither (`None` inside: off).
fn rotation(body: &Body) -> GcpResult<Option<RotationSchedule>> {
    let period = body
        .string("rotationPeriod")?
        .map(|p| parse_duration("rotation_period", p))
        .transpose()?;
    let next = body
        .string("nextRotationTime")?
        .map(|t| parse_timestamp("next_rotation_time", t))
        .transpose()?;
    match (period, next) {
        (None, None) => Ok(None),
        (Some(p), Some(next)) => {
            if p < DAY || p % DAY != 0 {
                return Err(GcpError::invalid(format!(
                    "rotation_period must be a whole number of days of at least 1 day (86400s) in keygate, got {p}s."
                )));
            }
            if next <= OffsetDateTime::now_utc() {
                return Err(GcpError::invalid(
                    "next_rotation_time must be in the future.",
                ));
            }
            let days = u32::try_from(p / DAY)
                .map_err(|_| GcpError::invalid("rotation_period is too long."))?;
            Ok(Some(RotationSchedule {
                period_days: days,
                next_rotation: Some(next),
            }))
        }
        _ => Err(GcpError::invalid(
            "rotation_period and next_rotation_time must be set together.",
        )),
    }
}

/// `POST .../cryptoKeys?cryptoKeyId=`: one `create_key`.
pub async fn create(ctx: &Ctx<'_>, ring: &RingName) -> GcpResult<Value> {
    let body = ctx.body(KEY_FIELDS)?;
    let id = ctx
        .query
        .get("cryptoKeyId")
        .ok_or_else(|| GcpError::invalid("The field 'crypto_key_id' is required."))?
        .to_owned();
    check_id("crypto_key_id", &id)?;
    if ctx.query.get("skipInitialVersionCreation") == Some("true") {
        return Err(GcpError::invalid(
            "skip_initial_version_creation is not supported: keygate keys always have a version.",
        ));
    }
    let purpose = body
        .enumeration("purpose", PURPOSES)?
        .filter(|p| *p != "CRYPTO_KEY_PURPOSE_UNSPECIFIED")
        .ok_or_else(|| GcpError::invalid("The field 'crypto_key.purpose' is required."))?;
    let template = body
        .message("versionTemplate", &["protectionLevel", "algorithm"])?
        .unwrap_or_default();
    match template.enumeration("protectionLevel", PROTECTION_LEVELS)? {
        None | Some("PROTECTION_LEVEL_UNSPECIFIED" | "SOFTWARE") => {}
        Some(level) => {
            return Err(GcpError::invalid(format!(
                "Protection level {level} is not supported: keygate keys are SOFTWARE."
            )));
        }
    }
    let algo = Algorithm::for_create(
        purpose,
        template.enumeration("algorithm", super::super::model::ALGORITHMS)?,
    )?;
    if body.boolean("importOnly")? == Some(true) {
        return Err(GcpError::invalid(
            "import_only keys are not supported by keygate.",
        ));
    }
    if body.has("cryptoKeyBackend") || body.has("keyAccessJustificationsPolicy") {
        return Err(GcpError::invalid(
            "crypto_key_backend and key_access_justifications_policy are not supported by keygate.",
        ));
    }
    let mut labels = body.string_map("labels")?.unwrap_or_default();
    if labels.contains_key(RING_LABEL) {
        return Err(GcpError::invalid(format!(
            "The label `{RING_LABEL}` is reserved: keygate keeps the key ring in it."
        )));
    }
    let rotation = rotation(&body)?;
    if rotation.is_some() && purpose != "ENCRYPT_DECRYPT" {
        return Err(GcpError::invalid(
            "Only ENCRYPT_DECRYPT keys support automatic rotation.",
        ));
    }
    let destroy_seconds = match body.string("destroyScheduledDuration")? {
        None => DEFAULT_DESTROY_SECONDS,
        Some(d) => parse_duration("destroy_scheduled_duration", d)?,
    };
    let provider = ctx.provider(&ring.location).await?;
    let window = provider.capabilities.deletion_window;
    let days = destroy_seconds / DAY;
    if destroy_seconds % DAY != 0 || days < i64::from(window.min) || days > i64::from(window.max) {
        return Err(GcpError::invalid(format!(
            "destroy_scheduled_duration must be a whole number of days from {} to {} days for location {}.",
            window.min, window.max, provider.name
        )));
    }
    ctx.require_ring(ring, &provider.name).await?;
    if ring.ring != IMPLICIT_RING {
        labels.insert(RING_LABEL.to_owned(), ring.ring.clone());
    }
    let name = ring.key(id.clone());
    let req = CreateKeyRequest {
        origin: keygate_core::KeyOrigin::Generated,
        name: id,
        spec: algo.spec,
        usage: Some(algo.usage),
        description: String::new(),
        labels,
        rotation,
    };
    let meta = create_in_ring(ctx, &provider, &name, req).await?;
    let record = KeyRecord {
        provider: provider.name.clone(),
        key_name: name.key.clone(),
        key_uri: meta.uri.clone(),
        key_ring: ring.ring.clone(),
        algorithm: algo.name.to_owned(),
        destroy_seconds,
    };
    ctx.store()
        .put_key(&record, OffsetDateTime::now_utc())
        .await?;
    Ok(render(&name, &meta, Some(&record)))
}

/// Creates the keygate key of crypto key `name`: named as the id when that name is free in
/// the provider, else (the name is a key of another ring) named [`scoped_name`] and labelled
/// with its ring, so the same id in two rings is two keys, as in Cloud KMS. One `create_key`;
/// when the name is taken, one `describe_key` of it and, if it is in another ring, a second
/// `create_key`.
///
/// # Errors
/// ALREADY_EXISTS when the ring holds the id already.
async fn create_in_ring(
    ctx: &Ctx<'_>,
    provider: &ProviderSummary,
    name: &KeyName,
    mut req: CreateKeyRequest,
) -> GcpResult<KeyMetadata> {
    let exists = || GcpError::already_exists(format!("CryptoKey {name} already exists."));
    let plain = match ctx
        .session
        .create_key(Some(&provider.name), req.clone())
        .await
    {
        Err(Error::AlreadyExists(_)) => {
            let uri = format!("{}{}", provider.uri_prefix, name.key);
            ctx.session.describe_key(&KeyLocator::Uri(uri)).await?
        }
        other => return other.map_err(Into::into),
    };
    if in_ring(&plain, &name.ring.ring) {
        return Err(exists());
    }
    // The implicit ring is the keys without a ring label: a scoped key of it carries one.
    req.labels
        .insert(RING_LABEL.to_owned(), name.ring.ring.clone());
    req.name = scoped_name(&name.ring.ring, &name.key);
    match ctx.session.create_key(Some(&provider.name), req).await {
        Err(Error::AlreadyExists(_)) => Err(exists()),
        other => other.map_err(Into::into),
    }
}

/// `PATCH .../cryptoKeys/{k}?updateMask=`: `describe_key` (to check the ring and read the
/// labels), then `set_rotation` when the mask names the rotation and `update_key` when it
/// names the labels: one audit row per part.
pub async fn update(ctx: &Ctx<'_>, name: &KeyName) -> GcpResult<Value> {
    let body = ctx.body(KEY_FIELDS)?;
    let mask = ctx
        .query
        .get("updateMask")
        .ok_or_else(|| GcpError::invalid("The field 'update_mask' is required."))?;
    let (mut want_rotation, mut want_labels) = (false, false);
    for path in mask.split(',').map(str::trim) {
        match path {
            "rotationPeriod" | "rotation_period" | "nextRotationTime" | "next_rotation_time" => {
                want_rotation = true;
            }
            "labels" => want_labels = true,
            other => {
                return Err(GcpError::invalid(format!(
                    "The update_mask path `{other}` is not supported (keygate updates rotation_period, next_rotation_time and labels)."
                )));
            }
        }
    }
    let rotation = if want_rotation {
        Some(rotation(&body)?)
    } else {
        None
    };
    let labels = body.string_map("labels")?.unwrap_or_default();
    if want_labels && labels.contains_key(RING_LABEL) {
        return Err(GcpError::invalid(format!(
            "The label `{RING_LABEL}` is reserved: keygate keeps the key ring in it."
        )));
    }
    let key: KeyTarget = ctx.key(name).await?;
    let mut meta = ctx.session.describe_key(&key.locator()).await?;
    check_ring(name, &meta)?;
    let purpose =
        Algorithm::of(&meta, key.record.as_ref().map(|r| r.algorithm.as_str())).map(|a| a.purpose);
    if matches!(rotation, Some(Some(_))) && purpose != Some("ENCRYPT_DECRYPT") {
        return Err(GcpError::invalid(
            "Only ENCRYPT_DECRYPT keys support automatic rotation.",
        ));
    }
    if let Some(schedule) = rotation {
        meta.rotation = ctx
            .session
            .set_rotation(&key.locator(), schedule)
            .await?
            .rotation;
    }
    if want_labels {
        let remove_labels = meta
            .labels
            .keys()
            .filter(|k| k.as_str() != RING_LABEL && !labels.contains_key(*k))
            .cloned()
            .collect();
        let update = KeyUpdate {
            description: None,
            set_labels: labels,
            remove_labels,
        };
        meta = ctx.session.update_key(&key.locator(), update).await?;
    }
    let record = ctx.remember(name, &key, &meta).await?;
    Ok(render(name, &meta, Some(&record)))
}
