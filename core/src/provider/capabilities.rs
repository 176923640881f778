//! [`Capabilities`]: what a provider declares it can do, and how it is built.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::crypto::{DataKeySpec, EncryptionAlgorithm};
use crate::key::{KeySpec, SigningAlgorithm};
use crate::policy::Binding;

/// Inclusive bounds, in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRange {
    /// Smallest allowed value.
    pub min: u32,
    /// Largest allowed value.
    pub max: u32,
}

impl DayRange {
    /// A range from `min` to `max` days.
    pub const fn new(min: u32, max: u32) -> Self {
        Self { min, max }
    }

    /// True when `days` lies within the bounds.
    pub fn contains(&self, days: u32) -> bool {
        (self.min..=self.max).contains(&days)
    }
}

impl fmt::Display for DayRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{} days", self.min, self.max)
    }
}

/// Where signature verification happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyMode {
    /// The provider verifies (AWS Verify, local).
    Remote,
    /// keygate verifies locally with the exported public key (GCP has no verify call).
    Local,
}

/// What a provider can do. Callers and the conformance suite branch on these flags, never on
/// provider names.
///
/// Non-exhaustive: a new capability is not a breaking change. Build one with
/// [`Capabilities::builder`], which starts from a provider that supports nothing; read the
/// fields directly, or adjust a provider's declared capabilities field by field (an emulator's
/// known gaps, in tests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// Specs `create_key` accepts.
    pub key_specs: Vec<KeySpec>,
    /// Specs whose RSA keys may be created for encryption (`usage: encrypt`).
    pub rsa_encryption: bool,
    /// Bounds for `schedule_deletion`'s waiting period.
    pub deletion_window: DayRange,
    /// Bounds for automatic rotation periods; `None` when automatic rotation is unsupported.
    pub rotation_period: Option<DayRange>,
    /// Specs `rotate_key` works on, reporting a new version distinct from the old primary.
    pub rotatable_specs: Vec<KeySpec>,
    /// Specs that may carry an automatic rotation schedule.
    pub scheduled_rotation_specs: Vec<KeySpec>,
    /// `list_versions` is available.
    pub list_versions: bool,
    /// Asymmetric (RSA-OAEP) encryption binds the encryption context too.
    pub asymmetric_context: bool,
    /// Largest plaintext `encrypt` accepts for a symmetric key, in bytes.
    pub max_plaintext_bytes: usize,
    /// Data key sizes `generate_data_key` returns as asked; others are [`Error::Unsupported`].
    ///
    /// [`Error::Unsupported`]: crate::Error::Unsupported
    pub data_key_specs: Vec<DataKeySpec>,
    /// `generate_data_key` also takes any [`DataKeySpec::Bytes`] size from 1 to
    /// [`DataKeySpec::MAX_BYTES`]. False (the default, also when a serialized value lacks the
    /// field) when only `data_key_specs` are honoured.
    #[serde(default)]
    pub data_key_bytes: bool,
    /// `decrypt` works without being told the key (the ciphertext names it).
    pub self_describing_ciphertext: bool,
    /// Where signatures are verified.
    pub verify: VerifyMode,
    /// [`KeyProvider::sign`](crate::KeyProvider::sign) and [`KeyProvider::verify`](crate::KeyProvider::verify) take a [`SignInput::Digest`](crate::SignInput::Digest), with
    /// signatures of the message form: one over a message's digest verifies over the
    /// message, and the other way round. False (the default, also when a serialized value
    /// lacks the field) when a digest is [`Error::Unsupported`](crate::Error::Unsupported).
    #[serde(default)]
    pub digest_signing: bool,
    /// An RSA signing key signs with one algorithm only: the first of its spec's
    /// [`KeySpec::signing_algorithms`] (`RSA_PSS_SHA256`), fixed when the key is made (Cloud
    /// KMS binds one algorithm to each asymmetric key). Signing, or verifying, with the other
    /// RSA algorithm is [`Error::InvalidArgument`](crate::Error::InvalidArgument). False (the
    /// default, also when a serialized value lacks the field) when every algorithm of the spec
    /// works on every key.
    #[serde(default)]
    pub one_signing_algorithm_per_key: bool,
    /// Per-key access policies can be read and written.
    pub key_policy: bool,
    /// The native policy format name, when the provider has one.
    pub native_policy_format: Option<String>,
    /// Labels can be set on keys.
    pub labels: bool,
    /// Largest `page_size` honoured by `list_keys`.
    pub max_page_size: u32,
    /// Bindings this provider stores and reads back unchanged, for the conformance suite's
    /// policy roundtrip (which sets all of them, then only the last one). Principals are
    /// provider-specific (an IAM ARN, a `user:` member...), so each provider names its own;
    /// empty when it has none to offer (the roundtrip is then skipped).
    pub policy_sample: Vec<Binding>,
    /// Versions have their own state: `enable_version` and `disable_version` work, and an
    /// operation may name any enabled version (sign, MAC, decrypt, public key). False (the
    /// default, also when a serialized value lacks the field) when only the primary version
    /// can be named and the version operations are [`Error::Unsupported`].
    ///
    /// [`Error::Unsupported`]: crate::Error::Unsupported
    #[serde(default)]
    pub version_state: bool,
    /// One version can be scheduled for destruction and restored (`destroy_version`,
    /// `restore_version`).
    #[serde(default)]
    pub version_destruction: bool,
    /// The primary version can be set to any enabled version (`set_primary_version`).
    #[serde(default)]
    pub primary_selection: bool,
    /// The RSA algorithms [`KeyProvider::encrypt_raw`](crate::KeyProvider::encrypt_raw) and
    /// [`KeyProvider::decrypt_raw`](crate::KeyProvider::decrypt_raw) take on an RSA
    /// encryption key; empty (the default, also when a serialized value lacks the field)
    /// when they are [`Error::Unsupported`](crate::Error::Unsupported).
    #[serde(default)]
    pub raw_encryption: Vec<EncryptionAlgorithm>,
    /// [`KeyProvider::get_expiry`](crate::KeyProvider::get_expiry) and
    /// [`KeyProvider::set_expiry`](crate::KeyProvider::set_expiry) keep an expiry policy;
    /// false (the default, also when a serialized value lacks the field) when they are
    /// [`Error::Unsupported`](crate::Error::Unsupported).
    #[serde(default)]
    pub expiry_policy: bool,
    /// Keys of origin `external` can be created and take imported material
    /// ([`KeyProvider::import_parameters`](crate::KeyProvider::import_parameters) and the
    /// rest); false (the default, also when a serialized value lacks the field) when they are
    /// [`Error::Unsupported`](crate::Error::Unsupported).
    #[serde(default)]
    pub import_material: bool,
}

impl Capabilities {
    /// A builder over a provider that supports nothing: no specs, no deletion window beyond
    /// one day, no rotation, remote verification, no policies, no labels, pages of one key.
    pub fn builder() -> CapabilitiesBuilder {
        CapabilitiesBuilder(Self {
            key_specs: Vec::new(),
            rsa_encryption: false,
            deletion_window: DayRange::new(1, 1),
            rotation_period: None,
            rotatable_specs: Vec::new(),
            scheduled_rotation_specs: Vec::new(),
            list_versions: false,
            asymmetric_context: false,
            max_plaintext_bytes: 0,
            data_key_specs: Vec::new(),
            data_key_bytes: false,
            self_describing_ciphertext: false,
            verify: VerifyMode::Remote,
            digest_signing: false,
            one_signing_algorithm_per_key: false,
            key_policy: false,
            native_policy_format: None,
            labels: false,
            max_page_size: 1,
            policy_sample: Vec::new(),
            version_state: false,
            version_destruction: false,
            primary_selection: false,
            raw_encryption: Vec::new(),
            expiry_policy: false,
            import_material: false,
        })
    }

    /// True when `generate_data_key` makes data keys of `spec`: one of
    /// [`Capabilities::data_key_specs`], or any valid size when
    /// [`Capabilities::data_key_bytes`] is set.
    pub fn generates_data_key(&self, spec: DataKeySpec) -> bool {
        self.data_key_specs.contains(&spec) || (self.data_key_bytes && spec.is_valid())
    }

    /// Checks that `generate_data_key` makes data keys of `spec` on the provider registered as
    /// `provider`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for a size outside 1 to
    /// [`DataKeySpec::MAX_BYTES`]; [`Error::Unsupported`](crate::Error::Unsupported) for a
    /// size [`Capabilities::generates_data_key`] refuses.
    pub fn check_data_key(&self, spec: DataKeySpec, provider: &str) -> crate::Result<()> {
        if !spec.is_valid() {
            return DataKeySpec::of_bytes(spec.len()).map(drop);
        }
        if self.generates_data_key(spec) {
            Ok(())
        } else {
            Err(crate::Error::unsupported(format!(
                "provider `{provider}` does not generate data keys of {spec}"
            )))
        }
    }

    /// The signing algorithms a signing key of `spec` made by this provider accepts: every
    /// one of [`KeySpec::signing_algorithms`], or only the first for RSA keys when
    /// [`Capabilities::one_signing_algorithm_per_key`] is set.
    pub fn signing_algorithms(&self, spec: KeySpec) -> &'static [SigningAlgorithm] {
        let all = spec.signing_algorithms();
        if self.one_signing_algorithm_per_key && spec.is_rsa() {
            &all[..all.len().min(1)]
        } else {
            all
        }
    }
}

/// Builds [`Capabilities`]; see [`Capabilities::builder`]. Each method sets the field of the
/// same name.
#[derive(Debug, Clone)]
#[must_use]
pub struct CapabilitiesBuilder(Capabilities);

impl CapabilitiesBuilder {
    /// Specs `create_key` accepts.
    pub fn key_specs(mut self, value: Vec<KeySpec>) -> Self {
        self.0.key_specs = value;
        self
    }

    /// RSA keys may be created for encryption.
    pub fn rsa_encryption(mut self, value: bool) -> Self {
        self.0.rsa_encryption = value;
        self
    }

    /// Bounds for `schedule_deletion`'s waiting period.
    pub fn deletion_window(mut self, value: DayRange) -> Self {
        self.0.deletion_window = value;
        self
    }

    /// Bounds for automatic rotation periods (`None`: no automatic rotation).
    pub fn rotation_period(mut self, value: Option<DayRange>) -> Self {
        self.0.rotation_period = value;
        self
    }

    /// Specs `rotate_key` works on.
    pub fn rotatable_specs(mut self, value: Vec<KeySpec>) -> Self {
        self.0.rotatable_specs = value;
        self
    }

    /// Specs that may carry an automatic rotation schedule.
    pub fn scheduled_rotation_specs(mut self, value: Vec<KeySpec>) -> Self {
        self.0.scheduled_rotation_specs = value;
        self
    }

    /// `list_versions` is available.
    pub fn list_versions(mut self, value: bool) -> Self {
        self.0.list_versions = value;
        self
    }

    /// Asymmetric encryption binds the encryption context too.
    pub fn asymmetric_context(mut self, value: bool) -> Self {
        self.0.asymmetric_context = value;
        self
    }

    /// Largest plaintext `encrypt` accepts for a symmetric key.
    pub fn max_plaintext_bytes(mut self, value: usize) -> Self {
        self.0.max_plaintext_bytes = value;
        self
    }

    /// Data key sizes `generate_data_key` honours.
    pub fn data_key_specs(mut self, value: Vec<DataKeySpec>) -> Self {
        self.0.data_key_specs = value;
        self
    }

    /// Data keys of any size from 1 to 1024 bytes.
    pub fn data_key_bytes(mut self, value: bool) -> Self {
        self.0.data_key_bytes = value;
        self
    }

    /// `decrypt` works without being told the key.
    pub fn self_describing_ciphertext(mut self, value: bool) -> Self {
        self.0.self_describing_ciphertext = value;
        self
    }

    /// Where signatures are verified.
    pub fn verify(mut self, value: VerifyMode) -> Self {
        self.0.verify = value;
        self
    }

    /// Signing and verifying take precomputed digests.
    pub fn digest_signing(mut self, value: bool) -> Self {
        self.0.digest_signing = value;
        self
    }

    /// An RSA signing key signs with its spec's first algorithm only.
    pub fn one_signing_algorithm_per_key(mut self, value: bool) -> Self {
        self.0.one_signing_algorithm_per_key = value;
        self
    }

    /// Per-key access policies can be read and written.
    pub fn key_policy(mut self, value: bool) -> Self {
        self.0.key_policy = value;
        self
    }

    /// The native policy format name.
    pub fn native_policy_format(mut self, value: Option<String>) -> Self {
        self.0.native_policy_format = value;
        self
    }

    /// Labels can be set on keys.
    pub fn labels(mut self, value: bool) -> Self {
        self.0.labels = value;
        self
    }

    /// Largest `page_size` honoured by `list_keys`.
    pub fn max_page_size(mut self, value: u32) -> Self {
        self.0.max_page_size = value;
        self
    }

    /// Bindings the provider stores and reads back unchanged.
    pub fn policy_sample(mut self, value: Vec<Binding>) -> Self {
        self.0.policy_sample = value;
        self
    }

    /// Versions have their own state and may be named in operations.
    pub fn version_state(mut self, value: bool) -> Self {
        self.0.version_state = value;
        self
    }

    /// One version can be scheduled for destruction and restored.
    pub fn version_destruction(mut self, value: bool) -> Self {
        self.0.version_destruction = value;
        self
    }

    /// The primary version can be set to any enabled version.
    pub fn primary_selection(mut self, value: bool) -> Self {
        self.0.primary_selection = value;
        self
    }

    /// The RSA algorithms raw encryption takes.
    pub fn raw_encryption(mut self, value: Vec<EncryptionAlgorithm>) -> Self {
        self.0.raw_encryption = value;
        self
    }

    /// Expiry policies are kept.
    pub fn expiry_policy(mut self, value: bool) -> Self {
        self.0.expiry_policy = value;
        self
    }

    /// Sets [`Capabilities::import_material`].
    pub fn import_material(mut self, value: bool) -> Self {
        self.0.import_material = value;
        self
    }

    /// The capabilities as set; fields no method set keep [`Capabilities::builder`]'s
    /// defaults.
    pub fn build(self) -> Capabilities {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_signing_algorithm_per_key_keeps_the_first_rsa_algorithm() {
        let mut caps = Capabilities {
            import_material: false,
            key_specs: KeySpec::ALL.to_vec(),
            rsa_encryption: true,
            deletion_window: DayRange::new(1, 30),
            rotation_period: None,
            rotatable_specs: Vec::new(),
            scheduled_rotation_specs: Vec::new(),
            list_versions: true,
            asymmetric_context: false,
            max_plaintext_bytes: 64,
            data_key_specs: Vec::new(),
            data_key_bytes: false,
            self_describing_ciphertext: false,
            verify: VerifyMode::Local,
            digest_signing: true,
            one_signing_algorithm_per_key: false,
            key_policy: false,
            native_policy_format: None,
            labels: false,
            max_page_size: 10,
            policy_sample: Vec::new(),
            version_state: false,
            version_destruction: false,
            primary_selection: false,
            raw_encryption: Vec::new(),
            expiry_policy: false,
        };
        assert_eq!(
            caps.signing_algorithms(KeySpec::Rsa3072),
            KeySpec::Rsa3072.signing_algorithms()
        );
        caps.one_signing_algorithm_per_key = true;
        assert_eq!(
            caps.signing_algorithms(KeySpec::Rsa3072),
            [SigningAlgorithm::RsaPssSha256]
        );
        assert_eq!(
            caps.signing_algorithms(KeySpec::EcP384),
            [SigningAlgorithm::EcdsaSha384]
        );
        assert!(caps.signing_algorithms(KeySpec::Aes256).is_empty());

        // Serialized capabilities from before the field read as false.
        let mut json = serde_json::to_value(&caps).expect("serializes");
        json.as_object_mut()
            .expect("an object")
            .remove("one_signing_algorithm_per_key");
        let read: Capabilities = serde_json::from_value(json).expect("deserializes");
        assert!(!read.one_signing_algorithm_per_key);
    }
}
