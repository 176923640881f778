//! The key model: specs, usages, states, versions, rotation schedules and metadata.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};

/// Labels (tags) on a key: a sorted string map.
pub type Labels = BTreeMap<String, String>;

/// The algorithm family and size of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum KeySpec {
    /// AES-256 (symmetric encryption, AES-256-GCM).
    #[serde(rename = "AES_256")]
    Aes256,
    /// RSA 2048-bit.
    #[serde(rename = "RSA_2048")]
    Rsa2048,
    /// RSA 3072-bit.
    #[serde(rename = "RSA_3072")]
    Rsa3072,
    /// RSA 4096-bit.
    #[serde(rename = "RSA_4096")]
    Rsa4096,
    /// ECDSA on NIST P-256.
    #[serde(rename = "EC_P256")]
    EcP256,
    /// ECDSA on NIST P-384.
    #[serde(rename = "EC_P384")]
    EcP384,
    /// ECDSA on NIST P-521 (AWS `ECC_NIST_P521`).
    #[serde(rename = "EC_P521")]
    EcP521,
    /// ECDSA on SECG secp256k1 (AWS `ECC_SECG_P256K1`, Key Vault `P-256K`).
    #[serde(rename = "EC_SECP256K1")]
    EcSecp256k1,
    /// HMAC with SHA-256.
    #[serde(rename = "HMAC_SHA256")]
    HmacSha256,
    /// HMAC with SHA-384.
    #[serde(rename = "HMAC_SHA384")]
    HmacSha384,
    /// HMAC with SHA-512.
    #[serde(rename = "HMAC_SHA512")]
    HmacSha512,
}

impl KeySpec {
    /// Every spec keygate knows, in display order.
    pub const ALL: [KeySpec; 11] = [
        KeySpec::Aes256,
        KeySpec::Rsa2048,
        KeySpec::Rsa3072,
        KeySpec::Rsa4096,
        KeySpec::EcP256,
        KeySpec::EcP384,
        KeySpec::EcP521,
        KeySpec::EcSecp256k1,
        KeySpec::HmacSha256,
        KeySpec::HmacSha384,
        KeySpec::HmacSha512,
    ];

    /// The canonical name (`AES_256`, `RSA_2048`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aes256 => "AES_256",
            Self::Rsa2048 => "RSA_2048",
            Self::Rsa3072 => "RSA_3072",
            Self::Rsa4096 => "RSA_4096",
            Self::EcP256 => "EC_P256",
            Self::EcP384 => "EC_P384",
            Self::EcP521 => "EC_P521",
            Self::EcSecp256k1 => "EC_SECP256K1",
            Self::HmacSha256 => "HMAC_SHA256",
            Self::HmacSha384 => "HMAC_SHA384",
            Self::HmacSha512 => "HMAC_SHA512",
        }
    }

    /// True for RSA specs.
    pub fn is_rsa(self) -> bool {
        matches!(self, Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096)
    }

    /// True for elliptic-curve specs.
    pub fn is_ec(self) -> bool {
        matches!(
            self,
            Self::EcP256 | Self::EcP384 | Self::EcP521 | Self::EcSecp256k1
        )
    }

    /// True for HMAC specs.
    pub fn is_hmac(self) -> bool {
        matches!(self, Self::HmacSha256 | Self::HmacSha384 | Self::HmacSha512)
    }

    /// True for keys that have a public half (RSA and EC).
    pub fn is_asymmetric(self) -> bool {
        self.is_rsa() || self.is_ec()
    }

    /// The usages this spec may be created with; the first is the default.
    pub fn usages(self) -> &'static [KeyUsage] {
        match self {
            Self::Aes256 => &[KeyUsage::Encrypt],
            Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096 => &[KeyUsage::Encrypt, KeyUsage::Sign],
            Self::EcP256 | Self::EcP384 | Self::EcP521 | Self::EcSecp256k1 => &[KeyUsage::Sign],
            Self::HmacSha256 | Self::HmacSha384 | Self::HmacSha512 => &[KeyUsage::Mac],
        }
    }

    /// The usage a key of this spec gets when none is asked for.
    pub fn default_usage(self) -> KeyUsage {
        self.usages()[0]
    }

    /// The signing algorithms a signing key of this spec supports. The first is the one a
    /// provider that binds one algorithm to each key (Cloud KMS) gives it.
    pub fn signing_algorithms(self) -> &'static [SigningAlgorithm] {
        match self {
            Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096 => &[
                SigningAlgorithm::RsaPssSha256,
                SigningAlgorithm::RsaPkcs1Sha256,
                SigningAlgorithm::RsaPssSha384,
                SigningAlgorithm::RsaPssSha512,
                SigningAlgorithm::RsaPkcs1Sha384,
                SigningAlgorithm::RsaPkcs1Sha512,
            ],
            Self::EcP256 | Self::EcSecp256k1 => &[SigningAlgorithm::EcdsaSha256],
            Self::EcP384 => &[SigningAlgorithm::EcdsaSha384],
            Self::EcP521 => &[SigningAlgorithm::EcdsaSha512],
            _ => &[],
        }
    }

    /// The MAC algorithm of an HMAC spec.
    pub fn mac_algorithm(self) -> Option<MacAlgorithm> {
        match self {
            Self::HmacSha256 => Some(MacAlgorithm::HmacSha256),
            Self::HmacSha384 => Some(MacAlgorithm::HmacSha384),
            Self::HmacSha512 => Some(MacAlgorithm::HmacSha512),
            _ => None,
        }
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeySpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let norm = s.trim().to_ascii_uppercase().replace('-', "_");
        KeySpec::ALL
            .into_iter()
            .find(|spec| spec.as_str() == norm)
            .ok_or_else(|| {
                let names: Vec<_> = KeySpec::ALL.iter().map(|s| s.as_str()).collect();
                Error::invalid(format!(
                    "unknown key spec `{s}` (expected one of {})",
                    names.join(", ")
                ))
            })
    }
}

/// What a key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeyUsage {
    /// Encrypt and decrypt (and generate data keys, for symmetric keys).
    Encrypt,
    /// Sign and verify.
    Sign,
    /// Generate and verify MACs.
    Mac,
}

impl KeyUsage {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Encrypt => "encrypt",
            Self::Sign => "sign",
            Self::Mac => "mac",
        }
    }
}

impl fmt::Display for KeyUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyUsage {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "encrypt" | "encrypt_decrypt" | "encrypt-decrypt" => Ok(Self::Encrypt),
            "sign" | "sign_verify" | "sign-verify" => Ok(Self::Sign),
            "mac" | "generate_verify_mac" => Ok(Self::Mac),
            _ => Err(Error::invalid(format!(
                "unknown key usage `{s}` (expected encrypt, sign or mac)"
            ))),
        }
    }
}

/// Signing algorithms keygate exposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum SigningAlgorithm {
    /// RSASSA-PSS with SHA-256 and a 32-byte salt.
    #[serde(rename = "RSA_PSS_SHA256")]
    RsaPssSha256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    #[serde(rename = "RSA_PKCS1_SHA256")]
    RsaPkcs1Sha256,
    /// ECDSA with SHA-256 (P-256 or secp256k1), DER-encoded signature.
    #[serde(rename = "ECDSA_SHA256")]
    EcdsaSha256,
    /// ECDSA with SHA-384 (P-384), DER-encoded signature.
    #[serde(rename = "ECDSA_SHA384")]
    EcdsaSha384,
    /// RSASSA-PSS with SHA-384 and a 48-byte salt.
    #[serde(rename = "RSA_PSS_SHA384")]
    RsaPssSha384,
    /// RSASSA-PSS with SHA-512 and a 64-byte salt.
    #[serde(rename = "RSA_PSS_SHA512")]
    RsaPssSha512,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    #[serde(rename = "RSA_PKCS1_SHA384")]
    RsaPkcs1Sha384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    #[serde(rename = "RSA_PKCS1_SHA512")]
    RsaPkcs1Sha512,
    /// ECDSA with SHA-512 (P-521), DER-encoded signature.
    #[serde(rename = "ECDSA_SHA512")]
    EcdsaSha512,
}

impl SigningAlgorithm {
    /// Every signing algorithm.
    pub const ALL: [SigningAlgorithm; 9] = [
        Self::RsaPssSha256,
        Self::RsaPkcs1Sha256,
        Self::RsaPssSha384,
        Self::RsaPssSha512,
        Self::RsaPkcs1Sha384,
        Self::RsaPkcs1Sha512,
        Self::EcdsaSha256,
        Self::EcdsaSha384,
        Self::EcdsaSha512,
    ];

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RsaPssSha256 => "RSA_PSS_SHA256",
            Self::RsaPkcs1Sha256 => "RSA_PKCS1_SHA256",
            Self::RsaPssSha384 => "RSA_PSS_SHA384",
            Self::RsaPssSha512 => "RSA_PSS_SHA512",
            Self::RsaPkcs1Sha384 => "RSA_PKCS1_SHA384",
            Self::RsaPkcs1Sha512 => "RSA_PKCS1_SHA512",
            Self::EcdsaSha256 => "ECDSA_SHA256",
            Self::EcdsaSha384 => "ECDSA_SHA384",
            Self::EcdsaSha512 => "ECDSA_SHA512",
        }
    }

    /// The length in bytes of the digest this algorithm signs (32, 48 or 64): SHA-256,
    /// SHA-384 or SHA-512. RSASSA-PSS uses a salt of the same length.
    pub fn digest_len(self) -> usize {
        match self {
            Self::RsaPssSha256 | Self::RsaPkcs1Sha256 | Self::EcdsaSha256 => 32,
            Self::RsaPssSha384 | Self::RsaPkcs1Sha384 | Self::EcdsaSha384 => 48,
            Self::RsaPssSha512 | Self::RsaPkcs1Sha512 | Self::EcdsaSha512 => 64,
        }
    }

    /// True for the RSA algorithms (PSS and PKCS#1 v1.5).
    pub fn is_rsa(self) -> bool {
        self.is_pss() || self.is_pkcs1()
    }

    /// True for RSASSA-PSS.
    pub fn is_pss(self) -> bool {
        matches!(
            self,
            Self::RsaPssSha256 | Self::RsaPssSha384 | Self::RsaPssSha512
        )
    }

    /// True for RSASSA-PKCS1-v1_5.
    pub fn is_pkcs1(self) -> bool {
        matches!(
            self,
            Self::RsaPkcs1Sha256 | Self::RsaPkcs1Sha384 | Self::RsaPkcs1Sha512
        )
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SigningAlgorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let norm = s.trim().to_ascii_uppercase().replace('-', "_");
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == norm)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|a| a.as_str()).collect();
                Error::invalid(format!(
                    "unknown signing algorithm `{s}` (expected one of {})",
                    names.join(", ")
                ))
            })
    }
}

/// MAC algorithms keygate exposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum MacAlgorithm {
    /// HMAC-SHA-256.
    #[serde(rename = "HMAC_SHA256")]
    HmacSha256,
    /// HMAC-SHA-384.
    #[serde(rename = "HMAC_SHA384")]
    HmacSha384,
    /// HMAC-SHA-512.
    #[serde(rename = "HMAC_SHA512")]
    HmacSha512,
}

impl MacAlgorithm {
    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HmacSha256 => "HMAC_SHA256",
            Self::HmacSha384 => "HMAC_SHA384",
            Self::HmacSha512 => "HMAC_SHA512",
        }
    }
}

impl fmt::Display for MacAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The lifecycle state of a key.
///
/// Serialized flat inside [`KeyMetadata`]: `"state": "pending_deletion", "deletion_date": ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeyState {
    /// Usable.
    Enabled,
    /// Refuses cryptographic use until enabled again.
    Disabled,
    /// Refuses use; will be destroyed at `deletion_date` unless cancelled.
    PendingDeletion {
        /// When the key material is destroyed.
        #[serde(with = "time::serde::rfc3339")]
        deletion_date: OffsetDateTime,
    },
    /// Key material is gone; only metadata remains.
    Destroyed,
    /// A key of imported material ([`KeyOrigin::External`](crate::import::KeyOrigin)) that
    /// has none: never imported yet, deleted, or expired. It refuses every cryptographic use
    /// until its material is imported (AWS KMS's `PendingImport`).
    PendingImport,
}

impl KeyState {
    /// The snake_case name of the state, without the date.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
            Self::PendingDeletion { .. } => "pending_deletion",
            Self::Destroyed => "destroyed",
            Self::PendingImport => "pending_import",
        }
    }

    /// True when the key may be used for cryptographic operations.
    pub fn is_usable(&self) -> bool {
        matches!(self, Self::Enabled)
    }
}

impl fmt::Display for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub use crate::version::{KeyVersion, RotationKind, VersionState, version_not_usable};

/// An automatic rotation schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationSchedule {
    /// Days between rotations.
    pub period_days: u32,
    /// When the next rotation is due. When setting a schedule, `None` means "one period from
    /// now"; providers always report it.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_rotation: Option<OffsetDateTime>,
}

impl RotationSchedule {
    /// A schedule every `period_days`, first rotation one period from now.
    pub fn every(period_days: u32) -> Self {
        Self {
            period_days,
            next_rotation: None,
        }
    }
}

/// Everything keygate knows about a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyMetadata {
    /// The key's URI (`local://demo`, `aws-kms://us-east-1/<id>`, ...).
    pub uri: String,
    /// The registered provider name that holds the key.
    pub provider: String,
    /// Provider-native key id.
    pub id: String,
    /// Human name: the local/Azure/GCP key name, or an AWS key's alias (else its id).
    pub name: String,
    /// Algorithm family and size, fixed when the key was created.
    pub spec: KeySpec,
    /// What the key may do (encrypt, sign or MAC), fixed when the key was created.
    pub usage: KeyUsage,
    /// Lifecycle state (flattened: `state` and, when pending deletion, `deletion_date`).
    #[serde(flatten)]
    pub state: KeyState,
    /// The primary version's id.
    pub primary_version: Option<String>,
    /// Automatic rotation, when on.
    pub rotation: Option<RotationSchedule>,
    /// Labels (tags): key-value pairs that access-policy key patterns can match.
    pub labels: Labels,
    /// Free-text description.
    pub description: String,
    /// When the key was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// For a key of imported material (origin `external`): when its material expires.
    /// `None` for a key whose provider made its material.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<crate::import::ImportInfo>,
}

impl KeyMetadata {
    /// Where the key's material came from.
    pub fn origin(&self) -> crate::import::KeyOrigin {
        if self.import.is_some() {
            crate::import::KeyOrigin::External
        } else {
            crate::import::KeyOrigin::Generated
        }
    }

    /// The key's reference (provider + id).
    pub fn key_ref(&self) -> KeyRef {
        KeyRef::new(self.provider.clone(), self.id.clone())
    }
}

/// A request to create a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateKeyRequest {
    /// The key's name; providers that name keys (local, Azure, GCP) use it as the id, AWS
    /// creates an alias `alias/<name>`.
    pub name: String,
    /// Algorithm family and size: one of the provider's
    /// [`Capabilities::key_specs`](crate::Capabilities::key_specs), else the call is `Unsupported`.
    pub spec: KeySpec,
    /// Usage; `None` takes the spec's default.
    #[serde(default)]
    pub usage: Option<KeyUsage>,
    /// Free-text description (empty: none).
    #[serde(default)]
    pub description: String,
    /// Labels to set from the start; `keys:create` is already checked against them.
    #[serde(default)]
    pub labels: Labels,
    /// Rotation schedule to start with.
    #[serde(default)]
    pub rotation: Option<RotationSchedule>,
    /// Where the material comes from: made by the provider (the default), or imported later
    /// (the key starts [`KeyState::PendingImport`]; see [`crate::import`]).
    #[serde(default)]
    pub origin: crate::import::KeyOrigin,
}

impl CreateKeyRequest {
    /// A request for `name` with `spec` and everything else defaulted.
    pub fn new(name: impl Into<String>, spec: KeySpec) -> Self {
        Self {
            name: name.into(),
            spec,
            usage: None,
            description: String::new(),
            labels: Labels::new(),
            rotation: None,
            origin: crate::import::KeyOrigin::Generated,
        }
    }

    /// The usage to create with, checked against the spec.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the spec does not allow the usage.
    pub fn effective_usage(&self) -> Result<KeyUsage> {
        let usage = self.usage.unwrap_or_else(|| self.spec.default_usage());
        if self.spec.usages().contains(&usage) {
            Ok(usage)
        } else {
            Err(Error::invalid(format!(
                "a {} key cannot be used to {usage}",
                self.spec
            )))
        }
    }
}

/// A change to a key's description and labels; `None` fields are left alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyUpdate {
    /// New description.
    #[serde(default)]
    pub description: Option<String>,
    /// Labels to add or overwrite.
    #[serde(default)]
    pub set_labels: Labels,
    /// Label keys to remove.
    #[serde(default)]
    pub remove_labels: Vec<String>,
}

/// A provider name plus a provider-native key id: everything needed to route a call.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyRef {
    /// Registered provider name.
    pub provider: String,
    /// Provider-native id.
    pub id: String,
}

impl KeyRef {
    /// The key `id` of the provider registered as `provider`.
    pub fn new(provider: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            provider: provider.into(),
            id: id.into(),
        }
    }
}

impl fmt::Display for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.provider, self.id)
    }
}

/// The kinds of backend keygate speaks to; each has a URI scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProviderKind {
    /// The embedded local provider.
    Local,
    /// AWS KMS.
    Aws,
    /// Azure Key Vault.
    Azure,
    /// GCP Cloud KMS.
    Gcp,
}

impl ProviderKind {
    /// The URI scheme of keys held by this kind of provider.
    pub fn scheme(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Aws => "aws-kms",
            Self::Azure => "azure-kv",
            Self::Gcp => "gcp-kms",
        }
    }

    /// The kind whose scheme is `scheme`.
    pub fn from_scheme(scheme: &str) -> Option<Self> {
        [Self::Local, Self::Aws, Self::Azure, Self::Gcp]
            .into_iter()
            .find(|k| k.scheme() == scheme)
    }

    /// The snake_case name (`local`, `aws`, `azure`, `gcp`), as a provider section's `kind`
    /// spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Aws => "aws",
            Self::Azure => "azure",
            Self::Gcp => "gcp",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key as a caller names it: a URI, a cross-provider alias or a plain name. Every way in
/// parses what it was given into one of these once, at its edge (a CLI argument, a REST path,
/// a dialect's key id), and every [`Gateway`](crate::api::Gateway) call takes it; the service
/// resolves it to a provider and a key once per call and says what it found.
///
/// Its text form (`Display`, `FromStr`, serde) is what a user types, and parses back to the
/// same locator.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyLocator {
    /// `local://demo`, `aws-kms://us-east-1/1234...`, `azure-kv://vault/name`,
    /// `gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k`: the provider whose URI
    /// prefix it starts with holds it.
    Uri(String),
    /// `alias/<name>`: a cross-provider alias kept by the gateway.
    Alias(String),
    /// A key name, looked up across providers.
    Name(String),
}

impl KeyLocator {
    /// Parses a user-supplied key reference.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty string, an unknown URI scheme, a URI that names
    /// no key or an invalid alias name.
    pub fn parse(input: &str) -> Result<Self> {
        let s = input.trim();
        if s.is_empty() {
            return Err(Error::invalid("a key reference cannot be empty"));
        }
        if let Some((scheme, rest)) = s.split_once("://") {
            if ProviderKind::from_scheme(scheme).is_none() {
                return Err(Error::invalid(format!(
                    "unknown key URI scheme `{scheme}://` (expected local://, aws-kms://, azure-kv:// or gcp-kms://)"
                )));
            }
            if rest.is_empty() {
                return Err(Error::invalid(format!("key URI `{s}` names no key")));
            }
            return Ok(Self::Uri(s.to_owned()));
        }
        if let Some(alias) = s.strip_prefix("alias/") {
            validate_alias_name(alias)?;
            return Ok(Self::Alias(alias.to_owned()));
        }
        Ok(Self::Name(s.to_owned()))
    }

    /// The key a listing or a describe returned, by its URI (no lookup by name).
    pub fn of(key: &KeyMetadata) -> Self {
        Self::Uri(key.uri.clone())
    }

    /// The provider kind a URI's scheme names; `None` for aliases and names.
    pub fn kind(&self) -> Option<ProviderKind> {
        match self {
            Self::Uri(uri) => uri
                .split_once("://")
                .and_then(|(scheme, _)| ProviderKind::from_scheme(scheme)),
            Self::Alias(_) | Self::Name(_) => None,
        }
    }
}

impl From<&KeyMetadata> for KeyLocator {
    fn from(key: &KeyMetadata) -> Self {
        Self::of(key)
    }
}

impl FromStr for KeyLocator {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl fmt::Display for KeyLocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Uri(uri) => f.write_str(uri),
            Self::Alias(a) => write!(f, "alias/{a}"),
            Self::Name(n) => f.write_str(n),
        }
    }
}

impl Serialize for KeyLocator {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KeyLocator {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Checks a key or alias name: 1–128 characters of `A-Z a-z 0-9 - _ .`, starting with a letter
/// or digit.
///
/// # Errors
/// [`Error::InvalidArgument`] naming what is wrong.
pub fn validate_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 128 {
        return Err(Error::invalid(format!(
            "{what} name must be 1 to 128 characters long"
        )));
    }
    if !name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return Err(Error::invalid(format!(
            "{what} name `{name}` must start with a letter or digit"
        )));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(Error::invalid(format!(
            "{what} name `{name}` contains `{bad}`; use letters, digits, `-`, `_` and `.`"
        )));
    }
    Ok(())
}

/// Checks an alias name (what follows `alias/`): 1 to 250 characters (AWS KMS's 256 less
/// `alias/`) of letters, digits, `-`, `_`, `.` and `/`, not starting with `/` or `.`.
/// Key names do not take `/`; aliases do, because AWS KMS's alias names may
/// (`alias/team/app`); AWS's own pattern (`^alias/[a-zA-Z0-9/_-]+$`, no `.`) is the AWS
/// door's stricter rule on aliases it creates.
///
/// # Errors
/// [`Error::InvalidArgument`] naming the rule broken.
pub fn validate_alias_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 250 {
        return Err(Error::invalid(
            "alias name must be 1 to 250 characters long",
        ));
    }
    if name.starts_with(['/', '.']) {
        return Err(Error::invalid(format!(
            "alias name `{name}` must start with a letter, a digit, `-` or `_`"
        )));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')))
    {
        return Err(Error::invalid(format!(
            "alias name `{name}` contains `{bad}`; use letters, digits, `-`, `_`, `.` and `/`"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_names_take_slashes_key_names_do_not() {
        validate_alias_name("team/app.v1").unwrap();
        validate_alias_name("_internal").unwrap();
        assert!(validate_name("key", "team/app").is_err());
        for bad in ["", "/lead", ".x", "a b", "a:b", &"x".repeat(251)] {
            assert!(validate_alias_name(bad).is_err(), "{bad}");
        }
        assert_eq!(
            KeyLocator::parse("alias/team/app").unwrap(),
            KeyLocator::Alias("team/app".into())
        );
    }

    #[test]
    fn spec_names_roundtrip() {
        for spec in KeySpec::ALL {
            assert_eq!(spec.as_str().parse::<KeySpec>().unwrap(), spec);
            let json = serde_json::to_string(&spec).unwrap();
            assert_eq!(json, format!("\"{}\"", spec.as_str()));
        }
        assert_eq!("aes-256".parse::<KeySpec>().unwrap(), KeySpec::Aes256);
        assert!("AES_128".parse::<KeySpec>().is_err());
        assert_eq!(
            "ec-secp256k1".parse::<KeySpec>().unwrap(),
            KeySpec::EcSecp256k1
        );
    }

    #[test]
    fn signing_algorithms_roundtrip_and_fit_their_specs() {
        for alg in SigningAlgorithm::ALL {
            assert_eq!(alg.as_str().parse::<SigningAlgorithm>().unwrap(), alg);
            let json = serde_json::to_string(&alg).unwrap();
            assert_eq!(json, format!("\"{}\"", alg.as_str()));
            let specs: Vec<_> = KeySpec::ALL
                .into_iter()
                .filter(|s| s.signing_algorithms().contains(&alg))
                .collect();
            assert!(!specs.is_empty(), "{alg} fits no spec");
            assert!(specs.iter().all(|s| s.is_rsa() == alg.is_rsa()), "{alg}");
        }
        assert_eq!(SigningAlgorithm::RsaPssSha384.digest_len(), 48);
        assert_eq!(SigningAlgorithm::EcdsaSha512.digest_len(), 64);
        assert_eq!(
            KeySpec::EcP521.signing_algorithms(),
            [SigningAlgorithm::EcdsaSha512]
        );
        assert_eq!(
            KeySpec::Rsa2048.signing_algorithms()[0],
            SigningAlgorithm::RsaPssSha256
        );
        let err = "RSA_PSS_SHA1".parse::<SigningAlgorithm>().unwrap_err();
        assert!(err.to_string().contains("ECDSA_SHA512"), "{err}");
    }

    #[test]
    fn usage_is_checked_against_spec() {
        let mut req = CreateKeyRequest::new("k", KeySpec::EcP256);
        assert_eq!(req.effective_usage().unwrap(), KeyUsage::Sign);
        req.usage = Some(KeyUsage::Encrypt);
        assert_eq!(
            req.effective_usage().unwrap_err().kind(),
            crate::ErrorKind::InvalidArgument
        );
        let rsa = CreateKeyRequest {
            usage: Some(KeyUsage::Sign),
            ..CreateKeyRequest::new("r", KeySpec::Rsa2048)
        };
        assert_eq!(rsa.effective_usage().unwrap(), KeyUsage::Sign);
    }

    #[test]
    fn locators_parse() {
        assert_eq!(
            KeyLocator::parse("local://demo").unwrap(),
            KeyLocator::Uri("local://demo".into())
        );
        assert_eq!(
            KeyLocator::parse("local://demo").unwrap().kind(),
            Some(ProviderKind::Local)
        );
        assert_eq!(
            KeyLocator::parse("alias/payments").unwrap().to_string(),
            "alias/payments"
        );
        assert_eq!(
            serde_json::from_str::<KeyLocator>("\"alias/payments\"").unwrap(),
            KeyLocator::Alias("payments".into())
        );
        assert!(serde_json::from_str::<KeyLocator>("\"s3://x\"").is_err());
        assert_eq!(
            serde_json::to_string(&KeyLocator::Name("demo".into())).unwrap(),
            "\"demo\""
        );
        assert_eq!(
            KeyLocator::parse("alias/payments").unwrap(),
            KeyLocator::Alias("payments".into())
        );
        assert_eq!(
            KeyLocator::parse("demo").unwrap(),
            KeyLocator::Name("demo".into())
        );
        assert!(KeyLocator::parse("s3://x").is_err());
        assert!(KeyLocator::parse("local://").is_err());
        assert!(KeyLocator::parse("alias/").is_err());
        assert!(KeyLocator::parse("  ").is_err());
    }

    #[test]
    fn names_are_validated() {
        assert!(validate_name("key", "pay-2024_v1.a").is_ok());
        assert!(validate_name("key", "-x").is_err());
        assert!(validate_name("key", "a b").is_err());
        assert!(validate_name("key", &"a".repeat(129)).is_err());
    }

    #[test]
    fn state_serializes_flat() {
        let meta = KeyMetadata {
            uri: "local://k".into(),
            provider: "local".into(),
            id: "k".into(),
            name: "k".into(),
            spec: KeySpec::Aes256,
            usage: KeyUsage::Encrypt,
            state: KeyState::PendingDeletion {
                deletion_date: time::macros::datetime!(2030-01-02 03:04:05 UTC),
            },
            primary_version: Some("1".into()),
            rotation: None,
            labels: Labels::new(),
            description: String::new(),
            created: time::macros::datetime!(2030-01-01 00:00:00 UTC),
            import: None,
        };
        let v = serde_json::to_value(&meta).unwrap();
        assert_eq!(v["state"], "pending_deletion");
        assert_eq!(v["deletion_date"], "2030-01-02T03:04:05Z");
        let back: KeyMetadata = serde_json::from_value(v).unwrap();
        assert_eq!(back, meta);
    }
}
