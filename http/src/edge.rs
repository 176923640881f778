//! What every door of the HTTP edge shares: the service, the rate limiter, the metrics, the
//! body limit and the shutdown signal ([`Edge`]); how a caller is admitted ([`Edge::admit`]);
//! the request id; and the request-id and metrics middleware.
//!
//! The REST API and each dialect hold an `Edge` in their own state and depend on this module
//! only, never on each other; `server` composes them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use keygate_core::Error;
use keygate_core::access::{Action, Identity};
use keygate_server::config::ServerConfig;
use keygate_server::service::{Service, Session, Source};
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;

/// The request id header, read from requests and set on every response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What every door of the edge shares. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Edge {
    /// The service layer: the only way to a key.
    pub service: Arc<Service>,
    /// The per-principal rate limiter (`None`: off).
    pub limiter: Option<Arc<RateLimiter>>,
    /// Request counts and durations by route, method and status: what `/metrics` renders.
    pub metrics: Arc<Metrics>,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// How long a request body may stall before the request fails.
    pub body_idle: std::time::Duration,
    /// Flips to `true` when the server shuts down, so long-lived streams end.
    pub shutdown: watch::Receiver<bool>,
}

impl Edge {
    /// The edge of `service` under the `[server]` settings, with its shutdown signal.
    pub fn new(
        service: Arc<Service>,
        server: &ServerConfig,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            service,
            limiter: RateLimiter::new(&server.rate_limit).map(Arc::new),
            metrics: Arc::new(Metrics::default()),
            body_limit: server.body_limit_bytes,
            body_idle: std::time::Duration::from_secs(server.body_read_timeout_secs),
            shutdown,
        }
    }

    /// Admits a caller once authentication has been tried, the same way for the REST API and
    /// every cloud dialect: a failed authentication is rate-limited per client address and
    /// audited as `denied` (with `action` when known); an authenticated caller is
    /// rate-limited per principal and gets a session bound to `source` and this request's
    /// id, once [`Session::screen`] has let it through for `action` (a caller who may do
    /// `action` on no key at all is refused here, before any key or record is looked up).
    ///
    /// # Errors
    /// The authentication error, [`Error::Throttled`] beyond the rate limit, or
    /// [`Error::PermissionDenied`] from the screen.
    pub async fn admit(
        &self,
        parts: &Parts,
        source: Source,
        action: Option<Action>,
        identity: Result<Identity, Error>,
    ) -> Result<Session, Error> {
        let request_id = RequestId::of(parts);
        let service = &self.service;
        let identity = match identity {
            Ok(identity) => identity,
            Err(err) => {
                // Failed authentications share one bucket per client address: a flood of bad
                // credentials is refused with 429 beyond the limit instead of writing a
                // durable audit row each (the metrics still count every one).
                let peer = parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| c.0.ip());
                if let (Some(limiter), Some(ip)) = (&self.limiter, peer)
                    && let Err(wait) =
                        limiter.check(&format!("unauthenticated:{ip}"), Instant::now())
                {
                    self.metrics.rate_limited();
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
        if let Some(limiter) = &self.limiter
            && let Err(wait) = limiter.check(&identity.principal, Instant::now())
        {
            self.metrics.rate_limited();
            let err = Error::Throttled {
                retry_after: Some(wait),
            };
            service
                .record_rejected(&request_id, source, action, Some(&identity.principal), &err)
                .await;
            return Err(err);
        }
        let session = service
            .session(identity, source)
            .with_request_id(request_id);
        // Before the door reads any record or resolves any key: a caller who may do the
        // action on no key is refused (and audited) the same way whatever it names.
        if let Some(action) = action {
            session.screen(action).await?;
        }
        Ok(session)
    }
}

/// The request id of this request (set by the [`request_id`] middleware).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(
    /// The id: the caller's `x-request-id` when acceptable, else a fresh UUID.
    pub String,
);

impl RequestId {
    /// The id of `parts`, or a fresh one when the middleware did not run (a router used
    /// without it, as in some unit tests).
    pub fn of(parts: &Parts) -> String {
        parts
            .extensions
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
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

/// A caller-supplied id is kept only when it is short and plain: it ends up in audit rows
/// and logs, where arbitrary bytes do not belong.
fn acceptable(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Gives the request an id (the caller's `x-request-id` when acceptable, else a UUID) and
/// echoes it on the response.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(req).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// Counts the request and its latency under its route template.
pub async fn metrics(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().clone();
    let started = Instant::now();
    let response = next.run(req).await;
    metrics.observe(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::http::Request as HttpRequest;

    #[test]
    fn only_plain_request_ids_are_kept() {
        assert!(acceptable("abc-123_x.y:z"));
        assert!(!acceptable(""));
        assert!(!acceptable("a b"));
        assert!(!acceptable(&"a".repeat(129)));
        assert!(!acceptable("id\u{7f}"));
    }

    fn parts(auth: Option<&str>) -> Parts {
        let mut b = HttpRequest::builder().uri("/v1/noop");
        if let Some(a) = auth {
            b = b.header(AUTHORIZATION, a);
        }
        b.body(()).unwrap().into_parts().0
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
