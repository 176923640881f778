//! [`AzureKeyVaultBuilder`]: credentials, the HTTP transport, the Key Vault client, the
//! soft-delete retention and the capabilities of an [`AzureKeyVaultProvider`].

use std::fmt;
use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, ExponentialRetryOptions, RetryOptions, Transport};
use azure_security_keyvault_keys::models::KeyClientListKeyPropertiesOptions;
use azure_security_keyvault_keys::{KeyClient, KeyClientOptions};
use futures::TryStreamExt as _;
use keygate_core::{Capabilities, Error, ProviderInfo, ProviderKind, Result};

use super::client::Vault;
use super::credential;
use super::policy::Arm;
use super::{AzureConfig, AzureKeyVaultProvider, DEFAULT_RETENTION_DAYS, capabilities};

/// Retries per call after the first attempt, with the SDK's exponential backoff: enough for
/// Key Vault's throttling and transient failures, few enough that an unreachable vault
/// answers `Unavailable` in seconds.
const MAX_RETRIES: u32 = 3;
/// Longest a call may spend retrying, in seconds.
const RETRY_SECONDS: i64 = 20;
/// Longest the build waits to read the vault's retention from its keys, unless configured
/// ([`AzureConfig::probe_wait_ms`]).
const PROBE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
/// Key Vault's bounds on the soft-delete retention, in days.
const RETENTION_DAYS: std::ops::RangeInclusive<u32> = 7..=90;
/// Azure Resource Manager's public endpoint.
const DEFAULT_MANAGEMENT_ENDPOINT: &str = "https://management.azure.com";

/// Builds an [`AzureKeyVaultProvider`]:
///
/// ```no_run
/// # async fn demo() -> keygate_core::Result<()> {
/// use keygate_providers::azure::{AzureConfig, AzureKeyVaultProvider};
/// let config = AzureConfig {
///     vault_url: "https://prod-keys.vault.azure.net".into(),
///     ..AzureConfig::default()
/// };
/// let provider = AzureKeyVaultProvider::builder()
///     .with_name("azure-prod")
///     .with_config(&config)
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct AzureKeyVaultBuilder {
    name: Option<String>,
    config: AzureConfig,
    capabilities: Option<Capabilities>,
    credential: Option<Arc<dyn TokenCredential>>,
}

impl fmt::Debug for AzureKeyVaultBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A credential may hold a token: only whether one was given is shown.
        f.debug_struct("AzureKeyVaultBuilder")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("capabilities", &self.capabilities.is_some())
            .field("credential", &self.credential.as_ref().map(|_| "<given>"))
            .finish()
    }
}

impl AzureKeyVaultBuilder {
    /// A builder with name `azure` and an empty configuration (a vault URL must be set).
    pub fn new() -> Self {
        Self::default()
    }

    /// The name the provider is registered under.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Takes every field of `config`.
    pub fn with_config(mut self, config: &AzureConfig) -> Self {
        self.config = config.clone();
        self
    }

    /// Declares other capabilities than the provider's own (see
    /// [`AzureKeyVaultProvider::default_capabilities`]).
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = Some(capabilities);
        self
    }

    /// This credential instead of `token_env` or `credential`: for tests, or a credential
    /// the caller built (a client secret read from a secret store, another tenant...). It is
    /// used for Key Vault and for Resource Manager.
    pub fn with_credential(mut self, credential: Arc<dyn TokenCredential>) -> Self {
        self.credential = Some(credential);
        self
    }

    /// How long [`AzureKeyVaultBuilder::build`] waits for the vault to report its
    /// soft-delete retention (see [`AzureConfig::probe_wait_ms`]).
    pub fn with_probe_wait(mut self, wait: std::time::Duration) -> Self {
        self.config.probe_wait_ms = Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// Checks the configuration, builds the credential, the transport (trusting `ca_file`
    /// too) and the clients, and settles the soft-delete retention: the configured one, else
    /// the `recoverableDays` the vault reports on a key (read now, waiting at most the probe
    /// wait, [`AzureConfig::probe_wait_ms`]), else 90 days.
    ///
    /// An unreachable vault, or one that does not answer in time, is not an error here (the
    /// provider's calls report it), so one unreachable or hung cloud never stops or holds up
    /// keygate or its other providers.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a missing or malformed vault URL, a retention outside
    /// 7–90 days, an unreadable `ca_file`, a `token_env` variable that is unset or empty, an
    /// unknown `credential`, a subscription without a resource group (or the other way
    /// round); [`Error::Unauthenticated`] when the chosen credential cannot be set up.
    pub async fn build(self) -> Result<AzureKeyVaultProvider> {
        let name = self.name.unwrap_or_else(|| "azure".to_owned());
        let cfg = &self.config;
        let bad = |msg: String| Error::invalid(format!("provider `{name}`: {msg}"));
        let url = azure_core::http::Url::parse(cfg.vault_url.trim()).map_err(|e| {
            bad(format!(
                "vault_url `{}` is not a URL: {e}",
                cfg.vault_url.trim()
            ))
        })?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(bad(format!("vault_url `{url}` is not an https URL")));
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        if host.is_empty() {
            return Err(bad(format!("vault_url `{url}` names no host")));
        }
        let vault_name = match &cfg.vault_name {
            Some(v) if !v.trim().is_empty() => v.trim().to_owned(),
            Some(_) => return Err(bad("vault_name is empty".into())),
            None => host.split('.').next().unwrap_or_default().to_owned(),
        };
        let hsm = cfg
            .managed_hsm
            .unwrap_or_else(|| host.ends_with(".managedhsm.azure.net"));
        if let Some(days) = cfg.soft_delete_retention_days
            && !RETENTION_DAYS.contains(&days)
        {
            return Err(bad(format!(
                "soft_delete_retention_days = {days}: Key Vault keeps deleted keys 7 to 90 days"
            )));
        }
        let arm_scope = match (&cfg.subscription_id, &cfg.resource_group) {
            (Some(s), Some(g)) if !s.trim().is_empty() && !g.trim().is_empty() => {
                Some((s.trim().to_owned(), g.trim().to_owned()))
            }
            (None, None) => None,
            _ => {
                return Err(bad(
                    "role assignments need both subscription_id and resource_group".into(),
                ));
            }
        };

        let credential = match self.credential {
            Some(c) => c,
            None => credential::from_config(&name, cfg)?,
        };
        let transport = transport(&name, cfg)?;
        let client_options = || ClientOptions {
            transport: transport.clone(),
            retry: RetryOptions::exponential(ExponentialRetryOptions {
                max_retries: MAX_RETRIES,
                max_total_elapsed: azure_core::time::Duration::seconds(RETRY_SECONDS),
                ..ExponentialRetryOptions::default()
            }),
            ..ClientOptions::default()
        };
        let options = KeyClientOptions {
            client_options: client_options(),
            verify_challenge_resource: Some(cfg.verify_challenge_resource.unwrap_or(true)),
            ..KeyClientOptions::default()
        };
        let client = KeyClient::new(url.as_str(), credential.clone(), Some(options))
            .map_err(|e| bad(format!("cannot build the Key Vault client: {e}")))?;

        let arm = match arm_scope {
            Some((subscription, group)) => {
                let endpoint = cfg
                    .management_endpoint
                    .as_deref()
                    .unwrap_or(DEFAULT_MANAGEMENT_ENDPOINT);
                Some(
                    Arm::new(
                        endpoint,
                        credential,
                        client_options(),
                        &subscription,
                        &group,
                        &vault_name,
                        &name,
                    )
                    .map_err(|e| bad(e.to_string()))?,
                )
            }
            None => None,
        };

        let retention = match cfg.soft_delete_retention_days {
            Some(days) => days,
            None => {
                let wait = cfg
                    .probe_wait_ms
                    .map_or(PROBE_WAIT, std::time::Duration::from_millis);
                probe_retention(&client, &name, wait).await
            }
        };
        let uri_prefix = cfg
            .uri_prefix
            .clone()
            .unwrap_or_else(|| format!("{}://{vault_name}/", ProviderKind::Azure.scheme()));
        let info = ProviderInfo {
            name: name.clone(),
            kind: ProviderKind::Azure,
            uri_prefix,
        };
        let caps = self
            .capabilities
            .unwrap_or_else(|| capabilities(retention, hsm, arm.is_some()));
        let vault = Vault::new(client, name, vault_name, hsm);
        Ok(AzureKeyVaultProvider::new(
            info, caps, vault, arm, retention,
        ))
    }
}

/// The HTTP transport: the SDK's default, or a reqwest client trusting `ca_file` in addition
/// to the system's roots.
fn transport(provider: &str, cfg: &AzureConfig) -> Result<Option<Transport>> {
    let Some(path) = &cfg.ca_file else {
        return Ok(None);
    };
    let bad = |msg: String| Error::invalid(format!("provider `{provider}`: {msg}"));
    let pem = std::fs::read(path)
        .map_err(|e| bad(format!("cannot read ca_file {}: {e}", path.display())))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        bad(format!(
            "ca_file {} holds no PEM certificate: {e}",
            path.display()
        ))
    })?;
    if certs.is_empty() {
        return Err(bad(format!(
            "ca_file {} holds no PEM certificate",
            path.display()
        )));
    }
    let client = reqwest::Client::builder()
        .tls_certs_merge(certs)
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| {
            bad(format!(
                "cannot build an HTTPS client trusting ca_file: {e}"
            ))
        })?;
    Ok(Some(Transport::new(Arc::new(client))))
}

/// The `recoverableDays` of the first key the vault lists (live, else deleted); 90 when the
/// vault has no key, cannot be reached within `wait`, or does not say.
async fn probe_retention(client: &KeyClient, provider: &str, wait: std::time::Duration) -> u32 {
    let probe = async {
        let options = KeyClientListKeyPropertiesOptions {
            maxresults: Some(1),
            ..Default::default()
        };
        let mut pages = client.list_key_properties(Some(options))?.into_pages();
        if let Some(page) = pages.try_next().await? {
            let page = page.into_model()?;
            if let Some(days) = page
                .value
                .iter()
                .find_map(|k| k.attributes.as_ref()?.recoverable_days)
            {
                return Ok::<_, azure_core::Error>(Some(days));
            }
        }
        let mut pages = client.list_deleted_key_properties(None)?.into_pages();
        if let Some(page) = pages.try_next().await? {
            let page = page.into_model()?;
            return Ok(page
                .value
                .iter()
                .find_map(|k| k.attributes.as_ref()?.recoverable_days));
        }
        Ok(None)
    };
    match tokio::time::timeout(wait, probe).await {
        Ok(Ok(Some(days))) => match u32::try_from(days) {
            Ok(d) if RETENTION_DAYS.contains(&d) => d,
            _ => {
                tracing::warn!(
                    provider,
                    days,
                    "the vault reports a retention outside 7–90 days; assuming 90"
                );
                DEFAULT_RETENTION_DAYS
            }
        },
        Ok(Ok(None)) => {
            tracing::info!(
                provider,
                "the vault lists no key to read its soft-delete retention from; assuming 90 days (set soft_delete_retention_days)"
            );
            DEFAULT_RETENTION_DAYS
        }
        Ok(Err(e)) => {
            tracing::warn!(provider, error = %e, "cannot read the vault's soft-delete retention; assuming 90 days");
            DEFAULT_RETENTION_DAYS
        }
        Err(_) => {
            tracing::warn!(
                provider,
                "the vault did not answer in time to read its soft-delete retention; assuming 90 days"
            );
            DEFAULT_RETENTION_DAYS
        }
    }
}

#[cfg(test)]
mod tests {
    use keygate_core::{ErrorKind, KeyProvider as _};

    use super::*;
    use crate::azure::credential::StaticToken;

    const SECRET: &str = "kgt_secret-token-value";

    fn config() -> AzureConfig {
        AzureConfig {
            vault_url: "https://prod-keys.vault.azure.net".into(),
            soft_delete_retention_days: Some(7),
            ..AzureConfig::default()
        }
    }

    async fn build(config: AzureConfig) -> Result<AzureKeyVaultProvider> {
        AzureKeyVaultBuilder::new()
            .with_name("azure-test")
            .with_config(&config)
            .with_credential(Arc::new(StaticToken::new(SECRET.into())))
            .build()
            .await
    }

    #[tokio::test]
    async fn configuration_is_checked_before_anything_is_called() {
        for bad in [
            AzureConfig {
                vault_url: String::new(),
                ..config()
            },
            AzureConfig {
                vault_url: "ftp://v.vault.azure.net".into(),
                ..config()
            },
            AzureConfig {
                soft_delete_retention_days: Some(6),
                ..config()
            },
            AzureConfig {
                soft_delete_retention_days: Some(91),
                ..config()
            },
            AzureConfig {
                subscription_id: Some("0000".into()),
                ..config()
            },
            AzureConfig {
                ca_file: Some("/nonexistent/ca.pem".into()),
                ..config()
            },
        ] {
            let err = build(bad.clone()).await.expect_err("a bad configuration");
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad:?}: {err}");
        }
    }

    #[tokio::test]
    async fn defaults_name_the_vault_and_debug_hides_the_token() {
        let provider = build(config())
            .await
            .expect("builds without calling the vault");
        assert_eq!(provider.info().uri_prefix, "azure-kv://prod-keys/");
        assert_eq!(provider.info().kind, ProviderKind::Azure);
        let caps = provider.capabilities();
        assert_eq!((caps.deletion_window.min, caps.deletion_window.max), (7, 7));
        assert!(!caps.key_policy, "no subscription: no role assignments");
        assert!(!caps.key_specs.iter().any(|s| s.is_hmac()));
        let shown = format!("{provider:?}");
        assert!(!shown.contains("secret-token"), "{shown}");
        let builder = AzureKeyVaultBuilder::new()
            .with_config(&config())
            .with_credential(Arc::new(StaticToken::new(SECRET.into())));
        assert!(!format!("{builder:?}").contains("secret-token"));

        let hsm = build(AzureConfig {
            vault_url: "https://keys.managedhsm.azure.net".into(),
            subscription_id: Some("sub".into()),
            resource_group: Some("rg".into()),
            uri_prefix: Some("hsm://".into()),
            ..config()
        })
        .await
        .unwrap();
        assert_eq!(hsm.info().uri_prefix, "hsm://");
        assert!(hsm.capabilities().key_policy);
        assert!(hsm.is_managed_hsm());
    }
}
