//! The local provider's cryptography, all from aws-lc-rs: the root key that wraps stored
//! material, key generation per spec, and the loaded (parsed) keys that do the work.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    Pkcs1PrivateDecryptingKey, Pkcs1PublicEncryptingKey, PrivateDecryptingKey,
};
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use aws_lc_rs::{hmac, rand};
use keygate_core::{Error, KeySpec, KeyUsage, SecretBytes, SigningAlgorithm};
use zeroize::Zeroizing;

use super::error::LocalError;
use crate::digest::Prepared;

/// Length of the root key and of AES-256 keys.
pub(crate) const ROOT_KEY_LEN: usize = 32;
/// AES-GCM nonce length (96 bits).
pub(crate) const NONCE_LEN: usize = 12;
/// AES-GCM tag length.
pub(crate) const TAG_LEN: usize = 16;

/// Version byte in front of wrapped material.
const WRAP_FORMAT: u8 = 1;
/// Domain separation for wrapped material and for the check value.
const WRAP_AAD_PREFIX: &[u8] = b"keygate/local/material/v1";
const CHECK_AAD: &[u8] = b"keygate/local/root-check/v1";
const CHECK_PLAINTEXT: &[u8] = b"keygate local root key check value";

/// `len` random bytes from the system CSPRNG.
pub(crate) fn random_secret(len: usize) -> Result<SecretBytes, LocalError> {
    let mut buf = Zeroizing::new(vec![0u8; len]);
    rand::fill(&mut buf).map_err(|_| LocalError::Crypto("random generator failed"))?;
    Ok(buf)
}

/// A fresh random 96-bit nonce.
pub(crate) fn random_nonce() -> Result<[u8; NONCE_LEN], LocalError> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce).map_err(|_| LocalError::Crypto("random generator failed"))?;
    Ok(nonce)
}

fn aes_key(bytes: &[u8]) -> Result<LessSafeKey, LocalError> {
    UnboundKey::new(&AES_256_GCM, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| LocalError::Crypto("AES-256 key has the wrong length"))
}

/// AES-256-GCM: returns ciphertext followed by the tag.
pub(crate) fn gcm_seal(
    key: &LessSafeKey,
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, LocalError> {
    let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN);
    out.extend_from_slice(plaintext);
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut out,
    )
    .map_err(|_| LocalError::Crypto("AES-GCM seal failed"))?;
    Ok(out)
}

/// AES-256-GCM open of ciphertext-with-tag; `None` when authentication fails.
pub(crate) fn gcm_open(
    key: &LessSafeKey,
    nonce: &[u8],
    aad: &[u8],
    sealed: &[u8],
) -> Option<SecretBytes> {
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut buf = Zeroizing::new(sealed.to_vec());
    let len = key
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .ok()?
        .len();
    buf.truncate(len);
    Some(buf)
}

/// The root key: wraps every stored key version and proves, through a stored check value,
/// that it is the key the store was created with.
pub(crate) struct RootKey {
    /// Also seals import tokens and material checks (`local/import.rs`).
    pub(super) key: LessSafeKey,
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootKey(<redacted>)")
    }
}

impl RootKey {
    /// A root key from exactly [`ROOT_KEY_LEN`] bytes.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for any other length.
    pub(crate) fn new(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() != ROOT_KEY_LEN {
            return Err(Error::invalid(format!(
                "the root key must be {ROOT_KEY_LEN} bytes, got {}",
                bytes.len()
            )));
        }
        let key = aes_key(bytes).map_err(|_| Error::invalid("the root key is not usable"))?;
        Ok(Self { key })
    }

    fn material_aad(key_id: &str, version: u32) -> Vec<u8> {
        let mut aad = Vec::with_capacity(WRAP_AAD_PREFIX.len() + key_id.len() + 8);
        aad.extend_from_slice(WRAP_AAD_PREFIX);
        aad.extend_from_slice(
            &u32::try_from(key_id.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        aad.extend_from_slice(key_id.as_bytes());
        aad.extend_from_slice(&version.to_be_bytes());
        aad
    }

    /// Encrypts key material for storage: `[format=1][nonce 12][ciphertext+tag]`, with the key
    /// id and version as AAD so a row moved to another key or version no longer opens.
    pub(crate) fn wrap(
        &self,
        key_id: &str,
        version: u32,
        material: &[u8],
    ) -> Result<Vec<u8>, LocalError> {
        let nonce = random_nonce()?;
        let sealed = gcm_seal(
            &self.key,
            nonce,
            &Self::material_aad(key_id, version),
            material,
        )?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(WRAP_FORMAT);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts material stored by [`Self::wrap`].
    ///
    /// # Errors
    /// [`LocalError::Corrupt`] when the row does not open (altered, moved, or written under a
    /// different root key).
    pub(crate) fn unwrap(
        &self,
        key_id: &str,
        version: u32,
        wrapped: &[u8],
    ) -> Result<SecretBytes, LocalError> {
        let corrupt = || {
            LocalError::Corrupt(format!(
                "material of key `{key_id}` version {version} does not authenticate"
            ))
        };
        let (&format, rest) = wrapped.split_first().ok_or_else(corrupt)?;
        if format != WRAP_FORMAT || rest.len() < NONCE_LEN + TAG_LEN {
            return Err(corrupt());
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        gcm_open(
            &self.key,
            nonce,
            &Self::material_aad(key_id, version),
            sealed,
        )
        .ok_or_else(corrupt)
    }

    /// A fresh check value: a known plaintext sealed under this root key.
    pub(crate) fn check_value(&self) -> Result<Vec<u8>, LocalError> {
        let nonce = random_nonce()?;
        let sealed = gcm_seal(&self.key, nonce, CHECK_AAD, CHECK_PLAINTEXT)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// True when `stored` was made by [`Self::check_value`] under this same root key.
    pub(crate) fn matches_check_value(&self, stored: &[u8]) -> bool {
        if stored.len() < NONCE_LEN + TAG_LEN {
            return false;
        }
        let (nonce, sealed) = stored.split_at(NONCE_LEN);
        gcm_open(&self.key, nonce, CHECK_AAD, sealed)
            .is_some_and(|p| p.as_slice() == CHECK_PLAINTEXT)
    }
}

/// New key material for `spec`: raw bytes for AES and HMAC, PKCS#8 for RSA and EC.
/// RSA generation takes a while; call it off the async executor.
pub(crate) fn generate_material(spec: KeySpec) -> Result<SecretBytes, LocalError> {
    let rsa = |size: KeySize| -> Result<SecretBytes, LocalError> {
        let pair = RsaKeyPair::generate(size).map_err(|_| LocalError::Crypto("RSA keygen"))?;
        let der = pair
            .as_der()
            .map_err(|_| LocalError::Crypto("RSA PKCS#8 encoding"))?;
        Ok(Zeroizing::new(der.as_ref().to_vec()))
    };
    let ec = |alg: &'static signature::EcdsaSigningAlgorithm| -> Result<SecretBytes, LocalError> {
        let pair = EcdsaKeyPair::generate(alg).map_err(|_| LocalError::Crypto("EC keygen"))?;
        let doc = pair
            .to_pkcs8v1()
            .map_err(|_| LocalError::Crypto("EC PKCS#8 encoding"))?;
        Ok(Zeroizing::new(doc.as_ref().to_vec()))
    };
    match spec {
        KeySpec::Aes256 => random_secret(ROOT_KEY_LEN),
        KeySpec::Rsa2048 => rsa(KeySize::Rsa2048),
        KeySpec::Rsa3072 => rsa(KeySize::Rsa3072),
        KeySpec::Rsa4096 => rsa(KeySize::Rsa4096),
        KeySpec::EcP256 => ec(&signature::ECDSA_P256_SHA256_ASN1_SIGNING),
        KeySpec::EcP384 => ec(&signature::ECDSA_P384_SHA384_ASN1_SIGNING),
        KeySpec::EcP521 => ec(&signature::ECDSA_P521_SHA512_ASN1_SIGNING),
        KeySpec::EcSecp256k1 => ec(&signature::ECDSA_P256K1_SHA256_ASN1_SIGNING),
        KeySpec::HmacSha256 => random_secret(32),
        KeySpec::HmacSha384 => random_secret(48),
        KeySpec::HmacSha512 => random_secret(64),
        other => Err(LocalError::Core(Error::unsupported(format!(
            "the local provider cannot create {other} keys"
        )))),
    }
}

/// The modulus length in bytes of an RSA spec: the length of every RSA-OAEP ciphertext its
/// keys produce or accept. `None` for other specs.
pub(crate) fn rsa_modulus_len(spec: KeySpec) -> Option<usize> {
    match spec {
        KeySpec::Rsa2048 => Some(256),
        KeySpec::Rsa3072 => Some(384),
        KeySpec::Rsa4096 => Some(512),
        _ => None,
    }
}

/// A key version's material, parsed and ready to use. aws-lc keeps the private parts in its
/// own allocations, which it cleanses when freed.
pub(crate) enum LoadedKey {
    /// AES-256-GCM.
    Aes(LessSafeKey),
    /// RSA-OAEP decryption, with the public half for encryption; the same key for
    /// PKCS#1 v1.5 (raw `RSA1_5` only, see `raw.rs`).
    RsaEncrypt {
        private: OaepPrivateDecryptingKey,
        public: OaepPublicEncryptingKey,
        pkcs1_private: Pkcs1PrivateDecryptingKey,
        pkcs1_public: Pkcs1PublicEncryptingKey,
        spki: Vec<u8>,
    },
    /// RSA signing (PSS or PKCS#1 v1.5, SHA-256, SHA-384 or SHA-512).
    RsaSign { pair: RsaKeyPair, spki: Vec<u8> },
    /// ECDSA signing.
    Ec { pair: EcdsaKeyPair, spki: Vec<u8> },
    /// HMAC (boxed: aws-lc's HMAC context is large and inline).
    Hmac(Box<hmac::Key>),
}

impl fmt::Debug for LoadedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Self::Aes(_) => "Aes",
            Self::RsaEncrypt { .. } => "RsaEncrypt",
            Self::RsaSign { .. } => "RsaSign",
            Self::Ec { .. } => "Ec",
            Self::Hmac(_) => "Hmac",
        };
        write!(f, "LoadedKey::{kind}(<redacted>)")
    }
}

impl LoadedKey {
    /// Parses material made by [`generate_material`] for a key of `spec` and `usage`.
    pub(crate) fn load(
        spec: KeySpec,
        usage: KeyUsage,
        material: &[u8],
    ) -> Result<Self, LocalError> {
        let bad = |what: &'static str| LocalError::Corrupt(format!("stored {what} does not parse"));
        match spec {
            KeySpec::Aes256 => aes_key(material).map(Self::Aes),
            s if s.is_rsa() && usage == KeyUsage::Encrypt => {
                let key = PrivateDecryptingKey::from_pkcs8(material).map_err(|_| bad("RSA key"))?;
                let public_key = key.public_key();
                let spki = public_key
                    .as_der()
                    .map_err(|_| LocalError::Crypto("SPKI encoding"))?
                    .as_ref()
                    .to_vec();
                let pkcs1_public = Pkcs1PublicEncryptingKey::new(public_key.clone())
                    .map_err(|_| LocalError::Crypto("PKCS#1 public key"))?;
                let pkcs1_private = Pkcs1PrivateDecryptingKey::new(key.clone())
                    .map_err(|_| LocalError::Crypto("PKCS#1 private key"))?;
                let public = OaepPublicEncryptingKey::new(public_key)
                    .map_err(|_| LocalError::Crypto("OAEP public key"))?;
                let private = OaepPrivateDecryptingKey::new(key)
                    .map_err(|_| LocalError::Crypto("OAEP private key"))?;
                Ok(Self::RsaEncrypt {
                    private,
                    public,
                    pkcs1_private,
                    pkcs1_public,
                    spki,
                })
            }
            s if s.is_rsa() => {
                let pair = RsaKeyPair::from_pkcs8(material).map_err(|_| bad("RSA key"))?;
                let spki = pair
                    .public_key()
                    .as_der()
                    .map_err(|_| LocalError::Crypto("SPKI encoding"))?
                    .as_ref()
                    .to_vec();
                Ok(Self::RsaSign { pair, spki })
            }
            s if s.is_ec() => {
                let alg = match s {
                    KeySpec::EcP256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                    KeySpec::EcP384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                    KeySpec::EcP521 => &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
                    KeySpec::EcSecp256k1 => &signature::ECDSA_P256K1_SHA256_ASN1_SIGNING,
                    other => {
                        return Err(LocalError::Core(Error::unsupported(format!(
                            "the local provider cannot load {other} keys"
                        ))));
                    }
                };
                let pair = EcdsaKeyPair::from_pkcs8(alg, material).map_err(|_| bad("EC key"))?;
                let spki = pair
                    .public_key()
                    .as_der()
                    .map_err(|_| LocalError::Crypto("SPKI encoding"))?
                    .as_ref()
                    .to_vec();
                Ok(Self::Ec { pair, spki })
            }
            s => {
                let alg = match s {
                    KeySpec::HmacSha256 => hmac::HMAC_SHA256,
                    KeySpec::HmacSha384 => hmac::HMAC_SHA384,
                    KeySpec::HmacSha512 => hmac::HMAC_SHA512,
                    _ => return Err(bad("key of an unknown spec")),
                };
                Ok(Self::Hmac(Box::new(hmac::Key::new(alg, material))))
            }
        }
    }

    /// The DER SubjectPublicKeyInfo of an asymmetric key.
    pub(crate) fn spki(&self) -> Option<&[u8]> {
        match self {
            Self::RsaEncrypt { spki, .. } | Self::RsaSign { spki, .. } | Self::Ec { spki, .. } => {
                Some(spki)
            }
            Self::Aes(_) | Self::Hmac(_) => None,
        }
    }

    /// The largest plaintext RSA-OAEP-SHA256 takes with this key.
    pub(crate) fn oaep_max_plaintext(&self) -> Option<usize> {
        match self {
            Self::RsaEncrypt { public, .. } => {
                Some(public.max_plaintext_size(&OAEP_SHA256_MGF1SHA256))
            }
            _ => None,
        }
    }

    /// RSA-OAEP-SHA256 encryption with `label` (which binds header and context).
    pub(crate) fn oaep_encrypt(
        &self,
        plaintext: &[u8],
        label: &[u8],
    ) -> Result<Vec<u8>, LocalError> {
        let Self::RsaEncrypt { public, .. } = self else {
            return Err(LocalError::Crypto("not an RSA encryption key"));
        };
        let mut out = vec![0u8; public.ciphertext_size()];
        let len = public
            .encrypt(&OAEP_SHA256_MGF1SHA256, plaintext, &mut out, Some(label))
            .map_err(|_| LocalError::Crypto("RSA-OAEP encryption failed"))?
            .len();
        out.truncate(len);
        Ok(out)
    }

    /// RSA-OAEP-SHA256 decryption; `None` when the ciphertext or label does not check out.
    /// An empty `label` is the standard one a client using only the public key applies.
    pub(crate) fn oaep_decrypt(&self, ciphertext: &[u8], label: &[u8]) -> Option<SecretBytes> {
        let Self::RsaEncrypt { private, .. } = self else {
            return None;
        };
        if ciphertext.len() != private.key_size_bytes() {
            return None;
        }
        let mut out = Zeroizing::new(vec![0u8; private.min_output_size()]);
        // aws-lc treats `Some(&[])` as no label, the standard empty one.
        let len = private
            .decrypt(&OAEP_SHA256_MGF1SHA256, ciphertext, &mut out, Some(label))
            .ok()?
            .len();
        out.truncate(len);
        Some(out)
    }

    /// Signs `input`; the caller has checked `algorithm` fits the key's spec. A digest gives
    /// the signature its message would: the same padding (PSS with a salt as long as the
    /// digest, PKCS#1 v1.5) and DER ECDSA.
    pub(crate) fn sign(
        &self,
        input: &Prepared<'_>,
        algorithm: SigningAlgorithm,
    ) -> Result<Vec<u8>, LocalError> {
        let rng = rand::SystemRandom::new();
        match self {
            Self::RsaSign { pair, .. } => {
                let padding: &'static dyn signature::RsaEncoding = match algorithm {
                    SigningAlgorithm::RsaPssSha256 => &signature::RSA_PSS_SHA256,
                    SigningAlgorithm::RsaPssSha384 => &signature::RSA_PSS_SHA384,
                    SigningAlgorithm::RsaPssSha512 => &signature::RSA_PSS_SHA512,
                    SigningAlgorithm::RsaPkcs1Sha256 => &signature::RSA_PKCS1_SHA256,
                    SigningAlgorithm::RsaPkcs1Sha384 => &signature::RSA_PKCS1_SHA384,
                    SigningAlgorithm::RsaPkcs1Sha512 => &signature::RSA_PKCS1_SHA512,
                    _ => return Err(LocalError::Crypto("algorithm does not fit the key")),
                };
                let mut sig = vec![0u8; pair.public_modulus_len()];
                match input {
                    Prepared::Message(m) => pair.sign(padding, &rng, m, &mut sig),
                    Prepared::Digest(d) => pair.sign_digest(padding, d, &mut sig),
                }
                .map_err(|_| LocalError::Crypto("RSA signing failed"))?;
                Ok(sig)
            }
            // The key pair was loaded for its curve's one algorithm (see `load`).
            Self::Ec { pair, .. } if !algorithm.is_rsa() => {
                let sig = match input {
                    Prepared::Message(m) => pair.sign(&rng, m),
                    Prepared::Digest(d) => pair.sign_digest(d),
                }
                .map_err(|_| LocalError::Crypto("ECDSA signing failed"))?;
                Ok(sig.as_ref().to_vec())
            }
            _ => Err(LocalError::Crypto("algorithm does not fit the key")),
        }
    }

    /// Verifies a signature over `input`; `false` for one that does not verify.
    pub(crate) fn verify(
        &self,
        input: &Prepared<'_>,
        sig: &[u8],
        algorithm: SigningAlgorithm,
    ) -> bool {
        let spki = match self {
            Self::RsaSign { spki, .. } if algorithm.is_rsa() => spki,
            Self::Ec { spki, .. } if !algorithm.is_rsa() => spki,
            _ => return false,
        };
        crate::digest::verify_spki(
            crate::digest::verification_algorithms(algorithm),
            spki,
            input,
            sig,
        )
    }

    /// The HMAC of `message`.
    pub(crate) fn mac(&self, message: &[u8]) -> Option<Vec<u8>> {
        match self {
            Self::Hmac(key) => Some(hmac::sign(key, message).as_ref().to_vec()),
            _ => None,
        }
    }

    /// Constant-time HMAC check.
    pub(crate) fn verify_mac(&self, message: &[u8], tag: &[u8]) -> bool {
        match self {
            Self::Hmac(key) => hmac::verify(key, message, tag).is_ok(),
            _ => false,
        }
    }

    /// The AES key, for the symmetric ciphertext path.
    pub(crate) fn aes(&self) -> Option<&LessSafeKey> {
        match self {
            Self::Aes(k) => Some(k),
            _ => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn material_wrap_binds_key_id_and_version() {
        let root = RootKey::new(&[7u8; 32]).unwrap();
        let wrapped = root.wrap("k1", 1, b"material-bytes").unwrap();
        assert_eq!(
            root.unwrap("k1", 1, &wrapped).unwrap().as_slice(),
            b"material-bytes"
        );
        assert!(root.unwrap("k2", 1, &wrapped).is_err());
        assert!(root.unwrap("k1", 2, &wrapped).is_err());
        let other = RootKey::new(&[8u8; 32]).unwrap();
        assert!(other.unwrap("k1", 1, &wrapped).is_err());
        for cut in 0..wrapped.len() {
            assert!(root.unwrap("k1", 1, &wrapped[..cut]).is_err());
        }
        let mut flipped = wrapped.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(root.unwrap("k1", 1, &flipped).is_err());
    }

    #[test]
    fn check_value_tells_root_keys_apart() {
        let root = RootKey::new(&[1u8; 32]).unwrap();
        let check = root.check_value().unwrap();
        assert!(root.matches_check_value(&check));
        assert!(
            !RootKey::new(&[2u8; 32])
                .unwrap()
                .matches_check_value(&check)
        );
        assert!(!root.matches_check_value(&check[..10]));
        assert!(!root.matches_check_value(&[]));
    }

    #[test]
    fn root_key_length_is_checked_and_debug_is_redacted() {
        assert!(matches!(
            RootKey::new(&[0u8; 31]),
            Err(Error::InvalidArgument(_))
        ));
        let root = RootKey::new(&[0x41u8; 32]).unwrap();
        let dbg = format!("{root:?}");
        assert!(!dbg.contains("65") && !dbg.contains("AAAA"), "{dbg}");
    }

    #[test]
    fn hmac_and_ec_roundtrip() {
        let m = generate_material(KeySpec::HmacSha384).unwrap();
        assert_eq!(m.len(), 48);
        let k = LoadedKey::load(KeySpec::HmacSha384, KeyUsage::Mac, &m).unwrap();
        let tag = k.mac(b"msg").unwrap();
        assert_eq!(tag.len(), 48);
        assert!(k.verify_mac(b"msg", &tag));
        assert!(!k.verify_mac(b"msg2", &tag));

        let m = generate_material(KeySpec::EcP256).unwrap();
        let k = LoadedKey::load(KeySpec::EcP256, KeyUsage::Sign, &m).unwrap();
        let (hello, tampered) = (Prepared::Message(b"hello"), Prepared::Message(b"hellO"));
        let sig = k.sign(&hello, SigningAlgorithm::EcdsaSha256).unwrap();
        assert!(k.verify(&hello, &sig, SigningAlgorithm::EcdsaSha256));
        assert!(!k.verify(&tampered, &sig, SigningAlgorithm::EcdsaSha256));
        assert!(!k.verify(&hello, &sig, SigningAlgorithm::EcdsaSha384));
        assert!(format!("{k:?}").contains("redacted"));
    }

    #[test]
    fn p521_and_secp256k1_sign_and_verify_on_their_own_curve_only() {
        let mut sigs = Vec::new();
        for (spec, alg) in [
            (KeySpec::EcP521, SigningAlgorithm::EcdsaSha512),
            (KeySpec::EcSecp256k1, SigningAlgorithm::EcdsaSha256),
        ] {
            let m = generate_material(spec).unwrap();
            let k = LoadedKey::load(spec, KeyUsage::Sign, &m).unwrap();
            let hello = Prepared::Message(b"hello");
            let sig = k.sign(&hello, alg).unwrap();
            assert!(k.verify(&hello, &sig, alg), "{spec}");
            assert!(!k.verify(&Prepared::Message(b"hellO"), &sig, alg), "{spec}");
            sigs.push((k, sig));
        }
        // A P-256 key does not accept a secp256k1 signature under the same algorithm name.
        let p256 = LoadedKey::load(
            KeySpec::EcP256,
            KeyUsage::Sign,
            &generate_material(KeySpec::EcP256).unwrap(),
        )
        .unwrap();
        let hello = Prepared::Message(b"hello");
        assert!(!p256.verify(&hello, &sigs[1].1, SigningAlgorithm::EcdsaSha256));
        assert!(
            !sigs[1]
                .0
                .verify(&hello, &sigs[0].1, SigningAlgorithm::EcdsaSha256)
        );
    }

    #[test]
    fn rsa_signs_with_sha384_and_sha512_in_both_paddings() {
        let m = generate_material(KeySpec::Rsa2048).unwrap();
        let k = LoadedKey::load(KeySpec::Rsa2048, KeyUsage::Sign, &m).unwrap();
        let hello = Prepared::Message(b"hello");
        for alg in KeySpec::Rsa2048.signing_algorithms().iter().copied() {
            let sig = k.sign(&hello, alg).unwrap();
            assert!(k.verify(&hello, &sig, alg), "{alg}");
            for other in KeySpec::Rsa2048.signing_algorithms().iter().copied() {
                if other != alg {
                    assert!(!k.verify(&hello, &sig, other), "{alg} verified as {other}");
                }
            }
        }
    }

    #[test]
    fn oaep_label_binds() {
        let m = generate_material(KeySpec::Rsa2048).unwrap();
        let k = LoadedKey::load(KeySpec::Rsa2048, KeyUsage::Encrypt, &m).unwrap();
        assert_eq!(k.oaep_max_plaintext(), Some(190));
        let ct = k.oaep_encrypt(b"secret", b"label-a").unwrap();
        assert_eq!(
            k.oaep_decrypt(&ct, b"label-a").unwrap().as_slice(),
            b"secret"
        );
        assert!(k.oaep_decrypt(&ct, b"label-b").is_none());
        assert!(k.oaep_decrypt(&ct, b"").is_none());
        assert!(k.oaep_decrypt(&ct[1..], b"label-a").is_none());
        assert_eq!(rsa_modulus_len(KeySpec::Rsa2048), Some(ct.len()));

        let unlabelled = k.oaep_encrypt(b"public", b"").unwrap();
        assert_eq!(
            k.oaep_decrypt(&unlabelled, b"").unwrap().as_slice(),
            b"public"
        );
        assert!(k.oaep_decrypt(&unlabelled, b"label-a").is_none());
    }
}
