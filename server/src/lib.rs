//! keygate's server: the service layer (authorization and audit around every call), the
//! provider registry, the gateway store, the audit log, tokens, the caches, the home and the
//! configuration.
//!
//! Everything that reaches a key goes through a [`service::Session`]: the CLI, the console,
//! the REST API and every cloud dialect. This crate takes its providers as trait objects
//! ([`keygate_core::DynProvider`]) and has no HTTP or cloud SDK dependency: the binary opens
//! the providers a configuration names and hands them over, and `keygate-http` serves the
//! service on the network.

#![warn(missing_docs)]

pub mod access;
pub mod audit;
pub mod cache;
pub mod config;
pub mod home;
pub mod isolation;
pub mod leader;
pub mod registry;
pub mod service;
pub mod store;
pub mod tokens;

pub use home::Home;
pub use registry::{ProviderListing, Registry, ResolvedKey};
pub use store::{Alias, GatewayStore};
