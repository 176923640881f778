//! Azure Key Vault keys REST, over TLS on its own listener (`[dialects.azure] listen`).
//!
//! Applications written against `azure_security_keyvault_keys` (or any Key Vault client) use
//! keygate by pointing the vault URL at `https://<listen>` and trusting keygate's certificate.
//! `/keys/{name}` is the keygate key of that name in any provider; versions are keygate
//! version ids. Every request is authorized and audited by the service layer with source
//! `azure`; see the book's Azure Key Vault dialect chapter (docs/src/dialects/azure.md) for
//! the operation table, the audit rows each operation writes and what is not supported.
//!
//! Authentication follows Key Vault's challenge: a request without a token gets 401 with
//! `WWW-Authenticate: Bearer authorization="...", resource="https://vault.azure.net"`; the
//! SDK then asks its `TokenCredential` for a token, which must be a keygate bearer token.

mod arm;
mod arm_routes;
mod auth;
mod ecdsa;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod ops;
mod route;
mod server;
mod tls;
mod wire;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::Uri;
use axum::http::header::HOST;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use keygate_core::Error;
use keygate_core::access::Identity;
use keygate_server::config::AzureDialectConfig;
use keygate_server::service::Session;

use self::error::{AzureError, Doing};
use self::route::Route;
use crate::edge::Edge;

/// What the Azure dialect's handlers hold: the edge, `[dialects.azure]` and who a caller
/// without a token acts as (`[dialects.insecure_anonymous]`, development only).
#[derive(Debug, Clone)]
pub struct AzureState {
    /// The edge every door shares.
    pub edge: Edge,
    /// The `[dialects.azure]` settings: the vault's name, the provider new keys go to and
    /// how long deleted keys stay recoverable.
    pub config: Arc<AzureDialectConfig>,
    /// The identity of callers that present no token (`None`: they get the challenge).
    pub anonymous: Option<Identity>,
}

pub use arm_routes::{ROUTES as ARM_ROUTES, route_action as arm_route_action};
pub use route::{ROUTES, route_action};
pub use server::{AzureListener, bind};

/// The `api-version`s keygate answers (the SDK 1.x sends `2025-07-01`).
pub const API_VERSIONS: [&str; 4] = ["7.4", "7.5", "7.6", "2025-07-01"];

/// The vault's routes (the listener adds request ids and metrics around them).
pub fn router(state: AzureState) -> Router {
    Router::new()
        .route("/keys", any(handle))
        .route("/keys/{*rest}", any(handle))
        .route("/deletedkeys", any(handle))
        .route("/deletedkeys/{*rest}", any(handle))
        .route("/rng", any(handle))
        .route("/subscriptions/{*rest}", any(arm::handle))
        .fallback(handle)
        .with_state(state)
}

/// Everything an operation needs: the caller's session and how to name things.
pub(crate) struct Ctx<'a> {
    /// The caller.
    pub session: Session,
    /// `https://<host>` as the caller addressed the vault.
    pub base: String,
    /// The settings.
    pub config: &'a AzureDialectConfig,
    /// Soft-delete retention, days.
    pub retention: u32,
    /// The query string's parameters.
    pub query: HashMap<String, String>,
}

impl Ctx<'_> {
    /// The error mapper for operation `op` on key `key`.
    pub fn err<'b>(
        &'b self,
        op: &'b str,
        key: Option<&'b str>,
    ) -> impl Fn(Error) -> AzureError + 'b {
        move |e| {
            AzureError::from_core(
                e,
                Doing {
                    op,
                    key,
                    vault: &self.config.vault_name,
                },
            )
        }
    }

    /// `https://<host>/keys/<name>[/<version>]`.
    pub fn kid(&self, name: &str, version: Option<&str>) -> String {
        match version {
            Some(v) => format!("{}/keys/{name}/{v}", self.base),
            None => format!("{}/keys/{name}", self.base),
        }
    }
}

async fn handle(State(state): State<AzureState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let route = Route::parse(&parts.method, parts.uri.path());
    let limit = state.edge.body_limit;
    let body = axum::body::to_bytes(body, limit).await;
    let body_empty = body.as_ref().is_ok_and(|b| b.is_empty());
    let session = match auth::authenticate(&state, &parts, route.as_ref().ok(), body_empty).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let run = async {
        let route = route?;
        let body = body.map_err(|_| AzureError::too_large(limit))?;
        let query = parse_query(&parts.uri)?;
        let ctx = Ctx {
            session,
            base: base_url(&parts),
            config: &state.config,
            retention: retention(&state).await?,
            query,
        };
        ops::dispatch(&ctx, route, &body).await
    };
    match run.await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

/// The query string, with an `api-version` this vault speaks.
///
/// # Errors
/// 400 BadParameter for a malformed query string or a missing or unknown `api-version`.
fn parse_query(uri: &Uri) -> Result<HashMap<String, String>, AzureError> {
    let Query(query) = Query::<HashMap<String, String>>::try_from_uri(uri)
        .map_err(|_| AzureError::bad_parameter("The query string is malformed."))?;
    check_api_version(query.get("api-version"))?;
    Ok(query)
}

fn check_api_version(v: Option<&String>) -> Result<(), AzureError> {
    match v {
        None => Err(AzureError::bad_parameter(format!(
            "The 'api-version' query parameter is required (supported: {}).",
            API_VERSIONS.join(", ")
        ))),
        Some(v) if API_VERSIONS.contains(&v.as_str()) => Ok(()),
        Some(v) => Err(AzureError::bad_parameter(format!(
            "The specified version ({}) is not recognized. Supported versions: {}.",
            v.chars().take(32).collect::<String>(),
            API_VERSIONS.join(", ")
        ))),
    }
}

/// `https://<host>` from the request's Host (HTTP/1.1) or authority (HTTP/2), when it is a
/// plain host name or address; else `https://localhost`.
fn base_url(parts: &Parts) -> String {
    let host = parts
        .headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        })
        .unwrap_or("localhost");
    format!("https://{host}")
}

/// The soft-delete retention: the configured days, else the create provider's longest
/// deletion window.
async fn retention(state: &AzureState) -> Result<u32, AzureError> {
    resolve_retention(&state.config, &state.edge.service)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "azure dialect: no soft-delete retention");
            AzureError::internal()
        })
}

/// Checks the provider and retention settings against the registry (at start, and per
/// request to find the retention).
///
/// # Errors
/// [`Error::InvalidArgument`] naming the setting.
pub(crate) async fn resolve_retention(
    config: &AzureDialectConfig,
    service: &keygate_server::service::Service,
) -> keygate_core::Result<u32> {
    let registry = service.registry();
    let provider = match &config.provider {
        Some(name) => registry
            .provider(name)
            .await
            .map_err(|e| Error::invalid(format!("dialects.azure.provider: {e}")))?,
        None => match registry.names().first() {
            Some(first) => registry.provider(first).await?,
            None => return Err(Error::invalid("dialects.azure: no provider is registered")),
        },
    };
    let window = provider.capabilities().deletion_window;
    match config.soft_delete_retention_days {
        None => Ok(window.max),
        Some(days) if window.contains(days) => Ok(days),
        Some(days) => Err(Error::invalid(format!(
            "dialects.azure.soft_delete_retention_days = {days} is outside provider `{}`'s \
             deletion window ({window})",
            provider.info().name
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_are_checked() {
        assert!(check_api_version(Some(&"2025-07-01".to_owned())).is_ok());
        assert!(check_api_version(Some(&"7.4".to_owned())).is_ok());
        assert_eq!(check_api_version(None).unwrap_err().status.as_u16(), 400);
        assert_eq!(
            check_api_version(Some(&"2016-10-01".to_owned()))
                .unwrap_err()
                .code,
            "BadParameter"
        );
    }
}
