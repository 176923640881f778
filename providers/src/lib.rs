//! keygate key providers: one module per backend behind [`keygate_core::KeyProvider`].
//!
//! - [`local`]: the embedded default provider — real cryptography (aws-lc-rs) over keys kept
//!   in SQLite, every key version encrypted under a root key. Always available.
//! - [`aws`] (feature `aws`, on by default): AWS KMS through aws-sdk-kms.
//!
//! Each provider declares its [`keygate_core::Capabilities`] and passes the conformance
//! suite in `keygate_core::conformance`.

#[cfg(feature = "aws")]
pub mod aws;
mod digest;
pub mod local;
