//! The route table and the handlers: parse, call the caller's session, render.

mod admin;
mod audit;
mod crypto;
mod keys;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use keygate_core::api::Gateway as _;

use super::dto::{Noop, Providers, Status, WhoAmI};
use super::error::ApiError;
use super::extract::{Caller, Json};
use super::metrics::ExtraGauges;
use super::{AppState, Routes, Verb};

/// What handlers return.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// Registers every route. The OpenAPI document must list exactly these (a test checks).
pub(crate) fn routes(r: Routes) -> Routes {
    use Verb::{Delete, Get, Patch, Post, Put};
    r.add(Get, "/v1/health", health)
        .add(Get, "/v1/ready", ready)
        .add(Get, "/metrics", metrics)
        .add(Get, "/v1/openapi.json", openapi)
        .add(Get, "/v1/noop", noop)
        .add(Get, "/v1/whoami", whoami)
        .add(Get, "/v1/providers", providers)
        .add(Get, "/v1/keys", keys::list)
        .add(Post, "/v1/keys", keys::create)
        .add(Get, "/v1/keys/{key}", keys::describe)
        .add(Patch, "/v1/keys/{key}", keys::update)
        .add(Post, "/v1/keys/{key}/enable", keys::enable)
        .add(Post, "/v1/keys/{key}/disable", keys::disable)
        .add(Post, "/v1/keys/{key}/delete", keys::delete)
        .add(Post, "/v1/keys/{key}/undelete", keys::undelete)
        .add(Get, "/v1/keys/{key}/versions", keys::versions)
        .add(Post, "/v1/keys/{key}/rotate", keys::rotate)
        .add(Get, "/v1/keys/{key}/rotation", keys::get_rotation)
        .add(Put, "/v1/keys/{key}/rotation", keys::set_rotation)
        .add(Get, "/v1/keys/{key}/public-key", keys::public_key)
        .add(Get, "/v1/keys/{key}/policy", keys::get_policy)
        .add(Put, "/v1/keys/{key}/policy", keys::set_policy)
        .add(Post, "/v1/encrypt", crypto::encrypt)
        .add(Post, "/v1/decrypt", crypto::decrypt)
        .add(Post, "/v1/generate-data-key", crypto::generate_data_key)
        .add(Post, "/v1/envelope/begin", crypto::begin_envelope)
        .add(Post, "/v1/envelope/open", crypto::open_envelope)
        .add(Post, "/v1/sign", crypto::sign)
        .add(Post, "/v1/verify", crypto::verify)
        .add(Post, "/v1/mac", crypto::mac)
        .add(Post, "/v1/mac/verify", crypto::mac_verify)
        .add(Get, "/v1/aliases", admin::list_aliases)
        .add(Post, "/v1/aliases", admin::create_alias)
        .add(Put, "/v1/aliases/{name}", admin::update_alias)
        .add(Delete, "/v1/aliases/{name}", admin::delete_alias)
        .add(Get, "/v1/audit", audit::query)
        .add(Get, "/v1/audit/stream", audit::stream)
        .add(Get, "/v1/audit/verify", audit::verify)
        .add(Get, "/v1/tokens", admin::list_tokens)
        .add(Post, "/v1/tokens", admin::create_token)
        .add(Delete, "/v1/tokens/{id}", admin::revoke_token)
        .add(Get, "/v1/policy", admin::get_policy)
        .add(Put, "/v1/policy", admin::set_policy)
}

/// Unknown paths: the typed 404.
pub(crate) async fn no_route() -> ApiError {
    ApiError::no_route()
}

/// A known path with another method: typed 405.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_argument",
        "method not allowed on this endpoint",
    )
}

async fn health() -> Json<Status> {
    Json(Status {
        status: "ok".into(),
    })
}

async fn ready(State(state): State<AppState>) -> ApiResult<Json<Status>> {
    state.service.ready().await?;
    Ok(Json(Status {
        status: "ready".into(),
    }))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let stats = state.service.audit().stats();
    let text = state.metrics.render(ExtraGauges {
        audit_rows: stats.rows,
        audit_failed_batches: stats.failed_batches,
    });
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
}

async fn openapi() -> Json<serde_json::Value> {
    Json(super::openapi::document())
}

/// Authenticated and rate-limited like every call, but no provider call and no audit row:
/// the benchmark's baseline for the cost of the HTTP stack itself.
async fn noop(_caller: Caller) -> Json<Noop> {
    Json(Noop { ok: true })
}

async fn whoami(Caller(s): Caller) -> ApiResult<Json<WhoAmI>> {
    Ok(Json(s.whoami().await?))
}

async fn providers(Caller(s): Caller) -> ApiResult<Json<Providers>> {
    Ok(Json(s.providers().await?))
}
