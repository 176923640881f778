//! The one place where errors become HTTP responses.
//!
//! Every error the API returns has the body `{"error": {"kind", "message", "request_id"}}`,
//! where `kind` is [`ErrorKind::as_str`] so clients map it back to the same
//! [`keygate_core::Error`] variant. Statuses follow the variant; 401, 403 and every 5xx but
//! 501 (whose message says what is not supported) carry a fixed message (the full error chain goes to the log only), and any failure to decrypt
//! says nothing about why.
//!
//! Handlers build an [`ApiError`]; the request-id middleware renders its
//! body once the request id is known, so rejections raised before a handler runs (bad JSON,
//! unknown routes, authentication) carry the id too.

use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::Request;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
pub use keygate_core::wire::{ErrorBody, ErrorDetail};
use keygate_core::{Error, ErrorKind};

use crate::edge::RequestId;

/// The message of every failed decryption, whatever failed: telling a caller *why* a
/// ciphertext did not open (unknown key, wrong context, tampered bytes) helps an attacker.
pub const DECRYPT_FAILED: &str = "the ciphertext could not be decrypted";

/// The `kind` of a request that was not understood before any keygate call (bad JSON, wrong
/// content type, body too large, bad query string).
const BAD_REQUEST_KIND: &str = "invalid_argument";

/// An error on its way to the caller: status, kind, message and extra headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable kind (`not_found`, `integrity_failure`, ...).
    pub kind: &'static str,
    /// What the caller may be told.
    pub message: String,
    /// Seconds for `Retry-After` (429 and 503).
    pub retry_after: Option<u64>,
}

/// Marks a response as an error whose body the request-id middleware renders.
#[derive(Debug, Clone)]
pub(crate) struct PendingError {
    pub(crate) kind: &'static str,
    pub(crate) message: String,
}

impl ApiError {
    /// An error with an explicit status, kind and message.
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A 400 `invalid_argument` about the request itself.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, BAD_REQUEST_KIND, message)
    }

    /// The typed 404 for a path no route serves.
    pub fn no_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
    }

    /// The one answer to any failure about a ciphertext on the decrypt endpoints.
    pub fn decrypt_failed() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorKind::IntegrityFailure.as_str(),
            DECRYPT_FAILED,
        )
    }

    /// Maps an error of a decrypt endpoint: anything about the ciphertext (integrity, a
    /// malformed envelope, an unknown key) becomes [`ApiError::decrypt_failed`]; the rest
    /// (authentication, permission, outages) maps as usual. A key or key version that is
    /// not enabled stays the typed `invalid_state` naming it: the caller was already
    /// authorized for that key, and a version taken out of service must not read as a
    /// corrupted ciphertext.
    pub fn from_decrypt(err: Error) -> Self {
        match err {
            Error::IntegrityFailure | Error::InvalidArgument(_) | Error::NotFound(_) => {
                tracing::debug!(error = %err, "decryption refused");
                Self::decrypt_failed()
            }
            other => Self::from(other),
        }
    }
}

fn retry_secs(d: Option<Duration>) -> u64 {
    // Round up: a client that waits the advertised time must find a token again.
    d.map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
        .unwrap_or(1)
        .max(1)
}

/// Logs the full chain of an error the caller only sees a fixed message for.
fn log_chain(status: StatusCode, err: &Error) {
    let mut chain = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    if status.is_server_error() {
        tracing::error!(status = status.as_u16(), error = %chain, "request failed");
    } else {
        tracing::info!(status = status.as_u16(), error = %chain, "request refused");
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let kind = err.kind().as_str();
        let (status, fixed): (StatusCode, Option<&str>) = match &err {
            Error::NotFound(_) => (StatusCode::NOT_FOUND, None),
            Error::AlreadyExists(_) => (StatusCode::CONFLICT, None),
            Error::InvalidArgument(_) | Error::ImportRejected { .. } => {
                (StatusCode::BAD_REQUEST, None)
            }
            Error::InvalidState(_) => (StatusCode::CONFLICT, None),
            // A client mistake about the key (its usage or spec), not a state to wait out.
            Error::InvalidKeyUsage(_) => (StatusCode::BAD_REQUEST, None),
            Error::PermissionDenied(_) => (StatusCode::FORBIDDEN, Some("permission denied")),
            Error::Unauthenticated(_) => (
                StatusCode::UNAUTHORIZED,
                Some("authentication required: a valid bearer token"),
            ),
            // keygate writes these messages itself to say what is not supported and where;
            // they carry no secret and the caller needs them.
            Error::Unsupported(_) => (StatusCode::NOT_IMPLEMENTED, None),
            Error::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, None),
            Error::Unavailable { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                Some("the service is unavailable; retry later"),
            ),
            Error::IntegrityFailure => (StatusCode::BAD_REQUEST, None),
            Error::Provider { .. } => (
                StatusCode::BAD_GATEWAY,
                Some("the key provider reported an error"),
            ),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, Some("internal error")),
        };
        if fixed.is_some() {
            log_chain(status, &err);
        }
        let message = match (&err, fixed) {
            (_, Some(text)) => text.to_owned(),
            (Error::Throttled { .. }, None) => "too many requests; retry later".to_owned(),
            (e, None) => e.to_string(),
        };
        let retry_after = match &err {
            Error::Throttled { retry_after } => Some(retry_secs(*retry_after)),
            _ => None,
        };
        Self {
            status,
            kind,
            message,
            retry_after,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The body is written without a request id here and re-rendered with it by the
        // error-rendering middleware ([`render_errors`]), which sees the `PendingError` extension.
        let body = ErrorBody {
            error: ErrorDetail {
                kind: self.kind.to_owned(),
                message: self.message.clone(),
                request_id: None,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response.extensions_mut().insert(PendingError {
            kind: self.kind,
            message: self.message,
        });
        response
    }
}

/// Writes the request id into every typed error body: an [`ApiError`] answer is rendered
/// without it (handlers and extractors do not know it) and re-rendered here. Layered inside
/// [`crate::edge::request_id`], so the id is known; applies to rejections raised before a
/// handler runs too (bad JSON, unknown routes, authentication).
pub async fn render_errors(req: Request, next: Next) -> Response {
    let id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let mut response = next.run(req).await;
    if let Some(pending) = response.extensions_mut().remove::<PendingError>() {
        let id = id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let (mut parts, _) = response.into_parts();
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response = Response::from_parts(parts, Body::from(render(&pending, &id)));
        response
            .extensions_mut()
            .insert(crate::shape::Shaped(crate::shape::Door::Rest));
    }
    response
}

/// Renders the final error body with the request id.
pub(crate) fn render(pending: &PendingError, request_id: &str) -> Vec<u8> {
    let body = ErrorBody {
        error: ErrorDetail {
            kind: pending.kind.to_owned(),
            message: pending.message.clone(),
            request_id: Some(request_id.to_owned()),
        },
    };
    // Serializing strings into JSON cannot fail; an empty body is the impossible fallback.
    serde_json::to_vec(&body).unwrap_or_default()
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        // The rejection's status is the right one (400 syntax, 422 shape, 413 size, 415
        // content type). Its text may quote a value from the body (serde echoes strings of
        // the wrong type), which could be a plaintext: quoted values are blanked.
        let status = match rejection.status() {
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
            s => s,
        };
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "the request body is too large".to_owned()
        } else {
            redact_quoted(&rejection.body_text())
        };
        Self::new(status, BAD_REQUEST_KIND, message)
    }
}

/// Replaces what stands between double quotes with `…`: serde quotes the offending string
/// values, while field names (in the path prefix and in backticks) stay readable.
fn redact_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for c in text.chars() {
        if c == '"' {
            if !inside {
                out.push_str("\"…");
            }
            inside = !inside;
            if !inside {
                out.push('"');
            }
        } else if !inside {
            out.push(c);
        }
    }
    out
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::bad_request(rejection.body_text())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn statuses_follow_the_variant_and_fixed_texts_hide_details() {
        let cases = [
            (Error::not_found("key k"), 404, "not_found"),
            (Error::AlreadyExists("k".into()), 409, "already_exists"),
            (Error::invalid("bad"), 400, "invalid_argument"),
            (Error::state("disabled"), 409, "invalid_state"),
            (
                Error::PermissionDenied("role app lacks keys:create".into()),
                403,
                "permission_denied",
            ),
            (Error::Unauthenticated("x".into()), 401, "unauthenticated"),
            (Error::unsupported("nope"), 501, "unsupported"),
            (
                Error::unavailable("db down at /secret/path"),
                503,
                "unavailable",
            ),
            (Error::IntegrityFailure, 400, "integrity_failure"),
            (Error::provider("aws", "boom internal"), 502, "provider"),
            (Error::RootKeyMismatch, 500, "root_key_mismatch"),
        ];
        for (err, status, kind) in cases {
            let api = ApiError::from(err);
            assert_eq!(api.status.as_u16(), status, "{kind}");
            assert_eq!(api.kind, kind);
            assert!(!api.message.contains("lacks"), "{}", api.message);
            assert!(!api.message.contains("/secret/path"), "{}", api.message);
            assert!(!api.message.contains("boom"), "{}", api.message);
        }
    }

    #[test]
    fn throttled_carries_retry_after_rounded_up() {
        let api = ApiError::from(Error::Throttled {
            retry_after: Some(Duration::from_millis(1200)),
        });
        assert_eq!(api.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(api.retry_after, Some(2));
        let resp = api.into_response();
        assert_eq!(resp.headers()[header::RETRY_AFTER], "2");
        let none = ApiError::from(Error::Throttled { retry_after: None });
        assert_eq!(none.retry_after, Some(1));
    }

    #[test]
    fn decrypt_failures_are_one_message() {
        for err in [
            Error::IntegrityFailure,
            Error::invalid("bad magic"),
            Error::not_found("key local://x"),
        ] {
            let api = ApiError::from_decrypt(err);
            assert_eq!(api, ApiError::decrypt_failed());
        }
        // A key or version out of service says so, typed: not a corrupted ciphertext.
        let state = ApiError::from_decrypt(Error::state("version 1 of key local://x is disabled"));
        assert_eq!(state.status, StatusCode::CONFLICT);
        assert_ne!(state, ApiError::decrypt_failed());
        let denied = ApiError::from_decrypt(Error::PermissionDenied("x".into()));
        assert_eq!(denied.status, StatusCode::FORBIDDEN);
    }

    #[test]
    fn quoted_values_from_the_body_are_not_echoed() {
        assert_eq!(
            redact_quoted(
                "context: invalid type: string \"secret stuff\", expected a map at line 1"
            ),
            "context: invalid type: string \"…\", expected a map at line 1"
        );
        assert_eq!(redact_quoted("missing field `key`"), "missing field `key`");
    }

    #[test]
    fn unauthenticated_asks_for_a_bearer_token() {
        let resp = ApiError::from(Error::Unauthenticated("bad".into())).into_response();
        assert_eq!(resp.headers()[header::WWW_AUTHENTICATE], "Bearer");
        let rendered = render(resp.extensions().get::<PendingError>().unwrap(), "rid-1");
        let body: ErrorBody = serde_json::from_slice(&rendered).unwrap();
        assert_eq!(body.error.kind, "unauthenticated");
        assert_eq!(body.error.request_id.as_deref(), Some("rid-1"));
    }
}
