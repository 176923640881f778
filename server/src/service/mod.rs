//! The service layer: the one place where every call is authorized against the gateway access
//! policy and written to the audit log, for every provider and every way in (CLI, REST,
//! console, cloud dialects).
//!
//! A [`Service`] holds the provider registry, the audit log, the token store, the access
//! policy and the data-key cache. A [`Session`] binds it to one caller and implements
//! [`keygate_core::api::Gateway`]; front ends only ever talk to a session.

mod cost;
mod doors;
mod envelope;
mod expiry;
mod hot;
mod import;
mod keycache;
mod keypolicy;
mod maintenance;
mod objects;
mod open;
mod raw;
mod run;
mod session;
mod status;
mod usage;
mod versions;
mod wrap;

use std::sync::Arc;

use keygate_core::access::{Action, Identity};
use keygate_core::audit::{AuditOutcome, NewAuditEvent};
use keygate_core::{Error, Result};
use time::OffsetDateTime;

use crate::access::AccessStore;
use crate::audit::AuditLog;
use crate::cache::DataKeyCache;
use crate::config::EnvelopeConfig;
use crate::registry::Registry;
use crate::store::{AwsKeyIds, GcpRecords, RequestKind};
use crate::tokens::TokenAuthority;

pub use expiry::{NOTIFY_ACTION, RotationPolicy};
pub use hot::{MAX_STALENESS, POLL_EVERY};
pub use keypolicy::{enforces_key_policy, kms_action};
pub use session::Session;
pub use status::{BuildInfo, STATUS_PROBE_TIMEOUT};
pub use usage::{KeyRule, check_usage, required_usage};

/// Which way a call came in; recorded in every audit row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The `keygate` CLI on the embedded default.
    Cli,
    /// The REST API.
    Rest,
    /// The terminal console.
    Console,
    /// The AWS KMS dialect.
    Aws,
    /// The GCP Cloud KMS dialect.
    Gcp,
    /// The Azure Key Vault dialect.
    Azure,
    /// The gateway's own maintenance scheduler.
    Scheduler,
}

impl Source {
    /// The name stored in audit rows.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cli => "cli",
            Self::Rest => "rest",
            Self::Console => "console",
            Self::Aws => "aws",
            Self::Gcp => "gcp",
            Self::Azure => "azure",
            Self::Scheduler => "scheduler",
        }
    }
}

/// The calling user's id when no user name is in the environment (`uid-1000`): the owner of
/// this process's `/proc/self`, on Unix.
fn os_user_id() -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        if let Ok(meta) = std::fs::metadata("/proc/self") {
            return format!("uid-{}", meta.uid());
        }
    }
    "unknown".to_owned()
}

/// The principal recorded for the gateway's own maintenance.
const SCHEDULER_PRINCIPAL: &str = "keygate";

/// The gateway service. Cheap to share: hold it in an `Arc`.
#[derive(Debug)]
pub struct Service {
    registry: Registry,
    audit: AuditLog,
    tokens: TokenAuthority,
    access: AccessStore,
    cache: DataKeyCache,
    envelope: EnvelopeConfig,
    keys: keycache::KeyCache,
    key_policies: keypolicy::PolicyCache,
    process: status::ProcessInfo,
    aws_arns: AwsArnScope,
    pricing: keygate_core::cost::PriceList,
    /// The store every part uses: hot records from memory, calls counted.
    hot: Arc<hot::HotStore>,
    leadership: Arc<crate::leader::Leadership>,
}

/// The regions and account keygate's AWS door puts in its key ARNs (`[dialects.aws]`).
#[derive(Debug, Clone)]
pub(crate) struct AwsArnScope(crate::config::AwsDialectConfig);

impl AwsArnScope {
    pub(crate) fn of(config: &crate::config::AwsDialectConfig) -> Self {
        Self(config.clone())
    }
}

impl Service {
    /// The registry of providers: what sessions resolve keys in.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// This process's part in the scheduler's leadership (who runs maintenance among
    /// replicas sharing the store).
    pub fn leadership(&self) -> &Arc<crate::leader::Leadership> {
        &self.leadership
    }

    /// Names this process among replicas and sets the scheduler's lease time
    /// (`[scheduler]`).
    ///
    /// # Errors
    /// [`Error::InvalidState`] once the service is shared (set `[scheduler]` first).
    pub fn configure_scheduler(
        this: &mut Arc<Self>,
        config: &crate::config::SchedulerConfig,
    ) -> Result<()> {
        let service = Arc::get_mut(this)
            .ok_or_else(|| Error::state("the service is already shared: set [scheduler] first"))?;
        service.leadership = Arc::new(crate::leader::Leadership::new(config));
        Ok(())
    }

    /// The audit log every session writes to (the metrics endpoint reads its writer's
    /// counters here).
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// How many gateway store calls each kind of request made since the service started
    /// (`keygate_store_calls_total` in `/metrics`).
    pub fn store_calls(&self) -> Vec<crate::store::StoreCallCount> {
        self.hot.calls().snapshot()
    }

    /// The URI of the key `key` (its provider's URI prefix and its id; no provider call, but
    /// its provider is opened if it is not yet).
    ///
    /// # Errors
    /// [`Error::NotFound`] when its provider is not registered (an alias left pointing at a
    /// provider removed from the configuration).
    pub async fn key_uri(&self, key: &keygate_core::KeyRef) -> Result<String> {
        Ok(self
            .registry
            .provider(&key.provider)
            .await?
            .info()
            .key_uri(&key.id))
    }

    /// The AWS KMS dialect's key ids (a stable UUID per key URI). Naming records only: every
    /// use of a key still goes through a [`Session`].
    pub fn aws_key_ids(&self) -> &dyn AwsKeyIds {
        &**self.registry.store()
    }

    /// The ARN keygate's AWS door names the key at `uri` by, giving the key its UUID the
    /// first time (see [`Gateway::aws_key_arn`](keygate_core::api::Gateway::aws_key_arn)).
    /// It names the key's region: the one the door created it in, else its provider's home
    /// region under `[dialects.aws]` (`region` without a `regions` table).
    ///
    /// # Errors
    /// [`Error::NotFound`] when no registered provider owns `uri`, or, with a `regions`
    /// table, when no region maps to its provider; [`Error::Unavailable`] on a store failure.
    pub async fn aws_key_arn(&self, uri: &str) -> Result<String> {
        let key = self
            .registry
            .resolve(&keygate_core::KeyLocator::Uri(uri.to_owned()))
            .await?;
        let config = &self.aws_arns.0;
        let recorded = self.aws_key_ids().aws_region_of(uri).await?;
        let provider = key.provider.info().name.clone();
        let region = config
            .key_region(recorded.as_deref(), &provider)
            .ok_or_else(|| {
                Error::not_found(format!(
                    "no [dialects.aws] region maps to provider `{provider}`"
                ))
            })?
            .to_owned();
        let fresh = uuid::Uuid::new_v4().to_string();
        let id = self.aws_key_ids().aws_id_for(uri, &fresh).await?;
        Ok(format!(
            "arn:aws:kms:{region}:{}:key/{id}",
            config.account_id
        ))
    }

    /// The GCP Cloud KMS dialect's records (key rings, what it knows of each key, version
    /// destroy requests). Naming records only: every use of a key still goes through a
    /// [`Session`].
    pub fn gcp_records(&self) -> &dyn GcpRecords {
        &**self.registry.store()
    }

    /// Who a bearer token belongs to.
    ///
    /// # Errors
    /// [`Error::Unauthenticated`] with one fixed message for any token that is malformed,
    /// unknown, revoked or expired.
    pub async fn authenticate(&self, bearer: &str) -> Result<Identity> {
        RequestKind::BEARER_AUTH
            .scope(self.tokens.authenticate(bearer))
            .await
    }

    /// Who an AWS access key belongs to, and its secret (to check a SigV4 signature).
    ///
    /// # Errors
    /// [`Error::Unauthenticated`] with one fixed message for an access key that is unknown,
    /// revoked or expired.
    pub async fn authenticate_aws(
        &self,
        access_key_id: &str,
    ) -> Result<(Identity, zeroize::Zeroizing<Vec<u8>>)> {
        RequestKind::AWS_AUTH
            .scope(self.tokens.aws_credentials(access_key_id))
            .await
    }

    /// The state of the key `reference` as a cryptographic call on it read it moments ago
    /// (the resolved-key cache), without another provider call; `None` when not cached. A
    /// dialect uses it to tell a disabled key from other invalid states in its errors.
    pub fn recent_key_state(
        &self,
        reference: &keygate_core::KeyLocator,
    ) -> Option<keygate_core::KeyState> {
        self.keys.get(reference).map(|(_, meta)| meta.state)
    }

    /// Sets the `[envelope]` rules (decrypt order, minimum keys) of a service not yet
    /// shared: [`Service::open`] takes them from the configuration; tests and embedders
    /// built with [`Service::new`] set them here.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a malformed rule; [`Error::InvalidState`] once the
    /// service is shared (sessions hold it).
    pub fn configure_envelopes(this: &mut Arc<Self>, config: EnvelopeConfig) -> Result<()> {
        config.validate()?;
        let service = Arc::get_mut(this)
            .ok_or_else(|| Error::state("the service is already shared: set [envelope] first"))?;
        service.envelope = config;
        Ok(())
    }

    /// Sets the cost view's prices: the built-in defaults with `config`'s overrides.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a negative price; [`Error::InvalidState`] once the
    /// service is shared (set `[pricing]` first).
    pub fn configure_pricing(
        this: &mut Arc<Self>,
        config: &keygate_core::cost::PricingConfig,
    ) -> Result<()> {
        let pricing = keygate_core::cost::PriceList::from_config(config)?;
        let service = Arc::get_mut(this)
            .ok_or_else(|| Error::state("the service is already shared: set [pricing] first"))?;
        service.pricing = pricing;
        Ok(())
    }

    /// A session for `identity` arriving through `source`.
    pub fn session(self: &Arc<Self>, identity: Identity, source: Source) -> Session {
        Session::new(Arc::clone(self), identity, source)
    }

    /// The embedded CLI's session: the operating-system user as `local:<user>`, role `admin`.
    pub fn local_admin(self: &Arc<Self>) -> Session {
        self.local_session(Source::Cli)
    }

    /// The embedded console's session: the same local admin as the CLI, audited with source
    /// `console`.
    pub fn local_console(self: &Arc<Self>) -> Session {
        self.local_session(Source::Console)
    }

    fn local_session(self: &Arc<Self>, source: Source) -> Session {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_else(|_| os_user_id());
        self.session(
            Identity {
                principal: format!("local:{user}"),
                role: "admin".to_owned(),
            },
            source,
        )
    }

    /// Audits a request refused before it reached a session: no valid token (401) or over
    /// the rate limit (429).
    pub async fn record_rejected(
        &self,
        request_id: &str,
        source: Source,
        action: Option<Action>,
        principal: Option<&str>,
        error: &Error,
    ) {
        let event = NewAuditEvent {
            time: OffsetDateTime::now_utc(),
            request_id: request_id.to_owned(),
            principal: principal.unwrap_or("anonymous").to_owned(),
            source: source.as_str().to_owned(),
            action: action.map_or("unknown", Action::as_str).to_owned(),
            provider: None,
            key: None,
            key_version: None,
            outcome: AuditOutcome::Denied,
            error_kind: Some(error.kind().as_str().to_owned()),
            duration_us: 0,
            intent_seq: None,
        };
        if let Err(e) = self.audit.append(event).await {
            tracing::error!(error = %e, "cannot audit a rejected request");
        }
    }

    /// Re-reads what other processes sharing the store may have changed: the access policy
    /// (a `keygate policy set` on the same home, another replica), and, in the background
    /// when due, the name index of which provider holds which key name (see
    /// [`Registry::refresh_index_if_due`]). A running gateway calls this every few seconds.
    /// Tokens, aliases, the dialects' key ids and the policy itself are also re-read within
    /// [`MAX_STALENESS`] of a change by another process, by the service's own watch of the
    /// store's change generation.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the store cannot be read (the policy in force stays).
    pub async fn refresh_shared_state(&self) -> Result<()> {
        self.registry.refresh_index_if_due();
        self.access.get().await.map(|_| ())
    }

    /// Ready when the store answers and the audit log can write: after a failed audit
    /// batch, not ready until a write succeeds again (see [`AuditLog::check_writable`]), since
    /// every call that acts is refused meanwhile.
    ///
    /// # Errors
    /// [`Error::Unavailable`] saying which part is not ready.
    pub async fn ready(&self) -> Result<()> {
        self.registry.store().ping().await?;
        self.audit.check_writable().await
    }
}

#[cfg(test)]
mod cost_tests;
#[cfg(test)]
mod fail_closed_tests;
#[cfg(test)]
mod maintenance_tests;
#[cfg(test)]
mod object_tx_tests;
#[cfg(test)]
mod status_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod wrap_tests;
