//! Rotation policies (a rotation schedule with an expiry policy) through the service layer, and the `keys:notify` events maintenance
//! records when a primary version's expiry notification comes due.

use keygate_core::access::Action;
use keygate_core::api::Resolved;
use keygate_core::audit::{AuditOutcome, NewAuditEvent};
use keygate_core::{Error, ExpiryPolicy, KeyLocator, Result, RotationSchedule};
use time::OffsetDateTime;

use super::{SCHEDULER_PRINCIPAL, Service, Session, Source};

/// The audit action of an expiry notification (an event, not a permission).
pub const NOTIFY_ACTION: &str = "keys:notify";

/// A key's rotation schedule with its expiry policy: what a Key Vault rotation policy holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// The automatic rotation schedule.
    pub rotation: Option<RotationSchedule>,
    /// The expiry policy (always `None` where the provider keeps none).
    pub expiry: Option<ExpiryPolicy>,
}

impl Session {
    /// The key's rotation schedule and expiry policy, in one call (`keys:describe`, one
    /// audit row). A provider that keeps no expiry policies reports none.
    ///
    /// # Errors
    /// As [`KeyProvider::get_rotation`](keygate_core::KeyProvider::get_rotation) and
    /// [`KeyProvider::get_expiry`](keygate_core::KeyProvider::get_expiry).
    pub async fn get_rotation_policy(&self, key: &KeyLocator) -> Result<Resolved<RotationPolicy>> {
        self.key_op(Action::KeysDescribe, key, |k, _| async move {
            let rotation = k.provider.get_rotation(&k.id).await?;
            let expiry = if k.provider.capabilities().expiry_policy {
                k.provider.get_expiry(&k.id).await?
            } else {
                None
            };
            Ok((k.answer(RotationPolicy { rotation, expiry }), None))
        })
        .await
    }

    /// Sets the key's expiry policy, then its rotation schedule, in one call (`keys:rotate`,
    /// one audit row); returns both as stored.
    ///
    /// # Errors
    /// [`Error::Unsupported`](keygate_core::Error::Unsupported) for an expiry policy on a
    /// provider that keeps none (nothing is changed); else as
    /// [`KeyProvider::set_expiry`](keygate_core::KeyProvider::set_expiry) and
    /// [`KeyProvider::set_rotation`](keygate_core::KeyProvider::set_rotation).
    pub async fn set_rotation_policy(
        &self,
        key: &KeyLocator,
        policy: RotationPolicy,
    ) -> Result<Resolved<RotationPolicy>> {
        self.key_op(Action::KeysRotate, key, |k, _| async move {
            let expiry = if k.provider.capabilities().expiry_policy {
                k.provider.set_expiry(&k.id, policy.expiry).await?
            } else if policy.expiry.is_some() {
                return Err(Error::Unsupported(format!(
                    "provider `{}` keeps no expiry policies",
                    k.provider.info().name
                )));
            } else {
                None
            };
            let rotation = k.provider.set_rotation(&k.id, policy.rotation).await?;
            Ok((k.answer(RotationPolicy { rotation, expiry }), None))
        })
        .await
    }
}

impl Service {
    /// Records one `keys:notify` event: `version` of the key at `key` (its URI) came due for
    /// its expiry notification.
    ///
    /// # Errors
    /// The audit log's, when it cannot write the event (the notification is then not marked
    /// made, and the next pass tries again).
    pub(super) async fn record_notification(
        &self,
        now: OffsetDateTime,
        provider: &str,
        key: String,
        version: String,
    ) -> Result<()> {
        tracing::info!(%provider, %key, %version, "key version expiry notification");
        let event = NewAuditEvent {
            time: now,
            request_id: uuid::Uuid::new_v4().to_string(),
            principal: SCHEDULER_PRINCIPAL.to_owned(),
            source: Source::Scheduler.as_str().to_owned(),
            action: NOTIFY_ACTION.to_owned(),
            provider: Some(provider.to_owned()),
            key: Some(key),
            key_version: Some(version),
            outcome: AuditOutcome::Success,
            error_kind: None,
            duration_us: 0,
            intent_seq: None,
        };
        self.audit.append(event).await.map(drop)
    }
}
