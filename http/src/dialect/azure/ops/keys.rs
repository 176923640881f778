//! Keys: create, get, list, versions, update.
//!
//! A key bundle is the key's metadata plus, for RSA and EC keys, its public numbers: one
//! `describe` (or the operation's own answer) and one `public-key` row.

use std::collections::BTreeSet;

use axum::response::Response;
use keygate_core::KeyLocator;
use keygate_core::api::Gateway as _;
use keygate_core::{
    CreateKeyRequest, Error, KeyMetadata, KeySpec, KeyState, KeyUpdate, KeyUsage, KeyVersion,
    VersionState,
};

use super::super::Ctx;
use super::super::error::AzureError;
use super::super::route::valid_name;
use super::super::wire::{
    Attributes, CreateKeyParams, JsonWebKey, KeyBundle, KeyItem, ListResult, UpdateKeyParams,
};
use super::by_name;
use super::{next_link, ok, page_params, parse};

/// The bundle of key `name` (`meta`), at `version` (default: the primary). Enabled RSA and
/// EC keys read their public key (one more Gateway call); a disabled key's public key cannot
/// be read, so its bundle carries no public numbers.
pub(super) async fn bundle(
    ctx: &Ctx<'_>,
    name: &str,
    meta: &KeyMetadata,
    version: Option<&str>,
) -> Result<KeyBundle, AzureError> {
    let mut enabled = meta.state.is_usable();
    let (public, version) = if meta.spec.is_asymmetric() && meta.state.is_usable() {
        match ctx
            .session
            .get_public_key(&KeyLocator::of(meta), version)
            .await
        {
            Ok(pk) => {
                let v = pk.value.key_version.clone();
                (Some(pk.value), Some(v))
            }
            // A version that refuses use (disabled; the current one when none is named) is
            // shown, disabled and without its public key, as Key Vault shows a key whose
            // version is disabled.
            Err(Error::InvalidState(_)) => {
                enabled = false;
                (
                    None,
                    version
                        .map(str::to_owned)
                        .or_else(|| meta.primary_version.clone()),
                )
            }
            Err(e) => return Err(ctx.err("get", Some(name))(e)),
        }
    } else {
        (
            None,
            version
                .map(str::to_owned)
                .or_else(|| meta.primary_version.clone()),
        )
    };
    let kid = ctx.kid(name, version.as_deref());
    Ok(KeyBundle {
        key: JsonWebKey::of(meta, kid, public.as_ref())?,
        attributes: Attributes {
            enabled,
            ..Attributes::of(meta, ctx.retention)
        },
        tags: meta.labels.clone(),
    })
}

/// The live key `name`: a key pending deletion is not found, as in Azure.
pub(super) async fn describe(
    ctx: &Ctx<'_>,
    name: &str,
    op: &str,
) -> Result<KeyMetadata, AzureError> {
    let meta = ctx
        .session
        .describe_key(&by_name(name))
        .await
        .map_err(ctx.err(op, Some(name)))?;
    if matches!(
        meta.state,
        KeyState::PendingDeletion { .. } | KeyState::Destroyed
    ) {
        return Err(AzureError::key_not_found(name));
    }
    Ok(meta)
}

/// POST /keys/{n}/create: `create_key` in the configured provider (+ `disable` when created
/// disabled, + the public key).
pub(super) async fn create(ctx: &Ctx<'_>, name: &str, body: &[u8]) -> Result<Response, AzureError> {
    let p: CreateKeyParams = parse(body)?;
    if p.release_policy.is_some() {
        return Err(AzureError::bad_parameter(
            "keygate does not support key release policies.",
        ));
    }
    if let Some(a) = &p.attributes {
        a.check()?;
    }
    if p.public_exponent.is_some_and(|e| e != 65537) {
        return Err(AzureError::bad_parameter(
            "keygate RSA keys use the public exponent 65537.",
        ));
    }
    let spec = spec_of(&p)?;
    let mut req = CreateKeyRequest::new(name, spec);
    req.usage = usage_of(p.key_ops.as_deref().unwrap_or_default())?;
    req.labels = p.tags.unwrap_or_default().into_iter().collect();
    let mut meta = ctx
        .session
        .create_key(ctx.config.provider.as_deref(), req)
        .await
        .map_err(ctx.err("create", Some(name)))?;
    if p.attributes.and_then(|a| a.enabled) == Some(false) {
        meta = ctx
            .session
            .disable_key(&KeyLocator::of(&meta))
            .await
            .map_err(ctx.err("create", Some(name)))?;
    }
    Ok(ok(&bundle(ctx, name, &meta, None).await?))
}

/// GET /keys/{n}[/{v}]: `describe` (+ the public key; + `versions` to check a non-primary
/// version of a symmetric key).
pub(super) async fn get(
    ctx: &Ctx<'_>,
    name: &str,
    version: Option<&str>,
) -> Result<Response, AzureError> {
    let meta = describe(ctx, name, "get").await?;
    let mut state = None;
    if let Some(v) = version
        && !meta.spec.is_asymmetric()
        && meta.primary_version.as_deref() != Some(v)
    {
        let versions = ctx
            .session
            .list_versions(&KeyLocator::of(&meta))
            .await
            .map_err(ctx.err("get", Some(name)))?
            .value;
        let Some(found) = versions.iter().find(|x| x.id == v) else {
            return Err(AzureError::key_not_found(name));
        };
        state = Some(found.state);
    }
    let mut answer = bundle(ctx, name, &meta, version).await?;
    if let Some(state) = state {
        answer.attributes.enabled &= state == VersionState::Enabled;
    }
    Ok(ok(&answer))
}

/// GET /keys: one `list` row per page. Keys whose names Azure cannot spell (`_`, `.`) and
/// keys pending deletion are left out; names are unique across providers here (the first
/// provider's key wins, as name lookup does).
pub(super) async fn list(ctx: &Ctx<'_>) -> Result<Response, AzureError> {
    let (max, after) = page_params(ctx)?;
    let keys = live_keys(ctx, false).await?;
    let (page, next) = paginate(keys, max, after.as_deref());
    let value = page
        .iter()
        .map(|k| KeyItem {
            kid: ctx.kid(&k.name, None),
            attributes: Attributes::of(k, ctx.retention),
            tags: Some(k.labels.clone()),
        })
        .collect();
    Ok(ok(&ListResult {
        value,
        next_link: next.map(|t| next_link(ctx, "/keys", max, &t)),
    }))
}

/// The caller's keys addressable as Azure keys, sorted by name: live ones, or with
/// `deleted` the ones pending deletion.
pub(super) async fn live_keys(
    ctx: &Ctx<'_>,
    deleted: bool,
) -> Result<Vec<KeyMetadata>, AzureError> {
    let listing = ctx
        .session
        .list_keys(None)
        .await
        .map_err(ctx.err("list", None))?;
    for failure in &listing.errors {
        tracing::warn!(provider = %failure.provider, kind = %failure.kind, "azure dialect: a provider could not be listed");
    }
    let mut seen = BTreeSet::new();
    let mut keys: Vec<KeyMetadata> = listing
        .keys
        .into_iter()
        .filter(|k| {
            let pending = matches!(k.state, KeyState::PendingDeletion { .. });
            valid_name(&k.name)
                && k.state != KeyState::Destroyed
                && pending == deleted
                && seen.insert(k.name.clone())
        })
        .collect();
    keys.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(keys)
}

/// The page after `after` (a name) of at most `max` keys, and the next page's token.
pub(super) fn paginate(
    keys: Vec<KeyMetadata>,
    max: usize,
    after: Option<&str>,
) -> (Vec<KeyMetadata>, Option<String>) {
    let mut rest: Vec<KeyMetadata> = keys
        .into_iter()
        .filter(|k| after.is_none_or(|a| k.name.as_str() > a))
        .take(max + 1)
        .collect();
    let next = (rest.len() > max).then(|| {
        rest.truncate(max);
        rest.last().map(|k| k.name.clone()).unwrap_or_default()
    });
    (rest, next)
}

/// GET /keys/{n}/versions: one `versions` row per page; version items carry no tags
/// (keygate labels are per key).
pub(super) async fn versions(ctx: &Ctx<'_>, name: &str) -> Result<Response, AzureError> {
    let (max, after) = page_params(ctx)?;
    let skip = match after {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| AzureError::bad_parameter("The $skiptoken is not valid."))?,
    };
    let all = ctx
        .session
        .list_versions(&by_name(name))
        .await
        .map_err(ctx.err("list", Some(name)))?
        .value;
    let value: Vec<KeyItem> = all
        .iter()
        .skip(skip)
        .take(max)
        .map(|v| KeyItem {
            kid: ctx.kid(name, Some(&v.id)),
            attributes: version_attributes(v, ctx.retention),
            tags: None,
        })
        .collect();
    let end = skip + value.len();
    let next_link = (end < all.len()).then(|| {
        next_link(
            ctx,
            &format!("/keys/{name}/versions"),
            max,
            &end.to_string(),
        )
    });
    Ok(ok(&ListResult { value, next_link }))
}

fn version_attributes(v: &KeyVersion, retention: u32) -> Attributes {
    let created = v.created.unix_timestamp();
    Attributes {
        enabled: v.state == VersionState::Enabled,
        created,
        updated: created,
        recovery_level: "Recoverable",
        recoverable_days: retention,
        exportable: false,
    }
}

/// PATCH /keys/{n}[/{v}]: tags replace the key's labels (`describe` + `update`), and
/// `attributes.enabled` is `enable`/`disable`; then the public key for RSA and EC keys.
/// keygate keeps tags and state per key, so a version other than the primary is refused.
pub(super) async fn update(
    ctx: &Ctx<'_>,
    name: &str,
    version: Option<&str>,
    body: &[u8],
) -> Result<Response, AzureError> {
    let p: UpdateKeyParams = parse(body)?;
    if p.release_policy.is_some() {
        return Err(AzureError::bad_parameter(
            "keygate does not support key release policies.",
        ));
    }
    if let Some(a) = &p.attributes {
        a.check()?;
    }
    let err = ctx.err("update", Some(name));
    let mut meta = None;
    if p.tags.is_some() || p.key_ops.is_some() {
        let m = describe(ctx, name, "update").await?;
        if p.tags.is_some()
            && let Some(v) = version
            && m.primary_version.as_deref() != Some(v)
        {
            return Err(AzureError::bad_parameter(
                "keygate keeps tags per key: update the key or its current version.",
            ));
        }
        if let Some(ops) = &p.key_ops
            && usage_of(ops)?.is_some_and(|u| u != m.usage)
        {
            return Err(AzureError::bad_parameter(
                "The key_ops of a keygate key cannot change.",
            ));
        }
        meta = Some(m);
    }
    if let (Some(tags), Some(current)) = (p.tags, &meta) {
        let remove_labels = current
            .labels
            .keys()
            .filter(|k| !tags.contains_key(*k))
            .cloned()
            .collect();
        let update = KeyUpdate {
            description: None,
            set_labels: tags.into_iter().collect(),
            remove_labels,
        };
        meta = Some(
            ctx.session
                .update_key(&KeyLocator::of(current), update)
                .await
                .map_err(&err)?,
        );
    }
    let target = meta.as_ref().map_or_else(|| by_name(name), KeyLocator::of);
    // `enabled` on a version is that version's (Key Vault keeps it per version); on the key,
    // the whole key's.
    let mut changed = None;
    match (version, p.attributes.and_then(|a| a.enabled)) {
        (Some(v), Some(on)) => {
            let done = if on {
                ctx.session.enable_version(&target, v).await
            } else {
                ctx.session.disable_version(&target, v).await
            };
            changed = Some(done.map_err(&err)?.value);
        }
        (None, Some(true)) => meta = Some(ctx.session.enable_key(&target).await.map_err(&err)?),
        (None, Some(false)) => meta = Some(ctx.session.disable_key(&target).await.map_err(&err)?),
        (_, None) => {}
    }
    let meta = match meta {
        Some(m) => m,
        None => describe(ctx, name, "update").await?,
    };
    let mut answer = bundle(ctx, name, &meta, version).await?;
    if let Some(v) = changed {
        answer.attributes.enabled = meta.state.is_usable() && v.state == VersionState::Enabled;
    }
    Ok(ok(&answer))
}

/// The keygate spec of a create request.
pub(in crate::dialect::azure) fn spec_of(p: &CreateKeyParams) -> Result<KeySpec, AzureError> {
    let spec = match p.kty.as_str() {
        "RSA" | "RSA-HSM" => match p.key_size {
            None | Some(2048) => KeySpec::Rsa2048,
            Some(3072) => KeySpec::Rsa3072,
            Some(4096) => KeySpec::Rsa4096,
            Some(n) => {
                return Err(AzureError::bad_parameter(format!(
                    "RSA key size {n} is not supported: use 2048, 3072 or 4096."
                )));
            }
        },
        "EC" | "EC-HSM" => match p.crv.as_deref() {
            None | Some("P-256") => KeySpec::EcP256,
            Some("P-384") => KeySpec::EcP384,
            Some("P-521") => KeySpec::EcP521,
            Some("P-256K") => KeySpec::EcSecp256k1,
            Some(c) => {
                return Err(AzureError::bad_parameter(format!(
                    "Curve {c} is not supported: use P-256, P-384, P-521 or P-256K."
                )));
            }
        },
        "oct" | "oct-HSM" => match p.key_size {
            None | Some(256) => KeySpec::Aes256,
            Some(n) => {
                return Err(AzureError::bad_parameter(format!(
                    "oct key size {n} is not supported: use 256."
                )));
            }
        },
        other => {
            return Err(AzureError::bad_parameter(format!(
                "Key type {} is not supported: use RSA, EC or oct.",
                other.chars().take(32).collect::<String>()
            )));
        }
    };
    Ok(spec)
}

/// The keygate usage `key_ops` asks for (`None`: the spec's default). keygate keys either
/// encrypt or sign.
pub(in crate::dialect::azure) fn usage_of(ops: &[String]) -> Result<Option<KeyUsage>, AzureError> {
    let mut usage = None;
    for op in ops {
        let u = match op.as_str() {
            "encrypt" | "decrypt" | "wrapKey" | "unwrapKey" => KeyUsage::Encrypt,
            "sign" | "verify" => KeyUsage::Sign,
            other => {
                return Err(AzureError::bad_parameter(format!(
                    "Key operation {} is not supported.",
                    other.chars().take(32).collect::<String>()
                )));
            }
        };
        if usage.is_some_and(|prev| prev != u) {
            return Err(AzureError::bad_parameter(
                "A keygate key either encrypts (encrypt, decrypt, wrapKey, unwrapKey) or signs \
                 (sign, verify), not both.",
            ));
        }
        usage = Some(u);
    }
    Ok(usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(kty: &str, size: Option<u32>, crv: Option<&str>) -> CreateKeyParams {
        CreateKeyParams {
            kty: kty.into(),
            key_size: size,
            crv: crv.map(Into::into),
            key_ops: None,
            attributes: None,
            tags: None,
            public_exponent: None,
            release_policy: None,
        }
    }

    #[test]
    fn kty_maps_to_specs() {
        assert_eq!(
            spec_of(&params("RSA", None, None)).unwrap(),
            KeySpec::Rsa2048
        );
        assert_eq!(
            spec_of(&params("RSA-HSM", Some(4096), None)).unwrap(),
            KeySpec::Rsa4096
        );
        assert_eq!(
            spec_of(&params("EC", None, Some("P-384"))).unwrap(),
            KeySpec::EcP384
        );
        assert_eq!(
            spec_of(&params("EC-HSM", None, Some("P-521"))).unwrap(),
            KeySpec::EcP521
        );
        assert_eq!(
            spec_of(&params("EC", None, Some("P-256K"))).unwrap(),
            KeySpec::EcSecp256k1
        );
        assert!(spec_of(&params("EC", None, Some("P-192"))).is_err());
        assert_eq!(
            spec_of(&params("oct-HSM", None, None)).unwrap(),
            KeySpec::Aes256
        );
        assert!(spec_of(&params("RSA", Some(1024), None)).is_err());
        assert!(spec_of(&params("oct", Some(128), None)).is_err());
        assert!(spec_of(&params("DSA", None, None)).is_err());
    }

    #[test]
    fn key_ops_map_to_one_usage() {
        let ops = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            usage_of(&ops(&["sign", "verify"])).unwrap(),
            Some(KeyUsage::Sign)
        );
        assert_eq!(
            usage_of(&ops(&["wrapKey", "decrypt"])).unwrap(),
            Some(KeyUsage::Encrypt)
        );
        assert_eq!(usage_of(&[]).unwrap(), None);
        assert!(usage_of(&ops(&["sign", "encrypt"])).is_err());
        assert!(usage_of(&ops(&["export"])).is_err());
    }
}
