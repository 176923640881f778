//! The payload: STREAM-style chunked AES-256-GCM, sealed through a [`Write`] and opened
//! through a [`Read`] in constant memory.

use std::fmt;
use std::io::{self, Read, Write};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::hkdf;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};

use super::{
    EnvelopeHeader, FORMAT_V1, HKDF_INFO, HKDF_INFO_V2_COMMIT, HKDF_INFO_V2_KEY, MIN_DATA_KEY_LEN,
    TAG_LEN,
};

/// 32 bytes of HKDF-SHA256(ikm = data key, salt = message id, info).
fn derive(message_id: &[u8; 32], data_key: &[u8], info: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
    if data_key.len() < MIN_DATA_KEY_LEN {
        return Err(Error::invalid(format!(
            "a data key must be at least {MIN_DATA_KEY_LEN} bytes"
        )));
    }
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, message_id).extract(data_key);
    let info = [info];
    let mut out = Zeroizing::new([0u8; 32]);
    prk.expand(&info, &AES_256_GCM)
        .and_then(|okm| okm.fill(out.as_mut_slice()))
        .map_err(|_| Error::state("envelope key derivation failed"))?;
    Ok(out)
}

/// The format 2 commitment to `data_key` for the message `message_id`: a second HKDF output
/// (another `info` than the payload key's), so it reveals nothing about that key.
pub(super) fn commitment(message_id: &[u8; 32], data_key: &[u8]) -> Result<[u8; 32]> {
    Ok(*derive(message_id, data_key, HKDF_INFO_V2_COMMIT)?)
}

/// The per-message AEAD key and the header digest every chunk binds.
pub(super) struct ChunkCipher {
    pub(super) key: LessSafeKey,
    pub(super) aad: [u8; 32],
    pub(super) chunk_size: usize,
}

impl ChunkCipher {
    /// Derives the per-message key from the data key and the header's message id, and
    /// hashes what the header binds for the chunks' AAD. Returns the encoded header too:
    /// when `sealing` a format 2 header without a commitment, the commitment is filled in
    /// there. Opening with a data key the header is not committed to fails.
    pub(super) fn new(
        header: &EnvelopeHeader,
        data_key: &[u8],
        sealing: bool,
    ) -> Result<(Self, Vec<u8>)> {
        if data_key.len() < MIN_DATA_KEY_LEN {
            return Err(Error::invalid(format!(
                "a data key must be at least {MIN_DATA_KEY_LEN} bytes"
            )));
        }
        let v1 = header.format == FORMAT_V1;
        let mut bound;
        let header = if v1 {
            header
        } else {
            let expected = commitment(&header.message_id, data_key)?;
            if header.commitment == [0u8; 32] && sealing {
                bound = header.clone();
                bound.commitment = expected;
                &bound
            } else if header.commitment != expected {
                return Err(if sealing {
                    Error::invalid("the envelope header is committed to another data key")
                } else {
                    Error::IntegrityFailure
                });
            } else {
                header
            }
        };
        let encoded = header.encode()?;
        let info: &[u8] = if v1 { HKDF_INFO } else { HKDF_INFO_V2_KEY };
        let key_bytes = derive(&header.message_id, data_key, info)?;
        let key = UnboundKey::new(&AES_256_GCM, key_bytes.as_slice())
            .map_err(|_| Error::state("envelope key setup failed"))?;
        let aad = header.payload_aad()?;
        let chunk_size = usize::try_from(header.chunk_size)
            .map_err(|_| Error::invalid("chunk size does not fit this platform"))?;
        Ok((
            Self {
                key: LessSafeKey::new(key),
                aad,
                chunk_size,
            },
            encoded,
        ))
    }

    /// The nonce of chunk `counter`: the counter as 11 big-endian bytes, then the final flag.
    pub(super) fn nonce(counter: u64, last: bool) -> Nonce {
        let mut n = [0u8; 12];
        n[3..11].copy_from_slice(&counter.to_be_bytes());
        n[11] = u8::from(last);
        Nonce::assume_unique_for_key(n)
    }
}

fn integrity() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, Error::IntegrityFailure)
}

/// Seals a payload chunk by chunk as it is written: the encrypting half of an envelope.
///
/// [`SealingWriter::new`] writes the header; each full chunk is sealed and written as soon
/// as more data follows it; [`SealingWriter::finish`] seals the last chunk with the final
/// flag. Memory is one chunk buffer, whatever the input size, and it is wiped on drop.
/// Dropping the writer without `finish` leaves a truncated envelope that will not open.
///
/// A header seals exactly one message: sealing two messages with the same header and data
/// key would reuse the per-message key with the same nonces. Build a new header (a new
/// random message id) for every message.
pub struct SealingWriter<W: Write> {
    cipher: ChunkCipher,
    /// Plaintext of the current chunk; the tag is appended in place when it is sealed.
    buf: Zeroizing<Vec<u8>>,
    counter: u64,
    /// Set when a write to `inner` failed: the envelope is broken, so later writes fail.
    broken: bool,
    inner: W,
}

impl<W: Write> SealingWriter<W> {
    /// Starts an envelope: writes the encoded header to `inner`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a header that does not encode (see
    /// [`EnvelopeHeader::validate`]) or a data key shorter than 16 bytes;
    /// [`Error::Unavailable`] when the message id is all zero (the system random generator
    /// failed) or `inner` fails.
    pub fn new(header: &EnvelopeHeader, data_key: &[u8], mut inner: W) -> Result<Self> {
        if header.message_id == [0u8; 32] {
            return Err(Error::unavailable(
                "the envelope has no random message id (the system random generator failed)",
            ));
        }
        let (cipher, encoded) = ChunkCipher::new(header, data_key, true)?;
        inner.write_all(&encoded).map_err(super::from_io_error)?;
        let buf = Zeroizing::new(Vec::with_capacity(cipher.chunk_size + TAG_LEN));
        Ok(Self {
            cipher,
            buf,
            counter: 0,
            broken: false,
            inner,
        })
    }

    /// Seals the buffered chunk and writes it out; the buffer then holds nothing secret.
    fn seal_chunk(&mut self, last: bool) -> io::Result<()> {
        if self.broken {
            return Err(io::Error::other(Error::state(
                "an earlier write of this envelope failed",
            )));
        }
        let nonce = ChunkCipher::nonce(self.counter, last);
        let sealed = self.cipher.key.seal_in_place_append_tag(
            nonce,
            Aad::from(&self.cipher.aad),
            &mut *self.buf,
        );
        if sealed.is_err() {
            self.broken = true;
            // The buffer may still hold plaintext: wipe it now, not only on drop.
            self.buf.zeroize();
            return Err(io::Error::other(Error::state("sealing a chunk failed")));
        }
        let written = self.inner.write_all(&self.buf);
        // Sealed, the buffer holds only ciphertext: empty it whether or not it went out.
        self.buf.clear();
        if let Err(e) = written {
            self.broken = true;
            return Err(e);
        }
        // 2^64 chunks of at least 1 KiB is far beyond any real input; refusing beats wrapping
        // (which would repeat nonces).
        self.counter = self.counter.checked_add(1).ok_or_else(|| {
            self.broken = true;
            io::Error::other(Error::invalid("envelope too long"))
        })?;
        Ok(())
    }

    /// The inner writer (for inspection: writing to it directly would corrupt the envelope).
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// Seals the last chunk (final flag set; empty when no data was written), flushes and
    /// returns the inner writer.
    ///
    /// # Errors
    /// The inner writer's failure, as [`super::from_io_error`] maps it, or
    /// [`Error::InvalidState`] when an earlier write had already failed.
    pub fn finish(mut self) -> Result<W> {
        self.seal_chunk(true).map_err(super::from_io_error)?;
        self.inner.flush().map_err(super::from_io_error)?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for SealingWriter<W> {
    /// Takes as much of `data` as fits in the current chunk. A full chunk is sealed only
    /// when more data arrives, because the last chunk (sealed by `finish`) may be full too.
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        if self.broken {
            return Err(io::Error::other(Error::state(
                "an earlier write of this envelope failed",
            )));
        }
        if self.buf.len() >= self.cipher.chunk_size {
            self.seal_chunk(false)?;
        }
        let take = data
            .len()
            .min(self.cipher.chunk_size.saturating_sub(self.buf.len()));
        self.buf.extend_from_slice(&data[..take]);
        Ok(take)
    }

    /// Flushes the inner writer. A partial chunk stays buffered: a chunk is sealed only
    /// once it is full or the envelope is finished.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> fmt::Debug for SealingWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealingWriter")
            .field("chunk_size", &self.cipher.chunk_size)
            .field("chunks_written", &self.counter)
            .field("buffered", &self.buf.len())
            .finish_non_exhaustive()
    }
}

/// Opens a payload chunk by chunk as it is read: the decrypting half of an envelope.
///
/// A chunk's plaintext is released only after its tag verified, so no unauthenticated byte
/// is ever returned. Any failure (a wrong data key, a changed header or payload byte, a
/// dropped, repeated or reordered chunk, trailing bytes, truncation) is an
/// [`io::Error`] of kind `InvalidData` carrying [`Error::IntegrityFailure`] (get it back with
/// [`super::from_io_error`]), and every later read fails the same way.
///
/// Streaming means earlier chunks are released before the end is checked: the plaintext is
/// complete and authentic only once `read` has returned `Ok(0)`. Callers writing to a file
/// should write to a temporary name and rename it only then.
pub struct OpeningReader<R: Read> {
    cipher: ChunkCipher,
    /// The current chunk: ciphertext and tag, then (after it opened) its plaintext.
    buf: Zeroizing<Vec<u8>>,
    /// Plaintext bytes of the current chunk: `buf[pos..plain_len]` is not yet returned.
    plain_len: usize,
    pos: usize,
    /// One byte read past the current chunk: proof that it was not the last.
    carry: Option<u8>,
    counter: u64,
    state: ReadState,
    inner: R,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadState {
    Open,
    /// The final chunk opened: what is left in `buf` is the end of the plaintext.
    Done,
    Failed,
}

impl<R: Read> OpeningReader<R> {
    /// Opens the payload read from `inner`, which must be positioned just after the header
    /// (see [`EnvelopeHeader::read_from`]).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a header that does not encode or a data key shorter
    /// than 16 bytes. A wrong data key is only found on the first read.
    pub fn new(header: &EnvelopeHeader, data_key: &[u8], inner: R) -> Result<Self> {
        let (cipher, _) = ChunkCipher::new(header, data_key, false)?;
        // One spare byte: a chunk is known not to be the last when a byte follows it.
        let buf = Zeroizing::new(vec![0u8; cipher.chunk_size + TAG_LEN + 1]);
        Ok(Self {
            cipher,
            buf,
            plain_len: 0,
            pos: 0,
            carry: None,
            counter: 0,
            state: ReadState::Open,
            inner,
        })
    }

    /// The inner reader (for inspection: reading from it directly would skip ciphertext).
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Reads and opens the next chunk into `buf`.
    fn next_chunk(&mut self) -> io::Result<()> {
        let sealed_len = self.cipher.chunk_size + TAG_LEN;
        let mut filled = 0;
        if let Some(b) = self.carry.take() {
            self.buf[0] = b;
            filled = 1;
        }
        // Fill the chunk and one byte more, or up to the end of the input.
        while filled < sealed_len + 1 {
            match self.inner.read(&mut self.buf[filled..=sealed_len]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let last = filled <= sealed_len;
        let len = if last { filled } else { sealed_len };
        if !last {
            self.carry = Some(self.buf[sealed_len]);
        }
        if len < TAG_LEN {
            return Err(integrity());
        }
        let nonce = ChunkCipher::nonce(self.counter, last);
        let opened =
            self.cipher
                .key
                .open_in_place(nonce, Aad::from(&self.cipher.aad), &mut self.buf[..len]);
        match opened {
            Ok(plain) => self.plain_len = plain.len(),
            Err(_) => return Err(integrity()),
        }
        self.pos = 0;
        self.counter = self.counter.checked_add(1).ok_or_else(integrity)?;
        if last {
            self.state = ReadState::Done;
        }
        Ok(())
    }
}

impl<R: Read> Read for OpeningReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if self.state == ReadState::Failed {
                return Err(integrity());
            }
            if self.pos < self.plain_len {
                let n = out.len().min(self.plain_len - self.pos);
                out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if self.state == ReadState::Done {
                return Ok(0);
            }
            if let Err(e) = self.next_chunk() {
                // A failed open may leave unauthenticated bytes in the buffer: wipe them, and
                // never return anything from this stream again.
                self.state = ReadState::Failed;
                self.plain_len = 0;
                self.pos = 0;
                self.buf.iter_mut().for_each(Zeroize::zeroize);
                return Err(e);
            }
        }
    }
}

impl<R: Read> fmt::Debug for OpeningReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpeningReader")
            .field("chunk_size", &self.cipher.chunk_size)
            .field("chunks_read", &self.counter)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}
