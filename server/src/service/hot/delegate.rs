//! [`HotStore`] as a whole gateway store: every call is counted and passed on to the
//! backend, except the reads of hot records it can answer from memory; every write that may
//! change a remembered record empties the memory once the backend returned.

use std::collections::BTreeMap;

use async_trait::async_trait;
use keygate_core::api::{Alias, TokenInfo};
use keygate_core::audit::{AuditEvent, AuditQuery};
use keygate_core::{KeyRef, Result};
use time::OffsetDateTime;

use super::{HotStore, remember};
use crate::store::copy::{Cell, CopyPage, CopyTable, TableCopy};
use crate::store::{
    Access, Aliases, AuditAppendError, AuditHead, AuditRows, AwsKeyIds, ChainedAuditRow,
    GcpRecords, KeyRecord, ObjectWrite, OutcomeRow, PolicyDocument, ScannedAuditRow, Store,
    StoredCheckpoint, TokenInsert, TokenRecord, TokenRecords, WriteAppended,
};

#[async_trait]
impl TokenRecords for HotStore {
    async fn insert_token(&self, token: &TokenRecord) -> Result<TokenInsert> {
        self.count(Access::Write);
        let inserted = self.inner.insert_token(token).await;
        self.changed().await;
        inserted
    }

    async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        self.count(Access::Read);
        self.inner.list_tokens().await
    }

    async fn token(&self, id: &str) -> Result<Option<TokenRecord>> {
        if let Some(hit) = self.serve(|m| m.tokens.get(id).cloned()) {
            return Ok(Some(hit));
        }
        let epoch = self.epoch();
        self.count(Access::Read);
        let found = self.inner.token(id).await?;
        // An unknown id is not remembered: a token issued later works at once.
        if let Some(record) = &found {
            self.keep(epoch, |m| {
                remember(&mut m.tokens, id.to_owned(), record.clone());
            });
        }
        Ok(found)
    }

    async fn revoke_token(&self, id: &str, at: OffsetDateTime) -> Result<bool> {
        self.count(Access::Write);
        let revoked = self.inner.revoke_token(id, at).await;
        self.changed().await;
        revoked
    }

    async fn touch_token(&self, id: &str, at: OffsetDateTime) -> Result<()> {
        self.count(Access::Write);
        self.inner.touch_token(id, at).await?;
        // Bookkeeping, not a change of what the token may do: the remembered record only
        // learns when it was last used.
        let mut memo = self.memo();
        if let Some(record) = memo.tokens.get_mut(id) {
            record.last_used = Some(at);
        }
        Ok(())
    }
}

#[async_trait]
impl Aliases for HotStore {
    async fn insert_alias(&self, alias: &Alias) -> Result<()> {
        self.count(Access::Write);
        let inserted = self.inner.insert_alias(alias).await;
        self.changed().await;
        inserted
    }

    async fn update_alias(&self, name: &str, target: &KeyRef) -> Result<Alias> {
        self.count(Access::Write);
        let updated = self.inner.update_alias(name, target).await;
        self.changed().await;
        updated
    }

    async fn delete_alias(&self, name: &str) -> Result<()> {
        self.count(Access::Write);
        let deleted = self.inner.delete_alias(name).await;
        self.changed().await;
        deleted
    }

    async fn resolve_alias(&self, name: &str) -> Result<KeyRef> {
        if let Some(hit) = self.serve(|m| m.aliases.get(name).cloned()) {
            return Ok(hit);
        }
        let epoch = self.epoch();
        self.count(Access::Read);
        // A missing alias is an error, and errors are never remembered.
        let target = self.inner.resolve_alias(name).await?;
        self.keep(epoch, |m| {
            remember(&mut m.aliases, name.to_owned(), target.clone());
        });
        Ok(target)
    }

    async fn list_aliases(&self) -> Result<Vec<Alias>> {
        self.count(Access::Read);
        self.inner.list_aliases().await
    }
}

#[async_trait]
impl PolicyDocument for HotStore {
    async fn policy_document(&self) -> Result<Option<String>> {
        self.count(Access::Read);
        self.inner.policy_document().await
    }

    async fn put_policy_document(
        &self,
        document: &str,
        revision: &crate::store::PolicyRevision,
    ) -> Result<()> {
        self.count(Access::Write);
        let put = self.inner.put_policy_document(document, revision).await;
        self.changed().await;
        put
    }

    async fn policy_revision(&self) -> Result<Option<crate::store::PolicyRevision>> {
        self.count(Access::Read);
        self.inner.policy_revision().await
    }
}

#[async_trait]
impl AwsKeyIds for HotStore {
    async fn aws_id_of(&self, uri: &str) -> Result<Option<String>> {
        if let Some(hit) = self.serve(|m| m.aws_id_by_uri.get(uri).cloned()) {
            return Ok(Some(hit));
        }
        let epoch = self.epoch();
        self.count(Access::Read);
        let id = self.inner.aws_id_of(uri).await?;
        if let Some(id) = &id {
            self.keep_aws(epoch, id, uri);
        }
        Ok(id)
    }

    async fn aws_uri_of(&self, id: &str) -> Result<Option<String>> {
        if let Some(hit) = self.serve(|m| m.aws_uri_by_id.get(id).cloned()) {
            return Ok(Some(hit));
        }
        let epoch = self.epoch();
        self.count(Access::Read);
        let uri = self.inner.aws_uri_of(id).await?;
        if let Some(uri) = &uri {
            self.keep_aws(epoch, id, uri);
        }
        Ok(uri)
    }

    async fn aws_id_for(&self, uri: &str, fresh: &str) -> Result<String> {
        if let Some(hit) = self.serve(|m| m.aws_id_by_uri.get(uri).cloned()) {
            return Ok(hit);
        }
        let epoch = self.epoch();
        self.count(Access::Write);
        let id = self.inner.aws_id_for(uri, fresh).await?;
        self.keep_aws(epoch, &id, uri);
        Ok(id)
    }

    async fn aws_assign(&self, id: &str, uri: &str, region: Option<&str>) -> Result<()> {
        self.count(Access::Write);
        let assigned = self.inner.aws_assign(id, uri, region).await;
        self.changed().await;
        assigned
    }

    async fn aws_region_of(&self, uri: &str) -> Result<Option<String>> {
        // Not remembered (yet): read from the store on each use.
        self.count(Access::Read);
        self.inner.aws_region_of(uri).await
    }

    async fn aws_regions(&self) -> Result<BTreeMap<String, String>> {
        self.count(Access::Read);
        self.inner.aws_regions().await
    }
}

impl HotStore {
    /// Remembers an AWS key id pair (ids are given once and kept for good).
    fn keep_aws(&self, epoch: u64, id: &str, uri: &str) {
        self.keep(epoch, |m| {
            remember(&mut m.aws_id_by_uri, uri.to_owned(), id.to_owned());
            remember(&mut m.aws_uri_by_id, id.to_owned(), uri.to_owned());
        });
    }
}

#[async_trait]
impl GcpRecords for HotStore {
    async fn create_ring(
        &self,
        project: &str,
        location: &str,
        ring: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        self.count(Access::Write);
        let created = self.inner.create_ring(project, location, ring, now).await;
        self.changed().await;
        created
    }

    async fn ring(
        &self,
        project: &str,
        location: &str,
        ring: &str,
    ) -> Result<Option<OffsetDateTime>> {
        let key = (project.to_owned(), location.to_owned(), ring.to_owned());
        if let Some(hit) = self.serve(|m| m.gcp_rings.get(&key).copied()) {
            return Ok(Some(hit));
        }
        let epoch = self.epoch();
        self.count(Access::Read);
        let created = self.inner.ring(project, location, ring).await?;
        if let Some(at) = created {
            self.keep(epoch, |m| remember(&mut m.gcp_rings, key, at));
        }
        Ok(created)
    }

    async fn rings(&self, project: &str, location: &str) -> Result<Vec<(String, OffsetDateTime)>> {
        self.count(Access::Read);
        self.inner.rings(project, location).await
    }

    async fn key(&self, provider: &str, ring: &str, name: &str) -> Result<Option<KeyRecord>> {
        let key = (provider.to_owned(), ring.to_owned(), name.to_owned());
        if let Some(hit) = self.serve(|m| m.gcp_keys.get(&key).cloned()) {
            return Ok(Some(hit));
        }
        let epoch = self.epoch();
        self.count(Access::Read);
        let record = self.inner.key(provider, ring, name).await?;
        if let Some(record) = &record {
            self.keep(epoch, |m| remember(&mut m.gcp_keys, key, record.clone()));
        }
        Ok(record)
    }

    async fn put_key(&self, rec: &KeyRecord, now: OffsetDateTime) -> Result<()> {
        self.count(Access::Write);
        let put = self.inner.put_key(rec, now).await;
        self.changed().await;
        put
    }

    async fn destroys(&self, key_uri: &str) -> Result<Vec<(String, OffsetDateTime)>> {
        self.count(Access::Read);
        self.inner.destroys(key_uri).await
    }

    async fn add_destroy(&self, key_uri: &str, version: &str, at: OffsetDateTime) -> Result<()> {
        self.count(Access::Write);
        self.inner.add_destroy(key_uri, version, at).await
    }

    async fn remove_destroy(&self, key_uri: &str, version: &str) -> Result<bool> {
        self.count(Access::Write);
        self.inner.remove_destroy(key_uri, version).await
    }
}

#[async_trait]
impl AuditRows for HotStore {
    async fn audit_head(&self) -> Result<AuditHead> {
        self.count(Access::Read);
        self.inner.audit_head().await
    }

    async fn audit_row_count(&self) -> Result<u64> {
        self.count(Access::Read);
        self.inner.audit_row_count().await
    }

    async fn append_audit_rows(&self, rows: &[ChainedAuditRow]) -> Result<(), AuditAppendError> {
        self.count(Access::Write);
        self.inner.append_audit_rows(rows).await
    }

    async fn append_with_write(
        &self,
        write: &ObjectWrite,
        row: OutcomeRow<'_>,
    ) -> Result<WriteAppended, AuditAppendError> {
        self.count(Access::Write);
        let appended = self.inner.append_with_write(write, row).await;
        // Committed or not, what was remembered may be older than the store now.
        self.changed().await;
        appended
    }

    async fn query_audit_rows(&self, q: &AuditQuery, limit: u32) -> Result<Vec<AuditEvent>> {
        self.count(Access::Read);
        self.inner.query_audit_rows(q, limit).await
    }

    async fn scan_audit_rows(
        &self,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ScannedAuditRow>> {
        self.count(Access::Read);
        self.inner.scan_audit_rows(after, limit).await
    }

    async fn count_successes_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<keygate_core::cost::ActionCount>> {
        self.count(Access::Read);
        self.inner.count_successes_since(since).await
    }

    async fn count_unresolved_intents(&self) -> Result<u64> {
        self.count(Access::Read);
        self.inner.count_unresolved_intents().await
    }

    async fn save_audit_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<()> {
        self.count(Access::Write);
        self.inner.save_audit_checkpoint(checkpoint).await
    }

    async fn latest_audit_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        self.count(Access::Read);
        self.inner.latest_audit_checkpoint().await
    }
}

#[async_trait]
impl TableCopy for HotStore {
    async fn count_table(&self, table: &CopyTable) -> Result<u64> {
        self.count(Access::Read);
        self.inner.count_table(table).await
    }

    async fn read_table(
        &self,
        table: &CopyTable,
        page: CopyPage,
        limit: u32,
    ) -> Result<Vec<Vec<Cell>>> {
        self.count(Access::Read);
        self.inner.read_table(table, page, limit).await
    }

    async fn write_table(&self, table: &CopyTable, rows: &[Vec<Cell>]) -> Result<()> {
        self.count(Access::Write);
        let written = self.inner.write_table(table, rows).await;
        // Whole rows of remembered tables (tokens, aliases, key ids…) may have arrived.
        self.changed().await;
        written
    }
}

#[async_trait]
impl Store for HotStore {
    async fn ping(&self) -> Result<()> {
        self.count(Access::Read);
        self.inner.ping().await
    }

    async fn check_writable(&self) -> Result<()> {
        self.count(Access::Write);
        self.inner.check_writable().await
    }

    fn scheduler_lease(
        &self,
        replica: &str,
        lease: std::time::Duration,
    ) -> Option<Box<dyn crate::store::SchedulerLease>> {
        self.inner.scheduler_lease(replica, lease)
    }

    async fn scheduler_leader(&self) -> Result<Option<String>> {
        self.count(Access::Read);
        self.inner.scheduler_leader().await
    }

    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn size_on_disk(&self) -> Option<u64> {
        self.inner.size_on_disk()
    }

    async fn change_generation(&self) -> Result<u64> {
        self.count(Access::Read);
        self.inner.change_generation().await
    }
}
