//! Imported key material ("bring your own key"), as AWS KMS defines it: a key created with
//! origin [`KeyOrigin::External`] starts without material ([`KeyState::PendingImport`]); its
//! owner asks for [`ImportParameters`] (an RSA wrapping public key and an opaque import
//! token, valid for [`PARAMETERS_VALIDITY`]), encrypts the material under the wrapping key
//! ([`wrap_material`]) and imports it with the token ([`ImportedMaterial`]). The material may
//! expire ([`ExpirationModel`]) or be deleted; the key then waits for the *same* material
//! again.
//!
//! [`KeyState::PendingImport`]: crate::KeyState::PendingImport

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::key_wrap::{AES_256, AesKek, KeyWrapPadded as _};
use aws_lc_rs::rand;
use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepAlgorithm, OaepPrivateDecryptingKey,
    OaepPublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::crypto::SecretBytes;
use crate::error::{Error, Result};

/// How long import parameters (the wrapping key and the token) stay valid: 24 hours, as in
/// AWS KMS.
pub const PARAMETERS_VALIDITY: Duration = Duration::hours(24);

/// The latest `valid_to` an import may set, from the time of the import: 365 days (AWS).
pub const MAX_MATERIAL_VALIDITY: Duration = Duration::days(365);

/// Length of the AES key that the `RSA_AES_KEY_WRAP_*` algorithms wrap the material with.
const AES_KEY_LEN: usize = 32;

/// Where a key's material came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeyOrigin {
    /// The provider made it (AWS KMS's `AWS_KMS`).
    #[default]
    Generated,
    /// Its owner imports it (AWS KMS's `EXTERNAL`).
    External,
}

impl KeyOrigin {
    /// The snake_case name (`generated`, `external`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generated => "generated",
            Self::External => "external",
        }
    }
}

impl fmt::Display for KeyOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyOrigin {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "generated" | "aws_kms" => Ok(Self::Generated),
            "external" => Ok(Self::External),
            _ => Err(Error::invalid(format!(
                "unknown key origin `{s}` (expected generated or external)"
            ))),
        }
    }
}

/// Whether imported material expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExpirationModel {
    /// It expires at its `valid_to`; the key then becomes `pending_import`.
    KeyMaterialExpires,
    /// It stays until deleted.
    KeyMaterialDoesNotExpire,
}

impl ExpirationModel {
    /// AWS's name (`KEY_MATERIAL_EXPIRES`, `KEY_MATERIAL_DOES_NOT_EXPIRE`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeyMaterialExpires => "KEY_MATERIAL_EXPIRES",
            Self::KeyMaterialDoesNotExpire => "KEY_MATERIAL_DOES_NOT_EXPIRE",
        }
    }
}

/// What [`KeyMetadata::import`](crate::KeyMetadata::import) says of a key of imported
/// material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportInfo {
    /// How the current material expires; `None` while the key has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_model: Option<ExpirationModel>,
    /// When the current material expires; `None` when it does not, or there is none.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub valid_to: Option<OffsetDateTime>,
}

/// Why an import was refused (see [`Error::ImportRejected`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImportFault {
    /// The import token's validity has passed (AWS `ExpiredImportTokenException`).
    ExpiredToken,
    /// The token is not one this key's provider issued for this key (AWS
    /// `InvalidImportTokenException`).
    InvalidToken,
    /// The material differs from the material the key had before (AWS
    /// `IncorrectKeyMaterialException`).
    IncorrectMaterial,
}

/// How material is encrypted for import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum WrappingAlgorithm {
    /// RSAES-OAEP with SHA-1 (and MGF1-SHA-1) of the material itself.
    #[serde(rename = "RSAES_OAEP_SHA_1")]
    RsaesOaepSha1,
    /// RSAES-OAEP with SHA-256 (and MGF1-SHA-256) of the material itself.
    #[serde(rename = "RSAES_OAEP_SHA_256")]
    RsaesOaepSha256,
    /// A random 256-bit AES key under RSAES-OAEP-SHA-1, followed by the material under that
    /// key with AES key wrap with padding (RFC 5649): for material too long for RSA alone.
    #[serde(rename = "RSA_AES_KEY_WRAP_SHA_1")]
    RsaAesKeyWrapSha1,
    /// As [`Self::RsaAesKeyWrapSha1`] with RSAES-OAEP-SHA-256.
    #[serde(rename = "RSA_AES_KEY_WRAP_SHA_256")]
    RsaAesKeyWrapSha256,
}

impl WrappingAlgorithm {
    /// Every wrapping algorithm.
    pub const ALL: [Self; 4] = [
        Self::RsaesOaepSha1,
        Self::RsaesOaepSha256,
        Self::RsaAesKeyWrapSha1,
        Self::RsaAesKeyWrapSha256,
    ];

    /// The name, as AWS spells it (`RSAES_OAEP_SHA_256`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RsaesOaepSha1 => "RSAES_OAEP_SHA_1",
            Self::RsaesOaepSha256 => "RSAES_OAEP_SHA_256",
            Self::RsaAesKeyWrapSha1 => "RSA_AES_KEY_WRAP_SHA_1",
            Self::RsaAesKeyWrapSha256 => "RSA_AES_KEY_WRAP_SHA_256",
        }
    }

    /// One byte naming the algorithm inside an import token.
    pub fn code(self) -> u8 {
        match self {
            Self::RsaesOaepSha1 => 1,
            Self::RsaesOaepSha256 => 2,
            Self::RsaAesKeyWrapSha1 => 3,
            Self::RsaAesKeyWrapSha256 => 4,
        }
    }

    /// The algorithm whose [`code`](Self::code) is `code`.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.code() == code)
    }

    fn oaep(self) -> &'static OaepAlgorithm {
        match self {
            Self::RsaesOaepSha1 | Self::RsaAesKeyWrapSha1 => &OAEP_SHA1_MGF1SHA1,
            Self::RsaesOaepSha256 | Self::RsaAesKeyWrapSha256 => &OAEP_SHA256_MGF1SHA256,
        }
    }

    fn is_key_wrap(self) -> bool {
        matches!(self, Self::RsaAesKeyWrapSha1 | Self::RsaAesKeyWrapSha256)
    }
}

impl fmt::Display for WrappingAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WrappingAlgorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let norm = s.trim().to_ascii_uppercase().replace('-', "_");
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == norm)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "unknown wrapping algorithm `{s}` (expected RSAES_OAEP_SHA_1, \
                     RSAES_OAEP_SHA_256, RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256)"
                ))
            })
    }
}

/// The size of the RSA wrapping key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum WrappingKeySpec {
    /// RSA 2048-bit.
    #[serde(rename = "RSA_2048")]
    Rsa2048,
    /// RSA 3072-bit.
    #[serde(rename = "RSA_3072")]
    Rsa3072,
    /// RSA 4096-bit.
    #[serde(rename = "RSA_4096")]
    Rsa4096,
}

impl WrappingKeySpec {
    /// Every wrapping key spec.
    pub const ALL: [Self; 3] = [Self::Rsa2048, Self::Rsa3072, Self::Rsa4096];

    /// The name (`RSA_2048`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rsa2048 => "RSA_2048",
            Self::Rsa3072 => "RSA_3072",
            Self::Rsa4096 => "RSA_4096",
        }
    }

    /// The modulus length in bytes.
    pub fn modulus_len(self) -> usize {
        match self {
            Self::Rsa2048 => 256,
            Self::Rsa3072 => 384,
            Self::Rsa4096 => 512,
        }
    }
}

impl fmt::Display for WrappingKeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WrappingKeySpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let norm = s.trim().to_ascii_uppercase().replace('-', "_");
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == norm)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "unknown wrapping key spec `{s}` (expected RSA_2048, RSA_3072 or RSA_4096)"
                ))
            })
    }
}

/// What a provider hands out for one import: the wrapping public key and the token that
/// goes back with the material.
#[derive(Clone, PartialEq, Eq)]
pub struct ImportParameters {
    /// The key's provider-native id.
    pub key_id: String,
    /// The wrapping public key, DER SubjectPublicKeyInfo.
    pub public_key: Vec<u8>,
    /// The opaque import token.
    pub import_token: Vec<u8>,
    /// The algorithm the material must be wrapped with.
    pub algorithm: WrappingAlgorithm,
    /// When the token and the wrapping key stop being accepted.
    pub valid_to: OffsetDateTime,
}

impl fmt::Debug for ImportParameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportParameters")
            .field("key_id", &self.key_id)
            .field(
                "public_key",
                &format_args!("<{} bytes>", self.public_key.len()),
            )
            .field("import_token", &"<redacted>")
            .field("algorithm", &self.algorithm)
            .field("valid_to", &self.valid_to)
            .finish()
    }
}

/// Wrapped material to import, with the token of the parameters it was wrapped for.
#[derive(Clone, PartialEq, Eq)]
pub struct ImportedMaterial {
    /// The token from [`ImportParameters::import_token`].
    pub import_token: Vec<u8>,
    /// The material, wrapped by [`wrap_material`] under the parameters' public key.
    pub encrypted_material: Vec<u8>,
    /// When the material expires; `None` for material that does not
    /// ([`ExpirationModel::KeyMaterialDoesNotExpire`]).
    pub valid_to: Option<OffsetDateTime>,
}

impl ImportedMaterial {
    /// The expiration model `valid_to` implies.
    pub fn expiration_model(&self) -> ExpirationModel {
        if self.valid_to.is_some() {
            ExpirationModel::KeyMaterialExpires
        } else {
            ExpirationModel::KeyMaterialDoesNotExpire
        }
    }

    /// Checks `valid_to` against `now`: in the future and at most
    /// [`MAX_MATERIAL_VALIDITY`] ahead.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] saying which bound is broken.
    pub fn check_valid_to(&self, now: OffsetDateTime) -> Result<()> {
        match self.valid_to {
            Some(t) if t <= now => Err(Error::invalid(
                "the material's expiry (ValidTo) must be in the future",
            )),
            Some(t) if t > now + MAX_MATERIAL_VALIDITY => Err(Error::invalid(
                "the material's expiry (ValidTo) may be at most 365 days from now",
            )),
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for ImportedMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportedMaterial")
            .field("import_token", &"<redacted>")
            .field(
                "encrypted_material",
                &format_args!("<{} bytes>", self.encrypted_material.len()),
            )
            .field("valid_to", &self.valid_to)
            .finish()
    }
}

/// Encrypts `material` for import under `public_key` (DER SubjectPublicKeyInfo of an RSA
/// key) with `algorithm`: what a key owner does with [`ImportParameters`].
///
/// # Errors
/// [`Error::InvalidArgument`] for a public key that is not RSA, or material too long for
/// RSAES-OAEP alone (use an `RSA_AES_KEY_WRAP_*` algorithm) or for AES key wrap.
pub fn wrap_material(
    public_key: &[u8],
    algorithm: WrappingAlgorithm,
    material: &[u8],
) -> Result<Vec<u8>> {
    let public = PublicEncryptingKey::from_der(public_key)
        .ok()
        .and_then(|k| OaepPublicEncryptingKey::new(k).ok())
        .ok_or_else(|| Error::invalid("the wrapping public key is not an RSA public key"))?;
    let oaep = |plaintext: &[u8]| -> Result<Vec<u8>> {
        let mut out = vec![0u8; public.ciphertext_size()];
        let len = public
            .encrypt(algorithm.oaep(), plaintext, &mut out, None)
            .map_err(|_| {
                Error::invalid(format!(
                    "the material is too long for {algorithm}; use RSA_AES_KEY_WRAP_SHA_256"
                ))
            })?
            .len();
        out.truncate(len);
        Ok(out)
    };
    if !algorithm.is_key_wrap() {
        return oaep(material);
    }
    let mut aes = Zeroizing::new([0u8; AES_KEY_LEN]);
    rand::fill(aes.as_mut_slice()).map_err(|_| Error::unavailable("random generator failed"))?;
    let mut out = oaep(aes.as_slice())?;
    let kek =
        AesKek::new(&AES_256, aes.as_slice()).map_err(|_| Error::invalid("AES key wrap key"))?;
    let mut wrapped = vec![0u8; material.len() + 15];
    let len = kek
        .wrap_with_padding(material, &mut wrapped)
        .map_err(|_| Error::invalid("the material is too long for AES key wrap"))?
        .len();
    out.extend_from_slice(&wrapped[..len]);
    Ok(out)
}

/// Decrypts material that [`wrap_material`] (or an AWS KMS client) wrapped under the public
/// half of `private_key` (PKCS#8 DER) with `algorithm`.
///
/// # Errors
/// [`Error::IntegrityFailure`] for anything that does not decrypt (AWS KMS's
/// `InvalidCiphertextException`); [`Error::InvalidArgument`] for a private key that does not
/// parse.
pub fn unwrap_material(
    private_key: &[u8],
    algorithm: WrappingAlgorithm,
    wrapped: &[u8],
) -> Result<SecretBytes> {
    let private = PrivateDecryptingKey::from_pkcs8(private_key)
        .ok()
        .and_then(|k| OaepPrivateDecryptingKey::new(k).ok())
        .ok_or_else(|| Error::invalid("the wrapping private key does not parse"))?;
    let modulus = private.key_size_bytes();
    let oaep = |ciphertext: &[u8]| -> Result<SecretBytes> {
        let mut out = Zeroizing::new(vec![0u8; modulus]);
        let len = private
            .decrypt(algorithm.oaep(), ciphertext, &mut out, None)
            .map_err(|_| Error::IntegrityFailure)?
            .len();
        out.truncate(len);
        Ok(out)
    };
    if !algorithm.is_key_wrap() {
        return oaep(wrapped);
    }
    if wrapped.len() <= modulus {
        return Err(Error::IntegrityFailure);
    }
    let (head, body) = wrapped.split_at(modulus);
    let aes = oaep(head)?;
    if aes.len() != AES_KEY_LEN {
        return Err(Error::IntegrityFailure);
    }
    let kek = AesKek::new(&AES_256, &aes).map_err(|_| Error::IntegrityFailure)?;
    let mut out = Zeroizing::new(vec![0u8; body.len()]);
    let len = kek
        .unwrap_with_padding(body, &mut out)
        .map_err(|_| Error::IntegrityFailure)?
        .len();
    out.truncate(len);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rsa::KeySize;

    use super::*;

    #[test]
    fn every_algorithm_round_trips_and_a_changed_byte_fails() {
        let private = PrivateDecryptingKey::generate(KeySize::Rsa2048).unwrap();
        let pkcs8 = private.as_der().unwrap();
        let spki = private.public_key().as_der().unwrap();
        let material = [7u8; 32];
        let long = [9u8; 1217];
        for alg in WrappingAlgorithm::ALL {
            assert_eq!(WrappingAlgorithm::from_code(alg.code()), Some(alg));
            assert_eq!(alg.as_str().parse::<WrappingAlgorithm>().unwrap(), alg);
            let mut wrapped = wrap_material(spki.as_ref(), alg, &material).unwrap();
            let back = unwrap_material(pkcs8.as_ref(), alg, &wrapped).unwrap();
            assert_eq!(back.as_slice(), material);
            let last = wrapped.len() - 1;
            wrapped[last] ^= 1;
            assert!(matches!(
                unwrap_material(pkcs8.as_ref(), alg, &wrapped),
                Err(Error::IntegrityFailure)
            ));
            if alg.is_key_wrap() {
                let w = wrap_material(spki.as_ref(), alg, &long).unwrap();
                let back = unwrap_material(pkcs8.as_ref(), alg, &w).unwrap();
                assert_eq!(back.as_slice(), long);
            } else {
                assert_eq!(
                    wrap_material(spki.as_ref(), alg, &long).unwrap_err().kind(),
                    crate::ErrorKind::InvalidArgument
                );
            }
        }
        assert!(wrap_material(b"not a key", WrappingAlgorithm::RsaesOaepSha256, b"x").is_err());
    }

    #[test]
    fn valid_to_is_bounded_and_names_parse() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(10_000);
        let m = |valid_to| ImportedMaterial {
            import_token: b"token".to_vec(),
            encrypted_material: vec![1, 2, 3],
            valid_to,
        };
        m(None).check_valid_to(now).unwrap();
        m(Some(now + Duration::days(365)))
            .check_valid_to(now)
            .unwrap();
        assert!(m(Some(now)).check_valid_to(now).is_err());
        assert!(
            m(Some(now + Duration::days(366)))
                .check_valid_to(now)
                .is_err()
        );
        assert_eq!(
            m(None).expiration_model(),
            ExpirationModel::KeyMaterialDoesNotExpire
        );
        assert!(!format!("{:?}", m(None)).contains("116, 111"));
        assert_eq!(
            "external".parse::<KeyOrigin>().unwrap(),
            KeyOrigin::External
        );
        assert_eq!(
            "AWS_KMS".parse::<KeyOrigin>().unwrap(),
            KeyOrigin::Generated
        );
        assert_eq!(
            "rsa-4096".parse::<WrappingKeySpec>().unwrap(),
            WrappingKeySpec::Rsa4096
        );
    }
}
