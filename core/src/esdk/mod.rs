//! The AWS Encryption SDK message format, so files keygate seals open with the AWS
//! Encryption SDK (its libraries and `aws-encryption-cli`) and the other way round.
//!
//! Only what the format needs, with no I/O of its own: the header ([`MessageHeader`]), the
//! key schedule of the committing algorithm suites, the framed body sealed through a
//! [`Write`](std::io::Write) ([`EsdkSealer`]) and opened through a [`Read`](std::io::Read)
//! ([`EsdkOpener`]) in bounded memory (one frame), and the ECDSA P-384 footer. Wrapping and
//! unwrapping the data key is the caller's business (keygate does it through the gateway,
//! as `aws-kms` encrypted data keys).
//!
//! # What is supported
//!
//! Message format version 2 with the two committing suites the SDK writes by default:
//! [`AlgorithmSuite::CommitKey`] (`0x0478`, AES-256-GCM, HKDF-SHA512, key commitment) and
//! [`AlgorithmSuite::CommitKeyEcdsaP384`] (`0x0578`, the same with an ECDSA P-384 signature;
//! the SDK's default). Framed bodies only (the SDK frames by default, 4096 bytes). Version 1
//! messages, non-committing suites and non-framed bodies are recognized and refused with
//! [`Error::Unsupported`].
//!
//! # Key schedule (committing suites)
//!
//! - data encryption key = HKDF-SHA512(ikm = data key, salt = message id,
//!   info = suite id (2 bytes, big-endian) || `"DERIVEKEY"`), 32 bytes;
//! - commitment key = HKDF-SHA512(ikm = data key, salt = message id, info = `"COMMITKEY"`),
//!   32 bytes, stored in the header and compared (in constant time) before anything opens;
//! - header authentication tag = AES-256-GCM(data encryption key, IV = 12 zero bytes,
//!   AAD = the serialized header, empty plaintext);
//! - frame `n` (from 1) = AES-256-GCM(data encryption key, IV = 8 zero bytes || `n`,
//!   AAD = message id || `"AWSKMSEncryptionClient Frame"` (or `… Final Frame`) || `n` (4
//!   bytes) || plaintext length (8 bytes)).
//!
//! For the signed suite the encryption context carries the signer's compressed public key,
//! base64, under [`PUBLIC_KEY_CONTEXT_KEY`], and the footer is a DER ECDSA P-384 signature
//! over the SHA-384 digest of every byte before it.

mod header;
mod stream;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod vectors;

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::hkdf;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

pub use header::{EncryptedDataKey, MessageHeader, ParsedHeader};
pub use stream::{EsdkOpener, EsdkSealer, SigningKey};

/// The provider id of encrypted data keys wrapped by AWS KMS (and keygate's AWS door).
pub const AWS_KMS_PROVIDER_ID: &str = "aws-kms";

/// The encryption context key that carries a signed message's public key.
pub const PUBLIC_KEY_CONTEXT_KEY: &str = "aws-crypto-public-key";

/// Encryption context keys the SDK reserves for itself: callers may not set them.
pub const RESERVED_CONTEXT_PREFIX: &str = "aws-crypto-";

/// The frame length the SDK uses by default, in plaintext bytes.
pub const DEFAULT_FRAME_LENGTH: u32 = 4096;

/// The largest frame length keygate writes or reads (the SDK allows up to 2^32 - 1; one
/// frame is what a reader holds in memory, so keygate bounds it).
pub const MAX_FRAME_LENGTH: u32 = 16 * 1024 * 1024;

/// The most encrypted data keys keygate reads in one message (the SDK's own limit is
/// configurable and unbounded by default; each one may cost a key service call).
pub const MAX_ENCRYPTED_DATA_KEYS: usize = 64;

/// The length of a data key, a derived key and a commitment key.
const KEY_LEN: usize = 32;
/// AES-GCM IV length.
const IV_LEN: usize = 12;
/// AES-GCM tag length.
const TAG_LEN: usize = 16;
/// The length of a message id (format version 2).
const MESSAGE_ID_LEN: usize = 32;

/// The message format version keygate writes.
const FORMAT_V2: u8 = 0x02;
/// The first byte of a version 1 message (recognized, refused).
const FORMAT_V1: u8 = 0x01;
/// A version 1 message's type byte (customer authenticated encrypted data).
const V1_TYPE: u8 = 0x80;

/// An algorithm suite keygate reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlgorithmSuite {
    /// `AES_256_GCM_HKDF_SHA512_COMMIT_KEY` (`0x0478`): key commitment, no signature.
    CommitKey,
    /// `AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384` (`0x0578`): key commitment and an
    /// ECDSA P-384 signature; the SDK's default.
    CommitKeyEcdsaP384,
}

impl AlgorithmSuite {
    /// The suite's two-byte id.
    pub fn id(self) -> u16 {
        match self {
            Self::CommitKey => 0x0478,
            Self::CommitKeyEcdsaP384 => 0x0578,
        }
    }

    /// The suite with id `id`.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for any other suite (the SDK's non-committing suites included).
    pub fn from_id(id: u16) -> Result<Self> {
        match id {
            0x0478 => Ok(Self::CommitKey),
            0x0578 => Ok(Self::CommitKeyEcdsaP384),
            other => Err(Error::unsupported(format!(
                "AWS Encryption SDK algorithm suite 0x{other:04X} is not supported; keygate \
                 reads and writes the committing suites 0x0478 and 0x0578"
            ))),
        }
    }

    /// The suite's name, as the SDK spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::CommitKey => "AES_256_GCM_HKDF_SHA512_COMMIT_KEY",
            Self::CommitKeyEcdsaP384 => "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384",
        }
    }

    /// True when messages of this suite end with a signature.
    pub fn is_signed(self) -> bool {
        matches!(self, Self::CommitKeyEcdsaP384)
    }
}

impl Default for AlgorithmSuite {
    /// The SDK's default suite, signed.
    fn default() -> Self {
        Self::CommitKeyEcdsaP384
    }
}

impl fmt::Display for AlgorithmSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AlgorithmSuite {
    type Err = Error;

    /// The SDK's name of a suite, or its id in hex (`0x0578`).
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        for suite in [Self::CommitKey, Self::CommitKeyEcdsaP384] {
            if s.eq_ignore_ascii_case(suite.name()) {
                return Ok(suite);
            }
        }
        let hex = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .unwrap_or(s);
        match u16::from_str_radix(hex, 16) {
            Ok(id) => Self::from_id(id),
            Err(_) => Err(Error::invalid(format!(
                "unknown algorithm suite `{s}` (expected {} or {})",
                Self::CommitKeyEcdsaP384.name(),
                Self::CommitKey.name()
            ))),
        }
    }
}

/// True when `prefix` (the first three bytes of an input, or more) starts an AWS
/// Encryption SDK message: version 2 with a suite keygate reads, or any version 1 message
/// (which [`MessageHeader::read_from`] then refuses as unsupported).
pub fn is_message(prefix: &[u8]) -> bool {
    match prefix {
        [FORMAT_V2, hi, lo, ..] => AlgorithmSuite::from_id(u16::from_be_bytes([*hi, *lo])).is_ok(),
        [FORMAT_V1, V1_TYPE, ..] => true,
        _ => false,
    }
}

/// The output length of an HKDF expansion (a bare length; the derived bytes are not a key
/// of any one algorithm).
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// The keys one message derives from its data key.
struct MessageKeys {
    /// The data encryption key, as an AES-256-GCM key.
    cipher: LessSafeKey,
    /// The commitment key the header carries.
    commitment: [u8; KEY_LEN],
}

impl MessageKeys {
    /// Derives the data encryption key and the commitment key (see the module docs).
    fn derive(suite: AlgorithmSuite, data_key: &[u8], message_id: &[u8]) -> Result<Self> {
        if data_key.len() != KEY_LEN {
            return Err(Error::invalid(format!(
                "an AWS Encryption SDK data key for {suite} is {KEY_LEN} bytes"
            )));
        }
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA512, message_id).extract(data_key);
        let expand = |info: &[&[u8]], out: &mut [u8]| {
            prk.expand(info, Len(out.len()))
                .and_then(|okm| okm.fill(out))
                .map_err(|_| Error::state("AWS Encryption SDK key derivation failed"))
        };
        let mut encryption_key = Zeroizing::new([0u8; KEY_LEN]);
        let id = suite.id().to_be_bytes();
        expand(&[&id, b"DERIVEKEY"], encryption_key.as_mut_slice())?;
        let mut commitment = [0u8; KEY_LEN];
        expand(&[b"COMMITKEY"], &mut commitment)?;
        let key = UnboundKey::new(&AES_256_GCM, encryption_key.as_slice())
            .map_err(|_| Error::state("AWS Encryption SDK key setup failed"))?;
        Ok(Self {
            cipher: LessSafeKey::new(key),
            commitment,
        })
    }

    /// The header authentication tag over the serialized header `header`.
    fn header_tag(&self, header: &[u8]) -> Result<[u8; TAG_LEN]> {
        let mut empty: [u8; 0] = [];
        let tag = self
            .cipher
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key([0u8; IV_LEN]),
                Aad::from(header),
                &mut empty,
            )
            .map_err(|_| Error::state("AWS Encryption SDK header authentication failed"))?;
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }
}

/// The IV of frame `sequence`: eight zero bytes, then the sequence number.
fn frame_iv(sequence: u32) -> [u8; IV_LEN] {
    let mut iv = [0u8; IV_LEN];
    iv[IV_LEN - 4..].copy_from_slice(&sequence.to_be_bytes());
    iv
}

/// The AAD of frame `sequence` holding `len` plaintext bytes.
fn frame_aad(message_id: &[u8], last: bool, sequence: u32, len: usize) -> Vec<u8> {
    let label: &[u8] = if last {
        b"AWSKMSEncryptionClient Final Frame"
    } else {
        b"AWSKMSEncryptionClient Frame"
    };
    let mut aad = Vec::with_capacity(message_id.len() + label.len() + 12);
    aad.extend_from_slice(message_id);
    aad.extend_from_slice(label);
    aad.extend_from_slice(&sequence.to_be_bytes());
    aad.extend_from_slice(&(len as u64).to_be_bytes());
    aad
}

/// A fresh random 32-byte data key for one message.
///
/// # Errors
/// [`Error::InvalidState`] if the system has no randomness to give.
pub fn new_data_key() -> Result<Zeroizing<Vec<u8>>> {
    use aws_lc_rs::rand::SecureRandom as _;
    let mut key = Zeroizing::new(vec![0u8; KEY_LEN]);
    aws_lc_rs::rand::SystemRandom::new()
        .fill(key.as_mut_slice())
        .map_err(|_| Error::state("no randomness for a data key"))?;
    Ok(key)
}
