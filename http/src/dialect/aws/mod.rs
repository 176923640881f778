//! AWS KMS JSON 1.1 dialect: `POST /` with `X-Amz-Target: TrentService.<Operation>` and an
//! `application/x-amz-json-1.1` body, signed with SigV4 by an access key keygate issued
//! (`keygate token create --aws`).
//!
//! A request is handled in four steps: the operation is read from `X-Amz-Target` and its
//! body parsed (`UnknownOperationException`, `SerializationException`); the signature is
//! verified (`sigv4.rs`) and the caller admitted like every other caller
//! ([`Edge::admit`](crate::Edge::admit): rate limit, failed attempts audited); the
//! operation runs against the caller's [`Session`] (authorization and one audit row per
//! Gateway call, source `aws`); the answer or error is written in AWS's shape (`error.rs`).
//!
//! Keys are shown with stable UUIDs and ARNs (`ids.rs`) whichever provider holds them; the
//! ARNs name the region the request was signed for, and with a `[dialects.aws] regions`
//! table a key is visible only in its own region.
//!
//! [`Session`]: keygate_server::service::Session

mod error;
#[doc(hidden)]
pub mod fuzzing;
mod ids;
mod ops;
mod rules;
mod sigv4;
mod wire;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use keygate_core::Error;
use keygate_server::config::AwsDialectConfig;
use keygate_server::service::Source;
use time::OffsetDateTime;

use crate::edge::Edge;
use error::{AwsError, CONTENT_TYPE};
pub use ops::OPERATIONS;

/// What the AWS dialect's handler holds: the edge and `[dialects.aws]`.
#[derive(Debug, Clone)]
pub struct AwsState {
    /// The edge every door shares.
    pub edge: Edge,
    /// The `[dialects.aws]` settings: the account id in ARNs, and the provider `CreateKey`
    /// puts keys in for each region.
    pub config: Arc<AwsDialectConfig>,
}

/// The dialect's routes: `POST /`, on the main listener.
pub fn router(state: AwsState) -> Router {
    Router::new().route("/", post(handle)).with_state(state)
}

/// Checks `[dialects.aws]` against the registered providers: each `regions` entry must name
/// one.
///
/// # Errors
/// [`Error::InvalidArgument`] naming the setting.
pub(crate) fn check_config(
    config: &AwsDialectConfig,
    service: &keygate_server::service::Service,
) -> keygate_core::Result<()> {
    for (region, provider) in &config.regions {
        service
            .registry()
            .ensure_registered(provider)
            .map_err(|e| Error::invalid(format!("dialects.aws.regions.{region}: {e}")))?;
    }
    Ok(())
}

/// The prefix of every KMS operation in `X-Amz-Target`.
const TARGET_PREFIX: &str = "TrentService.";

fn respond(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

async fn handle(State(state): State<AwsState>, request: Request<Body>) -> Response {
    match serve(&state, request).await {
        Ok(body) => respond(StatusCode::OK, body),
        Err(e) => e.into_response(),
    }
}

async fn serve(state: &AwsState, request: Request<Body>) -> Result<Vec<u8>, AwsError> {
    let (parts, body) = request.into_parts();
    let limit = state.edge.body_limit;
    let body = axum::body::to_bytes(body, limit).await.map_err(|_| {
        AwsError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            format!("Request body must be at most {limit} bytes"),
        )
    })?;
    let text = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let target = text("x-amz-target");
    let request = parse_request(target, text(header::CONTENT_TYPE.as_str()), &body)?;
    let op = target.strip_prefix(TARGET_PREFIX).unwrap_or_default();

    let verified = sigv4::verify(
        &state.edge.service,
        &parts,
        &body,
        OffsetDateTime::now_utc(),
    )
    .await
    .and_then(|identity| Ok((identity, sigv4::signed_region(&parts, &state.config)?)));
    let (identity, region, refusal) = match verified {
        Ok((identity, region)) => (Ok(identity), region, None),
        Err(aws) => (
            Err(Error::Unauthenticated(aws.message.clone())),
            String::new(),
            Some(aws),
        ),
    };
    let principal = identity.as_ref().ok().map(|i| i.principal.clone());
    let deny = |e: AwsError| match &principal {
        Some(p) if e.is_denied() => AwsError::denied(&state.config.account_id, p, op),
        _ => e,
    };
    let session = match state
        .edge
        .admit(&parts, Source::Aws, Some(request.action()), identity)
        .await
    {
        Ok(session) => session,
        Err(e @ (Error::Throttled { .. } | Error::PermissionDenied(_))) => {
            return Err(deny(e.into()));
        }
        Err(e) => return Err(refusal.unwrap_or_else(|| e.into())),
    };
    let cx = ops::Ctx::new(&session, &state.config, request.action(), &region);
    ops::run(&cx, request).await.map_err(deny)
}

/// The typed request of `X-Amz-Target: target` with `Content-Type: content_type` and
/// `body`: what a request asks, before anyone checks who asks it.
///
/// # Errors
/// `UnknownOperationException` for an operation this dialect does not serve,
/// `SerializationException` for another content type or a body that is not the
/// operation's JSON.
fn parse_request(target: &str, content_type: &str, body: &[u8]) -> Result<ops::Request, AwsError> {
    let op = target.strip_prefix(TARGET_PREFIX).unwrap_or_default();
    if !ops::is_known(op) {
        return Err(AwsError::bad(
            "UnknownOperationException",
            ops::UNKNOWN_OPERATION,
        ));
    }
    let json_type = content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(CONTENT_TYPE));
    if !json_type {
        return Err(AwsError::serialization(format!(
            "Content-Type must be {CONTENT_TYPE}"
        )));
    }
    ops::parse(op, body)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tower::ServiceExt as _;

    async fn app() -> Router {
        let local = keygate_providers::local::LocalProvider::builder()
            .build()
            .await
            .unwrap();
        let store = keygate_server::store::GatewayStore::in_memory()
            .await
            .unwrap();
        let registry =
            keygate_server::registry::Registry::new(vec![Arc::new(local)], store).unwrap();
        let service = keygate_server::service::Service::with_root_key(
            registry,
            &keygate_server::audit::AuditConfig::default(),
            &keygate_server::cache::CacheConfig::default(),
            &[9u8; 32],
        )
        .await
        .unwrap();
        let (_, shutdown) = tokio::sync::watch::channel(false);
        let edge = Edge::new(
            service,
            &keygate_server::config::ServerConfig::default(),
            shutdown,
        );
        router(AwsState {
            edge,
            config: Arc::new(AwsDialectConfig::default()),
        })
    }

    #[tokio::test]
    async fn unsigned_requests_are_refused_in_aws_shape() {
        let request = Request::builder()
            .method("POST")
            .uri("/")
            .header("x-amz-target", "TrentService.ListKeys")
            .header("content-type", CONTENT_TYPE)
            .body(Body::from("{}"))
            .unwrap();
        let response = app().await.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            response.headers()["x-amzn-errortype"],
            "MissingAuthenticationTokenException"
        );
    }
}
