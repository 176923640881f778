//! `keygate encrypt | decrypt`: envelopes streamed in constant memory.
//!
//! The gateway only ever sees the data key: it issues one with its header
//! ([`Gateway::begin_envelope`]) or unwraps the one in a header
//! ([`Gateway::open_envelope`]); the CLI seals or opens the payload itself, in batches of
//! chunks on every core ([`seal_stream`], [`open_stream`]), so a file of any size costs a few
//! MiB of memory and one gateway call. The blocking file I/O runs on tokio's blocking pool.

use std::io::{self, BufReader, Cursor, Read};

use anyhow::{Context as _, Result, anyhow, bail};
use indicatif::ProgressBar;
use keygate_core::api::Gateway;
use keygate_core::envelope::{
    EnvelopeHeader, OpeningReader, Recipient, StreamError, default_workers, from_io_error,
    is_envelope, open_stream, seal_stream,
};
use keygate_core::esdk::{ParsedHeader, is_message};
use keygate_core::{EncryptionContext, Error, KeyLocator};

use super::Outcome;
use super::args::{DecryptArgs, EncryptArgs};
use super::esdk::{self, Format};
use super::io::{COPY_BUFFER, CopyError, Input, Sink, copy, progress};

/// The largest provider-native ciphertext `decrypt --key` reads (providers encrypt at most a
/// few KiB directly; 1 MiB leaves ample room).
const NATIVE_MAX: u64 = 1024 * 1024;

/// Runs `f` on the blocking pool and flattens its result.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .context("the I/O task failed")?
}

pub async fn encrypt(api: &dyn Gateway, args: EncryptArgs) -> Result<Outcome> {
    let context = EncryptionContext::from_pairs(&args.context)?;
    args.format.check()?;
    if args.format.format == Format::Esdk {
        let input = Input::open(args.io.input.as_deref())?;
        let sink = Sink::create(args.io.output.as_deref(), false)?;
        let bar = progress(input.len);
        esdk::encrypt(api, &args.key, context, &args.format, input, sink, bar).await?;
        return Ok(Outcome::Success);
    }
    // Open both ends first: a wrong path should not cost a data key.
    let input = Input::open(args.io.input.as_deref())?;
    let sink = Sink::create(args.io.output.as_deref(), false)?;
    let sealing = api.begin_envelope_for_keys(&args.key, &context).await?;
    let bar = progress(input.len);
    blocking(move || {
        let reader = bar.wrap_read(input.reader);
        let (sink, _) = seal_stream(
            &sealing.header,
            &sealing.data_key,
            reader,
            sink,
            default_workers(),
        )
        .map_err(|e| match e {
            StreamError::Read(e) => anyhow!(e).context("cannot read the input"),
            StreamError::Write(e) => anyhow!(from_io_error(e)).context("cannot write the envelope"),
            other => anyhow!(Error::from(other)),
        })?;
        sink.finish()?;
        bar.finish_and_clear();
        Ok(())
    })
    .await?;
    Ok(Outcome::Success)
}

/// The start of an input, once its first bytes have been looked at.
enum Sniffed {
    /// A keygate envelope: its header, and the reader positioned at the payload.
    Envelope(Box<EnvelopeHeader>, Box<dyn Read + Send>),
    /// An AWS Encryption SDK message: its header, and the reader positioned at the body.
    Esdk(Box<ParsedHeader>, Box<dyn Read + Send>),
    /// Anything else, whole (the sniffed bytes put back in front).
    Other(Box<dyn Read + Send>),
}

/// Reads just enough of `input` to tell an envelope from anything else, and for an envelope
/// its header.
fn sniff(input: Box<dyn Read + Send>) -> Result<Sniffed> {
    let mut input = BufReader::with_capacity(COPY_BUFFER, input);
    let mut prefix = [0u8; 4];
    let mut got = 0;
    while got < prefix.len() {
        match input.read(&mut prefix[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(anyhow!(e).context("cannot read the input")),
        }
    }
    let mut whole: Box<dyn Read + Send> =
        Box::new(Cursor::new(prefix[..got].to_vec()).chain(input));
    if is_message(&prefix[..got]) {
        let (header, body) = esdk::read_header(whole)?;
        return Ok(Sniffed::Esdk(Box::new(header), body));
    }
    if !is_envelope(&prefix[..got]) {
        return Ok(Sniffed::Other(whole));
    }
    let header = EnvelopeHeader::read_from(&mut whole)?;
    Ok(Sniffed::Envelope(Box::new(header), whole))
}

pub async fn decrypt(api: &dyn Gateway, args: DecryptArgs) -> Result<Outcome> {
    let context = EncryptionContext::from_pairs(&args.context)?;
    let input = Input::open(args.io.input.as_deref())?;
    let sink = Sink::create(args.io.output.as_deref(), true)?;
    let bar = progress(input.len);
    let regular_file = input.len.is_some();
    let reader: Box<dyn Read + Send> = Box::new(bar.wrap_read(input.reader));
    match blocking(move || sniff(reader)).await? {
        Sniffed::Envelope(header, payload) => {
            if let Some(key) = &args.key {
                let recipient = check_key(api, key, &header).await?;
                check_version(args.version.as_deref(), &recipient)?;
            }
            let data_key = api.open_envelope(&header, &context).await?;
            blocking(move || open_to(&header, &data_key, payload, sink, &bar, regular_file))
                .await?;
        }
        Sniffed::Esdk(parsed, body) => {
            esdk::check_context(&context, &parsed.header)?;
            let data_key = esdk::open_data_key(api, &parsed.header, args.key.as_ref()).await?;
            blocking(move || esdk::open_to(&parsed, &data_key, body, sink, &bar)).await?;
        }
        Sniffed::Other(whole) => {
            let Some(key) = &args.key else {
                return Err(anyhow!(Error::IntegrityFailure).context(
                    "not a keygate envelope nor an AWS Encryption SDK message (for a \
                     provider-native ciphertext, pass --key KEY)",
                ));
            };
            // Provider-native ciphertexts are single small messages, made before the
            // envelope format: they are decrypted whole, by the provider. Bounded, so that
            // a large file that is not an envelope cannot be read into memory.
            let ciphertext = blocking(move || {
                let mut buf = Vec::new();
                whole
                    .take(NATIVE_MAX + 1)
                    .read_to_end(&mut buf)
                    .context("cannot read the input")?;
                if buf.len() as u64 > NATIVE_MAX {
                    bail!(Error::invalid(format!(
                        "the input is not a keygate envelope, and larger than any \
                         provider-native ciphertext ({NATIVE_MAX} bytes)"
                    )));
                }
                Ok(buf)
            })
            .await?;
            let decrypted = api
                .decrypt_native(key, args.version.as_deref(), &ciphertext, &context)
                .await?;
            blocking(move || {
                let mut sink = sink;
                io::Write::write_all(&mut sink, &decrypted.plaintext)
                    .context("cannot write the output")?;
                sink.finish()?;
                bar.finish_and_clear();
                Ok(())
            })
            .await?;
        }
    }
    Ok(Outcome::Success)
}

/// Opens the payload into `sink`. The output file only takes its name once the final chunk
/// authenticated; a failure anywhere drops (deletes) it. A regular file is opened in batches
/// on every core; a pipe or FIFO one chunk at a time, so that its output follows its input
/// as it arrives (a batch would wait for a whole MiB of input first).
fn open_to(
    header: &EnvelopeHeader,
    data_key: &[u8],
    payload: Box<dyn Read + Send>,
    sink: Sink,
    bar: &ProgressBar,
    regular_file: bool,
) -> Result<()> {
    if !regular_file {
        let reader = OpeningReader::new(header, data_key, payload)?;
        return drain_to(reader, sink, bar);
    }
    let (sink, _) =
        open_stream(header, data_key, payload, sink, default_workers()).map_err(|e| match e {
            StreamError::Read(e) => anyhow!(from_io_error(e)),
            StreamError::Write(e) => anyhow!(e).context("cannot write the output"),
            // An integrity failure says nothing more.
            other => anyhow!(Error::from(other)),
        })?;
    sink.finish()?;
    bar.finish_and_clear();
    Ok(())
}

/// Copies an authenticating reader into `sink` and names the output only once the reader
/// reached its authenticated end: what opening an envelope and an ESDK message share.
pub(crate) fn drain_to(mut reader: impl Read, mut sink: Sink, bar: &ProgressBar) -> Result<()> {
    copy(&mut reader, &mut sink).map_err(|e| match e {
        // The reader carries keygate's error (an integrity failure says nothing more).
        CopyError::Read(e) => anyhow!(from_io_error(e)),
        CopyError::Write(e) => anyhow!(e).context("cannot write the output"),
    })?;
    sink.finish()?;
    bar.finish_and_clear();
    Ok(())
}

/// `decrypt --key K` on an envelope: refuse unless the envelope carries a copy under K. A URI is
/// compared as typed (no gateway call); a name or alias is resolved once and its URI
/// compared with the one the header names.
async fn check_key(
    api: &dyn Gateway,
    key: &KeyLocator,
    header: &EnvelopeHeader,
) -> Result<Recipient> {
    let wanted = match key {
        KeyLocator::Uri(uri) => uri.clone(),
        other => api.describe_key(other).await?.uri,
    };
    match header.recipient(&wanted) {
        Some(recipient) => Ok(recipient),
        None => {
            let uris: Vec<String> = header.recipients().into_iter().map(|r| r.key_uri).collect();
            bail!(Error::invalid(format!(
                "the envelope is sealed under {}, not {key} ({wanted})",
                uris.join(", ")
            )))
        }
    }
}

/// `decrypt --key KEY --key-version V` on an envelope: refuse unless its copy under KEY was
/// wrapped by version V (the header names the version; the gateway unwraps with that one).
fn check_version(wanted: Option<&str>, recipient: &Recipient) -> Result<()> {
    match wanted {
        Some(v) if v != recipient.key_version => bail!(Error::invalid(format!(
            "the envelope is sealed under version {} of {}, not version {v}",
            recipient.key_version, recipient.key_uri
        ))),
        _ => Ok(()),
    }
}
