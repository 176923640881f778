//! keygate's self-describing envelope: a header naming the provider, key and key version
//! with the wrapped data key, then the payload in chunks sealed with AES-256-GCM in the
//! STREAM construction (a final-chunk flag in each nonce, so truncation and reordering are
//! detected).

use crate::EncryptionContext;

/// The header at the front of every envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeHeader {
    /// The provider's registered name when the envelope was made.
    pub provider: String,
    /// The URI of the key that wrapped the data key.
    pub key_uri: String,
    /// The key version that wrapped the data key.
    pub key_version: String,
    /// The encryption context the data key is bound to (stored in clear: context is not
    /// secret by definition).
    pub context: EncryptionContext,
    /// The data key, encrypted by the provider under `key_uri`.
    pub wrapped_key: Vec<u8>,
    /// Plaintext bytes per chunk (every chunk but the last is exactly this long).
    pub chunk_size: u32,
    /// Random per-message id: salt for the per-message key.
    pub message_id: [u8; 32],
}
