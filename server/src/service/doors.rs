//! What the doors ask of the service besides the [`Gateway`](keygate_core::api::Gateway)
//! calls: the early refusal of a caller who may act on no key at all, and audited writes of
//! a dialect's own records (GCP key rings and version destroy requests), each committed in
//! the same store transaction as its outcome audit row.
//!
//! A door may keep records of its own (names it shows for keys, rings); reading them tells
//! which keys exist. So every door first asks [`Session::screen`], before it reads any such
//! record or resolves any key reference: a caller who may do the action on no key gets the
//! same refusal, and the same `denied` audit row, whatever it names.

use std::future::Future;

use keygate_core::access::Action;
use keygate_core::{KeyLocator, KeyMetadata, Result};

use super::Session;
use crate::store::{ObjectWrite, ObjectWriter as _};

impl Session {
    /// Refuses a caller whose role allows `action` on no key at all, before anything is
    /// looked up: the refusal is audited as `denied` (with the policy's reason, which only
    /// the audit row carries) and answered with [`Error::PermissionDenied`](keygate_core::Error::PermissionDenied)
    /// whatever key the request names, existing or not. A caller who may do `action` on some
    /// key passes; each call then authorizes it on the key itself.
    ///
    /// # Errors
    /// [`Error::PermissionDenied`](keygate_core::Error::PermissionDenied), or
    /// [`Error::Unavailable`](keygate_core::Error::Unavailable) when the refusal cannot be
    /// audited.
    pub async fn screen(&self, action: Action) -> Result<()> {
        self.kind(action)
            .scope(async {
                let policy = self.policy();
                if policy.may_ever(&self.identity, action) {
                    return Ok(());
                }
                let reason = policy.evaluate(&self.identity, action, None).reason;
                let mut audit = self.audit(action);
                let denied = audit.deny(reason);
                audit.done(Err(denied)).await
            })
            .await
    }

    /// The answer to a key reference a door could not find in its own records (an unknown
    /// AWS key id, a GCP key in no ring): audited, and for a caller allowed `action` only on
    /// some keys refused (`denied`) as a key it may not use would be, so the two read alike;
    /// for a caller allowed `action` on every key, [`Error::NotFound`](keygate_core::Error::NotFound)
    /// with `what` (audited as a `failure`).
    pub async fn missing_key(&self, action: Action, what: String) -> keygate_core::Error {
        self.kind(action)
            .scope(async {
                let policy = self.policy();
                let mut audit = self.audit(action);
                let decision = policy.evaluate(&self.identity, action, None);
                let err = if decision.allowed {
                    keygate_core::Error::NotFound(what.clone())
                } else {
                    audit.deny(format!("{what}: {}", decision.reason))
                };
                match audit.done::<()>(Err(err)).await {
                    Err(e) => e,
                    Ok(()) => keygate_core::Error::NotFound(what),
                }
            })
            .await
    }

    /// Runs `op`, a read of a door's own records that concerns no single key (reading or
    /// listing GCP key rings), or a call refused before it writes, authorized for `action` on
    /// some key (as [`Session::screen`] checks) and audited as one row naming `provider` and
    /// `subject` (the record's name, e.g. the ring's resource name). A write to the gateway
    /// store goes through [`Session::write_record`] instead, which commits it with its
    /// outcome row.
    ///
    /// # Errors
    /// [`Error::PermissionDenied`](keygate_core::Error::PermissionDenied) (audited as
    /// `denied`), `op`'s error (audited as `failure`), or
    /// [`Error::Unavailable`](keygate_core::Error::Unavailable) when the row cannot be written.
    pub async fn record_op<T, F, Fut>(
        &self,
        action: Action,
        provider: &str,
        subject: String,
        op: F,
    ) -> Result<T>
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<T>> + Send,
        T: Send,
    {
        self.kind(action)
            .scope(async {
                let mut audit = self.audit(action);
                audit.provider = Some(provider.to_owned());
                audit.key = Some(subject);
                let result = async {
                    // A ring holds keys: whoever may do `action` on some key may on the ring.
                    let policy = self.policy();
                    if !policy.may_ever(&self.identity, action) {
                        let reason = policy.evaluate(&self.identity, action, None).reason;
                        return Err(audit.deny(reason));
                    }
                    // A write (creating a ring) writes its intent first; a read, one row after.
                    audit.begin().await?;
                    op().await
                }
                .await;
                audit.done(result).await
            })
            .await
    }

    /// Writes a door's own record that concerns no single key (creating a GCP key ring),
    /// authorized for `action` on some key (as [`Session::record_op`]) and committed in the
    /// same store transaction as its outcome audit row (after its intent row), naming
    /// `provider` and `subject`.
    ///
    /// # Errors
    /// [`Error::PermissionDenied`](keygate_core::Error::PermissionDenied) (audited as
    /// `denied`), the write's own error such as
    /// [`Error::AlreadyExists`](keygate_core::Error::AlreadyExists) (audited as `failure`), or
    /// [`Error::Unavailable`](keygate_core::Error::Unavailable) when the intent or the write
    /// with its row cannot be committed (nothing is written then).
    pub async fn write_record(
        &self,
        action: Action,
        provider: &str,
        subject: String,
        write: ObjectWrite,
    ) -> Result<()> {
        self.kind(action)
            .scope(async {
                let mut audit = self.audit(action);
                audit.provider = Some(provider.to_owned());
                audit.key = Some(subject);
                let result = async {
                    let policy = self.policy();
                    if !policy.may_ever(&self.identity, action) {
                        let reason = policy.evaluate(&self.identity, action, None).reason;
                        return Err(audit.deny(reason));
                    }
                    audit.begin().await?;
                    audit.apply(write).await.map(drop)
                }
                .await;
                audit.done(result).await
            })
            .await
    }

    /// Writes a door's own record about the key `key` (a GCP version's destroy request) after
    /// resolving `key` and authorizing `action` on it, committed in the same store
    /// transaction as the call's outcome audit row (after its intent row).
    ///
    /// # Errors
    /// As [`Session::write_record`], and [`Error::NotFound`](keygate_core::Error::NotFound)
    /// for a key that does not exist.
    pub async fn write_key_object(
        &self,
        action: Action,
        key: &KeyLocator,
        write: ObjectWrite,
    ) -> Result<()> {
        self.kind(action)
            .scope(async {
                let mut audit = self.audit(action);
                let result = async {
                    self.authorize_key(&mut audit, action, key).await?;
                    audit.begin().await?;
                    audit.apply(write).await.map(drop)
                }
                .await;
                if super::run::changes_keys(action) {
                    self.service.keys.clear();
                }
                audit.done(result).await
            })
            .await
    }

    /// Runs `op`, a write to a door's own record about the key `key` (a GCP version's
    /// destroy request), after resolving `key` and authorizing `action` on it; audited as
    /// one row naming the key.
    ///
    /// # Errors
    /// As [`Session::record_op`], and [`Error::NotFound`](keygate_core::Error::NotFound)
    /// for a key that does not exist.
    pub async fn write_key_record<T, F, Fut>(
        &self,
        action: Action,
        key: &KeyLocator,
        op: F,
    ) -> Result<T>
    where
        F: FnOnce(KeyMetadata) -> Fut + Send,
        Fut: Future<Output = Result<T>> + Send,
        T: Send,
    {
        self.key_op(
            action,
            key,
            |_, meta| async move { Ok((op(meta).await?, None)) },
        )
        .await
    }
}
