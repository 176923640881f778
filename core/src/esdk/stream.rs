//! The framed body, sealed through a [`Write`] and opened through a [`Read`], one frame of
//! memory at a time, and the signed suite's footer.

use std::fmt;
use std::io::{self, Read, Write};

use aws_lc_rs::aead::{Aad, Nonce};
use aws_lc_rs::digest;
use aws_lc_rs::encoding::{AsBigEndian, EcPublicKeyCompressedBin};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{
    ECDSA_P384_SHA384_ASN1, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _,
    UnparsedPublicKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::EncryptionContext;
use crate::error::{Error, Result};

use super::{
    AlgorithmSuite, EncryptedDataKey, IV_LEN, MESSAGE_ID_LEN, MessageHeader, MessageKeys,
    PUBLIC_KEY_CONTEXT_KEY, ParsedHeader, TAG_LEN, frame_aad, frame_iv,
};

/// The sequence number that marks a final frame.
const FINAL_MARK: u32 = 0xFFFF_FFFF;
/// The DER length the SDK gives its P-384 signatures (it re-signs until it gets it).
const SIGNATURE_LEN: usize = 103;

fn integrity() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, Error::IntegrityFailure)
}

fn to_io(e: Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// The ephemeral ECDSA P-384 key that signs one message of the signed suite.
pub struct SigningKey {
    pair: EcdsaKeyPair,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// A fresh random key.
    ///
    /// # Errors
    /// [`Error::InvalidState`] if the system cannot generate one.
    pub fn generate() -> Result<Self> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P384_SHA384_ASN1_SIGNING)
            .map_err(|_| Error::state("cannot generate an ECDSA P-384 key"))?;
        Ok(Self { pair })
    }

    /// The public key as the encryption context carries it: the compressed point, base64.
    ///
    /// # Errors
    /// [`Error::InvalidState`] if the point cannot be encoded.
    pub fn public_key_base64(&self) -> Result<String> {
        let point: EcPublicKeyCompressedBin<'static> = self
            .pair
            .public_key()
            .as_be_bytes()
            .map_err(|_| Error::state("cannot encode an ECDSA P-384 public key"))?;
        Ok(STANDARD.encode(point.as_ref()))
    }

    /// The DER signature of `digest`, of the length the SDK writes.
    fn sign(&self, digest: &digest::Digest) -> Result<Vec<u8>> {
        let mut last = Vec::new();
        // DER lengths vary with the leading bits of r and s; the SDK always writes 103-byte
        // signatures, and a fresh signature has that length with high probability.
        for _ in 0..64 {
            let sig = self
                .pair
                .sign_digest(digest)
                .map_err(|_| Error::state("ECDSA P-384 signing failed"))?;
            last = sig.as_ref().to_vec();
            if last.len() == SIGNATURE_LEN {
                break;
            }
        }
        Ok(last)
    }
}

/// Seals a message as it is written: [`EsdkSealer::new`] writes the header, each full frame
/// is sealed once more data follows it, [`EsdkSealer::finish`] seals the final frame and
/// writes the footer. Memory is one frame, wiped on drop. Dropping the sealer without
/// `finish` leaves a truncated message that will not open.
pub struct EsdkSealer<W: Write> {
    keys: MessageKeys,
    message_id: [u8; MESSAGE_ID_LEN],
    frame_length: usize,
    buf: Zeroizing<Vec<u8>>,
    /// The sequence number of the next frame.
    sequence: u32,
    signer: Option<(SigningKey, digest::Context)>,
    out: W,
}

impl<W: Write> fmt::Debug for EsdkSealer<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EsdkSealer")
            .field("frame_length", &self.frame_length)
            .field("sequence", &self.sequence)
            .finish_non_exhaustive()
    }
}

impl<W: Write> EsdkSealer<W> {
    /// Starts a message of `suite` under `data_key` (32 bytes), wrapped as `data_keys`:
    /// picks a random message id, derives the keys and writes the header and its tag.
    /// `context` is the encryption context the data keys were wrapped with; for a signed
    /// suite it must carry `signer`'s public key under
    /// [`PUBLIC_KEY_CONTEXT_KEY`](super::PUBLIC_KEY_CONTEXT_KEY).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a data key of the wrong length, a frame length out of
    /// bounds, no data key, a signer missing, unexpected or not matching the context;
    /// [`Error::Unavailable`] when writing fails.
    pub fn new(
        suite: AlgorithmSuite,
        frame_length: u32,
        context: EncryptionContext,
        data_keys: Vec<EncryptedDataKey>,
        data_key: &[u8],
        signer: Option<SigningKey>,
        mut out: W,
    ) -> Result<Self> {
        let in_context = context.0.get(PUBLIC_KEY_CONTEXT_KEY);
        match (&signer, suite.is_signed()) {
            (Some(key), true) => {
                if in_context != Some(&key.public_key_base64()?) {
                    return Err(Error::invalid(format!(
                        "the encryption context must carry the signing key under \
                         {PUBLIC_KEY_CONTEXT_KEY}"
                    )));
                }
            }
            (None, false) if in_context.is_none() => {}
            (None, false) => {
                return Err(Error::invalid(format!(
                    "{PUBLIC_KEY_CONTEXT_KEY} is reserved for signed algorithm suites"
                )));
            }
            (None, true) => return Err(Error::invalid(format!("{suite} needs a signing key"))),
            (Some(_), false) => return Err(Error::invalid(format!("{suite} is not signed"))),
        }
        let mut message_id = [0u8; MESSAGE_ID_LEN];
        SystemRandom::new()
            .fill(&mut message_id)
            .map_err(|_| Error::state("no randomness for a message id"))?;
        let keys = MessageKeys::derive(suite, data_key, &message_id)?;
        let header = MessageHeader {
            suite,
            message_id,
            context,
            data_keys,
            frame_length,
            commitment: keys.commitment,
        };
        let mut bytes = header.encode()?;
        let tag = keys.header_tag(&bytes)?;
        bytes.extend_from_slice(&tag);
        let signer = signer.map(|key| {
            let mut cx = digest::Context::new(&digest::SHA384);
            cx.update(&bytes);
            (key, cx)
        });
        out.write_all(&bytes)
            .map_err(super::super::envelope::from_io_error)?;
        let frame_length = frame_length as usize;
        Ok(Self {
            keys,
            message_id,
            frame_length,
            buf: Zeroizing::new(Vec::with_capacity(frame_length)),
            sequence: 1,
            signer,
            out,
        })
    }

    /// Seals the buffered plaintext as the next frame and writes it.
    fn seal_frame(&mut self, last: bool) -> io::Result<()> {
        if self.sequence == FINAL_MARK {
            return Err(to_io(Error::invalid(
                "the message has reached the most frames the format allows",
            )));
        }
        let seq = self.sequence;
        let iv = frame_iv(seq);
        let aad = frame_aad(&self.message_id, last, seq, self.buf.len());
        let tag = self
            .keys
            .cipher
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(iv),
                Aad::from(aad.as_slice()),
                self.buf.as_mut_slice(),
            )
            .map_err(|_| to_io(Error::state("frame encryption failed")))?;
        let mut frame = Vec::with_capacity(self.buf.len() + 40);
        if last {
            frame.extend_from_slice(&FINAL_MARK.to_be_bytes());
        }
        frame.extend_from_slice(&seq.to_be_bytes());
        frame.extend_from_slice(&iv);
        if last {
            frame.extend_from_slice(&(self.buf.len() as u32).to_be_bytes());
        }
        frame.extend_from_slice(&self.buf);
        frame.extend_from_slice(tag.as_ref());
        if let Some((_, cx)) = &mut self.signer {
            cx.update(&frame);
        }
        self.out.write_all(&frame)?;
        self.buf.clear();
        self.sequence += 1;
        Ok(())
    }

    /// Seals the final frame (the last `0..=frame_length` bytes written), writes the footer
    /// of a signed suite, flushes, and returns the sink.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when writing fails; [`Error::InvalidState`] if signing fails.
    pub fn finish(mut self) -> Result<W> {
        self.seal_frame(true)
            .map_err(super::super::envelope::from_io_error)?;
        if let Some((key, cx)) = self.signer.take() {
            let signature = key.sign(&cx.finish())?;
            let len =
                u16::try_from(signature.len()).map_err(|_| Error::state("signature too long"))?;
            self.out
                .write_all(&len.to_be_bytes())
                .and_then(|()| self.out.write_all(&signature))
                .map_err(super::super::envelope::from_io_error)?;
        }
        self.out
            .flush()
            .map_err(super::super::envelope::from_io_error)?;
        Ok(self.out)
    }
}

impl<W: Write> Write for EsdkSealer<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        // A full frame waits until more data follows it: the last bytes always go in the
        // final frame.
        if self.buf.len() == self.frame_length {
            self.seal_frame(false)?;
        }
        let n = data.len().min(self.frame_length - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Opens a message's body as it is read, after [`EsdkOpener::new`] checked the commitment
/// key and the header tag. Each frame's plaintext is released once the frame
/// authenticated; the final frame's only after the signature (signed suite) verified and
/// the input ended. Any failure is [`Error::IntegrityFailure`] (through
/// [`from_io_error`](crate::envelope::from_io_error)); a reader that stops early must
/// discard what it got.
pub struct EsdkOpener<R: Read> {
    keys: MessageKeys,
    message_id: [u8; MESSAGE_ID_LEN],
    frame_length: usize,
    /// The public key and the running digest of a signed message.
    verifier: Option<(Vec<u8>, digest::Context)>,
    /// The sequence number of the next frame.
    sequence: u32,
    /// Decrypted plaintext not yet returned, and how much of it was.
    out: Zeroizing<Vec<u8>>,
    pos: usize,
    done: bool,
    input: R,
}

impl<R: Read> fmt::Debug for EsdkOpener<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EsdkOpener")
            .field("frame_length", &self.frame_length)
            .field("sequence", &self.sequence)
            .finish_non_exhaustive()
    }
}

impl<R: Read> EsdkOpener<R> {
    /// Checks `parsed`'s commitment key and tag under `data_key` and prepares to read the
    /// body from `input` (positioned right after the header tag).
    ///
    /// # Errors
    /// [`Error::IntegrityFailure`] for a wrong data key or a changed header;
    /// [`Error::InvalidArgument`] for a signed message without a valid public key in its
    /// context, or an unsigned one with one.
    pub fn new(parsed: &ParsedHeader, data_key: &[u8], input: R) -> Result<Self> {
        let header = &parsed.header;
        let keys = MessageKeys::derive(header.suite, data_key, &header.message_id)?;
        let same: bool =
            aws_lc_rs::constant_time::verify_slices_are_equal(&keys.commitment, &header.commitment)
                .is_ok();
        if !same {
            return Err(Error::IntegrityFailure);
        }
        let tag = keys.header_tag(&parsed.raw)?;
        if aws_lc_rs::constant_time::verify_slices_are_equal(&tag, &parsed.tag).is_err() {
            return Err(Error::IntegrityFailure);
        }
        let public = header.context.0.get(PUBLIC_KEY_CONTEXT_KEY);
        let verifier = match (header.suite.is_signed(), public) {
            (true, Some(b64)) => {
                let key = STANDARD.decode(b64).map_err(|_| {
                    Error::invalid(format!("{PUBLIC_KEY_CONTEXT_KEY} is not base64"))
                })?;
                let mut cx = digest::Context::new(&digest::SHA384);
                cx.update(&parsed.raw);
                cx.update(&parsed.tag);
                Some((key, cx))
            }
            (true, None) => {
                return Err(Error::invalid(format!(
                    "a signed message without {PUBLIC_KEY_CONTEXT_KEY} in its context"
                )));
            }
            (false, Some(_)) => {
                return Err(Error::invalid(format!(
                    "an unsigned message with {PUBLIC_KEY_CONTEXT_KEY} in its context"
                )));
            }
            (false, None) => None,
        };
        Ok(Self {
            keys,
            message_id: header.message_id,
            frame_length: header.frame_length as usize,
            verifier,
            sequence: 1,
            out: Zeroizing::new(Vec::with_capacity(header.frame_length as usize)),
            pos: 0,
            done: false,
            input,
        })
    }

    /// Reads exactly `buf.len()` bytes; the end of input here is a truncated message.
    fn take(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.input.read_exact(buf).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => integrity(),
            _ => e,
        })?;
        if let Some((_, cx)) = &mut self.verifier {
            cx.update(buf);
        }
        Ok(())
    }

    fn u32(&mut self) -> io::Result<u32> {
        let mut b = [0u8; 4];
        self.take(&mut b)?;
        Ok(u32::from_be_bytes(b))
    }

    /// Reads, authenticates and decrypts the next frame into `out`.
    fn next_frame(&mut self) -> io::Result<()> {
        let first = self.u32()?;
        let last = first == FINAL_MARK;
        let seq = if last { self.u32()? } else { first };
        if seq != self.sequence {
            return Err(integrity());
        }
        let mut iv = [0u8; IV_LEN];
        self.take(&mut iv)?;
        if iv != frame_iv(seq) {
            return Err(integrity());
        }
        let len = if last {
            let len = self.u32()? as usize;
            if len > self.frame_length {
                return Err(integrity());
            }
            len
        } else {
            self.frame_length
        };
        self.out.clear();
        self.out.resize(len + TAG_LEN, 0);
        let mut body = std::mem::take(&mut self.out);
        let read = self.take(body.as_mut_slice());
        self.out = body;
        read?;
        let aad = frame_aad(&self.message_id, last, seq, len);
        self.keys
            .cipher
            .open_in_place(
                Nonce::assume_unique_for_key(iv),
                Aad::from(aad.as_slice()),
                self.out.as_mut_slice(),
            )
            .map_err(|_| integrity())?;
        self.out.truncate(len);
        self.pos = 0;
        if last {
            self.finish_message()?;
        } else {
            self.sequence = self.sequence.checked_add(1).ok_or_else(integrity)?;
        }
        Ok(())
    }

    /// After the final frame: checks the footer's signature, and that the input ends.
    fn finish_message(&mut self) -> io::Result<()> {
        if let Some((key, cx)) = self.verifier.take() {
            let mut len = [0u8; 2];
            self.input.read_exact(&mut len).map_err(|_| integrity())?;
            let mut sig = vec![0u8; usize::from(u16::from_be_bytes(len))];
            self.input.read_exact(&mut sig).map_err(|_| integrity())?;
            UnparsedPublicKey::new(&ECDSA_P384_SHA384_ASN1, &key)
                .verify_digest(&cx.finish(), &sig)
                .map_err(|_| integrity())?;
        }
        let mut extra = [0u8; 1];
        loop {
            match self.input.read(&mut extra) {
                Ok(0) => break,
                Ok(_) => return Err(integrity()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.done = true;
        Ok(())
    }
}

impl<R: Read> Read for EsdkOpener<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.out.len() {
                let n = buf.len().min(self.out.len() - self.pos);
                buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if self.done || buf.is_empty() {
                return Ok(0);
            }
            self.next_frame()?;
        }
    }
}
