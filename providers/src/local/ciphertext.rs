//! The local provider's self-describing ciphertext format.
//!
//! ```text
//! offset      size   field
//! 0           1      format version: 0x01
//! 1           1      algorithm: 0x01 AES-256-GCM, 0x02 RSAES-OAEP-SHA256 (MGF1-SHA256)
//! 2           1      key id length L (1..=128)
//! 3           L      key id, UTF-8 (a valid key name)
//! 3+L         4      key version, big-endian u32 (>= 1)
//! 7+L         N      nonce: N = 12 for AES-256-GCM, N = 0 for RSA-OAEP
//! 7+L+N       ..     AES-GCM: ciphertext followed by the 16-byte tag;
//!                    RSA-OAEP: the RSA ciphertext (modulus length)
//! ```
//!
//! Everything before the ciphertext is the *header*. The header followed by
//! [`EncryptionContext::canonical_bytes`] is authenticated: it is the AES-GCM additional data,
//! and the RSA-OAEP label. Changing any header byte (key, version, nonce) or decrypting under
//! another context therefore fails authentication, and so does every change to the body.
//!
//! [`parse`] never panics and never indexes out of bounds: it walks the input with
//! `split_first`/`split_at_checked` and rejects anything that is not exactly this layout.

use keygate_core::{EncryptionContext, validate_name};

use super::crypto::{NONCE_LEN, TAG_LEN};

/// The only format version written and accepted.
pub(crate) const FORMAT_V1: u8 = 1;
/// Longest key id (the core name rule allows 128 characters).
const MAX_KEY_ID_LEN: usize = 128;

/// The algorithm named in a ciphertext header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CtAlgorithm {
    /// AES-256-GCM with a random 96-bit nonce.
    Aes256Gcm,
    /// RSAES-OAEP with SHA-256 and MGF1-SHA-256.
    RsaOaepSha256,
}

impl CtAlgorithm {
    fn byte(self) -> u8 {
        match self {
            Self::Aes256Gcm => 1,
            Self::RsaOaepSha256 => 2,
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::Aes256Gcm),
            2 => Some(Self::RsaOaepSha256),
            _ => None,
        }
    }

    fn nonce_len(self) -> usize {
        match self {
            Self::Aes256Gcm => NONCE_LEN,
            Self::RsaOaepSha256 => 0,
        }
    }

    /// The smallest body this algorithm can produce.
    fn min_body_len(self) -> usize {
        match self {
            Self::Aes256Gcm => TAG_LEN,
            Self::RsaOaepSha256 => 1,
        }
    }
}

/// Encodes a header. `nonce` must be as long as the algorithm's nonce; `key_id` a valid key
/// name (at most 128 bytes).
pub(crate) fn encode_header(
    alg: CtAlgorithm,
    key_id: &str,
    version: u32,
    nonce: &[u8],
) -> Option<Vec<u8>> {
    let id_len = u8::try_from(key_id.len()).ok()?;
    if key_id.is_empty() || key_id.len() > MAX_KEY_ID_LEN || nonce.len() != alg.nonce_len() {
        return None;
    }
    let mut out = Vec::with_capacity(7 + key_id.len() + nonce.len());
    out.push(FORMAT_V1);
    out.push(alg.byte());
    out.push(id_len);
    out.extend_from_slice(key_id.as_bytes());
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(nonce);
    Some(out)
}

/// The authenticated data: header, then the canonical context.
pub(crate) fn aad(header: &[u8], context: &EncryptionContext) -> Vec<u8> {
    let ctx = context.canonical_bytes();
    let mut out = Vec::with_capacity(header.len() + ctx.len());
    out.extend_from_slice(header);
    out.extend_from_slice(&ctx);
    out
}

/// A parsed ciphertext, borrowing from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parsed<'a> {
    /// The header bytes, exactly as received (authenticated as-is).
    pub header: &'a [u8],
    /// The algorithm.
    pub alg: CtAlgorithm,
    /// The key id.
    pub key_id: &'a str,
    /// The key version.
    pub version: u32,
    /// The nonce (empty for RSA-OAEP).
    pub nonce: &'a [u8],
    /// Ciphertext (with tag, for AES-GCM).
    pub body: &'a [u8],
}

/// Parses `bytes`; `None` for anything that is not a well-formed version-1 ciphertext.
pub(crate) fn parse(bytes: &[u8]) -> Option<Parsed<'_>> {
    let (&format, rest) = bytes.split_first()?;
    if format != FORMAT_V1 {
        return None;
    }
    let (&alg, rest) = rest.split_first()?;
    let alg = CtAlgorithm::from_byte(alg)?;
    let (&id_len, rest) = rest.split_first()?;
    let id_len = usize::from(id_len);
    if id_len == 0 || id_len > MAX_KEY_ID_LEN {
        return None;
    }
    let (id, rest) = rest.split_at_checked(id_len)?;
    let key_id = std::str::from_utf8(id).ok()?;
    validate_name("key", key_id).ok()?;
    let (version, rest) = rest.split_at_checked(4)?;
    let version = u32::from_be_bytes(version.try_into().ok()?);
    if version == 0 {
        return None;
    }
    let (nonce, body) = rest.split_at_checked(alg.nonce_len())?;
    if body.len() < alg.min_body_len() {
        return None;
    }
    let header_len = bytes.len() - body.len();
    let (header, _) = bytes.split_at_checked(header_len)?;
    Some(Parsed {
        header,
        alg,
        key_id,
        version,
        nonce,
        body,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::crypto::{gcm_open, gcm_seal, random_nonce};
    use super::*;
    use aws_lc_rs::aead::{AES_256_GCM, LessSafeKey, UnboundKey};

    fn sample() -> Vec<u8> {
        let mut ct = encode_header(CtAlgorithm::Aes256Gcm, "demo-key", 3, &[9u8; 12]).unwrap();
        ct.extend_from_slice(&[0xAB; 40]);
        ct
    }

    #[test]
    fn roundtrips_the_header() {
        let ct = sample();
        let p = parse(&ct).unwrap();
        assert_eq!(p.alg, CtAlgorithm::Aes256Gcm);
        assert_eq!(p.key_id, "demo-key");
        assert_eq!(p.version, 3);
        assert_eq!(p.nonce, &[9u8; 12]);
        assert_eq!(p.body.len(), 40);
        assert_eq!(p.header.len(), 3 + 8 + 4 + 12);
        assert_eq!([p.header, p.body].concat(), ct);
    }

    #[test]
    fn rejects_every_truncation_and_bad_fields() {
        let ct = sample();
        for cut in 0..(ct.len() - 40 + TAG_LEN) {
            assert!(parse(&ct[..cut]).is_none(), "accepted a cut at {cut}");
        }
        let mut bad = ct.clone();
        bad[0] = 2;
        assert!(parse(&bad).is_none());
        let mut bad = ct.clone();
        bad[1] = 9;
        assert!(parse(&bad).is_none());
        let mut bad = ct.clone();
        bad[2] = 0;
        assert!(parse(&bad).is_none());
        let mut bad = ct.clone();
        bad[2] = 200;
        assert!(parse(&bad).is_none());
        let mut bad = ct.clone();
        bad[3] = b' ';
        assert!(parse(&bad).is_none());
        let mut bad = ct;
        bad[11..15].copy_from_slice(&0u32.to_be_bytes());
        assert!(parse(&bad).is_none());
    }

    #[test]
    fn never_panics_on_arbitrary_input() {
        // A deterministic xorshift stream: many lengths, many byte patterns, plus inputs that
        // start with a valid prefix so the parser gets deep.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let prefix = sample();
        for i in 0..20_000usize {
            let len = (next() % 200) as usize;
            let mut buf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if i % 2 == 0 {
                let keep = (next() as usize) % prefix.len();
                buf.splice(0..0, prefix[..keep].iter().copied());
            }
            if let Some(p) = parse(&buf) {
                assert_eq!(p.header.len() + p.body.len(), buf.len());
            }
        }
        assert!(parse(&[]).is_none());
        assert!(parse(&[FORMAT_V1]).is_none());
        assert!(parse(&[FORMAT_V1, 1, 255]).is_none());
    }

    #[test]
    fn context_and_header_are_bound() {
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[5u8; 32]).unwrap());
        let nonce = random_nonce().unwrap();
        let ctx = EncryptionContext::new().with("tenant", "acme");
        let header = encode_header(CtAlgorithm::Aes256Gcm, "k", 1, &nonce).unwrap();
        let mut ct = header.clone();
        ct.extend(gcm_seal(&key, nonce, &aad(&header, &ctx), b"hello").unwrap());

        let open = |bytes: &[u8], ctx: &EncryptionContext| {
            let p = parse(bytes)?;
            gcm_open(&key, p.nonce, &aad(p.header, ctx), p.body)
        };
        assert_eq!(open(&ct, &ctx).unwrap().as_slice(), b"hello");
        assert!(open(&ct, &EncryptionContext::new()).is_none());
        assert!(open(&ct, &ctx.clone().with("x", "y")).is_none());
        for i in 0..ct.len() {
            let mut bad = ct.clone();
            bad[i] ^= 0x01;
            assert!(open(&bad, &ctx).is_none(), "byte {i} flip went unnoticed");
        }
    }
}
