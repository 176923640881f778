//! The gateway access policy as stored: one current document, validated before it replaces the old one.
//!
//! Every request is authorized against the policy, so the current document is kept in memory
//! ([`AccessStore::current`] is a lock-and-clone of an `Arc`, no database read); the store
//! is the source of truth it is loaded from and written through to.

use std::sync::{Arc, PoisonError, RwLock};

use keygate_core::access::AccessPolicy;
use keygate_core::{Clock, Error, Result, SystemClock};
use sqlx::Row;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Mutex;

use crate::store::GatewayStore;

/// Who last changed the policy, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRevision {
    /// When it was stored.
    pub updated: OffsetDateTime,
    /// The principal that stored it.
    pub updated_by: String,
}

/// The gateway access policy: a cached current copy over the gateway store.
#[derive(Debug, Clone)]
pub struct AccessStore {
    store: GatewayStore,
    clock: Arc<dyn Clock>,
    current: Arc<RwLock<Arc<AccessPolicy>>>,
    /// Serializes writers (and refreshes) so the cache always ends up equal to the last
    /// document written, whatever order concurrent calls finish in.
    write: Arc<Mutex<()>>,
}

fn db_err(e: sqlx::Error) -> Error {
    crate::store::db_err("access policy store", e)
}

impl AccessStore {
    /// Loads the stored policy (the empty document, where only the built-in roles exist,
    /// when none was ever stored).
    ///
    /// # Errors
    /// [`Error::Unavailable`] on a store failure; [`Error::InvalidState`] when the stored
    /// document no longer validates (the gateway refuses to guess at a broken policy).
    pub async fn load(store: GatewayStore) -> Result<Self> {
        Self::load_with_clock(store, Arc::new(SystemClock)).await
    }

    /// [`AccessStore::load`] with the clock that stamps updates.
    ///
    /// # Errors
    /// As [`AccessStore::load`].
    pub async fn load_with_clock(store: GatewayStore, clock: Arc<dyn Clock>) -> Result<Self> {
        let policy = read(&store).await?;
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
        let policy = read(&self.store).await?;
        self.install(policy.clone());
        Ok(policy)
    }

    /// Validates `policy` and makes it the policy in force, recording who changed it.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the document does not validate (nothing changes:
    /// neither the store nor the policy in force); [`Error::Unavailable`] on a store failure
    /// (the policy in force stays the old one).
    pub async fn set(&self, policy: AccessPolicy, updated_by: &str) -> Result<AccessPolicy> {
        policy.validate()?;
        let document = policy.to_json()?;
        let updated = self
            .clock
            .now()
            .format(&Rfc3339)
            .map_err(|e| Error::invalid(format!("time out of range: {e}")))?;
        let _writer = self.write.lock().await;
        sqlx::query(
            "INSERT INTO access_policy (id, document, updated, updated_by) VALUES (1, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET document = excluded.document, \
             updated = excluded.updated, updated_by = excluded.updated_by",
        )
        .bind(document)
        .bind(updated)
        .bind(updated_by)
        .execute(self.store.pool())
        .await
        .map_err(db_err)?;
        self.install(policy.clone());
        Ok(policy)
    }

    /// Who last stored the policy and when; `None` while it was never set.
    ///
    /// # Errors
    /// [`Error::Unavailable`] on a store failure.
    pub async fn revision(&self) -> Result<Option<PolicyRevision>> {
        let Some(row) = sqlx::query("SELECT updated, updated_by FROM access_policy WHERE id = 1")
            .fetch_optional(self.store.pool())
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        let updated: String = row.try_get("updated").map_err(db_err)?;
        Ok(Some(PolicyRevision {
            updated: OffsetDateTime::parse(&updated, &Rfc3339).map_err(|e| {
                Error::Unavailable(format!("access policy store: bad time `{updated}`: {e}"))
            })?,
            updated_by: row.try_get("updated_by").map_err(db_err)?,
        }))
    }

    fn install(&self, policy: AccessPolicy) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(policy);
    }
}

async fn read(store: &GatewayStore) -> Result<AccessPolicy> {
    let row = sqlx::query("SELECT document FROM access_policy WHERE id = 1")
        .fetch_optional(store.pool())
        .await
        .map_err(db_err)?;
    let Some(row) = row else {
        return Ok(AccessPolicy::default());
    };
    let document: String = row.try_get("document").map_err(db_err)?;
    AccessPolicy::from_json(&document)
        .map_err(|e| Error::state(format!("the stored access policy is invalid: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use keygate_core::access::{Action, Identity};
    use keygate_core::{ErrorKind, ManualClock};

    const T0: OffsetDateTime = time::macros::datetime!(2030-01-01 00:00:00 UTC);

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
        let store = GatewayStore::in_memory().await.unwrap();
        let clock = Arc::new(ManualClock::new(T0));
        let access = AccessStore::load_with_clock(store.clone(), clock)
            .await
            .unwrap();
        assert_eq!(access.get().await.unwrap(), AccessPolicy::default());
        assert_eq!(*access.current(), AccessPolicy::default());
        assert_eq!(access.revision().await.unwrap(), None);

        let policy = rotator_policy();
        assert_eq!(access.set(policy.clone(), "alice").await.unwrap(), policy);
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
        access.set(AccessPolicy::default(), "bob").await.unwrap();
        assert_eq!(access.get().await.unwrap(), AccessPolicy::default());
        assert_eq!(access.revision().await.unwrap().unwrap().updated_by, "bob");
    }

    #[tokio::test]
    async fn invalid_document_is_rejected_and_the_old_one_kept() {
        let store = GatewayStore::in_memory().await.unwrap();
        let access = AccessStore::load(store.clone()).await.unwrap();
        let good = rotator_policy();
        access.set(good.clone(), "alice").await.unwrap();

        let mut bad = good.clone();
        bad.roles
            .insert("admin".into(), bad.roles["rotator"].clone());
        bad.statements[0].actions.push("crypto:decrpyt".into());
        let err = access.set(bad, "mallory").await.unwrap_err();
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
        let store = GatewayStore::in_memory().await.unwrap();
        sqlx::query(
            "INSERT INTO access_policy (id, document, updated, updated_by) \
             VALUES (1, '{\"roles\": {\"app\": {\"statements\": []}}}', '2030-01-01T00:00:00Z', 'x')",
        )
        .execute(store.pool())
        .await
        .unwrap();
        let err = AccessStore::load(store).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidState);
    }

    #[tokio::test]
    async fn only_one_document_row_can_exist() {
        let store = GatewayStore::in_memory().await.unwrap();
        let second = sqlx::query(
            "INSERT INTO access_policy (id, document, updated, updated_by) VALUES (2, '{}', 'x', 'y')",
        )
        .execute(store.pool())
        .await;
        assert!(second.is_err());
    }
}
