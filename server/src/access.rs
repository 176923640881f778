//! The gateway access policy as stored: one current document, validated before it replaces the old one.
//!
//! Every request is authorized against the policy, so the current document is kept in memory
//! ([`AccessStore::current`] is a lock-and-clone of an `Arc`, no database read); the store
//! is the source of truth it is loaded from and written through to.

use std::sync::{Arc, PoisonError, RwLock};

use keygate_core::access::AccessPolicy;
use keygate_core::{Clock, Error, Result, SystemClock};
use tokio::sync::Mutex;

pub use crate::store::PolicyRevision;
use crate::store::{ObjectWrite, ObjectWriter, PolicyDocument};

/// The gateway access policy: a cached current copy over the gateway store.
#[derive(Debug, Clone)]
pub struct AccessStore {
    store: Arc<dyn PolicyDocument>,
    clock: Arc<dyn Clock>,
    current: Arc<RwLock<Arc<AccessPolicy>>>,
    /// Serializes writers (and refreshes) so the cache always ends up equal to the last
    /// document written, whatever order concurrent calls finish in.
    write: Arc<Mutex<()>>,
}

impl AccessStore {
    /// Loads the stored policy (the empty document, where only the built-in roles exist,
    /// when none was ever stored).
    ///
    /// # Errors
    /// [`Error::Unavailable`] on a store failure; [`Error::InvalidState`] when the stored
    /// document no longer validates (the gateway refuses to guess at a broken policy).
    pub async fn load(store: Arc<dyn PolicyDocument>) -> Result<Self> {
        Self::load_with_clock(store, Arc::new(SystemClock)).await
    }

    /// [`AccessStore::load`] with the clock that stamps updates.
    ///
    /// # Errors
    /// As [`AccessStore::load`].
    pub async fn load_with_clock(
        store: Arc<dyn PolicyDocument>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let policy = read(&*store).await?;
        Ok(Self {
            store,
            clock,
            current: Arc::new(RwLock::new(Arc::new(policy))),
            write: Arc::new(Mutex::new(())),
        })
    }

    /// The policy in force, from memory: what request authorization uses.
    pub fn current(&self) -> Arc<AccessPolicy> {
        // A poisoned lock only means a writer panicked between two plain assignments; the
        // Arc inside is always a whole policy.
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The stored policy, re-read from the store (and the in-memory copy refreshed with it,
    /// picking up changes made by another gateway sharing the store).
    ///
    /// # Errors
    /// As [`AccessStore::load`].
    pub async fn get(&self) -> Result<AccessPolicy> {
        let _writer = self.write.lock().await;
        let policy = read(&*self.store).await?;
        self.install(policy.clone());
        Ok(policy)
    }

    /// Validates `policy` and makes it the policy in force, recording who changed it. The
    /// document is stored through `writer` (the service commits it with the call's outcome
    /// audit row); the policy in force changes only once that committed.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the document does not validate (nothing changes:
    /// neither the store nor the policy in force); [`Error::Unavailable`] on a store failure
    /// (the policy in force stays the old one).
    pub async fn set(
        &self,
        policy: AccessPolicy,
        updated_by: &str,
        writer: &mut dyn ObjectWriter,
    ) -> Result<AccessPolicy> {
        policy.validate()?;
        let document = policy.to_json()?;
        let revision = PolicyRevision {
            updated: self.clock.now(),
            updated_by: updated_by.to_owned(),
        };
        let _writer = self.write.lock().await;
        writer
            .apply(ObjectWrite::PutPolicy { document, revision })
            .await?;
        self.install(policy.clone());
        Ok(policy)
    }

    /// Who last stored the policy and when; `None` while it was never set.
    ///
    /// # Errors
    /// [`Error::Unavailable`] on a store failure.
    pub async fn revision(&self) -> Result<Option<PolicyRevision>> {
        self.store.policy_revision().await
    }

    fn install(&self, policy: AccessPolicy) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(policy);
    }
}

async fn read(store: &dyn PolicyDocument) -> Result<AccessPolicy> {
    let Some(document) = store.policy_document().await? else {
        return Ok(AccessPolicy::default());
    };
    AccessPolicy::from_json(&document)
        .map_err(|e| Error::state(format!("the stored access policy is invalid: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::audit::tests::LogWriter;
    use crate::store::GatewayStore;
    use keygate_core::access::{Action, Identity};
    use keygate_core::{ErrorKind, ManualClock};
    use time::OffsetDateTime;

    const T0: OffsetDateTime = time::macros::datetime!(2030-01-01 00:00:00 UTC);

    async fn in_memory() -> (Arc<dyn PolicyDocument>, LogWriter) {
        let store = GatewayStore::in_memory().await.unwrap();
        let writer = LogWriter::on(&store).await;
        (Arc::new(store), writer)
    }

    fn rotator_policy() -> AccessPolicy {
        AccessPolicy::from_toml(
            r#"
            [roles.rotator]
            statements = [{ effect = "allow", actions = ["keys:rotate"], keys = { name = "prod-*" } }]
            [[statements]]
            effect = "deny"
            actions = ["crypto:decrypt"]
            principals = ["ci-*"]
            "#,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn empty_until_set_then_roundtrips() {
        let (store, mut w) = in_memory().await;
        let clock = Arc::new(ManualClock::new(T0));
        let access = AccessStore::load_with_clock(store.clone(), clock)
            .await
            .unwrap();
        assert_eq!(access.get().await.unwrap(), AccessPolicy::default());
        assert_eq!(*access.current(), AccessPolicy::default());
        assert_eq!(access.revision().await.unwrap(), None);

        let policy = rotator_policy();
        assert_eq!(
            access.set(policy.clone(), "alice", &mut w).await.unwrap(),
            policy
        );
        assert_eq!(*access.current(), policy);
        assert_eq!(access.get().await.unwrap(), policy);
        assert_eq!(
            access.revision().await.unwrap(),
            Some(PolicyRevision {
                updated: T0,
                updated_by: "alice".into()
            })
        );
        // A second store over the same database sees it (what a restart does).
        let reloaded = AccessStore::load(store).await.unwrap();
        assert_eq!(*reloaded.current(), policy);
        let ci = Identity {
            principal: "ci-1".into(),
            role: "admin".into(),
        };
        assert!(
            !reloaded
                .current()
                .evaluate(&ci, Action::CryptoDecrypt, None)
                .allowed
        );

        // Replacing works too (one row, updated in place).
        access
            .set(AccessPolicy::default(), "bob", &mut w)
            .await
            .unwrap();
        assert_eq!(access.get().await.unwrap(), AccessPolicy::default());
        assert_eq!(access.revision().await.unwrap().unwrap().updated_by, "bob");
    }

    #[tokio::test]
    async fn invalid_document_is_rejected_and_the_old_one_kept() {
        let (store, mut w) = in_memory().await;
        let access = AccessStore::load(store.clone()).await.unwrap();
        let good = rotator_policy();
        access.set(good.clone(), "alice", &mut w).await.unwrap();

        let mut bad = good.clone();
        bad.roles
            .insert("admin".into(), bad.roles["rotator"].clone());
        bad.statements[0].actions.push("crypto:decrpyt".into());
        let err = access.set(bad, "mallory", &mut w).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.to_string().contains("built-in role"), "{err}");
        assert!(err.to_string().contains("crypto:decrpyt"), "{err}");

        assert_eq!(*access.current(), good);
        assert_eq!(access.get().await.unwrap(), good);
        assert_eq!(
            access.revision().await.unwrap().unwrap().updated_by,
            "alice"
        );
    }

    #[tokio::test]
    async fn a_corrupt_stored_document_is_refused_not_ignored() {
        let (store, _) = in_memory().await;
        // Written past the validation `set` does, as an older or broken writer could.
        store
            .put_policy_document(
                "{\"roles\": {\"app\": {\"statements\": []}}}",
                &PolicyRevision {
                    updated: T0,
                    updated_by: "x".into(),
                },
            )
            .await
            .unwrap();
        let err = AccessStore::load(store).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidState);
    }
}
