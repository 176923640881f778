//! CryptoKeyVersions: keygate key versions. keygate rotates, enables, disables and deletes
//! whole keys, so a few Cloud KMS version operations are emulated (see each function).

use std::collections::HashSet;

use keygate_core::access::Action;
use keygate_core::api::Gateway as _;
use keygate_core::{Error, KeyState, KeyVersion, VersionState};
use keygate_server::store::ObjectWrite;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::super::error::{GcpError, GcpResult};
use super::super::model::{Algorithm, SUPPORTED, VERSION_STATES, VersionView, version_state};
use super::super::path::{KeyName, VersionName};
use super::super::wire::crc;
use super::keys::render;
use super::{Ctx, KeyTarget, check_ring, page};

const VERSION_FIELDS: &[&str] = &[
    "name",
    "state",
    "protectionLevel",
    "algorithm",
    "attestation",
    "createTime",
    "generateTime",
    "destroyTime",
    "destroyEventTime",
    "importJob",
    "importTime",
    "importFailureReason",
    "generationFailureReason",
    "externalDestructionFailureReason",
    "externalProtectionLevelOptions",
    "reimportEligible",
];

fn algorithm_of(key: &KeyTarget) -> Option<&'static str> {
    key.record
        .as_ref()
        .and_then(|r| Algorithm::named(&r.algorithm))
        .map(|a| a.name)
}

fn render_version(
    name: &VersionName,
    key: &KeyTarget,
    v: &KeyVersion,
    key_state: Option<&KeyState>,
    destroy: Option<OffsetDateTime>,
) -> Value {
    let destroy_time = match key_state {
        Some(KeyState::PendingDeletion { deletion_date }) => Some(*deletion_date),
        _ => destroy.map(|t| t + time::Duration::seconds(key.destroy_seconds())),
    };
    VersionView {
        name,
        state: version_state(key_state, v.state, destroy.is_some()),
        algorithm: algorithm_of(key),
        created: Some(v.created),
        destroy_time,
    }
    .json()
}

/// The versions of a key, the dialect's destroy requests for them, and the key's state,
/// which every version shares in keygate (it enables, disables and deletes whole keys), so a
/// disabled key's versions read DISABLED and a key pending deletion's read DESTROY_SCHEDULED,
/// as Cloud KMS shows them. One session call: one Cloud KMS method stays one audit row.
async fn versions_of(
    ctx: &Ctx<'_>,
    key: &KeyTarget,
) -> GcpResult<(Vec<KeyVersion>, Vec<(String, OffsetDateTime)>, KeyState)> {
    let (versions, state) = ctx
        .session
        .list_versions_and_state(&key.locator())
        .await?
        .value;
    let destroys = ctx.store().destroys(&key.uri).await?;
    Ok((versions, destroys, state))
}

fn find<'v>(versions: &'v [KeyVersion], name: &VersionName) -> GcpResult<&'v KeyVersion> {
    versions
        .iter()
        .find(|v| v.id == name.version)
        .ok_or_else(|| GcpError::not_found(format!("CryptoKeyVersion {name} not found.")))
}

fn destroy_of(destroys: &[(String, OffsetDateTime)], id: &str) -> Option<OffsetDateTime> {
    destroys.iter().find(|(v, _)| v == id).map(|(_, t)| *t)
}

/// `GET .../cryptoKeyVersions`: one `list_versions` (and the key's state).
pub async fn list(ctx: &Ctx<'_>, name: &KeyName) -> GcpResult<Value> {
    let key = ctx.key(name).await?;
    let (mut versions, destroys, state) = versions_of(ctx, &key).await?;
    // Cloud KMS lists versions by name; keygate ids are numbers for local keys, so sort
    // numerically when they are.
    versions.sort_by_key(|v| (v.id.parse::<u64>().unwrap_or(u64::MAX), v.id.clone()));
    let (page_items, next, total) = page(&ctx.query, versions)?;
    let out: Vec<Value> = page_items
        .iter()
        .map(|v| {
            let vname = name.version(v.id.clone());
            render_version(&vname, &key, v, Some(&state), destroy_of(&destroys, &v.id))
        })
        .collect();
    let mut body = json!({ "cryptoKeyVersions": out, "totalSize": total });
    if let Some(t) = next {
        body["nextPageToken"] = json!(t);
    }
    Ok(body)
}

/// `GET .../cryptoKeyVersions/{v}`: one `list_versions` (and the key's state).
pub async fn get(ctx: &Ctx<'_>, name: &VersionName) -> GcpResult<Value> {
    let key = ctx.key(&name.key).await?;
    let (versions, destroys, state) = versions_of(ctx, &key).await?;
    let v = find(&versions, name)?;
    Ok(render_version(
        name,
        &key,
        v,
        Some(&state),
        destroy_of(&destroys, &v.id),
    ))
}

/// `POST .../cryptoKeyVersions`: one `rotate_key` (the new version becomes the primary, as
/// keygate's primary is always the newest version).
pub async fn create(ctx: &Ctx<'_>, name: &KeyName) -> GcpResult<Value> {
    let _ = ctx.body(VERSION_FIELDS)?;
    let key = ctx.key(name).await?;
    let v = ctx.session.rotate_key(&key.locator()).await?.value;
    Ok(render_version(
        &name.version(v.id.clone()),
        &key,
        &v,
        None,
        None,
    ))
}

/// `PATCH .../cryptoKeyVersions/{v}?updateMask=state`: keygate enables and disables whole
/// keys, so only the primary version's state may change (`list_versions`, then
/// `enable_key` or `disable_key`); another version is FAILED_PRECONDITION.
pub async fn update(ctx: &Ctx<'_>, name: &VersionName) -> GcpResult<Value> {
    let body = ctx.body(VERSION_FIELDS)?;
    match ctx.query.get("updateMask") {
        Some("state") => {}
        Some(other) => {
            return Err(GcpError::invalid(format!(
                "The update_mask path `{other}` is not supported (keygate updates `state`)."
            )));
        }
        None => return Err(GcpError::invalid("The field 'update_mask' is required.")),
    }
    let state = body.enumeration("state", VERSION_STATES)?;
    let key = ctx.key(&name.key).await?;
    let (versions, destroys, _) = versions_of(ctx, &key).await?;
    let v = find(&versions, name)?;
    if destroy_of(&destroys, &v.id).is_some() {
        return Err(GcpError::precondition(format!(
            "CryptoKeyVersion {name} is DESTROY_SCHEDULED; restore it first."
        )));
    }
    if !v.primary {
        return Err(GcpError::precondition(format!(
            "keygate enables and disables whole keys: only the primary version of {} can change state.",
            name.key
        )));
    }
    let meta = match state {
        Some("ENABLED") => ctx.session.enable_key(&key.locator()).await?,
        Some("DISABLED") => ctx.session.disable_key(&key.locator()).await?,
        _ => {
            return Err(GcpError::invalid(
                "crypto_key_version.state must be ENABLED or DISABLED.",
            ));
        }
    };
    Ok(render_version(name, &key, v, Some(&meta.state), None))
}

/// `:updatePrimaryVersion`: keygate's primary is always the newest version, so naming the
/// current primary succeeds (one `describe_key`) and any other is FAILED_PRECONDITION.
pub async fn update_primary(ctx: &Ctx<'_>, name: &KeyName) -> GcpResult<Value> {
    let body = ctx.body(&["name", "cryptoKeyVersionId"])?;
    let wanted = body
        .string("cryptoKeyVersionId")?
        .ok_or_else(|| GcpError::invalid("The field 'crypto_key_version_id' is required."))?
        .to_owned();
    let key = ctx.key(name).await?;
    let meta = ctx.session.describe_key(&key.locator()).await?;
    check_ring(name, &meta)?;
    if meta.primary_version.as_deref() != Some(wanted.as_str()) {
        return Err(GcpError::precondition(format!(
            "keygate's primary version is always the newest one ({}); version {wanted} cannot become primary. Create a new version instead.",
            meta.primary_version.as_deref().unwrap_or("none")
        )));
    }
    let record = ctx.remember(name, &key, &meta).await?;
    render(ctx, name, &meta, Some(&record)).await
}

/// `:destroy`: keygate deletes whole keys, not versions. The dialect records the request
/// (the version reads DESTROY_SCHEDULED from then on) after one `list_versions`, as one
/// audited `keys:delete` call on the key; when every
/// version of the key is destroy-scheduled, it calls `schedule_deletion` with the key's
/// destroyScheduledDuration, so a single version's destruction takes effect with the key's.
pub async fn destroy(ctx: &Ctx<'_>, name: &VersionName) -> GcpResult<Value> {
    let _ = ctx.body(&["name"])?;
    let key = ctx.key(&name.key).await?;
    let (versions, destroys, _) = versions_of(ctx, &key).await?;
    let v = find(&versions, name)?;
    if destroy_of(&destroys, &v.id).is_some()
        || matches!(
            v.state,
            VersionState::DestroyScheduled | VersionState::Destroyed
        )
    {
        return Err(GcpError::precondition(format!(
            "CryptoKeyVersion {name} is not in state ENABLED or DISABLED."
        )));
    }
    let now = OffsetDateTime::now_utc();
    let store = ctx.store();
    // The destroy request is a write of the dialect's own: authorized as `keys:delete` on
    // the key and audited, like the key deletion it may lead to.
    ctx.session
        .write_key_object(
            Action::KeysDelete,
            &key.locator(),
            ObjectWrite::AddDestroy {
                key_uri: key.uri.clone(),
                version: v.id.clone(),
                at: now,
            },
        )
        .await?;
    let scheduled: HashSet<&str> = destroys.iter().map(|(id, _)| id.as_str()).collect();
    let every = versions
        .iter()
        .all(|x| x.id == v.id || scheduled.contains(x.id.as_str()));
    let mut key_state = None;
    if every {
        let days = u32::try_from(key.destroy_seconds() / 86_400).unwrap_or(u32::MAX);
        match ctx.session.schedule_deletion(&key.locator(), days).await {
            Ok(meta) => key_state = Some(meta.state),
            Err(e) => {
                store.remove_destroy(&key.uri, &v.id).await?;
                return Err(e.into());
            }
        }
    }
    Ok(render_version(name, &key, v, key_state.as_ref(), Some(now)))
}

/// `:restore`: forgets the destroy request (one `list_versions`, then one audited
/// `keys:undelete` call on the key) and, when the key was
/// scheduled for deletion (every version destroyed, or deletion scheduled elsewhere), calls
/// `cancel_deletion`, after which keygate's key is DISABLED, as Cloud KMS leaves a restored
/// version.
pub async fn restore(ctx: &Ctx<'_>, name: &VersionName) -> GcpResult<Value> {
    let _ = ctx.body(&["name"])?;
    let key = ctx.key(&name.key).await?;
    let (versions, destroys, _) = versions_of(ctx, &key).await?;
    let v = find(&versions, name)?;
    let requested = destroy_of(&destroys, &v.id);
    let scheduled: HashSet<&str> = destroys.iter().map(|(id, _)| id.as_str()).collect();
    let every = versions.iter().all(|x| scheduled.contains(x.id.as_str()));
    let store = ctx.store();
    if let Some(at) = requested {
        ctx.session
            .write_key_object(
                Action::KeysUndelete,
                &key.locator(),
                ObjectWrite::RemoveDestroy {
                    key_uri: key.uri.clone(),
                    version: v.id.clone(),
                },
            )
            .await?;
        if !every {
            return Ok(render_version(name, &key, v, None, None));
        }
        match ctx.session.cancel_deletion(&key.locator()).await {
            Ok(meta) => Ok(render_version(name, &key, v, Some(&meta.state), None)),
            // Deletion was already cancelled another way: the record was all that was left.
            Err(Error::InvalidState(_)) => Ok(render_version(name, &key, v, None, None)),
            Err(e) => {
                store.add_destroy(&key.uri, &v.id, at).await?;
                Err(e.into())
            }
        }
    } else {
        match ctx.session.cancel_deletion(&key.locator()).await {
            Ok(meta) => Ok(render_version(name, &key, v, Some(&meta.state), None)),
            Err(Error::InvalidState(_)) => Err(GcpError::precondition(format!(
                "CryptoKeyVersion {name} is not in state DESTROY_SCHEDULED."
            ))),
            Err(e) => Err(e.into()),
        }
    }
}

/// `GET .../cryptoKeyVersions/{v}/publicKey`: one `get_public_key`, as PEM.
pub async fn public_key(ctx: &Ctx<'_>, name: &VersionName) -> GcpResult<Value> {
    match ctx.query.get("publicKeyFormat") {
        None | Some("PEM" | "PUBLIC_KEY_FORMAT_UNSPECIFIED" | "0" | "1") => {}
        Some(other) => {
            return Err(GcpError::invalid(format!(
                "Public key format {other} is not supported (keygate returns PEM)."
            )));
        }
    }
    let key = ctx.key(&name.key).await?;
    let pk = ctx
        .session
        .get_public_key(&key.locator(), Some(&name.version))
        .await?
        .value;
    let algorithm = key
        .record
        .as_ref()
        .and_then(|r| Algorithm::named(&r.algorithm))
        .filter(|a| a.spec == pk.spec)
        .or_else(|| SUPPORTED.iter().find(|a| a.spec == pk.spec).copied())
        .map_or("CRYPTO_KEY_VERSION_ALGORITHM_UNSPECIFIED", |a| a.name);
    let pem = pem::encode_config(
        &pem::Pem::new("PUBLIC KEY", pk.der.clone()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    );
    Ok(json!({
        "pem": pem,
        "algorithm": algorithm,
        "pemCrc32c": crc(pem.as_bytes()).to_string(),
        "name": name.key.version(pk.key_version.clone()).to_string(),
        "protectionLevel": "SOFTWARE",
        "publicKeyFormat": "PEM",
    }))
}
