//! keygate's HTTP edge: the REST API ([`rest`]) and the cloud dialects ([`dialect`]: AWS
//! KMS, GCP Cloud KMS, Azure Key Vault, each behind its cargo feature), served by [`bind`] /
//! [`serve`].
//!
//! Every door is a thin translation onto the service layer of `keygate-server`: it parses
//! its wire format, admits the caller through the one [`Edge::admit`] (authentication
//! tried, rate limit, refusals audited), calls the caller's
//! [`Session`](keygate_server::service::Session) (where authorization and audit live) and
//! writes the answer in its own format. The doors share [`edge`] and nothing else; each has
//! its own state and `fn router(state) -> Router`, and [`app`] composes them with the
//! request-id, metrics and body-limit layers around all of them.

#![warn(missing_docs)]

pub mod conn;
pub mod dialect;
pub mod edge;
pub mod hygiene;
pub mod metrics;
pub mod ratelimit;
pub mod rest;
mod server;
pub mod shape;

pub use edge::Edge;
pub use server::{BoundServer, app, bind, serve};
