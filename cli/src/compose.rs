//! The composition root: from a home and its configuration to a running service. The only
//! place that knows every crate: it types the configuration's provider sections with the
//! provider factory, opens them, finds the gateway root key and hands it all to the server.
//! It is also the only place that reads `$KEYGATE_ROOT_KEY`.

use std::path::PathBuf;
use std::sync::Arc;

use keygate_core::root_key::{self, ROOT_KEY_ENV};
use keygate_core::{Error, ErrorKind, ProviderKind, Result};
use keygate_providers::factory::{self, OpenContext, ProviderConfig};
use keygate_server::Home;
use keygate_server::config::Config;
use keygate_server::registry::LazyProvider;
use keygate_server::service::{BuildInfo, Service};
use zeroize::Zeroizing;

/// The home and its configuration (`--config`, `$KEYGATE_CONFIG`, `<home>/keygate.toml`),
/// with every provider section typed, so a mistake in any of them is found before anything
/// opens.
///
/// # Errors
/// As [`Config::load`] and [`provider_configs`].
pub fn load(home: Option<PathBuf>, config: Option<PathBuf>) -> Result<(Home, Config)> {
    let home = Home::resolve(home)?;
    let config = Config::load(config.as_deref(), home.dir())?;
    provider_configs(&config)?;
    Ok((home, config))
}

/// The configuration's provider sections, typed, in order.
///
/// # Errors
/// [`Error::InvalidArgument`] naming the section and setting for anything malformed;
/// [`Error::Unsupported`] for a kind this build leaves out.
pub fn provider_configs(config: &Config) -> Result<Vec<ProviderConfig>> {
    config
        .providers
        .iter()
        .map(|s| ProviderConfig::parse(&s.name, &s.kind, s.settings.clone()))
        .collect()
}

/// The gateway store's URL when `[store] url` is PostgreSQL: local providers without a key
/// store of their own keep their keys in that database. `None` for SQLite, and for a URL
/// that does not parse (the store reports that itself when it opens).
pub fn postgres_store_url(config: &Config, home: &std::path::Path) -> Option<String> {
    match config.store.location(home) {
        Ok(keygate_server::config::StoreLocation::Postgres { url, .. }) => Some(url),
        _ => None,
    }
}

/// The root key given in the environment (`$KEYGATE_ROOT_KEY`, base64), if any.
///
/// # Errors
/// [`Error::InvalidArgument`] when it is set but not base64 of 32 bytes (never echoing it).
pub fn root_key_from_env() -> Result<Option<Zeroizing<Vec<u8>>>> {
    match std::env::var(ROOT_KEY_ENV) {
        Ok(value) => root_key::decode_base64(&value).map(Some),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(Error::invalid(format!("{ROOT_KEY_ENV} is not valid UTF-8")))
        }
    }
}

/// Opens the service `config` describes in `home` with every provider open: the server, then
/// its providers, in order, with the gateway root key (the environment's, else the first
/// local provider's root key file, else `<home>/root.key`, created on first use). What a
/// serving gateway uses: a provider that cannot be opened stops it here.
///
/// # Errors
/// Whatever a provider or the store reports when it cannot be opened, naming it.
pub async fn open(config: &Config, home: &Home) -> Result<Arc<Service>> {
    let service = open_on_demand(config, home).await?;
    service.registry().open_all().await?;
    Ok(service)
}

/// [`open`], with each provider opened the first time a call needs it: what a one-shot
/// command uses, so `keys list --provider local` builds no cloud client. A provider that
/// cannot be opened fails only the calls that need it.
///
/// # Errors
/// Whatever the store reports when it cannot be opened; a malformed provider section.
pub async fn open_on_demand(config: &Config, home: &Home) -> Result<Arc<Service>> {
    let typed = provider_configs(config)?;
    let from_env = root_key_from_env()?;
    let cx = OpenContext {
        home: home.dir().to_owned(),
        root_key: from_env.clone(),
        store_url: postgres_store_url(config, home.dir()),
    };
    let providers = typed.iter().map(|p| on_demand(p, &cx)).collect();
    let root = match from_env {
        Some(key) => Some(key),
        None => root_key_from_file(&typed, home).await,
    };
    let service =
        Service::open_lazy(providers, config, home, root.as_deref().map(Vec::as_slice)).await?;
    refuse_a_wrong_root_key(&service).await?;
    service.set_build_info(BuildInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        features: features().into_iter().map(str::to_owned).collect(),
    });
    Ok(service)
}

/// Opens the local providers now, when they are otherwise opened on first use: each key
/// store knows the root key it was initialised with, and a command given another (a wrong
/// `KEYGATE_ROOT_KEY`) must stop before it writes an audit row chained under that key. A local
/// provider that cannot be opened for another reason is left to fail the calls that need it.
///
/// # Errors
/// [`Error::RootKeyMismatch`] from the first local provider that refuses the root key.
async fn refuse_a_wrong_root_key(service: &Service) -> Result<()> {
    let registry = service.registry();
    for (name, kind) in registry.registered() {
        if kind != ProviderKind::Local {
            continue;
        }
        match registry.provider(name).await {
            Err(e) if e.kind() == ErrorKind::RootKeyMismatch => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// The provider `config` describes, to be opened on first use.
fn on_demand(config: &ProviderConfig, cx: &OpenContext) -> LazyProvider {
    let section = config.clone();
    let cx = cx.clone();
    LazyProvider {
        name: config.name.clone(),
        kind: config.backend.provider_kind(),
        uri_prefix: config.known_uri_prefix(),
        open: Box::new(move || {
            let section = section.clone();
            let cx = cx.clone();
            Box::pin(async move { factory::open(&section, &cx).await })
        }),
    }
}

/// The gateway root key from the first local provider's root key file, else
/// `<home>/root.key` (created on first use); `None`, with a warning in the log, when it
/// cannot be read.
async fn root_key_from_file(typed: &[ProviderConfig], home: &Home) -> Option<Zeroizing<Vec<u8>>> {
    let file = factory::gateway_root_key_file(typed, home.dir());
    let read = tokio::task::spawn_blocking(move || root_key::read_or_create(&file))
        .await
        .unwrap_or_else(|e| Err(Error::unavailable(format!("reading the root key: {e}"))));
    match read {
        Ok(key) => Some(key),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the gateway root key");
            None
        }
    }
}

/// The gateway root key `open` uses: `$KEYGATE_ROOT_KEY`, else the root key file.
///
/// # Errors
/// As [`root_key_from_env`] and [`provider_configs`].
pub async fn gateway_root_key(config: &Config, home: &Home) -> Result<Option<Zeroizing<Vec<u8>>>> {
    let typed = provider_configs(config)?;
    Ok(match root_key_from_env()? {
        Some(key) => Some(key),
        None => root_key_from_file(&typed, home).await,
    })
}

/// The cloud features this `keygate` was built with (`aws`, `azure`, `gcp`), as
/// `keygate status` reports them.
pub fn features() -> Vec<&'static str> {
    [
        ("aws", cfg!(feature = "aws")),
        ("azure", cfg!(feature = "azure")),
        ("gcp", cfg!(feature = "gcp")),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect()
}

#[cfg(all(test, feature = "aws", feature = "azure", feature = "gcp"))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::path::Path;

    use keygate_providers::azure::AzureConfig;
    use keygate_providers::factory::Backend;
    use keygate_providers::gcp::GcpConfig;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// A configuration with its provider sections typed, as [`load`] reads it.
    #[derive(Debug)]
    struct Parsed {
        providers: Vec<ProviderConfig>,
    }

    fn parse(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
        origin: &str,
    ) -> Result<Parsed> {
        let config = Config::parse(text, env, origin)?;
        Ok(Parsed {
            providers: provider_configs(&config)?,
        })
    }

    #[test]
    fn providers_keep_file_order_and_kind_defaults_to_the_name() {
        let text = r#"
            [providers.zeta]
            kind = "local"
            path = "z.db"
            [providers.local]
            [providers.alpha]
            kind = "local"
            uri_prefix = "local://alpha/"
        "#;
        let c = parse(text, env(&[]), "t").unwrap();
        let names: Vec<_> = c.providers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["zeta", "local", "alpha"]);
        let Backend::Local(z) = &c.providers[0].backend else {
            panic!("zeta is local")
        };
        assert_eq!(z.path.as_deref(), Some(Path::new("z.db")));
    }

    #[test]
    fn aws_sections_register_under_their_names() {
        let text = r#"
            [providers.local]
            [providers.aws]
            region = "us-east-1"
            endpoint_url = "http://127.0.0.1:4566"
            [providers.aws-eu]
            kind = "aws"
            region = "eu-west-1"
            profile = "prod"
        "#;
        let c = parse(
            text,
            env(&[("KEYGATE_PROVIDERS__AWS_EU__MAX_ATTEMPTS", "5")]),
            "t",
        )
        .unwrap();
        let kinds: Vec<_> = c
            .providers
            .iter()
            .map(|p| (p.name.as_str(), matches!(p.backend, Backend::Aws(_))))
            .collect();
        assert_eq!(kinds, [("local", false), ("aws", true), ("aws-eu", true)]);
        let Backend::Aws(eu) = &c.providers[2].backend else {
            panic!("aws-eu is aws")
        };
        assert_eq!(eu.region.as_deref(), Some("eu-west-1"));
        assert_eq!(eu.max_attempts, Some(5));
        let e = parse(
            "[providers.aws]
regoin = \"x\"\n",
            env(&[]),
            "t",
        )
        .unwrap_err();
        assert!(e.to_string().contains("regoin"), "{e}");
    }

    #[test]
    fn azure_and_gcp_sections_register_under_their_names() {
        let text = r#"
            [providers.local]
            [providers.azure]
            vault_url = "https://prod-keys.vault.azure.net"
            subscription_id = "00000000-0000-0000-0000-000000000001"
            resource_group = "security"
            [providers.hsm-eu]
            kind = "azure"
            vault_url = "https://eu.managedhsm.azure.net"
            credential = "managed-identity"
            [providers.gcp]
            project = "acme-security"
            location = "europe-west1"
            [providers.gcp-dev]
            kind = "gcp"
            project = "acme-dev"
            endpoint = "http://127.0.0.1:9"
            token_env = "DEV_TOKEN"
        "#;
        let c = parse(text, env(&[]), "t").unwrap();
        let kinds: Vec<_> = c
            .providers
            .iter()
            .map(|p| (p.name.as_str(), p.backend.kind()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("local", "local"),
                ("azure", "azure"),
                ("hsm-eu", "azure"),
                ("gcp", "gcp"),
                ("gcp-dev", "gcp"),
            ]
        );
        let Backend::Azure(azure) = &c.providers[1].backend else {
            panic!("azure is azure")
        };
        assert_eq!(
            azure,
            &AzureConfig {
                vault_url: "https://prod-keys.vault.azure.net".into(),
                subscription_id: Some("00000000-0000-0000-0000-000000000001".into()),
                resource_group: Some("security".into()),
                ..AzureConfig::default()
            }
        );
        let Backend::Azure(hsm) = &c.providers[2].backend else {
            panic!("hsm-eu is azure")
        };
        assert_eq!(hsm.credential.as_deref(), Some("managed-identity"));
        let Backend::Gcp(gcp) = &c.providers[3].backend else {
            panic!("gcp is gcp")
        };
        assert_eq!(
            gcp,
            &GcpConfig {
                project: "acme-security".into(),
                location: Some("europe-west1".into()),
                ..GcpConfig::default()
            }
        );
        let Backend::Gcp(dev) = &c.providers[4].backend else {
            panic!("gcp-dev is gcp")
        };
        assert_eq!(dev.endpoint.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(dev.token_env.as_deref(), Some("DEV_TOKEN"));
    }

    #[test]
    fn environment_overrides_reach_azure_and_gcp_sections() {
        let text = r#"
            [providers.azure-prod]
            kind = "azure"
            vault_url = "https://a.vault.azure.net"
            [providers.gcp]
            project = "p"
        "#;
        let c = parse(
            text,
            env(&[
                (
                    "KEYGATE_PROVIDERS__AZURE_PROD__VAULT_URL",
                    "https://b.vault.azure.net",
                ),
                (
                    "KEYGATE_PROVIDERS__AZURE_PROD__VERIFY_CHALLENGE_RESOURCE",
                    "false",
                ),
                (
                    "KEYGATE_PROVIDERS__AZURE_PROD__SOFT_DELETE_RETENTION_DAYS",
                    "7",
                ),
                (
                    "KEYGATE_PROVIDERS__AZURE_PROD__CA_FILE",
                    "/etc/keygate/ca.pem",
                ),
                ("KEYGATE_PROVIDERS__GCP__KEY_RING", "ring-2"),
                ("KEYGATE_PROVIDERS__GCP__CREATE_KEY_RING", "true"),
                ("KEYGATE_PROVIDERS__GCP__DESTROY_SCHEDULED_DAYS", "14"),
                // A section that exists only in the environment takes its kind from its name.
                ("KEYGATE_PROVIDERS__GCP_EU__KIND", "gcp"),
                ("KEYGATE_PROVIDERS__GCP_EU__PROJECT", "eu-project"),
            ]),
            "t",
        )
        .unwrap();
        let Backend::Azure(azure) = &c.providers[0].backend else {
            panic!("azure-prod is azure")
        };
        assert_eq!(azure.vault_url, "https://b.vault.azure.net");
        assert_eq!(azure.verify_challenge_resource, Some(false));
        assert_eq!(azure.soft_delete_retention_days, Some(7));
        assert_eq!(
            azure.ca_file.as_deref(),
            Some(Path::new("/etc/keygate/ca.pem"))
        );
        let Backend::Gcp(gcp) = &c.providers[1].backend else {
            panic!("gcp is gcp")
        };
        assert_eq!(gcp.key_ring.as_deref(), Some("ring-2"));
        assert_eq!(gcp.create_key_ring, Some(true));
        assert_eq!(gcp.destroy_scheduled_days, Some(14));
        let eu = c.providers.iter().find(|p| p.name == "gcp_eu").unwrap();
        let Backend::Gcp(eu) = &eu.backend else {
            panic!("gcp_eu is gcp")
        };
        assert_eq!(eu.project, "eu-project");
    }

    #[test]
    fn azure_and_gcp_mistakes_name_the_section_and_setting() {
        for (text, needle) in [
            ("[providers.azure]\ncredential = \"chain\"\n", "vault_url"),
            (
                "[providers.azure]\nvault_url = \"https://a\"\nvalut_name = \"x\"\n",
                "valut_name",
            ),
            ("[providers.gcp]\nlocation = \"global\"\n", "project"),
            (
                "[providers.gcp]\nproject = \"p\"\nkeyring = \"r\"\n",
                "keyring",
            ),
            (
                "[providers.g]\nkind = \"gcp\"\nproject = \"p\"\ncreate_key_ring = \"yes\"\n",
                "providers.g",
            ),
            (
                "[providers.k]\nkind = \"azurekv\"\n",
                "known: local, aws, azure, gcp",
            ),
        ] {
            let e = parse(text, env(&[]), "t").unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)), "{text}: {e}");
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn the_example_file_parses() {
        let text = include_str!("../../keygate.example.toml");
        parse(text, env(&[]), "keygate.example.toml").unwrap();
    }

    #[test]
    fn the_example_file_parses_with_every_commented_setting() {
        let text = include_str!("../../keygate.example.toml");
        let uncommented: String = text
            .lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(rest) if is_setting(rest) => rest,
                _ => line,
            })
            .flat_map(|line| [line, "\n"])
            .collect();
        let c = parse(&uncommented, env(&[]), "uncommented example").unwrap();
        let kinds: Vec<_> = c.providers.iter().map(|p| p.backend.kind()).collect();
        assert_eq!(kinds, ["local", "aws", "azure", "gcp"]);
        let Backend::Azure(azure) = &c.providers[2].backend else {
            panic!("the third provider is azure")
        };
        assert_eq!(azure.token_env.as_deref(), Some("KEYGATE_AZURE_TOKEN"));
        assert_eq!(azure.resource_group.as_deref(), Some("security"));
        let Backend::Gcp(gcp) = &c.providers[3].backend else {
            panic!("the fourth provider is gcp")
        };
        assert_eq!(gcp.protection_level.as_deref(), Some("software"));
    }

    /// `[section]` or `key = value` (and not a sentence that happens to follow `# `).
    fn is_setting(text: &str) -> bool {
        if text.starts_with('[') {
            return text.trim_end().ends_with(']');
        }
        text.split_once(" = ").is_some_and(|(key, _)| {
            !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
    }
}
