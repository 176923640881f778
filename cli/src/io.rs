//! Inputs and outputs of the CLI: whole reads for small inputs, streams for envelopes, and
//! output files that only appear under their name once complete.

use std::fs::{self, File, OpenOptions};
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};

mod atomic;
pub mod journal;
pub use atomic::AtomicFile;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use zeroize::Zeroizing;

/// The buffer size of streamed copies: large enough that the per-call overhead vanishes,
/// small enough that memory does not depend on the input size.
pub const COPY_BUFFER: usize = 256 * 1024;

/// `None` and `-` mean stdin/stdout.
fn is_stdio(path: Option<&Path>) -> bool {
    path.is_none_or(|p| p == Path::new("-"))
}

/// Reads a whole input: a file, or stdin when `path` is `None` or `-`.
pub fn read_input(path: Option<&Path>) -> Result<Vec<u8>> {
    match path {
        Some(p) if !is_stdio(Some(p)) => {
            fs::read(p).with_context(|| format!("cannot read {}", p.display()))
        }
        _ => {
            let mut buf = Vec::new();
            io::stdin()
                .lock()
                .read_to_end(&mut buf)
                .context("cannot read stdin")?;
            Ok(buf)
        }
    }
}

/// Writes a whole output: a file (see [`AtomicFile`]), or stdout. Binary output is refused
/// on a terminal unless `text` says it is printable.
pub fn write_output(path: Option<&Path>, bytes: &[u8], text: bool) -> Result<()> {
    let mut sink = Sink::create(path, text)?;
    sink.write_all(bytes).context("cannot write the output")?;
    sink.finish()
}

/// An input stream and, when it is a regular file, its size (for the progress bar).
pub struct Input {
    /// The bytes.
    pub reader: Box<dyn Read + Send>,
    /// The size, when known up front.
    pub len: Option<u64>,
}

impl Input {
    /// Opens a file, or stdin for `None` / `-`.
    pub fn open(path: Option<&Path>) -> Result<Self> {
        match path {
            Some(p) if !is_stdio(Some(p)) => {
                let file = File::open(p).with_context(|| format!("cannot read {}", p.display()))?;
                let meta = file
                    .metadata()
                    .with_context(|| format!("cannot read {}", p.display()))?;
                if meta.is_dir() {
                    bail!("cannot read {}: it is a directory", p.display());
                }
                let len = meta.is_file().then_some(meta.len());
                Ok(Self {
                    reader: Box::new(file),
                    len,
                })
            }
            _ => Ok(Self {
                reader: Box::new(io::stdin()),
                len: None,
            }),
        }
    }
}

/// Where output goes: a file that only gets its name when complete, something that is not a
/// file (a FIFO, a device, `/dev/stdout`) written as it comes, or stdout.
#[derive(Debug)]
pub enum Sink {
    /// `-o FILE`: absent or a regular file (through any symlinks).
    File(AtomicFile),
    /// `-o PATH` naming a FIFO, a device or a descriptor (`/dev/stdout`, `/proc/self/fd/N`):
    /// opened and written in place, never replaced.
    Direct(File),
    /// stdout.
    Stdout(io::Stdout),
}

/// What `-o PATH` is, once symlinks are followed.
#[derive(Debug, PartialEq, Eq)]
enum Destination {
    /// Absent or a regular file, at this path (the last link's target): written under a
    /// temporary name and renamed over it, so the link itself stays a link.
    Replace(PathBuf),
    /// Not a regular file (FIFO, device, socket), or a descriptor behind `/proc` or
    /// `/dev/fd`: written into, never replaced.
    Direct,
}

/// Links followed before giving up (as the kernel's `ELOOP` limit).
const MAX_LINKS: usize = 40;

/// Where `-o path` must go. A symlink is written through to its target, whose own rules then
/// apply; a link into `/proc` or `/dev/fd` (`/dev/stdout` is one) is a descriptor the
/// caller holds, so it is written into even when it is a regular file: renaming over that
/// file would leave the descriptor on an unlinked inode.
fn destination(path: &Path) -> Result<Destination> {
    let mut current = path.to_owned();
    for _ in 0..MAX_LINKS {
        let meta = match fs::symlink_metadata(&current) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Destination::Replace(current));
            }
            Err(e) => return Err(anyhow!(e).context(format!("cannot write {}", path.display()))),
        };
        let kind = meta.file_type();
        if kind.is_symlink() {
            let target = fs::read_link(&current)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let next = match current.parent() {
                Some(dir) if target.is_relative() => dir.join(&target),
                _ => target,
            };
            if next.starts_with("/proc") || next.starts_with("/dev/fd") {
                return Ok(Destination::Direct);
            }
            current = next;
            continue;
        }
        if kind.is_dir() {
            bail!("cannot write {}: it is a directory", path.display());
        }
        if kind.is_file() {
            return Ok(Destination::Replace(current));
        }
        return Ok(Destination::Direct);
    }
    bail!(
        "cannot write {}: too many levels of symbolic links",
        path.display()
    )
}

impl Sink {
    /// `path` (`None` or `-`: stdout). Binary output (`text == false`) is refused on a
    /// terminal: it would garble it and nobody can read it back from there.
    pub fn create(path: Option<&Path>, text: bool) -> Result<Self> {
        match path {
            Some(p) if !is_stdio(Some(p)) => match destination(p)? {
                Destination::Replace(target) => Ok(Self::File(AtomicFile::create(&target)?)),
                Destination::Direct => {
                    // Appending: a descriptor's file is never cut, a FIFO or device ignores it.
                    let file = OpenOptions::new()
                        .append(true)
                        .open(p)
                        .with_context(|| format!("cannot write {}", p.display()))?;
                    if !text && file.is_terminal() {
                        bail!(
                            "refusing to write binary output to a terminal; use -o FILE or a pipe"
                        );
                    }
                    Ok(Self::Direct(file))
                }
            },
            _ => {
                let stdout = io::stdout();
                if !text && stdout.is_terminal() {
                    bail!("refusing to write binary output to a terminal; use -o FILE or a pipe");
                }
                Ok(Self::Stdout(stdout))
            }
        }
    }

    /// Completes the output: renames the file into place, or flushes stdout.
    pub fn finish(self) -> Result<()> {
        match self {
            Self::File(f) => f.commit(),
            Self::Direct(mut f) => f.flush().context("cannot write the output"),
            Self::Stdout(mut s) => s.flush().context("cannot write to stdout"),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::File(f) => f.write(buf),
            Self::Direct(f) => f.write(buf),
            Self::Stdout(s) => s.write(buf),
        }
    }

    /// One system call for a whole batch of chunks (the envelope writer hands over a
    /// batch's ciphertexts and tags, or plaintexts, as separate slices).
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Self::File(f) => f.write_vectored(bufs),
            Self::Direct(f) => f.write_vectored(bufs),
            Self::Stdout(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::File(f) => f.flush(),
            Self::Direct(f) => f.flush(),
            Self::Stdout(s) => s.flush(),
        }
    }
}

/// Which side of a copy failed: the caller maps each to its own message.
#[derive(Debug)]
pub enum CopyError {
    /// Reading the input (for an [`OpeningReader`](keygate_core::envelope::OpeningReader):
    /// an envelope that does not authenticate).
    Read(io::Error),
    /// Writing the output (or sealing it).
    Write(io::Error),
}

/// Copies `reader` to `writer` through one zeroized buffer of [`COPY_BUFFER`] bytes.
pub fn copy(reader: &mut dyn Read, writer: &mut dyn Write) -> Result<u64, CopyError> {
    let mut buf = Zeroizing::new(vec![0u8; COPY_BUFFER]);
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        writer.write_all(&buf[..n]).map_err(CopyError::Write)?;
        total += n as u64;
    }
}

/// A progress bar on stderr for `len` bytes, shown only when stderr is a terminal and the
/// size is known; hidden (a no-op) otherwise, so pipes and logs stay clean.
pub fn progress(len: Option<u64>) -> ProgressBar {
    match len {
        Some(len) if io::stderr().is_terminal() => {
            let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:40.cyan/blue} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        }
        _ => ProgressBar::hidden(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_uncommitted_file_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.bin");
        let mut f = AtomicFile::create(&dest).unwrap();
        f.write_all(b"partial").unwrap();
        drop(f);
        assert!(!dest.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_committed_file_replaces_the_old_one_privately() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.bin");
        fs::write(&dest, b"old contents").unwrap();
        let mut f = AtomicFile::create(&dest).unwrap();
        f.write_all(b"new").unwrap();
        // Until the commit, the old file is untouched.
        assert_eq!(fs::read(&dest).unwrap(), b"old contents");
        f.commit().unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&dest).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_to_what_they_name() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let file = d.join("file");
        fs::write(&file, b"x").unwrap();
        assert_eq!(
            destination(&d.join("absent")).unwrap(),
            Destination::Replace(d.join("absent"))
        );
        assert_eq!(
            destination(&file).unwrap(),
            Destination::Replace(file.clone())
        );
        // A chain of links, one relative, ends at the file; a dangling one at its target.
        symlink("file", d.join("rel")).unwrap();
        symlink(d.join("rel"), d.join("abs")).unwrap();
        assert_eq!(
            destination(&d.join("abs")).unwrap(),
            Destination::Replace(d.join("file"))
        );
        symlink("missing", d.join("dangling")).unwrap();
        assert_eq!(
            destination(&d.join("dangling")).unwrap(),
            Destination::Replace(d.join("missing"))
        );
        // Descriptors and devices are written into.
        assert_eq!(
            destination(Path::new("/dev/null")).unwrap(),
            Destination::Direct
        );
        assert_eq!(
            destination(Path::new("/dev/stdout")).unwrap(),
            Destination::Direct
        );
        symlink("/proc/self/fd/1", d.join("fd")).unwrap();
        assert_eq!(destination(&d.join("fd")).unwrap(), Destination::Direct);
        // A directory is refused, a loop is an error, not a hang.
        assert!(destination(d).is_err());
        symlink("loop2", d.join("loop1")).unwrap();
        symlink("loop1", d.join("loop2")).unwrap();
        let err = destination(&d.join("loop1")).unwrap_err().to_string();
        assert!(err.contains("symbolic links"), "{err}");
    }

    #[test]
    fn copy_reports_which_side_failed() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let mut out = Vec::new();
        assert!(matches!(
            copy(&mut Broken, &mut out),
            Err(CopyError::Read(_))
        ));
        let data = vec![7u8; COPY_BUFFER * 2 + 3];
        let n = copy(&mut data.as_slice(), &mut out).unwrap();
        assert_eq!(n, data.len() as u64);
        assert_eq!(out, data);
    }
}
