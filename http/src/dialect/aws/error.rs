//! AWS KMS errors on the wire: `{"__type": "<Code>", "message": "..."}` with the status AWS
//! uses, the code also in `x-amzn-errortype` (aws-sdk-kms reads either).
//!
//! Client mistakes are 4xx; only keygate's own faults (a provider failing, the store
//! unreachable) are 5xx. Messages for authentication and decryption failures are fixed, and
//! no message carries plaintext, keys or secrets: keygate errors never hold them, and the
//! dialect's own messages name only ids and bounds.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keygate_core::ImportFault;
use keygate_core::{Error, KeyState};

/// The content type of every AWS JSON 1.1 body.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// The exception of a caller the access policy refuses.
const ACCESS_DENIED: &str = "AccessDeniedException";

/// An error in AWS KMS's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// HTTP status.
    pub status: StatusCode,
    /// The exception name (`NotFoundException`, ...).
    pub code: &'static str,
    /// The message.
    pub message: String,
}

impl AwsError {
    /// An error with `code` and `message` at `status`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// A 400 with `code`.
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// `ValidationException`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::bad("ValidationException", message)
    }

    /// `SerializationException`: a body that is not the JSON the operation takes.
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::bad("SerializationException", message)
    }

    /// `UnsupportedOperationException`.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::bad("UnsupportedOperationException", message)
    }

    /// `NotFoundException`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::bad("NotFoundException", message)
    }

    /// `InvalidKeyUsageException`: the key's usage or spec does not allow the operation or
    /// the algorithm asked for.
    pub fn invalid_key_usage(message: impl Into<String>) -> Self {
        Self::bad("InvalidKeyUsageException", message)
    }

    /// `InvalidCiphertextException`, with the one fixed message for every decryption
    /// failure.
    pub fn invalid_ciphertext() -> Self {
        Self::bad(
            "InvalidCiphertextException",
            "The ciphertext or encryption context is invalid, or does not match the key.",
        )
    }

    /// `KMSInternalException` (500): keygate's own fault; the detail goes to the log only.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "KMSInternalException",
            "The request was rejected because an internal exception occurred. The request can be retried.",
        )
    }

    /// AWS's `AccessDeniedException` for `principal` calling `operation`, in the text IAM
    /// uses when no policy grants an action: it names the caller and the operation, never a
    /// key (so a key the caller may not use and a missing one read alike to a caller with no
    /// rights) nor keygate's policy or its reason.
    pub fn denied(account: &str, principal: &str, operation: &str) -> Self {
        let principal: String = principal
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        Self::bad(
            ACCESS_DENIED,
            format!(
                "User: arn:aws:iam::{account}:user/{principal} is not authorized to perform: \
                 kms:{operation} because no identity-based policy allows the kms:{operation} action"
            ),
        )
    }

    /// Whether this is an `AccessDeniedException`.
    pub fn is_denied(&self) -> bool {
        self.code == ACCESS_DENIED
    }

    /// `error` as AWS would answer it. `state` is the key's state when the caller knows it
    /// (an invalid-state error on a disabled key is `DisabledException`, as in AWS).
    pub fn from_core(error: Error, state: Option<KeyState>) -> Self {
        match error {
            Error::NotFound(m) => Self::not_found(m),
            Error::AlreadyExists(m) => Self::bad("AlreadyExistsException", m),
            Error::InvalidArgument(m) => Self::validation(m),
            Error::ImportRejected { fault, message } => Self::bad(
                match fault {
                    ImportFault::ExpiredToken => "ExpiredImportTokenException",
                    ImportFault::IncorrectMaterial => "IncorrectKeyMaterialException",
                    _ => "InvalidImportTokenException",
                },
                message,
            ),
            Error::InvalidState(m) => match state {
                Some(KeyState::Disabled) => Self::bad("DisabledException", m),
                _ => Self::bad("KMSInvalidStateException", m),
            },
            // AWS: "The KeyUsage value of the KMS key is incompatible with the API operation",
            // or the algorithm asked for does not fit the key's spec (InvalidKeyUsageException
            // in the error list of Encrypt, Decrypt, GenerateDataKey*, Sign, Verify,
            // GenerateMac, VerifyMac, ReEncrypt).
            Error::InvalidKeyUsage(m) => Self::invalid_key_usage(m),
            // The policy's reason goes to the audit row only; the dialect names the caller and
            // the operation once it knows them (`AwsError::denied`).
            Error::PermissionDenied(_) => Self::bad(
                ACCESS_DENIED,
                "The caller is not authorized to perform this operation.",
            ),
            Error::Unauthenticated(_) => Self::bad(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ),
            Error::Unsupported(m) => Self::unsupported(m),
            Error::Throttled { .. } => Self::bad("ThrottlingException", "Rate exceeded"),
            Error::IntegrityFailure => Self::invalid_ciphertext(),
            Error::Unavailable { message: m, .. } => {
                tracing::warn!(error = %m, "AWS dialect: a dependency is unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "DependencyTimeoutException",
                    "The system timed out while trying to fulfill the request. The request can be retried.",
                )
            }
            other => {
                tracing::error!(error = %other, "AWS dialect: internal error");
                Self::internal()
            }
        }
    }
}

impl From<Error> for AwsError {
    fn from(error: Error) -> Self {
        Self::from_core(error, None)
    }
}

impl IntoResponse for AwsError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "__type": self.code, "message": self.message });
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        headers.insert("x-amzn-errortype", HeaderValue::from_static(self.code));
        response
            .extensions_mut()
            .insert(crate::shape::Shaped(crate::shape::Door::Aws));
        response
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keygate_errors_map_to_aws_codes_and_statuses() {
        let cases = [
            (Error::not_found("key x"), 400, "NotFoundException"),
            (Error::invalid("bad"), 400, "ValidationException"),
            (Error::state("x"), 400, "KMSInvalidStateException"),
            (Error::usage("x"), 400, "InvalidKeyUsageException"),
            (
                Error::PermissionDenied("no".into()),
                400,
                "AccessDeniedException",
            ),
            (Error::IntegrityFailure, 400, "InvalidCiphertextException"),
            (
                Error::unsupported("x"),
                400,
                "UnsupportedOperationException",
            ),
            (Error::unavailable("db"), 503, "DependencyTimeoutException"),
            (
                Error::provider("aws", std::io::Error::other("boom")),
                500,
                "KMSInternalException",
            ),
        ];
        for (error, status, code) in cases {
            let e = AwsError::from(error);
            assert_eq!((e.status.as_u16(), e.code), (status, code));
        }
        let disabled = AwsError::from_core(Error::state("off"), Some(KeyState::Disabled));
        assert_eq!(disabled.code, "DisabledException");
        // Internal details stay in the log.
        let internal = AwsError::from(Error::provider("aws", std::io::Error::other("secret")));
        assert!(!internal.message.contains("secret"));
    }

    #[tokio::test]
    async fn the_response_has_the_aws_shape() {
        let response = AwsError::validation("nope").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            response.headers()["x-amzn-errortype"],
            "ValidationException"
        );
        assert_eq!(response.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"__type": "ValidationException", "message": "nope"})
        );
    }
}
