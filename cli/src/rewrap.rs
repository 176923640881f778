//! `keygate envelope inspect | rewrap`: an envelope's header shown without any key, and its
//! keys changed without re-encrypting its body.
//!
//! A re-wrap asks the gateway for a new header ([`Gateway::rewrap_envelope`]: one unwrap,
//! one wrap per added key) and puts it in front of the unchanged body. A format 2 header
//! reserves zero padding, so a new header usually has the old one's exact length: then,
//! when the output is the input, only the header bytes are overwritten and the body is
//! neither read nor copied. Otherwise the header and the body's bytes go to a new file that
//! takes its name only once complete (the `-o` rules of `io::atomic`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use keygate_core::api::Gateway;
use keygate_core::envelope::{EnvelopeHeader, TAG_LEN, is_envelope};
use keygate_core::{EncryptionContext, KeyLocator};
use serde_json::json;

use super::Outcome;
use super::args::{InspectArgs, OutputFormat, RewrapArgs};
use super::io::journal::Journal;
use super::io::{AtomicFile, COPY_BUFFER, Input};
use super::output;

/// The default journal of `rewrap --dir DIR`, inside DIR (and never re-wrapped itself).
const JOURNAL_NAME: &str = ".keygate-rewrap.journal";

/// Runs `f` on the blocking pool and flattens its result.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .context("the I/O task failed")?
}

/// `keygate envelope inspect FILE`.
pub fn inspect(args: &InspectArgs, out: &mut dyn Write) -> Result<Outcome> {
    let input = Input::open(Some(&args.file))?;
    let total = input.len;
    let mut reader = BufReader::with_capacity(COPY_BUFFER, input.reader);
    let header = EnvelopeHeader::read_from(&mut reader)?;
    let header_len = header.encode()?.len() as u64;
    let payload = match total {
        Some(total) => total.checked_sub(header_len),
        // stdin: count what follows the header.
        None => Some(io::copy(&mut reader, &mut io::sink()).context("cannot read the input")?),
    };
    let plaintext = payload.and_then(|p| plaintext_len(p, header.chunk_size));
    let keys: Vec<_> = header
        .recipients()
        .into_iter()
        .map(|r| {
            json!({
                "provider": r.provider, "key_uri": r.key_uri, "key_version": r.key_version,
                "wrapped_key_bytes": r.wrapped_key.len(),
            })
        })
        .collect();
    let view = json!({
        "format": header.format,
        "algorithm": header.algorithm.name(),
        "chunk_size": header.chunk_size,
        "context": header.context,
        "message_id": header.message_id.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        "keys": keys,
        "header_bytes": header_len,
        "reserved_bytes": header.padding,
        "payload_bytes": payload,
        "plaintext_bytes": plaintext,
    });
    if args.output.output == OutputFormat::Json {
        output::json(out, &view)?;
        return Ok(Outcome::Success);
    }
    let context = if header.context.0.is_empty() {
        "(none)".to_owned()
    } else {
        header
            .context
            .0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let size = |n: Option<u64>| n.map_or_else(|| "unknown".to_owned(), |n| n.to_string());
    writeln!(
        out,
        "format:     keygate envelope, version {}",
        header.format
    )?;
    writeln!(out, "algorithm:  {}", header.algorithm.name())?;
    writeln!(out, "chunk size: {} bytes", header.chunk_size)?;
    writeln!(out, "context:    {context}")?;
    writeln!(
        out,
        "header:     {header_len} bytes ({} reserved for more keys)",
        header.padding
    )?;
    writeln!(out, "payload:    {} bytes", size(payload))?;
    writeln!(out, "plaintext:  {} bytes", size(plaintext))?;
    writeln!(out)?;
    let rows: Vec<Vec<String>> = header
        .recipients()
        .into_iter()
        .map(|r| {
            vec![
                r.provider,
                r.key_uri,
                r.key_version,
                r.wrapped_key.len().to_string(),
            ]
        })
        .collect();
    output::table(out, &["PROVIDER", "KEY", "VERSION", "WRAPPED"], &rows)?;
    Ok(Outcome::Success)
}

/// The plaintext length of a payload of `payload` bytes in chunks of `chunk` bytes (each
/// sealed chunk adds a tag; the last may be short), or `None` if no payload has that size.
fn plaintext_len(payload: u64, chunk: u32) -> Option<u64> {
    let sealed = u64::from(chunk) + TAG_LEN as u64;
    let (full, rest) = (payload / sealed, payload % sealed);
    match rest {
        0 if full > 0 => Some(payload - full * TAG_LEN as u64),
        r if r >= TAG_LEN as u64 => Some(payload - (full + 1) * TAG_LEN as u64),
        _ => None,
    }
}

/// `keygate envelope rewrap`.
pub async fn rewrap(api: &dyn Gateway, args: RewrapArgs) -> Result<Outcome> {
    if args.add.is_empty() && args.remove.is_empty() {
        bail!(keygate_core::Error::invalid(
            "name a key to add (--add-key) or remove (--remove-key)"
        ));
    }
    let context = EncryptionContext::from_pairs(&args.context)?;
    let mut job = Job {
        api,
        add: args.add,
        remove: args.remove,
        context,
        target: None,
    };
    match (args.dir, args.input, args.output) {
        (Some(dir), _, _) => job.directory(&dir, args.journal).await,
        (None, Some(input), Some(output)) => job.single(&input, &output).await,
        _ => bail!(keygate_core::Error::invalid(
            "name the envelope: -i IN -o OUT, or --dir DIR"
        )),
    }
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Done {
    /// Its header was overwritten where it was.
    InPlace,
    /// A new file was written (header, then the body's bytes).
    Copied,
    /// It is not a keygate envelope.
    NotEnvelope,
    /// It already carries the added keys and none of the removed ones.
    AlreadyRewrapped,
}

/// One re-wrap operation: the keys to add and remove, and the gateway that does it.
struct Job<'a> {
    api: &'a dyn Gateway,
    add: Vec<KeyLocator>,
    remove: Vec<KeyLocator>,
    context: EncryptionContext,
    /// For `--dir`: the URIs to add and to remove, resolved once, to recognize a file a
    /// killed run finished without recording it.
    target: Option<(Vec<String>, Vec<String>)>,
}

impl Job<'_> {
    /// `-i IN -o OUT`. In place, the header write is announced first in a journal next to
    /// the file (`.NAME.keygate-rewrap`), removed once the write is durable; a run that finds
    /// one completes the interrupted write and stops there.
    async fn single(&self, input: &Path, output: &Path) -> Result<Outcome> {
        let name = input
            .file_name()
            .ok_or_else(|| anyhow!("{} names no file", input.display()))?;
        let sidecar = input.with_file_name(format!(".{}.keygate-rewrap", name.to_string_lossy()));
        let in_place = same_file(input, output);
        if in_place && sidecar.exists() {
            let mut journal = Journal::open(&sidecar, &self.describe())?;
            for (path, header) in journal.pending() {
                blocking(move || write_header_at_start(&path, &header)).await?;
            }
            journal.done(input)?;
            drop(journal);
            fs::remove_file(&sidecar)
                .with_context(|| format!("cannot remove {}", sidecar.display()))?;
            eprintln!(
                "{}: completed the re-wrap an earlier run began",
                input.display()
            );
            return Ok(Outcome::Success);
        }
        let mut journal = if in_place {
            Some(Journal::open(&sidecar, &self.describe())?)
        } else {
            None
        };
        let done = self.file(input, output, journal.as_mut()).await?;
        if let Some(journal) = journal {
            drop(journal);
            fs::remove_file(&sidecar)
                .with_context(|| format!("cannot remove {}", sidecar.display()))?;
        }
        if done == Done::NotEnvelope {
            bail!(keygate_core::Error::invalid(format!(
                "{} is not a keygate envelope",
                input.display()
            )));
        }
        Ok(Outcome::Success)
    }

    /// The operation as the journal records it (the keys as typed).
    fn describe(&self) -> String {
        let add: Vec<String> = self.add.iter().map(ToString::to_string).collect();
        let remove: Vec<String> = self.remove.iter().map(ToString::to_string).collect();
        format!("add {} remove {}", add.join(","), remove.join(","))
    }

    /// The key URIs of `keys` (names and aliases resolved once per run).
    async fn uris(&self, keys: &[KeyLocator]) -> Result<Vec<String>> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(match key {
                KeyLocator::Uri(uri) => uri.clone(),
                other => self.api.describe_key(other).await?.uri,
            });
        }
        Ok(out)
    }

    /// Re-wraps `input` into `output` (the same path: in place when the header fits).
    /// `journal` (bulk runs) records an in-place header write before it happens.
    async fn file(
        &self,
        input: &Path,
        output: &Path,
        journal: Option<&mut Journal>,
    ) -> Result<Done> {
        let Some((header, header_len)) = read_header(input)? else {
            return Ok(Done::NotEnvelope);
        };
        if self.satisfied(&header) {
            return Ok(Done::AlreadyRewrapped);
        }
        let rewrapped = self
            .api
            .rewrap_envelope(&header, &self.add, &self.remove, &self.context)
            .await
            .with_context(|| format!("re-wrapping {}", input.display()))?;
        let bytes = rewrapped.encode()?;
        let in_place = same_file(input, output) && bytes.len() == header_len;
        if in_place {
            if let Some(journal) = journal {
                journal.begin(input, &bytes)?;
            }
            let path = input.to_owned();
            blocking(move || write_header_at_start(&path, &bytes)).await?;
            return Ok(Done::InPlace);
        }
        let (input, output) = (input.to_owned(), output.to_owned());
        blocking(move || copy_with_header(&input, &output, &bytes, header_len)).await?;
        Ok(Done::Copied)
    }

    /// Whether `header` already has every added key and none of the removed ones (a file a
    /// killed run finished but did not record).
    fn satisfied(&self, header: &EnvelopeHeader) -> bool {
        self.target.as_ref().is_some_and(|(add, remove)| {
            add.iter().all(|u| header.recipient(u).is_some())
                && remove.iter().all(|u| header.recipient(u).is_none())
        })
    }

    /// `--dir`: every envelope under `dir`, in path order, with a progress bar and the
    /// journal.
    async fn directory(&mut self, dir: &Path, journal: Option<PathBuf>) -> Result<Outcome> {
        self.target = Some((self.uris(&self.add).await?, self.uris(&self.remove).await?));
        let journal_path = journal.unwrap_or_else(|| dir.join(JOURNAL_NAME));
        let mut journal = Journal::open(&journal_path, &self.describe())?;
        // First complete the header writes a killed run began: the same bytes again.
        for (path, header) in journal.pending() {
            blocking({
                let path = path.clone();
                move || write_header_at_start(&path, &header)
            })
            .await?;
            journal.done(&path)?;
        }
        let mut files = Vec::new();
        walk(dir, &mut files)?;
        files.retain(|p| !same_file(p, journal.path()) && !is_temporary(p));
        files.sort();
        let bar = count_bar(files.len() as u64);
        let (mut in_place, mut copied, mut skipped, mut before) = (0, 0, 0, 0);
        for path in &files {
            bar.set_message(path.display().to_string());
            if journal.is_done(path) {
                before += 1;
            } else {
                match self.file(path, path, Some(&mut journal)).await? {
                    Done::InPlace => in_place += 1,
                    Done::Copied => copied += 1,
                    Done::NotEnvelope => skipped += 1,
                    Done::AlreadyRewrapped => before += 1,
                }
                journal.done(path)?;
            }
            bar.inc(1);
        }
        bar.finish_and_clear();
        eprintln!(
            "re-wrapped {} envelopes ({in_place} headers rewritten in place, {copied} copied); \
             {before} done before; {skipped} files are not envelopes; journal: {}",
            in_place + copied,
            journal.path().display()
        );
        Ok(Outcome::Success)
    }
}

/// The header of `path` and its length, or `None` when the file is not a keygate envelope.
fn read_header(path: &Path) -> Result<Option<(EnvelopeHeader, usize)>> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut reader = BufReader::new(file);
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < magic.len() {
        match reader.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(anyhow!(e).context(format!("cannot read {}", path.display()))),
        }
    }
    if !is_envelope(&magic[..got]) {
        return Ok(None);
    }
    let mut whole = io::Cursor::new(magic).chain(reader);
    let header = EnvelopeHeader::read_from(&mut whole)
        .with_context(|| format!("reading the header of {}", path.display()))?;
    let len = header.encode()?.len();
    Ok(Some((header, len)))
}

/// Overwrites the first bytes of `path` with `header` (of the old header's length) and
/// makes it durable. The body is not read.
fn write_header_at_start(path: &Path, header: &[u8]) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(header)
        .and_then(|()| file.sync_data())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Writes `header` then the bytes of `input` after its first `old_len` bytes into `output`,
/// which takes its name only once complete.
fn copy_with_header(input: &Path, output: &Path, header: &[u8], old_len: usize) -> Result<()> {
    let mut source =
        File::open(input).with_context(|| format!("cannot read {}", input.display()))?;
    io::copy(&mut (&mut source).take(old_len as u64), &mut io::sink())
        .with_context(|| format!("cannot read {}", input.display()))?;
    let mut out = AtomicFile::create(output)?;
    out.write_all(header)
        .with_context(|| format!("cannot write {}", output.display()))?;
    let mut reader = BufReader::with_capacity(COPY_BUFFER, source);
    io::copy(&mut reader, &mut out).with_context(|| format!("cannot copy {}", input.display()))?;
    out.commit()
}

/// Whether two paths name the same file (both exist and share device and inode), or the
/// same path when `b` does not exist yet.
fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// keygate's own temporary files (`.name.keygate-tmp-…`), never re-wrapped.
fn is_temporary(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.contains(".keygate-tmp-"))
}

/// Every regular file under `dir` (symbolic links are not followed).
fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let entries = fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let kind = entry
            .file_type()
            .with_context(|| format!("cannot list {}", dir.display()))?;
        if kind.is_dir() {
            walk(&entry.path(), files)?;
        } else if kind.is_file() {
            files.push(entry.path());
        }
    }
    Ok(())
}

/// A files-done progress bar on stderr, shown only when stderr is a terminal.
fn count_bar(len: u64) -> ProgressBar {
    use std::io::IsTerminal as _;
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:40.cyan/blue} {pos}/{len} files {msg}") {
        bar.set_style(style);
    }
    bar
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use keygate_core::envelope::{self, EnvelopeHeader};

    #[test]
    fn plaintext_length_follows_from_the_payload_size() {
        let data_key = [7u8; 32];
        for len in [0usize, 1, 1023, 1024, 1025, 4096, 5000] {
            let h = EnvelopeHeader::new("p", "u://k", "1", EncryptionContext::new(), vec![1])
                .with_chunk_size(1024)
                .unwrap();
            let sealed = envelope::seal(&h, &data_key, &vec![0u8; len]).unwrap();
            let payload = (sealed.len() - h.encode().unwrap().len()) as u64;
            assert_eq!(plaintext_len(payload, 1024), Some(len as u64), "{len}");
        }
        assert_eq!(plaintext_len(5, 1024), None);
        assert_eq!(plaintext_len(0, 1024), None);
    }
}
