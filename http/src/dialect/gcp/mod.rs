//! GCP Cloud KMS v1 REST dialect: `/v1/projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/
//! {k}[/cryptoKeyVersions/{v}][:verb]` on the main listener.
//!
//! The model:
//! - a location is a keygate provider (`global`: `[dialects.gcp] provider`, else the first
//!   registered one); any project id is accepted and echoed;
//! - a key ring is a name the dialect stores; the implicit ring `keygate` holds every key of
//!   the provider without a ring label (keys made by the CLI or the other dialects);
//! - a CryptoKey `k` in ring `r` is the keygate key named `k`, labelled `gcp-key-ring=r`
//!   (the label is hidden from `labels`); ids are scoped to their ring, so when `k` is taken
//!   by a key of another ring the new key is named `r.k` (see `ops::keys`);
//! - CryptoKeyVersions are keygate key versions.
//!
//! Callers authenticate with keygate bearer tokens (`Authorization: Bearer kgt_...`), or act
//! as the `[dialects.insecure_anonymous]` identity when that development switch is on. Every
//! keygate call goes through the caller's [`Session`](keygate_server::service::Session), so it is
//! authorized and audited with source `gcp`. Errors use Google's JSON shape (`error.rs`).

mod error;
#[doc(hidden)]
pub mod fuzzing;
mod model;
mod ops;
mod path;
mod wire;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use keygate_core::Error;
use keygate_core::access::Identity;
use keygate_server::config::GcpDialectConfig;
use keygate_server::service::Source;

use self::error::{GcpError, GcpResult};
pub use self::ops::{METHODS, method_action};
use self::wire::Query;
use crate::edge::{Edge, bearer};

/// What the GCP dialect's handler holds: the edge, `[dialects.gcp]` and who a caller without
/// a token acts as (`[dialects.insecure_anonymous]`, development only).
#[derive(Debug, Clone)]
pub struct GcpState {
    /// The edge every door shares.
    pub edge: Edge,
    /// The `[dialects.gcp]` settings: the provider the location `global` maps to.
    pub config: Arc<GcpDialectConfig>,
    /// The identity of callers that present no token (`None`: they are refused).
    pub anonymous: Option<Identity>,
}

/// The ring every key without a ring label is in.
pub const IMPLICIT_RING: &str = "keygate";

/// The keygate label that holds a key's ring.
pub const RING_LABEL: &str = "gcp-key-ring";

/// Cloud KMS's default destroyScheduledDuration: 30 days.
pub const DEFAULT_DESTROY_SECONDS: i64 = 30 * 86_400;

/// The dialect's routes: one wildcard route; the resource path and `:verb` are parsed here.
pub fn router(state: GcpState) -> Router {
    Router::new()
        .route("/v1/projects/{*rest}", any(handle))
        .with_state(state)
}

async fn handle(State(state): State<GcpState>, request: Request) -> Response {
    match serve(&state, request).await {
        Ok(value) => axum::Json(value).into_response(),
        Err(err) => err.into_response(),
    }
}

async fn serve(state: &GcpState, request: Request) -> GcpResult<serde_json::Value> {
    let (parts, body) = request.into_parts();
    let (op, query, resource) = parse_request(&parts.method, &parts.uri)?;
    // A refusal names the permission and the resource as the request named it, nothing
    // else: the same answer whether the resource exists or not.
    let permission = op.permission();
    let deny = |e: GcpError| {
        if e.is_denied() {
            GcpError::denied(permission, &resource)
        } else {
            e
        }
    };
    let identity = match bearer(&parts) {
        Some(token) => state.edge.service.authenticate(token).await,
        None => match &state.anonymous {
            Some(anon) => Ok(anon.clone()),
            None => Err(Error::Unauthenticated("no bearer token".into())),
        },
    };
    let session = state
        .edge
        .admit(&parts, Source::Gcp, op.action(), identity)
        .await
        .map_err(|e| deny(e.into()))?;
    let limit = state.edge.body_limit;
    let body = axum::body::to_bytes(body, limit).await.map_err(|_| {
        GcpError::invalid(format!(
            "Request payload size exceeds the limit: {limit} bytes."
        ))
    })?;
    let ctx = ops::Ctx {
        state,
        session,
        query,
        body,
        action: op.action(),
    };
    ops::run(&ctx, op).await.map_err(deny)
}

/// The Cloud KMS method and query of a request, and the resource it names (`projects/...`
/// as the request spelled it, without the verb): what it asks, before anyone checks who
/// asks it (the body is read by the method, against the fields it takes).
///
/// # Errors
/// [`GcpError::no_method`] for a path that names no method, [`GcpError::invalid`] for a
/// method keygate does not serve or a malformed query string.
fn parse_request(method: &Method, uri: &Uri) -> GcpResult<(ops::Op, Query, String)> {
    let raw = uri
        .path()
        .strip_prefix("/v1/projects/")
        .ok_or_else(GcpError::no_method)?;
    let rest = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| GcpError::no_method())?;
    let op = ops::route(method, path::parse(&rest)?)?;
    let resource = format!(
        "projects/{}",
        rest.split_once(':').map_or(&*rest, |(r, _)| r)
    );
    let query = Query::of(uri)?;
    Ok((op, query, resource))
}
