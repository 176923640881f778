//! Azure Key Vault's error shape, `{"error": {"code": "...", "message": "..."}}`, and the one
//! mapping from keygate errors to it.
//!
//! Client mistakes are 4xx, never 5xx. 401, 403, 404 and 5xx carry fixed text (the details go
//! to the log); so does every failure to decrypt or unwrap, whatever the reason.

use axum::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use keygate_core::Error;
use serde_json::json;

/// The Entra ID authority named in challenges. The SDKs read only `resource` (or `scope`),
/// so the multi-tenant authority is named: keygate issues its own tokens.
pub const CHALLENGE_AUTHORITY: &str = "https://login.microsoftonline.com/common";
/// The resource named in challenges: Azure Key Vault's, so SDK credentials ask for the scope
/// `https://vault.azure.net/.default` as they would for a real vault.
pub const CHALLENGE_RESOURCE: &str = "https://vault.azure.net";

/// An error answer in Azure's shape.
#[derive(Debug, Clone)]
pub struct AzureError {
    /// HTTP status.
    pub status: StatusCode,
    /// Azure's error code (`KeyNotFound`, `BadParameter`, ...).
    pub code: &'static str,
    /// The message.
    pub message: String,
    /// Azure's `innererror.code` (`KeyDisabled`), when the answer has one.
    pub inner: Option<&'static str>,
    retry_after: Option<u64>,
    challenge: bool,
}

/// What the request was doing, for the error text.
#[derive(Debug, Clone, Copy)]
pub struct Doing<'a> {
    /// Azure's name of the operation (`get`, `encrypt`, `unwrapKey`, ...).
    pub op: &'a str,
    /// The key name, when the request names one.
    pub key: Option<&'a str>,
    /// The vault name.
    pub vault: &'a str,
}

impl AzureError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            inner: None,
            retry_after: None,
            challenge: false,
        }
    }

    /// 400 BadParameter.
    pub fn bad_parameter(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadParameter", message)
    }

    /// 400 BadParameter with the one message every failed decryption gets.
    pub fn decryption_failed() -> Self {
        Self::bad_parameter("Decryption failed")
    }

    /// 404 KeyNotFound for `name`.
    pub fn key_not_found(name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "KeyNotFound",
            format!(
                "A key with (name/id) {name} was not found in this key vault. If you recently \
                 deleted this key you may be able to recover it using the correct recovery command."
            ),
        )
    }

    /// 404 KeyNotFound for a deleted key that is not there.
    pub fn deleted_key_not_found(name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "KeyNotFound",
            format!("Deleted Key not found: {name}"),
        )
    }

    /// 404 for a path that names nothing.
    pub fn no_route() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            "The requested URI does not represent any resource on the server.",
        )
    }

    /// 405 for a known path with another method.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The requested method is not allowed on this resource.",
        )
    }

    /// 413 for a body over the limit.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("The request body is larger than {limit} bytes."),
        )
    }

    /// 403: the vault is purge-protected.
    pub fn purge_protected(name: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!(
                "Operation \"purge\" is not allowed for key {name} because purge protection is \
                 enabled for this vault. The key is purged automatically after its retention \
                 period."
            ),
        )
    }

    /// 401 with the challenge; `token_sent` picks the fixed message.
    pub fn unauthorized(token_sent: bool) -> Self {
        let message = if token_sent {
            "AKV10022: The bearer token is not valid."
        } else {
            "AKV10000: Request is missing a Bearer or PoP token."
        };
        Self {
            challenge: true,
            ..Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", message)
        }
    }

    /// 500 with fixed text (the cause is logged by the caller).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "The server encountered an internal error. Please retry the request.",
        )
    }

    /// The answer for a keygate error from a request `doing` something.
    pub fn from_core(err: Error, doing: Doing<'_>) -> Self {
        let op = doing.op;
        let decrypting = matches!(op, "decrypt" | "unwrapKey");
        match err {
            Error::NotFound(_) if decrypting && doing.key.is_none() => Self::decryption_failed(),
            Error::NotFound(what) => {
                tracing::debug!(%what, "azure dialect: not found");
                match doing.key {
                    Some(name) => Self::key_not_found(name),
                    None => Self::no_route(),
                }
            }
            Error::InvalidArgument(_) | Error::Unsupported(_) | Error::IntegrityFailure
                if decrypting =>
            {
                Self::decryption_failed()
            }
            Error::AlreadyExists(_) => Self::new(
                StatusCode::CONFLICT,
                "Conflict",
                format!(
                    "A key named {} already exists in this vault (to add a version, rotate it).",
                    doing.key.unwrap_or("?")
                ),
            ),
            Error::InvalidArgument(m) | Error::Unsupported(m) => Self::bad_parameter(m),
            // Key Vault refuses an operation the key's key_ops do not permit with 403
            // Forbidden, "Operation decrypt is not permitted on this key." (inner code
            // KeyOperationForbidden), as its SDKs report it.
            Error::InvalidKeyUsage(what) => {
                tracing::debug!(%what, "azure dialect: operation not permitted on this key");
                Self::new(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    format!("Operation {op} is not permitted on this key."),
                )
            }
            Error::IntegrityFailure => Self::decryption_failed(),
            Error::InvalidState(what) => {
                tracing::debug!(%what, "azure dialect: invalid state");
                // Key Vault answers a disabled key or version with 403 and the inner code
                // `KeyDisabled`, which clients tell from a refused permission.
                if what.contains(" is disabled") {
                    return Self {
                        inner: Some("KeyDisabled"),
                        ..Self::new(
                            StatusCode::FORBIDDEN,
                            "Forbidden",
                            format!("Operation {op} is not allowed on a disabled key."),
                        )
                    };
                }
                Self::new(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    format!(
                        "Operation {op} is not allowed on this key: it is disabled, deleted, or \
                         its key_ops do not permit {op}."
                    ),
                )
            }
            Error::PermissionDenied(_) => Self::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                format!(
                    "The caller does not have keys {op} permission on key vault '{}'.",
                    doing.vault
                ),
            ),
            Error::Unauthenticated(_) => Self::unauthorized(true),
            Error::Throttled { retry_after } => Self {
                retry_after: Some(retry_after.map_or(1, |d| d.as_secs().max(1))),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Throttled",
                    "Request was not processed because too many requests were received. Reason: \
                     rate limit.",
                )
            },
            Error::Unavailable { message: what, .. } => {
                tracing::warn!(%what, "azure dialect: unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailable",
                    "The service is temporarily unavailable. Please retry the request.",
                )
            }
            other => {
                tracing::error!(error = %other, source = ?std::error::Error::source(&other), "azure dialect: internal error");
                Self::internal()
            }
        }
    }
}

impl IntoResponse for AzureError {
    fn into_response(self) -> Response {
        let body = match self.inner {
            Some(inner) => json!({ "error": {
                "code": self.code,
                "message": self.message,
                "innererror": { "code": inner },
            } }),
            None => json!({ "error": { "code": self.code, "message": self.message } }),
        };
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            headers.insert(RETRY_AFTER, v);
        }
        if self.challenge
            && let Ok(v) = HeaderValue::from_str(&challenge())
        {
            headers.insert(WWW_AUTHENTICATE, v);
        }
        response
            .extensions_mut()
            .insert(crate::shape::Shaped(crate::shape::Door::Azure));
        response
    }
}

/// The `WWW-Authenticate` value of every 401.
pub fn challenge() -> String {
    format!(r#"Bearer authorization="{CHALLENGE_AUTHORITY}", resource="{CHALLENGE_RESOURCE}""#)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOING: Doing<'static> = Doing {
        op: "encrypt",
        key: Some("k1"),
        vault: "keygate",
    };

    #[test]
    fn errors_map_to_azure_codes_with_fixed_text_where_it_matters() {
        let e = AzureError::from_core(Error::not_found("key `k1` in local"), DOING);
        assert_eq!((e.status.as_u16(), e.code), (404, "KeyNotFound"));
        let e = AzureError::from_core(Error::state("key `k1` is disabled"), DOING);
        assert_eq!((e.status.as_u16(), e.code), (403, "Forbidden"));
        assert_eq!(e.inner, Some("KeyDisabled"));
        assert!(!e.message.contains('`'));
        let e = AzureError::from_core(Error::state("key `k1` is pending_deletion"), DOING);
        assert_eq!((e.status.as_u16(), e.inner), (403, None));
        let e = AzureError::from_core(Error::PermissionDenied("statement 3".into()), DOING);
        assert!(!e.message.contains("statement"));
        let decrypt = Doing {
            op: "decrypt",
            ..DOING
        };
        for err in [
            Error::IntegrityFailure,
            Error::invalid("bad envelope header"),
        ] {
            let e = AzureError::from_core(err, decrypt);
            assert_eq!(
                (e.status.as_u16(), e.message.as_str()),
                (400, "Decryption failed")
            );
        }
        let e = AzureError::from_core(Error::unavailable("db down"), DOING);
        assert_eq!(e.status.as_u16(), 503);
        assert!(!e.message.contains("db"));
    }

    #[test]
    fn unauthorized_carries_the_challenge() {
        let r = AzureError::unauthorized(false).into_response();
        assert_eq!(r.status().as_u16(), 401);
        assert_eq!(
            r.headers()[WWW_AUTHENTICATE],
            r#"Bearer authorization="https://login.microsoftonline.com/common", resource="https://vault.azure.net""#
        );
    }
}
