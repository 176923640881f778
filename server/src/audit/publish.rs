//! Publishing checkpoints while the gateway serves: the start-up check against the last
//! published checkpoint, then a signed checkpoint written to each configured file at most once
//! per interval, whenever the log grew.
//!
//! The publisher follows the log itself (it reads the rows any writer on the store committed,
//! this process's or another's on the same home), checking each new row's keyed hash and
//! extending the tree's compact range in memory, so a tick costs the new rows only.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use keygate_core::audit::checkpoint::Checkpoint;
use keygate_core::{Error, Result};
use tokio::task::JoinHandle;

use super::AuditLog;
use super::proof::sign;
use super::verify::Checker;

/// The name of the checkpoint file in the home.
pub const CHECKPOINT_FILE: &str = "audit.checkpoint";

/// The running publisher; stops when dropped.
#[derive(Debug)]
pub struct CheckpointPublisher {
    task: JoinHandle<()>,
    /// The checkpoint published at start.
    pub first: Checkpoint,
}

impl Drop for CheckpointPublisher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads the checkpoint file at `path`, if there is one.
fn read_note(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::unavailable_because(
            format!("cannot read the audit checkpoint {}", path.display()),
            e,
        )),
    }
}

/// Writes `note` to `path` atomically (a 0600 temporary file beside it, synced, renamed over).
///
/// # Errors
/// [`Error::Unavailable`] when the file cannot be written.
pub fn write_note(path: &Path, note: &str) -> Result<()> {
    let io_err = |e: std::io::Error| {
        Error::unavailable_because(
            format!("cannot write the audit checkpoint {}", path.display()),
            e,
        )
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, keygate_core::private_fs::FILE_MODE);
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(note.as_bytes())?;
        file.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err(e));
    }
    Ok(())
}

impl AuditLog {
    /// Checks the log and starts publishing checkpoints to `paths` (the home's
    /// [`CHECKPOINT_FILE`] first, then any configured copy) every `interval` while the log
    /// grows.
    ///
    /// Before anything is published, the whole log is checked (keyed chain and tree) and, for
    /// each of `paths` that holds a checkpoint, that the log extends it: its signature must be
    /// this log's, the log must hold at least its rows, and the tree over them its root.
    ///
    /// # Errors
    /// [`Error::InvalidState`] when the log does not verify or does not extend a published
    /// checkpoint (rows cut off the end, or rewritten), naming the first bad row — the
    /// gateway must then not serve; [`Error::InvalidArgument`] for a checkpoint file not signed
    /// by this log's key; [`Error::Unsupported`] without the root key;
    /// [`Error::Unavailable`] when the store or a file cannot be read or written.
    pub async fn start_publishing(
        &self,
        paths: Vec<PathBuf>,
        interval: Duration,
    ) -> Result<CheckpointPublisher> {
        let keys = Arc::clone(self.keys()?);
        let verifier = keys.signer.verifier();
        let mut published: Option<(PathBuf, Checkpoint)> = None;
        for path in &paths {
            let Some(note) = read_note(path)? else {
                continue;
            };
            let cp = verifier.open_checkpoint(&note).map_err(|e| {
                Error::invalid(format!(
                    "{}: {e} (it was not signed by this gateway's audit key)",
                    path.display()
                ))
            })?;
            if published.as_ref().is_none_or(|(_, p)| cp.size > p.size) {
                published = Some((path.clone(), cp));
            }
        }
        let mut checker = Checker::new(
            Some(Arc::clone(&keys)),
            false,
            published.as_ref().map(|(_, cp)| cp.size),
        );
        if let Some(broken) = checker.catch_up(&self.inner.store).await? {
            return Err(Error::state(format!(
                "the audit log does not verify at seq {}: {}",
                broken.seq, broken.reason
            )));
        }
        if let Some((path, cp)) = &published {
            match checker.root_at() {
                Some(root) if root == cp.root => {}
                Some(_) => {
                    return Err(Error::state(format!(
                        "the audit log does not extend the checkpoint in {} ({} rows): rows up \
                         to {} were changed or rewritten since it was signed",
                        path.display(),
                        cp.size,
                        cp.size
                    )));
                }
                None => {
                    return Err(Error::state(format!(
                        "rows cut off the end of the audit log: the checkpoint in {} covers {} \
                         rows, the log holds {} (first missing row {})",
                        path.display(),
                        cp.size,
                        checker.rows(),
                        checker.rows() + 1
                    )));
                }
            }
        }
        let first = publish(&*self.inner.store, &keys, &checker, &paths).await?;
        let log = self.clone();
        let task = tokio::spawn(async move {
            let mut last = checker.rows();
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match checker.catch_up(&log.inner.store).await {
                    Ok(None) => {}
                    Ok(Some(broken)) => {
                        tracing::error!(seq = broken.seq, reason = %broken.reason,
                            "the audit log no longer verifies; no more checkpoints are published");
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the audit log for a checkpoint");
                        continue;
                    }
                }
                if checker.rows() == last {
                    continue;
                }
                match publish(&*log.inner.store, &keys, &checker, &paths).await {
                    Ok(_) => last = checker.rows(),
                    Err(e) => tracing::warn!(error = %e, "cannot publish the audit checkpoint"),
                }
            }
        });
        Ok(CheckpointPublisher { task, first })
    }
}

/// Signs the checker's tree head and writes it to every path (and keeps it in `store`, for
/// verifications to start from).
async fn publish(
    store: &dyn crate::store::AuditRows,
    keys: &keygate_core::audit::AuditKeys,
    checker: &Checker,
    paths: &[PathBuf],
) -> Result<Checkpoint> {
    let root = checker.range().root();
    let signed = sign(keys, checker.rows(), root)?;
    let paths = paths.to_vec();
    let note = signed.note.clone();
    tokio::task::spawn_blocking(move || paths.iter().try_for_each(|p| write_note(p, &note)))
        .await
        .map_err(|e| Error::unavailable(format!("checkpoint writer: {e}")))??;
    super::resume::remember(store, keys, checker).await;
    Ok(Checkpoint {
        origin: signed.origin,
        size: signed.size,
        root,
    })
}
