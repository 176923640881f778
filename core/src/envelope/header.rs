//! The envelope header: its fields, and its strict, canonical binary encoding.

use std::io::Read;

use crate::EncryptionContext;
use crate::error::{Error, Result};

use super::{
    DEFAULT_CHUNK_SIZE, FORMAT_VERSION, MAGIC, MAX_CHUNK_SIZE, MAX_HEADER_LEN, MAX_WRAPPED_KEY_LEN,
    MIN_CHUNK_SIZE,
};

/// How the payload of an envelope is sealed. Stored in the header as one byte so that a
/// future algorithm can be added without a new format version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum EnvelopeAlgorithm {
    /// Id 1: per-message key HKDF-SHA256(data key, message id), payload AES-256-GCM in the
    /// STREAM construction (chunk counter and final flag in the nonce).
    #[default]
    Aes256GcmStreamHkdfSha256,
}

impl EnvelopeAlgorithm {
    /// The byte that names the algorithm in the header.
    pub fn id(self) -> u8 {
        match self {
            Self::Aes256GcmStreamHkdfSha256 => 1,
        }
    }

    /// The algorithm named by `id`, if keygate knows it.
    pub fn from_id(id: u8) -> Option<Self> {
        match id {
            1 => Some(Self::Aes256GcmStreamHkdfSha256),
            _ => None,
        }
    }
}

/// The header at the front of every envelope: everything needed to route a decryption to the
/// right provider and key, and to open the payload once the data key is unwrapped.
///
/// The header is not secret (the data key in it is wrapped), but it is authenticated: every
/// payload chunk binds SHA-256 of the encoded header as AAD, so changing any header byte makes
/// the payload fail to open. See the [module docs](super) for the byte layout.
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
    /// How the payload is sealed.
    pub algorithm: EnvelopeAlgorithm,
    /// Plaintext bytes per chunk (every chunk but the last is exactly this long).
    pub chunk_size: u32,
    /// Random per-message id: salt for the per-message key.
    pub message_id: [u8; 32],
}

impl EnvelopeHeader {
    /// A header for a new message: a fresh random message id, the default algorithm and the
    /// default chunk size ([`DEFAULT_CHUNK_SIZE`]).
    ///
    /// The fields are checked when the header is encoded (see [`Self::validate`]), so that
    /// this constructor stays infallible.
    pub fn new(
        provider: impl Into<String>,
        key_uri: impl Into<String>,
        key_version: impl Into<String>,
        context: EncryptionContext,
        wrapped_key: Vec<u8>,
    ) -> Self {
        let mut message_id = [0u8; 32];
        // The system RNG does not fail on the platforms aws-lc supports. Should it ever, the
        // id stays all zero and `SealingWriter::new` refuses it: a repeated id under a cached
        // data key would repeat the per-message key and so the nonces.
        if aws_lc_rs::rand::fill(&mut message_id).is_err() {
            message_id = [0u8; 32];
        }
        Self {
            provider: provider.into(),
            key_uri: key_uri.into(),
            key_version: key_version.into(),
            context,
            wrapped_key,
            algorithm: EnvelopeAlgorithm::default(),
            chunk_size: DEFAULT_CHUNK_SIZE,
            message_id,
        }
    }

    /// The same header with another chunk size.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE`.
    pub fn with_chunk_size(mut self, chunk_size: u32) -> Result<Self> {
        check_chunk_size(chunk_size)?;
        self.chunk_size = chunk_size;
        Ok(self)
    }

    /// Checks that every field fits the format: what [`Self::encode`] and the streams call
    /// first, since the fields are public.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty provider, key URI or wrapped key, a string or
    /// context longer than its u16 length prefix allows, a wrapped key over
    /// [`MAX_WRAPPED_KEY_LEN`], a chunk size out of bounds, or a header over
    /// [`MAX_HEADER_LEN`] bytes.
    pub fn validate(&self) -> Result<()> {
        if self.provider.is_empty() {
            return Err(Error::invalid("envelope header: empty provider name"));
        }
        if self.key_uri.is_empty() {
            return Err(Error::invalid("envelope header: empty key URI"));
        }
        if self.wrapped_key.is_empty() {
            return Err(Error::invalid("envelope header: empty wrapped key"));
        }
        if self.wrapped_key.len() > MAX_WRAPPED_KEY_LEN {
            return Err(Error::invalid(format!(
                "envelope header: wrapped key of {} bytes is over the {MAX_WRAPPED_KEY_LEN}-byte limit",
                self.wrapped_key.len()
            )));
        }
        check_chunk_size(self.chunk_size)?;
        let mut len = MAGIC.len() + 1 + 2 + 4 + 1 + 4 + 32 + self.wrapped_key.len();
        let strings = [
            ("provider name", self.provider.as_str()),
            ("key URI", self.key_uri.as_str()),
            ("key version", self.key_version.as_str()),
        ];
        let pairs = self
            .context
            .0
            .iter()
            .flat_map(|(k, v)| [("context key", k.as_str()), ("context value", v.as_str())]);
        for (what, s) in strings.into_iter().chain(pairs) {
            if s.len() > usize::from(u16::MAX) {
                return Err(Error::invalid(format!(
                    "envelope header: {what} of {} bytes is longer than {} bytes",
                    s.len(),
                    u16::MAX
                )));
            }
            len += 2 + s.len();
        }
        if self.context.0.len() > usize::from(u16::MAX) {
            return Err(Error::invalid(
                "envelope header: more than 65535 context pairs",
            ));
        }
        if len > MAX_HEADER_LEN {
            return Err(Error::invalid(format!(
                "envelope header of {len} bytes is over the {MAX_HEADER_LEN}-byte limit"
            )));
        }
        Ok(())
    }

    /// The header's bytes, as they start the envelope. The encoding is canonical (the
    /// context is written in key order), so `decode(encode(h)) == h` and re-encoding a
    /// decoded header gives back the very bytes that were read.
    ///
    /// # Errors
    /// As [`Self::validate`]: a field that does not fit is an error, never truncated.
    pub fn encode(&self) -> Result<Vec<u8>> {
        self.validate()?;
        let mut out = Vec::with_capacity(128 + self.wrapped_key.len());
        out.extend_from_slice(MAGIC);
        out.push(FORMAT_VERSION);
        // Lengths were checked by `validate`, so these conversions cannot fail; the
        // fallbacks only keep the code free of panics.
        let put_str = |out: &mut Vec<u8>, s: &str| {
            let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        };
        put_str(&mut out, &self.provider);
        put_str(&mut out, &self.key_uri);
        put_str(&mut out, &self.key_version);
        let count = u16::try_from(self.context.0.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for (k, v) in &self.context.0 {
            put_str(&mut out, k);
            put_str(&mut out, v);
        }
        let wrapped_len = u32::try_from(self.wrapped_key.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&wrapped_len.to_be_bytes());
        out.extend_from_slice(&self.wrapped_key);
        out.push(self.algorithm.id());
        out.extend_from_slice(&self.chunk_size.to_be_bytes());
        out.extend_from_slice(&self.message_id);
        Ok(out)
    }

    /// Decodes the header at the start of `bytes` (the rest, the payload, is not looked at).
    /// Returns the header and its length in bytes: the payload starts at that offset.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] ("not a keygate envelope: ...") for a wrong magic, an
    /// unknown version or algorithm, a truncated header, a length out of bounds, invalid
    /// UTF-8, context keys out of order or repeated, or an empty required field.
    pub fn decode(bytes: &[u8]) -> Result<(Self, usize)> {
        let mut rest = bytes;
        let header = Self::parse(&mut rest)?;
        Ok((header, bytes.len() - rest.len()))
    }

    /// Reads exactly one header from `reader` and nothing more, leaving it positioned at the
    /// payload. Reads in small exact pieces, so give it a buffered reader for speed.
    ///
    /// # Errors
    /// As [`Self::decode`]; an I/O error other than a premature end is
    /// [`Error::Unavailable`].
    pub fn read_from<R: Read>(reader: &mut R) -> Result<Self> {
        Self::parse(reader)
    }

    fn parse<R: Read>(reader: &mut R) -> Result<Self> {
        let mut p = Parser { reader, read: 0 };
        let mut magic = [0u8; 4];
        p.exact(&mut magic)?;
        if &magic[..3] != MAGIC {
            return Err(not_envelope("bad magic"));
        }
        if magic[3] != FORMAT_VERSION {
            return Err(not_envelope(&format!(
                "unknown format version {}",
                magic[3]
            )));
        }
        let provider = p.string("provider name")?;
        let key_uri = p.string("key URI")?;
        let key_version = p.string("key version")?;
        let count = p.u16()?;
        let mut context = EncryptionContext::new();
        let mut previous: Option<String> = None;
        for _ in 0..count {
            let k = p.string("context key")?;
            let v = p.string("context value")?;
            // Strictly increasing keys: the only order `encode` writes, so a decoded header
            // re-encodes to the same bytes (the payload's AAD) and no key can appear twice.
            if previous
                .as_ref()
                .is_some_and(|prev| prev.as_str() >= k.as_str())
            {
                return Err(not_envelope("context keys out of order or repeated"));
            }
            previous = Some(k.clone());
            context.0.insert(k, v);
        }
        let wrapped_len = p.u32()?;
        let wrapped_len = usize::try_from(wrapped_len)
            .ok()
            .filter(|n| *n <= MAX_WRAPPED_KEY_LEN)
            .ok_or_else(|| not_envelope("wrapped key too long"))?;
        let wrapped_key = p.bytes(wrapped_len)?;
        let mut alg = [0u8; 1];
        p.exact(&mut alg)?;
        let algorithm = EnvelopeAlgorithm::from_id(alg[0])
            .ok_or_else(|| not_envelope(&format!("unknown algorithm {}", alg[0])))?;
        let chunk_size = p.u32()?;
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
            return Err(not_envelope("chunk size out of bounds"));
        }
        let mut message_id = [0u8; 32];
        p.exact(&mut message_id)?;
        if provider.is_empty() || key_uri.is_empty() || wrapped_key.is_empty() {
            return Err(not_envelope("empty provider, key URI or wrapped key"));
        }
        Ok(Self {
            provider,
            key_uri,
            key_version,
            context,
            wrapped_key,
            algorithm,
            chunk_size,
            message_id,
        })
    }
}

/// True when `bytes` starts like a keygate envelope (magic and a known format version).
/// A cheap sniff, e.g. to tell an envelope from a provider's raw ciphertext or to inspect
/// the first bytes of a file; only [`EnvelopeHeader::decode`] says the header is well formed.
pub fn is_envelope(bytes: &[u8]) -> bool {
    bytes.len() >= 4 && &bytes[..3] == MAGIC && bytes[3] == FORMAT_VERSION
}

fn check_chunk_size(chunk_size: u32) -> Result<()> {
    if (MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "chunk size {chunk_size} is out of bounds ({MIN_CHUNK_SIZE}..={MAX_CHUNK_SIZE} bytes)"
        )))
    }
}

fn not_envelope(why: &str) -> Error {
    Error::invalid(format!("not a keygate envelope: {why}"))
}

/// Reads header fields in exact pieces, counting bytes so that no input, however long its
/// length prefixes claim to be, makes the decoder read or allocate past [`MAX_HEADER_LEN`].
struct Parser<'r, R: Read> {
    reader: &'r mut R,
    read: usize,
}

impl<R: Read> Parser<'_, R> {
    fn exact(&mut self, buf: &mut [u8]) -> Result<()> {
        self.read += buf.len();
        if self.read > MAX_HEADER_LEN {
            return Err(not_envelope("header too long"));
        }
        self.reader.read_exact(buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => not_envelope("truncated header"),
            _ => Error::unavailable_because("reading the envelope header", e),
        })
    }

    fn u16(&mut self) -> Result<u16> {
        let mut b = [0u8; 2];
        self.exact(&mut b)?;
        Ok(u16::from_be_bytes(b))
    }

    fn u32(&mut self) -> Result<u32> {
        let mut b = [0u8; 4];
        self.exact(&mut b)?;
        Ok(u32::from_be_bytes(b))
    }

    fn bytes(&mut self, len: usize) -> Result<Vec<u8>> {
        // Check the budget before allocating: the length came from the input.
        if self.read.saturating_add(len) > MAX_HEADER_LEN {
            return Err(not_envelope("header too long"));
        }
        let mut buf = vec![0u8; len];
        self.exact(&mut buf)?;
        Ok(buf)
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let len = self.u16()?;
        let bytes = self.bytes(usize::from(len))?;
        String::from_utf8(bytes).map_err(|_| not_envelope(&format!("{what} is not UTF-8")))
    }
}
