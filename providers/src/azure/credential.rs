//! Credentials: a bearer token from an environment variable (`token_env`), or Entra ID
//! through azure_identity — the environment's client secret, workload identity, managed
//! identity and the Azure CLI, tried in that order (`credential = "chain"`, the default), or
//! one of them alone.
//!
//! azure_identity 1.x has no `DefaultAzureCredential` and no environment credential, so the
//! chain and the environment credential are keygate's (the environment credential reads
//! `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET`; a certificate,
//! `AZURE_CLIENT_CERTIFICATE_PATH`, needs azure_identity's `client_certificate` feature, which
//! keygate does not build, and is reported as such).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_identity::{
    AzureCliCredential, ClientSecretCredential, ManagedIdentityCredential,
    WorkloadIdentityCredential,
};
use keygate_core::{Error, Result};
use zeroize::Zeroizing;

use super::AzureConfig;

/// The accepted values of `credential`.
pub(crate) const KINDS: [&str; 5] = [
    "chain",
    "environment",
    "workload-identity",
    "managed-identity",
    "azure-cli",
];

/// The credential `cfg` asks for.
///
/// # Errors
/// [`Error::InvalidArgument`] for a `token_env` variable that is unset or empty, an unknown
/// `credential`, or `environment` without its variables; [`Error::Unauthenticated`] when a
/// credential chosen alone cannot be set up.
pub(crate) fn from_config(provider: &str, cfg: &AzureConfig) -> Result<Arc<dyn TokenCredential>> {
    if let Some(var) = &cfg.token_env {
        let token = Zeroizing::new(std::env::var(var).unwrap_or_default());
        let token = token.trim();
        if token.is_empty() {
            return Err(Error::invalid(format!(
                "provider `{provider}`: token_env names `{var}`, which is unset or empty"
            )));
        }
        return Ok(Arc::new(StaticToken::new(token.to_owned())));
    }
    let kind = cfg.credential.as_deref().unwrap_or("chain");
    let alone = |made: azure_core::Result<Arc<dyn TokenCredential>>| {
        made.map_err(|e| {
            Error::Unauthenticated(format!(
                "provider `{provider}`: cannot set up the `{kind}` credential: {e}"
            ))
        })
    };
    match kind {
        "chain" => Ok(Arc::new(Chain::new())),
        "environment" => environment().unwrap_or_else(|missing| {
            Err(Error::invalid(format!(
                "provider `{provider}`: credential `environment` needs {missing}"
            )))
        }),
        "workload-identity" => alone(WorkloadIdentityCredential::new(None).map(upcast)),
        "managed-identity" => alone(ManagedIdentityCredential::new(None).map(upcast)),
        "azure-cli" => alone(AzureCliCredential::new(None).map(upcast)),
        other => Err(Error::invalid(format!(
            "provider `{provider}`: credential `{other}` is not one of {}",
            KINDS.join(", ")
        ))),
    }
}

fn upcast<T: TokenCredential + 'static>(c: Arc<T>) -> Arc<dyn TokenCredential> {
    c
}

/// The environment's client secret credential; `Err(what is missing)` when the variables
/// are not all set.
fn environment() -> std::result::Result<Result<Arc<dyn TokenCredential>>, String> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
    let tenant = var("AZURE_TENANT_ID");
    let client = var("AZURE_CLIENT_ID");
    let secret = var("AZURE_CLIENT_SECRET").map(Zeroizing::new);
    match (tenant, client, secret) {
        (Some(tenant), Some(client), Some(secret)) => Ok(ClientSecretCredential::new(
            &tenant,
            client,
            Secret::new(secret.to_string()),
            None,
        )
        .map(upcast)
        .map_err(|e| {
            Error::Unauthenticated(format!("cannot set up the client secret credential: {e}"))
        })),
        (_, _, None) if var("AZURE_CLIENT_CERTIFICATE_PATH").is_some() => Err(
            "AZURE_CLIENT_SECRET (a client certificate needs azure_identity's client_certificate feature, which this build lacks)"
                .into(),
        ),
        _ => Err("AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET".into()),
    }
}

/// A fixed bearer token (a keygate token for a keygate vault, or a token obtained elsewhere),
/// valid for an hour from each request for it.
pub struct StaticToken(Zeroizing<String>);

impl StaticToken {
    /// A credential handing out `token`.
    pub fn new(token: String) -> Self {
        Self(Zeroizing::new(token))
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticToken(<redacted>)")
    }
}

#[async_trait::async_trait]
impl TokenCredential for StaticToken {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        Ok(AccessToken::new(
            self.0.to_string(),
            azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1),
        ))
    }
}

/// Environment, workload identity, managed identity, Azure CLI: the first that gives a token
/// is used from then on. Credentials that cannot even be set up (no variables for them) are
/// left out when the chain is made.
struct Chain {
    sources: Vec<(&'static str, Arc<dyn TokenCredential>)>,
    chosen: AtomicUsize,
}

impl Chain {
    fn new() -> Self {
        let mut sources: Vec<(&'static str, Arc<dyn TokenCredential>)> = Vec::new();
        if let Ok(Ok(c)) = environment() {
            sources.push(("environment", c));
        }
        if let Ok(c) = WorkloadIdentityCredential::new(None) {
            sources.push(("workload-identity", c));
        }
        if let Ok(c) = ManagedIdentityCredential::new(None) {
            sources.push(("managed-identity", c));
        }
        if let Ok(c) = AzureCliCredential::new(None) {
            sources.push(("azure-cli", c));
        }
        Self {
            sources,
            chosen: AtomicUsize::new(usize::MAX),
        }
    }
}

impl fmt::Debug for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.sources.iter().map(|(n, _)| *n).collect();
        f.debug_struct("Chain").field("sources", &names).finish()
    }
}

#[async_trait::async_trait]
impl TokenCredential for Chain {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let chosen = self.chosen.load(Ordering::Relaxed);
        if let Some((_, c)) = self.sources.get(chosen) {
            return c.get_token(scopes, options).await;
        }
        let mut failures = Vec::new();
        for (i, (name, c)) in self.sources.iter().enumerate() {
            match c.get_token(scopes, options.clone()).await {
                Ok(token) => {
                    tracing::debug!(credential = name, "Azure credential chain: using this one");
                    self.chosen.store(i, Ordering::Relaxed);
                    return Ok(token);
                }
                Err(e) => failures.push(format!("{name}: {e}")),
            }
        }
        if failures.is_empty() {
            failures.push("no credential could be set up".into());
        }
        Err(azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            format!(
                "no Azure credential gave a token (environment, workload identity, managed identity, Azure CLI): {}",
                failures.join("; ")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use keygate_core::ErrorKind;

    use super::*;

    #[tokio::test]
    async fn a_static_token_is_handed_out_and_never_shown() {
        let c = StaticToken::new("kgt_secret-value".into());
        let t = c
            .get_token(&["https://vault.azure.net/.default"], None)
            .await
            .unwrap();
        assert_eq!(t.token.secret(), "kgt_secret-value");
        assert!(!format!("{c:?}").contains("secret-value"));
    }

    #[test]
    fn token_env_and_credential_kinds_are_checked() {
        let cfg = AzureConfig {
            token_env: Some("KEYGATE_AZURE_BUILDER_TEST_UNSET".into()),
            ..AzureConfig::default()
        };
        let err = from_config("p", &cfg).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.to_string().contains("KEYGATE_AZURE_BUILDER_TEST_UNSET"));
        let cfg = AzureConfig {
            credential: Some("password".into()),
            ..AzureConfig::default()
        };
        let err = from_config("p", &cfg).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        for kind in KINDS {
            assert!(err.to_string().contains(kind), "{err}");
        }
        // The chain always builds: credentials that cannot be set up are left out.
        let cfg = AzureConfig {
            credential: Some("chain".into()),
            ..AzureConfig::default()
        };
        assert!(from_config("p", &cfg).is_ok());
    }
}
