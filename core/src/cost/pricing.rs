//! The price list the cost view multiplies by: one [`Prices`] per kind of provider, with
//! built-in defaults taken from each cloud's public price list (their source and date are
//! part of each entry), overridable field by field from `[pricing]` in `keygate.toml`.

use serde::{Deserialize, Serialize};

use crate::ProviderKind;

/// What one kind of provider charges, in US dollars.
///
/// A key's monthly charge is `key_month + version_month × (billed − included_versions)`,
/// where `billed` is its live version count capped at `max_billed_versions` (no cap when
/// absent). Requests are charged per 10,000 by [`RequestKind`](super::RequestKind).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    /// Per key per month.
    pub key_month: f64,
    /// Per billed key version per month, beyond `included_versions`.
    pub version_month: f64,
    /// Versions the key's own charge covers.
    pub included_versions: u32,
    /// At most this many versions are billed (AWS KMS: the original and two rotations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_billed_versions: Option<u32>,
    /// Per 10,000 symmetric requests (AES, HMAC).
    pub symmetric_per_10k: f64,
    /// Per 10,000 requests on RSA 2048 keys.
    pub rsa_2048_per_10k: f64,
    /// Per 10,000 requests on other asymmetric keys (RSA 3072/4096, elliptic curves).
    pub asymmetric_per_10k: f64,
    /// Per 10,000 random-generation requests.
    pub random_per_10k: f64,
    /// Per 10,000 key-management requests (create, describe, list, rotate, ...).
    pub management_per_10k: f64,
    /// Where the figures come from.
    pub source: String,
    /// When they were read from the source (`YYYY-MM-DD`).
    pub date: String,
}

/// An override of some fields of one [`Prices`] entry (`[pricing.aws]` and so on); a field
/// left out keeps the built-in default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceOverride {
    /// See [`Prices::key_month`].
    pub key_month: Option<f64>,
    /// See [`Prices::version_month`].
    pub version_month: Option<f64>,
    /// See [`Prices::included_versions`].
    pub included_versions: Option<u32>,
    /// See [`Prices::max_billed_versions`].
    pub max_billed_versions: Option<u32>,
    /// See [`Prices::symmetric_per_10k`].
    pub symmetric_per_10k: Option<f64>,
    /// See [`Prices::rsa_2048_per_10k`].
    pub rsa_2048_per_10k: Option<f64>,
    /// See [`Prices::asymmetric_per_10k`].
    pub asymmetric_per_10k: Option<f64>,
    /// See [`Prices::random_per_10k`].
    pub random_per_10k: Option<f64>,
    /// See [`Prices::management_per_10k`].
    pub management_per_10k: Option<f64>,
    /// See [`Prices::source`].
    pub source: Option<String>,
    /// See [`Prices::date`].
    pub date: Option<String>,
}

/// `[pricing]` in `keygate.toml`: overrides per kind of provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingConfig {
    /// `[pricing.aws]`.
    #[serde(default)]
    pub aws: PriceOverride,
    /// `[pricing.gcp]`.
    #[serde(default)]
    pub gcp: PriceOverride,
    /// `[pricing.azure]`.
    #[serde(default)]
    pub azure: PriceOverride,
    /// `[pricing.local]`.
    #[serde(default)]
    pub local: PriceOverride,
}

/// The prices of every kind of provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceList {
    /// AWS KMS.
    pub aws: Prices,
    /// GCP Cloud KMS.
    pub gcp: Prices,
    /// Azure Key Vault.
    pub azure: Prices,
    /// The local provider.
    pub local: Prices,
}

impl Default for PriceList {
    /// The built-in defaults (US dollars, list prices, free tiers not deducted).
    fn default() -> Self {
        Self {
            // https://aws.amazon.com/kms/pricing/ (read 2026-12-07): $1/month per key; each
            // rotation adds $1/month for the first two rotations, later rotations are free;
            // $0.03 per 10,000 requests, $0.15 per 10,000 asymmetric requests except RSA 2048.
            aws: Prices {
                key_month: 1.0,
                version_month: 1.0,
                included_versions: 1,
                max_billed_versions: Some(3),
                symmetric_per_10k: 0.03,
                rsa_2048_per_10k: 0.03,
                asymmetric_per_10k: 0.15,
                random_per_10k: 0.03,
                management_per_10k: 0.03,
                source: "https://aws.amazon.com/kms/pricing/".into(),
                date: "2026-12-07".into(),
            },
            // https://cloud.google.com/kms/pricing (prices effective 2025-03-17, read
            // 2026-12-07), protection level SOFTWARE: $0.06 per active key version per
            // month, $0.03 per 10,000 cryptographic operations, management operations free.
            gcp: Prices {
                key_month: 0.0,
                version_month: 0.06,
                included_versions: 0,
                max_billed_versions: None,
                symmetric_per_10k: 0.03,
                rsa_2048_per_10k: 0.03,
                asymmetric_per_10k: 0.03,
                random_per_10k: 0.03,
                management_per_10k: 0.0,
                source: "https://cloud.google.com/kms/pricing".into(),
                date: "2026-12-07".into(),
            },
            // https://azure.microsoft.com/pricing/details/key-vault/, vault Standard tier,
            // software-protected keys: no monthly charge per key; $0.03 per 10,000 operations,
            // $0.15 per 10,000 for RSA 3072/4096 and elliptic-curve keys ("Advanced Key
            // Operations"). HSM-protected keys (Premium) are billed per key version per month:
            // override `version_month` for such vaults.
            //
            // UNCONFIRMED: Azure's pricing page could not be read when these were last checked
            // (2026-12-07). Other sources agree on every figure above without being the page:
            // the meters "Operations" ($0.03 per 10K) and "Advanced Key Operations" ($0.15 per
            // 10K) as priced by Azure's retail price list in infracost's key_vault_key test
            // output, which also shows Premium "HSM-protected RSA 2048-bit key" at $1 per key
            // per month and other HSM keys at $5 / $2.50 / $0.90 / $0.40 per key per month
            // (first 250 / next 1,250 / next 2,500 / beyond 4,000 keys); a Microsoft Q&A answer
            // quoting ~$0.03 per 10,000 for Standard. Check the page before relying on them.
            azure: Prices {
                key_month: 0.0,
                version_month: 0.0,
                included_versions: 0,
                max_billed_versions: None,
                symmetric_per_10k: 0.03,
                rsa_2048_per_10k: 0.03,
                asymmetric_per_10k: 0.15,
                random_per_10k: 0.03,
                management_per_10k: 0.03,
                source: "https://azure.microsoft.com/pricing/details/key-vault/".into(),
                date: "2026-12-07".into(),
            },
            local: Prices {
                key_month: 0.0,
                version_month: 0.0,
                included_versions: 0,
                max_billed_versions: None,
                symmetric_per_10k: 0.0,
                rsa_2048_per_10k: 0.0,
                asymmetric_per_10k: 0.0,
                random_per_10k: 0.0,
                management_per_10k: 0.0,
                source: "keygate: the local provider costs nothing to call".into(),
                date: "2026-12-07".into(),
            },
        }
    }
}

impl PriceList {
    /// The built-in defaults with `config`'s overrides applied.
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] for a negative or non-finite price.
    pub fn from_config(config: &PricingConfig) -> crate::Result<Self> {
        let mut list = Self::default();
        list.aws.apply("aws", &config.aws)?;
        list.gcp.apply("gcp", &config.gcp)?;
        list.azure.apply("azure", &config.azure)?;
        list.local.apply("local", &config.local)?;
        Ok(list)
    }

    /// The prices of `kind`.
    pub fn of(&self, kind: ProviderKind) -> &Prices {
        match kind {
            ProviderKind::Aws => &self.aws,
            ProviderKind::Gcp => &self.gcp,
            ProviderKind::Azure => &self.azure,
            _ => &self.local,
        }
    }
}

impl Prices {
    fn apply(&mut self, name: &str, o: &PriceOverride) -> crate::Result<()> {
        let money = [
            (&mut self.key_month, o.key_month, "key_month"),
            (&mut self.version_month, o.version_month, "version_month"),
            (
                &mut self.symmetric_per_10k,
                o.symmetric_per_10k,
                "symmetric_per_10k",
            ),
            (
                &mut self.rsa_2048_per_10k,
                o.rsa_2048_per_10k,
                "rsa_2048_per_10k",
            ),
            (
                &mut self.asymmetric_per_10k,
                o.asymmetric_per_10k,
                "asymmetric_per_10k",
            ),
            (&mut self.random_per_10k, o.random_per_10k, "random_per_10k"),
            (
                &mut self.management_per_10k,
                o.management_per_10k,
                "management_per_10k",
            ),
        ];
        for (field, value, what) in money {
            if let Some(v) = value {
                if !v.is_finite() || v < 0.0 {
                    return Err(crate::Error::invalid(format!(
                        "pricing.{name}.{what} must be a price of zero or more, not {v}"
                    )));
                }
                *field = v;
            }
        }
        if let Some(v) = o.included_versions {
            self.included_versions = v;
        }
        if o.max_billed_versions.is_some() {
            self.max_billed_versions = o.max_billed_versions;
        }
        let overridden = *o != PriceOverride::default();
        match (&o.source, overridden) {
            (Some(s), _) => self.source = s.clone(),
            (None, true) => self.source = "keygate.toml [pricing]".into(),
            (None, false) => {}
        }
        if let Some(d) = &o.date {
            self.date = d.clone();
        }
        Ok(())
    }
}

/// Whole micro-dollars (millionths of a dollar) for a price in dollars.
pub(super) fn micros(dollars: f64) -> u64 {
    // Prices are validated finite and non-negative; `as` saturates anything huge.
    (dollars * 1_000_000.0).round() as u64
}
