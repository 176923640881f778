//! keygate gateway: the service layer (authorization and audit around every call), the REST
//! API, the audit log, tokens, configuration, the provider registry, the gateway's own store,
//! and (in the binary) the `keygate` CLI.

pub mod access;
pub mod audit;
pub mod cache;
pub mod client;
pub mod config;
pub mod dialect;
pub mod home;
pub mod http;
pub mod registry;
pub mod service;
pub mod store;
pub mod tokens;

pub use home::Home;
pub use registry::{ProviderListing, Registry, ResolvedKey};
pub use store::{Alias, GatewayStore};
