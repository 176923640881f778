//! Expiry policies of the local provider, and the notifications they make due.

use keygate_core::{Error, ExpiryPolicy, KeyState, Result};
use time::OffsetDateTime;

use super::LocalProvider;
use super::error::LocalError;

impl LocalProvider {
    fn parse_expiry(&self, json: &str) -> Result<ExpiryPolicy> {
        serde_json::from_str(json)
            .map_err(|e| self.err(LocalError::Corrupt(format!("stored expiry policy: {e}"))))
    }

    pub(super) async fn get_expiry_impl(&self, key_id: &str) -> Result<Option<ExpiryPolicy>> {
        self.key_record(key_id).await?;
        match self.store.expiry(key_id).await.map_err(|e| self.err(e))? {
            Some(r) => self.parse_expiry(&r.policy_json).map(Some),
            None => Ok(None),
        }
    }

    pub(super) async fn set_expiry_impl(
        &self,
        key_id: &str,
        policy: Option<ExpiryPolicy>,
    ) -> Result<Option<ExpiryPolicy>> {
        let key = self.key_record(key_id).await?;
        if matches!(key.state, KeyState::Destroyed) {
            return Err(Error::state(format!("key `{key_id}` is destroyed")));
        }
        let json =
            match &policy {
                Some(p) => {
                    p.validate()?;
                    Some(serde_json::to_string(p).map_err(|e| {
                        self.err(LocalError::Corrupt(format!("expiry policy: {e}")))
                    })?)
                }
                None => None,
            };
        if !self
            .store
            .set_expiry(key_id, json.as_deref())
            .await
            .map_err(|e| self.err(e))?
        {
            return Err(Error::not_found(format!("key `{key_id}`")));
        }
        Ok(policy)
    }

    /// Keys whose primary version's notification is due at `now` and not yet made, with
    /// that version. Nothing is marked: see [`LocalProvider::mark_notified_impl`].
    pub(super) async fn due_notifications(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<(String, String)>> {
        let mut due = Vec::new();
        for r in self.store.expiries().await.map_err(|e| self.err(e))? {
            let policy = self.parse_expiry(&r.policy_json)?;
            let Some(key) = self.store.key(&r.key_id).await.map_err(|e| self.err(e))? else {
                continue;
            };
            if !matches!(key.state, KeyState::Enabled | KeyState::Disabled)
                || r.notified_version == Some(key.primary_version)
            {
                continue;
            }
            let Some(version) = self
                .store
                .version(&key.id, key.primary_version)
                .await
                .map_err(|e| self.err(e))?
            else {
                continue;
            };
            if policy
                .notify_at(version.created)
                .is_some_and(|at| at <= now)
            {
                due.push((key.id, key.primary_version.to_string()));
            }
        }
        Ok(due)
    }

    /// Records that `version`'s notification of `key_id` was made; `false` when it already
    /// was (two passes, or two processes sharing the store, notify once).
    pub(super) async fn mark_notified_impl(&self, key_id: &str, version: &str) -> Result<bool> {
        let Some(number) = super::validate::version_number(version) else {
            return Ok(false);
        };
        self.store
            .mark_notified(key_id, number)
            .await
            .map_err(|e| self.err(e))
    }
}
