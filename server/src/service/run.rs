//! How one call runs: authorize, write the durable *intent* row, call the provider or change
//! the store, write the *outcome* row, and only then answer.
//!
//! A call that only reads (list, describe, get) is audited by one row written after it. A
//! call that acts (changes state or uses a key) is audited twice: its intent row (outcome
//! `unknown`) is committed before it acts, so a call the audit log cannot record never
//! happens (fail closed, [`Error::Unavailable`]); its outcome row, naming the intent in
//! `intent_seq`, follows. A crash between the two leaves the intent alone, which readers
//! show as `unknown`: never an action without a row. A refusal (policy, or a failure before
//! acting, such as a missing key) is one row, as before.

use std::future::Future;

use async_trait::async_trait;
use std::time::Instant;

use keygate_core::access::{AccessPolicy, Action, KeyAttrs};
use keygate_core::audit::{AuditOutcome, NewAuditEvent};
use keygate_core::{Error, KeyLocator, KeyMetadata, Result};
use time::OffsetDateTime;

use super::Session;
use super::keypolicy::CallFacts;
use crate::registry::ResolvedKey;
use crate::store::{ObjectWrite, ObjectWriter, ObjectWritten, RequestKind};

/// The audit row of one call, filled in as the call learns what it is about.
pub(super) struct Audit<'s> {
    session: &'s Session,
    action: Action,
    request_id: String,
    time: OffsetDateTime,
    started: Instant,
    pub(super) provider: Option<String>,
    pub(super) key: Option<String>,
    pub(super) key_version: Option<String>,
    /// What the key policy check reads of the call beyond its action.
    pub(super) facts: super::keypolicy::CallFacts,
    denied: bool,
    /// The intent row's `seq`, once [`Audit::begin`] made it durable.
    intent_seq: Option<u64>,
    /// [`Audit::begin`] could not write the intent: the call was refused without acting.
    intent_refused: bool,
    /// The outcome row was committed with the call's object write ([`ObjectWriter::apply`]):
    /// [`Audit::done`] writes no second one.
    outcome_written: bool,
    /// The object write and its outcome row could not be committed: neither happened, the
    /// intent stays `unknown` and the call is refused.
    outcome_refused: bool,
}

impl Audit<'_> {
    /// Records the key the call is about.
    pub(super) fn set_key(&mut self, provider: &str, uri: String) {
        self.provider = Some(provider.to_owned());
        self.key = Some(uri);
    }

    /// The policy refused: the row says `denied`, the caller gets
    /// [`Error::PermissionDenied`] with the deciding reason.
    pub(super) fn deny(&mut self, reason: String) -> Error {
        self.denied = true;
        Error::PermissionDenied(reason)
    }

    /// The row of this call with `outcome`, as far as the call has come.
    fn event(&self, outcome: AuditOutcome, error_kind: Option<String>) -> NewAuditEvent {
        NewAuditEvent {
            time: self.time,
            request_id: self.request_id.clone(),
            principal: self.session.identity.principal.clone(),
            source: self.session.source.as_str().to_owned(),
            action: self.action.as_str().to_owned(),
            provider: self.provider.clone(),
            key: self.key.clone(),
            key_version: self.key_version.clone(),
            outcome,
            error_kind,
            duration_us: u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX),
            intent_seq: self.intent_seq,
        }
    }

    /// Writes the intent row of a call that is about to act, once it is authorized and
    /// before it touches a provider or the store. Reads write no intent (their one row comes
    /// after them).
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the row cannot be made durable: the caller must not act.
    pub(super) async fn begin(&mut self) -> Result<()> {
        if is_read(self.action) {
            return Ok(());
        }
        match self
            .session
            .service
            .audit
            .append(self.event(AuditOutcome::Unknown, None))
            .await
        {
            Ok(row) => {
                self.intent_seq = Some(row.seq);
                Ok(())
            }
            Err(e) => {
                self.intent_refused = true;
                tracing::error!(error = %e, "audit log cannot write; refusing the request before it acts");
                Err(refused())
            }
        }
    }

    /// Writes the outcome row and returns `result`.
    ///
    /// Without an intent row (a read, a refusal, a failure before acting) this is the
    /// call's only row, and the call fails closed with [`Error::Unavailable`] when it cannot
    /// be written. After an intent row the call has acted: the outcome is retried a few
    /// times and, if it still cannot be written, `result` is returned all the same (the
    /// durable intent already records the call, and the log shows its outcome as
    /// `unknown`); reporting a failure for an operation that happened would be a lie.
    ///
    /// After [`ObjectWriter::apply`] committed the outcome row with the object write, this
    /// writes nothing and returns `result`; when that commit failed it returns
    /// [`Error::Unavailable`] (nothing changed, the intent stays `unknown`).
    pub(super) async fn done<T>(self, result: Result<T>) -> Result<T> {
        if self.intent_refused || self.outcome_refused {
            return Err(refused());
        }
        if self.outcome_written {
            return result;
        }
        let outcome = match &result {
            Ok(_) => AuditOutcome::Success,
            Err(_) if self.denied => AuditOutcome::Denied,
            Err(_) => AuditOutcome::Failure,
        };
        let event = self.event(
            outcome,
            result.as_ref().err().map(|e| e.kind().as_str().to_owned()),
        );
        let log = &self.session.service.audit;
        let Some(intent) = self.intent_seq else {
            return match log.append(event).await {
                Ok(_) => result,
                Err(e) => {
                    tracing::error!(error = %e, "audit log cannot write; failing the request closed");
                    Err(refused())
                }
            };
        };
        let mut attempt = 0;
        loop {
            match log.append(event.clone()).await {
                Ok(_) => return result,
                Err(e) if attempt + 1 < OUTCOME_ATTEMPTS => {
                    tracing::warn!(error = %e, intent, "audit outcome not written; retrying");
                }
                Err(e) => {
                    tracing::error!(error = %e, intent,
                        "audit outcome not written; the call happened and its intent row stays unknown");
                    return result;
                }
            }
            attempt += 1;
            tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
        }
    }
}

/// A gateway object write commits in the same store transaction as the call's outcome row
/// ([`AuditLog::append_with_write`](crate::audit::AuditLog::append_with_write)): the object
/// changed exactly when that row exists. The intent row came first, in its own transaction.
#[async_trait]
impl ObjectWriter for Audit<'_> {
    async fn apply(&mut self, write: ObjectWrite) -> Result<ObjectWritten> {
        if self.outcome_written || self.outcome_refused {
            return Err(Error::state("a call commits at most one object write"));
        }
        if self.intent_seq.is_none() {
            self.begin().await?;
        }
        let event = self.event(AuditOutcome::Success, None);
        match self
            .session
            .service
            .audit
            .append_with_write(event, write)
            .await
        {
            Ok(result) => {
                // A taken token id committed nothing: the caller writes again.
                if !matches!(result, Ok(ObjectWritten::TokenIdTaken)) {
                    self.outcome_written = true;
                }
                result
            }
            Err(e) => {
                self.outcome_refused = true;
                tracing::error!(error = %e, intent = self.intent_seq,
                    "object write and its outcome row not committed; the call is refused and changed nothing");
                Err(refused())
            }
        }
    }
}

/// How often an outcome row is tried before the call answers without it (its intent row
/// already records the call).
const OUTCOME_ATTEMPTS: u32 = 4;

fn refused() -> Error {
    Error::unavailable("the audit log cannot record this request, so it was refused".to_owned())
}

impl Session {
    /// Starts the audit row of a call.
    pub(super) fn audit(&self, action: Action) -> Audit<'_> {
        Audit {
            session: self,
            action,
            request_id: self
                .request_id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            time: OffsetDateTime::now_utc(),
            started: Instant::now(),
            provider: None,
            key: None,
            key_version: None,
            facts: super::keypolicy::CallFacts::default(),
            denied: false,
            intent_seq: None,
            intent_refused: false,
            outcome_written: false,
            outcome_refused: false,
        }
    }

    /// The kind of request this session serves when it does `action`: the label of the
    /// store calls the call makes (see [`RequestKind`]).
    pub(super) fn kind(&self, action: Action) -> RequestKind {
        RequestKind {
            source: self.source.as_str(),
            action: action.as_str(),
        }
    }

    /// The current access policy.
    pub(super) fn policy(&self) -> std::sync::Arc<AccessPolicy> {
        self.service.access.current()
    }

    /// Authorizes `action`, on the key described by `key` when the call is about one.
    pub(super) fn authorize(
        &self,
        audit: &mut Audit<'_>,
        action: Action,
        key: Option<&KeyAttrs<'_>>,
    ) -> Result<()> {
        let decision = self.policy().evaluate(&self.identity, action, key);
        if decision.allowed {
            Ok(())
        } else {
            Err(audit.deny(decision.reason))
        }
    }

    /// Resolves `key`, reads its metadata and authorizes `action` on it. A caller whose role
    /// allows `action` on no key at all is refused before the key is looked up, so it
    /// cannot probe which keys exist; one allowed `action` only on some keys is refused for
    /// a missing key as for a key it may not use (both audited `denied`).
    pub(super) async fn authorize_key(
        &self,
        audit: &mut Audit<'_>,
        action: Action,
        key: &KeyLocator,
    ) -> Result<(ResolvedKey, KeyMetadata)> {
        let policy = self.policy();
        if !policy.may_ever(&self.identity, action) {
            let decision = policy.evaluate(&self.identity, action, None);
            return Err(audit.deny(decision.reason));
        }
        // The cryptographic hot path reuses a recent resolution (see `keycache`).
        let hot = is_crypto(action);
        let cached = if hot {
            self.service.keys.get(key)
        } else {
            None
        };
        let fresh = cached.is_none();
        let found = async {
            let (resolved, described) = match cached {
                Some((resolved, meta)) => (resolved, Some(meta)),
                None => self.service.registry.resolve_described(key).await?,
            };
            audit.set_key(&resolved.provider.info().name, resolved.uri());
            let meta = match described {
                Some(meta) => meta,
                None => resolved.provider.describe_key(&resolved.id).await?,
            };
            Ok((resolved, meta))
        }
        .await;
        let (resolved, meta) = match found {
            Ok(found) => found,
            // A caller allowed `action` only on some keys (by label, name or provider) could
            // not use a key that does not exist either: it is refused alike, so a missing key
            // and one it may not use read the same to it.
            Err(Error::NotFound(what)) => {
                let decision = policy.evaluate(&self.identity, action, None);
                if decision.allowed {
                    return Err(Error::NotFound(what));
                }
                return Err(audit.deny(format!("{what}: {}", decision.reason)));
            }
            Err(e) => return Err(e),
        };
        if hot && fresh {
            self.service.keys.put(key, &resolved, &meta);
        }
        self.authorize(audit, action, Some(&KeyAttrs::from_metadata(&meta)))?;
        self.check_key(action, &meta)?;
        self.check_key_policy(audit, action, &resolved, &meta)
            .await?;
        Ok((resolved, meta))
    }

    /// The common shape of a call about one key: authorize, run `op`, audit. `op` returns
    /// its value and the key version it used (for the audit row).
    pub(super) async fn key_op<T, F, Fut>(
        &self,
        action: Action,
        key: &KeyLocator,
        op: F,
    ) -> Result<T>
    where
        F: FnOnce(ResolvedKey, KeyMetadata) -> Fut + Send,
        Fut: Future<Output = Result<(T, Option<String>)>> + Send,
        T: Send,
    {
        self.key_op_at(action, key, None, op).await
    }

    /// [`Session::key_op`] on the version the caller named, when it named one: every row of
    /// the call (its intent, a refusal, a failure) names that version; a success names the
    /// version `op` reports, if it reports one.
    pub(super) async fn key_op_at<T, F, Fut>(
        &self,
        action: Action,
        key: &KeyLocator,
        version: Option<&str>,
        op: F,
    ) -> Result<T>
    where
        F: FnOnce(ResolvedKey, KeyMetadata) -> Fut + Send,
        Fut: Future<Output = Result<(T, Option<String>)>> + Send,
        T: Send,
    {
        self.key_op_facts(action, key, version, CallFacts::default(), op)
            .await
    }

    /// [`Session::key_op_at`] with what the key policy check reads of the call (its
    /// encryption context, a KMS action more precise than `action`).
    pub(super) async fn key_op_facts<T, F, Fut>(
        &self,
        action: Action,
        key: &KeyLocator,
        version: Option<&str>,
        facts: CallFacts,
        op: F,
    ) -> Result<T>
    where
        F: FnOnce(ResolvedKey, KeyMetadata) -> Fut + Send,
        Fut: Future<Output = Result<(T, Option<String>)>> + Send,
        T: Send,
    {
        self.kind(action)
            .scope(async {
                let mut audit = self.audit(action);
                audit.key_version = version.map(str::to_owned);
                audit.facts = facts;
                let result = async {
                    let (resolved, meta) = self.authorize_key(&mut audit, action, key).await?;
                    audit.begin().await?;
                    let (value, used) = op(resolved, meta).await?;
                    if used.is_some() {
                        audit.key_version = used;
                    }
                    Ok(value)
                }
                .await;
                if changes_keys(action) {
                    self.service.keys.clear();
                }
                if action == Action::KeysPolicySet {
                    self.service.key_policies.clear();
                }
                audit.done(result).await
            })
            .await
    }

    /// The common shape of a call about no single key.
    pub(super) async fn plain_op<T, F, Fut>(&self, action: Action, op: F) -> Result<T>
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<T>> + Send,
        T: Send,
    {
        self.kind(action)
            .scope(async {
                let mut audit = self.audit(action);
                let result = async {
                    self.authorize(&mut audit, action, None)?;
                    audit.begin().await?;
                    op().await
                }
                .await;
                audit.done(result).await
            })
            .await
    }
}

/// Whether `action` may change what a key resolves to or may be used for.
pub(super) fn changes_keys(action: Action) -> bool {
    !matches!(
        action,
        Action::KeysList
            | Action::KeysDescribe
            | Action::KeysPublicKey
            | Action::KeysPolicyGet
            | Action::KeysCreate
    ) && !is_crypto(action)
}

/// Whether `action` only reads: audited by one row after it, with no intent row before.
fn is_read(action: Action) -> bool {
    matches!(
        action,
        Action::KeysList
            | Action::KeysDescribe
            | Action::KeysPublicKey
            | Action::KeysPolicyGet
            | Action::AliasesList
            | Action::AuditRead
            | Action::TokensList
            | Action::PolicyGet
            | Action::StatusRead
    )
}

/// `crypto:*`: the hot path.
fn is_crypto(action: Action) -> bool {
    action.as_str().starts_with("crypto:")
}
