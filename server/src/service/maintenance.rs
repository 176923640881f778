//! The gateway's own maintenance (scheduled rotations, destruction of keys after their
//! deletion date and of single versions after their destroy time), audited as any other call that acts: the service first asks each provider what is due
//! ([`KeyProvider::due`]), then, for each action, writes its intent row, runs it, and writes
//! its outcome row. An intent that cannot be made durable stops the pass before that action
//! (fail closed: nothing is rotated or destroyed without a row); the next pass tries again.
//! When nothing is due, nothing is written.
//!
//! Among replicas sharing a store, `keygate serve` runs [`Service::run_led_maintenance`]:
//! only while this process leads the scheduler ([`crate::leader`]), checked again before
//! each action. The CLI's pass ([`Service::run_maintenance_once`]) runs only when no
//! replica holds the lease.

use std::future::Future;
use std::sync::Arc;

use keygate_core::access::{Action, Identity};
use keygate_core::audit::{AuditOutcome, NewAuditEvent};
use keygate_core::{DueMaintenance, DynProvider, Error, KeyProvider as _, Result};
use time::OffsetDateTime;

use super::{SCHEDULER_PRINCIPAL, Service, Session, Source};

/// Whether a maintenance pass may go on with its next action.
enum Next {
    Continue,
    /// The audit log cannot record an intent: every later action would be refused too.
    Stop,
}

impl Service {
    /// One maintenance pass at `now`: every provider's due scheduled rotations and expired
    /// deletions (of keys and of single versions, `keys:delete` naming the version), each
    /// audited with source `scheduler` and principal `keygate` (an intent
    /// row, then its outcome row). Nothing due, no row. A provider that cannot say what is
    /// due gets one `failure` row; an audit log that cannot write stops the pass before
    /// anything more happens.
    pub async fn run_maintenance(self: &Arc<Self>, now: OffsetDateTime) {
        self.maintenance_pass(now, false).await;
    }

    /// [`Service::run_maintenance`] while this process leads the scheduler
    /// ([`Service::leadership`]): nothing when it does not, and the pass stops before the
    /// next action once it no longer does. What `keygate serve` runs on its timer.
    pub async fn run_led_maintenance(self: &Arc<Self>, now: OffsetDateTime) {
        if self.leadership.leads() {
            self.maintenance_pass(now, true).await;
        }
    }

    /// One pass for a process that runs maintenance once (the CLI): on a store shared
    /// through a lease, only when no replica holds it (the lease is taken for the pass and
    /// given back), since the leader runs maintenance itself; on SQLite, always.
    pub async fn run_maintenance_once(self: &Arc<Self>, now: OffsetDateTime) {
        let store = self.registry.store();
        let Some(mut lease) =
            store.scheduler_lease(self.leadership.replica(), self.leadership.lease())
        else {
            return self.run_maintenance(now).await;
        };
        match lease.acquire_or_renew().await {
            Ok(true) => self.run_maintenance(now).await,
            Ok(false) => {
                tracing::debug!("another process leads the scheduler: no maintenance pass here")
            }
            Err(e) => {
                tracing::warn!(error = %e, "no maintenance pass: the scheduler's lease cannot be read")
            }
        }
        lease.release().await;
    }

    async fn maintenance_pass(self: &Arc<Self>, now: OffsetDateTime, led: bool) {
        let session = self.session(
            Identity {
                principal: SCHEDULER_PRINCIPAL.to_owned(),
                role: "admin".to_owned(),
            },
            Source::Scheduler,
        );
        for (name, due) in self.registry.due(now).await {
            let due = match due {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(provider = %name, error = %e, "cannot learn what maintenance is due");
                    self.record_due_failure(now, &name, &e).await;
                    continue;
                }
            };
            if due.is_empty() {
                continue;
            }
            let Ok(provider) = self.registry.provider(&name).await else {
                continue;
            };
            let provider = &provider;
            let notifications = due.notifications.clone();
            if let Next::Stop = session.run_due(provider, due, now, led).await {
                return;
            }
            if let Next::Stop = self.notify_due(provider, notifications, now).await {
                return;
            }
        }
    }

    /// Expiry notifications are events, not actions on a key: each is recorded as its
    /// `keys:notify` row first and marked made after, so a row that cannot be written leaves
    /// the notification due for the next pass (and stops this one).
    async fn notify_due(
        &self,
        provider: &DynProvider,
        due: Vec<(String, String)>,
        now: OffsetDateTime,
    ) -> Next {
        let name = &provider.info().name;
        for (id, version) in due {
            let uri = provider.info().key_uri(&id);
            if let Err(e) = self
                .record_notification(now, name, uri, version.clone())
                .await
            {
                tracing::error!(provider = %name, key = %id, error = %e,
                    "expiry notification not marked: the audit log cannot record it");
                return Next::Stop;
            }
            if let Err(e) = provider.mark_notified(&id, &version).await {
                tracing::warn!(provider = %name, key = %id, %version, error = %e,
                    "expiry notification recorded but not marked made");
            }
        }
        Next::Continue
    }

    /// The one row of a provider that could not say what is due (nothing was done).
    async fn record_due_failure(&self, now: OffsetDateTime, provider: &str, error: &Error) {
        let event = NewAuditEvent {
            time: now,
            request_id: uuid::Uuid::new_v4().to_string(),
            principal: SCHEDULER_PRINCIPAL.to_owned(),
            source: Source::Scheduler.as_str().to_owned(),
            action: Action::KeysRotate.as_str().to_owned(),
            provider: Some(provider.to_owned()),
            key: None,
            key_version: None,
            outcome: AuditOutcome::Failure,
            error_kind: Some(error.kind().as_str().to_owned()),
            duration_us: 0,
            intent_seq: None,
        };
        if let Err(e) = self.audit.append(event).await {
            tracing::error!(error = %e, "cannot audit a maintenance failure");
        }
    }
}

impl Session {
    /// Runs `provider`'s due actions, each between its intent and its outcome row.
    async fn run_due(
        &self,
        provider: &DynProvider,
        due: DueMaintenance,
        now: OffsetDateTime,
        led: bool,
    ) -> Next {
        // A led pass stops before its next action once this process no longer leads.
        let lost = || led && !self.service.leadership.leads();
        for id in &due.rotations {
            if lost() {
                return Next::Stop;
            }
            let next = self
                .run_one(provider, Action::KeysRotate, id, None, async {
                    match provider.rotate_due(id, now).await? {
                        Some(version) => {
                            tracing::info!(provider = %provider.info().name, key = %id,
                                version = %version.id, "scheduled rotation ran");
                            Ok(Some(version.id))
                        }
                        None => Err(not_due()),
                    }
                })
                .await;
            if let Next::Stop = next {
                return next;
            }
        }
        // Versions before keys: destroying a whole key destroys its versions with it.
        for (id, version) in &due.version_destructions {
            if lost() {
                return Next::Stop;
            }
            let next = self
                .run_one(provider, Action::KeysDelete, id, Some(version), async {
                    if provider.destroy_due_version(id, version, now).await? {
                        tracing::info!(provider = %provider.info().name, key = %id,
                            version = %version, "key version material destroyed after its destroy time");
                        Ok(Some(version.clone()))
                    } else {
                        Err(not_due())
                    }
                })
                .await;
            if let Next::Stop = next {
                return next;
            }
        }
        for id in &due.destructions {
            if lost() {
                return Next::Stop;
            }
            let next = self
                .run_one(provider, Action::KeysDelete, id, None, async {
                    if provider.destroy_due(id, now).await? {
                        tracing::info!(provider = %provider.info().name, key = %id,
                            "key material destroyed after its deletion date");
                        Ok(None)
                    } else {
                        Err(not_due())
                    }
                })
                .await;
            if let Next::Stop = next {
                return next;
            }
        }
        for id in &due.material_expirations {
            let next = self
                .run_one(provider, Action::KeysImport, id, None, async {
                    if provider.expire_material_due(id, now).await? {
                        tracing::info!(provider = %provider.info().name, key = %id,
                            "imported key material deleted at its expiry");
                        Ok(None)
                    } else {
                        Err(not_due())
                    }
                })
                .await;
            self.service.keys.clear();
            if let Next::Stop = next {
                return next;
            }
        }
        Next::Continue
    }

    /// One audited action on key `id` (on its `version` alone when named, which both rows
    /// name): intent, `act` (which returns the new version, if any), outcome.
    async fn run_one(
        &self,
        provider: &DynProvider,
        action: Action,
        id: &str,
        version: Option<&String>,
        act: impl Future<Output = Result<Option<String>>>,
    ) -> Next {
        let mut audit = self.audit(action);
        audit.set_key(&provider.info().name, provider.info().key_uri(id));
        audit.key_version = version.cloned();
        if audit.begin().await.is_err() {
            tracing::error!(provider = %provider.info().name, key = %id, action = action.as_str(),
                "maintenance not run: the audit log cannot record its intent");
            return Next::Stop;
        }
        let result = act.await;
        if let Ok(Some(version)) = &result {
            audit.key_version = Some(version.clone());
        }
        if let Err(e) = &result {
            tracing::warn!(provider = %provider.info().name, key = %id, action = action.as_str(),
                error = %e, "maintenance failed");
        }
        let _ = audit.done(result).await;
        Next::Continue
    }
}

/// The outcome of an action that was due when listed and no longer was when run (another
/// process sharing the store ran it first).
fn not_due() -> Error {
    Error::state("not due any more (another process ran it first)".to_owned())
}
