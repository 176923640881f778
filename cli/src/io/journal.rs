//! The journal of a bulk re-wrap: which files are done, and the header a file was about to
//! get when the run stopped, so that a re-run after a crash (even `kill -9`) skips finished
//! files and completes an interrupted in-place header write.
//!
//! One line per record, each made durable (`fsync`) before the step it announces:
//!
//! ```text
//! keygate-rewrap 1 <operation, hex>
//! pending <path, hex> <new header, hex>
//! done <path, hex>
//! ```
//!
//! A `pending` line is written before a header is overwritten in place; writing the same
//! header again is harmless, so a `pending` without its `done` is simply redone. A last line
//! cut short by a crash (no newline) is ignored: what it announced had not started.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

/// The first line's tag and version.
const MAGIC: &str = "keygate-rewrap 1";

/// An open journal, appended to as a run goes.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
    done: HashSet<PathBuf>,
    pending: HashMap<PathBuf, Vec<u8>>,
}

impl Journal {
    /// Opens the journal at `path` for the re-wrap `operation` (a description of the keys
    /// added and removed), creating it if absent.
    ///
    /// # Errors
    /// When it cannot be read or written, or belongs to another operation (re-running with
    /// other keys would mix two re-wraps in one journal).
    pub fn open(path: &Path, operation: &str) -> Result<Self> {
        let mut text = String::new();
        if let Ok(mut f) = File::open(path) {
            f.read_to_string(&mut text)
                .with_context(|| format!("cannot read the journal {}", path.display()))?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot write the journal {}", path.display()))?;
        let op = hex(operation.as_bytes());
        let mut done = HashSet::new();
        let mut pending = HashMap::new();
        // Only whole lines count: a cut last line announced a step that never began. It is
        // cut off, so that the next line starts on a line of its own.
        let keep = text.rfind('\n').map_or(0, |end| end + 1);
        if keep < text.len() {
            file.set_len(keep as u64)
                .with_context(|| format!("cannot write the journal {}", path.display()))?;
        }
        let mut lines = text[..keep].lines();
        match lines.next() {
            None => {
                file.write_all(format!("{MAGIC} {op}\n").as_bytes())
                    .and_then(|()| file.sync_data())
                    .with_context(|| format!("cannot write the journal {}", path.display()))?;
            }
            Some(first) if first == format!("{MAGIC} {op}") => {}
            Some(_) => bail!(
                "the journal {} belongs to another re-wrap (other keys); finish that one, or \
                 remove the journal or pass --journal to start this one",
                path.display()
            ),
        }
        for line in lines {
            let mut parts = line.split(' ');
            match (parts.next(), parts.next().and_then(unhex), parts.next()) {
                (Some("done"), Some(p), None) => {
                    let p = path_from(p);
                    pending.remove(&p);
                    done.insert(p);
                }
                (Some("pending"), Some(p), Some(h)) => {
                    if let Some(h) = unhex(h) {
                        pending.insert(path_from(p), h);
                    }
                }
                _ => bail!("the journal {} has a malformed line", path.display()),
            }
        }
        Ok(Self {
            file,
            path: path.to_owned(),
            done,
            pending,
        })
    }

    /// Whether `path` was finished by an earlier run.
    pub fn is_done(&self, path: &Path) -> bool {
        self.done.contains(path)
    }

    /// The header writes an earlier run began and did not confirm: redo each, then
    /// [`Journal::done`].
    pub fn pending(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut all: Vec<_> = self
            .pending
            .iter()
            .map(|(p, h)| (p.clone(), h.clone()))
            .collect();
        all.sort();
        all
    }

    /// Records, durably, that `header` is about to overwrite `path`'s header in place.
    ///
    /// # Errors
    /// When the journal cannot be written: the header must not be written then.
    pub fn begin(&mut self, path: &Path, header: &[u8]) -> Result<()> {
        self.append(&format!(
            "pending {} {}\n",
            hex(path_bytes(path)),
            hex(header)
        ))
    }

    /// Records, durably, that `path` is finished.
    ///
    /// # Errors
    /// When the journal cannot be written.
    pub fn done(&mut self, path: &Path) -> Result<()> {
        self.append(&format!("done {}\n", hex(path_bytes(path))))?;
        self.pending.remove(path);
        self.done.insert(path.to_owned());
        Ok(())
    }

    /// Where the journal is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn append(&mut self, line: &str) -> Result<()> {
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .with_context(|| format!("cannot write the journal {}", self.path.display()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> &[u8] {
    use std::os::unix::ffi::OsStrExt as _;
    path.as_os_str().as_bytes()
}

#[cfg(unix)]
fn path_from(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt as _;
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

#[cfg(not(unix))]
fn path_bytes(path: &Path) -> &[u8] {
    path.to_str().map(str::as_bytes).unwrap_or_default()
}

#[cfg(not(unix))]
fn path_from(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_reopened_journal_knows_done_and_pending_files_and_ignores_a_cut_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (a, b, c) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("c"),
        );
        {
            let mut j = Journal::open(&path, "add k").unwrap();
            j.begin(&a, b"HDR-A").unwrap();
            j.done(&a).unwrap();
            j.begin(&b, b"HDR-B").unwrap();
        }
        // A crash in the middle of appending the next line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"pending 63 4").unwrap();
        let j = Journal::open(&path, "add k").unwrap();
        assert!(j.is_done(&a));
        assert!(!j.is_done(&b) && !j.is_done(&c));
        assert_eq!(j.pending(), vec![(b.clone(), b"HDR-B".to_vec())]);
        drop(j);
        let mut j = Journal::open(&path, "add k").unwrap();
        j.done(&b).unwrap();
        assert!(Journal::open(&path, "add k").unwrap().is_done(&b));
        let err = Journal::open(&path, "add other").unwrap_err().to_string();
        assert!(err.contains("another re-wrap"), "{err}");
    }
}
