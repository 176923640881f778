//! [`AzureConfig`]: a `[providers.<name>]` section of `keygate.toml` with `kind = "azure"`.

use std::path::PathBuf;

use serde::Deserialize;

/// One Azure Key Vault (or Managed HSM), as configured in `keygate.toml`:
///
/// ```toml
/// [providers.azure-prod]
/// kind = "azure"
/// vault_url = "https://prod-keys.vault.azure.net"
/// # Optional:
/// credential = "chain"            # chain | environment | workload-identity | managed-identity | azure-cli
/// token_env = "KEYGATE_AZURE_TOKEN"   # a bearer token from this variable instead of `credential`
/// ca_file = "/etc/keygate/vault-ca.pem"  # trust this CA too (a private endpoint, a keygate vault)
/// verify_challenge_resource = true
/// managed_hsm = false             # default: true for *.managedhsm.azure.net
/// soft_delete_retention_days = 90 # default: read from the vault's keys, else 90
/// probe_wait_ms = 5000            # without it: how long opening waits to read the retention
/// subscription_id = "0000..."     # with resource_group: role assignments at the key's scope
/// resource_group = "security"
/// vault_name = "prod-keys"        # default: the first label of vault_url's host
/// management_endpoint = "https://management.azure.com"
/// ```
///
/// One section is one vault; several sections name several vaults under different provider
/// names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureConfig {
    /// The vault's URL (`https://<vault>.vault.azure.net`, `https://<hsm>.managedhsm.azure.net`,
    /// or any endpoint that speaks the Key Vault keys API, such as a keygate gateway's Azure
    /// dialect).
    pub vault_url: String,
    /// Which credential to use when `token_env` is not set: `chain` (the default: environment,
    /// then workload identity, then managed identity, then the Azure CLI), or one of them
    /// alone: `environment`, `workload-identity`, `managed-identity`, `azure-cli`.
    #[serde(default)]
    pub credential: Option<String>,
    /// The name of an environment variable holding a bearer token to send as it is (a keygate
    /// token for a keygate vault, or a token obtained elsewhere). Takes precedence over
    /// `credential`.
    #[serde(default)]
    pub token_env: Option<String>,
    /// A PEM file of CA certificates trusted in addition to the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Check that the vault's authentication challenge names a resource under the vault's
    /// own domain (the SDK's default, `true`). An endpoint outside `*.vault.azure.net` that
    /// answers with the public cloud's resource needs `false`.
    #[serde(default)]
    pub verify_challenge_resource: Option<bool>,
    /// The endpoint is a Managed HSM (symmetric `oct-HSM` keys exist). Default: true when the
    /// host ends in `.managedhsm.azure.net`.
    #[serde(default)]
    pub managed_hsm: Option<bool>,
    /// The vault's soft-delete retention (7–90 days), which is the only deletion window it
    /// offers. Default: the `recoverableDays` the vault reports on its keys, else 90.
    #[serde(default)]
    pub soft_delete_retention_days: Option<u32>,
    /// Without `soft_delete_retention_days`: how long opening the provider waits for the
    /// vault to list a key and report its retention, in milliseconds (default 5000). A vault
    /// that does not answer in time is taken to keep deleted keys 90 days, and a hung one
    /// does not hold up keygate's start.
    #[serde(default)]
    pub probe_wait_ms: Option<u64>,
    /// The subscription holding the vault, for role assignments through Azure Resource
    /// Manager. Without it (or `resource_group`) key policies are unsupported.
    #[serde(default)]
    pub subscription_id: Option<String>,
    /// The resource group holding the vault.
    #[serde(default)]
    pub resource_group: Option<String>,
    /// The vault's resource name; default the first label of `vault_url`'s host.
    #[serde(default)]
    pub vault_name: Option<String>,
    /// Azure Resource Manager's endpoint; default `https://management.azure.com`.
    #[serde(default)]
    pub management_endpoint: Option<String>,
    /// The URI prefix of this provider's keys; default `azure-kv://<vault name>/`.
    #[serde(default)]
    pub uri_prefix: Option<String>,
}
