//! The gateway's health as [`GatewayStatus`]: each provider probed under a timeout, the
//! store read and write-locked, the audit log's head, and what the process that composed the
//! service told it (version, features, listeners).

use std::future::Future;
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use keygate_core::access::Action;
use keygate_core::api::{
    AuditHealth, GatewayStatus, HealthError, Listener, ProviderHealth, SchedulerStatus, StoreHealth,
};
use keygate_core::{DynProvider, Error, Result};
use time::OffsetDateTime;

use super::{Service, Session};

/// How long one provider's probe (and each store check) may take before it counts as
/// unreachable.
pub const STATUS_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the binary that runs the service was built as: the server cannot know the
/// features of the binary it is linked into, so the composition root tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    /// The version (`0.1.0`).
    pub version: String,
    /// The cloud features compiled in (`aws`, `azure`, `gcp`).
    pub features: Vec<String>,
}

impl Default for BuildInfo {
    /// This crate's version and no features.
    fn default() -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            features: Vec::new(),
        }
    }
}

/// What `keygate status` reports that only the composing process knows.
#[derive(Debug, Default)]
pub(super) struct ProcessInfo {
    build: RwLock<BuildInfo>,
    listeners: RwLock<Vec<Listener>>,
}

impl Service {
    /// Records the version and features of the binary the service runs in (reported by
    /// [`Gateway::status`](keygate_core::api::Gateway::status)).
    pub fn set_build_info(&self, build: BuildInfo) {
        *self
            .process
            .build
            .write()
            .unwrap_or_else(PoisonError::into_inner) = build;
    }

    /// Records the sockets this process serves the gateway on (reported by
    /// [`Gateway::status`](keygate_core::api::Gateway::status); none until set).
    pub fn set_listeners(&self, listeners: Vec<Listener>) {
        *self
            .process
            .listeners
            .write()
            .unwrap_or_else(PoisonError::into_inner) = listeners;
    }

    /// Every check, run concurrently. Never fails: what cannot be checked is reported as
    /// such.
    async fn status(&self) -> GatewayStatus {
        let checked_at = OffsetDateTime::now_utc();
        let opened = self.registry.each_provider().await;
        let kinds = self.registry.registered();
        let probes = futures::future::join_all(opened.into_iter().zip(kinds).map(
            |((name, opened), (_, kind))| async move {
                match opened {
                    Ok(p) => probe(&p).await,
                    Err(e) => unopened(name, kind, &e),
                }
            },
        ));
        let (mut providers, store, audit, scheduler) = tokio::join!(
            probes,
            self.store_health(),
            self.audit_health(),
            self.scheduler_status()
        );
        // Read after the probes, which pass the breakers too.
        for (health, (_, circuit)) in providers.iter_mut().zip(self.registry.circuits()) {
            health.circuit = Some(circuit);
        }
        let build = self
            .process
            .build
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let listeners = self
            .process
            .listeners
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        GatewayStatus {
            version: build.version,
            features: build.features,
            providers,
            store,
            audit,
            listeners,
            checked_at,
            scheduler: Some(scheduler),
        }
    }

    /// Who leads the scheduler: this process's view, and the store's answer when leadership
    /// is a lease (a leader that cannot be read is reported as unknown, with a warning).
    async fn scheduler_status(&self) -> SchedulerStatus {
        let store = self.registry.store();
        let leadership = &self.leadership;
        let shared = store
            .scheduler_lease(leadership.replica(), leadership.lease())
            .is_some();
        let leading = leadership.leads();
        let leader = if shared {
            match bounded("the scheduler's leader", store.scheduler_leader()).await {
                Ok(leader) => leader,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot tell who leads the scheduler");
                    None
                }
            }
        } else {
            leading.then(|| leadership.replica().to_owned())
        };
        SchedulerStatus {
            replica: leadership.replica().to_owned(),
            leading,
            shared,
            leader,
        }
    }

    async fn store_health(&self) -> StoreHealth {
        let store = self.registry.store();
        let (read, write) = tokio::join!(
            bounded("the gateway store's read check", store.ping()),
            bounded("the gateway store's write check", store.check_writable()),
        );
        StoreHealth {
            backend: store.backend().to_owned(),
            readable: read.is_ok(),
            writable: write.is_ok(),
            error: read
                .err()
                .or(write.err())
                .as_ref()
                .map(HealthError::from_error),
        }
    }

    async fn audit_health(&self) -> AuditHealth {
        let store = self.registry.store();
        let stats = self.audit.stats();
        let (head, rows) = tokio::join!(
            bounded("the audit log's head", store.audit_head()),
            bounded("the audit log's row count", store.audit_row_count()),
        );
        let error = head.as_ref().err().or(rows.as_ref().err());
        let error = error.map(HealthError::from_error);
        let head = head.ok().filter(|h| h.seq > 0);
        AuditHealth {
            writer_running: self.audit.is_running(),
            rows: rows.unwrap_or(0),
            head_seq: head.as_ref().map(|h| h.seq),
            head_hash: head.map(|h| h.hash),
            size_bytes: store.size_on_disk(),
            failed_batches: stats.failed_batches,
            error,
        }
    }
}

/// `check`, or [`Error::Unavailable`] when it takes longer than [`STATUS_PROBE_TIMEOUT`].
async fn bounded<T>(what: &str, check: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(STATUS_PROBE_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| {
            Err(Error::unavailable(format!(
                "{what} did not answer within {} s",
                STATUS_PROBE_TIMEOUT.as_secs()
            )))
        })
}

/// One provider's probe, timed.
async fn probe(provider: &DynProvider) -> ProviderHealth {
    let info = provider.info();
    let started = Instant::now();
    let result = bounded(&format!("provider `{}`", info.name), provider.probe()).await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if let Err(e) = &result {
        tracing::warn!(provider = %info.name, error = %e, "provider probe failed");
    }
    ProviderHealth {
        name: info.name.clone(),
        kind: info.kind,
        reachable: result.is_ok(),
        latency_ms,
        error: result.err().as_ref().map(HealthError::from_error),
        circuit: None,
    }
}

/// The health of a provider that could not be opened: unreachable, with why.
fn unopened(
    name: String,
    kind: keygate_core::ProviderKind,
    e: &keygate_core::Error,
) -> ProviderHealth {
    tracing::warn!(provider = %name, error = %e, "provider cannot be opened");
    ProviderHealth {
        name,
        kind,
        reachable: false,
        latency_ms: 0,
        error: Some(HealthError::from_error(e)),
        circuit: None,
    }
}

impl Session {
    /// [`Gateway::status`](keygate_core::api::Gateway::status): authorized as `status:read`.
    /// A refusal writes a `denied` audit row like every refusal; a successful read writes
    /// none, since it reads the gateway's health and uses no key (as `whoami` and
    /// `providers`).
    pub(super) async fn read_status(&self) -> Result<GatewayStatus> {
        let mut audit = self.audit(Action::StatusRead);
        if let Err(denied) = self.authorize(&mut audit, Action::StatusRead, None) {
            return audit.done(Err(denied)).await;
        }
        Ok(self.service.status().await)
    }
}
