//! Cloud KMS resources as keygate models them: purposes and algorithms mapped to key specs,
//! states mapped to Cloud KMS states, and the JSON of KeyRing, CryptoKey and
//! CryptoKeyVersion.

use keygate_core::{KeyMetadata, KeySpec, KeyState, KeyUsage, SigningAlgorithm, VersionState};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::error::{GcpError, GcpResult};
use super::path::{KeyName, RingName, VersionName};
use super::wire::{EnumTable, duration, timestamp};

/// `CryptoKey.CryptoKeyPurpose`.
pub const PURPOSES: EnumTable = &[
    ("CRYPTO_KEY_PURPOSE_UNSPECIFIED", 0),
    ("ENCRYPT_DECRYPT", 1),
    ("ASYMMETRIC_SIGN", 5),
    ("ASYMMETRIC_DECRYPT", 6),
    ("RAW_ENCRYPT_DECRYPT", 7),
    ("MAC", 9),
    ("KEY_ENCAPSULATION", 10),
    ("AES_WRAPPING", 11),
];

/// `ProtectionLevel`.
pub const PROTECTION_LEVELS: EnumTable = &[
    ("PROTECTION_LEVEL_UNSPECIFIED", 0),
    ("SOFTWARE", 1),
    ("HSM", 2),
    ("EXTERNAL", 3),
    ("EXTERNAL_VPC", 4),
    ("HSM_SINGLE_TENANT", 5),
];

/// `CryptoKeyVersion.CryptoKeyVersionState` (the values keygate reports or accepts).
pub const VERSION_STATES: EnumTable = &[
    ("CRYPTO_KEY_VERSION_STATE_UNSPECIFIED", 0),
    ("ENABLED", 1),
    ("DISABLED", 2),
    ("DESTROYED", 3),
    ("DESTROY_SCHEDULED", 4),
    ("PENDING_GENERATION", 5),
];

/// `CryptoKeyVersion.CryptoKeyVersionAlgorithm`: every value Cloud KMS defines that a client
/// may send (so an unsupported one is named in the error, not refused as malformed).
pub const ALGORITHMS: EnumTable = &[
    ("CRYPTO_KEY_VERSION_ALGORITHM_UNSPECIFIED", 0),
    ("GOOGLE_SYMMETRIC_ENCRYPTION", 1),
    ("RSA_SIGN_PSS_2048_SHA256", 2),
    ("RSA_SIGN_PSS_3072_SHA256", 3),
    ("RSA_SIGN_PSS_4096_SHA256", 4),
    ("RSA_SIGN_PKCS1_2048_SHA256", 5),
    ("RSA_SIGN_PKCS1_3072_SHA256", 6),
    ("RSA_SIGN_PKCS1_4096_SHA256", 7),
    ("RSA_DECRYPT_OAEP_2048_SHA256", 8),
    ("RSA_DECRYPT_OAEP_3072_SHA256", 9),
    ("RSA_DECRYPT_OAEP_4096_SHA256", 10),
    ("EC_SIGN_P256_SHA256", 12),
    ("EC_SIGN_P384_SHA384", 13),
    ("RSA_SIGN_PSS_4096_SHA512", 15),
    ("RSA_SIGN_PKCS1_4096_SHA512", 16),
    ("RSA_DECRYPT_OAEP_4096_SHA512", 17),
    ("EXTERNAL_SYMMETRIC_ENCRYPTION", 18),
    ("AES_256_GCM", 19),
    ("RSA_SIGN_RAW_PKCS1_2048", 28),
    ("RSA_SIGN_RAW_PKCS1_3072", 29),
    ("RSA_SIGN_RAW_PKCS1_4096", 30),
    ("EC_SIGN_SECP256K1_SHA256", 31),
    ("HMAC_SHA256", 32),
    ("HMAC_SHA1", 33),
    ("HMAC_SHA384", 34),
    ("HMAC_SHA512", 35),
    ("HMAC_SHA224", 36),
    ("RSA_DECRYPT_OAEP_2048_SHA1", 37),
    ("RSA_DECRYPT_OAEP_3072_SHA1", 38),
    ("RSA_DECRYPT_OAEP_4096_SHA1", 39),
    ("EC_SIGN_ED25519", 40),
    ("AES_128_GCM", 41),
    ("AES_128_CBC", 42),
    ("AES_256_CBC", 43),
    ("AES_128_CTR", 44),
    ("AES_256_CTR", 45),
];

/// A Cloud KMS algorithm keygate serves, and what it is in keygate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Algorithm {
    /// The Cloud KMS name.
    pub name: &'static str,
    /// The purpose it belongs to.
    pub purpose: &'static str,
    /// The keygate spec.
    pub spec: KeySpec,
    /// The keygate usage.
    pub usage: KeyUsage,
    /// The signing algorithm, for ASYMMETRIC_SIGN.
    pub signing: Option<SigningAlgorithm>,
    /// The digest field (`sha256`, `sha384`, `sha512`) signing takes, for ASYMMETRIC_SIGN.
    pub digest: Option<&'static str>,
}

const fn algo(
    name: &'static str,
    purpose: &'static str,
    spec: KeySpec,
    usage: KeyUsage,
    signing: Option<SigningAlgorithm>,
    digest: Option<&'static str>,
) -> Algorithm {
    Algorithm {
        name,
        purpose,
        spec,
        usage,
        signing,
        digest,
    }
}

const SIGN: &str = "ASYMMETRIC_SIGN";
const DEC: &str = "ASYMMETRIC_DECRYPT";
const PSS: Option<SigningAlgorithm> = Some(SigningAlgorithm::RsaPssSha256);
const PKCS1: Option<SigningAlgorithm> = Some(SigningAlgorithm::RsaPkcs1Sha256);
const SHA256: Option<&str> = Some("sha256");

/// The algorithms keygate serves; the first of each (spec, usage) is its default.
pub const SUPPORTED: &[Algorithm] = &[
    algo(
        "GOOGLE_SYMMETRIC_ENCRYPTION",
        "ENCRYPT_DECRYPT",
        KeySpec::Aes256,
        KeyUsage::Encrypt,
        None,
        None,
    ),
    algo(
        "RSA_SIGN_PSS_2048_SHA256",
        SIGN,
        KeySpec::Rsa2048,
        KeyUsage::Sign,
        PSS,
        SHA256,
    ),
    algo(
        "RSA_SIGN_PSS_3072_SHA256",
        SIGN,
        KeySpec::Rsa3072,
        KeyUsage::Sign,
        PSS,
        SHA256,
    ),
    algo(
        "RSA_SIGN_PSS_4096_SHA256",
        SIGN,
        KeySpec::Rsa4096,
        KeyUsage::Sign,
        PSS,
        SHA256,
    ),
    algo(
        "RSA_SIGN_PKCS1_2048_SHA256",
        SIGN,
        KeySpec::Rsa2048,
        KeyUsage::Sign,
        PKCS1,
        SHA256,
    ),
    algo(
        "RSA_SIGN_PKCS1_3072_SHA256",
        SIGN,
        KeySpec::Rsa3072,
        KeyUsage::Sign,
        PKCS1,
        SHA256,
    ),
    algo(
        "RSA_SIGN_PKCS1_4096_SHA256",
        SIGN,
        KeySpec::Rsa4096,
        KeyUsage::Sign,
        PKCS1,
        SHA256,
    ),
    algo(
        "EC_SIGN_P256_SHA256",
        SIGN,
        KeySpec::EcP256,
        KeyUsage::Sign,
        Some(SigningAlgorithm::EcdsaSha256),
        SHA256,
    ),
    algo(
        "EC_SIGN_P384_SHA384",
        SIGN,
        KeySpec::EcP384,
        KeyUsage::Sign,
        Some(SigningAlgorithm::EcdsaSha384),
        Some("sha384"),
    ),
    algo(
        "EC_SIGN_SECP256K1_SHA256",
        SIGN,
        KeySpec::EcSecp256k1,
        KeyUsage::Sign,
        Some(SigningAlgorithm::EcdsaSha256),
        SHA256,
    ),
    algo(
        "RSA_SIGN_PSS_4096_SHA512",
        SIGN,
        KeySpec::Rsa4096,
        KeyUsage::Sign,
        Some(SigningAlgorithm::RsaPssSha512),
        Some("sha512"),
    ),
    algo(
        "RSA_SIGN_PKCS1_4096_SHA512",
        SIGN,
        KeySpec::Rsa4096,
        KeyUsage::Sign,
        Some(SigningAlgorithm::RsaPkcs1Sha512),
        Some("sha512"),
    ),
    algo(
        "RSA_DECRYPT_OAEP_2048_SHA256",
        DEC,
        KeySpec::Rsa2048,
        KeyUsage::Encrypt,
        None,
        None,
    ),
    algo(
        "RSA_DECRYPT_OAEP_3072_SHA256",
        DEC,
        KeySpec::Rsa3072,
        KeyUsage::Encrypt,
        None,
        None,
    ),
    algo(
        "RSA_DECRYPT_OAEP_4096_SHA256",
        DEC,
        KeySpec::Rsa4096,
        KeyUsage::Encrypt,
        None,
        None,
    ),
    algo(
        "HMAC_SHA256",
        "MAC",
        KeySpec::HmacSha256,
        KeyUsage::Mac,
        None,
        None,
    ),
    algo(
        "HMAC_SHA384",
        "MAC",
        KeySpec::HmacSha384,
        KeyUsage::Mac,
        None,
        None,
    ),
    algo(
        "HMAC_SHA512",
        "MAC",
        KeySpec::HmacSha512,
        KeyUsage::Mac,
        None,
        None,
    ),
];

impl Algorithm {
    /// The algorithm a create request asks for, checked against its purpose.
    ///
    /// # Errors
    /// [`GcpError::invalid`] naming an algorithm keygate does not serve or one of another
    /// purpose.
    pub fn for_create(purpose: &str, algorithm: Option<&str>) -> GcpResult<Self> {
        let name = match (purpose, algorithm) {
            (_, Some(a)) if a != "CRYPTO_KEY_VERSION_ALGORITHM_UNSPECIFIED" => a,
            ("ENCRYPT_DECRYPT", _) => "GOOGLE_SYMMETRIC_ENCRYPTION",
            _ => {
                return Err(GcpError::invalid(
                    "The field 'crypto_key.version_template.algorithm' is required for this purpose.",
                ));
            }
        };
        let found = Self::named(name).ok_or_else(|| {
            GcpError::invalid(format!(
                "Algorithm {name} is not supported by keygate (supported: {}).",
                SUPPORTED
                    .iter()
                    .map(|a| a.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if found.purpose != purpose {
            return Err(GcpError::invalid(format!(
                "Algorithm {name} is not compatible with purpose {purpose}."
            )));
        }
        Ok(found)
    }

    /// The supported algorithm called `name`.
    pub fn named(name: &str) -> Option<Self> {
        SUPPORTED.iter().find(|a| a.name == name).copied()
    }

    /// The default algorithm of a keygate key (keys made outside the dialect).
    pub fn default_for(spec: KeySpec, usage: KeyUsage) -> Option<Self> {
        SUPPORTED
            .iter()
            .find(|a| a.spec == spec && a.usage == usage)
            .copied()
    }

    /// The algorithm of `meta`: the recorded one when it still fits the key, else the
    /// default of its spec and usage.
    pub fn of(meta: &KeyMetadata, recorded: Option<&str>) -> Option<Self> {
        recorded
            .and_then(Self::named)
            .filter(|a| a.spec == meta.spec && a.usage == meta.usage)
            .or_else(|| Self::default_for(meta.spec, meta.usage))
    }
}

/// The Cloud KMS state of a version of state `v` in a key of state `key` (when known): the
/// version's own state, unless the key as a whole is destroyed, pending deletion or disabled
/// (keygate's whole-key state wins over version states).
pub fn version_state(key: Option<&KeyState>, v: VersionState) -> &'static str {
    match (key, v) {
        (Some(KeyState::Destroyed), _) | (_, VersionState::Destroyed) => "DESTROYED",
        (Some(KeyState::PendingDeletion { .. }), _) | (_, VersionState::DestroyScheduled) => {
            "DESTROY_SCHEDULED"
        }
        (Some(KeyState::Disabled), _) | (_, VersionState::Disabled) => "DISABLED",
        _ => "ENABLED",
    }
}

/// A CryptoKeyVersion's JSON.
#[derive(Debug, Clone)]
pub struct VersionView<'a> {
    /// Its name.
    pub name: &'a VersionName,
    /// Its Cloud KMS state.
    pub state: &'static str,
    /// The key's algorithm, when known.
    pub algorithm: Option<&'static str>,
    /// When it was created, when known.
    pub created: Option<OffsetDateTime>,
    /// When its destruction is due, when scheduled.
    pub destroy_time: Option<OffsetDateTime>,
}

impl VersionView<'_> {
    /// The JSON.
    pub fn json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name.to_string()));
        m.insert("state".into(), json!(self.state));
        m.insert("protectionLevel".into(), json!("SOFTWARE"));
        if let Some(a) = self.algorithm {
            m.insert("algorithm".into(), json!(a));
        }
        if let Some(t) = self.created {
            m.insert("createTime".into(), json!(timestamp(t)));
            m.insert("generateTime".into(), json!(timestamp(t)));
        }
        if let Some(t) = self.destroy_time {
            m.insert("destroyTime".into(), json!(timestamp(t)));
        }
        Value::Object(m)
    }
}

/// What the dialect renders a CryptoKey from.
#[derive(Debug, Clone)]
pub struct KeyView<'a> {
    /// The name it is addressed by.
    pub name: &'a KeyName,
    /// keygate's metadata.
    pub meta: &'a KeyMetadata,
    /// Its algorithm.
    pub algorithm: Option<Algorithm>,
    /// destroyScheduledDuration, seconds.
    pub destroy_seconds: i64,
    /// The primary version's own state and destroy time, when they were read (else the
    /// key's state stands for it).
    pub primary_version: Option<(VersionState, Option<OffsetDateTime>)>,
    /// The label that carries the ring (hidden from `labels`).
    pub ring_label: &'a str,
}

impl KeyView<'_> {
    /// The CryptoKey JSON.
    pub fn json(&self) -> Value {
        let meta = self.meta;
        let purpose = self.algorithm.map_or(
            match meta.usage {
                KeyUsage::Sign => SIGN,
                KeyUsage::Mac => "MAC",
                _ => "ENCRYPT_DECRYPT",
            },
            |a| a.purpose,
        );
        let algorithm = self.algorithm.map(|a| a.name);
        let labels: serde_json::Map<String, Value> = meta
            .labels
            .iter()
            .filter(|(k, _)| k.as_str() != self.ring_label)
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name.to_string()));
        m.insert("purpose".into(), json!(purpose));
        m.insert("createTime".into(), json!(timestamp(meta.created)));
        m.insert(
            "versionTemplate".into(),
            json!({"protectionLevel": "SOFTWARE", "algorithm": algorithm.unwrap_or("CRYPTO_KEY_VERSION_ALGORITHM_UNSPECIFIED")}),
        );
        if !labels.is_empty() {
            m.insert("labels".into(), Value::Object(labels));
        }
        m.insert(
            "destroyScheduledDuration".into(),
            json!(duration(self.destroy_seconds)),
        );
        if let Some(r) = meta.rotation {
            m.insert(
                "rotationPeriod".into(),
                json!(duration(i64::from(r.period_days) * 86_400)),
            );
            if let Some(next) = r.next_rotation {
                m.insert("nextRotationTime".into(), json!(timestamp(next)));
            }
        }
        // Like Cloud KMS, only ENCRYPT_DECRYPT keys have a primary version.
        if purpose == "ENCRYPT_DECRYPT"
            && let Some(v) = &meta.primary_version
        {
            let name = self.name.version(v.clone());
            let (own, destroy) = self
                .primary_version
                .unwrap_or((VersionState::Enabled, None));
            let view = VersionView {
                name: &name,
                state: version_state(Some(&meta.state), own),
                algorithm,
                created: None,
                destroy_time: match meta.state {
                    KeyState::PendingDeletion { deletion_date } => Some(deletion_date),
                    _ => destroy,
                },
            };
            m.insert("primary".into(), view.json());
        }
        Value::Object(m)
    }
}

/// A KeyRing's JSON.
pub fn ring_json(name: &RingName, created: OffsetDateTime) -> Value {
    json!({"name": name.to_string(), "createTime": timestamp(created)})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithms_map_to_specs_and_check_their_purpose() {
        let a = Algorithm::for_create("ENCRYPT_DECRYPT", None).unwrap();
        assert_eq!((a.spec, a.usage), (KeySpec::Aes256, KeyUsage::Encrypt));
        let a = Algorithm::for_create(SIGN, Some("RSA_SIGN_PKCS1_3072_SHA256")).unwrap();
        assert_eq!(a.signing, PKCS1);
        assert_eq!(a.spec, KeySpec::Rsa3072);
        let e = Algorithm::for_create(SIGN, Some("EC_SIGN_ED25519")).unwrap_err();
        assert!(e.message.contains("EC_SIGN_SECP256K1_SHA256"));
        let a = Algorithm::for_create(SIGN, Some("EC_SIGN_SECP256K1_SHA256")).unwrap();
        assert_eq!(
            (a.spec, a.signing),
            (KeySpec::EcSecp256k1, Some(SigningAlgorithm::EcdsaSha256))
        );
        let a = Algorithm::for_create(SIGN, Some("RSA_SIGN_PSS_4096_SHA512")).unwrap();
        assert_eq!((a.spec, a.digest), (KeySpec::Rsa4096, Some("sha512")));
        // The SHA-512 algorithms follow the SHA-256 ones: RSA_4096's default stays PSS-SHA256.
        assert_eq!(
            Algorithm::default_for(KeySpec::Rsa4096, KeyUsage::Sign)
                .unwrap()
                .name,
            "RSA_SIGN_PSS_4096_SHA256"
        );
        assert!(Algorithm::for_create("MAC", Some("GOOGLE_SYMMETRIC_ENCRYPTION")).is_err());
        assert!(Algorithm::for_create(SIGN, None).is_err());
        assert_eq!(
            Algorithm::default_for(KeySpec::Rsa2048, KeyUsage::Encrypt)
                .unwrap()
                .name,
            "RSA_DECRYPT_OAEP_2048_SHA256"
        );
        for a in SUPPORTED {
            assert!(ALGORITHMS.iter().any(|(n, _)| *n == a.name), "{}", a.name);
            assert!(PURPOSES.iter().any(|(n, _)| *n == a.purpose));
        }
    }

    #[test]
    fn states_map_like_cloud_kms() {
        assert_eq!(version_state(None, VersionState::Enabled), "ENABLED");
        assert_eq!(version_state(None, VersionState::Disabled), "DISABLED");
        assert_eq!(
            version_state(Some(&KeyState::Disabled), VersionState::Enabled),
            "DISABLED"
        );
        assert_eq!(
            version_state(Some(&KeyState::Enabled), VersionState::DestroyScheduled),
            "DESTROY_SCHEDULED"
        );
        assert_eq!(
            version_state(Some(&KeyState::Enabled), VersionState::Destroyed),
            "DESTROYED"
        );
    }
}
