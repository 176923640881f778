//! Google's JSON error shape: `{"error": {"code", "message", "status", "details"}}`.
//!
//! The one place where the GCP dialect turns errors into responses. Statuses follow the
//! canonical codes Google's REST front end uses; client mistakes are always 4xx. 401, 403,
//! 5xx and every decryption failure carry fixed text (the full error goes to the log only).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keygate_core::Error;
use serde_json::json;

/// The message of every failed decryption: why a ciphertext did not open is not told.
pub const DECRYPT_FAILED: &str = "Decryption failed: the ciphertext is invalid or does not match the key or the additional authenticated data.";

/// The canonical status of a refusal.
const PERMISSION_DENIED: &str = "PERMISSION_DENIED";

/// An error on its way to a GCP client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcpError {
    /// HTTP status.
    pub http: StatusCode,
    /// Canonical status name (`NOT_FOUND`, `INVALID_ARGUMENT`, ...).
    pub status: &'static str,
    /// What the caller may be told.
    pub message: String,
    /// Seconds for `Retry-After`, when throttled.
    pub retry_after: Option<u64>,
}

impl GcpError {
    fn new(http: StatusCode, status: &'static str, message: impl Into<String>) -> Self {
        Self {
            http,
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 INVALID_ARGUMENT.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
    }

    /// 400 FAILED_PRECONDITION.
    pub fn precondition(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "FAILED_PRECONDITION", message)
    }

    /// 404 NOT_FOUND.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    /// 409 ALREADY_EXISTS.
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "ALREADY_EXISTS", message)
    }

    /// 409 ABORTED (a stale etag).
    pub fn aborted(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "ABORTED", message)
    }

    /// The answer to a path or verb this dialect does not know, as Google's REST front end
    /// gives it.
    pub fn no_method() -> Self {
        Self::not_found("Method not found.")
    }

    /// A body that is not the JSON the method takes.
    pub fn bad_json(detail: impl std::fmt::Display) -> Self {
        Self::invalid(format!("Invalid JSON payload received. {detail}"))
    }

    /// The fixed answer to any decryption failure.
    pub fn decrypt_failed() -> Self {
        Self::invalid(DECRYPT_FAILED)
    }

    /// Maps a decryption error: anything about the ciphertext, its key or its data is the
    /// fixed decryption failure; authorization, throttling and outages keep their meaning.
    pub fn from_decrypt(err: Error) -> Self {
        match err {
            // A key or version that may not be used is a precondition, as Cloud KMS answers
            // it (the message names the state), never an integrity failure.
            Error::InvalidState(_) | Error::InvalidKeyUsage(_) => err.into(),
            Error::IntegrityFailure | Error::InvalidArgument(_) | Error::NotFound(_) => {
                tracing::debug!(error = %err, "gcp dialect: decryption failed");
                Self::decrypt_failed()
            }
            other => other.into(),
        }
    }

    /// Cloud KMS's PERMISSION_DENIED for `permission` on `resource` (as the request named
    /// it): the same text whether the resource exists or not, and nothing of keygate's
    /// policy or its reason.
    pub fn denied(permission: &str, resource: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            PERMISSION_DENIED,
            format!(
                "Permission '{permission}' denied on resource '{resource}' (or it may not exist)."
            ),
        )
    }

    /// Whether this is a PERMISSION_DENIED.
    pub fn is_denied(&self) -> bool {
        self.status == PERMISSION_DENIED
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        json!({
            "error": {
                "code": self.http.as_u16(),
                "message": self.message,
                "status": self.status,
                "details": [],
            }
        })
    }
}

impl From<Error> for GcpError {
    fn from(err: Error) -> Self {
        let (http, status, fixed) = match &err {
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "NOT_FOUND", None),
            Error::AlreadyExists(_) => (StatusCode::CONFLICT, "ALREADY_EXISTS", None),
            Error::InvalidArgument(_) => (StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", None),
            Error::InvalidState(_) => (StatusCode::BAD_REQUEST, "FAILED_PRECONDITION", None),
            // A key whose purpose does not allow the method: Cloud KMS refuses it as a failed
            // precondition on the key (its purpose), as it does a key in the wrong state.
            Error::InvalidKeyUsage(_) => (StatusCode::BAD_REQUEST, "FAILED_PRECONDITION", None),
            // Unsupported is a request keygate cannot serve for this key or provider: a 4xx,
            // since retrying the same request cannot succeed.
            Error::Unsupported(_) => (StatusCode::BAD_REQUEST, "FAILED_PRECONDITION", None),
            Error::PermissionDenied(_) => (
                StatusCode::FORBIDDEN,
                "PERMISSION_DENIED",
                Some("The caller does not have permission"),
            ),
            Error::Unauthenticated(_) => (
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                Some(
                    "Request had invalid authentication credentials. Expected a keygate bearer token.",
                ),
            ),
            Error::Throttled { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "RESOURCE_EXHAUSTED",
                Some("Quota exceeded: too many requests; retry later."),
            ),
            Error::IntegrityFailure => (
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                Some(DECRYPT_FAILED),
            ),
            Error::Unavailable { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                Some("The service is currently unavailable."),
            ),
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                Some("Internal error encountered."),
            ),
        };
        if http.is_server_error() {
            tracing::warn!(error = %err, chain = %chain(&err), "gcp dialect: request failed");
        } else {
            tracing::debug!(error = %err, "gcp dialect: request refused");
        }
        let retry_after = match &err {
            Error::Throttled { retry_after } => {
                Some(retry_after.map_or(1, |d| d.as_secs_f64().ceil().max(1.0) as u64))
            }
            _ => None,
        };
        let message = match fixed {
            Some(text) => text.to_owned(),
            None => message_of(&err),
        };
        Self {
            http,
            status,
            message,
            retry_after,
        }
    }
}

/// The message of an error without keygate's `kind: ` prefix.
fn message_of(err: &Error) -> String {
    match err {
        Error::NotFound(m)
        | Error::AlreadyExists(m)
        | Error::InvalidArgument(m)
        | Error::InvalidState(m)
        | Error::InvalidKeyUsage(m)
        | Error::Unsupported(m) => m.clone(),
        other => other.to_string(),
    }
}

fn chain(err: &Error) -> String {
    let mut out = String::new();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

impl IntoResponse for GcpError {
    fn into_response(self) -> Response {
        let mut response = (self.http, axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
            .extensions_mut()
            .insert(crate::shape::Shaped(crate::shape::Door::Gcp));
        response
    }
}

/// The dialect's result type.
pub type GcpResult<T> = Result<T, GcpError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_google_and_client_mistakes_are_4xx() {
        let cases = [
            (Error::not_found("key k"), 404, "NOT_FOUND"),
            (Error::AlreadyExists("k".into()), 409, "ALREADY_EXISTS"),
            (Error::invalid("bad"), 400, "INVALID_ARGUMENT"),
            (Error::state("disabled"), 400, "FAILED_PRECONDITION"),
            (Error::unsupported("no"), 400, "FAILED_PRECONDITION"),
            (
                Error::PermissionDenied("x".into()),
                403,
                "PERMISSION_DENIED",
            ),
            (Error::Unauthenticated("x".into()), 401, "UNAUTHENTICATED"),
            (
                Error::Throttled { retry_after: None },
                429,
                "RESOURCE_EXHAUSTED",
            ),
            (Error::IntegrityFailure, 400, "INVALID_ARGUMENT"),
            (Error::unavailable("db"), 503, "UNAVAILABLE"),
            (Error::provider("p", "boom"), 500, "INTERNAL"),
        ];
        for (err, code, status) in cases {
            let e = GcpError::from(err);
            assert_eq!((e.http.as_u16(), e.status), (code, status));
            let body = e.body();
            assert_eq!(body["error"]["code"], code);
            assert_eq!(body["error"]["status"], status);
        }
    }

    #[test]
    fn fixed_text_hides_details() {
        let e = GcpError::from(Error::PermissionDenied(
            "role app lacks secret-thing".into(),
        ));
        assert!(!e.message.contains("secret-thing"));
        let e = GcpError::from(Error::Unauthenticated("token kgt_abc revoked".into()));
        assert!(!e.message.contains("kgt_abc"));
        let e = GcpError::from_decrypt(Error::not_found("key hidden-key"));
        assert_eq!(e.message, DECRYPT_FAILED);
        // A version that may not be used says so: a precondition, not a bad ciphertext.
        let e = GcpError::from_decrypt(keygate_core::version::version_not_usable(
            "local://k",
            "2",
            keygate_core::VersionState::Disabled,
        ));
        assert_eq!((e.http.as_u16(), e.status), (400, "FAILED_PRECONDITION"));
        assert!(e.message.contains("disabled"), "{}", e.message);
        assert_eq!(
            GcpError::from_decrypt(Error::Throttled { retry_after: None }).http,
            429
        );
        let e = GcpError::from(Error::provider("p", "internal detail"));
        assert!(!e.message.contains("internal detail"));
    }
}
