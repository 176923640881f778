//! Cloud dialects: keygate speaking AWS KMS, GCP Cloud KMS and Azure Key Vault on the wire.
//!
//! Applications written against a cloud's SDK use keygate by changing only the endpoint, and
//! their keys may then live in any provider. Each dialect is a thin translation between its
//! cloud's wire format and the service layer ([`Session`]): every request is authorized
//! against the gateway access policy and audited exactly like the REST API, with its own
//! audit source (`aws`, `gcp`, `azure`). The dialects share nothing but that layer and
//! [`Edge::admit`](crate::Edge::admit).
//!
//! - [`aws`]: AWS KMS JSON 1.1 (`POST /` with `X-Amz-Target: TrentService.<Op>`), SigV4
//!   signed with access keys keygate issues. On the main listener.
//! - [`gcp`]: GCP Cloud KMS v1 REST (`/v1/projects/...`), keygate bearer tokens. On the main
//!   listener.
//! - [`azure`]: Azure Key Vault keys REST over TLS, keygate bearer tokens. On its own
//!   listener (`[dialects.azure] listen`).
//!
//! [`Session`]: keygate_server::service::Session

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "azure")]
pub mod azure;
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "gcp")]
pub mod gcp;
