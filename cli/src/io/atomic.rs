//! Output files that only appear under their name once complete, and leave no partial
//! plaintext behind even when keygate is killed while writing.
//!
//! On Linux the data goes into an unnamed file (`O_TMPFILE`) in the destination's directory:
//! it has no name until [`AtomicFile::commit`] links it in, so a `kill -9` leaves nothing on
//! disk. Where the file system has no unnamed files (or `/proc` is not mounted to link one
//! in), a named temporary file `.<name>.keygate-tmp-<pid>-<random>` is used; one left by a
//! killed run is removed by the next run that writes into the same directory, once its pid is
//! gone.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow};

/// The marker in every temporary file name keygate gives.
const TMP_MARK: &str = ".keygate-tmp-";

/// An output file (mode 0600: it may hold plaintext) that gets its final name only from
/// [`AtomicFile::commit`]. Dropped without a commit (a failed decryption, a truncated
/// envelope), it disappears, so partial plaintext never appears under the name the user
/// asked for.
#[derive(Debug)]
pub struct AtomicFile {
    file: Option<File>,
    /// The temporary name: the file's name until the commit (named), or the name it is
    /// linked under just before the rename (unnamed).
    tmp: PathBuf,
    /// True for an unnamed (`O_TMPFILE`) file: nothing to remove if it is dropped.
    unnamed: bool,
    dest: PathBuf,
}

/// `.<name>.keygate-tmp-<pid>-<random>` next to `dest`.
fn temp_name(dir: &Path, name: &std::ffi::OsStr) -> PathBuf {
    dir.join(format!(
        ".{}{TMP_MARK}{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    ))
}

/// The pid in a temporary name keygate gave, if `name` is one.
fn pid_of(name: &str) -> Option<u32> {
    let rest = &name[name.rfind(TMP_MARK)? + TMP_MARK.len()..];
    let (pid, random) = rest.split_once('-')?;
    (name.starts_with('.') && !random.is_empty() && random.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| pid.parse().ok())
        .flatten()
}

/// Whether process `pid` is alive (unknown counts as alive: nothing is removed then).
#[cfg(unix)]
fn alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return true;
    };
    !matches!(
        rustix::process::test_kill_process(pid),
        Err(e) if e == rustix::io::Errno::SRCH
    )
}

#[cfg(not(unix))]
fn alive(_pid: u32) -> bool {
    true
}

/// Removes the temporary files of killed keygate runs from `dir` (best effort).
pub fn remove_stale(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(pid_of) else {
            continue;
        };
        if pid != std::process::id() && !alive(pid) {
            let path = entry.path();
            match fs::remove_file(&path) {
                Ok(()) => {
                    tracing::info!(path = %path.display(), "removed a temporary file a killed run left")
                }
                Err(e) => {
                    tracing::debug!(path = %path.display(), error = %e, "cannot remove a stale temporary file")
                }
            }
        }
    }
}

/// An unnamed file in `dir`, when the system and file system make one that can be linked in.
#[cfg(target_os = "linux")]
fn unnamed_in(dir: &Path) -> Option<File> {
    use rustix::fs::{Mode, OFlags};
    if !Path::new("/proc/self/fd").is_dir() {
        return None;
    }
    rustix::fs::open(
        dir,
        OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .ok()
    .map(File::from)
}

#[cfg(not(target_os = "linux"))]
fn unnamed_in(_dir: &Path) -> Option<File> {
    None
}

/// Gives the unnamed `file` the name `path`.
#[cfg(target_os = "linux")]
fn link_in(file: &File, path: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd as _;
    // Linking the descriptor by its /proc path needs no privilege (AT_EMPTY_PATH would).
    let by_fd = format!("/proc/self/fd/{}", file.as_raw_fd());
    rustix::fs::linkat(
        rustix::fs::CWD,
        by_fd.as_str(),
        rustix::fs::CWD,
        path,
        rustix::fs::AtFlags::SYMLINK_FOLLOW,
    )
    .map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn link_in(_file: &File, _path: &Path) -> io::Result<()> {
    Err(io::Error::other("unnamed files are Linux only"))
}

impl AtomicFile {
    /// Creates the file that becomes `dest`, in `dest`'s directory (so the final rename stays
    /// on one file system and is atomic): unnamed where possible, else under a temporary
    /// name. Temporary files of killed runs in that directory are removed first.
    pub fn create(dest: &Path) -> Result<Self> {
        let dir = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        remove_stale(dir);
        match unnamed_in(dir) {
            Some(file) => Self::with(dest, file, true),
            None => Self::create_named(dest),
        }
    }

    /// Creates the file under a temporary name next to `dest`.
    pub fn create_named(dest: &Path) -> Result<Self> {
        let name = dest
            .file_name()
            .ok_or_else(|| anyhow!("cannot write {}: not a file name", dest.display()))?;
        let dir = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = temp_name(dir, name);
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let file = opts
            .open(&tmp)
            .with_context(|| format!("cannot write {}", dest.display()))?;
        Ok(Self {
            file: Some(file),
            tmp,
            unnamed: false,
            dest: dest.to_owned(),
        })
    }

    fn with(dest: &Path, file: File, unnamed: bool) -> Result<Self> {
        let name = dest
            .file_name()
            .ok_or_else(|| anyhow!("cannot write {}: not a file name", dest.display()))?;
        let dir = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Ok(Self {
            file: Some(file),
            tmp: temp_name(dir, name),
            unnamed,
            dest: dest.to_owned(),
        })
    }

    /// Whether the data is in an unnamed file (nothing on disk under any name yet).
    #[cfg(test)]
    fn is_unnamed(&self) -> bool {
        self.unnamed && self.file.is_some()
    }

    /// Makes the data durable and moves it to its final name. An unnamed file is linked in
    /// under its temporary name first (`linkat` cannot replace an existing file), then renamed.
    pub fn commit(mut self) -> Result<()> {
        let file = self
            .file
            .take()
            .ok_or_else(|| anyhow!("cannot write {}: already closed", self.dest.display()))?;
        file.sync_all()
            .with_context(|| format!("cannot write {}", self.dest.display()))?;
        if self.unnamed {
            link_in(&file, &self.tmp)
                .with_context(|| format!("cannot write {}", self.dest.display()))?;
            // Named now: from here on, Drop removes it if the rename fails.
            self.unnamed = false;
        }
        drop(file);
        fs::rename(&self.tmp, &self.dest)
            .with_context(|| format!("cannot write {}", self.dest.display()))?;
        // Renamed: nothing left for Drop to clean up.
        self.tmp = PathBuf::new();
        Ok(())
    }

    fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("output file already closed"))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file()?.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.file()?.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file()?.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        self.file.take();
        if !self.unnamed && !self.tmp.as_os_str().is_empty() {
            // Best effort: a file that survives this (a kill -9) is removed by the next run.
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn temporary_names_carry_the_pid() {
        let name = temp_name(Path::new("d"), std::ffi::OsStr::new("out.bin"));
        let name = name.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(name.starts_with(".out.bin.keygate-tmp-"), "{name}");
        assert_eq!(pid_of(&name), Some(std::process::id()));
        assert_eq!(pid_of("out.bin"), None);
        assert_eq!(pid_of(".x.keygate-tmp-12-zz"), None);
        assert_eq!(pid_of(".x.keygate-tmp-12-ab12"), Some(12));
    }

    #[cfg(unix)]
    #[test]
    fn the_next_run_removes_what_a_killed_one_left() {
        let dir = tempfile::tempdir().unwrap();
        // A pid that is gone: a child that has exited and been reaped.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = dir
            .path()
            .join(format!(".out.bin{TMP_MARK}{dead}-0123456789ab"));
        let ours = dir.path().join(format!(
            ".out.bin{TMP_MARK}{}-0123456789ab",
            std::process::id()
        ));
        let other = dir.path().join("unrelated.keygate-tmp-1");
        for p in [&stale, &ours, &other] {
            fs::write(p, b"partial plaintext").unwrap();
        }
        let mut f = AtomicFile::create_named(&dir.path().join("next.bin")).unwrap();
        f.write_all(b"x").unwrap();
        drop(f);
        // Creating cleans: through `create`, which every `-o` goes through.
        let f = AtomicFile::create(&dir.path().join("next.bin")).unwrap();
        drop(f);
        assert!(!stale.exists());
        assert!(ours.exists(), "a live run's file is kept");
        assert!(other.exists(), "only keygate's names are touched");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_unnamed_file_has_no_name_until_committed() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.bin");
        let mut f = AtomicFile::create(&dest).unwrap();
        if !f.is_unnamed() {
            eprintln!("skipped: this file system has no O_TMPFILE");
            return;
        }
        f.write_all(b"secret").unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        f.commit().unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"secret");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(&dest).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
