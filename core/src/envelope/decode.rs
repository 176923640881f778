//! Strict decoding of both header formats, from a slice or a reader.

use std::io::Read;

use crate::EncryptionContext;
use crate::error::{Error, Result};

use super::header::{EnvelopeAlgorithm, EnvelopeHeader, Recipient, check_recipients};
use super::{
    FORMAT_V1, FORMAT_VERSION, MAGIC, MAX_CHUNK_SIZE, MAX_HEADER_LEN, MAX_RECIPIENTS,
    MAX_WRAPPED_KEY_LEN, MIN_CHUNK_SIZE,
};

impl EnvelopeHeader {
    /// Decodes the header at the start of `bytes` (the rest, the payload, is not looked at).
    /// Returns the header and its length in bytes: the payload starts at that offset.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] ("not a keygate envelope: ...") for a wrong magic, an
    /// unknown version or algorithm, a truncated header, a length out of bounds, invalid
    /// UTF-8, context keys out of order or repeated, an empty required field, a key listed
    /// twice, or padding that is not zero.
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
        match magic[3] {
            FORMAT_V1 => parse_v1(&mut p),
            FORMAT_VERSION => {
                let total = usize::try_from(p.u32()?)
                    .ok()
                    .filter(|n| (8..=MAX_HEADER_LEN).contains(n))
                    .ok_or_else(|| not_envelope("header length out of bounds"))?;
                // The rest of the header is read whole, then parsed: the declared length is
                // exactly where the payload starts.
                let body = p.bytes(total - 8)?;
                let mut slice = body.as_slice();
                let mut inner = Parser {
                    reader: &mut slice,
                    read: 8,
                };
                let header = parse_v2(&mut inner, total)?;
                if slice.iter().any(|b| *b != 0) {
                    return Err(not_envelope("padding is not zero"));
                }
                Ok(header)
            }
            v => Err(not_envelope(&format!("unknown format version {v}"))),
        }
    }
}

fn parse_v1<R: Read>(p: &mut Parser<'_, R>) -> Result<EnvelopeHeader> {
    let (provider, key_uri, key_version) = (
        p.string("provider name")?,
        p.string("key URI")?,
        p.string("key version")?,
    );
    let context = parse_context(p)?;
    let wrapped_key = p.wrapped()?;
    let (algorithm, chunk_size, message_id) = parse_trailer(p)?;
    if provider.is_empty() || key_uri.is_empty() || wrapped_key.is_empty() {
        return Err(not_envelope("empty provider, key URI or wrapped key"));
    }
    Ok(EnvelopeHeader {
        format: FORMAT_V1,
        provider,
        key_uri,
        key_version,
        context,
        wrapped_key,
        extra_recipients: Vec::new(),
        algorithm,
        chunk_size,
        message_id,
        commitment: [0u8; 32],
        padding: 0,
    })
}

fn parse_v2<R: Read>(p: &mut Parser<'_, R>, total: usize) -> Result<EnvelopeHeader> {
    let context = parse_context(p)?;
    let (algorithm, chunk_size, message_id) = parse_trailer(p)?;
    let mut commitment = [0u8; 32];
    p.exact(&mut commitment)?;
    let count = usize::from(p.u16()?);
    if count == 0 || count > MAX_RECIPIENTS {
        return Err(not_envelope("recipient count out of bounds"));
    }
    let mut recipients = Vec::with_capacity(count);
    for _ in 0..count {
        let provider = p.string("provider name")?;
        let key_uri = p.string("key URI")?;
        let key_version = p.string("key version")?;
        let wrapped_key = p.wrapped()?;
        recipients.push(Recipient {
            provider,
            key_uri,
            key_version,
            wrapped_key,
        });
    }
    check_recipients(&recipients).map_err(|e| match e {
        Error::InvalidArgument(m) => Error::invalid(format!("not a keygate envelope: {m}")),
        other => other,
    })?;
    let padding = u32::try_from(total.saturating_sub(p.read))
        .map_err(|_| not_envelope("header length out of bounds"))?;
    let mut it = recipients.into_iter();
    let first = it
        .next()
        .ok_or_else(|| not_envelope("recipient count out of bounds"))?;
    Ok(EnvelopeHeader {
        format: FORMAT_VERSION,
        provider: first.provider,
        key_uri: first.key_uri,
        key_version: first.key_version,
        context,
        wrapped_key: first.wrapped_key,
        extra_recipients: it.collect(),
        algorithm,
        chunk_size,
        message_id,
        commitment,
        padding,
    })
}

fn parse_context<R: Read>(p: &mut Parser<'_, R>) -> Result<EncryptionContext> {
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
    Ok(context)
}

fn parse_trailer<R: Read>(p: &mut Parser<'_, R>) -> Result<(EnvelopeAlgorithm, u32, [u8; 32])> {
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
    Ok((algorithm, chunk_size, message_id))
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

    fn wrapped(&mut self) -> Result<Vec<u8>> {
        let len = usize::try_from(self.u32()?)
            .ok()
            .filter(|n| *n <= MAX_WRAPPED_KEY_LEN)
            .ok_or_else(|| not_envelope("wrapped key too long"))?;
        self.bytes(len)
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let len = self.u16()?;
        let bytes = self.bytes(usize::from(len))?;
        String::from_utf8(bytes).map_err(|_| not_envelope(&format!("{what} is not UTF-8")))
    }
}
