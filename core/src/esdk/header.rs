//! The message header (format version 2) and its encrypted data keys.
//!
//! | bytes       | field                                                              |
//! |-------------|--------------------------------------------------------------------|
//! | 1           | version, `0x02`                                                    |
//! | 2           | algorithm suite id                                                 |
//! | 32          | message id                                                         |
//! | 2 + n       | AAD: length, then (when the context is not empty) the pair count (2) and each pair as key, value (u16 length, UTF-8), keys sorted |
//! | 2 + …       | encrypted data key count, then each: provider id, provider info, ciphertext (u16 length, bytes) |
//! | 1           | content type, `0x02` = framed                                      |
//! | 4           | frame length                                                       |
//! | 32          | commitment key (the committing suites' "algorithm suite data")     |
//! | 16          | header authentication tag                                          |

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read};

use crate::EncryptionContext;
use crate::error::{Error, Result};

use super::{
    AlgorithmSuite, FORMAT_V1, FORMAT_V2, KEY_LEN, MAX_ENCRYPTED_DATA_KEYS, MAX_FRAME_LENGTH,
    MESSAGE_ID_LEN, TAG_LEN,
};

/// The content type of a framed body.
const FRAMED: u8 = 0x02;
/// The content type of a non-framed body (recognized, refused).
const NON_FRAMED: u8 = 0x01;

/// One encrypted data key: who wrapped the data key, and the wrapped bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptedDataKey {
    /// The key provider id: [`AWS_KMS_PROVIDER_ID`](super::AWS_KMS_PROVIDER_ID) for KMS keys.
    pub provider_id: String,
    /// The provider's key information: for `aws-kms`, the key ARN (UTF-8).
    pub provider_info: Vec<u8>,
    /// The wrapped data key, as the provider returned it.
    pub ciphertext: Vec<u8>,
}

impl EncryptedDataKey {
    /// The provider information as text, when it is UTF-8 (an `aws-kms` key ARN).
    pub fn info_text(&self) -> Option<&str> {
        std::str::from_utf8(&self.provider_info).ok()
    }
}

impl fmt::Debug for EncryptedDataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedDataKey")
            .field("provider_id", &self.provider_id)
            .field(
                "provider_info",
                &String::from_utf8_lossy(&self.provider_info),
            )
            .field("ciphertext_len", &self.ciphertext.len())
            .finish()
    }
}

/// A message header, without its authentication tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageHeader {
    /// The algorithm suite.
    pub suite: AlgorithmSuite,
    /// The random message id (also the key derivation's salt).
    pub message_id: [u8; MESSAGE_ID_LEN],
    /// The encryption context, authenticated (for a signed suite it holds the public key).
    pub context: EncryptionContext,
    /// The encrypted data keys: any one of them opens the message.
    pub data_keys: Vec<EncryptedDataKey>,
    /// The plaintext length of every frame but the last.
    pub frame_length: u32,
    /// The commitment key derived from the data key.
    pub commitment: [u8; KEY_LEN],
}

/// A header as read from a message: its fields, the exact bytes they were read from (which
/// the header tag and the signature cover) and the header authentication tag.
#[derive(Debug, Clone)]
pub struct ParsedHeader {
    /// The header's fields.
    pub header: MessageHeader,
    /// The serialized header, as read.
    pub(super) raw: Vec<u8>,
    /// The header authentication tag.
    pub(super) tag: [u8; TAG_LEN],
}

fn put_u16_len(out: &mut Vec<u8>, what: &str, bytes: &[u8]) -> Result<()> {
    let len = u16::try_from(bytes.len())
        .map_err(|_| Error::invalid(format!("{what} is longer than 65535 bytes")))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

/// The serialized encryption context (empty for an empty context).
fn encode_context(context: &EncryptionContext) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    if context.0.is_empty() {
        return Ok(out);
    }
    let count = u16::try_from(context.0.len())
        .map_err(|_| Error::invalid("the encryption context has more than 65535 pairs"))?;
    out.extend_from_slice(&count.to_be_bytes());
    // A BTreeMap of Strings iterates in byte order, the order the format requires.
    for (k, v) in &context.0 {
        put_u16_len(&mut out, "an encryption context key", k.as_bytes())?;
        put_u16_len(&mut out, "an encryption context value", v.as_bytes())?;
    }
    Ok(out)
}

impl MessageHeader {
    /// The serialized header (without its authentication tag).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when a field does not fit its length prefix, there is no
    /// encrypted data key, or the frame length is out of bounds.
    pub fn encode(&self) -> Result<Vec<u8>> {
        check_frame_length(self.frame_length)?;
        if self.data_keys.is_empty() {
            return Err(Error::invalid(
                "a message needs at least one encrypted data key",
            ));
        }
        let mut out = Vec::with_capacity(256);
        out.push(FORMAT_V2);
        out.extend_from_slice(&self.suite.id().to_be_bytes());
        out.extend_from_slice(&self.message_id);
        put_u16_len(
            &mut out,
            "the encryption context",
            &encode_context(&self.context)?,
        )?;
        let count = u16::try_from(self.data_keys.len())
            .map_err(|_| Error::invalid("more than 65535 encrypted data keys"))?;
        out.extend_from_slice(&count.to_be_bytes());
        for edk in &self.data_keys {
            put_u16_len(&mut out, "a key provider id", edk.provider_id.as_bytes())?;
            put_u16_len(&mut out, "a key provider info", &edk.provider_info)?;
            put_u16_len(&mut out, "an encrypted data key", &edk.ciphertext)?;
        }
        out.push(FRAMED);
        out.extend_from_slice(&self.frame_length.to_be_bytes());
        out.extend_from_slice(&self.commitment);
        Ok(out)
    }

    /// Reads a header and its authentication tag from the start of a message, leaving
    /// `input` at the body. Reads at most the header's own bytes.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a version 1 message, another suite or a non-framed body;
    /// [`Error::InvalidArgument`] for anything malformed (truncated, invalid UTF-8, a
    /// repeated context key, no or too many encrypted data keys, a frame length out of
    /// bounds); [`Error::Unavailable`] when reading fails.
    pub fn read_from(input: &mut dyn Read) -> Result<ParsedHeader> {
        let mut r = Recorder {
            input,
            raw: Vec::with_capacity(512),
        };
        let version = r.u8()?;
        if version == FORMAT_V1 {
            return Err(Error::unsupported(
                "AWS Encryption SDK message format version 1 is not supported; keygate reads \
                 version 2 messages (committing algorithm suites)",
            ));
        }
        if version != FORMAT_V2 {
            return Err(Error::invalid("not an AWS Encryption SDK message"));
        }
        let suite = AlgorithmSuite::from_id(r.u16()?)?;
        let mut message_id = [0u8; MESSAGE_ID_LEN];
        r.fill(&mut message_id)?;
        let aad_len = usize::from(r.u16()?);
        let context = if aad_len == 0 {
            EncryptionContext::new()
        } else {
            let aad = r.bytes(aad_len)?;
            decode_context(&aad)?
        };
        let count = usize::from(r.u16()?);
        if count == 0 {
            return Err(Error::invalid("the message has no encrypted data key"));
        }
        if count > MAX_ENCRYPTED_DATA_KEYS {
            return Err(Error::invalid(format!(
                "the message has {count} encrypted data keys; keygate reads at most \
                 {MAX_ENCRYPTED_DATA_KEYS}"
            )));
        }
        let mut data_keys = Vec::with_capacity(count);
        for _ in 0..count {
            let len = usize::from(r.u16()?);
            let provider_id = String::from_utf8(r.bytes(len)?)
                .map_err(|_| Error::invalid("a key provider id is not UTF-8"))?;
            let len = usize::from(r.u16()?);
            let provider_info = r.bytes(len)?;
            let len = usize::from(r.u16()?);
            let ciphertext = r.bytes(len)?;
            data_keys.push(EncryptedDataKey {
                provider_id,
                provider_info,
                ciphertext,
            });
        }
        match r.u8()? {
            FRAMED => {}
            NON_FRAMED => {
                return Err(Error::unsupported(
                    "non-framed AWS Encryption SDK messages are not supported; keygate reads \
                     framed bodies (the SDK's default)",
                ));
            }
            other => return Err(Error::invalid(format!("unknown content type {other}"))),
        }
        let frame_length = u32::from_be_bytes(r.array()?);
        check_frame_length(frame_length)?;
        let mut commitment = [0u8; KEY_LEN];
        r.fill(&mut commitment)?;
        let raw = r.raw;
        let mut tag = [0u8; TAG_LEN];
        read_exact(input, &mut tag)?;
        Ok(ParsedHeader {
            header: Self {
                suite,
                message_id,
                context,
                data_keys,
                frame_length,
                commitment,
            },
            raw,
            tag,
        })
    }
}

fn check_frame_length(len: u32) -> Result<()> {
    if (1..=MAX_FRAME_LENGTH).contains(&len) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "frame length {len} is out of bounds (1..={MAX_FRAME_LENGTH} bytes)"
        )))
    }
}

/// Parses a serialized, non-empty encryption context.
fn decode_context(aad: &[u8]) -> Result<EncryptionContext> {
    let bad = || Error::invalid("the message's encryption context is malformed");
    let mut rest = aad;
    let mut take = |n: usize| -> Result<&[u8]> {
        if rest.len() < n {
            return Err(bad());
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Ok(head)
    };
    let count = u16::from_be_bytes([take(1)?[0], take(1)?[0]]);
    let mut pairs = BTreeMap::new();
    for _ in 0..count {
        let mut text = || -> Result<String> {
            let len = take(2)?;
            let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
            String::from_utf8(take(len)?.to_vec()).map_err(|_| bad())
        };
        let key = text()?;
        let value = text()?;
        if pairs.insert(key, value).is_some() {
            return Err(Error::invalid(
                "the message's encryption context repeats a key",
            ));
        }
    }
    if !rest.is_empty() {
        return Err(bad());
    }
    Ok(EncryptionContext(pairs))
}

fn read_exact(input: &mut dyn Read, buf: &mut [u8]) -> Result<()> {
    input.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => {
            Error::invalid("the AWS Encryption SDK message is truncated")
        }
        _ => super::super::envelope::from_io_error(e),
    })
}

/// Reads header fields and keeps every byte read (the header tag covers them).
struct Recorder<'a> {
    input: &'a mut dyn Read,
    raw: Vec<u8>,
}

impl Recorder<'_> {
    fn fill(&mut self, buf: &mut [u8]) -> Result<()> {
        read_exact(self.input, buf)?;
        self.raw.extend_from_slice(buf);
        Ok(())
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut buf = [0u8; N];
        self.fill(&mut buf)?;
        Ok(buf)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn bytes(&mut self, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.fill(&mut buf)?;
        Ok(buf)
    }
}
