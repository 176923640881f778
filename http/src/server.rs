//! The wiring: the REST API and the dialects composed into one application ([`app`]),
//! listening (plain HTTP, or HTTPS through rustls when a certificate and key are configured),
//! the Azure dialect's own listener, graceful shutdown, and the maintenance scheduler beside
//! it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use keygate_core::api::Listener;
use keygate_core::{Error, Result};
use keygate_server::config::{Config, DialectsConfig};
use keygate_server::service::Service;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::edge::{self, Edge};
use crate::hygiene::ConnectionTimeouts;
use crate::rest::{self, RestState};
use crate::shape::Doors;

/// The Azure dialect's listener, when built in.
#[cfg(feature = "azure")]
type AzureListener = crate::dialect::azure::AzureListener;

/// Without the `azure` feature there is never an Azure listener.
#[cfg(not(feature = "azure"))]
#[derive(Debug)]
enum AzureListener {}

#[cfg(not(feature = "azure"))]
impl AzureListener {
    fn local_addr(&self) -> SocketAddr {
        match *self {}
    }
    fn url(&self) -> String {
        match *self {}
    }
    fn ca_file(&self) -> Option<&std::path::Path> {
        match *self {}
    }
    async fn serve(
        self,
        _app: Router,
        _handle: Handle<SocketAddr>,
        _timeouts: ConnectionTimeouts,
    ) -> Result<()> {
        match self {}
    }
}

/// The whole application on the main listener: the REST API and the dialects `dialects`
/// turns on (AWS and GCP; Azure has its own listener), with the typed 404 and 405 for every
/// path, request ids, metrics and the body limit around all of them. What [`serve`] runs and
/// what tests call.
pub fn app(edge: &Edge, dialects: &DialectsConfig) -> Router {
    #[allow(unused_mut)]
    let mut router = rest::router(RestState::new(edge.clone()));
    #[cfg(feature = "aws")]
    if dialects.aws.enabled {
        router = router.merge(crate::dialect::aws::router(crate::dialect::aws::AwsState {
            edge: edge.clone(),
            config: Arc::new(dialects.aws.clone()),
        }));
    }
    #[cfg(feature = "gcp")]
    if dialects.gcp.enabled {
        router = router.merge(crate::dialect::gcp::router(crate::dialect::gcp::GcpState {
            edge: edge.clone(),
            config: Arc::new(dialects.gcp.clone()),
            anonymous: dialects.insecure_anonymous.as_ref().map(|a| a.identity()),
        }));
    }
    let _ = dialects;
    outer_layers(
        router
            .fallback(rest::no_route)
            .method_not_allowed_fallback(rest::method_not_allowed)
            .layer(axum::middleware::from_fn(rest::render_errors)),
        edge,
        main_doors(dialects),
    )
    .layer(DefaultBodyLimit::max(edge.body_limit))
}

/// The doors of the main listener under `dialects`.
fn main_doors(dialects: &DialectsConfig) -> Doors {
    Doors::Main {
        aws: cfg!(feature = "aws") && dialects.aws.enabled,
        gcp: cfg!(feature = "gcp") && dialects.gcp.enabled,
    }
}

/// Request ids, metrics, the body stall timeout and every error in the shape of its door,
/// around every door of a listener.
fn outer_layers(router: Router, edge: &Edge, doors: Doors) -> Router {
    router
        .layer(axum::middleware::from_fn_with_state(
            edge.metrics.clone(),
            edge::metrics,
        ))
        .layer(axum::middleware::from_fn_with_state(
            edge.body_idle,
            crate::hygiene::body_idle_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            doors,
            crate::shape::shape_errors,
        ))
        .layer(axum::middleware::from_fn(edge::request_id))
}

/// A gateway bound to its socket but not yet serving: lets the caller learn the address
/// (tests listen on `127.0.0.1:0`) before requests arrive.
#[derive(Debug)]
pub struct BoundServer {
    listener: std::net::TcpListener,
    addr: SocketAddr,
    tls: Option<RustlsConfig>,
    edge: Edge,
    shutdown: watch::Sender<bool>,
    dialects: DialectsConfig,
    grace: Duration,
    scheduler_every: Option<Duration>,
    azure: Option<AzureListener>,
    timeouts: ConnectionTimeouts,
}

/// Binds the listener of `config.server` (and loads its TLS certificate and key, when set).
///
/// # Errors
/// [`Error::Unavailable`] when the address cannot be bound; [`Error::InvalidArgument`] when
/// the certificate or key cannot be read or do not form a usable pair.
pub async fn bind(service: Arc<Service>, config: &Config) -> Result<BoundServer> {
    let server = config.server.clone();
    config.dialects.warn_if_insecure();
    #[cfg(feature = "aws")]
    if config.dialects.aws.enabled {
        crate::dialect::aws::check_config(&config.dialects.aws, &service)?;
    }
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
        .map_err(|e| Error::unavailable(format!("cannot listen on {}: {e}", server.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::unavailable_because("listener address", e))?;
    #[cfg(feature = "azure")]
    let azure = crate::dialect::azure::bind(&config.dialects.azure, &service).await?;
    #[cfg(not(feature = "azure"))]
    let azure: Option<AzureListener> = match config.dialects.azure.listen {
        Some(_) => {
            return Err(Error::unsupported(
                "[dialects.azure] listen is set, but this keygate is built without the Azure dialect (cargo feature `azure`)",
            ));
        }
        None => None,
    };
    let grace = Duration::from_secs(server.shutdown_grace_secs);
    let scheduler_every = (config.scheduler.interval_secs > 0)
        .then(|| Duration::from_secs(config.scheduler.interval_secs));
    let (shutdown, stop) = watch::channel(false);
    let bound = BoundServer {
        listener,
        addr,
        tls,
        edge: Edge::new(service, &server, stop),
        shutdown,
        dialects: config.dialects.clone(),
        grace,
        scheduler_every,
        azure,
        timeouts: ConnectionTimeouts::of(&server),
    };
    // What `keygate status` reports as this process's listeners.
    bound.edge.service.set_listeners(bound.listeners());
    Ok(bound)
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

    /// The sockets this server answers on: `rest` (the REST API and the AWS and GCP
    /// dialects) and, when it is on, `azure` (the Azure Key Vault dialect).
    pub fn listeners(&self) -> Vec<Listener> {
        let rest = Listener {
            name: "rest".to_owned(),
            url: self.base_url(),
        };
        let azure = self.azure_url().map(|url| Listener {
            name: "azure".to_owned(),
            url,
        });
        std::iter::once(rest).chain(azure).collect()
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

    /// The edge the doors will share (service, metrics, limiter).
    pub fn edge(&self) -> &Edge {
        &self.edge
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
            edge,
            shutdown: shutdown_tx,
            dialects,
            grace,
            scheduler_every,
            azure,
            timeouts,
        } = self;
        let shutdown_tx = Arc::new(shutdown_tx);
        tracing::info!(%addr, tls = tls.is_some(), "keygate gateway listening");
        let handle: Handle<SocketAddr> = Handle::new();
        let azure_handle: Handle<SocketAddr> = Handle::new();
        let watcher = {
            let handle = handle.clone();
            let azure_handle = azure_handle.clone();
            let shutdown_tx = Arc::clone(&shutdown_tx);
            tokio::spawn(async move {
                shutdown.await;
                tracing::info!(grace_secs = grace.as_secs(), "shutting down");
                shutdown_tx.send_replace(true);
                handle.graceful_shutdown(Some(grace));
                azure_handle.graceful_shutdown(Some(grace));
            })
        };
        // The Azure vault on its own TLS listener, with the same request ids and metrics.
        let azure_task = azure.map(|listener| {
            let app = outer_layers(azure_router(&edge, &dialects), &edge, Doors::Azure);
            tokio::spawn(listener.serve(app, azure_handle.clone(), timeouts))
        });
        // The lease is tried only by a replica that runs the scheduler: one that does not
        // must not keep others from leading.
        let leadership = scheduler_every.map(|_| {
            let service = edge.service.clone();
            let stop = edge.shutdown.clone();
            tokio::spawn(async move {
                let store = Arc::clone(service.registry().store());
                service.leadership().run(&*store, stop).await;
            })
        });
        let scheduler = scheduler_every.map(|every| {
            tokio::spawn(scheduler_loop(
                edge.service.clone(),
                every,
                edge.shutdown.clone(),
            ))
        });
        let shared_state = tokio::spawn(shared_state_loop(
            edge.service.clone(),
            edge.shutdown.clone(),
        ));
        let doors = main_doors(&dialects);
        let app = app(&edge, &dialects).into_make_service_with_connect_info::<SocketAddr>();
        let served = match tls {
            Some(config) => match axum_server::tls_rustls::from_tcp_rustls(listener, config) {
                Ok(server) => {
                    timeouts
                        .apply(server, doors)
                        .handle(handle)
                        .serve(app)
                        .await
                }
                Err(e) => Err(e),
            },
            None => match axum_server::from_tcp(listener) {
                Ok(server) => {
                    timeouts
                        .apply(server, doors)
                        .handle(handle)
                        .serve(app)
                        .await
                }
                Err(e) => Err(e),
            },
        };
        watcher.abort();
        shutdown_tx.send_replace(true);
        azure_handle.graceful_shutdown(Some(grace));
        let azure_served = match azure_task {
            Some(task) => task
                .await
                .unwrap_or_else(|e| Err(Error::unavailable_because("azure dialect", e))),
            None => Ok(()),
        };
        let _ = shared_state.await;
        if let Some(task) = scheduler {
            // The loop stops at the shutdown signal; a panic in it is already logged.
            let _ = task.await;
        }
        if let Some(task) = leadership {
            // Gives the lease up, so another replica takes over at its next try.
            let _ = task.await;
        }
        tracing::info!(%addr, "keygate gateway stopped");
        served.map_err(|e| Error::unavailable(format!("HTTP server on {addr}: {e}")))?;
        azure_served
    }
}

/// The Azure vault's application, on its own listener.
#[cfg(feature = "azure")]
fn azure_router(edge: &Edge, dialects: &DialectsConfig) -> Router {
    crate::dialect::azure::router(crate::dialect::azure::AzureState {
        edge: edge.clone(),
        config: Arc::new(dialects.azure.clone()),
        anonymous: dialects.insecure_anonymous.as_ref().map(|a| a.identity()),
    })
}

#[cfg(not(feature = "azure"))]
fn azure_router(_edge: &Edge, _dialects: &DialectsConfig) -> Router {
    Router::new()
}

/// One maintenance pass every `every` (scheduled rotations, expired deletions) until
/// shutdown, while this process leads the scheduler (always on SQLite; on PostgreSQL the
/// replica holding the lease). The first pass runs one interval after start, not at once: a
/// restart loop must not turn into a rotation loop.
async fn scheduler_loop(service: Arc<Service>, every: Duration, stop: watch::Receiver<bool>) {
    until_shutdown(every, stop, || {
        let service = Arc::clone(&service);
        async move { service.run_led_maintenance(OffsetDateTime::now_utc()).await }
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
