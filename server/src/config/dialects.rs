//! `[dialects]`: which cloud wire protocols keygate serves, and how. Plain settings; the HTTP
//! edge (`keygate-http`) serves each dialect that its build includes and these settings turn
//! on.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use keygate_core::access::Identity;
use serde::{Deserialize, Serialize};

/// `[dialects]`: which cloud wire protocols keygate serves, and how.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DialectsConfig {
    /// `[dialects.aws]`: the AWS KMS dialect (on by default).
    pub aws: AwsDialectConfig,
    /// `[dialects.gcp]`: the GCP Cloud KMS dialect (on by default).
    pub gcp: GcpDialectConfig,
    /// `[dialects.azure]`: the Azure Key Vault dialect (off until it has a `listen` address).
    pub azure: AzureDialectConfig,
    /// DEVELOPMENT ONLY: callers of the GCP and Azure dialects that present no token act as
    /// this identity. Off unless set; logged as a warning at every start when on.
    pub insecure_anonymous: Option<AnonymousIdentity>,
}

/// `[dialects.insecure_anonymous]`: who an anonymous caller becomes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AnonymousIdentity {
    /// The principal anonymous callers act as.
    pub principal: String,
    /// The role anonymous callers get: what the access policy lets them do.
    pub role: String,
}

impl AnonymousIdentity {
    /// The identity anonymous callers get.
    pub fn identity(&self) -> Identity {
        Identity {
            principal: self.principal.clone(),
            role: self.role.clone(),
        }
    }
}

impl DialectsConfig {
    /// Logs, loudly, every setting that weakens security.
    pub fn warn_if_insecure(&self) {
        if let Some(anon) = &self.insecure_anonymous {
            tracing::warn!(
                principal = %anon.principal,
                role = %anon.role,
                "DEVELOPMENT SWITCH ON: [dialects.insecure_anonymous] lets callers of the GCP and \
                 Azure dialects without a token act as this principal; never use it in production"
            );
        }
    }
}

/// `[dialects.aws]`: the AWS KMS JSON protocol, signed with SigV4, the account its ARNs carry,
/// and which provider stands behind each region.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AwsDialectConfig {
    /// Serve `POST /` with `X-Amz-Target: TrentService.*` on the main listener.
    pub enabled: bool,
    /// The provider `CreateKey` puts keys in when there is no `regions` table (default: the
    /// first registered provider).
    pub provider: Option<String>,
    /// The account id in ARNs and `AWSAccountId` (12 digits). A key ARN or alias ARN naming
    /// another account names no key.
    pub account_id: String,
    /// The region in the ARNs keygate names outside an AWS request (the REST API's
    /// `aws-arn`, the Encryption SDK commands) for keys the AWS door has not placed in a
    /// region, and, with a `regions` table, the region such keys belong to when it maps to
    /// their provider. ARNs in the AWS door's answers name the region the request was signed
    /// for.
    pub region: String,
    /// Region name → provider name. Empty (the default): every region is served by
    /// `provider` and every key is visible in every region. Set: only these regions are
    /// served (a request signed for another is refused), `CreateKey` signed for a region
    /// creates the key in its provider, and a key is visible only in its own region.
    pub regions: BTreeMap<String, String>,
}

impl Default for AwsDialectConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            provider: None,
            account_id: "000000000000".to_owned(),
            region: "us-east-1".to_owned(),
            regions: BTreeMap::new(),
        }
    }
}

impl AwsDialectConfig {
    /// True when a `regions` table is set: keys are then visible only in their own region.
    pub fn is_regional(&self) -> bool {
        !self.regions.is_empty()
    }

    /// True when requests signed for `region` are served: every region without a `regions`
    /// table, the table's regions with one.
    pub fn serves(&self, region: &str) -> bool {
        !self.is_regional() || self.regions.contains_key(region)
    }

    /// The provider `CreateKey` signed for `region` creates keys in: the region's entry of
    /// `regions`, else `provider` (`None`: the first registered provider).
    pub fn provider_for(&self, region: &str) -> Option<&str> {
        self.regions
            .get(region)
            .or(self.provider.as_ref())
            .map(String::as_str)
    }

    /// The region of a key of `provider` that the AWS door has not placed in a region (made
    /// through the CLI, the REST API or another dialect): `region` when it maps to
    /// `provider` (or there is no `regions` table), else the first region (by name) that
    /// maps to `provider`; `None` when no region does (the key is then in no region).
    pub fn home_region(&self, provider: &str) -> Option<&str> {
        if !self.is_regional()
            || self
                .regions
                .get(&self.region)
                .is_some_and(|p| p == provider)
        {
            return Some(&self.region);
        }
        self.regions
            .iter()
            .find(|(_, p)| *p == provider)
            .map(|(r, _)| r.as_str())
    }

    /// The region a key of `provider` belongs to: the one recorded when the AWS door created
    /// it, else its provider's [home region](Self::home_region).
    pub fn key_region<'a>(&'a self, recorded: Option<&'a str>, provider: &str) -> Option<&'a str> {
        recorded.or_else(|| self.home_region(provider))
    }
}

/// `[dialects.gcp]`: the Cloud KMS v1 REST API, and which provider stands behind it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GcpDialectConfig {
    /// Serve `/v1/projects/...` on the main listener.
    pub enabled: bool,
    /// The provider the location `global` maps to (default: the first registered provider).
    pub provider: Option<String>,
}

impl Default for GcpDialectConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            provider: None,
        }
    }
}

/// `[dialects.azure]`: a Key Vault keys endpoint on its own HTTPS listener, its certificate,
/// and the vault it answers as.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AzureDialectConfig {
    /// Where to serve the vault (HTTPS). Unset: the Azure dialect is off.
    pub listen: Option<SocketAddr>,
    /// PEM certificate chain to serve; with `tls_key`. Unset: keygate generates one.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Where keygate keeps the certificate it generates (`ca.pem`, `ca-key.pem`, `cert.pem`,
    /// `key.pem`). `keygate serve` defaults it to `<home>/azure-tls`.
    pub tls_dir: Option<PathBuf>,
    /// More names (DNS names or IP addresses) the generated certificate covers, besides
    /// `localhost`, `127.0.0.1`, `::1` and the listen address.
    pub tls_names: Vec<String>,
    /// The provider keys created through the vault go to (default: the first registered).
    pub provider: Option<String>,
    /// The vault's name (default `keygate`): errors name it, and Resource Manager role
    /// assignment requests must address it.
    pub vault_name: String,
    /// Days a deleted key stays recoverable (default: the provider's longest deletion window;
    /// must lie within it).
    pub soft_delete_retention_days: Option<u32>,
}

impl Default for AzureDialectConfig {
    fn default() -> Self {
        Self {
            listen: None,
            tls_cert: None,
            tls_key: None,
            tls_dir: None,
            tls_names: Vec::new(),
            provider: None,
            vault_name: "keygate".to_owned(),
            soft_delete_retention_days: None,
        }
    }
}

impl AzureDialectConfig {
    /// Fills what depends on the keygate home: the generated certificate's directory
    /// (`<home>/azure-tls` unless set; a relative `tls_dir` is taken under the home).
    pub fn resolve_in_home(&mut self, home: &Path) {
        self.tls_dir = Some(match self.tls_dir.take() {
            Some(dir) if dir.is_relative() => home.join(dir),
            Some(dir) => dir,
            None => home.join("azure-tls"),
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn aws_settings_default_and_parse() {
        let d = AwsDialectConfig::default();
        assert!(d.enabled);
        assert_eq!(
            (d.account_id.as_str(), d.region.as_str()),
            ("000000000000", "us-east-1")
        );
        let c: AwsDialectConfig =
            toml::from_str("provider = \"local\"\nregion = \"eu-west-1\"").unwrap();
        assert_eq!(c.provider.as_deref(), Some("local"));
        assert_eq!(c.region, "eu-west-1");
        assert!(toml::from_str::<AwsDialectConfig>("regoin = \"x\"").is_err());
    }

    #[test]
    fn aws_regions_map_to_providers() {
        let d = AwsDialectConfig::default();
        assert!(!d.is_regional() && d.serves("ap-south-1"));
        assert_eq!(d.provider_for("ap-south-1"), None);
        assert_eq!(d.home_region("local"), Some("us-east-1"));
        let c: AwsDialectConfig = toml::from_str(
            "provider = \"local\"\nregion = \"eu-west-1\"\n\
             regions = { \"us-west-2\" = \"west\", \"us-east-1\" = \"east\", \"eu-west-1\" = \"east\" }",
        )
        .unwrap();
        assert!(c.is_regional() && c.serves("us-west-2") && !c.serves("ap-south-1"));
        assert_eq!(c.provider_for("us-west-2"), Some("west"));
        // `region` maps to `east`: keys of `east` the door did not place live there.
        assert_eq!(c.home_region("east"), Some("eu-west-1"));
        assert_eq!(c.home_region("west"), Some("us-west-2"));
        assert_eq!(c.home_region("gcp"), None);
        assert_eq!(c.key_region(Some("us-east-1"), "east"), Some("us-east-1"));
        assert_eq!(c.key_region(None, "east"), Some("eu-west-1"));
    }

    #[test]
    fn the_tls_dir_defaults_under_the_home() {
        let mut c = AzureDialectConfig::default();
        c.resolve_in_home(Path::new("/h"));
        assert_eq!(c.tls_dir.as_deref(), Some(Path::new("/h/azure-tls")));
        let mut c = AzureDialectConfig {
            tls_dir: Some("tls".into()),
            ..AzureDialectConfig::default()
        };
        c.resolve_in_home(Path::new("/h"));
        assert_eq!(c.tls_dir.as_deref(), Some(Path::new("/h/tls")));
    }

    #[test]
    fn settings_parse_and_unknown_ones_are_refused() {
        let c: AzureDialectConfig = toml::from_str(
            "listen = \"127.0.0.1:8443\"\nvault_name = \"v\"\nsoft_delete_retention_days = 7",
        )
        .unwrap();
        assert_eq!(c.vault_name, "v");
        assert!(toml::from_str::<AzureDialectConfig>("lisen = \"x\"").is_err());
    }
}
