//! Running the API: listening (plain HTTP, or HTTPS through rustls when a certificate and key
//! are configured), graceful shutdown, and the maintenance scheduler beside it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use keygate_core::{Error, Result};
use time::OffsetDateTime;
use tokio::sync::watch;

use super::{AppState, router};
use crate::config::Config;
use crate::service::Service;

/// A gateway bound to its socket but not yet serving: lets the caller learn the address
/// (tests listen on `127.0.0.1:0`) before requests arrive.
#[derive(Debug)]
pub struct BoundServer {
    listener: std::net::TcpListener,
    addr: SocketAddr,
    tls: Option<RustlsConfig>,
    state: AppState,
    grace: Duration,
    scheduler_every: Option<Duration>,
    azure: Option<crate::dialect::azure::AzureListener>,
}

/// Binds the listener of `config.server` (and loads its TLS certificate and key, when set).
///
/// # Errors
/// [`Error::Unavailable`] when the address cannot be bound; [`Error::InvalidArgument`] when
/// the certificate or key cannot be read or do not form a usable pair.
pub async fn bind(service: Arc<Service>, config: &Config) -> Result<BoundServer> {
    let server = config.server.clone();
    config.dialects.warn_if_insecure();
    let tls = match (&server.tls_cert, &server.tls_key) {
        (Some(cert), Some(key)) => {
            Some(RustlsConfig::from_pem_file(cert, key).await.map_err(|e| {
                Error::invalid(format!(
                    "TLS certificate {} / key {}: {e}",
                    cert.display(),
                    key.display()
                ))
            })?)
        }
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(server.listen)
        .await
        .and_then(|l| l.into_std())
        .map_err(|e| Error::Unavailable(format!("cannot listen on {}: {e}", server.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Unavailable(format!("listener address: {e}")))?;
    let azure = crate::dialect::azure::bind(&config.dialects.azure, &service).await?;
    let grace = Duration::from_secs(server.shutdown_grace_secs);
    let scheduler_every = (config.scheduler.interval_secs > 0)
        .then(|| Duration::from_secs(config.scheduler.interval_secs));
    Ok(BoundServer {
        listener,
        addr,
        tls,
        state: AppState::new(service, server).with_dialects(config.dialects.clone()),
        grace,
        scheduler_every,
        azure,
    })
}

/// Binds, logs the address and serves until `shutdown` completes, then lets in-flight
/// requests finish for up to `server.shutdown_grace_secs`.
///
/// # Errors
/// As [`bind`] and [`BoundServer::run`].
pub async fn serve(
    service: Arc<Service>,
    config: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    bind(service, config).await?.run(shutdown).await
}

impl BoundServer {
    /// The bound address (the real port when configured with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// True when serving HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// `http://addr` or `https://addr`.
    pub fn base_url(&self) -> String {
        let scheme = if self.is_tls() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The Azure Key Vault dialect's address, when `[dialects.azure] listen` is set.
    pub fn azure_addr(&self) -> Option<SocketAddr> {
        self.azure.as_ref().map(|a| a.local_addr())
    }

    /// The Azure Key Vault dialect's vault URL (`https://addr`), when it is on.
    pub fn azure_url(&self) -> Option<String> {
        self.azure.as_ref().map(|a| a.url())
    }

    /// The CA file clients of the Azure dialect trust, when keygate generated its certificate.
    pub fn azure_ca_file(&self) -> Option<&std::path::Path> {
        self.azure.as_ref().and_then(|a| a.ca_file())
    }

    /// The state the handlers will share (metrics, limiter).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes; runs the maintenance scheduler meanwhile.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the server fails.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let Self {
            listener,
            addr,
            tls,
            state,
            grace,
            scheduler_every,
            azure,
        } = self;
        tracing::info!(%addr, tls = tls.is_some(), "keygate gateway listening");
        let handle: Handle<SocketAddr> = Handle::new();
        let azure_handle: Handle<SocketAddr> = Handle::new();
        let watcher = {
            let handle = handle.clone();
            let azure_handle = azure_handle.clone();
            let state = state.clone();
            tokio::spawn(async move {
                shutdown.await;
                tracing::info!(grace_secs = grace.as_secs(), "shutting down");
                state.begin_shutdown();
                handle.graceful_shutdown(Some(grace));
                azure_handle.graceful_shutdown(Some(grace));
            })
        };
        // The Azure vault on its own TLS listener, with the same request ids and metrics.
        let azure_task = azure.map(|listener| {
            let app = crate::dialect::azure::router(state.clone())
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    super::layers::metrics,
                ))
                .layer(axum::middleware::from_fn(super::layers::request_id));
            tokio::spawn(listener.serve(app, azure_handle.clone()))
        });
        let scheduler = scheduler_every.map(|every| {
            tokio::spawn(scheduler_loop(
                state.service.clone(),
                every,
                state.shutdown.clone(),
            ))
        });
        let shared_state = tokio::spawn(shared_state_loop(
            state.service.clone(),
            state.shutdown.clone(),
        ));
        let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let served = match tls {
            Some(config) => match axum_server::tls_rustls::from_tcp_rustls(listener, config) {
                Ok(server) => server.handle(handle).serve(app).await,
                Err(e) => Err(e),
            },
            None => match axum_server::from_tcp(listener) {
                Ok(server) => server.handle(handle).serve(app).await,
                Err(e) => Err(e),
            },
        };
        watcher.abort();
        state.begin_shutdown();
        azure_handle.graceful_shutdown(Some(grace));
        let azure_served = match azure_task {
            Some(task) => task
                .await
                .unwrap_or_else(|e| Err(Error::Unavailable(format!("azure dialect: {e}")))),
            None => Ok(()),
        };
        let _ = shared_state.await;
        if let Some(task) = scheduler {
            // The loop stops at the shutdown signal; a panic in it is already logged.
            let _ = task.await;
        }
        tracing::info!(%addr, "keygate gateway stopped");
        served.map_err(|e| Error::Unavailable(format!("HTTP server on {addr}: {e}")))?;
        azure_served
    }
}

/// One maintenance pass every `every` (scheduled rotations, expired deletions) until
/// shutdown. The first pass runs one interval after start, not at once: a restart loop must
/// not turn into a rotation loop.
async fn scheduler_loop(service: Arc<Service>, every: Duration, stop: watch::Receiver<bool>) {
    until_shutdown(every, stop, || {
        let service = Arc::clone(&service);
        async move { service.run_maintenance(OffsetDateTime::now_utc()).await }
    })
    .await;
}

/// How often a running gateway re-reads state other processes may change in the shared store
/// (the access policy a `keygate policy set` on the same home writes).
const SHARED_STATE_EVERY: Duration = Duration::from_secs(2);

/// Picks up changes other processes make to the shared store, until shutdown.
async fn shared_state_loop(service: Arc<Service>, stop: watch::Receiver<bool>) {
    until_shutdown(SHARED_STATE_EVERY, stop, || {
        let service = Arc::clone(&service);
        async move {
            if let Err(e) = service.refresh_shared_state().await {
                tracing::warn!(error = %e, "cannot re-read the access policy; keeping the one in force");
            }
        }
    })
    .await;
}

/// Runs `pass` every `every` (first after one interval) until the shutdown signal.
async fn until_shutdown<F, Fut>(every: Duration, mut stop: watch::Receiver<bool>, mut pass: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // `wait_for` hands back a borrow of the value, which must not live in the task.
        let stopped = async { stop.wait_for(|s| *s).await.is_ok() };
        tokio::select! {
            _ = stopped => return,
            _ = ticks.tick() => pass().await,
        }
    }
}
