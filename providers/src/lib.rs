//! keygate key providers: one module per backend behind [`keygate_core::KeyProvider`].
//!
//! - [`local`]: the embedded default provider — real cryptography (aws-lc-rs) over keys kept
//!   in SQLite, every key version encrypted under a root key. Always available.
//! - [`aws`] (feature `aws`, on by default): AWS KMS through aws-sdk-kms.
//! - [`azure`] (feature `azure`, on by default): Azure Key Vault and Managed HSM through
//!   azure_security_keyvault_keys.
//! - [`gcp`] (feature `gcp`, on by default): GCP Cloud KMS through google-cloud-kms-v1.
//!
//! [`factory`] types a `[providers.<name>]` section of `keygate.toml` and opens its provider.
//!
//! Each provider declares its [`keygate_core::Capabilities`] and passes the conformance
//! suite in the `keygate-conformance` crate.

#![warn(missing_docs)]

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "azure")]
pub mod azure;
mod digest;
pub mod factory;
#[cfg(feature = "gcp")]
pub mod gcp;
pub mod local;
