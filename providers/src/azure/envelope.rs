//! keygate's ciphertext blobs for AES_256 keys, and the AES-256-GCM sealing of the
//! client-side envelope.
//!
//! A Key Vault (not a Managed HSM) has no symmetric keys, so an AES_256 keygate key there is
//! an **envelope**: the vault holds an RSA key (wrapKey/unwrapKey only) and `encrypt` seals
//! the plaintext locally with a fresh 256-bit data key under AES-256-GCM, the canonical
//! encoding of the encryption context ([`EncryptionContext::canonical_bytes`]) as additional
//! authenticated data, then wraps the data key with the vault's `wrapkey` (RSA-OAEP-256)
//! under the key's current version. On a Managed HSM an AES_256 key is a native `oct-HSM`
//! key, and `encrypt` is the HSM's `A256GCM`; its iv and tag travel in the same blob.
//!
//! The blob, version 1:
//!
//! ```text
//! "KGAZ"                 4 bytes, magic
//! 0x01                   format version
//! kind                   1 byte: 0x01 envelope, 0x02 Managed HSM A256GCM
//! key version id         u16 big-endian length + UTF-8 bytes
//! field A                u16 length + bytes: the wrapped data key (envelope) / the iv (HSM)
//! field B                u16 length + bytes: the GCM nonce (envelope) / the GCM tag (HSM)
//! ciphertext             the rest: ciphertext and tag (envelope) / ciphertext (HSM)
//! ```
//!
//! Anything that does not parse is an [`Error::IntegrityFailure`], as is any failure to open.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use keygate_core::{EncryptionContext, Error, Result, SecretBytes};
use zeroize::Zeroizing;

/// The blob's first bytes.
const MAGIC: &[u8; 4] = b"KGAZ";
/// The blob format's version.
const FORMAT: u8 = 1;
/// A data key's length.
pub(crate) const DATA_KEY_LEN: usize = 32;

/// What produced a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// keygate's client-side envelope over an RSA vault key.
    Envelope,
    /// A Managed HSM's A256GCM.
    Hsm,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Self::Envelope => 1,
            Self::Hsm => 2,
        }
    }
}

/// A parsed blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Blob {
    /// What produced it.
    pub kind: Kind,
    /// The vault key version that wrapped (or encrypted).
    pub version: String,
    /// The wrapped data key, or the HSM's iv.
    pub a: Vec<u8>,
    /// The GCM nonce, or the HSM's tag.
    pub b: Vec<u8>,
    /// The sealed bytes.
    pub sealed: Vec<u8>,
}

impl Blob {
    /// The blob's bytes.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when a field is longer than 65,535 bytes (never for blobs
    /// keygate makes).
    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(
            12 + self.version.len() + self.a.len() + self.b.len() + self.sealed.len(),
        );
        out.extend_from_slice(MAGIC);
        out.push(FORMAT);
        out.push(self.kind.byte());
        for field in [self.version.as_bytes(), &self.a, &self.b] {
            let len = u16::try_from(field.len())
                .map_err(|_| Error::invalid("a ciphertext field is longer than 65,535 bytes"))?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(field);
        }
        out.extend_from_slice(&self.sealed);
        Ok(out)
    }

    /// Parses a blob.
    ///
    /// # Errors
    /// [`Error::IntegrityFailure`] for anything that is not a blob of this format.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self> {
        let rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or(Error::IntegrityFailure)?;
        let [format, kind, rest @ ..] = rest else {
            return Err(Error::IntegrityFailure);
        };
        if *format != FORMAT {
            return Err(Error::IntegrityFailure);
        }
        let kind = match kind {
            1 => Kind::Envelope,
            2 => Kind::Hsm,
            _ => return Err(Error::IntegrityFailure),
        };
        let (version, rest) = field(rest)?;
        let (a, rest) = field(rest)?;
        let (b, sealed) = field(rest)?;
        let version = String::from_utf8(version.to_vec()).map_err(|_| Error::IntegrityFailure)?;
        if !valid_version(&version) {
            return Err(Error::IntegrityFailure);
        }
        if kind == Kind::Envelope && (b.len() != NONCE_LEN || sealed.len() < AES_256_GCM.tag_len())
        {
            return Err(Error::IntegrityFailure);
        }
        Ok(Self {
            kind,
            version,
            a: a.to_vec(),
            b: b.to_vec(),
            sealed: sealed.to_vec(),
        })
    }
}

/// A version id keygate sends back to the vault: 1–128 of `0-9 a-z A-Z - _ .` (Key Vault's
/// are 32 hex digits).
pub(crate) fn valid_version(v: &str) -> bool {
    (1..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn field(bytes: &[u8]) -> Result<(&[u8], &[u8])> {
    let [hi, lo, rest @ ..] = bytes else {
        return Err(Error::IntegrityFailure);
    };
    let len = usize::from(u16::from_be_bytes([*hi, *lo]));
    if rest.len() < len {
        return Err(Error::IntegrityFailure);
    }
    Ok(rest.split_at(len))
}

/// A fresh random data key.
///
/// # Errors
/// [`Error::Unavailable`] when the random generator fails.
pub(crate) fn data_key(len: usize) -> Result<SecretBytes> {
    let mut key = Zeroizing::new(vec![0u8; len]);
    aws_lc_rs::rand::fill(&mut key)
        .map_err(|_| Error::unavailable("the random generator failed"))?;
    Ok(key)
}

fn gcm_key(data_key: &[u8]) -> Result<LessSafeKey> {
    UnboundKey::new(&AES_256_GCM, data_key)
        .map(LessSafeKey::new)
        .map_err(|_| Error::IntegrityFailure)
}

/// Seals `plaintext` under `data_key` with a fresh nonce and the context as AAD: (nonce,
/// ciphertext and tag).
///
/// # Errors
/// [`Error::Unavailable`] when the random generator fails.
pub(crate) fn seal(
    data_key: &[u8],
    plaintext: &[u8],
    context: &EncryptionContext,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut nonce = [0u8; NONCE_LEN];
    aws_lc_rs::rand::fill(&mut nonce)
        .map_err(|_| Error::unavailable("the random generator failed"))?;
    let key = gcm_key(data_key)?;
    let mut sealed = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(context.canonical_bytes()),
        &mut sealed,
    )
    .map_err(|_| Error::unavailable("AES-GCM sealing failed"))?;
    Ok((nonce.to_vec(), sealed))
}

/// Opens what [`seal`] made.
///
/// # Errors
/// [`Error::IntegrityFailure`] for a wrong key, nonce, context or any altered byte.
pub(crate) fn open(
    data_key: &[u8],
    nonce: &[u8],
    sealed: &[u8],
    context: &EncryptionContext,
) -> Result<SecretBytes> {
    let key = gcm_key(data_key)?;
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Error::IntegrityFailure)?;
    let mut buf = Zeroizing::new(sealed.to_vec());
    let len = key
        .open_in_place(nonce, Aad::from(context.canonical_bytes()), &mut buf)
        .map_err(|_| Error::IntegrityFailure)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Blob {
        Blob {
            kind: Kind::Envelope,
            version: "0123456789abcdef0123456789abcdef".into(),
            a: vec![7; 384],
            b: vec![1; NONCE_LEN],
            sealed: vec![9; 40],
        }
    }

    #[test]
    fn blobs_roundtrip_and_start_with_the_magic() {
        let blob = sample();
        let bytes = blob.encode().unwrap();
        assert_eq!(&bytes[..6], b"KGAZ\x01\x01");
        assert_eq!(&bytes[6..8], &32u16.to_be_bytes());
        assert_eq!(Blob::decode(&bytes).unwrap(), blob);
        let hsm = Blob {
            kind: Kind::Hsm,
            a: Vec::new(),
            b: Vec::new(),
            ..sample()
        };
        assert_eq!(Blob::decode(&hsm.encode().unwrap()).unwrap(), hsm);
    }

    #[test]
    fn anything_malformed_is_an_integrity_failure() {
        let bytes = sample().encode().unwrap();
        let mut cases: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"KGAZ".to_vec(),
            b"XXXX\x01\x01".to_vec(),
            bytes[..bytes.len() - 30].to_vec(),
        ];
        let mut other_format = bytes.clone();
        other_format[4] = 2;
        cases.push(other_format);
        let mut other_kind = bytes.clone();
        other_kind[5] = 9;
        cases.push(other_kind);
        let mut bad_version = bytes.clone();
        bad_version[8] = b'/';
        cases.push(bad_version);
        let mut long_field = bytes.clone();
        long_field[6] = 0xff;
        cases.push(long_field);
        for (i, c) in cases.iter().enumerate() {
            assert!(
                matches!(Blob::decode(c), Err(Error::IntegrityFailure)),
                "case {i}"
            );
        }
    }

    #[test]
    fn sealing_binds_the_context_and_detects_tampering() {
        let key = data_key(DATA_KEY_LEN).unwrap();
        let ctx = EncryptionContext::new().with("tenant", "a");
        let (nonce, sealed) = seal(&key, b"attack at dawn", &ctx).unwrap();
        assert_ne!(sealed[..14], b"attack at dawn"[..]);
        assert_eq!(
            open(&key, &nonce, &sealed, &ctx).unwrap().as_slice(),
            b"attack at dawn"
        );
        let other = EncryptionContext::new().with("tenant", "b");
        assert!(matches!(
            open(&key, &nonce, &sealed, &other),
            Err(Error::IntegrityFailure)
        ));
        let mut flipped = sealed.clone();
        flipped[0] ^= 1;
        assert!(matches!(
            open(&key, &nonce, &flipped, &ctx),
            Err(Error::IntegrityFailure)
        ));
        let other_key = data_key(DATA_KEY_LEN).unwrap();
        assert!(matches!(
            open(&other_key, &nonce, &sealed, &ctx),
            Err(Error::IntegrityFailure)
        ));
        assert!(matches!(
            open(&key, &nonce[..4], &sealed, &ctx),
            Err(Error::IntegrityFailure)
        ));
    }
}
