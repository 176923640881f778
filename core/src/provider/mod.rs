//! The [`KeyProvider`] trait: what every key manager behind keygate must do.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::crypto::{
    Ciphertext, DataKey, DataKeySpec, EncryptionAlgorithm, EncryptionContext, MacTag, PublicKey,
    SecretBytes, SignInput, Signature,
};
use crate::error::{Error, Result};
use crate::expiry::ExpiryPolicy;
use crate::import::{ImportParameters, ImportedMaterial, WrappingAlgorithm, WrappingKeySpec};
use crate::key::{
    CreateKeyRequest, KeyMetadata, KeyUpdate, KeyVersion, ProviderKind, RotationSchedule,
    SigningAlgorithm,
};
use crate::policy::Policy;

mod capabilities;
mod shared;

pub use capabilities::{Capabilities, CapabilitiesBuilder, DayRange, VerifyMode};

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
    /// Versions whose destroy time passed and whose material was destroyed: (key id,
    /// version id). Their keys remain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destroyed_versions: Vec<(String, String)>,
    /// Keys whose primary version's expiry notification came due: (key id, version id).
    /// Each is recorded as a `keys:notify` audit event.
    #[serde(default)]
    pub notified: Vec<(String, String)>,
    /// Keys whose imported material expired and was deleted (they wait for it again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expired_material: Vec<String>,
}

/// Maintenance that is due at some moment, found before any of it is done
/// ([`KeyProvider::due`]): the gateway audits each action (an intent row) before it asks the
/// provider to run it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueMaintenance {
    /// Ids of keys whose scheduled rotation is due.
    pub rotations: Vec<String>,
    /// Ids of keys pending deletion whose deletion date has passed (their material is to be
    /// destroyed).
    pub destructions: Vec<String>,
    /// Versions scheduled for destruction whose destroy time has passed: (key id, version
    /// id). Their material is to be destroyed; their keys remain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub version_destructions: Vec<(String, String)>,
    /// Keys whose primary version's expiry notification came due and was not made yet:
    /// (key id, version id). The gateway records each as a `keys:notify` audit event, then
    /// marks it made with [`KeyProvider::mark_notified`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<(String, String)>,
    /// Ids of keys whose imported material's `valid_to` has passed (the material is to be
    /// deleted with [`KeyProvider::expire_material_due`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub material_expirations: Vec<String>,
}

impl DueMaintenance {
    /// True when nothing is due.
    pub fn is_empty(&self) -> bool {
        self.rotations.is_empty()
            && self.destructions.is_empty()
            && self.version_destructions.is_empty()
            && self.notifications.is_empty()
            && self.material_expirations.is_empty()
    }
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
    /// [`Capabilities::self_describing_ciphertext`] is set. `key_version` names the version
    /// to decrypt with; `None` takes the one the ciphertext names (symmetric) or the primary
    /// (asymmetric). A version named for a symmetric ciphertext that names another version is
    /// [`Error::InvalidArgument`].
    async fn decrypt(
        &self,
        key_id: Option<&str>,
        key_version: Option<&str>,
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

    /// Signs `input` (a message, or its precomputed digest) with `key_version`, or (`None`)
    /// the primary version.
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
        key_version: Option<&str>,
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

    /// Computes a MAC over `message` with `key_version`, or (`None`) the primary version.
    async fn generate_mac(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        message: &[u8],
    ) -> Result<MacTag>;

    /// Checks a MAC with `key_version`, or (`None`) the primary version; `Ok(false)` when it
    /// does not match.
    async fn verify_mac(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        message: &[u8],
        mac: &[u8],
    ) -> Result<bool>;

    /// The public key of an asymmetric key (`key_version` defaults to the primary).
    async fn get_public_key(&self, key_id: &str, key_version: Option<&str>) -> Result<PublicKey>;

    /// The key's own access policy.
    async fn get_key_policy(&self, key_id: &str) -> Result<Policy>;

    /// Replaces the key's own access policy; returns it as stored.
    async fn set_key_policy(&self, key_id: &str, policy: Policy) -> Result<Policy>;

    /// Enables one version of a key (see [`Capabilities::version_state`]). Enabling an
    /// enabled version succeeds; a version scheduled for destruction must be restored first
    /// ([`Error::InvalidState`]).
    ///
    /// # Errors
    /// [`Error::Unsupported`] by default.
    async fn enable_version(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        let _ = (key_id, version);
        Err(self.version_unsupported("enabling one key version"))
    }

    /// Disables one version of a key: it refuses every use until enabled (see
    /// [`Capabilities::version_state`]). Disabling a disabled version succeeds.
    ///
    /// # Errors
    /// [`Error::Unsupported`] by default.
    async fn disable_version(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        let _ = (key_id, version);
        Err(self.version_unsupported("disabling one key version"))
    }

    /// Schedules the destruction of one version by the provider's rule (see
    /// [`Capabilities::version_destruction`]); it refuses every use at once. Returns the
    /// version `destroy_scheduled`, with its `destroy_time`.
    ///
    /// # Errors
    /// [`Error::Unsupported`] by default.
    async fn destroy_version(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        let _ = (key_id, version);
        Err(self.version_unsupported("destroying one key version"))
    }

    /// Restores a version scheduled for destruction: it comes back `disabled`.
    ///
    /// # Errors
    /// [`Error::Unsupported`] by default; a version that is not
    /// scheduled for destruction is [`Error::InvalidState`].
    async fn restore_version(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        let _ = (key_id, version);
        Err(self.version_unsupported("restoring one key version"))
    }

    /// Makes `version` (an enabled version) the primary one, which new operations use (see
    /// [`Capabilities::primary_selection`]); returns the key as it now is.
    ///
    /// # Errors
    /// [`Error::Unsupported`] by default; a version that is not
    /// enabled is [`Error::InvalidState`].
    async fn set_primary_version(&self, key_id: &str, version: &str) -> Result<KeyMetadata> {
        let _ = (key_id, version);
        Err(self.version_unsupported("choosing the primary key version"))
    }

    /// The [`Error::Unsupported`] of a version operation this
    /// provider does not offer, naming the provider and the operation.
    fn version_unsupported(&self, operation: &str) -> crate::Error {
        crate::Error::unsupported(format!(
            "provider `{}` ({}) does not support {operation}",
            self.info().name,
            self.info().kind
        ))
    }

    /// The key's expiry policy; `None` when it has none.
    ///
    /// # Errors
    /// [`Error::Unsupported`] (the default) when
    /// [`Capabilities::expiry_policy`] is false.
    async fn get_expiry(&self, key_id: &str) -> Result<Option<ExpiryPolicy>> {
        let _ = key_id;
        Err(expiry_unsupported(self.info()))
    }

    /// Sets (`Some`) or removes (`None`) the key's expiry policy; returns it as stored. Due
    /// notifications are listed by [`KeyProvider::due`] and marked sent with
    /// [`KeyProvider::mark_notified`].
    ///
    /// # Errors
    /// As [`KeyProvider::get_expiry`]; [`Error::InvalidArgument`]
    /// for a policy [`ExpiryPolicy::validate`] refuses.
    async fn set_expiry(
        &self,
        key_id: &str,
        policy: Option<ExpiryPolicy>,
    ) -> Result<Option<ExpiryPolicy>> {
        let _ = (key_id, policy);
        Err(expiry_unsupported(self.info()))
    }

    /// Encrypts `plaintext` with the primary version's public key under an RSA `algorithm`
    /// of [`Capabilities::raw_encryption`], binding nothing: the bare RSA ciphertext a client
    /// computes from the public key alone (what Key Vault's `RSA-OAEP` and `RSA1_5` return).
    ///
    /// # Errors
    /// [`Error::Unsupported`] (the default) for an algorithm the
    /// provider does not list; [`Error::InvalidArgument`] for
    /// a key that is not an RSA encryption key or a plaintext too long for the algorithm.
    async fn encrypt_raw(
        &self,
        key_id: &str,
        algorithm: EncryptionAlgorithm,
        plaintext: &[u8],
    ) -> Result<Ciphertext> {
        let _ = (key_id, plaintext);
        Err(raw_unsupported(self.info(), algorithm))
    }

    /// Decrypts a bare RSA ciphertext made under `algorithm` (by
    /// [`KeyProvider::encrypt_raw`] or by anyone holding the public key), with `key_version`
    /// or, when `None`, the primary and then every other enabled version.
    ///
    /// # Errors
    /// As [`KeyProvider::encrypt_raw`]; [`Error::IntegrityFailure`]
    /// when no version opens the ciphertext.
    async fn decrypt_raw(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        algorithm: EncryptionAlgorithm,
        ciphertext: &[u8],
    ) -> Result<SecretBytes> {
        let _ = (key_id, key_version, ciphertext);
        Err(raw_unsupported(self.info(), algorithm))
    }

    /// A cheap call that proves the backend answers with this provider's credentials: what
    /// `keygate status` measures. The default lists one key; providers override it with their
    /// cheapest authenticated read. It changes nothing and touches no key material.
    ///
    /// # Errors
    /// Whatever the backend answers ([`Error::Unavailable`] when
    /// it cannot be reached, [`Error::PermissionDenied`]
    /// when the credentials are refused, ...).
    async fn probe(&self) -> Result<()> {
        self.list_keys(ListKeysRequest {
            page_size: Some(1),
            cursor: None,
        })
        .await
        .map(drop)
    }

    /// What maintenance is due at `now` (scheduled rotations, expired deletions of keys and
    /// of single versions), without doing any of it: the gateway writes an intent row for
    /// each action before it runs it with [`KeyProvider::rotate_due`],
    /// [`KeyProvider::destroy_due`] or [`KeyProvider::destroy_due_version`]. Providers whose
    /// backend does this work itself keep the default: nothing is ever due.
    async fn due(&self, now: OffsetDateTime) -> Result<DueMaintenance> {
        let _ = now;
        Ok(DueMaintenance::default())
    }

    /// Runs the scheduled rotation of `key_id` if it is due at `now`, and returns the new
    /// version; `None` when it is not (or no longer) due, e.g. another process sharing the
    /// store ran it first. The default, for providers with nothing ever due, is `None`.
    async fn rotate_due(&self, key_id: &str, now: OffsetDateTime) -> Result<Option<KeyVersion>> {
        let _ = (key_id, now);
        Ok(None)
    }

    /// Destroys the material of `key_id` if it is pending deletion with a deletion date at or
    /// before `now`; `false` when it is not (or no longer) due. The default, for providers
    /// with nothing ever due, is `false`.
    async fn destroy_due(&self, key_id: &str, now: OffsetDateTime) -> Result<bool> {
        let _ = (key_id, now);
        Ok(false)
    }

    /// Destroys the material of `version` of `key_id` if it is scheduled for destruction
    /// with a destroy time at or before `now`; `false` when it is not (or no longer) due. The
    /// key remains. The default, for providers with nothing ever due, is `false`.
    async fn destroy_due_version(
        &self,
        key_id: &str,
        version: &str,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let _ = (key_id, version, now);
        Ok(false)
    }

    /// Deletes the imported material of `key_id` if its `valid_to` is at or before `now` (the
    /// key becomes pending import); `false` when it is not (or no longer) due. The default,
    /// for providers with nothing ever due, is `false`.
    async fn expire_material_due(&self, key_id: &str, now: OffsetDateTime) -> Result<bool> {
        let _ = (key_id, now);
        Ok(false)
    }

    /// A wrapping key and an import token for importing material into `key_id`, a key of
    /// origin `external` (see [`crate::import`]).
    ///
    /// # Errors
    /// [`Error::Unsupported`] (the default) when
    /// [`Capabilities::import_material`] is false; [`Error::InvalidState`] for a key whose
    /// origin is not external, or that is pending deletion.
    async fn import_parameters(
        &self,
        key_id: &str,
        algorithm: WrappingAlgorithm,
        wrapping_key: WrappingKeySpec,
    ) -> Result<ImportParameters> {
        let _ = (key_id, algorithm, wrapping_key);
        Err(import_unsupported(self.info()))
    }

    /// Imports material wrapped for parameters of `key_id`: the key becomes enabled. Material
    /// different from the material the key had before is refused.
    ///
    /// # Errors
    /// As [`KeyProvider::import_parameters`]; [`Error::ImportRejected`] for an expired or
    /// foreign token or different material; [`Error::IntegrityFailure`] for material that
    /// does not unwrap; [`Error::InvalidArgument`] for material of the wrong length or format
    /// for the key's spec.
    async fn import_material(
        &self,
        key_id: &str,
        material: ImportedMaterial,
    ) -> Result<KeyMetadata> {
        let _ = (key_id, material);
        Err(import_unsupported(self.info()))
    }

    /// Deletes the imported material of `key_id`: the key becomes pending import until the
    /// same material is imported again.
    ///
    /// # Errors
    /// As [`KeyProvider::import_parameters`].
    async fn delete_imported_material(&self, key_id: &str) -> Result<KeyMetadata> {
        let _ = key_id;
        Err(import_unsupported(self.info()))
    }

    /// Records that the expiry notification of `version` of `key_id` was made; `false` when
    /// it already was (another pass or process made it). The default, for providers with no
    /// notification ever due, is `false`.
    async fn mark_notified(&self, key_id: &str, version: &str) -> Result<bool> {
        let _ = (key_id, version);
        Ok(false)
    }

    /// Runs all due work at `now` ([`KeyProvider::due`], then each action), unaudited: for
    /// a provider used on its own. The gateway does not call it; it audits each action.
    async fn tick(&self, now: OffsetDateTime) -> Result<Maintenance> {
        let due = self.due(now).await?;
        let mut done = Maintenance::default();
        for id in due.rotations {
            match self.rotate_due(&id, now).await {
                Ok(Some(version)) => done.rotated.push((id, version.id)),
                Ok(None) | Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        // Versions first: destroying a whole key destroys its versions with it.
        for (id, version) in due.version_destructions {
            if self.destroy_due_version(&id, &version, now).await? {
                done.destroyed_versions.push((id, version));
            }
        }
        for id in due.destructions {
            if self.destroy_due(&id, now).await? {
                done.destroyed.push(id);
            }
        }
        for (id, version) in due.notifications {
            if self.mark_notified(&id, &version).await? {
                done.notified.push((id, version));
            }
        }
        for id in due.material_expirations {
            if self.expire_material_due(&id, now).await? {
                done.expired_material.push(id);
            }
        }
        Ok(done)
    }
}

/// The answer of a provider that does not take `algorithm` for raw RSA encryption.
pub fn raw_unsupported(info: &ProviderInfo, algorithm: EncryptionAlgorithm) -> crate::Error {
    crate::Error::Unsupported(format!(
        "provider `{}` does not encrypt or decrypt with {} on its own",
        info.name,
        algorithm.as_str()
    ))
}

fn import_unsupported(info: &ProviderInfo) -> crate::Error {
    crate::Error::Unsupported(format!(
        "provider `{}` does not import key material",
        info.name
    ))
}

fn expiry_unsupported(info: &ProviderInfo) -> crate::Error {
    crate::Error::Unsupported(format!("provider `{}` keeps no expiry policies", info.name))
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

    /// For a provider whose `op` always uses the primary version: `Ok` when `version` is
    /// `None` or names the key's primary version, [`Error::NotFound`] for a version the key
    /// does not have, and [`Error::Unsupported`] (naming the provider and `op`) for any other
    /// version.
    ///
    /// [`Error::NotFound`]: crate::Error::NotFound
    /// [`Error::Unsupported`]: crate::Error::Unsupported
    async fn require_primary_version(
        &self,
        key_id: &str,
        version: Option<&str>,
        op: &str,
    ) -> Result<()> {
        let Some(version) = version else {
            return Ok(());
        };
        let key = self.describe_key(key_id).await?;
        if key.primary_version.as_deref() == Some(version) {
            return Ok(());
        }
        let versions = self.list_versions(key_id).await?;
        match versions.iter().find(|v| v.id == version) {
            None => Err(crate::Error::not_found(format!(
                "version {version} of key {key_id}"
            ))),
            Some(v) if v.primary => Ok(()),
            Some(_) => Err(self.version_unsupported(&format!(
                "{op} with version {version}, which is not the primary version of key {key_id}"
            ))),
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
    fn trait_is_object_safe() {
        fn takes(_: Option<&dyn KeyProvider>) {}
        takes(None);
    }
}
