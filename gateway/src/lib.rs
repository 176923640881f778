//! keygate gateway: the provider registry, the gateway's own store, the home directory of the
//! embedded default, and (in the binary) the `keygate` CLI.

pub mod home;
pub mod registry;
pub mod store;

pub use home::Home;
pub use registry::{ProviderListing, Registry, ResolvedKey};
pub use store::{Alias, GatewayStore};
