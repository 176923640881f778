//! Key Vault and Resource Manager errors, classified from the SDK's typed errors and turned
//! into [`keygate_core::Error`].
//!
//! An answer from the service is `azure_core::error::ErrorKind::HttpResponse`: its HTTP
//! status and the service's error `code` (`KeyNotFound`, `BadParameter`, `Forbidden`, ...)
//! decide, and so does the `innererror` code of a 403 (`KeyDisabled`, `ForbiddenByPolicy`)
//! read from the JSON error body. Errors that never reached the service are told apart by the
//! error kind (connection, I/O, credential). Message text is never read.

use std::time::Duration;

use azure_core::error::ErrorKind;
use azure_core::http::StatusCode;
use keygate_core::Error;

/// The semantic class of an Azure error, apart from the conversion so operations can
/// reinterpret a class (an unwrap's `InvalidArgument` is an integrity failure) and so it can
/// be tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    NotFound,
    /// 409: the name is taken (or held by a deleted key), or the key is busy (being deleted
    /// or recovered).
    Conflict,
    InvalidArgument,
    /// A 403 whose inner code says the key's state refuses the operation (`KeyDisabled`,
    /// `KeyExpired`, `KeyNotYetValid`, `OperationNotAllowed` by key_ops).
    InvalidState,
    PermissionDenied,
    Unauthenticated,
    Unsupported,
    Throttled(Option<Duration>),
    Unavailable,
    Other,
}

/// Inner codes of a 403 that mean "the key's state or key_ops refuse this", not "you may not".
const STATE_CODES: [&str; 4] = [
    "KeyDisabled",
    "KeyExpired",
    "KeyNotYetValid",
    "OperationNotAllowed",
];

/// The class of an HTTP answer: `status`, the service's `code`, its `innererror` code and
/// the `Retry-After` seconds it sent.
pub(crate) fn class_of_answer(
    status: u16,
    code: Option<&str>,
    inner: Option<&str>,
    retry_after: Option<u64>,
) -> Class {
    match status {
        400 | 413 | 422 => Class::InvalidArgument,
        401 => Class::Unauthenticated,
        403 if inner.or(code).is_some_and(|c| STATE_CODES.contains(&c)) => Class::InvalidState,
        403 => Class::PermissionDenied,
        404 | 410 => Class::NotFound,
        405 | 501 => Class::Unsupported,
        409 => Class::Conflict,
        429 => Class::Throttled(retry_after.map(Duration::from_secs)),
        408 | 500..=599 => Class::Unavailable,
        _ => Class::Other,
    }
}

/// The `innererror.code` of a Key Vault error body, when it has one.
fn inner_code(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let err = v.get("error")?;
    err.get("innererror")
        .or_else(|| err.get("innerError"))
        .and_then(|i| i.get("code"))
        .and_then(|c| c.as_str())
        .map(str::to_owned)
}

/// True when the vault refused because the key or version is disabled (403 with the inner
/// code `KeyDisabled`).
pub(crate) fn is_disabled(err: &azure_core::Error) -> bool {
    match err.kind() {
        ErrorKind::HttpResponse {
            status,
            raw_response,
            ..
        } => {
            u16::from(*status) == 403
                && raw_response
                    .as_ref()
                    .and_then(|r| inner_code(r.body().as_ref()))
                    .is_some_and(|c| c == "KeyDisabled")
        }
        _ => false,
    }
}

/// The class of any SDK error.
pub(crate) fn class_of(err: &azure_core::Error) -> Class {
    match err.kind() {
        ErrorKind::HttpResponse {
            status,
            error_code,
            raw_response,
        } => {
            let inner = raw_response
                .as_ref()
                .and_then(|r| inner_code(r.body().as_ref()));
            let retry_after = raw_response.as_ref().and_then(|r| {
                r.headers()
                    .get_optional_str(&azure_core::http::headers::RETRY_AFTER)
                    .and_then(|s| s.trim().parse::<u64>().ok())
            });
            class_of_answer(
                u16::from(*status),
                error_code.as_deref(),
                inner.as_deref(),
                retry_after,
            )
        }
        ErrorKind::Connection | ErrorKind::Io => Class::Unavailable,
        ErrorKind::Credential => Class::Unauthenticated,
        _ => Class::Other,
    }
}

/// Turns an error of class `class` into keygate's, tagged with the provider's name. `what`
/// names the operation and key (`encrypt(payments)`); it never holds a secret.
pub(crate) fn to_core(
    class: Class,
    provider: &str,
    what: &str,
    detail: &dyn std::fmt::Display,
) -> Error {
    let msg = || format!("{what}: Azure Key Vault: {detail}");
    match class {
        Class::NotFound => Error::not_found(msg()),
        // Creation checks for the name first; elsewhere a conflict is a key that is busy.
        Class::Conflict if what.starts_with("create") => Error::AlreadyExists(msg()),
        Class::Conflict => Error::state(msg()),
        Class::InvalidArgument => Error::invalid(msg()),
        Class::InvalidState => Error::state(msg()),
        Class::PermissionDenied => Error::PermissionDenied(msg()),
        Class::Unauthenticated => Error::Unauthenticated(msg()),
        Class::Unsupported => Error::unsupported(msg()),
        Class::Throttled(retry_after) => Error::Throttled { retry_after },
        Class::Unavailable => Error::unavailable(format!("{provider}: {}", msg())),
        Class::Other => Error::provider(provider, msg()),
    }
}

/// [`to_core`] of an SDK error.
pub(crate) fn from_sdk(err: &azure_core::Error, provider: &str, what: &str) -> Error {
    to_core(class_of(err), provider, what, err)
}

/// Whether `err` is an HTTP answer with status `status`.
pub(crate) fn is_status(err: &azure_core::Error, status: StatusCode) -> bool {
    err.http_status() == Some(status)
}

#[cfg(test)]
mod tests {
    use azure_core::http::headers::Headers;
    use azure_core::http::{RawResponse, StatusCode};
    use keygate_core::ErrorKind as Kind;

    use super::*;

    fn answer(status: u16, code: &str, inner: Option<&str>, headers: Headers) -> azure_core::Error {
        let status = StatusCode::from(status);
        let body = match inner {
            Some(i) => {
                serde_json::json!({"error": {"code": code, "message": "KeyNotFound: not for parsing", "innererror": {"code": i}}})
            }
            None => {
                serde_json::json!({"error": {"code": code, "message": "KeyNotFound: not for parsing"}})
            }
        };
        let raw = RawResponse::from_bytes(status, headers, body.to_string());
        azure_core::Error::with_message(
            ErrorKind::HttpResponse {
                status,
                error_code: Some(code.to_owned()),
                raw_response: Some(Box::new(raw)),
            },
            "KeyNotFound: a message keygate must not parse",
        )
    }

    fn kind(err: &azure_core::Error) -> Kind {
        from_sdk(err, "azure-test", "op(key)").kind()
    }

    #[test]
    fn answers_map_by_status_and_code_not_message() {
        let none = Headers::new;
        let cases = [
            (404, "KeyNotFound", None, Kind::NotFound),
            (400, "BadParameter", None, Kind::InvalidArgument),
            (401, "Unauthorized", None, Kind::Unauthenticated),
            (403, "Forbidden", None, Kind::PermissionDenied),
            (403, "ForbiddenByPolicy", None, Kind::PermissionDenied),
            (
                403,
                "Forbidden",
                Some("ForbiddenByPolicy"),
                Kind::PermissionDenied,
            ),
            (403, "Forbidden", Some("KeyDisabled"), Kind::InvalidState),
            (409, "Conflict", None, Kind::InvalidState),
            (500, "InternalServerError", None, Kind::Unavailable),
            (503, "ServiceUnavailable", None, Kind::Unavailable),
            (501, "NotImplemented", None, Kind::Unsupported),
            (418, "Teapot", None, Kind::Provider),
        ];
        // Every message says KeyNotFound: only the status and codes decide.
        for (status, code, inner, want) in cases {
            assert_eq!(
                kind(&answer(status, code, inner, none())),
                want,
                "{status} {code} {inner:?}"
            );
        }
        let conflict = answer(409, "Conflict", None, none());
        assert_eq!(
            from_sdk(&conflict, "azure-test", "create(k)").kind(),
            Kind::AlreadyExists
        );
    }

    #[test]
    fn throttling_carries_retry_after() {
        let mut headers = Headers::new();
        headers.insert("retry-after", "7");
        match from_sdk(&answer(429, "Throttled", None, headers), "p", "op") {
            Error::Throttled { retry_after } => {
                assert_eq!(retry_after, Some(Duration::from_secs(7)));
            }
            other => panic!("{other}"),
        }
        match from_sdk(&answer(429, "Throttled", None, Headers::new()), "p", "op") {
            Error::Throttled { retry_after } => assert_eq!(retry_after, None),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn errors_before_the_service_map_by_kind() {
        let e = |k| azure_core::Error::with_message(k, "x");
        assert_eq!(kind(&e(ErrorKind::Connection)), Kind::Unavailable);
        assert_eq!(kind(&e(ErrorKind::Io)), Kind::Unavailable);
        assert_eq!(kind(&e(ErrorKind::Credential)), Kind::Unauthenticated);
        assert_eq!(kind(&e(ErrorKind::DataConversion)), Kind::Provider);
    }
}
