//! The [`KeyProvider`] trait: what every key manager behind keygate must do.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::crypto::{
    Ciphertext, DataKey, DataKeySpec, EncryptionContext, MacTag, PublicKey, SecretBytes, SignInput,
    Signature,
};
use crate::error::Result;
use crate::key::{
    CreateKeyRequest, KeyMetadata, KeySpec, KeyUpdate, KeyVersion, ProviderKind, RotationSchedule,
    SigningAlgorithm,
};
use crate::policy::{Binding, Policy};

/// Who a provider is: its registered name, its kind and how its key URIs are spelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderInfo {
    /// The name it is registered under (`local`, `aws-prod`, ...). Unique in a registry.
    pub name: String,
    /// The backend kind.
    pub kind: ProviderKind,
    /// The prefix of every key URI this provider owns: a key's URI is this prefix followed by
    /// its native id (`local://`, `aws-kms://us-east-1/`, `azure-kv://vault/`,
    /// `gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/`).
    pub uri_prefix: String,
}

impl ProviderInfo {
    /// The URI of the key with native id `id`.
    pub fn key_uri(&self, id: &str) -> String {
        format!("{}{id}", self.uri_prefix)
    }

    /// The native id in `uri`, when this provider owns it.
    pub fn id_from_uri<'a>(&self, uri: &'a str) -> Option<&'a str> {
        uri.strip_prefix(&self.uri_prefix)
            .filter(|id| !id.is_empty())
    }
}

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
    /// `decrypt` works without being told the key (the ciphertext names it).
    pub self_describing_ciphertext: bool,
    /// Where signatures are verified.
    pub verify: VerifyMode,
    /// [`KeyProvider::sign`] and [`KeyProvider::verify`] take a [`SignInput::Digest`], with
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
            self_describing_ciphertext: false,
            verify: VerifyMode::Remote,
            digest_signing: false,
            one_signing_algorithm_per_key: false,
            key_policy: false,
            native_policy_format: None,
            labels: false,
            max_page_size: 1,
            policy_sample: Vec::new(),
        })
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

    /// The capabilities as set; fields no method set keep [`Capabilities::builder`]'s
    /// defaults.
    pub fn build(self) -> Capabilities {
        self.0
    }
}

/// A request for one page of keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListKeysRequest {
    /// How many keys at most; `None` for the provider's default. Larger values are clamped to
    /// [`Capabilities::max_page_size`].
    pub page_size: Option<u32>,
    /// The cursor from the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// This page's items, in listing order.
    pub items: Vec<T>,
    /// Pass this back to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// What a maintenance pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Maintenance {
    /// Keys rotated because their schedule was due: (key id, new version id).
    pub rotated: Vec<(String, String)>,
    /// Keys whose deletion date passed and whose material was destroyed.
    pub destroyed: Vec<String>,
}

/// A key manager behind keygate.
///
/// # Contract
///
/// - **Ids.** Every method that takes `key_id` takes the provider-native id (as in
///   [`KeyMetadata::id`]). An id the provider does not know gives [`Error::NotFound`]; so does
///   an unknown version.
/// - **States.** Encrypt, decrypt, sign, verify, MAC and data-key calls on a key that is not
///   enabled fail with [`Error::InvalidState`]; `enable_key` restores a disabled key,
///   `cancel_deletion` restores a key pending deletion (to disabled, as AWS does). Calling an
///   operation that does not fit the key's usage (sign with an encryption key, ...) is
///   [`Error::InvalidState`].
/// - **Idempotency.** `enable_key` on an enabled key and `disable_key` on a disabled key
///   succeed. `create_key` with a name that exists fails with [`Error::AlreadyExists`].
/// - **Bounds.** Deletion windows and rotation periods outside [`Capabilities`] fail with
///   [`Error::InvalidArgument`] before anything changes.
/// - **Context.** `encrypt` binds the [`EncryptionContext`] to the ciphertext; `decrypt` with a
///   different context, or a ciphertext altered in any byte, fails with
///   [`Error::IntegrityFailure`] and says nothing more.
/// - **Rotation.** `rotate_key` makes a new primary version; ciphertexts from older versions
///   still decrypt.
/// - **Secrets.** Plaintexts and data keys are returned as zeroizing buffers and never appear in
///   logs, errors or `Debug` output.
/// - **Error order.** An unknown key is [`Error::NotFound`] first; then a key in the wrong
///   state or of the wrong usage is [`Error::InvalidState`]; then a bad argument is
///   [`Error::InvalidArgument`] (signing with an AES key and an ECDSA algorithm is
///   `InvalidState`). A spec not in [`Capabilities::key_specs`] is [`Error::Unsupported`]; a
///   usage the spec does not allow, or a signing algorithm the spec does not support, is
///   `InvalidArgument`.
/// - **Verification.** `verify` and `verify_mac` answer `Ok(false)` for any signature or tag
///   that does not verify — wrong, truncated, garbage — never an error. Backends that raise an
///   error for a bad signature (AWS `KMSInvalidSignatureException`) map it to `Ok(false)`.
/// - **Paging.** `list_keys` returns every key exactly once across pages when nothing changes
///   between calls; `next_cursor` is `None` on the last page.
///
/// [`Error::NotFound`]: crate::Error::NotFound
/// [`Error::InvalidState`]: crate::Error::InvalidState
/// [`Error::AlreadyExists`]: crate::Error::AlreadyExists
/// [`Error::InvalidArgument`]: crate::Error::InvalidArgument
/// [`Error::IntegrityFailure`]: crate::Error::IntegrityFailure
/// [`Error::Unsupported`]: crate::Error::Unsupported
#[async_trait]
pub trait KeyProvider: Send + Sync + fmt::Debug {
    /// Name, kind and URI prefix.
    fn info(&self) -> &ProviderInfo;

    /// What this provider supports.
    fn capabilities(&self) -> &Capabilities;

    /// One page of keys.
    async fn list_keys(&self, req: ListKeysRequest) -> Result<Page<KeyMetadata>>;

    /// Metadata of one key.
    async fn describe_key(&self, key_id: &str) -> Result<KeyMetadata>;

    /// Creates a key with a first (primary) version.
    async fn create_key(&self, req: CreateKeyRequest) -> Result<KeyMetadata>;

    /// Changes description and labels.
    async fn update_key(&self, key_id: &str, update: KeyUpdate) -> Result<KeyMetadata>;

    /// Enables a disabled key.
    async fn enable_key(&self, key_id: &str) -> Result<KeyMetadata>;

    /// Disables a key: it refuses every cryptographic use until enabled.
    async fn disable_key(&self, key_id: &str) -> Result<KeyMetadata>;

    /// Schedules destruction after `pending_days`; returns the key with its deletion date.
    async fn schedule_deletion(&self, key_id: &str, pending_days: u32) -> Result<KeyMetadata>;

    /// Cancels a scheduled deletion; the key comes back disabled.
    async fn cancel_deletion(&self, key_id: &str) -> Result<KeyMetadata>;

    /// The key's versions, oldest first.
    async fn list_versions(&self, key_id: &str) -> Result<Vec<KeyVersion>>;

    /// Rotates now: creates a new primary version.
    async fn rotate_key(&self, key_id: &str) -> Result<KeyVersion>;

    /// The automatic rotation schedule, if any.
    async fn get_rotation(&self, key_id: &str) -> Result<Option<RotationSchedule>>;

    /// Sets (`Some`) or turns off (`None`) automatic rotation; returns the stored schedule.
    async fn set_rotation(
        &self,
        key_id: &str,
        schedule: Option<RotationSchedule>,
    ) -> Result<Option<RotationSchedule>>;

    /// Encrypts `plaintext` under the key's primary version, binding `context`.
    async fn encrypt(
        &self,
        key_id: &str,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Ciphertext>;

    /// Decrypts. `key_id` may be `None` when
    /// [`Capabilities::self_describing_ciphertext`] is set.
    async fn decrypt(
        &self,
        key_id: Option<&str>,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<SecretBytes>;

    /// Generates a random data key and returns it in plaintext and encrypted under the key.
    async fn generate_data_key(
        &self,
        key_id: &str,
        spec: DataKeySpec,
        context: &EncryptionContext,
    ) -> Result<DataKey>;

    /// Signs `input` (a message, or its precomputed digest) with the primary version.
    ///
    /// # Errors
    /// As the contract says; for a digest, [`Error::InvalidArgument`] when its length does
    /// not fit the algorithm and [`Error::Unsupported`] when the provider cannot sign digests
    /// ([`Capabilities::digest_signing`] is false).
    ///
    /// [`Error::InvalidArgument`]: crate::Error::InvalidArgument
    /// [`Error::Unsupported`]: crate::Error::Unsupported
    async fn sign(
        &self,
        key_id: &str,
        input: SignInput<'_>,
        algorithm: SigningAlgorithm,
    ) -> Result<Signature>;

    /// Verifies a signature over `input`; `Ok(false)` for a signature that does not verify.
    /// `key_version` defaults to the primary version.
    ///
    /// # Errors
    /// As [`KeyProvider::sign`].
    async fn verify(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        input: SignInput<'_>,
        signature: &[u8],
        algorithm: SigningAlgorithm,
    ) -> Result<bool>;

    /// Computes a MAC over `message` with the primary version.
    async fn generate_mac(&self, key_id: &str, message: &[u8]) -> Result<MacTag>;

    /// Checks a MAC; `Ok(false)` when it does not match.
    async fn verify_mac(&self, key_id: &str, message: &[u8], mac: &[u8]) -> Result<bool>;

    /// The public key of an asymmetric key (`key_version` defaults to the primary).
    async fn get_public_key(&self, key_id: &str, key_version: Option<&str>) -> Result<PublicKey>;

    /// The key's own access policy.
    async fn get_key_policy(&self, key_id: &str) -> Result<Policy>;

    /// Replaces the key's own access policy; returns it as stored.
    async fn set_key_policy(&self, key_id: &str, policy: Policy) -> Result<Policy>;

    /// Runs due work at `now`: scheduled rotations and expired deletions. Providers whose
    /// backend does this itself keep the default, which does nothing.
    async fn tick(&self, now: OffsetDateTime) -> Result<Maintenance> {
        let _ = now;
        Ok(Maintenance::default())
    }
}

/// A shared provider is a provider: every call goes to the one behind the `Arc` (so a
/// [`DynProvider`] can be passed wherever a provider is taken).
#[async_trait]
impl<P: KeyProvider + ?Sized> KeyProvider for Arc<P> {
    fn info(&self) -> &ProviderInfo {
        (**self).info()
    }
    fn capabilities(&self) -> &Capabilities {
        (**self).capabilities()
    }
    async fn list_keys(&self, req: ListKeysRequest) -> Result<Page<KeyMetadata>> {
        (**self).list_keys(req).await
    }
    async fn describe_key(&self, key_id: &str) -> Result<KeyMetadata> {
        (**self).describe_key(key_id).await
    }
    async fn create_key(&self, req: CreateKeyRequest) -> Result<KeyMetadata> {
        (**self).create_key(req).await
    }
    async fn update_key(&self, key_id: &str, update: KeyUpdate) -> Result<KeyMetadata> {
        (**self).update_key(key_id, update).await
    }
    async fn enable_key(&self, key_id: &str) -> Result<KeyMetadata> {
        (**self).enable_key(key_id).await
    }
    async fn disable_key(&self, key_id: &str) -> Result<KeyMetadata> {
        (**self).disable_key(key_id).await
    }
    async fn schedule_deletion(&self, key_id: &str, pending_days: u32) -> Result<KeyMetadata> {
        (**self).schedule_deletion(key_id, pending_days).await
    }
    async fn cancel_deletion(&self, key_id: &str) -> Result<KeyMetadata> {
        (**self).cancel_deletion(key_id).await
    }
    async fn list_versions(&self, key_id: &str) -> Result<Vec<KeyVersion>> {
        (**self).list_versions(key_id).await
    }
    async fn rotate_key(&self, key_id: &str) -> Result<KeyVersion> {
        (**self).rotate_key(key_id).await
    }
    async fn get_rotation(&self, key_id: &str) -> Result<Option<RotationSchedule>> {
        (**self).get_rotation(key_id).await
    }
    async fn set_rotation(
        &self,
        key_id: &str,
        schedule: Option<RotationSchedule>,
    ) -> Result<Option<RotationSchedule>> {
        (**self).set_rotation(key_id, schedule).await
    }
    async fn encrypt(
        &self,
        key_id: &str,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Ciphertext> {
        (**self).encrypt(key_id, plaintext, context).await
    }
    async fn decrypt(
        &self,
        key_id: Option<&str>,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<SecretBytes> {
        (**self).decrypt(key_id, ciphertext, context).await
    }
    async fn generate_data_key(
        &self,
        key_id: &str,
        spec: DataKeySpec,
        context: &EncryptionContext,
    ) -> Result<DataKey> {
        (**self).generate_data_key(key_id, spec, context).await
    }
    async fn sign(
        &self,
        key_id: &str,
        input: SignInput<'_>,
        algorithm: SigningAlgorithm,
    ) -> Result<Signature> {
        (**self).sign(key_id, input, algorithm).await
    }
    async fn verify(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        input: SignInput<'_>,
        signature: &[u8],
        algorithm: SigningAlgorithm,
    ) -> Result<bool> {
        (**self)
            .verify(key_id, key_version, input, signature, algorithm)
            .await
    }
    async fn generate_mac(&self, key_id: &str, message: &[u8]) -> Result<MacTag> {
        (**self).generate_mac(key_id, message).await
    }
    async fn verify_mac(&self, key_id: &str, message: &[u8], mac: &[u8]) -> Result<bool> {
        (**self).verify_mac(key_id, message, mac).await
    }
    async fn get_public_key(&self, key_id: &str, key_version: Option<&str>) -> Result<PublicKey> {
        (**self).get_public_key(key_id, key_version).await
    }
    async fn get_key_policy(&self, key_id: &str) -> Result<Policy> {
        (**self).get_key_policy(key_id).await
    }
    async fn set_key_policy(&self, key_id: &str, policy: Policy) -> Result<Policy> {
        (**self).set_key_policy(key_id, policy).await
    }
    async fn tick(&self, now: OffsetDateTime) -> Result<Maintenance> {
        (**self).tick(now).await
    }
}

/// Conveniences over any [`KeyProvider`].
#[async_trait]
pub trait KeyProviderExt: KeyProvider {
    /// Every key, following cursors to the end.
    async fn list_all_keys(&self) -> Result<Vec<KeyMetadata>> {
        let mut keys = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .list_keys(ListKeysRequest {
                    page_size: None,
                    cursor,
                })
                .await?;
            keys.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(keys),
            }
        }
    }
}

impl<P: KeyProvider + ?Sized> KeyProviderExt for P {}

/// A shared, dynamically typed provider.
pub type DynProvider = Arc<dyn KeyProvider>;

/// A source of the current time, injectable for tests.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The real clock (`OffsetDateTime::now_utc`): what keygate runs on outside tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock tests can set and advance.
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<OffsetDateTime>);

impl ManualClock {
    /// A clock stopped at `at`.
    pub fn new(at: OffsetDateTime) -> Self {
        Self(std::sync::Mutex::new(at))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: time::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }

    /// Moves the clock to `at`, forward or back.
    pub fn set(&self, at: OffsetDateTime) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_roundtrip_through_info() {
        let info = ProviderInfo {
            name: "aws-prod".into(),
            kind: ProviderKind::Aws,
            uri_prefix: "aws-kms://us-east-1/".into(),
        };
        let uri = info.key_uri("1234-abcd");
        assert_eq!(uri, "aws-kms://us-east-1/1234-abcd");
        assert_eq!(info.id_from_uri(&uri), Some("1234-abcd"));
        assert_eq!(info.id_from_uri("aws-kms://eu-west-1/1234"), None);
        assert_eq!(info.id_from_uri("aws-kms://us-east-1/"), None);
    }

    #[test]
    fn manual_clock_advances() {
        let start = time::macros::datetime!(2030-01-01 00:00 UTC);
        let c = ManualClock::new(start);
        c.advance(time::Duration::days(2));
        assert_eq!(c.now(), time::macros::datetime!(2030-01-03 00:00 UTC));
    }

    #[test]
    fn one_signing_algorithm_per_key_keeps_the_first_rsa_algorithm() {
        let mut caps = Capabilities {
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
            self_describing_ciphertext: false,
            verify: VerifyMode::Local,
            digest_signing: true,
            one_signing_algorithm_per_key: false,
            key_policy: false,
            native_policy_format: None,
            labels: false,
            max_page_size: 10,
            policy_sample: Vec::new(),
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

    #[test]
    fn trait_is_object_safe() {
        fn takes(_: Option<&dyn KeyProvider>) {}
        takes(None);
    }
}
