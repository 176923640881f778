//! CryptoKeyVersions: keygate key versions, each with its own state, as in Cloud KMS: one
//! version is enabled, disabled, destroyed or restored at a time, and any enabled version of
//! an ENCRYPT_DECRYPT key can become the primary.

use keygate_core::access::Action;
use keygate_core::api::Gateway as _;
use keygate_core::{KeyState, KeyVersion, VersionState};
use keygate_server::store::ObjectWrite;
use serde_json::{Value, json};

use super::super::error::{GcpError, GcpResult};
use super::super::model::{Algorithm, SUPPORTED, VERSION_STATES, VersionView, version_state};
use super::super::path::{KeyName, VersionName};
use super::super::wire::crc;
use super::keys::{primary_of, render_with};
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

/// A version's JSON: its own state and `destroyTime`, under its key's state when that is
/// known (a key disabled or deleted as a whole shows every version so).
fn render_version(
    name: &VersionName,
    key: &KeyTarget,
    v: &KeyVersion,
    key_state: Option<&KeyState>,
) -> Value {
    let destroy_time = match key_state {
        Some(KeyState::PendingDeletion { deletion_date }) if v.destroy_time.is_none() => {
            Some(*deletion_date)
        }
        _ => v.destroy_time,
    };
    VersionView {
        name,
        state: version_state(key_state, v.state),
        algorithm: algorithm_of(key),
        created: Some(v.created),
        destroy_time,
    }
    .json()
}

/// The versions of a key and the key's state, in one session call (one Cloud KMS method
/// stays one audit row). Destroy requests recorded by an older keygate (which emulated
/// per-version destruction in `gcp_version_destroys`) are carried out first, natively: each
/// still-live version so recorded is destroyed (`keys:delete` on the key, naming the
/// version) and the record dropped (in one store transaction with its own `keys:delete`
/// audit row), so no version an operator destroyed comes back to use.
async fn versions_of(ctx: &Ctx<'_>, key: &KeyTarget) -> GcpResult<(Vec<KeyVersion>, KeyState)> {
    let locator = key.locator();
    let (mut versions, state) = ctx.session.list_versions_and_state(&locator).await?.value;
    let store = ctx.store();
    for (id, _) in store.destroys(&key.uri).await? {
        if let Some(v) = versions.iter_mut().find(|v| v.id == id)
            && matches!(v.state, VersionState::Enabled | VersionState::Disabled)
        {
            *v = ctx.session.destroy_version(&locator, &id).await?.value;
        }
        // Dropping the record is a write of its own: it commits with its audit row.
        ctx.session
            .write_key_object(
                Action::KeysDelete,
                &locator,
                ObjectWrite::RemoveDestroy {
                    key_uri: key.uri.clone(),
                    version: id.clone(),
                },
            )
            .await?;
    }
    Ok((versions, state))
}

fn find<'v>(versions: &'v [KeyVersion], name: &VersionName) -> GcpResult<&'v KeyVersion> {
    versions
        .iter()
        .find(|v| v.id == name.version)
        .ok_or_else(|| missing(name))
}

/// Cloud KMS's NOT_FOUND for a version the key does not have.
pub fn missing(name: &VersionName) -> GcpError {
    GcpError::not_found(format!("CryptoKeyVersion {name} not found."))
}

/// A keygate error about version `name`: NOT_FOUND with Cloud KMS's text when the version
/// (or its key) is missing, else as the error maps.
pub fn version_error(name: &VersionName) -> impl Fn(keygate_core::Error) -> GcpError + '_ {
    move |e| match e {
        keygate_core::Error::NotFound(_) => missing(name),
        other => other.into(),
    }
}

/// `GET .../cryptoKeyVersions`: one `list_versions` (and the key's state).
pub async fn list(ctx: &Ctx<'_>, name: &KeyName) -> GcpResult<Value> {
    let key = ctx.key(name).await?;
    let (mut versions, state) = versions_of(ctx, &key).await?;
    // Cloud KMS lists versions by name; keygate ids are numbers for local keys, so sort
    // numerically when they are.
    versions.sort_by_key(|v| (v.id.parse::<u64>().unwrap_or(u64::MAX), v.id.clone()));
    let (page_items, next, total) = page(&ctx.query, versions)?;
    let out: Vec<Value> = page_items
        .iter()
        .map(|v| render_version(&name.version(v.id.clone()), &key, v, Some(&state)))
        .collect();
    let mut body = json!({ "cryptoKeyVersions": out, "totalSize": total });
    if let Some(t) = next {
        body["nextPageToken"] = json!(t);
    }
    Ok(body)
}

/// `GET .../cryptoKeyVersions/{v}`: one `list_versions` (and the key's state); NOT_FOUND for
/// a version the key does not have.
pub async fn get(ctx: &Ctx<'_>, name: &VersionName) -> GcpResult<Value> {
    let key = ctx.key(&name.key).await?;
    let (versions, state) = versions_of(ctx, &key).await?;
    let v = find(&versions, name)?;
    Ok(render_version(name, &key, v, Some(&state)))
}

/// `POST .../cryptoKeyVersions`: one `rotate_key` (the new version becomes the primary, as
/// keygate's rotation makes it).
pub async fn create(ctx: &Ctx<'_>, name: &KeyName) -> GcpResult<Value> {
    let _ = ctx.body(VERSION_FIELDS)?;
    let key = ctx.key(name).await?;
    let v = ctx.session.rotate_key(&key.locator()).await?.value;
    Ok(render_version(&name.version(v.id.clone()), &key, &v, None))
}

/// `PATCH .../cryptoKeyVersions/{v}?updateMask=state`: `list_versions` (NOT_FOUND for a
/// missing version), then `enable_version` or `disable_version` of that version alone. A
/// version scheduled for destruction or destroyed is FAILED_PRECONDITION (restore it first).
/// Cloud KMS has no key-level state: enabling a version of a key disabled as a whole (a
/// restored key, or one disabled through another door) also enables the key (`enable_key`),
/// so the version is usable as the answer says.
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
    let enable = match body.enumeration("state", VERSION_STATES)? {
        Some("ENABLED") => true,
        Some("DISABLED") => false,
        _ => {
            return Err(GcpError::invalid(
                "crypto_key_version.state must be ENABLED or DISABLED.",
            ));
        }
    };
    let key = ctx.key(&name.key).await?;
    let (versions, mut state) = versions_of(ctx, &key).await?;
    find(&versions, name)?;
    let locator = key.locator();
    let changed = if enable {
        ctx.session.enable_version(&locator, &name.version).await
    } else {
        ctx.session.disable_version(&locator, &name.version).await
    };
    let v = changed.map_err(version_error(name))?.value;
    if enable && state == KeyState::Disabled {
        state = ctx.session.enable_key(&locator).await?.state;
    }
    Ok(render_version(name, &key, &v, Some(&state)))
}

/// `:updatePrimaryVersion`: one `set_primary_version` to any enabled version of an
/// ENCRYPT_DECRYPT key (Cloud KMS has primary versions for that purpose only: another is
/// FAILED_PRECONDITION, before any keygate call); a version that is not enabled is
/// FAILED_PRECONDITION naming its state, a missing one NOT_FOUND. Answers the key.
pub async fn update_primary(ctx: &Ctx<'_>, name: &KeyName) -> GcpResult<Value> {
    let body = ctx.body(&["name", "cryptoKeyVersionId"])?;
    let wanted = body
        .string("cryptoKeyVersionId")?
        .filter(|v| !v.is_empty())
        .ok_or_else(|| GcpError::invalid("The field 'crypto_key_version_id' is required."))?
        .to_owned();
    let mut key = ctx.key(name).await?;
    let algo = ctx.algorithm(name, &mut key).await?;
    if algo.purpose != "ENCRYPT_DECRYPT" {
        return Err(GcpError::precondition(format!(
            "CryptoKey {name} has purpose {}; only ENCRYPT_DECRYPT keys have a primary version.",
            algo.purpose
        )));
    }
    let meta = ctx
        .session
        .set_primary_version(&key.locator(), &wanted)
        .await
        .map_err(version_error(&name.version(wanted.clone())))?;
    check_ring(name, &meta)?;
    let record = ctx.remember(name, &key, &meta).await?;
    let primary = primary_of(ctx, &meta, Some(&record)).await?;
    Ok(render_with(name, &meta, Some(&record), primary.as_ref()))
}

/// `:destroy`: `list_versions` (NOT_FOUND for a missing version; FAILED_PRECONDITION for one
/// not ENABLED or DISABLED, as Cloud KMS), then `destroy_version`: the version is
/// DESTROY_SCHEDULED at once (it refuses every use from then on) with the `destroyTime` its
/// provider set, and the other versions are untouched. keygate keeps a key's primary version
/// while the key lives, so the primary is destroyed last, with its key: when every other
/// version is already scheduled or destroyed, the key is scheduled for deletion after its
/// destroyScheduledDuration (`schedule_deletion`) and all its versions read
/// DESTROY_SCHEDULED; while others live, destroying the primary is FAILED_PRECONDITION
/// (make another version primary first).
pub async fn destroy(ctx: &Ctx<'_>, name: &VersionName) -> GcpResult<Value> {
    let _ = ctx.body(&["name"])?;
    let key = ctx.key(&name.key).await?;
    let (versions, state) = versions_of(ctx, &key).await?;
    let v = find(&versions, name)?;
    let live = |x: &KeyVersion| matches!(x.state, VersionState::Enabled | VersionState::Disabled);
    if !live(v)
        || matches!(
            state,
            KeyState::PendingDeletion { .. } | KeyState::Destroyed
        )
    {
        return Err(GcpError::precondition(format!(
            "CryptoKeyVersion {name} is not in state ENABLED or DISABLED."
        )));
    }
    if v.primary && !versions.iter().any(|x| x.id != v.id && live(x)) {
        let days = u32::try_from(key.destroy_seconds() / 86_400).unwrap_or(u32::MAX);
        let meta = ctx.session.schedule_deletion(&key.locator(), days).await?;
        return Ok(render_version(name, &key, v, Some(&meta.state)));
    }
    let v = ctx
        .session
        .destroy_version(&key.locator(), &name.version)
        .await
        .map_err(version_error(name))?
        .value;
    Ok(render_version(name, &key, &v, None))
}

/// `:restore`: `list_versions`, then `restore_version`: the version comes back DISABLED, as
/// Cloud KMS leaves it (enable it with a PATCH of `state`). A key scheduled for deletion with
/// its last version (see [`destroy`]) has its deletion cancelled (`cancel_deletion`; the key
/// is then disabled, so the version reads DISABLED). A version that is not DESTROY_SCHEDULED
/// is FAILED_PRECONDITION, a missing one NOT_FOUND.
pub async fn restore(ctx: &Ctx<'_>, name: &VersionName) -> GcpResult<Value> {
    let _ = ctx.body(&["name"])?;
    let key = ctx.key(&name.key).await?;
    let (versions, state) = versions_of(ctx, &key).await?;
    let v = find(&versions, name)?.clone();
    let locator = key.locator();
    if matches!(state, KeyState::PendingDeletion { .. }) && v.state != VersionState::Destroyed {
        let meta = ctx.session.cancel_deletion(&locator).await?;
        let v = if v.state == VersionState::DestroyScheduled {
            ctx.session
                .restore_version(&locator, &name.version)
                .await
                .map_err(version_error(name))?
                .value
        } else {
            v
        };
        return Ok(render_version(name, &key, &v, Some(&meta.state)));
    }
    if v.state != VersionState::DestroyScheduled {
        return Err(GcpError::precondition(format!(
            "CryptoKeyVersion {name} is not in state DESTROY_SCHEDULED."
        )));
    }
    let v = ctx
        .session
        .restore_version(&locator, &name.version)
        .await
        .map_err(version_error(name))?
        .value;
    Ok(render_version(name, &key, &v, Some(&state)))
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
        .await
        .map_err(version_error(name))?
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
