//! keygate key providers: one module per backend behind [`keygate_core::KeyProvider`].
//!
//! - [`local`]: the embedded default provider — real cryptography (aws-lc-rs) over keys kept
//!   in SQLite, every key version encrypted under a root key. Always available.
//!
//! Each provider declares its [`keygate_core::Capabilities`] and passes the conformance
//! suite in `keygate_core::conformance`.

pub mod local;
