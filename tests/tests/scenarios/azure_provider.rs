//! The Azure Key Vault provider against keygate's own Azure dialect: the conformance suite
//! and Azure-specific behaviour.
