//! The route table and the handlers: parse, call the caller's session, render.

mod admin;
mod audit;
mod crypto;
mod import;
mod keys;
mod versions;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use keygate_core::access::Action;
use keygate_core::api::{CircuitState, Gateway as _, GatewayStatus};

use super::error::ApiError;
use super::extract::{Caller, Json};
use super::{RestState, Routes, Verb};
use crate::metrics::ExtraGauges;
use keygate_core::wire::{Noop, Providers, Status, WhoAmI};

/// What handlers return.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// Registers every route. The OpenAPI document must list exactly these (a test checks).
pub(crate) fn routes(r: Routes) -> Routes {
    use Action::*;
    use Verb::{Delete, Get, Patch, Post, Put};
    r.add(Get, "/v1/health", None, health)
        .add(Get, "/v1/ready", None, ready)
        .add(Get, "/metrics", None, metrics)
        .add(Get, "/v1/openapi.json", None, openapi)
        .add(Get, "/v1/noop", None, noop)
        .add(Get, "/v1/whoami", None, whoami)
        .add(Get, "/v1/providers", None, providers)
        .add(Get, "/v1/status", Some(StatusRead), status)
        .add(Get, "/v1/keys", Some(KeysList), keys::list)
        .add(Post, "/v1/keys", Some(KeysCreate), keys::create)
        .add(Get, "/v1/keys/{key}", Some(KeysDescribe), keys::describe)
        .add(Patch, "/v1/keys/{key}", Some(KeysUpdate), keys::update)
        .add(
            Post,
            "/v1/keys/{key}/enable",
            Some(KeysEnable),
            keys::enable,
        )
        .add(
            Post,
            "/v1/keys/{key}/disable",
            Some(KeysDisable),
            keys::disable,
        )
        .add(
            Post,
            "/v1/keys/{key}/delete",
            Some(KeysDelete),
            keys::delete,
        )
        .add(
            Post,
            "/v1/keys/{key}/undelete",
            Some(KeysUndelete),
            keys::undelete,
        )
        .add(
            Get,
            "/v1/keys/{key}/versions",
            Some(KeysDescribe),
            keys::versions,
        )
        .add(
            Post,
            "/v1/keys/{key}/versions/{version}/enable",
            Some(KeysEnable),
            versions::enable,
        )
        .add(
            Post,
            "/v1/keys/{key}/versions/{version}/disable",
            Some(KeysDisable),
            versions::disable,
        )
        .add(
            Post,
            "/v1/keys/{key}/versions/{version}/destroy",
            Some(KeysDelete),
            versions::destroy,
        )
        .add(
            Post,
            "/v1/keys/{key}/versions/{version}/restore",
            Some(KeysUndelete),
            versions::restore,
        )
        .add(
            Post,
            "/v1/keys/{key}/versions/{version}/primary",
            Some(KeysRotate),
            versions::primary,
        )
        .add(
            Get,
            "/v1/keys/{key}/versions/{version}/public-key",
            Some(KeysPublicKey),
            versions::public_key,
        )
        .add(
            Post,
            "/v1/keys/{key}/versions/{version}/sign",
            Some(CryptoSign),
            versions::sign,
        )
        .add(
            Post,
            "/v1/keys/{key}/versions/{version}/verify",
            Some(CryptoVerify),
            versions::verify,
        )
        .add(
            Post,
            "/v1/keys/{key}/versions/{version}/mac",
            Some(CryptoMac),
            versions::mac,
        )
        .add(
            Post,
            "/v1/keys/{key}/versions/{version}/mac/verify",
            Some(CryptoMac),
            versions::mac_verify,
        )
        .add(
            Post,
            "/v1/keys/{key}/versions/{version}/decrypt",
            Some(CryptoDecrypt),
            versions::decrypt,
        )
        .add(
            Post,
            "/v1/keys/{key}/rotate",
            Some(KeysRotate),
            keys::rotate,
        )
        .add(
            Get,
            "/v1/keys/{key}/rotation",
            Some(KeysDescribe),
            keys::get_rotation,
        )
        .add(
            Put,
            "/v1/keys/{key}/rotation",
            Some(KeysRotate),
            keys::set_rotation,
        )
        .add(
            Get,
            "/v1/keys/{key}/aws-arn",
            Some(KeysDescribe),
            keys::aws_arn,
        )
        .add(
            Get,
            "/v1/keys/{key}/public-key",
            Some(KeysPublicKey),
            keys::public_key,
        )
        .add(
            Post,
            "/v1/keys/{key}/import-parameters",
            Some(KeysImport),
            import::parameters,
        )
        .add(
            Post,
            "/v1/keys/{key}/import",
            Some(KeysImport),
            import::import,
        )
        .add(
            Post,
            "/v1/keys/{key}/delete-material",
            Some(KeysImport),
            import::delete_material,
        )
        .add(
            Get,
            "/v1/keys/{key}/policy",
            Some(KeysPolicyGet),
            keys::get_policy,
        )
        .add(
            Put,
            "/v1/keys/{key}/policy",
            Some(KeysPolicySet),
            keys::set_policy,
        )
        .add(Post, "/v1/encrypt", Some(CryptoEncrypt), crypto::encrypt)
        .add(
            Post,
            "/v1/encrypt-native",
            Some(CryptoEncrypt),
            crypto::encrypt_native,
        )
        .add(Post, "/v1/decrypt", Some(CryptoDecrypt), crypto::decrypt)
        .add(Post, "/v1/random", Some(RandomGenerate), crypto::random)
        .add(
            Post,
            "/v1/generate-data-key",
            Some(CryptoGenerateDataKey),
            crypto::generate_data_key,
        )
        .add(
            Post,
            "/v1/envelope/begin",
            Some(CryptoEncrypt),
            crypto::begin_envelope,
        )
        .add(
            Post,
            "/v1/envelope/open",
            Some(CryptoDecrypt),
            crypto::open_envelope,
        )
        .add(
            Post,
            "/v1/envelope/rewrap",
            Some(CryptoEncrypt),
            crypto::rewrap_envelope,
        )
        .add(Post, "/v1/sign", Some(CryptoSign), crypto::sign)
        .add(Post, "/v1/verify", Some(CryptoVerify), crypto::verify)
        .add(Post, "/v1/mac", Some(CryptoMac), crypto::mac)
        .add(Post, "/v1/mac/verify", Some(CryptoMac), crypto::mac_verify)
        .add(Get, "/v1/aliases", Some(AliasesList), admin::list_aliases)
        .add(Post, "/v1/aliases", Some(AliasesWrite), admin::create_alias)
        .add(
            Put,
            "/v1/aliases/{name}",
            Some(AliasesWrite),
            admin::update_alias,
        )
        .add(
            Delete,
            "/v1/aliases/{name}",
            Some(AliasesWrite),
            admin::delete_alias,
        )
        .add(Get, "/v1/audit", Some(AuditRead), audit::query)
        .add(Get, "/v1/audit/stream", Some(AuditRead), audit::stream)
        .add(Get, "/v1/audit/verify", Some(AuditRead), audit::verify)
        .add(Get, "/v1/cost", Some(AuditRead), audit::cost)
        .add(
            Get,
            "/v1/audit/checkpoint",
            Some(AuditRead),
            audit::checkpoint,
        )
        .add(Get, "/v1/audit/proof", Some(AuditRead), audit::proof)
        .add(
            Get,
            "/v1/audit/consistency",
            Some(AuditRead),
            audit::consistency,
        )
        .add(Get, "/v1/tokens", Some(TokensList), admin::list_tokens)
        .add(Post, "/v1/tokens", Some(TokensCreate), admin::create_token)
        .add(
            Delete,
            "/v1/tokens/{id}",
            Some(TokensRevoke),
            admin::revoke_token,
        )
        .add(Get, "/v1/policy", Some(PolicyGet), admin::get_policy)
        .add(Put, "/v1/policy", Some(PolicySet), admin::set_policy)
}

/// Unknown paths: the typed 404.
pub async fn no_route() -> ApiError {
    ApiError::no_route()
}

/// A known path with another method: typed 405.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_argument",
        "method not allowed on this endpoint",
    )
}

async fn health() -> Json<Status> {
    Json(Status {
        status: "ok".into(),
        providers_down: Vec::new(),
    })
}

async fn ready(State(state): State<RestState>) -> ApiResult<Json<Status>> {
    state.edge.service.ready().await?;
    // A provider that is down does not fail readiness; the answer names it.
    let providers_down = state
        .edge
        .service
        .registry()
        .circuits()
        .into_iter()
        .filter(|(_, c)| c.state != CircuitState::Closed)
        .map(|(name, _)| name)
        .collect();
    Ok(Json(Status {
        status: "ready".into(),
        providers_down,
    }))
}

async fn metrics(State(state): State<RestState>) -> impl IntoResponse {
    let stats = state.edge.service.audit().stats();
    let mut text = state.edge.metrics.render(ExtraGauges {
        audit_rows: stats.rows,
        audit_failed_batches: stats.failed_batches,
        circuits: state.edge.service.registry().circuits(),
        audit_batch_rows: stats.batch_rows,
        store_calls: state.edge.service.store_calls(),
    });
    let leadership = state.edge.service.leadership();
    crate::metrics::render_scheduler_leader(&mut text, leadership.replica(), leadership.leads());
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

/// The gateway's health as the answering process sees it (`status:read`; not audited
/// unless refused).
async fn status(Caller(s): Caller) -> ApiResult<Json<GatewayStatus>> {
    Ok(Json(s.status().await?))
}
