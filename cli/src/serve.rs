//! `keygate serve`: the gateway itself, on the configured listen address.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use keygate_core::ErrorKind;

/// How often, at most, the gateway writes a new audit checkpoint while the log grows.
const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

use crate::args::ServeArgs;
use crate::{Outcome, compose};

/// Opens the service from the configuration, binds the listener, prints its URL on stderr,
/// and serves the REST API until SIGINT or SIGTERM (in-flight requests get
/// `server.shutdown_grace_secs` to finish). `--listen` and `--azure-listen` win over the file
/// and the environment.
pub async fn run(
    home: Option<PathBuf>,
    config: Option<PathBuf>,
    args: ServeArgs,
) -> Result<Outcome> {
    let (home, mut config) = compose::load(home, config)?;
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if let Some(listen) = args.azure_listen {
        config.dialects.azure.listen = Some(listen);
    }
    config.dialects.azure.resolve_in_home(home.dir());
    let service = compose::open(&config, &home)
        .await
        .with_context(|| format!("opening keygate in {}", home.dir().display()))?;
    // Several replicas may serve one PostgreSQL store: they share one audit chain, and the
    // scheduler runs on the one holding its lease (see `keygate_server::leader`).
    // The log is checked (against the last published checkpoint too) before anything is
    // served: a gateway whose audit log was tampered with must not report ready.
    let _checkpoints = match service
        .audit()
        .start_publishing(
            config.audit.checkpoint_paths(home.dir()),
            CHECKPOINT_INTERVAL,
        )
        .await
    {
        Ok(publisher) => Some(publisher),
        Err(e) if e.kind() == ErrorKind::Unsupported => {
            tracing::warn!(error = %e, "audit checkpoints are not published");
            None
        }
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!(
                "refusing to serve {}: the audit log failed its start-up check \
                 (inspect it with `keygate audit verify`)",
                home.dir().display()
            )));
        }
    };
    // Bind first, then announce: the printed URL is the real one (port 0 picks a free
    // port), and it is printed only once requests can be accepted.
    let server = keygate_http::bind(service, &config).await?;
    eprintln!(
        "keygate: serving {} on {} (Ctrl-C to stop)",
        home.dir().display(),
        server.base_url()
    );
    if let Some(url) = server.azure_url() {
        match server.azure_ca_file() {
            Some(ca) => eprintln!(
                "keygate: Azure Key Vault dialect on {url} (clients trust {})",
                ca.display()
            ),
            None => eprintln!("keygate: Azure Key Vault dialect on {url}"),
        }
    }
    server.run(shutdown_signal()).await?;
    eprintln!("keygate: stopped");
    Ok(Outcome::Success)
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM (service managers, `kill`).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; stop with Ctrl-C");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
