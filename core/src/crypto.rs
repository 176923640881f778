//! Inputs and outputs of cryptographic operations.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::key::{MacAlgorithm, SigningAlgorithm};

/// Secret bytes (plaintext, data keys): wiped from memory on drop, never printed.
pub type SecretBytes = Zeroizing<Vec<u8>>;

/// What a signature is over: a message, which the provider hashes as the algorithm says, or
/// a digest the caller computed (the hash the algorithm names: SHA-256 for the `*_SHA256`
/// algorithms, SHA-384 for `ECDSA_SHA384`), as the cloud APIs that sign digests expect (AWS
/// `MessageType=DIGEST`, GCP `digest`, Azure always). A signature over a message's digest
/// is the signature over the message.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SignInput<'a> {
    /// The message itself.
    Message(&'a [u8]),
    /// Its precomputed digest.
    Digest(&'a [u8]),
}

impl<'a> SignInput<'a> {
    /// The bytes, message or digest.
    pub fn bytes(&self) -> &'a [u8] {
        match *self {
            Self::Message(b) | Self::Digest(b) => b,
        }
    }

    /// True for a precomputed digest.
    pub fn is_digest(&self) -> bool {
        matches!(self, Self::Digest(_))
    }
}

/// Only the kind and the length: a message to sign may be confidential.
impl fmt::Debug for SignInput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Message(b) => write!(f, "Message(<{} bytes>)", b.len()),
            Self::Digest(b) => write!(f, "Digest(<{} bytes>)", b.len()),
        }
    }
}

/// An encryption context: a string map bound to a ciphertext as additional authenticated data.
/// Decrypting with a different context fails. The map is sorted, so its encoding is canonical.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EncryptionContext(
    /// The pairs, in key order (the order of the canonical encoding).
    pub BTreeMap<String, String>,
);

impl EncryptionContext {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a pair, builder style.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.insert(key.into(), value.into());
        self
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The canonical byte encoding used as AAD: for each pair in key order, the key and the
    /// value, each prefixed by its length as a big-endian u32. An empty context encodes to no
    /// bytes. Length prefixes make the encoding injective (`a=bc` differs from `ab=c`).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, v) in &self.0 {
            for part in [k.as_bytes(), v.as_bytes()] {
                let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(part);
            }
        }
        out
    }

    /// Parses `key=value` pairs, as given on a command line.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a pair without `=` or with an empty key.
    pub fn from_pairs<I, S>(pairs: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        parse_pairs("context entry", pairs).map(Self)
    }
}

/// Parses `key=value` pairs (`--context`, `--label`) into a sorted map; the value may itself
/// contain `=`. `what` names the pairs in error messages.
///
/// # Errors
/// [`Error::InvalidArgument`] for a pair without `=` or with an empty key.
pub fn parse_pairs<I, S>(what: &str, pairs: I) -> Result<BTreeMap<String, String>>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut map = BTreeMap::new();
    for pair in pairs {
        let pair = pair.as_ref();
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            Error::invalid(format!("{what} `{pair}` is not of the form key=value"))
        })?;
        if k.is_empty() {
            return Err(Error::invalid(format!("{what} `{pair}` has an empty key")));
        }
        map.insert(k.to_owned(), v.to_owned());
    }
    Ok(map)
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for EncryptionContext {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        Self(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// Encryption algorithms, chosen by the key's spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum EncryptionAlgorithm {
    /// The provider's symmetric default (AES-256-GCM for local).
    #[serde(rename = "SYMMETRIC_DEFAULT")]
    SymmetricDefault,
    /// RSAES-OAEP with SHA-256 and MGF1-SHA-256.
    #[serde(rename = "RSAES_OAEP_SHA_256")]
    RsaOaepSha256,
    /// RSAES-OAEP with SHA-1 and MGF1-SHA-1 (Key Vault's `RSA-OAEP`, AWS's
    /// `RSAES_OAEP_SHA_1`): only through [`KeyProvider::encrypt_raw`](crate::KeyProvider::encrypt_raw).
    #[serde(rename = "RSAES_OAEP_SHA_1")]
    RsaOaepSha1,
    /// RSAES-PKCS1-v1_5 (Key Vault's `RSA1_5`): only through
    /// [`KeyProvider::encrypt_raw`](crate::KeyProvider::encrypt_raw), for clients that
    /// still need it.
    #[serde(rename = "RSAES_PKCS1_V1_5")]
    RsaPkcs1V15,
}

impl EncryptionAlgorithm {
    /// The canonical name, spelled as AWS KMS does (`SYMMETRIC_DEFAULT`,
    /// `RSAES_OAEP_SHA_256`, `RSAES_OAEP_SHA_1`; `RSAES_PKCS1_V1_5`, which KMS lacks, in
    /// the same style); serde uses the same.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SymmetricDefault => "SYMMETRIC_DEFAULT",
            Self::RsaOaepSha256 => "RSAES_OAEP_SHA_256",
            Self::RsaOaepSha1 => "RSAES_OAEP_SHA_1",
            Self::RsaPkcs1V15 => "RSAES_PKCS1_V1_5",
        }
    }

    /// True for the RSA algorithms (every one but the symmetric default).
    pub fn is_rsa(self) -> bool {
        !matches!(self, Self::SymmetricDefault)
    }
}

/// The result of an encryption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ciphertext {
    /// The provider's ciphertext bytes.
    pub bytes: Vec<u8>,
    /// The key version that encrypted.
    pub key_version: String,
    /// The algorithm used.
    pub algorithm: EncryptionAlgorithm,
}

/// The size of a generated data key.
///
/// AES_128 and AES_256 are the named sizes; [`DataKeySpec::Bytes`] asks for any length from 1
/// to [`DataKeySpec::MAX_BYTES`] bytes, as AWS KMS's `NumberOfBytes` does. Build a spec from a
/// byte count with [`DataKeySpec::of_bytes`], which gives the named spec for 16 and 32 bytes,
/// so that the same size has one spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DataKeySpec {
    /// 256-bit key.
    #[serde(rename = "AES_256")]
    Aes256,
    /// 128-bit key.
    #[serde(rename = "AES_128")]
    Aes128,
    /// A key of this many bytes, 1 to [`DataKeySpec::MAX_BYTES`] (serialized as
    /// `{"BYTES": n}`). A provider declaring
    /// [`Capabilities::data_key_bytes`](crate::Capabilities::data_key_bytes) takes any of
    /// them.
    #[serde(rename = "BYTES")]
    Bytes(u16),
}

impl DataKeySpec {
    /// The largest data key, in bytes (AWS KMS's bound for `NumberOfBytes`).
    pub const MAX_BYTES: usize = 1024;

    /// The spec of a data key of `bytes` bytes: [`DataKeySpec::Aes128`] for 16,
    /// [`DataKeySpec::Aes256`] for 32, [`DataKeySpec::Bytes`] otherwise.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] outside 1 to
    /// [`DataKeySpec::MAX_BYTES`].
    pub fn of_bytes(bytes: usize) -> Result<Self> {
        match bytes {
            16 => Ok(Self::Aes128),
            32 => Ok(Self::Aes256),
            n if (1..=Self::MAX_BYTES).contains(&n) => {
                Ok(Self::Bytes(u16::try_from(n).unwrap_or(u16::MAX)))
            }
            n => Err(Error::invalid(format!(
                "a data key is 1 to {} bytes long, not {n}",
                Self::MAX_BYTES
            ))),
        }
    }

    /// Key length in bytes.
    // A data key spec is never empty, so an `is_empty` would only ever say `false`.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(self) -> usize {
        match self {
            Self::Aes256 => 32,
            Self::Aes128 => 16,
            Self::Bytes(n) => usize::from(n),
        }
    }

    /// True when the length lies within 1 to [`DataKeySpec::MAX_BYTES`] (a
    /// [`DataKeySpec::Bytes`] built by hand may not).
    pub fn is_valid(self) -> bool {
        (1..=Self::MAX_BYTES).contains(&self.len())
    }
}

impl fmt::Display for DataKeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Aes256 => f.write_str("AES_256"),
            Self::Aes128 => f.write_str("AES_128"),
            Self::Bytes(n) => write!(f, "{n} bytes"),
        }
    }
}

/// A freshly generated data key: the plaintext and the same key encrypted under a KMS key.
pub struct DataKey {
    /// The plaintext data key. Secret.
    pub plaintext: SecretBytes,
    /// The data key encrypted under the KMS key (decrypt it with the same context).
    pub ciphertext: Vec<u8>,
    /// The KMS key version that encrypted it.
    pub key_version: String,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey")
            .field(
                "plaintext",
                &format_args!("<redacted {} bytes>", self.plaintext.len()),
            )
            .field("ciphertext_len", &self.ciphertext.len())
            .field("key_version", &self.key_version)
            .finish()
    }
}

/// A signature, with the key version and algorithm that made it: what a verifier needs
/// besides the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Signature bytes (DER for ECDSA).
    pub bytes: Vec<u8>,
    /// The key version that signed.
    pub key_version: String,
    /// The algorithm used.
    pub algorithm: SigningAlgorithm,
}

/// A MAC tag over a message, with the key version and HMAC algorithm that computed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacTag {
    /// Tag bytes.
    pub bytes: Vec<u8>,
    /// The key version that computed it.
    pub key_version: String,
    /// The algorithm used.
    pub algorithm: MacAlgorithm,
}

/// A public key in SubjectPublicKeyInfo form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// DER-encoded SubjectPublicKeyInfo.
    pub der: Vec<u8>,
    /// The key version it belongs to.
    pub key_version: String,
    /// The key's spec.
    pub spec: crate::key::KeySpec,
}

impl PublicKey {
    /// PEM (`-----BEGIN PUBLIC KEY-----`) encoding of [`Self::der`].
    pub fn pem(&self) -> String {
        pem::encode(&pem::Pem::new("PUBLIC KEY", self.der.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_context_is_injective_and_ordered() {
        let a = EncryptionContext::new().with("a", "bc");
        let b = EncryptionContext::new().with("ab", "c");
        assert_ne!(a.canonical_bytes(), b.canonical_bytes());
        let x = EncryptionContext::new().with("x", "1").with("y", "2");
        let y = EncryptionContext::new().with("y", "2").with("x", "1");
        assert_eq!(x.canonical_bytes(), y.canonical_bytes());
        assert!(EncryptionContext::new().canonical_bytes().is_empty());
    }

    #[test]
    fn pairs_parse() {
        let ctx = EncryptionContext::from_pairs(["tenant=acme", "purpose=a=b"]).unwrap();
        assert_eq!(ctx.0["purpose"], "a=b");
        assert!(EncryptionContext::from_pairs(["novalue"]).is_err());
        assert!(EncryptionContext::from_pairs(["=x"]).is_err());
    }

    #[test]
    fn data_key_debug_hides_plaintext() {
        let dk = DataKey {
            plaintext: Zeroizing::new(b"super-secret-material-0123456789".to_vec()),
            ciphertext: vec![1, 2, 3],
            key_version: "1".into(),
        };
        let dbg = format!("{dk:?}");
        assert!(!dbg.contains("super-secret"));
        assert!(!dbg.contains("115, 117, 112"));
        assert!(dbg.contains("redacted 32 bytes"));
    }

    #[test]
    fn data_key_sizes_are_one_to_1024_bytes_with_one_spelling_each() {
        assert_eq!(DataKeySpec::of_bytes(16).unwrap(), DataKeySpec::Aes128);
        assert_eq!(DataKeySpec::of_bytes(32).unwrap(), DataKeySpec::Aes256);
        for n in [1, 5, 24, 64, 1024] {
            let spec = DataKeySpec::of_bytes(n).unwrap();
            assert_eq!((spec.len(), spec.is_valid()), (n, true));
        }
        for n in [0, 1025, 70_000] {
            assert_eq!(
                DataKeySpec::of_bytes(n).unwrap_err().kind(),
                crate::ErrorKind::InvalidArgument
            );
        }
        assert!(!DataKeySpec::Bytes(0).is_valid());
        assert!(!DataKeySpec::Bytes(2000).is_valid());
        let json = serde_json::to_value(DataKeySpec::Bytes(5)).unwrap();
        assert_eq!(json, serde_json::json!({"BYTES": 5}));
        assert_eq!(
            serde_json::from_value::<DataKeySpec>(json).unwrap(),
            DataKeySpec::Bytes(5)
        );
    }
}
