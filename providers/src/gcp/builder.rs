//! [`GcpKmsBuilder`]: credentials, the client, the key ring and the capabilities of a
//! [`GcpKmsProvider`].

use std::fmt;
use std::time::Duration;

use google_cloud_auth::credentials::{
    Builder as AdcBuilder, CacheableResource, Credentials, CredentialsProvider, EntityTag,
};
use google_cloud_gax::retry_policy::{Aip194Strict, RetryPolicyExt as _};
use google_cloud_kms_v1::client::KeyManagementService;
use google_cloud_kms_v1::model::{KeyRing, ProtectionLevel};
use keygate_core::{Capabilities, Error, ProviderInfo, ProviderKind, Result};
use zeroize::Zeroizing;

use super::client::{Kms, check_id};
use super::error::{Class, class_of, from_sdk};
use super::{DEFAULT_DESTROY_DAYS, GcpConfig, GcpKmsProvider, capabilities};

/// Attempts per call, the first included: transient failures (UNAVAILABLE, a connection
/// that fails before the request is sent) are retried with the SDK's backoff, as the AWS
/// provider does, so an unreachable cloud answers `Unavailable` in seconds rather than after
/// the SDK's default minute.
const MAX_ATTEMPTS: u32 = 3;
/// Longest a call may spend retrying.
const RETRY_TIME_LIMIT: Duration = Duration::from_secs(20);
/// How long [`GcpKmsBuilder::build`] waits for the key ring check unless configured.
const PROBE_WAIT: Duration = Duration::from_millis(2000);
/// Cloud KMS's bounds on `destroyScheduledDuration`, in days.
const DESTROY_DAYS: std::ops::RangeInclusive<u32> = 1..=120;

/// Builds a [`GcpKmsProvider`]:
///
/// ```no_run
/// # async fn demo() -> keygate_core::Result<()> {
/// use keygate_providers::gcp::{GcpConfig, GcpKmsProvider};
/// let config = GcpConfig { project: "acme-security".into(), ..GcpConfig::default() };
/// let provider = GcpKmsProvider::builder().with_name("gcp-prod").with_config(&config).build().await?;
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct GcpKmsBuilder {
    name: Option<String>,
    config: GcpConfig,
    capabilities: Option<Capabilities>,
    credentials: Option<Credentials>,
}

impl fmt::Debug for GcpKmsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Credentials may hold a token: only whether they were given is shown.
        f.debug_struct("GcpKmsBuilder")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("capabilities", &self.capabilities.is_some())
            .field("credentials", &self.credentials.as_ref().map(|_| "<given>"))
            .finish()
    }
}

impl GcpKmsBuilder {
    /// A builder with name `gcp` and an empty configuration (a project must be set).
    pub fn new() -> Self {
        Self::default()
    }

    /// The name the provider is registered under.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Takes every field of `config`.
    pub fn with_config(mut self, config: &GcpConfig) -> Self {
        self.config = config.clone();
        self
    }

    /// Declares other capabilities than [`GcpKmsProvider::default_capabilities`] (whose
    /// deletion window follows `destroy_scheduled_days`).
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = Some(capabilities);
        self
    }

    /// These credentials instead of `token_env` or Application Default Credentials: for
    /// tests, or credentials built by the caller (impersonation, a service account key read
    /// from a secret store).
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// How long [`GcpKmsBuilder::build`] waits for the key ring check when
    /// `create_key_ring` is set (see [`GcpConfig::probe_wait_ms`]).
    pub fn with_probe_wait(mut self, wait: Duration) -> Self {
        self.config.probe_wait_ms = Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// Checks the configuration, builds the credentials and the client, and, when
    /// `create_key_ring` is set, makes the key ring unless it exists, waiting for that at
    /// most the probe wait ([`GcpConfig::probe_wait_ms`]; the check then goes on in the
    /// background).
    ///
    /// An endpoint that cannot be reached, or does not answer in time, is not an error here
    /// (the provider's calls report it), so one unreachable or hung cloud never stops or
    /// holds up keygate or its other providers.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty project, malformed location or key ring, a
    /// `destroy_scheduled_days` outside 1–120, an unknown `protection_level`, or a `token_env`
    /// variable that is unset or empty; [`Error::Unauthenticated`] when Application Default
    /// Credentials exist but cannot be loaded; what Cloud KMS answers when it refuses to make
    /// the key ring.
    pub async fn build(self) -> Result<GcpKmsProvider> {
        let name = self.name.unwrap_or_else(|| "gcp".to_owned());
        let cfg = &self.config;
        let bad = |msg: String| Error::invalid(format!("provider `{name}`: {msg}"));
        let project = cfg.project.trim();
        if project.is_empty() {
            return Err(bad("`project` is required".into()));
        }
        if project.contains('/') {
            return Err(bad(format!("project `{project}` contains `/`")));
        }
        let location = cfg.location.as_deref().unwrap_or("global");
        if location.is_empty() || location.contains('/') {
            return Err(bad(format!("location `{location}` is not a location id")));
        }
        let ring_id = cfg.key_ring.as_deref().unwrap_or("keygate");
        check_id("key ring", ring_id).map_err(|e| bad(e.to_string()))?;
        let destroy_days = cfg.destroy_scheduled_days.unwrap_or(DEFAULT_DESTROY_DAYS);
        if !DESTROY_DAYS.contains(&destroy_days) {
            return Err(bad(format!(
                "destroy_scheduled_days is {destroy_days}; Cloud KMS takes 1 to 120 days"
            )));
        }
        let protection = match cfg
            .protection_level
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("software") => ProtectionLevel::Software,
            Some("hsm") => ProtectionLevel::Hsm,
            Some(other) => {
                return Err(bad(format!(
                    "protection_level `{other}` is not `software` or `hsm`"
                )));
            }
        };
        let credentials = match (self.credentials, &cfg.token_env) {
            (Some(c), _) => c,
            (None, Some(var)) => token_credentials(&name, var)?,
            (None, None) => AdcBuilder::default().build().map_err(|e| {
                Error::Unauthenticated(format!(
                    "provider `{name}`: cannot load Application Default Credentials: {e}"
                ))
            })?,
        };
        let retries = Aip194Strict
            .with_attempt_limit(MAX_ATTEMPTS)
            .with_time_limit(RETRY_TIME_LIMIT);
        let mut client = KeyManagementService::builder()
            .with_credentials(credentials)
            .with_retry_policy(retries);
        if let Some(endpoint) = &cfg.endpoint {
            client = client.with_endpoint(endpoint.clone());
        }
        let client = client.build().await.map_err(|e| {
            Error::invalid(format!(
                "provider `{name}`: cannot build the Cloud KMS client: {e}"
            ))
        })?;
        let hsm = protection == ProtectionLevel::Hsm;
        let ring = format!("projects/{project}/locations/{location}/keyRings/{ring_id}");
        let kms = Kms {
            client,
            provider: name.clone(),
            ring: ring.clone(),
            protection,
            destroy_days,
            public_keys: Default::default(),
        };
        if cfg.create_key_ring == Some(true) {
            let wait = cfg.probe_wait_ms.map_or(PROBE_WAIT, Duration::from_millis);
            let parent = format!("projects/{project}/locations/{location}");
            ensure_ring_within(&kms, parent, ring_id.to_owned(), wait).await?;
        }
        let uri_prefix = cfg
            .uri_prefix
            .clone()
            .unwrap_or_else(|| format!("{}://{ring}/cryptoKeys/", ProviderKind::Gcp.scheme()));
        let info = ProviderInfo {
            name,
            kind: ProviderKind::Gcp,
            uri_prefix,
        };
        let caps = self
            .capabilities
            .unwrap_or_else(|| capabilities(destroy_days, hsm));
        Ok(GcpKmsProvider::new(info, caps, kms))
    }
}

/// [`ensure_ring`], waiting for it at most `wait`: an answer in time is known before the
/// provider is used (a refusal fails the build); a slow or hung endpoint does not hold up
/// keygate's start, and the check goes on in the background (its outcome is logged).
async fn ensure_ring_within(
    kms: &Kms,
    parent: String,
    ring_id: String,
    wait: Duration,
) -> Result<()> {
    let check = {
        let (client, provider, ring) = (kms.client.clone(), kms.provider.clone(), kms.ring.clone());
        tokio::spawn(async move {
            let answer = ensure_ring(&client, &provider, &ring, &parent, &ring_id).await;
            if let Err(e) = &answer {
                tracing::warn!(%provider, %ring, error = %e, "cannot make the key ring");
            }
            answer
        })
    };
    match tokio::time::timeout(wait, check).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(join)) => Err(Error::unavailable(format!(
            "provider `{}`: the key ring check stopped: {join}",
            kms.provider
        ))),
        Err(_) => {
            tracing::warn!(provider = %kms.provider, ring = %kms.ring, wait_ms = wait.as_millis(),
                "Cloud KMS did not answer the key ring check in time; it goes on in the background");
            Ok(())
        }
    }
}

/// Makes the key ring `ring` (`parent`/keyRings/`ring_id`) unless it exists. An unreachable
/// endpoint is logged, not fatal.
async fn ensure_ring(
    client: &KeyManagementService,
    provider: &str,
    ring: &str,
    parent: &str,
    ring_id: &str,
) -> Result<()> {
    let got = client.get_key_ring().set_name(ring).send().await;
    let missing = match got {
        Ok(_) => false,
        Err(e) => match class_of(&e) {
            Class::NotFound => true,
            Class::Unavailable => {
                tracing::warn!(%provider, %ring, error = %e, "cannot reach Cloud KMS to check the key ring");
                return Ok(());
            }
            _ => return Err(from_sdk(&e, provider, "get_key_ring")),
        },
    };
    if !missing {
        return Ok(());
    }
    let made = client
        .create_key_ring()
        .set_parent(parent)
        .set_key_ring_id(ring_id)
        .set_key_ring(KeyRing::new())
        .send()
        .await;
    match made {
        Ok(_) => {
            tracing::info!(%provider, %ring, "created the key ring");
            Ok(())
        }
        // Made by someone else meanwhile: what was wanted.
        Err(e) if class_of(&e) == Class::AlreadyExists => Ok(()),
        Err(e) => Err(from_sdk(&e, provider, "create_key_ring")),
    }
}

/// Credentials sending `Authorization: Bearer <the value of var>`, read once, now.
fn token_credentials(provider: &str, var: &str) -> Result<Credentials> {
    let token = Zeroizing::new(std::env::var(var).unwrap_or_default());
    if token.trim().is_empty() {
        return Err(Error::invalid(format!(
            "provider `{provider}`: token_env names `{var}`, which is unset or empty"
        )));
    }
    let value = http::HeaderValue::from_str(&format!("Bearer {}", token.trim())).map_err(|_| {
        Error::invalid(format!(
            "provider `{provider}`: the token in `{var}` is not a valid header value"
        ))
    })?;
    Ok(Credentials::from(BearerToken::new(value)))
}

/// A fixed bearer token (a keygate token for a keygate endpoint).
struct BearerToken {
    header: http::HeaderValue,
    tag: EntityTag,
}

impl BearerToken {
    fn new(mut header: http::HeaderValue) -> Self {
        header.set_sensitive(true);
        Self {
            header,
            tag: EntityTag::new(),
        }
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

impl CredentialsProvider for BearerToken {
    async fn headers(
        &self,
        extensions: http::Extensions,
    ) -> std::result::Result<
        CacheableResource<http::HeaderMap>,
        google_cloud_auth::errors::CredentialsError,
    > {
        // The token never changes: a caller holding this tag already has the headers.
        if extensions.get::<EntityTag>() == Some(&self.tag) {
            return Ok(CacheableResource::NotModified);
        }
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, self.header.clone());
        Ok(CacheableResource::New {
            entity_tag: self.tag.clone(),
            data: headers,
        })
    }

    async fn universe_domain(&self) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use keygate_core::{ErrorKind, KeyProvider as _};

    use super::*;

    const SECRET: &str = "kgt_secret-token-value";

    fn config(project: &str) -> GcpConfig {
        GcpConfig {
            project: project.into(),
            endpoint: Some("http://127.0.0.1:9".into()),
            ..GcpConfig::default()
        }
    }

    fn creds() -> Credentials {
        let value = http::HeaderValue::from_str(&format!("Bearer {SECRET}")).unwrap();
        Credentials::from(BearerToken::new(value))
    }

    async fn build(config: GcpConfig) -> Result<GcpKmsProvider> {
        GcpKmsBuilder::new()
            .with_name("gcp-test")
            .with_config(&config)
            .with_credentials(creds())
            .build()
            .await
    }

    #[tokio::test]
    async fn configuration_is_checked_before_anything_is_called() {
        for bad in [
            config(""),
            GcpConfig {
                location: Some("a/b".into()),
                ..config("p")
            },
            GcpConfig {
                key_ring: Some("bad ring".into()),
                ..config("p")
            },
            GcpConfig {
                destroy_scheduled_days: Some(121),
                ..config("p")
            },
            GcpConfig {
                destroy_scheduled_days: Some(0),
                ..config("p")
            },
            GcpConfig {
                protection_level: Some("external".into()),
                ..config("p")
            },
        ] {
            let err = build(bad.clone()).await.expect_err("a bad configuration");
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad:?}: {err}");
        }
        // No explicit credentials: the variable is read, and it is unset.
        let err = GcpKmsBuilder::new()
            .with_config(&GcpConfig {
                token_env: Some("KEYGATE_GCP_BUILDER_TEST_UNSET".into()),
                ..config("p")
            })
            .build()
            .await
            .expect_err("unset variable");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(
            err.to_string().contains("KEYGATE_GCP_BUILDER_TEST_UNSET"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn defaults_name_the_ring_and_debug_hides_the_token() {
        let provider = build(GcpConfig {
            destroy_scheduled_days: Some(7),
            ..config("acme")
        })
        .await
        .expect("builds without calling the endpoint");
        assert_eq!(
            provider.info().uri_prefix,
            "gcp-kms://projects/acme/locations/global/keyRings/keygate/cryptoKeys/"
        );
        assert_eq!(provider.info().kind, ProviderKind::Gcp);
        let window = provider.capabilities().deletion_window;
        assert_eq!((window.min, window.max), (7, 7));
        let shown = format!("{provider:?}");
        assert!(!shown.contains("secret-token"), "{shown}");
        let builder = GcpKmsBuilder::new()
            .with_config(&config("acme"))
            .with_credentials(creds());
        assert!(!format!("{builder:?}").contains("secret-token"));
        assert!(!format!("{:?}", creds()).contains("secret-token"));
    }

    #[tokio::test]
    async fn bearer_token_sends_its_header_once_per_tag() {
        let value = http::HeaderValue::from_str(&format!("Bearer {SECRET}")).unwrap();
        let token = BearerToken::new(value);
        let CacheableResource::New { entity_tag, data } =
            token.headers(http::Extensions::new()).await.unwrap()
        else {
            panic!("the first call gives the headers");
        };
        assert_eq!(
            data.get(http::header::AUTHORIZATION)
                .unwrap()
                .to_str()
                .unwrap(),
            format!("Bearer {SECRET}")
        );
        let mut ext = http::Extensions::new();
        ext.insert(entity_tag);
        assert!(matches!(
            token.headers(ext).await.unwrap(),
            CacheableResource::NotModified
        ));
    }
}
