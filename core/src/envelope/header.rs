//! The envelope header: its fields, and its strict, canonical binary encoding (both format
//! versions; see the [module docs](super) for the byte layouts).

use aws_lc_rs::digest;

use crate::EncryptionContext;
use crate::error::{Error, Result};

use super::{
    DEFAULT_CHUNK_SIZE, DEFAULT_PADDING, FORMAT_V1, FORMAT_VERSION, MAGIC, MAX_CHUNK_SIZE,
    MAX_HEADER_LEN, MAX_RECIPIENTS, MAX_WRAPPED_KEY_LEN, MIN_CHUNK_SIZE,
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

    /// A stable name for listings (`keygate envelope inspect`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Aes256GcmStreamHkdfSha256 => "AES-256-GCM-STREAM-HKDF-SHA256",
        }
    }
}

/// One wrapped copy of the data key: the key that wrapped it and the wrapping itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The provider's registered name when the copy was wrapped.
    pub provider: String,
    /// The URI of the key that wrapped the data key.
    pub key_uri: String,
    /// The key version that wrapped the data key.
    pub key_version: String,
    /// The data key, encrypted by the provider under `key_uri`.
    pub wrapped_key: Vec<u8>,
}

/// The header at the front of every envelope: everything needed to route a decryption to a
/// key that can unwrap the data key, and to open the payload once it is unwrapped.
///
/// The first wrapped copy of the data key is held in `provider`, `key_uri`, `key_version`
/// and `wrapped_key`; a multi-key envelope (format 2) carries the others in
/// `extra_recipients`. [`Self::recipients`] lists them all in order.
///
/// The header is not secret (the data keys in it are wrapped), but it is authenticated: in
/// format 2 every payload chunk binds SHA-256 of the header's *bound part* (format, context,
/// algorithm, chunk size, message id, data-key commitment) as AAD, and the commitment binds
/// the data key, so the wrapped copies can be added and removed without touching the payload.
/// In format 1 the AAD is SHA-256 of the whole header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeHeader {
    /// The format version: [`FORMAT_VERSION`] (2) for new envelopes, [`FORMAT_V1`] for
    /// envelopes read from before multi-key envelopes.
    pub format: u8,
    /// The provider of the first wrapped copy.
    pub provider: String,
    /// The key URI of the first wrapped copy.
    pub key_uri: String,
    /// The key version of the first wrapped copy.
    pub key_version: String,
    /// The encryption context the data key is bound to (stored in clear: context is not
    /// secret by definition).
    pub context: EncryptionContext,
    /// The first wrapped copy of the data key.
    pub wrapped_key: Vec<u8>,
    /// The other wrapped copies (format 2 only), in the order they were added.
    pub extra_recipients: Vec<Recipient>,
    /// How the payload is sealed.
    pub algorithm: EnvelopeAlgorithm,
    /// Plaintext bytes per chunk (every chunk but the last is exactly this long).
    pub chunk_size: u32,
    /// Random per-message id: salt for the per-message key.
    pub message_id: [u8; 32],
    /// Format 2: HKDF-derived commitment to the data key (all zero until the header is
    /// bound to one; [`super::SealingWriter`] binds it). Zero in format 1.
    pub commitment: [u8; 32],
    /// Format 2: zero bytes reserved after the recipients, so that keys can be added in
    /// place later without moving the payload. Zero in format 1.
    pub padding: u32,
}

impl EnvelopeHeader {
    /// A header for a new message (format 2) with one wrapped copy of the data key: a fresh
    /// random message id, the default algorithm, the default chunk size
    /// ([`DEFAULT_CHUNK_SIZE`]) and [`DEFAULT_PADDING`] reserved bytes.
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
            format: FORMAT_VERSION,
            provider: provider.into(),
            key_uri: key_uri.into(),
            key_version: key_version.into(),
            context,
            wrapped_key,
            extra_recipients: Vec::new(),
            algorithm: EnvelopeAlgorithm::default(),
            chunk_size: DEFAULT_CHUNK_SIZE,
            message_id,
            commitment: [0u8; 32],
            padding: DEFAULT_PADDING,
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

    /// Every wrapped copy of the data key, the first one first.
    pub fn recipients(&self) -> Vec<Recipient> {
        let mut all = Vec::with_capacity(1 + self.extra_recipients.len());
        all.push(Recipient {
            provider: self.provider.clone(),
            key_uri: self.key_uri.clone(),
            key_version: self.key_version.clone(),
            wrapped_key: self.wrapped_key.clone(),
        });
        all.extend(self.extra_recipients.iter().cloned());
        all
    }

    /// The wrapped copy made under `key_uri`, if the header carries one.
    pub fn recipient(&self, key_uri: &str) -> Option<Recipient> {
        self.recipients().into_iter().find(|r| r.key_uri == key_uri)
    }

    /// Replaces the wrapped copies (the first becomes the header's first). The payload is
    /// untouched: in format 2 the copies are not part of what it binds.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for no recipient, more than [`MAX_RECIPIENTS`], or two
    /// copies under the same key; [`Error::Unsupported`] for a format 1 header, whose
    /// payload binds its one wrapped key (re-encrypt such an envelope to upgrade it).
    pub fn set_recipients(&mut self, recipients: Vec<Recipient>) -> Result<()> {
        if self.format == FORMAT_V1 {
            return Err(Error::unsupported(
                "a format 1 envelope binds its wrapped key in the payload: its keys cannot be \
                 changed without re-encrypting it (decrypt and encrypt it again)",
            ));
        }
        check_recipients(&recipients)?;
        let mut it = recipients.into_iter();
        let first = it
            .next()
            .ok_or_else(|| Error::invalid("an envelope needs at least one key"))?;
        self.provider = first.provider;
        self.key_uri = first.key_uri;
        self.key_version = first.key_version;
        self.wrapped_key = first.wrapped_key;
        self.extra_recipients = it.collect();
        Ok(())
    }

    /// Binds a format 2 header to `data_key`: sets [`Self::commitment`]. A no-op for
    /// format 1, which has no commitment.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a data key shorter than the minimum.
    pub fn commit_to(&mut self, data_key: &[u8]) -> Result<()> {
        if self.format != FORMAT_V1 {
            self.commitment = super::stream::commitment(&self.message_id, data_key)?;
        }
        Ok(())
    }

    /// Checks that `data_key` is the data key this header is committed to: what a re-wrap
    /// checks before it wraps an unwrapped data key under new keys.
    ///
    /// # Errors
    /// [`Error::IntegrityFailure`] when it is not (or the header has no commitment);
    /// [`Error::Unsupported`] for format 1, which cannot tell without opening the payload.
    pub fn verify_data_key(&self, data_key: &[u8]) -> Result<()> {
        if self.format == FORMAT_V1 {
            return Err(Error::unsupported(
                "a format 1 envelope has no data-key commitment",
            ));
        }
        let expected = super::stream::commitment(&self.message_id, data_key)
            .map_err(|_| Error::IntegrityFailure)?;
        if self.commitment == [0u8; 32] || expected != self.commitment {
            return Err(Error::IntegrityFailure);
        }
        Ok(())
    }

    /// Sets the padding so that the encoded header is exactly `len` bytes: how a re-wrap
    /// keeps the payload where it is, so the header can be rewritten in place.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the header does not fit in `len` bytes (or is
    /// format 1, which has no padding and is rewritten only whole).
    pub fn fit_to(&mut self, len: usize) -> Result<()> {
        if self.format == FORMAT_V1 {
            return Err(Error::invalid("a format 1 header has no padding"));
        }
        self.padding = 0;
        let bare = self.encoded_len()?;
        let room = len
            .checked_sub(bare)
            .ok_or_else(|| Error::invalid(format!("the header needs {bare} bytes, over {len}")))?;
        self.padding = u32::try_from(room).map_err(|_| Error::invalid("padding too large"))?;
        self.validate()
    }

    /// Checks that every field fits the format: what [`Self::encode`] and the streams call
    /// first, since the fields are public.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an unknown format, an empty provider, key URI or
    /// wrapped key, a string or context longer than its u16 length prefix allows, a wrapped
    /// key over [`MAX_WRAPPED_KEY_LEN`], extra recipients in format 1, a chunk size out of
    /// bounds, or a header over [`MAX_HEADER_LEN`] bytes.
    pub fn validate(&self) -> Result<()> {
        self.encoded_len().map(|_| ())
    }

    /// The encoded length, checking every field on the way.
    fn encoded_len(&self) -> Result<usize> {
        if self.format != FORMAT_V1 && self.format != FORMAT_VERSION {
            return Err(Error::invalid(format!(
                "envelope header: unknown format {}",
                self.format
            )));
        }
        if self.format == FORMAT_V1 && (!self.extra_recipients.is_empty() || self.padding != 0) {
            return Err(Error::invalid(
                "envelope header: format 1 carries one key and no padding",
            ));
        }
        let recipients = self.recipients();
        check_recipients(&recipients)?;
        check_chunk_size(self.chunk_size)?;
        // Magic, version, context count, algorithm, chunk size, message id.
        let mut len = MAGIC.len() + 1 + 2 + 1 + 4 + 32;
        if self.format != FORMAT_V1 {
            // Header length, commitment, recipient count, padding.
            len += 4 + 32 + 2 + self.padding as usize;
        }
        let mut strings: Vec<(&str, &str)> = Vec::new();
        for r in &recipients {
            strings.push(("provider name", r.provider.as_str()));
            strings.push(("key URI", r.key_uri.as_str()));
            strings.push(("key version", r.key_version.as_str()));
            len += 4 + r.wrapped_key.len();
        }
        for (k, v) in &self.context.0 {
            strings.push(("context key", k.as_str()));
            strings.push(("context value", v.as_str()));
        }
        for (what, s) in strings {
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
        Ok(len)
    }

    /// The header's bytes, as they start the envelope. The encoding is canonical (the
    /// context is written in key order), so `decode(encode(h)) == h` and re-encoding a
    /// decoded header gives back the very bytes that were read.
    ///
    /// # Errors
    /// As [`Self::validate`]: a field that does not fit is an error, never truncated.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let total = self.encoded_len()?;
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(MAGIC);
        out.push(self.format);
        if self.format == FORMAT_V1 {
            put_recipient(&mut out, &self.recipients()[0], false);
            put_context(&mut out, &self.context);
            put_recipient(&mut out, &self.recipients()[0], true);
            put_trailer(&mut out, self);
            return Ok(out);
        }
        // `validate` bounded the total by MAX_HEADER_LEN, so it fits a u32.
        let total_u32 = u32::try_from(total).unwrap_or(u32::MAX);
        out.extend_from_slice(&total_u32.to_be_bytes());
        put_context(&mut out, &self.context);
        put_trailer(&mut out, self);
        out.extend_from_slice(&self.commitment);
        let recipients = self.recipients();
        let count = u16::try_from(recipients.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for r in &recipients {
            put_recipient(&mut out, r, false);
            put_recipient(&mut out, r, true);
        }
        out.resize(total, 0);
        Ok(out)
    }

    /// SHA-256 of what the payload binds: the whole header in format 1; in format 2 the
    /// bound part only (magic, version, context, algorithm, chunk size, message id,
    /// commitment), so that the wrapped copies and the padding can change.
    ///
    /// # Errors
    /// As [`Self::encode`].
    pub fn payload_aad(&self) -> Result<[u8; 32]> {
        let bytes = if self.format == FORMAT_V1 {
            self.encode()?
        } else {
            self.validate()?;
            let mut b = Vec::with_capacity(128);
            b.extend_from_slice(MAGIC);
            b.push(self.format);
            put_context(&mut b, &self.context);
            put_trailer(&mut b, self);
            b.extend_from_slice(&self.commitment);
            b
        };
        let mut aad = [0u8; 32];
        aad.copy_from_slice(digest::digest(&digest::SHA256, &bytes).as_ref());
        Ok(aad)
    }
}

/// Writes a recipient's three strings (`wrapped == false`) or its wrapped key.
fn put_recipient(out: &mut Vec<u8>, r: &Recipient, wrapped: bool) {
    if wrapped {
        let len = u32::try_from(r.wrapped_key.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&r.wrapped_key);
    } else {
        put_str(out, &r.provider);
        put_str(out, &r.key_uri);
        put_str(out, &r.key_version);
    }
}

fn put_context(out: &mut Vec<u8>, context: &EncryptionContext) {
    let count = u16::try_from(context.0.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&count.to_be_bytes());
    for (k, v) in &context.0 {
        put_str(out, k);
        put_str(out, v);
    }
}

/// Algorithm, chunk size and message id.
fn put_trailer(out: &mut Vec<u8>, h: &EnvelopeHeader) {
    out.push(h.algorithm.id());
    out.extend_from_slice(&h.chunk_size.to_be_bytes());
    out.extend_from_slice(&h.message_id);
}

/// Lengths were checked by `validate`, so the conversion cannot fail; the fallback only
/// keeps the code free of panics.
fn put_str(out: &mut Vec<u8>, s: &str) {
    let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// True when `bytes` starts like a keygate envelope (magic and a known format version).
/// A cheap sniff, e.g. to tell an envelope from a provider's raw ciphertext or to inspect
/// the first bytes of a file; only [`EnvelopeHeader::decode`] says the header is well formed.
pub fn is_envelope(bytes: &[u8]) -> bool {
    bytes.len() >= 4
        && &bytes[..3] == MAGIC
        && (bytes[3] == FORMAT_V1 || bytes[3] == FORMAT_VERSION)
}

pub(super) fn check_chunk_size(chunk_size: u32) -> Result<()> {
    if (MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "chunk size {chunk_size} is out of bounds ({MIN_CHUNK_SIZE}..={MAX_CHUNK_SIZE} bytes)"
        )))
    }
}

/// Every recipient complete, at most [`MAX_RECIPIENTS`], no key twice.
pub(super) fn check_recipients(recipients: &[Recipient]) -> Result<()> {
    if recipients.is_empty() {
        return Err(Error::invalid("an envelope needs at least one key"));
    }
    if recipients.len() > MAX_RECIPIENTS {
        return Err(Error::invalid(format!(
            "an envelope carries at most {MAX_RECIPIENTS} keys"
        )));
    }
    for (i, r) in recipients.iter().enumerate() {
        if r.provider.is_empty() {
            return Err(Error::invalid("envelope header: empty provider name"));
        }
        if r.key_uri.is_empty() {
            return Err(Error::invalid("envelope header: empty key URI"));
        }
        if r.wrapped_key.is_empty() {
            return Err(Error::invalid("envelope header: empty wrapped key"));
        }
        if r.wrapped_key.len() > MAX_WRAPPED_KEY_LEN {
            return Err(Error::invalid(format!(
                "envelope header: wrapped key of {} bytes is over the {MAX_WRAPPED_KEY_LEN}-byte limit",
                r.wrapped_key.len()
            )));
        }
        if recipients[..i].iter().any(|o| o.key_uri == r.key_uri) {
            return Err(Error::invalid(format!(
                "envelope header: key {} appears twice",
                r.key_uri
            )));
        }
    }
    Ok(())
}
