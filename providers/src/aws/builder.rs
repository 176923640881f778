//! Configuration of the AWS KMS provider: [`AwsConfig`] (a `[providers.<name>]` section of
//! `keygate.toml` with `kind = "aws"`) and [`AwsKmsBuilder`].

use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_kms::config::{Credentials, Region};
use keygate_core::{Capabilities, Error, ProviderInfo, ProviderKind, Result};
use serde::Deserialize;

use super::client::Kms;
use super::error::{AwsError, Class};
use super::{AwsKmsProvider, capabilities};

/// Attempts per call when the configuration names none: the SDK's standard retry mode retries
/// throttling and transient errors with exponential backoff.
const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Longest the provider's start waits for the endpoint's `ListKeyRotations` probe.
const PROBE_WAIT: Duration = Duration::from_millis(100);
/// Longest a connection may take to open: shorter than an attempt, so an endpoint that does
/// not accept connections is given up on early.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest one attempt may take (connect, send, answer).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest a whole call may take, retries included.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(60);
/// A key id no key has, to ask an endpoint whether it implements `ListKeyRotations`.
const PROBE_KEY_ID: &str = "00000000-0000-0000-0000-000000000000";

/// One AWS KMS account and region, as configured in `keygate.toml`:
///
/// ```toml
/// [providers.aws-prod]
/// kind = "aws"
/// region = "eu-west-1"
/// profile = "prod"            # optional: a profile of ~/.aws/config
/// endpoint_url = "http://127.0.0.1:4566"   # optional: LocalStack or a keygate AWS endpoint
/// max_attempts = 5            # optional: attempts per call, retries included
/// ```
///
/// Every field is optional: region and credentials come from the standard AWS chain
/// (`AWS_REGION`, `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`, SSO, process
/// credentials, instance roles...) when not given. Several sections may name different
/// accounts or regions under different provider names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// The region (`us-east-1`); default: the standard chain's.
    #[serde(default)]
    pub region: Option<String>,
    /// A named profile of the shared AWS config files.
    #[serde(default)]
    pub profile: Option<String>,
    /// Another endpoint than AWS's (LocalStack, a keygate AWS endpoint).
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Attempts per call, the first included (1 = no retries); default 3.
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// The URI prefix of this provider's keys; default `aws-kms://<region>/`.
    #[serde(default)]
    pub uri_prefix: Option<String>,
    /// With `endpoint_url`: how long opening the provider waits for the endpoint's answer to
    /// the `ListKeyRotations` probe, in milliseconds (default 100). Until the answer comes the
    /// endpoint is taken to be KMS-complete; an emulator on a busy machine may need longer.
    #[serde(default)]
    pub probe_wait_ms: Option<u64>,
}

/// Builds an [`AwsKmsProvider`]:
///
/// ```no_run
/// # async fn demo() -> keygate_core::Result<()> {
/// use keygate_providers::aws::{AwsConfig, AwsKmsBuilder};
/// let config = AwsConfig { region: Some("eu-west-1".into()), ..AwsConfig::default() };
/// let provider = AwsKmsBuilder::new().with_name("aws-prod").with_config(&config).build().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct AwsKmsBuilder {
    name: Option<String>,
    config: AwsConfig,
    capabilities: Option<Capabilities>,
    // The SDK's `Credentials` redacts its secret in `Debug`.
    credentials: Option<Credentials>,
}

impl AwsKmsBuilder {
    /// A builder with name `aws` and everything from the standard AWS chain.
    pub fn new() -> Self {
        Self::default()
    }

    /// The name the provider is registered under.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Takes every field of `config`, replacing what earlier `with_region`-style calls set.
    pub fn with_config(mut self, config: &AwsConfig) -> Self {
        self.config = config.clone();
        self
    }

    /// The region to call (`eu-west-1`) instead of the standard chain's.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.config.region = Some(region.into());
        self
    }

    /// Calls this endpoint instead of AWS's: LocalStack, or a keygate gateway's AWS endpoint.
    pub fn with_endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.config.endpoint_url = Some(url.into());
        self
    }

    /// A named profile of the shared AWS config files.
    pub fn with_profile(mut self, profile: impl Into<String>) -> Self {
        self.config.profile = Some(profile.into());
        self
    }

    /// How long [`AwsKmsBuilder::build`] waits for the endpoint's `ListKeyRotations` probe
    /// (see [`AwsConfig::probe_wait_ms`]).
    pub fn with_probe_wait(mut self, wait: Duration) -> Self {
        self.config.probe_wait_ms = Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// Attempts per call, the first included (1 = no retries); default 3.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.config.max_attempts = Some(attempts);
        self
    }

    /// Fixed credentials instead of the standard chain: for emulators (LocalStack takes any,
    /// such as `test`/`test`) and tests. Production configurations use the chain.
    pub fn with_static_credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        self.credentials = Some(Credentials::new(
            access_key_id,
            secret_access_key,
            None,
            None,
            "keygate-static",
        ));
        self
    }

    /// Declares other capabilities than [`AwsKmsProvider::default_capabilities`]: for an
    /// endpoint that emulates KMS with gaps (LocalStack), or to set
    /// [`Capabilities::policy_sample`] to principals of the account in use.
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = Some(capabilities);
        self
    }

    /// Loads the AWS configuration and builds the provider. With an `endpoint_url`, asks the
    /// endpoint once whether it implements `ListKeyRotations` (an emulator may not); without
    /// versions to list, `list_versions` is off and no spec is in `rotatable_specs`.
    ///
    /// An endpoint that cannot be reached, or does not answer within a fraction of a second,
    /// is not an error here and does not delay it (the probe goes on in the background and
    /// the provider's calls report the endpoint's state), so one unreachable or hung cloud
    /// never stops or slows keygate and its other providers.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when no region is configured anywhere or `max_attempts` is
    /// 0; what the endpoint answers to the probe when it answers with an error.
    pub async fn build(self) -> Result<AwsKmsProvider> {
        let name = self.name.unwrap_or_else(|| "aws".to_owned());
        let attempts = self.config.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
        if attempts == 0 {
            return Err(Error::invalid(format!(
                "provider `{name}`: max_attempts must be at least 1"
            )));
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(attempts))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            );
        if let Some(region) = &self.config.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &self.config.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &self.config.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(credentials) = self.credentials {
            loader = loader.credentials_provider(credentials);
        }
        let sdk = loader.load().await;
        let region = sdk.region().map(ToString::to_string).ok_or_else(|| {
            Error::invalid(format!(
                "provider `{name}`: no AWS region (set `region` or AWS_REGION)"
            ))
        })?;
        let client = aws_sdk_kms::Client::new(&sdk);
        let kms = Kms {
            client,
            provider: name.clone(),
            rotations: Arc::default(),
        };
        if self.config.endpoint_url.is_some() {
            let wait = self
                .config
                .probe_wait_ms
                .map_or(PROBE_WAIT, Duration::from_millis);
            probe_rotations(&kms, wait).await?;
        }
        let caps = self.capabilities.unwrap_or_else(capabilities);
        let uri_prefix = self
            .config
            .uri_prefix
            .clone()
            .unwrap_or_else(|| format!("{}://{region}/", ProviderKind::Aws.scheme()));
        let info = ProviderInfo {
            name,
            kind: ProviderKind::Aws,
            uri_prefix,
        };
        Ok(AwsKmsProvider::new(info, caps, kms, region))
    }
}

/// Finds out whether the endpoint implements `ListKeyRotations` (an emulator may not),
/// waiting at most `wait` ([`PROBE_WAIT`] unless configured): an endpoint that answers at once (an emulator on this
/// machine) is known before the provider is used, and a slow or hung one does not hold up
/// keygate's start (or a CLI command on another provider). The probe then goes on in the
/// background; until it answers the endpoint is taken to be KMS-complete, and each call
/// reports the endpoint's own answer (Unavailable, or Unsupported on a 501).
///
/// # Errors
/// What the endpoint answers when it answers in time with an error other than
/// "unreachable" (bad credentials, ...).
async fn probe_rotations(kms: &Kms, wait: Duration) -> Result<()> {
    let probe = {
        let kms = kms.clone();
        tokio::spawn(async move {
            let answer = probe_list_key_rotations(&kms).await;
            match &answer {
                Ok(lists) => {
                    let _ = kms.rotations.set(*lists);
                }
                Err(e) => {
                    tracing::warn!(provider = %kms.provider, error = %e, "cannot ask the AWS endpoint whether it implements ListKeyRotations; assuming it does");
                }
            }
            answer
        })
    };
    match tokio::time::timeout(wait, probe).await {
        Ok(Ok(Err(e))) if !matches!(e, Error::Unavailable { .. }) => Err(e),
        // Answered, unreachable, or still running (it goes on in the background).
        _ => Ok(()),
    }
}

/// Whether the endpoint implements `ListKeyRotations`: asked about a key that does not exist,
/// KMS answers NotFound; an emulator without the operation answers 501 Not Implemented.
async fn probe_list_key_rotations(kms: &Kms) -> Result<bool> {
    let result = kms
        .client
        .list_key_rotations()
        .key_id(PROBE_KEY_ID)
        .customize()
        .config_override(aws_sdk_kms::Config::builder().retry_config(RetryConfig::disabled()))
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e) => {
            let e = AwsError::from(e);
            match e.class() {
                Class::Unsupported => Ok(false),
                Class::NotFound => Ok(true),
                _ => Err(e.into_core(&kms.provider, "list_key_rotations (probe)")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_fields_are_optional_and_unknown_ones_refused() {
        let empty: AwsConfig = toml::from_str("").unwrap();
        assert_eq!(empty, AwsConfig::default());
        let full: AwsConfig = toml::from_str(
            r#"
            region = "eu-west-1"
            profile = "prod"
            endpoint_url = "http://127.0.0.1:4566"
            max_attempts = 5
            uri_prefix = "aws-kms://prod/"
            "#,
        )
        .unwrap();
        assert_eq!(full.region.as_deref(), Some("eu-west-1"));
        assert_eq!(full.max_attempts, Some(5));
        assert!(toml::from_str::<AwsConfig>("regoin = \"x\"").is_err());
    }

    #[test]
    fn builder_debug_hides_the_secret_key() {
        let builder = AwsKmsBuilder::new()
            .with_static_credentials("AKIDEXAMPLE", "wJalrXUtnFEMI-very-secret-KEY");
        let shown = format!("{builder:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
    }

    #[tokio::test]
    async fn provider_debug_hides_credentials_and_uses_the_region_prefix() {
        // No endpoint_url: nothing is probed, so no network is needed.
        let provider = AwsKmsBuilder::new()
            .with_name("aws-eu")
            .with_region("eu-west-1")
            .with_static_credentials("AKIDEXAMPLE", "wJalrXUtnFEMI-very-secret-KEY")
            .build()
            .await
            .unwrap();
        let shown = format!("{provider:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(!shown.contains("AKIDEXAMPLE"), "{shown}");
        use keygate_core::KeyProvider as _;
        assert_eq!(provider.info().uri_prefix, "aws-kms://eu-west-1/");
        assert_eq!(provider.info().kind, ProviderKind::Aws);
        assert!(provider.capabilities().list_versions);
    }

    #[tokio::test]
    async fn zero_attempts_is_invalid() {
        let err = AwsKmsBuilder::new()
            .with_region("us-east-1")
            .with_max_attempts(0)
            .build()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), keygate_core::ErrorKind::InvalidArgument);
    }
}
