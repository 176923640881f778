//! keygate's self-describing envelope: a header naming the keys that wrapped the data key
//! (one wrapped copy per key, keys of any providers), then the payload in chunks sealed with
//! AES-256-GCM in the STREAM construction (a final-chunk flag in each nonce, so truncation
//! and reordering are detected).
//!
//! Decrypting needs no key id: the header says which providers and keys wrapped the data
//! key, so the gateway routes on it ([`EnvelopeHeader::decode`]), unwraps the data key with
//! any one of them and opens the payload ([`open_payload`]). Files of any size are sealed and
//! opened in constant memory through [`SealingWriter`] and [`OpeningReader`], or on every
//! core in bounded memory through [`seal_stream`] and [`open_stream`] (the same bytes).
//!
//! # Byte layout, format version 2 (written since multi-key envelopes)
//!
//! All integers are big-endian; strings are UTF-8 with a u16 length prefix.
//!
//! | bytes            | field                                                        |
//! |------------------|--------------------------------------------------------------|
//! | 3                | magic `KGE`                                                  |
//! | 1                | format version, `2`                                          |
//! | 4                | header length H (the payload starts at byte H)               |
//! | 2 + …            | context: pair count, then each key, value; keys strictly increasing |
//! | 1                | algorithm id: `1` = AES-256-GCM STREAM, HKDF-SHA256 key      |
//! | 4                | chunk size in plaintext bytes, 1 KiB..=1 MiB (default 64 KiB) |
//! | 32               | message id (random)                                          |
//! | 32               | data-key commitment                                          |
//! | 2                | recipient count, 1..=16                                      |
//! | …                | each recipient: provider, key URI, key version (strings), wrapped data key (u32 length ≤ 64 KiB, non-empty) |
//! | …                | zero padding up to H (1 KiB by default)                      |
//! | …                | payload: chunks                                              |
//!
//! The payload binds only the *bound part* (magic, version, context, algorithm, chunk size,
//! message id, commitment), not the recipients: keys are added and removed by rewriting the
//! header alone. The padding lets a rewritten header keep the same length H, so a re-wrap
//! can overwrite the header in place without moving (or even reading) the payload. The
//! commitment `HKDF-SHA256(data key, message id, "keygate envelope v2 commitment")` binds
//! the data key: a wrapped copy that unwraps to any other key is refused before the payload
//! is touched (and a re-wrap never wraps a wrong key under new keys).
//!
//! # Byte layout, format version 1 (still read)
//!
//! | bytes            | field                                                        |
//! |------------------|--------------------------------------------------------------|
//! | 3 + 1            | magic `KGE`, format version `1`                              |
//! | 2 + n (× 3)      | provider name, key URI, key version                          |
//! | 2 + …            | context pairs                                                |
//! | 4 + n            | wrapped data key                                             |
//! | 1 + 4 + 32       | algorithm id, chunk size, message id                         |
//!
//! A format 1 payload binds SHA-256 of the whole header, its one wrapped key included, so
//! its keys cannot change without re-encrypting it.
//!
//! The header is at most [`MAX_HEADER_LEN`] bytes. Decoding is strict: anything else (wrong
//! magic, unknown version or algorithm, a length running past the end, invalid UTF-8,
//! unsorted or repeated context keys, a key listed twice, non-zero padding) is
//! [`Error::InvalidArgument`]. Because the encoding is canonical, re-encoding a decoded
//! header gives back the bytes that were read.
//!
//! # Payload
//!
//! - Per-message key `K = HKDF-SHA256(ikm = data key, salt = message id, info)`, 32 bytes,
//!   with `info = "keygate envelope v2 key"` (format 1: `"keygate envelope v1"`). A fresh
//!   random message id per envelope makes `K` fresh too, so one cached data key can seal
//!   many messages with counter nonces.
//! - Chunk `i` (from 0) is `AES-256-GCM(K, nonce = i as 11 bytes || final flag,
//!   aad = SHA-256(bound part), plaintext)`: ciphertext then the 16-byte tag.
//! - Every chunk but the last holds exactly `chunk_size` plaintext bytes, flag 0; the last
//!   holds `0..=chunk_size` bytes, flag 1. An empty plaintext is one empty final chunk.
//!
//! A reader knows a chunk is the last only because the input ends right after it, and the
//! flag in the nonce makes that claim authenticated: truncation at a chunk boundary, a
//! dropped, repeated or reordered chunk, bytes after the final chunk, a changed bound header
//! byte or a wrong data key all fail with [`Error::IntegrityFailure`], which says nothing
//! more.

mod decode;
mod header;
mod parallel;
mod stream;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_parallel;
#[cfg(test)]
mod tests_stream;

use std::io::{self, Read};

use zeroize::Zeroizing;

use crate::SecretBytes;
use crate::error::{Error, Result};

pub use header::{EnvelopeAlgorithm, EnvelopeHeader, Recipient, is_envelope};
pub use parallel::{StreamError, default_workers, open_stream, seal_stream};
pub use stream::{OpeningReader, SealingWriter};

/// The first three bytes of every envelope.
pub const MAGIC: &[u8; 3] = b"KGE";
/// The format version this code writes (and reads): multi-key, re-wrappable in place.
pub const FORMAT_VERSION: u8 = 2;
/// The first format version, single-key: still read, never written by default.
pub const FORMAT_V1: u8 = 1;
/// The most wrapped copies of the data key one envelope carries.
pub const MAX_RECIPIENTS: usize = 16;
/// The zero bytes a new header reserves after its recipients (1 KiB: room for about three
/// more cloud-wrapped keys), so that keys can be added in place later.
pub const DEFAULT_PADDING: u32 = 1024;
/// The smallest chunk size a header may declare (1 KiB).
pub const MIN_CHUNK_SIZE: u32 = 1024;
/// The largest chunk size a header may declare (1 MiB): it bounds a reader's memory.
pub const MAX_CHUNK_SIZE: u32 = 1024 * 1024;
/// The chunk size of a new header (64 KiB).
pub const DEFAULT_CHUNK_SIZE: u32 = 64 * 1024;
/// The longest wrapped data key a header may carry (64 KiB: far above any provider's
/// wrapping, RSA-4096 included, and a bound on what a hostile header can make us allocate).
pub const MAX_WRAPPED_KEY_LEN: usize = 64 * 1024;
/// The longest header, in bytes (256 KiB): decoding refuses a longer one, so a hostile
/// header cannot make a reader read or allocate without bound.
pub const MAX_HEADER_LEN: usize = 256 * 1024;
/// The AES-GCM tag length: what each chunk adds to its plaintext.
pub const TAG_LEN: usize = 16;
/// The shortest data key accepted (AES-128 data keys are 16 bytes; HKDF always derives a
/// 256-bit message key).
pub const MIN_DATA_KEY_LEN: usize = 16;
/// HKDF `info` for the per-message key, format 1.
const HKDF_INFO: &[u8] = b"keygate envelope v1";
/// HKDF `info` for the per-message key, format 2.
const HKDF_INFO_V2_KEY: &[u8] = b"keygate envelope v2 key";
/// HKDF `info` for the data-key commitment, format 2.
const HKDF_INFO_V2_COMMIT: &[u8] = b"keygate envelope v2 commitment";

/// The size of an envelope for `plaintext_len` bytes under `header`: header, plaintext, and
/// one tag per chunk. `None` if the header does not encode or the size overflows.
pub fn sealed_len(header: &EnvelopeHeader, plaintext_len: u64) -> Option<u64> {
    let header_len = u64::try_from(header.encode().ok()?.len()).ok()?;
    let chunk = u64::from(header.chunk_size);
    // The last chunk may be full, and an empty input still has one chunk.
    let chunks = plaintext_len.div_ceil(chunk).max(1);
    let tags = chunks.checked_mul(TAG_LEN as u64)?;
    header_len.checked_add(plaintext_len)?.checked_add(tags)
}

/// Seals `plaintext` into a whole envelope in memory (header and payload).
///
/// # Errors
/// As [`SealingWriter::new`].
pub fn seal(header: &EnvelopeHeader, data_key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    let capacity = u64::try_from(plaintext.len())
        .ok()
        .and_then(|n| sealed_len(header, n))
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0);
    let mut writer = SealingWriter::new(header, data_key, Vec::with_capacity(capacity))?;
    io::Write::write_all(&mut writer, plaintext).map_err(from_io_error)?;
    writer.finish()
}

/// Opens a whole envelope in memory: decodes the header and opens the payload.
///
/// # Errors
/// [`Error::InvalidArgument`] when `envelope` does not start with a valid header;
/// [`Error::IntegrityFailure`] when the payload does not open with `data_key`.
pub fn open(envelope: &[u8], data_key: &[u8]) -> Result<SecretBytes> {
    let (header, header_len) = EnvelopeHeader::decode(envelope)?;
    open_payload(&header, data_key, &envelope[header_len..])
}

/// Opens the payload that follows `header` (the bytes after the header's length, as
/// [`EnvelopeHeader::decode`] returned it). This is the second half of [`open`], for callers
/// that first route on the header to unwrap its data key.
///
/// # Errors
/// [`Error::IntegrityFailure`] when the payload does not open with `data_key` under this
/// header; [`Error::InvalidArgument`] for a header that does not encode or a short data key.
pub fn open_payload(
    header: &EnvelopeHeader,
    data_key: &[u8],
    payload: &[u8],
) -> Result<SecretBytes> {
    let mut reader = OpeningReader::new(header, data_key, payload)?;
    // The plaintext is shorter than the payload, so a buffer of the payload's size never
    // grows: no reallocation leaves a copy of plaintext behind in freed memory. At least one
    // byte, because a read into an empty buffer returns 0 without looking at the input, and
    // an empty payload must fail, not open as an empty plaintext.
    let mut out = Zeroizing::new(vec![0u8; payload.len().max(1)]);
    let mut filled = 0;
    loop {
        match reader.read(&mut out[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(from_io_error(e)),
        }
        if filled == out.len() {
            // Only a payload without any tag could get here, and it cannot have opened.
            return Err(Error::IntegrityFailure);
        }
    }
    out.truncate(filled);
    Ok(out)
}

/// Turns an [`io::Error`] from [`SealingWriter`], [`OpeningReader`] or
/// [`EnvelopeHeader::read_from`]'s reader back into keygate's error: the keygate error it
/// carries (such as [`Error::IntegrityFailure`]) if any, else [`Error::Unavailable`] with the
/// I/O failure (the file or pipe, not the crypto, failed).
pub fn from_io_error(err: io::Error) -> Error {
    match err.downcast::<Error>() {
        Ok(e) => e,
        Err(err) => Error::unavailable_because("envelope I/O", err),
    }
}
