//! One keygate gateway per test process, backing the Azure and GCP providers' conformance
//! runs: keygate's own Azure Key Vault and GCP Cloud KMS dialects over the local provider.
//!
//! The conformance macros give every check its own tokio runtime, so the backing gateway
//! cannot live in one of them: it runs on a thread of its own, with its own runtime, from the
//! first call of [`backing`] until the process exits. Its home is a directory under Cargo's
//! per-target temporary directory; homes older than a day left by earlier runs are removed
//! when a new one is made.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use super::support::{TestGateway, config};

/// What a provider under test needs to reach the backing gateway.
#[derive(Debug, Clone)]
pub struct Backing {
    /// `http://127.0.0.1:<port>`: REST, and the GCP dialect under `/v1/projects/...`.
    pub base: String,
    /// `https://127.0.0.1:<port>`: the Azure dialect (Key Vault keys API and the ARM routes).
    pub azure_url: String,
    /// The CA that signed the Azure listener's certificate.
    pub azure_ca: PathBuf,
    /// The Azure dialect's vault name.
    pub vault_name: String,
    /// A keygate bearer token of the `admin` role (principal `conformance`).
    pub token: String,
}

/// The Azure dialect's vault name in the backing gateway.
pub const VAULT_NAME: &str = "kgtest";
/// Prefix of the backing gateways' homes under `CARGO_TARGET_TMPDIR`.
const HOME_PREFIX: &str = "backing-gateway-";

static BACKING: OnceLock<Backing> = OnceLock::new();

/// The backing gateway, started on first use.
///
/// # Panics
/// When the gateway cannot start.
pub fn backing() -> &'static Backing {
    BACKING.get_or_init(start)
}

fn start() -> Backing {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    remove_stale_homes(root);
    let home = tempfile::Builder::new()
        .prefix(HOME_PREFIX)
        .tempdir_in(root)
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("backing-gateway".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let config = config(|c| c.dialects.azure.vault_name = VAULT_NAME.to_owned());
                let gw = TestGateway::start_in(config, home).await;
                let token = gw.token("conformance", "admin").await;
                let backing = Backing {
                    base: gw.base.clone(),
                    azure_url: gw.azure_url.clone(),
                    azure_ca: gw.azure_ca.clone(),
                    vault_name: VAULT_NAME.to_owned(),
                    token,
                };
                tx.send(backing).unwrap();
                // Serve until the process exits.
                std::future::pending::<()>().await;
                drop(gw);
            });
        })
        .unwrap();
    rx.recv().unwrap()
}

/// Removes homes of earlier runs (a process that exits never drops its home).
fn remove_stale_homes(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    let day_ago = SystemTime::now() - Duration::from_secs(24 * 3600);
    for entry in entries.flatten() {
        let stale = entry.file_name().to_string_lossy().starts_with(HOME_PREFIX)
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < day_ago);
        if stale {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
