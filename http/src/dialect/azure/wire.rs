//! Azure Key Vault's JSON shapes (what the service returns and accepts), base64url, and the
//! conversions keygate's data needs on the way: JWK public parts from SPKI DER, ECDSA
//! signatures between DER (keygate) and raw `r||s` (JWS, Azure).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keygate_core::{KeyMetadata, KeySpec, KeyState, KeyUsage, PublicKey};
use serde::{Deserialize, Deserializer, Serialize};

use super::error::AzureError;

/// base64url without padding, as Azure writes every binary field.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url with or without padding (the SDKs write it unpadded; other clients pad).
///
/// # Errors
/// 400 BadParameter naming the field.
pub fn unb64(field: &str, text: &str) -> Result<Vec<u8>, AzureError> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| AzureError::bad_parameter(format!("`{field}` is not valid base64url")))
}

/// A base64url field of a request body.
#[derive(Debug, Clone, Default)]
pub struct B64(pub Vec<u8>);

impl<'de> Deserialize<'de> for B64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map(B64)
            .map_err(|_| serde::de::Error::custom("not valid base64url"))
    }
}

/// `attributes` of a key or key version.
#[derive(Debug, Clone, Serialize)]
pub struct Attributes {
    /// Usable for cryptographic operations.
    pub enabled: bool,
    /// Creation time, unix seconds.
    pub created: i64,
    /// Last change, unix seconds (keygate keeps no change time: the creation time).
    pub updated: i64,
    /// Always `Recoverable`: keygate's deletion window is a soft delete nobody can purge.
    #[serde(rename = "recoveryLevel")]
    pub recovery_level: &'static str,
    /// The soft-delete retention in days.
    #[serde(rename = "recoverableDays")]
    pub recoverable_days: u32,
    /// keygate never exports key material.
    pub exportable: bool,
}

impl Attributes {
    /// The attributes of `meta` (key level), with `retention` days of soft delete.
    pub fn of(meta: &KeyMetadata, retention: u32) -> Self {
        let created = meta.created.unix_timestamp();
        Self {
            enabled: meta.state.is_usable(),
            created,
            updated: created,
            recovery_level: "Recoverable",
            recoverable_days: retention,
            exportable: false,
        }
    }
}

/// `attributes` in a request: only `enabled` is honoured.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AttributesIn {
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// Expiry (unsupported: keygate keys do not expire).
    pub exp: Option<i64>,
    /// Not-before (unsupported).
    pub nbf: Option<i64>,
    /// Exportable (keygate keys never are).
    pub exportable: Option<bool>,
    /// Read-only fields the SDKs may echo back; ignored.
    #[serde(flatten)]
    pub _rest: BTreeMap<String, serde_json::Value>,
}

impl AttributesIn {
    /// Refuses what keygate cannot honour.
    ///
    /// # Errors
    /// 400 BadParameter.
    pub fn check(&self) -> Result<(), AzureError> {
        if self.exp.is_some() || self.nbf.is_some() {
            return Err(AzureError::bad_parameter(
                "keygate keys have no expiry or activation date: `exp` and `nbf` are not supported",
            ));
        }
        if self.exportable == Some(true) {
            return Err(AzureError::bad_parameter("keygate keys are not exportable"));
        }
        Ok(())
    }
}

/// A JSON Web Key: the public part of a key.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JsonWebKey {
    /// `https://<host>/keys/<name>/<version>`.
    pub kid: String,
    /// `RSA`, `EC` or `oct`.
    pub kty: &'static str,
    /// What the key may do.
    pub key_ops: Vec<&'static str>,
    /// RSA modulus.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// EC curve.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<&'static str>,
    /// EC x coordinate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

impl JsonWebKey {
    /// The JWK of `meta` named `kid`, with the public numbers of `public` when given.
    ///
    /// # Errors
    /// 500 when the provider's public key does not parse (never a client mistake).
    pub fn of(
        meta: &KeyMetadata,
        kid: String,
        public: Option<&PublicKey>,
    ) -> Result<Self, AzureError> {
        let mut jwk = Self {
            kid,
            kty: kty(meta.spec),
            key_ops: key_ops(meta.spec, meta.usage),
            // The curve is known without the public numbers (a disabled or deleted key's).
            crv: crv(meta.spec),
            ..Self::default()
        };
        if let Some(pk) = public {
            jwk.fill_public(pk).map_err(|e| {
                tracing::error!(key = %meta.uri, error = %e, "cannot read the public key");
                AzureError::internal()
            })?;
        }
        Ok(jwk)
    }

    fn fill_public(&mut self, pk: &PublicKey) -> Result<(), String> {
        use p256::pkcs8::DecodePublicKey as _;
        match pk.spec {
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
                use rsa::traits::PublicKeyParts as _;
                let key =
                    rsa::RsaPublicKey::from_public_key_der(&pk.der).map_err(|e| e.to_string())?;
                self.n = Some(b64(&key.n().to_bytes_be()));
                self.e = Some(b64(&key.e().to_bytes_be()));
            }
            KeySpec::EcP256 => {
                let key =
                    p256::PublicKey::from_public_key_der(&pk.der).map_err(|e| e.to_string())?;
                let point = p256::EncodedPoint::from(key);
                self.crv = Some("P-256");
                self.x = point.x().map(|x| b64(x));
                self.y = point.y().map(|y| b64(y));
            }
            KeySpec::EcP384 => {
                let key =
                    p384::PublicKey::from_public_key_der(&pk.der).map_err(|e| e.to_string())?;
                let point = p384::EncodedPoint::from(key);
                self.crv = Some("P-384");
                self.x = point.x().map(|x| b64(x));
                self.y = point.y().map(|y| b64(y));
            }
            spec @ (KeySpec::EcP521 | KeySpec::EcSecp256k1) => {
                let (x, y) = super::ecdsa::coordinate_len(spec)
                    .and_then(|len| super::ecdsa::spki_point(len, &pk.der))
                    .ok_or_else(|| format!("not an uncompressed {spec} public key"))?;
                self.crv = crv(spec);
                self.x = Some(b64(x));
                self.y = Some(b64(y));
            }
            other => return Err(format!("no public key for {other}")),
        }
        Ok(())
    }
}

/// The JWK key type of a spec.
pub fn kty(spec: KeySpec) -> &'static str {
    if spec.is_rsa() {
        "RSA"
    } else if spec.is_ec() {
        "EC"
    } else {
        "oct"
    }
}

/// The JWK curve of an EC spec, when it is one.
pub fn crv(spec: KeySpec) -> Option<&'static str> {
    match spec {
        KeySpec::EcP256 => Some("P-256"),
        KeySpec::EcP384 => Some("P-384"),
        KeySpec::EcP521 => Some("P-521"),
        KeySpec::EcSecp256k1 => Some("P-256K"),
        _ => None,
    }
}

/// The Azure key operations a keygate key of `spec` and `usage` allows.
pub fn key_ops(spec: KeySpec, usage: KeyUsage) -> Vec<&'static str> {
    match usage {
        KeyUsage::Encrypt if spec.is_rsa() || spec == KeySpec::Aes256 => {
            vec!["encrypt", "decrypt", "wrapKey", "unwrapKey"]
        }
        KeyUsage::Sign => vec!["sign", "verify"],
        // HMAC keys have no Azure operation.
        _ => Vec::new(),
    }
}

/// A key with its public part (what get, create, update, rotate and recover return).
#[derive(Debug, Clone, Serialize)]
pub struct KeyBundle {
    /// The JWK.
    pub key: JsonWebKey,
    /// Attributes.
    pub attributes: Attributes,
    /// Tags (keygate labels).
    pub tags: BTreeMap<String, String>,
}

/// A key or key version in a listing.
#[derive(Debug, Clone, Serialize)]
pub struct KeyItem {
    /// `https://<host>/keys/<name>` (keys) or `.../<version>` (versions).
    pub kid: String,
    /// Attributes.
    pub attributes: Attributes,
    /// Tags (omitted for versions: keygate keeps labels per key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

/// What makes a key a deleted key.
#[derive(Debug, Clone, Serialize)]
pub struct Deletion {
    /// `https://<host>/deletedkeys/<name>`.
    #[serde(rename = "recoveryId")]
    pub recovery_id: String,
    /// When it was deleted, unix seconds.
    #[serde(rename = "deletedDate")]
    pub deleted_date: i64,
    /// When its material is destroyed, unix seconds.
    #[serde(rename = "scheduledPurgeDate")]
    pub scheduled_purge_date: i64,
}

impl Deletion {
    /// The deletion of `meta` (pending deletion) seen at `base`, with `retention` days.
    pub fn of(meta: &KeyMetadata, base: &str, retention: u32) -> Option<Self> {
        let KeyState::PendingDeletion { deletion_date } = meta.state else {
            return None;
        };
        let purge = deletion_date.unix_timestamp();
        Some(Self {
            recovery_id: format!("{base}/deletedkeys/{}", meta.name),
            // keygate records only the purge date; the deletion was `retention` days before.
            deleted_date: purge - i64::from(retention) * 86_400,
            scheduled_purge_date: purge,
        })
    }
}

/// A deleted key (DELETE /keys/{n}, GET /deletedkeys/{n}).
#[derive(Debug, Clone, Serialize)]
pub struct DeletedKeyBundle {
    /// The key.
    #[serde(flatten)]
    pub bundle: KeyBundle,
    /// Its deletion.
    #[serde(flatten)]
    pub deletion: Deletion,
}

/// A deleted key in a listing.
#[derive(Debug, Clone, Serialize)]
pub struct DeletedKeyItem {
    /// The key.
    #[serde(flatten)]
    pub item: KeyItem,
    /// Its deletion.
    #[serde(flatten)]
    pub deletion: Deletion,
}

/// One page of a listing.
#[derive(Debug, Clone, Serialize)]
pub struct ListResult<T> {
    /// The items.
    pub value: Vec<T>,
    /// The next page (absolute URL), `null` on the last.
    #[serde(rename = "nextLink")]
    pub next_link: Option<String>,
}

/// POST /keys/{n}/create.
#[derive(Debug, Clone, Deserialize)]
pub struct CreateKeyParams {
    /// `RSA`, `RSA-HSM`, `EC`, `EC-HSM`, `oct`, `oct-HSM`.
    pub kty: String,
    /// RSA: 2048, 3072 or 4096; oct: 256.
    pub key_size: Option<u32>,
    /// EC: `P-256` or `P-384`.
    pub crv: Option<String>,
    /// Operations; keygate keys have one usage.
    pub key_ops: Option<Vec<String>>,
    /// Attributes (`enabled`).
    pub attributes: Option<AttributesIn>,
    /// Tags.
    pub tags: Option<BTreeMap<String, String>>,
    /// RSA public exponent: only 65537.
    pub public_exponent: Option<u32>,
    /// Secure key release (unsupported).
    pub release_policy: Option<serde_json::Value>,
}

/// PATCH /keys/{n}[/{v}].
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UpdateKeyParams {
    /// Attributes (`enabled`).
    pub attributes: Option<AttributesIn>,
    /// Tags: the whole new set.
    pub tags: Option<BTreeMap<String, String>>,
    /// Operations (must equal the key's).
    pub key_ops: Option<Vec<String>>,
    /// Secure key release (unsupported).
    pub release_policy: Option<serde_json::Value>,
}

/// encrypt, decrypt, wrapkey, unwrapkey.
#[derive(Debug, Clone, Deserialize)]
pub struct KeyOperationParams {
    /// The algorithm.
    pub alg: String,
    /// The input.
    pub value: B64,
    /// Additional authenticated data (AES-GCM).
    pub aad: Option<B64>,
    /// AES-GCM iv: what encrypt returned, given back to decrypt.
    pub iv: Option<B64>,
    /// AES-GCM authentication tag: what encrypt returned, given back to decrypt.
    pub tag: Option<B64>,
}

/// The answer of encrypt, decrypt, wrapkey, unwrapkey and sign.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KeyOperationResult {
    /// The key version that did it.
    pub kid: String,
    /// The output, base64url.
    pub value: String,
    /// AES-GCM encrypt: the iv, base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iv: Option<String>,
    /// AES-GCM encrypt: the authentication tag, base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// AES-GCM encrypt: the additional authenticated data it was given, base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aad: Option<String>,
}

/// sign.
#[derive(Debug, Clone, Deserialize)]
pub struct SignParams {
    /// RS256, PS256, ES256, ES384.
    pub alg: String,
    /// The digest.
    pub value: B64,
}

/// verify.
#[derive(Debug, Clone, Deserialize)]
pub struct VerifyParams {
    /// RS256, PS256, ES256, ES384.
    pub alg: String,
    /// The digest.
    pub digest: B64,
    /// The signature (raw `r||s` for ECDSA).
    pub value: B64,
}

/// The answer of verify.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyResult {
    /// Whether the signature verified.
    pub value: bool,
}

/// POST /rng.
#[derive(Debug, Clone, Deserialize)]
pub struct RandomParams {
    /// How many bytes (1–128).
    pub count: i64,
}

/// ECDSA: keygate's DER signature to JWS's fixed-size `r||s`.
///
/// # Errors
/// 500 when the provider's signature does not parse.
pub fn ecdsa_der_to_raw(spec: KeySpec, der: &[u8]) -> Result<Vec<u8>, AzureError> {
    let raw = match spec {
        KeySpec::EcP256 => p256::ecdsa::Signature::from_der(der).map(|s| s.to_bytes().to_vec()),
        KeySpec::EcP384 => p384::ecdsa::Signature::from_der(der).map(|s| s.to_bytes().to_vec()),
        spec @ (KeySpec::EcP521 | KeySpec::EcSecp256k1) => {
            return super::ecdsa::coordinate_len(spec)
                .and_then(|len| super::ecdsa::der_to_raw(len, der))
                .ok_or_else(|| {
                    tracing::error!("the provider returned an unreadable ECDSA signature");
                    AzureError::internal()
                });
        }
        _ => return Ok(der.to_vec()),
    };
    raw.map_err(|e| {
        tracing::error!(error = %e, "the provider returned an unreadable ECDSA signature");
        AzureError::internal()
    })
}

/// ECDSA: a JWS `r||s` signature to DER; `None` when it is not a well-formed signature of
/// the curve (which then does not verify).
pub fn ecdsa_raw_to_der(spec: KeySpec, raw: &[u8]) -> Option<Vec<u8>> {
    match spec {
        KeySpec::EcP256 => p256::ecdsa::Signature::from_slice(raw)
            .ok()
            .map(|s| s.to_der().as_bytes().to_vec()),
        KeySpec::EcP384 => p384::ecdsa::Signature::from_slice(raw)
            .ok()
            .map(|s| s.to_der().as_bytes().to_vec()),
        spec @ (KeySpec::EcP521 | KeySpec::EcSecp256k1) => {
            super::ecdsa::coordinate_len(spec).and_then(|len| super::ecdsa::raw_to_der(len, raw))
        }
        _ => Some(raw.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_roundtrips_with_or_without_padding() {
        assert_eq!(b64(&[0xfb, 0xff]), "-_8");
        assert_eq!(unb64("v", "-_8").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(unb64("v", "-_8=").unwrap(), vec![0xfb, 0xff]);
        assert!(unb64("v", "+/8=").is_err());
    }

    #[test]
    fn ecdsa_signatures_convert_both_ways() {
        use p256::ecdsa::signature::Signer as _;
        let sk = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let sig: p256::ecdsa::Signature = sk.sign(b"msg");
        let der = sig.to_der().as_bytes().to_vec();
        let raw = ecdsa_der_to_raw(KeySpec::EcP256, &der).unwrap();
        assert_eq!(raw.len(), 64);
        assert_eq!(ecdsa_raw_to_der(KeySpec::EcP256, &raw).unwrap(), der);
        assert!(ecdsa_raw_to_der(KeySpec::EcP256, &[0u8; 64]).is_none());
        assert!(ecdsa_raw_to_der(KeySpec::EcP256, &[1u8; 10]).is_none());
    }

    #[test]
    fn key_ops_follow_usage() {
        assert_eq!(
            key_ops(KeySpec::Rsa2048, KeyUsage::Encrypt),
            ["encrypt", "decrypt", "wrapKey", "unwrapKey"]
        );
        assert_eq!(key_ops(KeySpec::EcP256, KeyUsage::Sign), ["sign", "verify"]);
        assert!(key_ops(KeySpec::HmacSha256, KeyUsage::Mac).is_empty());
    }
}
