//! The operations, one file per concept: keys (create, get, list, versions, update), deleted
//! keys (delete, list, get, recover, purge), rotation (rotate, policy) and crypto.

pub(super) mod crypto;
mod deleted;
mod gcm;
pub(super) mod keys;
pub(super) mod rotation;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::AzureError;
use super::route::Route;
use super::wire::{RandomParams, b64, unb64};
use super::{API_VERSIONS, Ctx};
use keygate_core::KeyLocator;
use keygate_core::api::Gateway as _;

/// Azure's page size limits (`maxresults`).
const MAX_RESULTS: usize = 25;

/// Runs `route`.
pub(super) async fn dispatch(
    ctx: &Ctx<'_>,
    route: Route,
    body: &[u8],
) -> Result<Response, AzureError> {
    match route {
        Route::ListKeys => keys::list(ctx).await,
        Route::CreateKey(n) => keys::create(ctx, &n, body).await,
        Route::GetKey(n, v) => keys::get(ctx, &n, v.as_deref()).await,
        Route::UpdateKey(n, v) => keys::update(ctx, &n, v.as_deref(), body).await,
        Route::ListVersions(n) => keys::versions(ctx, &n).await,
        Route::DeleteKey(n) => deleted::delete(ctx, &n).await,
        Route::ListDeleted => deleted::list(ctx).await,
        Route::GetDeleted(n) => deleted::get(ctx, &n).await,
        Route::PurgeDeleted(n) => deleted::purge(ctx, &n).await,
        Route::RecoverDeleted(n) => deleted::recover(ctx, &n).await,
        Route::Rotate(n) => rotation::rotate(ctx, &n).await,
        Route::GetRotationPolicy(n) => rotation::get_policy(ctx, &n).await,
        Route::SetRotationPolicy(n) => rotation::set_policy(ctx, &n, body).await,
        Route::Crypto(n, v, op) => crypto::run(ctx, &n, v.as_deref(), op, body).await,
        Route::Random => random(ctx, body).await,
        Route::Unsupported(op) => Err(AzureError::bad_parameter(format!(
            "keygate does not support the {op} operation."
        ))),
    }
}

/// 200 with `value` as JSON.
/// The keygate key a vault key name names: a key of that name in any provider (never a
/// URI or an alias, whatever the name looks like).
pub(super) fn by_name(name: &str) -> KeyLocator {
    KeyLocator::Name(name.to_owned())
}

pub(super) fn ok<T: Serialize>(value: &T) -> Response {
    (StatusCode::OK, Json(value)).into_response()
}

/// The JSON body, or 400 BadParameter for a missing, malformed or mistyped one.
pub(super) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, AzureError> {
    if body.is_empty() {
        return Err(AzureError::bad_parameter("The request body is missing."));
    }
    serde_json::from_slice(body).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Data => "has a missing or mistyped field",
            _ => "is not valid JSON",
        };
        AzureError::bad_parameter(format!(
            "The request body {what} (line {}, column {}).",
            e.line(),
            e.column()
        ))
    })
}

/// `maxresults` (1–25, default 25) and the decoded `$skiptoken` of a listing.
pub(super) fn page_params(ctx: &Ctx<'_>) -> Result<(usize, Option<String>), AzureError> {
    let max = match ctx.query.get("maxresults") {
        None => MAX_RESULTS,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=MAX_RESULTS).contains(&n) => n,
            _ => {
                return Err(AzureError::bad_parameter(format!(
                    "maxresults must be a number from 1 to {MAX_RESULTS}."
                )));
            }
        },
    };
    let token = match ctx.query.get("$skiptoken") {
        None => None,
        Some(t) => Some(
            unb64("$skiptoken", t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| AzureError::bad_parameter("The $skiptoken is not valid."))?,
        ),
    };
    Ok((max, token))
}

/// The absolute `nextLink` for `path` continuing after `token`.
pub(super) fn next_link(ctx: &Ctx<'_>, path: &str, max: usize, token: &str) -> String {
    let version = ctx
        .query
        .get("api-version")
        .map_or(API_VERSIONS[API_VERSIONS.len() - 1], String::as_str);
    format!(
        "{}{path}?api-version={version}&maxresults={max}&$skiptoken={}",
        ctx.base,
        b64(token.as_bytes())
    )
}

/// POST /rng: random bytes from keygate's CSPRNG (`crypto:random`).
async fn random(ctx: &Ctx<'_>, body: &[u8]) -> Result<Response, AzureError> {
    let p: RandomParams = parse(body)?;
    let count = usize::try_from(p.count)
        .ok()
        .filter(|n| (1..=128).contains(n))
        .ok_or_else(|| AzureError::bad_parameter("count must be from 1 to 128."))?;
    let bytes = ctx
        .session
        .generate_random(count)
        .await
        .map_err(ctx.err("getRandomBytes", None))?;
    #[derive(Serialize)]
    struct RandomBytes {
        value: String,
    }
    Ok(ok(&RandomBytes { value: b64(&bytes) }))
}
