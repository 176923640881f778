//! The audit keys, derived from the gateway root key: the chain key (HMAC-SHA256) and the
//! checkpoint signing key (Ed25519).

use aws_lc_rs::hkdf::{HKDF_SHA256, KeyType, Salt};
use aws_lc_rs::hmac;

use super::checkpoint::NoteSigner;
use super::{KEYED_CHAIN_TAG, NewAuditEvent, chain_input, encoded_chain_input, hex};
use crate::error::{Error, Result};

/// HKDF `info` of the chain key; distinct from every other key keygate derives from the root.
const CHAIN_KEY_INFO: &[u8] = b"keygate audit chain hmac-sha256 v1";
/// HKDF `info` of the checkpoint signing key's Ed25519 seed.
const SIGNING_KEY_INFO: &[u8] = b"keygate audit checkpoint ed25519 v1";

/// Which hash form a row carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainForm {
    /// HMAC-SHA256 under the chain key ([`ChainKey::hash`]).
    Keyed,
    /// The unkeyed SHA-256 of rows written before keyed chains ([`super::chain_hash`]),
    /// accepted only before the first keyed row.
    Unkeyed,
}

/// The key the chain's HMACs are computed under.
pub struct ChainKey {
    key: hmac::Key,
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey(<redacted>)")
    }
}

impl ChainKey {
    /// The keyed hash of a row, as lowercase hex: HMAC-SHA256 over
    /// `str("keygate-audit-v2") || str(prev_hash) || `[`super::encode_row`]`(seq, event)`.
    pub fn hash(&self, prev_hash: &str, seq: u64, event: &NewAuditEvent) -> String {
        let input = chain_input(KEYED_CHAIN_TAG, prev_hash, seq, event);
        hex(hmac::sign(&self.key, &input).as_ref())
    }

    /// Whether `hash` (hex) is the keyed hash of the row, compared in constant time.
    pub fn verify(&self, prev_hash: &str, seq: u64, event: &NewAuditEvent, hash: &str) -> bool {
        let Some(tag) = unhex(hash) else {
            return false;
        };
        let input = chain_input(KEYED_CHAIN_TAG, prev_hash, seq, event);
        hmac::verify(&self.key, &input, &tag).is_ok()
    }

    /// [`ChainKey::verify`] of a row already encoded with [`super::encode_row`].
    pub(super) fn verify_encoded(&self, prev_hash: &str, encoded: &[u8], hash: &str) -> bool {
        let Some(tag) = unhex(hash) else {
            return false;
        };
        let input = encoded_chain_input(KEYED_CHAIN_TAG, prev_hash, encoded);
        hmac::verify(&self.key, &input, &tag).is_ok()
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Both audit keys of one gateway, derived from its root key with HKDF-SHA256 (an empty
/// salt, a distinct `info` label each), so they need no storage of their own and a database
/// writer without the root key has neither.
#[derive(Debug)]
pub struct AuditKeys {
    /// The chain key.
    pub chain: ChainKey,
    /// The checkpoint signer.
    pub signer: NoteSigner,
}

struct Len(usize);

impl KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

impl AuditKeys {
    /// Derives both keys from `root_key` (the gateway's 32-byte root key).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the root key is empty.
    pub fn from_root_key(root_key: &[u8]) -> Result<Self> {
        if root_key.is_empty() {
            return Err(Error::invalid("the root key is empty"));
        }
        let prk = Salt::new(HKDF_SHA256, &[]).extract(root_key);
        let derive = |info: &[u8], out: &mut [u8]| {
            prk.expand(&[info], Len(out.len()))
                .and_then(|okm| okm.fill(out))
                .map_err(|_| Error::invalid("cannot derive an audit key"))
        };
        let mut chain = zeroize::Zeroizing::new([0u8; 32]);
        derive(CHAIN_KEY_INFO, chain.as_mut_slice())?;
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        derive(SIGNING_KEY_INFO, seed.as_mut_slice())?;
        let signer = NoteSigner::for_audit_log(seed.as_slice())?;
        Ok(Self {
            chain: ChainKey {
                key: hmac::Key::new(hmac::HMAC_SHA256, chain.as_slice()),
            },
            signer,
        })
    }
}
