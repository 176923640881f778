//! What the operations share on the wire: base64 blobs, epoch-second timestamps, required
//! members, paging markers, and the AWS names of keygate specs, usages and states.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keygate_core::{KeySpec, KeyState, KeyUsage, MacAlgorithm, SigningAlgorithm};
use serde::{Deserialize, Deserializer, Serializer};
use time::OffsetDateTime;

use super::error::AwsError;

/// Serde for AWS blobs: base64 text on the wire.
pub mod blob {
    use super::*;

    /// An optional blob member.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => STANDARD
                .decode(text.as_bytes())
                .map(Some)
                .map_err(|_| serde::de::Error::custom("a blob member is not valid base64")),
        }
    }

    /// A blob in a response.
    pub fn serialize<S: Serializer, B: AsRef<[u8]> + ?Sized>(
        bytes: &B,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes.as_ref()))
    }
}

/// Seconds since the epoch, as AWS JSON timestamps are.
pub fn epoch(t: OffsetDateTime) -> f64 {
    // Millisecond precision is all AWS sends; the conversion cannot overflow for real dates.
    (t.unix_timestamp_nanos() / 1_000_000) as f64 / 1000.0
}

/// A required member, or AWS's validation error for a missing one.
pub fn required<T>(value: Option<T>, member: &str) -> Result<T, AwsError> {
    value.ok_or_else(|| {
        AwsError::validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

/// Checks `len` against AWS's bounds for a blob or string member.
pub fn check_len(member: &str, len: usize, min: usize, max: usize) -> Result<(), AwsError> {
    if len < min || len > max {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: \
             Member must have length between {min} and {max}, inclusive"
        )));
    }
    Ok(())
}

/// Checks an integer member against inclusive bounds.
pub fn check_range(member: &str, value: i64, min: i64, max: i64) -> Result<(), AwsError> {
    if value < min || value > max {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy \
             constraint: Member must have value between {min} and {max}, inclusive"
        )));
    }
    Ok(())
}

/// One page of `items` for `Limit`/`Marker` (the marker is the base64 of an offset), with
/// the `NextMarker` of the next page, if there is one.
///
/// # Errors
/// `ValidationException` for a limit outside 1–1000; `InvalidMarkerException` for a marker
/// this gateway did not hand out.
pub fn page<T>(
    items: Vec<T>,
    limit: Option<i64>,
    marker: Option<&str>,
    default_limit: usize,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    let limit = match limit {
        Some(l) => {
            check_range("limit", l, 1, 1000)?;
            usize::try_from(l).unwrap_or(default_limit)
        }
        None => default_limit,
    };
    let start = match marker {
        None => 0,
        Some(m) => STANDARD
            .decode(m)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("offset:").and_then(|n| n.parse::<usize>().ok()))
            .ok_or_else(|| {
                AwsError::bad(
                    "InvalidMarkerException",
                    "The request was rejected because the marker that specifies where pagination should next begin is not valid.",
                )
            })?,
    };
    let total = items.len();
    let end = start.saturating_add(limit).min(total);
    let next = (end < total).then(|| STANDARD.encode(format!("offset:{end}")));
    let page = items
        .into_iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect();
    Ok((page, next))
}

/// AWS's `KeySpec` of a keygate spec.
pub fn key_spec_name(spec: KeySpec) -> &'static str {
    match spec {
        KeySpec::Rsa2048 => "RSA_2048",
        KeySpec::Rsa3072 => "RSA_3072",
        KeySpec::Rsa4096 => "RSA_4096",
        KeySpec::EcP256 => "ECC_NIST_P256",
        KeySpec::EcP384 => "ECC_NIST_P384",
        KeySpec::EcP521 => "ECC_NIST_P521",
        KeySpec::EcSecp256k1 => "ECC_SECG_P256K1",
        KeySpec::HmacSha256 => "HMAC_256",
        KeySpec::HmacSha384 => "HMAC_384",
        KeySpec::HmacSha512 => "HMAC_512",
        // AES-256 and any spec added later read as AWS's symmetric default.
        _ => "SYMMETRIC_DEFAULT",
    }
}

/// The keygate spec of an AWS `KeySpec`.
///
/// # Errors
/// `UnsupportedOperationException` for an AWS spec keygate has no equivalent of;
/// `ValidationException` for a value AWS does not define.
pub fn key_spec(name: &str) -> Result<KeySpec, AwsError> {
    Ok(match name {
        "SYMMETRIC_DEFAULT" => KeySpec::Aes256,
        "RSA_2048" => KeySpec::Rsa2048,
        "RSA_3072" => KeySpec::Rsa3072,
        "RSA_4096" => KeySpec::Rsa4096,
        "ECC_NIST_P256" => KeySpec::EcP256,
        "ECC_NIST_P384" => KeySpec::EcP384,
        "ECC_NIST_P521" => KeySpec::EcP521,
        "ECC_SECG_P256K1" => KeySpec::EcSecp256k1,
        "HMAC_256" => KeySpec::HmacSha256,
        "HMAC_384" => KeySpec::HmacSha384,
        "HMAC_512" => KeySpec::HmacSha512,
        "HMAC_224" | "SM2" | "ML_DSA_44" | "ML_DSA_65" | "ML_DSA_87" | "ECC_NIST_EDWARDS25519" => {
            return Err(AwsError::unsupported(format!(
                "KeySpec {name} is not supported by keygate; use SYMMETRIC_DEFAULT, RSA_2048, \
                 RSA_3072, RSA_4096, ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521, \
                 ECC_SECG_P256K1, HMAC_256, HMAC_384 or HMAC_512"
            )));
        }
        other => {
            return Err(AwsError::validation(format!(
                "1 validation error detected: Value '{other}' at 'keySpec' failed to satisfy \
                 constraint: Member must satisfy enum value set"
            )));
        }
    })
}

/// AWS's `KeyUsage` of a keygate usage.
pub fn key_usage_name(usage: KeyUsage) -> &'static str {
    match usage {
        KeyUsage::Sign => "SIGN_VERIFY",
        KeyUsage::Mac => "GENERATE_VERIFY_MAC",
        _ => "ENCRYPT_DECRYPT",
    }
}

/// The keygate usage of an AWS `KeyUsage`.
///
/// # Errors
/// `UnsupportedOperationException` for `KEY_AGREEMENT`; `ValidationException` otherwise.
pub fn key_usage(name: &str) -> Result<KeyUsage, AwsError> {
    match name {
        "ENCRYPT_DECRYPT" => Ok(KeyUsage::Encrypt),
        "SIGN_VERIFY" => Ok(KeyUsage::Sign),
        "GENERATE_VERIFY_MAC" => Ok(KeyUsage::Mac),
        "KEY_AGREEMENT" => Err(AwsError::unsupported(
            "KeyUsage KEY_AGREEMENT is not supported by keygate",
        )),
        other => Err(AwsError::validation(format!(
            "1 validation error detected: Value '{other}' at 'keyUsage' failed to satisfy \
             constraint: Member must satisfy enum value set"
        ))),
    }
}

/// AWS's `KeyState` of a keygate state (a destroyed key, which AWS deletes outright, reads
/// as `Unavailable`).
pub fn key_state_name(state: &KeyState) -> &'static str {
    match state {
        KeyState::Enabled => "Enabled",
        KeyState::Disabled => "Disabled",
        KeyState::PendingDeletion { .. } => "PendingDeletion",
        KeyState::PendingImport => "PendingImport",
        _ => "Unavailable",
    }
}

/// The AWS signing algorithms keygate implements.
const SIGNING_ALGORITHMS: &str = "RSASSA_PSS_SHA_256/384/512, RSASSA_PKCS1_V1_5_SHA_256/384/512 \
     and ECDSA_SHA_256/384/512";

/// AWS's name of a keygate signing algorithm.
pub fn signing_algorithm_name(alg: SigningAlgorithm) -> &'static str {
    match alg {
        SigningAlgorithm::RsaPssSha256 => "RSASSA_PSS_SHA_256",
        SigningAlgorithm::RsaPssSha384 => "RSASSA_PSS_SHA_384",
        SigningAlgorithm::RsaPssSha512 => "RSASSA_PSS_SHA_512",
        SigningAlgorithm::RsaPkcs1Sha256 => "RSASSA_PKCS1_V1_5_SHA_256",
        SigningAlgorithm::RsaPkcs1Sha384 => "RSASSA_PKCS1_V1_5_SHA_384",
        SigningAlgorithm::RsaPkcs1Sha512 => "RSASSA_PKCS1_V1_5_SHA_512",
        SigningAlgorithm::EcdsaSha384 => "ECDSA_SHA_384",
        SigningAlgorithm::EcdsaSha512 => "ECDSA_SHA_512",
        _ => "ECDSA_SHA_256",
    }
}

/// The keygate signing algorithm of an AWS name.
///
/// # Errors
/// `UnsupportedOperationException` naming the supported ones for an AWS algorithm keygate
/// lacks; `ValidationException` for a value AWS does not define.
pub fn signing_algorithm(name: &str) -> Result<SigningAlgorithm, AwsError> {
    Ok(match name {
        "RSASSA_PSS_SHA_256" => SigningAlgorithm::RsaPssSha256,
        "RSASSA_PKCS1_V1_5_SHA_256" => SigningAlgorithm::RsaPkcs1Sha256,
        "ECDSA_SHA_256" => SigningAlgorithm::EcdsaSha256,
        "ECDSA_SHA_384" => SigningAlgorithm::EcdsaSha384,
        "RSASSA_PSS_SHA_384" => SigningAlgorithm::RsaPssSha384,
        "RSASSA_PSS_SHA_512" => SigningAlgorithm::RsaPssSha512,
        "RSASSA_PKCS1_V1_5_SHA_384" => SigningAlgorithm::RsaPkcs1Sha384,
        "RSASSA_PKCS1_V1_5_SHA_512" => SigningAlgorithm::RsaPkcs1Sha512,
        "ECDSA_SHA_512" => SigningAlgorithm::EcdsaSha512,
        "SM2DSA" | "ML_DSA_SHAKE_256" | "ED25519_SHA_512" | "ED25519_PH_SHA_512" => {
            return Err(AwsError::unsupported(format!(
                "SigningAlgorithm {name} is not supported by keygate; use {SIGNING_ALGORITHMS}"
            )));
        }
        other => {
            return Err(AwsError::validation(format!(
                "1 validation error detected: Value '{other}' at 'signingAlgorithm' failed to \
                 satisfy constraint: Member must satisfy enum value set: [{SIGNING_ALGORITHMS}]"
            )));
        }
    })
}

/// AWS's name of a keygate MAC algorithm.
pub fn mac_algorithm_name(alg: MacAlgorithm) -> &'static str {
    match alg {
        MacAlgorithm::HmacSha384 => "HMAC_SHA_384",
        MacAlgorithm::HmacSha512 => "HMAC_SHA_512",
        _ => "HMAC_SHA_256",
    }
}

/// Checks an AWS `MacAlgorithm` value.
///
/// # Errors
/// `UnsupportedOperationException` for `HMAC_SHA_224`; `ValidationException` otherwise.
pub fn mac_algorithm(name: &str) -> Result<MacAlgorithm, AwsError> {
    match name {
        "HMAC_SHA_256" => Ok(MacAlgorithm::HmacSha256),
        "HMAC_SHA_384" => Ok(MacAlgorithm::HmacSha384),
        "HMAC_SHA_512" => Ok(MacAlgorithm::HmacSha512),
        "HMAC_SHA_224" => Err(AwsError::unsupported(
            "MacAlgorithm HMAC_SHA_224 is not supported by keygate",
        )),
        other => Err(AwsError::validation(format!(
            "1 validation error detected: Value '{other}' at 'macAlgorithm' failed to satisfy \
             constraint: Member must satisfy enum value set"
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pages_walk_every_item_once() {
        let items: Vec<u32> = (0..7).collect();
        let (first, next) = page(items.clone(), Some(3), None, 100).unwrap();
        assert_eq!(first, [0, 1, 2]);
        let (second, next) = page(items.clone(), Some(3), next.as_deref(), 100).unwrap();
        assert_eq!(second, [3, 4, 5]);
        let (last, next) = page(items.clone(), Some(3), next.as_deref(), 100).unwrap();
        assert_eq!((last, next), (vec![6], None));
        assert_eq!(
            page(items.clone(), Some(0), None, 100).unwrap_err().code,
            "ValidationException"
        );
        assert_eq!(
            page(items.clone(), Some(1001), None, 100).unwrap_err().code,
            "ValidationException"
        );
        assert_eq!(
            page(items, None, Some("garbage"), 100).unwrap_err().code,
            "InvalidMarkerException"
        );
    }

    #[test]
    fn specs_and_algorithms_round_trip() {
        for spec in KeySpec::ALL {
            assert_eq!(key_spec(key_spec_name(spec)).unwrap(), spec);
        }
        for alg in SigningAlgorithm::ALL {
            assert_eq!(signing_algorithm(signing_algorithm_name(alg)).unwrap(), alg);
        }
        assert_eq!(key_spec("ECC_SECG_P256K1").unwrap(), KeySpec::EcSecp256k1);
        assert_eq!(
            key_spec("SM2").unwrap_err().code,
            "UnsupportedOperationException"
        );
        assert_eq!(key_spec("AES_256").unwrap_err().code, "ValidationException");
        assert_eq!(
            signing_algorithm("RSASSA_PSS_SHA_512").unwrap(),
            SigningAlgorithm::RsaPssSha512
        );
        let e = signing_algorithm("ED25519_SHA_512").unwrap_err();
        assert_eq!(e.code, "UnsupportedOperationException");
        assert!(e.message.contains("ECDSA_SHA_256/384/512"), "{}", e.message);
        assert_eq!(
            mac_algorithm(mac_algorithm_name(MacAlgorithm::HmacSha384)).unwrap(),
            MacAlgorithm::HmacSha384
        );
    }

    #[test]
    fn blobs_decode_base64_or_fail_as_serialization() {
        #[derive(Deserialize)]
        struct B {
            #[serde(default, deserialize_with = "blob::deserialize")]
            b: Option<Vec<u8>>,
        }
        let ok: B = serde_json::from_str(r#"{"b":"aGk="}"#).unwrap();
        assert_eq!(ok.b.unwrap(), b"hi");
        assert!(serde_json::from_str::<B>(r#"{"b":"***"}"#).is_err());
        assert!(serde_json::from_str::<B>(r#"{"b":5}"#).is_err());
        assert_eq!(
            epoch(time::macros::datetime!(2024-01-01 00:00:00.5 UTC)),
            1_704_067_200.5
        );
    }
}
