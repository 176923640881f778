//! Cloud KMS errors, classified from the SDK's typed errors and turned into
//! [`keygate_core::Error`].
//!
//! A service error carries a `google.rpc.Status` whose [`Code`] says what happened; errors
//! that never reached the service (timeouts, connection failures, credentials) are told apart
//! by the SDK's own predicates, and an HTTP answer without a status (a proxy's) by its HTTP
//! status. Message text is never read.

use google_cloud_gax::error::Error as SdkError;
use google_cloud_gax::error::rpc::Code;
use keygate_core::Error;

/// The semantic class of a Cloud KMS error, apart from the conversion so it can be tested and
/// so operations can reinterpret a class (a decryption's `InvalidArgument` is an integrity
/// failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    NotFound,
    AlreadyExists,
    InvalidArgument,
    InvalidState,
    /// `ABORTED`: a concurrent change (a stale IAM etag). keygate has no conflict error, so it
    /// becomes [`Error::InvalidState`]: read again and retry.
    Conflict,
    PermissionDenied,
    Unauthenticated,
    Unsupported,
    Throttled,
    Unavailable,
    Other,
}

/// The class of a `google.rpc.Code`.
pub(crate) fn class_of_code(code: Code) -> Class {
    match code {
        Code::NotFound => Class::NotFound,
        Code::AlreadyExists => Class::AlreadyExists,
        Code::InvalidArgument | Code::OutOfRange => Class::InvalidArgument,
        Code::FailedPrecondition => Class::InvalidState,
        Code::Aborted => Class::Conflict,
        Code::PermissionDenied => Class::PermissionDenied,
        Code::Unauthenticated => Class::Unauthenticated,
        Code::Unimplemented => Class::Unsupported,
        Code::ResourceExhausted => Class::Throttled,
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Internal => {
            Class::Unavailable
        }
        _ => Class::Other,
    }
}

/// The class of an HTTP answer that carried no `google.rpc.Status` (a proxy or load balancer
/// answered).
fn class_of_http(status: u16) -> Class {
    match status {
        400 => Class::InvalidArgument,
        401 => Class::Unauthenticated,
        403 => Class::PermissionDenied,
        404 => Class::NotFound,
        409 => Class::Conflict,
        429 => Class::Throttled,
        501 => Class::Unsupported,
        500..=599 => Class::Unavailable,
        _ => Class::Other,
    }
}

/// The class of any SDK error.
pub(crate) fn class_of(err: &SdkError) -> Class {
    if let Some(status) = err.status() {
        return class_of_code(status.code);
    }
    if err.is_authentication() {
        return Class::Unauthenticated;
    }
    if err.is_timeout() || err.is_exhausted() || err.is_io() || err.is_connect() {
        return Class::Unavailable;
    }
    if let Some(code) = err.http_status_code() {
        return class_of_http(code);
    }
    if err.is_transport() {
        return Class::Unavailable;
    }
    Class::Other
}

/// Turns an error of class `class` into keygate's, tagged with the provider's name. `what`
/// names the operation and key (`encrypt(payments)`); it never holds a secret.
pub(crate) fn to_core(
    class: Class,
    provider: &str,
    what: &str,
    detail: &dyn std::fmt::Display,
) -> Error {
    let msg = || format!("{what}: Cloud KMS: {detail}");
    match class {
        Class::NotFound => Error::not_found(msg()),
        Class::AlreadyExists => Error::AlreadyExists(msg()),
        Class::InvalidArgument => Error::invalid(msg()),
        Class::InvalidState => Error::state(msg()),
        Class::Conflict => Error::state(format!(
            "{what}: changed concurrently (read it again and retry): {detail}"
        )),
        Class::PermissionDenied => Error::PermissionDenied(msg()),
        Class::Unauthenticated => Error::Unauthenticated(msg()),
        Class::Unsupported => Error::unsupported(msg()),
        // The SDK's retry policy has already backed off; Cloud KMS sends no Retry-After.
        Class::Throttled => Error::Throttled { retry_after: None },
        Class::Unavailable => Error::unavailable(format!("{provider}: {}", msg())),
        Class::Other => Error::provider(provider, msg()),
    }
}

/// [`to_core`] of an SDK error.
pub(crate) fn from_sdk(err: &SdkError, provider: &str, what: &str) -> Error {
    to_core(class_of(err), provider, what, err)
}

#[cfg(test)]
mod tests {
    use google_cloud_gax::error::rpc::Status;
    use keygate_core::ErrorKind;

    use super::*;

    fn service(code: Code) -> SdkError {
        SdkError::service(
            Status::default()
                .set_code(code)
                .set_message("NOT_FOUND: a message keygate must not parse"),
        )
    }

    fn kind(err: &SdkError) -> ErrorKind {
        from_sdk(err, "gcp-test", "op(key)").kind()
    }

    #[test]
    fn service_errors_map_by_code_not_message() {
        let cases = [
            (Code::NotFound, ErrorKind::NotFound),
            (Code::AlreadyExists, ErrorKind::AlreadyExists),
            (Code::InvalidArgument, ErrorKind::InvalidArgument),
            (Code::OutOfRange, ErrorKind::InvalidArgument),
            (Code::FailedPrecondition, ErrorKind::InvalidState),
            (Code::Aborted, ErrorKind::InvalidState),
            (Code::PermissionDenied, ErrorKind::PermissionDenied),
            (Code::Unauthenticated, ErrorKind::Unauthenticated),
            (Code::Unimplemented, ErrorKind::Unsupported),
            (Code::ResourceExhausted, ErrorKind::Throttled),
            (Code::Unavailable, ErrorKind::Unavailable),
            (Code::DeadlineExceeded, ErrorKind::Unavailable),
            (Code::Internal, ErrorKind::Unavailable),
            (Code::DataLoss, ErrorKind::Provider),
            (Code::Unknown, ErrorKind::Provider),
        ];
        // Every message says NOT_FOUND: only the code decides.
        for (code, want) in cases {
            assert_eq!(kind(&service(code)), want, "{code:?}");
        }
    }

    #[test]
    fn errors_before_the_service_are_unavailable_or_unauthenticated() {
        assert_eq!(kind(&SdkError::timeout("deadline")), ErrorKind::Unavailable);
        assert_eq!(kind(&SdkError::io("reset")), ErrorKind::Unavailable);
        assert_eq!(kind(&SdkError::connect("refused")), ErrorKind::Unavailable);
        assert_eq!(
            kind(&SdkError::exhausted("retries")),
            ErrorKind::Unavailable
        );
        let no_creds = google_cloud_gax::error::CredentialsError::from_msg(false, "no ADC");
        assert_eq!(
            kind(&SdkError::authentication(no_creds)),
            ErrorKind::Unauthenticated
        );
    }

    #[test]
    fn http_answers_without_a_status_map_by_http_status() {
        let http = |code| SdkError::http(code, http::HeaderMap::new(), "<html>".into());
        assert_eq!(kind(&http(404)), ErrorKind::NotFound);
        assert_eq!(kind(&http(403)), ErrorKind::PermissionDenied);
        assert_eq!(kind(&http(401)), ErrorKind::Unauthenticated);
        assert_eq!(kind(&http(429)), ErrorKind::Throttled);
        assert_eq!(kind(&http(502)), ErrorKind::Unavailable);
    }
}
