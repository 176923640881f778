//! AWS KMS errors, classified from the SDK's typed errors and turned into [`keygate_core::Error`].
//!
//! Service errors are matched on the variants of the SDK's service-wide
//! [`aws_sdk_kms::Error`] enum; errors the KMS model does not list (access denied, throttling,
//! bad credentials) arrive as `Unhandled` and are matched on their error *code*, which is typed
//! metadata of the response, never on message text. An HTTP 501 is how an emulator (LocalStack)
//! says it does not implement an operation.

use std::fmt;

use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use keygate_core::{Error, ImportFault};

/// What went wrong talking to KMS, before it becomes a [`keygate_core::Error`].
#[derive(Debug)]
pub(crate) enum AwsError {
    /// KMS answered with an error.
    Service {
        /// The service-wide error, with the variant KMS named.
        error: Box<aws_sdk_kms::Error>,
        /// The HTTP status of the answer.
        status: u16,
    },
    /// No answer in time.
    Timeout(String),
    /// The request could not be sent (connection refused, DNS, TLS, credentials chain).
    Dispatch(String),
    /// The request could not be built (a required field is missing or malformed).
    Construction(String),
    /// An answer that could not be parsed.
    Response(String),
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Service { error, status } => {
                let code = error.code().unwrap_or("unknown error");
                match error.message() {
                    Some(m) => write!(f, "KMS answered {status} {code}: {m}"),
                    None => write!(f, "KMS answered {status} {code}"),
                }
            }
            Self::Timeout(e) => write!(f, "KMS did not answer in time: {e}"),
            Self::Dispatch(e) => write!(f, "cannot reach KMS: {e}"),
            Self::Construction(e) => write!(f, "cannot build the KMS request: {e}"),
            Self::Response(e) => write!(f, "unreadable answer from KMS: {e}"),
        }
    }
}

impl std::error::Error for AwsError {}

impl<E> From<SdkError<E>> for AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    aws_sdk_kms::Error: From<E>,
{
    fn from(err: SdkError<E>) -> Self {
        // `DisplayErrorContext` prints the whole source chain (the dispatch failure's cause is
        // what tells "connection refused" from "no credentials").
        let chain = |e: &dyn std::error::Error| {
            aws_smithy_types::error::display::DisplayErrorContext(e).to_string()
        };
        match err {
            SdkError::ServiceError(ctx) => {
                let status = ctx.raw().status().as_u16();
                Self::Service {
                    error: Box::new(aws_sdk_kms::Error::from(ctx.into_err())),
                    status,
                }
            }
            SdkError::TimeoutError(e) => Self::Timeout(chain(&SdkError::<E>::TimeoutError(e))),
            SdkError::DispatchFailure(e) => {
                Self::Dispatch(chain(&SdkError::<E>::DispatchFailure(e)))
            }
            SdkError::ConstructionFailure(e) => {
                Self::Construction(chain(&SdkError::<E>::ConstructionFailure(e)))
            }
            other => Self::Response(chain(&other)),
        }
    }
}

/// The semantic class of a KMS error, separate from the conversion so it can be unit tested
/// without building SDK errors by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    NotFound,
    AlreadyExists,
    InvalidArgument,
    InvalidState,
    Integrity,
    BadSignature,
    PermissionDenied,
    Unauthenticated,
    Unsupported,
    Throttled,
    Unavailable,
    /// An import refused by one of AWS's import exceptions.
    Import(keygate_core::ImportFault),
    Other,
}

/// Classifies an error code that the KMS model does not declare (it arrives as `Unhandled`).
pub(crate) fn class_of_code(code: &str) -> Class {
    match code {
        "AccessDeniedException" => Class::PermissionDenied,
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded"
        | "LimitExceededException" => Class::Throttled,
        "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "InvalidSignatureException"
        | "IncompleteSignature"
        | "MissingAuthenticationToken"
        | "ExpiredTokenException" => Class::Unauthenticated,
        "ValidationException" | "SerializationException" | "InvalidParameterValue" => {
            Class::InvalidArgument
        }
        "ServiceUnavailable" | "ServiceUnavailableException" | "InternalFailure" => {
            Class::Unavailable
        }
        _ => Class::Other,
    }
}

/// Classifies a KMS service error by its variant (and, for undeclared errors, its code).
pub(crate) fn class_of(error: &aws_sdk_kms::Error, status: u16) -> Class {
    use aws_sdk_kms::Error as K;
    // 501 Not Implemented: the endpoint (an emulator) lacks the operation altogether.
    if status == 501 {
        return Class::Unsupported;
    }
    match error {
        K::NotFoundException(_) => Class::NotFound,
        K::AlreadyExistsException(_) => Class::AlreadyExists,
        K::DisabledException(_)
        | K::KmsInvalidStateException(_)
        | K::InvalidKeyUsageException(_)
        | K::KeyUnavailableException(_) => Class::InvalidState,
        K::InvalidCiphertextException(_) | K::IncorrectKeyException(_) => Class::Integrity,
        K::KmsInvalidSignatureException(_) | K::KmsInvalidMacException(_) => Class::BadSignature,
        K::LimitExceededException(_) => Class::Throttled,
        K::InvalidAliasNameException(_)
        | K::InvalidArnException(_)
        | K::InvalidMarkerException(_)
        | K::InvalidGrantTokenException(_)
        | K::MalformedPolicyDocumentException(_)
        | K::TagException(_) => Class::InvalidArgument,
        K::UnsupportedOperationException(_) => Class::Unsupported,
        K::ExpiredImportTokenException(_) => Class::Import(ImportFault::ExpiredToken),
        K::InvalidImportTokenException(_) => Class::Import(ImportFault::InvalidToken),
        K::IncorrectKeyMaterialException(_) => Class::Import(ImportFault::IncorrectMaterial),
        K::DependencyTimeoutException(_) | K::KmsInternalException(_) => Class::Unavailable,
        other => other.code().map_or(Class::Other, class_of_code),
    }
}

impl AwsError {
    /// The semantic class of this error.
    pub(crate) fn class(&self) -> Class {
        match self {
            Self::Service { error, status } => class_of(error, *status),
            Self::Timeout(_) | Self::Dispatch(_) | Self::Response(_) => Class::Unavailable,
            Self::Construction(_) => Class::InvalidArgument,
        }
    }

    /// The keygate error for this one, tagged with the provider's name. `what` names the
    /// operation and key (`encrypt(alias/pay)`); it never holds a secret.
    pub(crate) fn into_core(self, provider: &str, what: &str) -> Error {
        match self.class() {
            Class::NotFound => Error::not_found(format!("{what}: {self}")),
            Class::AlreadyExists => Error::AlreadyExists(format!("{what}: {self}")),
            Class::InvalidArgument => Error::invalid(format!("{what}: {self}")),
            Class::InvalidState => Error::state(format!("{what}: {self}")),
            // Deliberately says nothing more: decryption failures carry no detail.
            Class::Integrity | Class::BadSignature => Error::IntegrityFailure,
            Class::PermissionDenied => Error::PermissionDenied(format!("{what}: {self}")),
            Class::Unauthenticated => Error::Unauthenticated(format!("{what}: {self}")),
            Class::Unsupported => Error::unsupported(format!("{what}: {self}")),
            // The SDK has already retried with backoff (`max_attempts`); KMS sends no
            // Retry-After, so none is reported.
            Class::Throttled => Error::Throttled { retry_after: None },
            Class::Unavailable => Error::unavailable(format!("{provider}: {what}: {self}")),
            Class::Import(fault) => Error::import_rejected(fault, format!("{what}: {self}")),
            Class::Other => Error::provider(provider, format!("{what}: {self}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_kms::types::error::{
        AlreadyExistsException, DisabledException, IncorrectKeyException,
        InvalidCiphertextException, KmsInvalidSignatureException, KmsInvalidStateException,
        LimitExceededException, NotFoundException,
    };
    use aws_smithy_types::error::ErrorMetadata;
    use keygate_core::ErrorKind;

    use super::*;

    fn service(error: aws_sdk_kms::Error, status: u16) -> AwsError {
        AwsError::Service {
            error: Box::new(error),
            status,
        }
    }

    fn unhandled(code: &str) -> aws_sdk_kms::Error {
        // An error the model does not declare, as the SDK builds it: only its code is typed.
        let meta = ErrorMetadata::builder()
            .code(code)
            .message("a message keygate must not parse")
            .build();
        aws_sdk_kms::Error::from(aws_sdk_kms::operation::encrypt::EncryptError::generic(meta))
    }

    fn kind(e: AwsError) -> ErrorKind {
        e.into_core("aws-test", "op(key)").kind()
    }

    #[test]
    fn declared_errors_map_by_variant() {
        use aws_sdk_kms::Error as K;
        let cases = [
            (
                K::NotFoundException(NotFoundException::builder().build()),
                ErrorKind::NotFound,
            ),
            (
                K::DisabledException(DisabledException::builder().build()),
                ErrorKind::InvalidState,
            ),
            (
                K::KmsInvalidStateException(KmsInvalidStateException::builder().build()),
                ErrorKind::InvalidState,
            ),
            (
                K::InvalidCiphertextException(InvalidCiphertextException::builder().build()),
                ErrorKind::IntegrityFailure,
            ),
            (
                K::IncorrectKeyException(IncorrectKeyException::builder().build()),
                ErrorKind::IntegrityFailure,
            ),
            (
                K::KmsInvalidSignatureException(KmsInvalidSignatureException::builder().build()),
                ErrorKind::IntegrityFailure,
            ),
            (
                K::LimitExceededException(LimitExceededException::builder().build()),
                ErrorKind::Throttled,
            ),
            (
                K::AlreadyExistsException(AlreadyExistsException::builder().build()),
                ErrorKind::AlreadyExists,
            ),
        ];
        for (error, want) in cases {
            let shown = format!("{error:?}");
            assert_eq!(kind(service(error, 400)), want, "{shown}");
        }
    }

    #[test]
    fn undeclared_errors_map_by_code_not_message() {
        assert_eq!(
            kind(service(unhandled("AccessDeniedException"), 400)),
            ErrorKind::PermissionDenied
        );
        assert_eq!(
            kind(service(unhandled("ThrottlingException"), 400)),
            ErrorKind::Throttled
        );
        assert_eq!(
            kind(service(unhandled("UnrecognizedClientException"), 400)),
            ErrorKind::Unauthenticated
        );
        assert_eq!(
            kind(service(unhandled("ValidationException"), 400)),
            ErrorKind::InvalidArgument
        );
        // The same code with a message that names another error is still what the code says.
        assert_eq!(
            kind(service(unhandled("SomethingNew"), 400)),
            ErrorKind::Provider
        );
    }

    #[test]
    fn not_implemented_is_unsupported_and_transport_is_unavailable() {
        assert_eq!(
            kind(service(unhandled("InternalFailure"), 501)),
            ErrorKind::Unsupported
        );
        assert_eq!(
            kind(service(unhandled("InternalFailure"), 500)),
            ErrorKind::Unavailable
        );
        assert_eq!(
            kind(AwsError::Dispatch("connection refused".into())),
            ErrorKind::Unavailable
        );
        assert_eq!(
            kind(AwsError::Timeout("timed out".into())),
            ErrorKind::Unavailable
        );
    }

    #[test]
    fn integrity_failures_carry_no_detail() {
        let e = service(
            aws_sdk_kms::Error::InvalidCiphertextException(
                InvalidCiphertextException::builder()
                    .message("details")
                    .build(),
            ),
            400,
        )
        .into_core("aws-test", "decrypt(k)");
        assert_eq!(e.to_string(), "integrity check failed");
    }
}
