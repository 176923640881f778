//! Translation between keygate's model and Cloud KMS's — resource names, algorithms, version
//! states, times — and [`Kms`], which makes the calls that read a key whole.
//!
//! A CryptoKey alone says enough only for ENCRYPT_DECRYPT keys (it carries its `primary`
//! version). For the other purposes Cloud KMS has no primary version, so a key is read with
//! its versions: the newest ENABLED one acts as keygate's primary (see [`Key::primary`]).

use std::collections::HashMap;
use std::sync::Mutex;

use google_cloud_kms_v1::client::KeyManagementService;
use google_cloud_kms_v1::model::crypto_key::CryptoKeyPurpose;
use google_cloud_kms_v1::model::crypto_key_version::{
    CryptoKeyVersionAlgorithm as Alg, CryptoKeyVersionState as VState,
};
use google_cloud_kms_v1::model::{CryptoKey, CryptoKeyVersion, ProtectionLevel};
use google_cloud_wkt as wkt;
use keygate_core::{
    Error, KeySpec, KeyState, KeyUsage, KeyVersion, Result, RotationSchedule, SigningAlgorithm,
    VersionState,
};
use time::OffsetDateTime;

use super::error::from_sdk;

/// Seconds in a day.
pub(crate) const DAY: i64 = 86_400;
/// Largest page Cloud KMS returns.
pub(crate) const MAX_PAGE: i32 = 1000;
/// How many public keys are kept (they never change for a version).
const PUBLIC_KEY_CACHE: usize = 512;
/// How long `rotate_key` and `create_key` wait for an asymmetric version to be generated.
const GENERATION_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Checks a Cloud KMS resource id (a crypto key or key ring id): `[a-zA-Z0-9_-]{1,63}`.
///
/// # Errors
/// [`Error::InvalidArgument`] naming `what` otherwise.
pub(crate) fn check_id(what: &str, id: &str) -> Result<()> {
    let ok = (1..=63).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{what} id `{id}` is not 1 to 63 letters, digits, `_` or `-` (Cloud KMS ids)"
        )))
    }
}

/// What keygate makes of a Cloud KMS algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AlgInfo {
    /// The nearest keygate spec.
    pub spec: KeySpec,
    /// The keygate usage.
    pub usage: KeyUsage,
    /// The one signing algorithm of an ASYMMETRIC_SIGN version keygate can use; `None` for a
    /// hash keygate lacks (SHA-512) or another purpose.
    pub signing: Option<SigningAlgorithm>,
    /// An ASYMMETRIC_DECRYPT version keygate can encrypt for (OAEP with SHA-256).
    pub oaep_sha256: bool,
}

const fn info(spec: KeySpec, usage: KeyUsage, signing: Option<SigningAlgorithm>) -> AlgInfo {
    AlgInfo {
        spec,
        usage,
        signing,
        oaep_sha256: false,
    }
}

const fn oaep(spec: KeySpec, sha256: bool) -> AlgInfo {
    AlgInfo {
        spec,
        usage: KeyUsage::Encrypt,
        signing: None,
        oaep_sha256: sha256,
    }
}

/// The keygate view of an algorithm; `None` for algorithms keygate has no spec for (raw AES,
/// Ed25519, post-quantum, HMAC-SHA1/224, external keys...). RSA decryption algorithms with a
/// hash keygate lacks (SHA-512, SHA-1) are described as their RSA spec, and their
/// cryptography is [`Error::Unsupported`].
pub(crate) fn alg_info(alg: &Alg) -> Option<AlgInfo> {
    use KeySpec as S;
    use KeyUsage::{Mac, Sign};
    use SigningAlgorithm::{
        EcdsaSha256, EcdsaSha384, RsaPkcs1Sha256, RsaPkcs1Sha512, RsaPssSha256, RsaPssSha512,
    };
    Some(match alg {
        Alg::GoogleSymmetricEncryption => info(S::Aes256, KeyUsage::Encrypt, None),
        Alg::RsaSignPss2048Sha256 => info(S::Rsa2048, Sign, Some(RsaPssSha256)),
        Alg::RsaSignPss3072Sha256 => info(S::Rsa3072, Sign, Some(RsaPssSha256)),
        Alg::RsaSignPss4096Sha256 => info(S::Rsa4096, Sign, Some(RsaPssSha256)),
        Alg::RsaSignPkcs12048Sha256 => info(S::Rsa2048, Sign, Some(RsaPkcs1Sha256)),
        Alg::RsaSignPkcs13072Sha256 => info(S::Rsa3072, Sign, Some(RsaPkcs1Sha256)),
        Alg::RsaSignPkcs14096Sha256 => info(S::Rsa4096, Sign, Some(RsaPkcs1Sha256)),
        Alg::RsaSignPss4096Sha512 => info(S::Rsa4096, Sign, Some(RsaPssSha512)),
        Alg::RsaSignPkcs14096Sha512 => info(S::Rsa4096, Sign, Some(RsaPkcs1Sha512)),
        Alg::RsaDecryptOaep2048Sha256 => oaep(S::Rsa2048, true),
        Alg::RsaDecryptOaep3072Sha256 => oaep(S::Rsa3072, true),
        Alg::RsaDecryptOaep4096Sha256 => oaep(S::Rsa4096, true),
        Alg::RsaDecryptOaep2048Sha1 => oaep(S::Rsa2048, false),
        Alg::RsaDecryptOaep3072Sha1 => oaep(S::Rsa3072, false),
        Alg::RsaDecryptOaep4096Sha1 | Alg::RsaDecryptOaep4096Sha512 => oaep(S::Rsa4096, false),
        Alg::EcSignP256Sha256 => info(S::EcP256, Sign, Some(EcdsaSha256)),
        Alg::EcSignP384Sha384 => info(S::EcP384, Sign, Some(EcdsaSha384)),
        Alg::EcSignSecp256K1Sha256 => info(S::EcSecp256k1, Sign, Some(EcdsaSha256)),
        Alg::HmacSha256 => info(S::HmacSha256, Mac, None),
        Alg::HmacSha384 => info(S::HmacSha384, Mac, None),
        Alg::HmacSha512 => info(S::HmacSha512, Mac, None),
        _ => return None,
    })
}

/// The purpose and algorithm keygate creates a key of `spec` and `usage` with. RSA signing
/// keys get PSS (the first of [`KeySpec::signing_algorithms`]).
pub(crate) fn algorithm_for(spec: KeySpec, usage: KeyUsage) -> Option<(CryptoKeyPurpose, Alg)> {
    use CryptoKeyPurpose as P;
    Some(match (spec, usage) {
        (KeySpec::Aes256, KeyUsage::Encrypt) => (P::EncryptDecrypt, Alg::GoogleSymmetricEncryption),
        (KeySpec::Rsa2048, KeyUsage::Encrypt) => {
            (P::AsymmetricDecrypt, Alg::RsaDecryptOaep2048Sha256)
        }
        (KeySpec::Rsa3072, KeyUsage::Encrypt) => {
            (P::AsymmetricDecrypt, Alg::RsaDecryptOaep3072Sha256)
        }
        (KeySpec::Rsa4096, KeyUsage::Encrypt) => {
            (P::AsymmetricDecrypt, Alg::RsaDecryptOaep4096Sha256)
        }
        (KeySpec::Rsa2048, KeyUsage::Sign) => (P::AsymmetricSign, Alg::RsaSignPss2048Sha256),
        (KeySpec::Rsa3072, KeyUsage::Sign) => (P::AsymmetricSign, Alg::RsaSignPss3072Sha256),
        (KeySpec::Rsa4096, KeyUsage::Sign) => (P::AsymmetricSign, Alg::RsaSignPss4096Sha256),
        (KeySpec::EcP256, KeyUsage::Sign) => (P::AsymmetricSign, Alg::EcSignP256Sha256),
        (KeySpec::EcP384, KeyUsage::Sign) => (P::AsymmetricSign, Alg::EcSignP384Sha384),
        (KeySpec::EcSecp256k1, KeyUsage::Sign) => (P::AsymmetricSign, Alg::EcSignSecp256K1Sha256),
        (KeySpec::HmacSha256, KeyUsage::Mac) => (P::Mac, Alg::HmacSha256),
        (KeySpec::HmacSha384, KeyUsage::Mac) => (P::Mac, Alg::HmacSha384),
        (KeySpec::HmacSha512, KeyUsage::Mac) => (P::Mac, Alg::HmacSha512),
        _ => return None,
    })
}

/// When a version's material is (DESTROY_SCHEDULED) or was (DESTROYED) destroyed: Cloud
/// KMS's `destroyTime`, or for a destroyed version its `destroyEventTime` when it has one.
pub(crate) fn destroy_time(v: &CryptoKeyVersion) -> Option<OffsetDateTime> {
    match version_state(&v.state) {
        VersionState::DestroyScheduled => v.destroy_time.as_ref().map(to_time),
        VersionState::Destroyed => v
            .destroy_event_time
            .as_ref()
            .or(v.destroy_time.as_ref())
            .map(to_time),
        _ => None,
    }
}

/// The keygate state of a version state. A version being generated counts as enabled (it
/// becomes usable within seconds; a call that meets it meanwhile is `InvalidState`); one being
/// imported as disabled; failed generations and imports as destroyed (there is no material).
pub(crate) fn version_state(state: &VState) -> VersionState {
    match state {
        VState::Enabled | VState::PendingGeneration => VersionState::Enabled,
        VState::DestroyScheduled | VState::PendingExternalDestruction => {
            VersionState::DestroyScheduled
        }
        VState::Destroyed
        | VState::GenerationFailed
        | VState::ImportFailed
        | VState::ExternalDestructionFailed => VersionState::Destroyed,
        _ => VersionState::Disabled,
    }
}

/// A timestamp as `time` has it (Cloud KMS's timestamps are always in range).
pub(crate) fn to_time(ts: &wkt::Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(ts.seconds())
        .map(|t| t + time::Duration::nanoseconds(i64::from(ts.nanos())))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A `time` value as a timestamp.
pub(crate) fn to_timestamp(t: OffsetDateTime) -> wkt::Timestamp {
    wkt::Timestamp::clamp(
        t.unix_timestamp(),
        i32::try_from(t.nanosecond()).unwrap_or(0),
    )
}

/// The id at the end of a resource name (`.../cryptoKeyVersions/3` → `3`).
pub(crate) fn last_segment(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// Versions in keygate's order: oldest first (numeric ids compare as numbers).
fn version_order(v: &CryptoKeyVersion) -> (u64, String) {
    let id = last_segment(&v.name);
    (id.parse::<u64>().unwrap_or(u64::MAX), id.to_owned())
}

/// CRC32C as Cloud KMS's checksum fields carry it.
pub(crate) fn crc(bytes: &[u8]) -> i64 {
    i64::from(crc32c::crc32c(bytes))
}

/// A key as read from Cloud KMS: the CryptoKey, what keygate makes of it, and (for keys
/// without a primary version) its versions, oldest first.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    /// The key's id (the last segment of its name).
    pub id: String,
    /// The CryptoKey.
    pub raw: CryptoKey,
    /// The algorithm of its version template.
    pub alg: AlgInfo,
    /// Every version, oldest first: read for keys other than ENCRYPT_DECRYPT, and whenever
    /// an operation needs them.
    pub versions: Option<Vec<CryptoKeyVersion>>,
}

impl Key {
    /// True for ENCRYPT_DECRYPT keys (Cloud KMS's `primary` exists only for them).
    pub fn symmetric(&self) -> bool {
        self.raw.purpose == CryptoKeyPurpose::EncryptDecrypt
    }

    /// The primary version: Cloud KMS's `primary` for symmetric keys; otherwise the newest
    /// ENABLED (or generating) version, else the newest one not destroyed, else the newest.
    pub fn primary(&self) -> Option<&CryptoKeyVersion> {
        if self.symmetric() {
            return self.raw.primary.as_ref();
        }
        let versions = self.versions.as_deref()?;
        let newest =
            |pred: &dyn Fn(&CryptoKeyVersion) -> bool| versions.iter().rev().find(|v| pred(v));
        newest(&|v| version_state(&v.state) == VersionState::Enabled)
            .or_else(|| {
                newest(&|v| {
                    matches!(
                        version_state(&v.state),
                        VersionState::Disabled | VersionState::DestroyScheduled
                    )
                })
            })
            .or_else(|| versions.last())
    }

    /// The primary version with its own state: as the versions list shows it when the
    /// versions were read, else as the CryptoKey carries it.
    fn primary_own(&self) -> Option<&CryptoKeyVersion> {
        let p = self.primary()?;
        self.version(last_segment(&p.name)).or(Some(p))
    }

    /// The primary version's id.
    pub fn primary_id(&self) -> Option<String> {
        self.primary().map(|v| last_segment(&v.name).to_owned())
    }

    /// The version called `id`, when the versions were read.
    pub fn version(&self, id: &str) -> Option<&CryptoKeyVersion> {
        self.versions
            .as_deref()?
            .iter()
            .find(|v| last_segment(&v.name) == id)
    }

    /// keygate's state of the key: the primary's for symmetric keys; otherwise enabled when
    /// any version is, disabled when any is, pending deletion when versions are scheduled for
    /// destruction (at the latest destroy time), destroyed when all are.
    pub fn state(&self) -> KeyState {
        let of = |v: &CryptoKeyVersion| version_state(&v.state);
        let pending = |versions: &mut dyn Iterator<Item = &CryptoKeyVersion>| {
            let date = versions
                .filter_map(|v| v.destroy_time.as_ref().map(to_time))
                .max()
                .unwrap_or_else(OffsetDateTime::now_utc);
            KeyState::PendingDeletion {
                deletion_date: date,
            }
        };
        if self.symmetric() {
            return match self.primary_own() {
                None => KeyState::Disabled,
                Some(p) => match of(p) {
                    VersionState::Enabled => KeyState::Enabled,
                    VersionState::Disabled => KeyState::Disabled,
                    VersionState::DestroyScheduled => pending(&mut std::iter::once(p)),
                    _ => KeyState::Destroyed,
                },
            };
        }
        let versions = self.versions.as_deref().unwrap_or_default();
        let any = |s: VersionState| versions.iter().any(|v| of(v) == s);
        if any(VersionState::Enabled) {
            KeyState::Enabled
        } else if any(VersionState::Disabled) || versions.is_empty() {
            KeyState::Disabled
        } else if any(VersionState::DestroyScheduled) {
            pending(
                &mut versions
                    .iter()
                    .filter(|v| of(v) == VersionState::DestroyScheduled),
            )
        } else {
            KeyState::Destroyed
        }
    }

    /// The rotation schedule: `rotationPeriod` (in whole days, at least one) and
    /// `nextRotationTime`.
    pub fn rotation(&self) -> Option<RotationSchedule> {
        let period = self.raw.rotation_period()?;
        let days = u32::try_from((period.seconds() / DAY).max(1)).unwrap_or(u32::MAX);
        Some(RotationSchedule {
            period_days: days,
            next_rotation: self.raw.next_rotation_time.as_ref().map(to_time),
        })
    }

    /// The destroy-scheduled duration, in whole days (Cloud KMS's default, 30, when unset).
    pub fn destroy_days(&self) -> i64 {
        self.raw
            .destroy_scheduled_duration
            .as_ref()
            .map_or(30, |d| d.seconds() / DAY)
    }

    /// The keygate versions, oldest first.
    pub fn keygate_versions(&self) -> Vec<KeyVersion> {
        let primary = self.primary_id();
        let all: Vec<CryptoKeyVersion> = match (&self.versions, &self.raw.primary) {
            (Some(v), _) => v.clone(),
            (None, Some(p)) => vec![p.clone()],
            (None, None) => Vec::new(),
        };
        all.iter()
            .map(|v| {
                let id = last_segment(&v.name).to_owned();
                KeyVersion {
                    primary: Some(&id) == primary.as_ref(),
                    id,
                    created: v
                        .create_time
                        .as_ref()
                        .map_or(OffsetDateTime::UNIX_EPOCH, to_time),
                    state: version_state(&v.state),
                    destroy_time: destroy_time(v),
                    rotation: None,
                }
            })
            .collect()
    }

    /// Refuses a key whose usage is not `usage` ([`Error::InvalidState`], as the contract
    /// orders it).
    pub fn require_usage(&self, usage: KeyUsage, op: &str) -> Result<()> {
        if self.alg.usage == usage {
            Ok(())
        } else {
            Err(Error::state(format!(
                "{op}: key `{}` is a {} {} key",
                self.id, self.alg.spec, self.alg.usage
            )))
        }
    }

    /// The version an operation uses: `version` when one is named (it must exist,
    /// [`Error::NotFound`], and be ENABLED, else [`Error::InvalidState`] naming its state),
    /// else the usable primary. Needs the versions read.
    pub fn usable_version(&self, version: Option<&str>, op: &str) -> Result<&CryptoKeyVersion> {
        let Some(id) = version else {
            return self.usable_primary(op);
        };
        let v = self.version(id).ok_or_else(|| {
            Error::not_found(format!("{op}: key `{}` has no version `{id}`", self.id))
        })?;
        match version_state(&v.state) {
            VersionState::Enabled if v.state == VState::Enabled => Ok(v),
            VersionState::Enabled => Err(Error::state(format!(
                "{op}: version {id} of key `{}` is still being generated",
                self.id
            ))),
            state => Err(keygate_core::version::version_not_usable(
                &self.id, id, state,
            )),
        }
    }

    /// The primary version, which must be usable ([`Error::InvalidState`] otherwise).
    pub fn usable_primary(&self, op: &str) -> Result<&CryptoKeyVersion> {
        // A primary that is not enabled is named with its own state (as read with the
        // versions, else as the CryptoKey carries it).
        if let Some(own) = self.primary_own() {
            match version_state(&own.state) {
                VersionState::Enabled => {}
                state => {
                    return Err(keygate_core::version::version_not_usable(
                        &self.id,
                        last_segment(&own.name),
                        state,
                    ));
                }
            }
        }
        let state = self.state();
        if !state.is_usable() {
            return Err(Error::state(format!("{op}: key `{}` is {state}", self.id)));
        }
        self.primary()
            .filter(|v| v.state == VState::Enabled)
            .ok_or_else(|| {
                Error::state(format!(
                    "{op}: key `{}` has no enabled version yet (still being generated?)",
                    self.id
                ))
            })
    }
}

/// The Cloud KMS client of one key ring, with the settings of the keys keygate creates.
pub(crate) struct Kms {
    /// The SDK client (it holds the credentials).
    pub client: KeyManagementService,
    /// The provider's registered name, for errors and logs.
    pub provider: String,
    /// `projects/p/locations/l/keyRings/r`.
    pub ring: String,
    /// The protection level of keys keygate creates.
    pub protection: ProtectionLevel,
    /// The destroy-scheduled duration of keys keygate creates, in days.
    pub destroy_days: u32,
    /// Public keys by version name, as DER (they never change).
    pub public_keys: Mutex<HashMap<String, Vec<u8>>>,
}

impl Kms {
    /// The resource name of key `id`.
    pub fn key_name(&self, id: &str) -> String {
        format!("{}/cryptoKeys/{id}", self.ring)
    }

    /// The resource name of version `version` of key `id`.
    pub fn version_name(&self, id: &str, version: &str) -> String {
        format!("{}/cryptoKeys/{id}/cryptoKeyVersions/{version}", self.ring)
    }

    /// A closure turning an SDK error into keygate's, naming the operation.
    pub fn err<'a>(&'a self, what: &'a str) -> impl Fn(google_cloud_kms_v1::Error) -> Error + 'a {
        move |e| from_sdk(&e, &self.provider, what)
    }

    /// What keygate makes of a CryptoKey read from Cloud KMS.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for an algorithm keygate has no spec for.
    pub fn wrap(&self, raw: CryptoKey, versions: Option<Vec<CryptoKeyVersion>>) -> Result<Key> {
        let id = last_segment(&raw.name).to_owned();
        let template = raw
            .version_template
            .as_ref()
            .map(|t| t.algorithm.clone())
            .or_else(|| raw.primary.as_ref().map(|p| p.algorithm.clone()))
            .unwrap_or(Alg::Unspecified);
        let alg = alg_info(&template).ok_or_else(|| {
            Error::unsupported(format!(
                "provider `{}`: key `{id}` has algorithm {}, which keygate does not model",
                self.provider,
                template.name().unwrap_or("unknown")
            ))
        })?;
        Ok(Key {
            id,
            raw,
            alg,
            versions,
        })
    }

    /// Reads key `id`; with `versions` (or when the key has no primary version) its versions
    /// too, in parallel.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a malformed id; [`Error::NotFound`] for an unknown key.
    pub async fn key(&self, id: &str, versions: bool) -> Result<Key> {
        check_id("crypto key", id)?;
        let what = format!("get_crypto_key({id})");
        let get = async {
            self.client
                .get_crypto_key()
                .set_name(self.key_name(id))
                .send()
                .await
                .map_err(self.err(&what))
        };
        // Only ENCRYPT_DECRYPT keys have a primary; the purpose is known after the read, so
        // the versions are read alongside unless the caller said they are not needed.
        let (raw, list) = tokio::join!(get, async {
            if versions {
                Some(self.versions(id).await)
            } else {
                None
            }
        });
        let raw = raw?;
        let mut list = list.transpose()?;
        if list.is_none() && raw.purpose != CryptoKeyPurpose::EncryptDecrypt {
            list = Some(self.versions(id).await?);
        }
        self.wrap(raw, list)
    }

    /// Every version of key `id`, oldest first.
    pub async fn versions(&self, id: &str) -> Result<Vec<CryptoKeyVersion>> {
        let what = format!("list_crypto_key_versions({id})");
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .client
                .list_crypto_key_versions()
                .set_parent(self.key_name(id))
                .set_page_size(MAX_PAGE)
                .set_page_token(token.clone())
                .send()
                .await
                .map_err(self.err(&what))?;
            out.extend(page.crypto_key_versions);
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        out.sort_by_key(version_order);
        Ok(out)
    }

    /// Waits (a few seconds at most) until version `name` is no longer being generated, and
    /// returns it: asymmetric versions are generated in the background.
    pub async fn generated(&self, version: CryptoKeyVersion) -> Result<CryptoKeyVersion> {
        let start = std::time::Instant::now();
        let mut delay = std::time::Duration::from_millis(200);
        let mut current = version;
        while current.state == VState::PendingGeneration && start.elapsed() < GENERATION_WAIT {
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(std::time::Duration::from_secs(3));
            let what = format!("get_crypto_key_version({})", current.name);
            current = self
                .client
                .get_crypto_key_version()
                .set_name(current.name.clone())
                .send()
                .await
                .map_err(self.err(&what))?;
        }
        Ok(current)
    }

    /// The public key of version `version_name` as SPKI DER, checked against its CRC32C.
    pub async fn public_key_der(&self, version_name: &str) -> Result<Vec<u8>> {
        if let Some(der) = self
            .public_keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(version_name)
        {
            return Ok(der.clone());
        }
        let what = format!("get_public_key({version_name})");
        let pk = self
            .client
            .get_public_key()
            .set_name(version_name)
            .send()
            .await
            .map_err(self.err(&what))?;
        if let Some(sum) = pk.pem_crc32c
            && sum != crc(pk.pem.as_bytes())
        {
            return Err(Error::unavailable(format!(
                "{}: {what}: the PEM does not match its checksum (corrupted in transit)",
                self.provider
            )));
        }
        let der = pem_to_der(&pk.pem).ok_or_else(|| {
            Error::provider(
                &self.provider,
                format!("{what}: the answer is not a PEM public key"),
            )
        })?;
        let mut cache = self.public_keys.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= PUBLIC_KEY_CACHE {
            cache.clear();
        }
        cache.insert(version_name.to_owned(), der.clone());
        Ok(der)
    }
}

/// The DER inside a `-----BEGIN PUBLIC KEY-----` PEM block.
pub(crate) fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let body = pem
        .trim()
        .strip_prefix("-----BEGIN PUBLIC KEY-----")?
        .trim_end()
        .strip_suffix("-----END PUBLIC KEY-----")?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: &str, state: VState, destroy: Option<i64>) -> CryptoKeyVersion {
        let mut v = CryptoKeyVersion::new()
            .set_name(format!(
                "projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/{id}"
            ))
            .set_state(state);
        v.destroy_time = destroy.map(|s| wkt::Timestamp::clamp(s, 0));
        v
    }

    fn key(purpose: CryptoKeyPurpose, alg: Alg, versions: Vec<CryptoKeyVersion>) -> Key {
        let raw = CryptoKey::new()
            .set_name("projects/p/locations/l/keyRings/r/cryptoKeys/k")
            .set_purpose(purpose);
        Key {
            id: "k".into(),
            raw,
            alg: alg_info(&alg).unwrap(),
            versions: Some(versions),
        }
    }

    #[test]
    fn ids_follow_cloud_kms_rules() {
        for good in ["a", "kgc-x_1", &"a".repeat(63)] {
            check_id("crypto key", good).unwrap();
        }
        for bad in ["", "a b", "a/b", "ä", &"a".repeat(64)] {
            assert!(check_id("crypto key", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_spec_and_usage_has_an_algorithm_that_maps_back() {
        for spec in KeySpec::ALL {
            if spec == KeySpec::EcP521 {
                // Cloud KMS has no P-521 algorithm.
                assert!(algorithm_for(spec, KeyUsage::Sign).is_none());
                continue;
            }
            for &usage in spec.usages() {
                let (_, alg) = algorithm_for(spec, usage).unwrap();
                let back = alg_info(&alg).unwrap();
                assert_eq!((back.spec, back.usage), (spec, usage), "{alg:?}");
                if usage == KeyUsage::Sign {
                    assert_eq!(back.signing, spec.signing_algorithms().first().copied());
                }
            }
        }
        assert_eq!(alg_info(&Alg::EcSignEd25519), None);
        let sha512 = alg_info(&Alg::RsaSignPkcs14096Sha512).unwrap();
        assert_eq!(
            (sha512.spec, sha512.signing),
            (KeySpec::Rsa4096, Some(SigningAlgorithm::RsaPkcs1Sha512))
        );
        assert!(!alg_info(&Alg::RsaDecryptOaep2048Sha1).unwrap().oaep_sha256);
    }

    #[test]
    fn asymmetric_primary_is_the_newest_enabled_version() {
        let k = key(
            CryptoKeyPurpose::AsymmetricSign,
            Alg::EcSignP256Sha256,
            vec![
                version("1", VState::Enabled, None),
                version("2", VState::Enabled, None),
                version("10", VState::Disabled, None),
            ],
        );
        assert_eq!(k.primary_id().as_deref(), Some("2"));
        assert_eq!(k.state(), KeyState::Enabled);
        let ids: Vec<_> = k
            .keygate_versions()
            .into_iter()
            .map(|v| (v.id, v.primary))
            .collect();
        assert_eq!(
            ids,
            [
                ("1".into(), false),
                ("2".into(), true),
                ("10".into(), false)
            ]
        );
    }

    #[test]
    fn key_state_follows_the_versions() {
        let state = |vs| key(CryptoKeyPurpose::Mac, Alg::HmacSha256, vs).state();
        assert_eq!(
            state(vec![
                version("1", VState::Disabled, None),
                version("2", VState::Destroyed, None)
            ]),
            KeyState::Disabled
        );
        assert_eq!(
            state(vec![
                version("1", VState::DestroyScheduled, Some(1_000)),
                version("2", VState::DestroyScheduled, Some(2_000))
            ]),
            KeyState::PendingDeletion {
                deletion_date: OffsetDateTime::from_unix_timestamp(2_000).unwrap()
            }
        );
        assert_eq!(
            state(vec![version("1", VState::Destroyed, None)]),
            KeyState::Destroyed
        );
        assert_eq!(
            state(vec![version("1", VState::PendingGeneration, None)]),
            KeyState::Enabled
        );
    }

    #[test]
    fn pem_decodes_to_der() {
        let pem = "-----BEGIN PUBLIC KEY-----\nAAEC\nAwQ=\n-----END PUBLIC KEY-----\n";
        assert_eq!(pem_to_der(pem), Some(vec![0, 1, 2, 3, 4]));
        assert_eq!(pem_to_der("garbage"), None);
    }

    #[test]
    fn times_roundtrip() {
        let t = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
            + time::Duration::nanoseconds(5);
        assert_eq!(to_time(&to_timestamp(t)), t);
    }
}
