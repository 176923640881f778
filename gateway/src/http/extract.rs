//! Extractors: the authenticated caller, and JSON/query/path extractors whose rejections are
//! the typed JSON error instead of axum's plain text.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, MatchedPath};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use keygate_core::Error;
use keygate_core::access::{Action, Identity};

use super::AppState;
use super::error::ApiError;
use crate::service::{Session, Source};

/// `Json<T>` whose rejection is an [`ApiError`] (400, 413 or 415 with the typed body).
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// `Query<T>` whose rejection is an [`ApiError`].
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// `Path<T>` whose rejection is an [`ApiError`].
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// The request id of this request (set by the request-id middleware).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    /// The id of `parts`, or a fresh one when the middleware did not run (router used
    /// without it, as in some unit tests).
    pub fn of(parts: &Parts) -> String {
        parts
            .extensions
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
    }
}

/// The authenticated, rate-limited caller: a service [`Session`] bound to its identity and to
/// this request's id. Handlers that take it require a bearer token.
#[derive(Debug, Clone)]
pub struct Caller(pub Session);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // What the request would have done, so a refused attempt is findable by action.
        let action = parts
            .extensions
            .get::<MatchedPath>()
            .and_then(|p| state.route_action(&parts.method, p.as_str()));
        let identity = match bearer(parts) {
            Some(token) => state.service.authenticate(token).await,
            None => Err(Error::Unauthenticated("no bearer token".into())),
        };
        admit(state, parts, Source::Rest, action, identity)
            .await
            .map(Caller)
            .map_err(ApiError::from)
    }
}

/// The bearer token of `Authorization: Bearer <token>`, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Admits a caller once authentication has been tried, the same way for the REST API and
/// every cloud dialect: a failed authentication is rate-limited per client address and
/// audited as `denied` (with `action` when known); an authenticated caller is rate-limited
/// per principal and gets a session bound to `source` and this request's id.
///
/// # Errors
/// The authentication error, or [`Error::Throttled`] beyond the rate limit.
pub async fn admit(
    state: &AppState,
    parts: &Parts,
    source: Source,
    action: Option<Action>,
    identity: Result<Identity, Error>,
) -> Result<Session, Error> {
    let request_id = RequestId::of(parts);
    let service = &state.service;
    let identity = match identity {
        Ok(identity) => identity,
        Err(err) => {
            // Failed authentications share one bucket per client address: a flood of bad
            // credentials is refused with 429 beyond the limit instead of writing a durable
            // audit row each (the metrics still count every one).
            let peer = parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip());
            if let (Some(limiter), Some(ip)) = (&state.limiter, peer)
                && let Err(wait) = limiter.check(&format!("unauthenticated:{ip}"), Instant::now())
            {
                state.metrics.rate_limited();
                return Err(Error::Throttled {
                    retry_after: Some(wait),
                });
            }
            service
                .record_rejected(&request_id, source, action, None, &err)
                .await;
            return Err(err);
        }
    };
    if let Some(limiter) = &state.limiter
        && let Err(wait) = limiter.check(&identity.principal, Instant::now())
    {
        state.metrics.rate_limited();
        let err = Error::Throttled {
            retry_after: Some(wait),
        };
        service
            .record_rejected(&request_id, source, action, Some(&identity.principal), &err)
            .await;
        return Err(err);
    }
    Ok(service
        .session(identity, source)
        .with_request_id(request_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(auth: Option<&str>) -> Parts {
        let mut b = Request::builder().uri("/v1/noop");
        if let Some(a) = auth {
            b = b.header(AUTHORIZATION, a);
        }
        b.body(())
            .map(|r| r.into_parts().0)
            .unwrap_or_else(|_| Request::new(()).into_parts().0)
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_required() {
        assert_eq!(bearer(&parts(Some("Bearer abc"))), Some("abc"));
        assert_eq!(bearer(&parts(Some("bearer  abc "))), Some("abc"));
        assert_eq!(bearer(&parts(Some("Basic abc"))), None);
        assert_eq!(bearer(&parts(Some("Bearer "))), None);
        assert_eq!(bearer(&parts(None)), None);
    }
}
