//! Azure Key Vault keys REST dialect, over TLS on its own listener (being built: see issue 5).

use std::net::SocketAddr;

use serde::Deserialize;

/// `[dialects.azure]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AzureDialectConfig {
    /// Where to serve the vault (HTTPS). Unset: the Azure dialect is off.
    pub listen: Option<SocketAddr>,
}
