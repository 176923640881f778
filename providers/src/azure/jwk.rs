//! JSON Web Keys as keygate needs them: SubjectPublicKeyInfo DER from a JWK's public numbers
//! (`n`/`e`, `crv`/`x`/`y`), the spec a key made outside keygate has, and ECDSA signatures
//! from JWS's raw `r||s` (what Key Vault returns) to DER (what keygate returns).

use azure_security_keyvault_keys::models::{CurveName, JsonWebKey, KeyType};
use keygate_core::{KeySpec, KeyUsage};

/// rsaEncryption, 1.2.840.113549.1.1.1.
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// id-ecPublicKey, 1.2.840.10045.2.1.
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// secp256r1, 1.2.840.10045.3.1.7.
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// secp384r1, 1.3.132.0.34.
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
/// secp521r1, 1.3.132.0.35.
const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
/// secp256k1, 1.3.132.0.10.
const OID_SECP256K1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x0a];

/// One DER element: `tag`, its length, `content`.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A DER INTEGER of the unsigned big-endian `bytes`.
fn uint(bytes: &[u8]) -> Vec<u8> {
    let trimmed: &[u8] = match bytes.iter().position(|b| *b != 0) {
        Some(i) => &bytes[i..],
        None => &[0],
    };
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed[0] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    tlv(0x02, &content)
}

fn spki(algorithm: &[u8], key: &[u8]) -> Vec<u8> {
    let mut bits = vec![0u8];
    bits.extend_from_slice(key);
    let mut body = tlv(0x30, algorithm);
    body.extend(tlv(0x03, &bits));
    tlv(0x30, &body)
}

/// The SubjectPublicKeyInfo DER of an RSA public key.
pub(crate) fn rsa_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut alg = tlv(0x06, OID_RSA);
    alg.extend_from_slice(&[0x05, 0x00]);
    let mut numbers = uint(n);
    numbers.extend(uint(e));
    spki(&alg, &tlv(0x30, &numbers))
}

/// The SubjectPublicKeyInfo DER of an EC public key on `spec`'s curve.
pub(crate) fn ec_spki(spec: KeySpec, x: &[u8], y: &[u8]) -> Option<Vec<u8>> {
    let (curve, len) = match spec {
        KeySpec::EcP256 => (OID_P256, 32),
        KeySpec::EcP384 => (OID_P384, 48),
        KeySpec::EcP521 => (OID_P521, 66),
        KeySpec::EcSecp256k1 => (OID_SECP256K1, 32),
        _ => return None,
    };
    if x.len() > len || y.len() > len {
        return None;
    }
    let mut alg = tlv(0x06, OID_EC);
    alg.extend(tlv(0x06, curve));
    // The uncompressed point: 04 || x || y, each coordinate left-padded to the field size.
    let mut point = vec![0x04];
    for c in [x, y] {
        point.extend(std::iter::repeat_n(0u8, len - c.len()));
        point.extend_from_slice(c);
    }
    Some(spki(&alg, &point))
}

/// The SubjectPublicKeyInfo DER of a JWK's public part, for a key of `spec`.
pub(crate) fn spki_of(jwk: &JsonWebKey, spec: KeySpec) -> Option<Vec<u8>> {
    if spec.is_rsa() {
        Some(rsa_spki(jwk.n.as_deref()?, jwk.e.as_deref()?))
    } else {
        ec_spki(spec, jwk.x.as_deref()?, jwk.y.as_deref()?)
    }
}

/// Whether a key type is RSA (software or HSM).
pub(crate) fn is_rsa(kty: Option<&KeyType>) -> bool {
    matches!(kty, Some(KeyType::Rsa | KeyType::RsaHsm))
}

/// Whether a key type is symmetric (`oct`, `oct-HSM`).
pub(crate) fn is_oct(kty: Option<&KeyType>) -> bool {
    matches!(kty, Some(KeyType::Oct | KeyType::OctHsm))
}

/// The spec and usage of a key keygate did not make (no keygate tags), from its JWK: RSA by
/// modulus size, EC by curve, `oct` as AES_256; usage from `key_ops` (signing when it may
/// sign, else encryption). `None` for keys keygate does not model (RSA-1024, AES-128...).
pub(crate) fn spec_of(jwk: &JsonWebKey) -> Option<(KeySpec, KeyUsage)> {
    let ops = jwk.key_ops.as_deref().unwrap_or_default();
    let signs = ops.iter().any(|o| o == "sign" || o == "verify");
    match jwk.kty.as_ref()? {
        KeyType::Rsa | KeyType::RsaHsm => {
            let n = jwk.n.as_deref()?;
            let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
            let spec = match bits {
                2048 => KeySpec::Rsa2048,
                3072 => KeySpec::Rsa3072,
                4096 => KeySpec::Rsa4096,
                _ => return None,
            };
            let encrypts = ops
                .iter()
                .any(|o| matches!(o.as_str(), "encrypt" | "decrypt" | "wrapKey" | "unwrapKey"));
            let usage = if signs || !encrypts {
                KeyUsage::Sign
            } else {
                KeyUsage::Encrypt
            };
            Some((spec, usage))
        }
        KeyType::Ec | KeyType::EcHsm => {
            let spec = match jwk.crv.as_ref()? {
                CurveName::P256 => KeySpec::EcP256,
                CurveName::P384 => KeySpec::EcP384,
                CurveName::P521 => KeySpec::EcP521,
                CurveName::P256K => KeySpec::EcSecp256k1,
                _ => return None,
            };
            Some((spec, KeyUsage::Sign))
        }
        KeyType::Oct | KeyType::OctHsm => Some((KeySpec::Aes256, KeyUsage::Encrypt)),
        _ => None,
    }
}

/// The DER of a raw `r||s` ECDSA signature on `spec`'s curve; `None` when its length does not
/// fit the curve.
pub(crate) fn ecdsa_raw_to_der(spec: KeySpec, raw: &[u8]) -> Option<Vec<u8>> {
    let half = match spec {
        KeySpec::EcP256 | KeySpec::EcSecp256k1 => 32,
        KeySpec::EcP384 => 48,
        KeySpec::EcP521 => 66,
        _ => return None,
    };
    if raw.len() != 2 * half {
        return None;
    }
    let (r, s) = raw.split_at(half);
    let mut body = uint(r);
    body.extend(uint(s));
    Some(tlv(0x30, &body))
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, UnparsedPublicKey};
    use rsa::pkcs8::DecodePublicKey as _;
    use rsa::traits::PublicKeyParts as _;

    use super::*;

    #[test]
    fn der_lengths_and_integers() {
        assert_eq!(tlv(0x04, &[1, 2]), [0x04, 2, 1, 2]);
        let long = tlv(0x04, &[0u8; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(tlv(0x04, &[0u8; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(uint(&[0, 0, 5]), [0x02, 1, 5]);
        assert_eq!(uint(&[0x80]), [0x02, 2, 0, 0x80]);
        assert_eq!(uint(&[]), [0x02, 1, 0]);
    }

    #[test]
    fn rsa_spki_parses_back_to_the_same_numbers() {
        // Any odd modulus of the right size parses; no key needs generating.
        let mut n = vec![0xc5u8; 256];
        n[255] = 0x01;
        let public = rsa::RsaPublicKey::new(
            rsa::BigUint::from_bytes_be(&n),
            rsa::BigUint::from(65537u32),
        )
        .unwrap();
        let der = rsa_spki(&public.n().to_bytes_be(), &public.e().to_bytes_be());
        let back = rsa::RsaPublicKey::from_public_key_der(&der).unwrap();
        assert_eq!(back, public);
        let jwk = JsonWebKey {
            kty: Some(KeyType::Rsa),
            n: Some(public.n().to_bytes_be()),
            e: Some(public.e().to_bytes_be()),
            key_ops: Some(vec!["wrapKey".into(), "unwrapKey".into()]),
            ..Default::default()
        };
        assert_eq!(spki_of(&jwk, KeySpec::Rsa2048), Some(der));
        assert_eq!(spec_of(&jwk), Some((KeySpec::Rsa2048, KeyUsage::Encrypt)));
    }

    #[test]
    fn ec_spki_and_der_signatures_verify_with_aws_lc() {
        let rng = SystemRandom::new();
        for (spec, signing, verifying, fixed, half) in [
            (
                KeySpec::EcP256,
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &signature::ECDSA_P256_SHA256_ASN1,
                &signature::ECDSA_P256_SHA256_FIXED,
                32,
            ),
            (
                KeySpec::EcP384,
                &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                &signature::ECDSA_P384_SHA384_ASN1,
                &signature::ECDSA_P384_SHA384_FIXED,
                48,
            ),
            (
                KeySpec::EcP521,
                &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
                &signature::ECDSA_P521_SHA512_ASN1,
                &signature::ECDSA_P521_SHA512_FIXED,
                66,
            ),
            (
                KeySpec::EcSecp256k1,
                &signature::ECDSA_P256K1_SHA256_FIXED_SIGNING,
                &signature::ECDSA_P256K1_SHA256_ASN1,
                &signature::ECDSA_P256K1_SHA256_FIXED,
                32,
            ),
        ] {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(signing, &rng).unwrap();
            let pair = EcdsaKeyPair::from_pkcs8(signing, pkcs8.as_ref()).unwrap();
            let point = pair.public_key().as_ref();
            let (x, y) = point[1..].split_at(half);
            let der = ec_spki(spec, x, y).unwrap();
            let raw = pair.sign(&rng, b"message").unwrap();
            // The raw signature verifies as is; its DER form verifies with the SPKI.
            UnparsedPublicKey::new(fixed, point)
                .verify(b"message", raw.as_ref())
                .unwrap();
            let sig = ecdsa_raw_to_der(spec, raw.as_ref()).unwrap();
            UnparsedPublicKey::new(verifying, &der)
                .verify(b"message", &sig)
                .unwrap();
            assert!(
                UnparsedPublicKey::new(verifying, &der)
                    .verify(b"other", &sig)
                    .is_err()
            );
            assert_eq!(ecdsa_raw_to_der(spec, &raw.as_ref()[1..]), None);
            let jwk = JsonWebKey {
                kty: Some(KeyType::Ec),
                crv: Some(match spec {
                    KeySpec::EcP256 => CurveName::P256,
                    KeySpec::EcP384 => CurveName::P384,
                    KeySpec::EcP521 => CurveName::P521,
                    _ => CurveName::P256K,
                }),
                x: Some(x.to_vec()),
                y: Some(y.to_vec()),
                ..Default::default()
            };
            assert_eq!(spki_of(&jwk, spec), Some(der));
            assert_eq!(spec_of(&jwk), Some((spec, KeyUsage::Sign)));
        }
    }

    #[test]
    fn keys_keygate_does_not_model_have_no_spec() {
        let p521 = JsonWebKey {
            kty: Some(KeyType::Ec),
            crv: Some(CurveName::P521),
            ..Default::default()
        };
        assert_eq!(spec_of(&p521), Some((KeySpec::EcP521, KeyUsage::Sign)));
        let other_curve = JsonWebKey {
            kty: Some(KeyType::Ec),
            crv: Some(CurveName::UnknownValue("P-192".to_owned())),
            ..Default::default()
        };
        assert_eq!(spec_of(&other_curve), None);
        let rsa1024 = JsonWebKey {
            kty: Some(KeyType::Rsa),
            n: Some(vec![0xff; 128]),
            ..Default::default()
        };
        assert_eq!(spec_of(&rsa1024), None);
        let oct = JsonWebKey {
            kty: Some(KeyType::OctHsm),
            ..Default::default()
        };
        assert_eq!(spec_of(&oct), Some((KeySpec::Aes256, KeyUsage::Encrypt)));
        assert_eq!(ec_spki(KeySpec::EcP256, &[1; 33], &[1; 32]), None);
    }
}
