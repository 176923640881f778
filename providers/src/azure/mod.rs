//! The Azure Key Vault provider, on azure_security_keyvault_keys.

mod config;

pub use config::AzureConfig;
