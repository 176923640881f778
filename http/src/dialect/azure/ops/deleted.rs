//! Soft delete: DELETE /keys/{n} schedules the key's deletion after the retention; deleted
//! keys are keys pending deletion. The vault is purge-protected: purge is 403, and the key
//! is destroyed when its retention ends.

use axum::response::Response;
use keygate_core::KeyLocator;
use keygate_core::api::Gateway as _;
use keygate_core::{Error, KeyMetadata, KeyState};

use super::super::Ctx;
use super::super::error::AzureError;
use super::super::wire::{
    Attributes, DeletedKeyBundle, DeletedKeyItem, Deletion, JsonWebKey, KeyBundle, KeyItem,
    ListResult,
};
use super::by_name;
use super::keys::{bundle, live_keys, paginate};
use super::{next_link, ok, page_params};

/// The deleted-key bundle of `meta` (no public numbers: one Gateway call).
fn deleted_bundle(
    ctx: &Ctx<'_>,
    name: &str,
    meta: &KeyMetadata,
) -> Result<DeletedKeyBundle, AzureError> {
    let deletion = Deletion::of(meta, &ctx.base, ctx.retention)
        .ok_or_else(|| AzureError::deleted_key_not_found(name))?;
    let kid = ctx.kid(name, meta.primary_version.as_deref());
    Ok(DeletedKeyBundle {
        bundle: KeyBundle {
            key: JsonWebKey::of(meta, kid, None)?,
            attributes: Attributes::of(meta, ctx.retention),
            tags: meta.labels.clone(),
        },
        deletion,
    })
}

/// A key `name` pending deletion, else 404.
async fn deleted_key(ctx: &Ctx<'_>, name: &str, op: &str) -> Result<KeyMetadata, AzureError> {
    match ctx.session.describe_key(&by_name(name)).await {
        Ok(meta) if matches!(meta.state, KeyState::PendingDeletion { .. }) => Ok(meta),
        Ok(_) | Err(Error::NotFound(_)) => Err(AzureError::deleted_key_not_found(name)),
        Err(e) => Err(ctx.err(op, Some(name))(e)),
    }
}

/// DELETE /keys/{n}: `schedule_deletion` after the retention.
pub(super) async fn delete(ctx: &Ctx<'_>, name: &str) -> Result<Response, AzureError> {
    let meta = match ctx
        .session
        .schedule_deletion(&by_name(name), ctx.retention)
        .await
    {
        Ok(meta) => meta,
        // Deleting a deleted key: Azure does not find it.
        Err(Error::InvalidState(_)) => return Err(AzureError::key_not_found(name)),
        Err(e) => return Err(ctx.err("delete", Some(name))(e)),
    };
    Ok(ok(&deleted_bundle(ctx, name, &meta)?))
}

/// GET /deletedkeys: one `list` row per page.
pub(super) async fn list(ctx: &Ctx<'_>) -> Result<Response, AzureError> {
    let (max, after) = page_params(ctx)?;
    let keys = live_keys(ctx, true).await?;
    let (page, next) = paginate(keys, max, after.as_deref());
    let value: Vec<DeletedKeyItem> = page
        .iter()
        .filter_map(|k| {
            Some(DeletedKeyItem {
                item: KeyItem {
                    kid: ctx.kid(&k.name, None),
                    attributes: Attributes::of(k, ctx.retention),
                    tags: Some(k.labels.clone()),
                },
                deletion: Deletion::of(k, &ctx.base, ctx.retention)?,
            })
        })
        .collect();
    Ok(ok(&ListResult {
        value,
        next_link: next.map(|t| next_link(ctx, "/deletedkeys", max, &t)),
    }))
}

/// GET /deletedkeys/{n}: `describe`.
pub(super) async fn get(ctx: &Ctx<'_>, name: &str) -> Result<Response, AzureError> {
    let meta = deleted_key(ctx, name, "get").await?;
    Ok(ok(&deleted_bundle(ctx, name, &meta)?))
}

/// DELETE /deletedkeys/{n}: `describe`, then 403 (purge protection) for a deleted key.
pub(super) async fn purge(ctx: &Ctx<'_>, name: &str) -> Result<Response, AzureError> {
    deleted_key(ctx, name, "purge").await?;
    Err(AzureError::purge_protected(name))
}

/// POST /deletedkeys/{n}/recover: `cancel_deletion`, then `enable` (keygate's undelete
/// leaves a key disabled; Azure's recover gives back a usable key), + the public key.
pub(super) async fn recover(ctx: &Ctx<'_>, name: &str) -> Result<Response, AzureError> {
    let meta = match ctx.session.cancel_deletion(&by_name(name)).await {
        Ok(meta) => meta,
        Err(Error::InvalidState(_) | Error::NotFound(_)) => {
            return Err(AzureError::deleted_key_not_found(name));
        }
        Err(e) => return Err(ctx.err("recover", Some(name))(e)),
    };
    let meta = if meta.state.is_usable() {
        meta
    } else {
        ctx.session
            .enable_key(&KeyLocator::of(&meta))
            .await
            .map_err(ctx.err("recover", Some(name)))?
    };
    Ok(ok(&bundle(ctx, name, &meta, None).await?))
}
