//! The one error type every keygate library returns.

use std::time::Duration;

/// A boxed source error from a backend SDK or driver.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Result alias used across keygate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Semantic errors shared by every provider and by the gateway.
///
/// Providers map their SDK's typed errors onto these variants (never from message text),
/// so callers branch on meaning, not on which cloud answered. Messages never contain
/// plaintext, data keys or key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key, version, alias or other named thing does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// Creating something that already exists.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// The request itself is malformed or out of bounds.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The request is valid but the key is in a state that forbids it (disabled, pending
    /// deletion, wrong usage for the operation, ...).
    #[error("invalid state: {0}")]
    InvalidState(String),
    /// The key exists and is usable, but not for this: its usage (encrypt, sign, MAC) or its
    /// spec does not allow the operation or the algorithm asked for (AWS KMS's
    /// `InvalidKeyUsageException`).
    #[error("invalid key usage: {0}")]
    InvalidKeyUsage(String),
    /// The caller is known but may not do this.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The caller could not be identified.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The provider (or keygate for this provider) does not support the operation.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The backend asked us to slow down.
    #[error("throttled")]
    Throttled {
        /// How long the backend asked us to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The backend or a store could not be reached or is failing. `source`, when there is
    /// one, is the I/O, driver or transport error underneath: the message shows its text, and
    /// [`std::error::Error::source`] hands it on, so the whole chain reaches the log.
    #[error("unavailable: {message}{}", cause_text(.source.as_deref()))]
    Unavailable {
        /// What could not be done.
        message: String,
        /// The error underneath, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// Imported key material or its import token was refused (AWS KMS's
    /// `ExpiredImportTokenException`, `InvalidImportTokenException` and
    /// `IncorrectKeyMaterialException`). Its [`kind`](Error::kind) is
    /// [`ErrorKind::InvalidArgument`]: a client mistake everywhere but in the AWS door, which
    /// answers the exception `fault` names. The message never holds the token or the material.
    #[error("invalid argument: {message}")]
    ImportRejected {
        /// Which of AWS's import faults it is.
        fault: crate::import::ImportFault,
        /// What was wrong.
        message: String,
    },
    /// Ciphertext, MAC or stored data failed authentication. Deliberately carries no detail.
    #[error("integrity check failed")]
    IntegrityFailure,
    /// The root key does not open this store: it was created under a different root key.
    #[error(
        "the root key does not match this key store (it was initialised with a different root key)"
    )]
    RootKeyMismatch,
    /// An error from a backend that has no more specific meaning.
    #[error("{provider}: {source}")]
    Provider {
        /// The registered provider name.
        provider: String,
        /// The backend's own error.
        #[source]
        source: BoxError,
    },
}

/// `": <source>"`, or nothing: the cause's text after an [`Error::Unavailable`] message.
fn cause_text(source: Option<&(dyn std::error::Error + Send + Sync + 'static)>) -> String {
    source.map(|s| format!(": {s}")).unwrap_or_default()
}

/// The kind of an [`Error`], stable for JSON, audit rows and exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// See [`Error::NotFound`].
    NotFound,
    /// See [`Error::AlreadyExists`].
    AlreadyExists,
    /// See [`Error::InvalidArgument`].
    InvalidArgument,
    /// See [`Error::InvalidState`].
    InvalidState,
    /// See [`Error::InvalidKeyUsage`].
    InvalidKeyUsage,
    /// See [`Error::PermissionDenied`].
    PermissionDenied,
    /// See [`Error::Unauthenticated`].
    Unauthenticated,
    /// See [`Error::Unsupported`].
    Unsupported,
    /// See [`Error::Throttled`].
    Throttled,
    /// See [`Error::Unavailable`].
    Unavailable,
    /// See [`Error::IntegrityFailure`].
    IntegrityFailure,
    /// See [`Error::RootKeyMismatch`].
    RootKeyMismatch,
    /// See [`Error::Provider`].
    Provider,
}

impl ErrorKind {
    /// The snake_case name used in JSON and audit rows.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::AlreadyExists => "already_exists",
            Self::InvalidArgument => "invalid_argument",
            Self::InvalidState => "invalid_state",
            Self::InvalidKeyUsage => "invalid_key_usage",
            Self::PermissionDenied => "permission_denied",
            Self::Unauthenticated => "unauthenticated",
            Self::Unsupported => "unsupported",
            Self::Throttled => "throttled",
            Self::Unavailable => "unavailable",
            Self::IntegrityFailure => "integrity_failure",
            Self::RootKeyMismatch => "root_key_mismatch",
            Self::Provider => "provider",
        }
    }
}

impl ErrorKind {
    /// Every kind, in declaration order: what [`FromStr`](std::str::FromStr) looks names up
    /// in.
    pub const ALL: [Self; 13] = [
        Self::NotFound,
        Self::AlreadyExists,
        Self::InvalidArgument,
        Self::InvalidState,
        Self::InvalidKeyUsage,
        Self::PermissionDenied,
        Self::Unauthenticated,
        Self::Unsupported,
        Self::Throttled,
        Self::Unavailable,
        Self::IntegrityFailure,
        Self::RootKeyMismatch,
        Self::Provider,
    ];
}

impl std::str::FromStr for ErrorKind {
    type Err = Error;

    /// The kind named by its stable snake_case name ([`ErrorKind::as_str`]).
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Error::invalid(format!("unknown error kind `{s}`")))
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    /// The semantic kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::AlreadyExists(_) => ErrorKind::AlreadyExists,
            Self::InvalidArgument(_) | Self::ImportRejected { .. } => ErrorKind::InvalidArgument,
            Self::InvalidState(_) => ErrorKind::InvalidState,
            Self::InvalidKeyUsage(_) => ErrorKind::InvalidKeyUsage,
            Self::PermissionDenied(_) => ErrorKind::PermissionDenied,
            Self::Unauthenticated(_) => ErrorKind::Unauthenticated,
            Self::Unsupported(_) => ErrorKind::Unsupported,
            Self::Throttled { .. } => ErrorKind::Throttled,
            Self::Unavailable { .. } => ErrorKind::Unavailable,
            Self::IntegrityFailure => ErrorKind::IntegrityFailure,
            Self::RootKeyMismatch => ErrorKind::RootKeyMismatch,
            Self::Provider { .. } => ErrorKind::Provider,
        }
    }

    /// The error of kind `kind` with `message`, as a client rebuilds an error a gateway
    /// reported by its stable kind. [`Error::IntegrityFailure`] and [`Error::RootKeyMismatch`]
    /// carry no message; [`Error::Throttled`] carries `retry_after`; a provider error is
    /// attributed to `gateway`.
    pub fn from_kind(kind: ErrorKind, message: String, retry_after: Option<Duration>) -> Self {
        match kind {
            ErrorKind::NotFound => Self::NotFound(message),
            ErrorKind::AlreadyExists => Self::AlreadyExists(message),
            ErrorKind::InvalidArgument => Self::InvalidArgument(message),
            ErrorKind::InvalidState => Self::InvalidState(message),
            ErrorKind::InvalidKeyUsage => Self::InvalidKeyUsage(message),
            ErrorKind::PermissionDenied => Self::PermissionDenied(message),
            ErrorKind::Unauthenticated => Self::Unauthenticated(message),
            ErrorKind::Unsupported => Self::Unsupported(message),
            ErrorKind::Throttled => Self::Throttled { retry_after },
            ErrorKind::Unavailable => Self::unavailable(message),
            ErrorKind::IntegrityFailure => Self::IntegrityFailure,
            ErrorKind::RootKeyMismatch => Self::RootKeyMismatch,
            ErrorKind::Provider => Self::provider("gateway", message),
        }
    }

    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::InvalidArgument(msg.into())
    }

    /// [`Error::ImportRejected`] for `fault`.
    pub fn import_rejected(fault: crate::import::ImportFault, msg: impl Into<String>) -> Self {
        Self::ImportRejected {
            fault,
            message: msg.into(),
        }
    }

    /// Shorthand for [`Error::InvalidState`].
    pub fn state(msg: impl Into<String>) -> Self {
        Self::InvalidState(msg.into())
    }

    /// Shorthand for [`Error::InvalidKeyUsage`].
    pub fn usage(msg: impl Into<String>) -> Self {
        Self::InvalidKeyUsage(msg.into())
    }

    /// Shorthand for [`Error::Unsupported`].
    pub fn unsupported(msg: impl Into<String>) -> Self {
        Self::Unsupported(msg.into())
    }

    /// [`Error::Unavailable`] with no error underneath.
    pub fn unavailable(msg: impl Into<String>) -> Self {
        Self::Unavailable {
            message: msg.into(),
            source: None,
        }
    }

    /// [`Error::Unavailable`] caused by `source` (an I/O, driver or transport error), kept as
    /// the error's source.
    pub fn unavailable_because(msg: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Unavailable {
            message: msg.into(),
            source: Some(source.into()),
        }
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }

    /// Wraps a backend error, tagging the provider it came from.
    pub fn provider(provider: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Provider {
            provider: provider.into(),
            source: source.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_stable_names() {
        assert_eq!(Error::not_found("key x").kind().as_str(), "not_found");
        assert_eq!(Error::IntegrityFailure.kind().as_str(), "integrity_failure");
        let json = serde_json::to_string(&ErrorKind::RootKeyMismatch).unwrap();
        assert_eq!(json, "\"root_key_mismatch\"");
    }

    #[test]
    fn every_kind_parses_back_and_rebuilds_an_error_of_that_kind() {
        for kind in ErrorKind::ALL {
            let parsed: ErrorKind = kind.as_str().parse().unwrap();
            assert_eq!(parsed, kind);
            assert_eq!(Error::from_kind(kind, "m".into(), None).kind(), kind);
        }
        assert!("no_such_kind".parse::<ErrorKind>().is_err());
    }

    #[test]
    fn unavailable_keeps_its_cause_as_its_source() {
        let io = std::io::Error::other("disk full");
        let e = Error::unavailable_because("gateway store", io);
        assert_eq!(e.to_string(), "unavailable: gateway store: disk full");
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("disk full"));
        let plain = Error::unavailable("the audit writer has stopped");
        assert_eq!(
            plain.to_string(),
            "unavailable: the audit writer has stopped"
        );
        assert!(std::error::Error::source(&plain).is_none());
        assert_eq!(plain.kind(), ErrorKind::Unavailable);
    }

    #[test]
    fn integrity_failure_says_nothing_specific() {
        assert_eq!(
            Error::IntegrityFailure.to_string(),
            "integrity check failed"
        );
    }
}
