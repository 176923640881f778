//! The gateway's own store: state that belongs to no single provider (cross-provider aliases,
//! the audit log, tokens and AWS access keys, the access policy, the dialects' records).
//!
//! Each kind of state is a typed trait, documented with what it promises: [`Aliases`],
//! [`AuditRows`], [`TokenRecords`], [`PolicyDocument`], [`AwsKeyIds`] and [`GcpRecords`].
//! A backend implements all of them, [`copy::TableCopy`] (whole tables as stored, for
//! `keygate store migrate`) and [`Store`]; the registry and the service hold it as an
//! `Arc<dyn Store>` and hand each part only the trait it needs. Two backends implement them:
//! the SQLite store ([`sqlite`], the embedded default) and the PostgreSQL store
//! ([`postgres`], for a database server); they are the only places keygate-server runs SQL.
//!
//! A gateway object written on behalf of a caller (a token, an alias, the access policy, a
//! GCP key ring) is described as an [`ObjectWrite`] and applied by
//! [`AuditRows::append_with_write`] in the same transaction as the call's outcome audit row;
//! the per-table write methods remain for reading back and for the store's own tests.

mod aliases;
mod audit;
mod aws;
mod calls;
#[cfg(test)]
mod checkpoint_tests;
pub mod copy;
mod gcp;
mod lease;
mod objects;
mod policy;
pub mod postgres;
pub mod sqlite;
#[cfg(test)]
pub(crate) mod tests;
mod tokens;

use async_trait::async_trait;
use keygate_core::Result;

pub use aliases::{Aliases, AliasesExt, new_alias};
pub use audit::{
    AuditAppendError, AuditHead, AuditRows, ChainedAuditRow, OutcomeRow, ScannedAuditRow,
    StoredCheckpoint, WriteAppended,
};
pub use aws::AwsKeyIds;
pub use calls::{Access, RequestKind, StoreCallCount, StoreCalls};
pub use gcp::{GcpRecords, KeyRecord};
pub use keygate_core::api::Alias;
pub use lease::SchedulerLease;
pub use objects::{ObjectWrite, ObjectWriter, ObjectWritten};
pub use policy::{PolicyDocument, PolicyRevision};
pub use postgres::{PostgresOptions, PostgresStore};
pub use sqlite::SqliteStore;
pub use tokens::{TokenInsert, TokenRecord, TokenRecords};

/// The gateway store other crates open by name: today the SQLite store.
pub type GatewayStore = SqliteStore;

/// A whole gateway store: every kind of state the gateway keeps, in one backend.
///
/// A backend implements each supertrait and this one; `Registry::new` takes it as an
/// `Arc<dyn Store>` (or anything that converts into one, as [`SqliteStore`] does).
///
/// No method of these traits has a default body, so a backend or a wrapper (the service's
/// store with hot records in memory) cannot forget one: the compiler asks for every method,
/// and a wrapper that passes calls on passes every one. Conveniences built only from the
/// required methods live in extension traits with blanket impls ([`AliasesExt`]).
///
/// # Contract
/// - What one caller wrote, any caller of the same store then reads: several processes (the
///   CLI beside `keygate serve`) or replicas may share one store.
/// - Driver errors are [`Error::Unavailable`](keygate_core::Error::Unavailable) naming the
///   part of the store, with the driver's error as the cause; the service fails closed on
///   them.
#[async_trait]
pub trait Store:
    Aliases + AuditRows + TokenRecords + PolicyDocument + AwsKeyIds + GcpRecords + copy::TableCopy
{
    /// Answers when the store can be reached (readiness).
    ///
    /// # Errors
    /// [`Error::Unavailable`](keygate_core::Error::Unavailable) saying why not.
    async fn ping(&self) -> Result<()>;

    /// Answers when the store would take a write now: it takes the write lock a transaction
    /// needs and gives it back without writing anything (`keygate status`).
    ///
    /// # Errors
    /// [`Error::Unavailable`](keygate_core::Error::Unavailable) saying why not (a read-only
    /// file, a full disk, a lock held past the busy timeout).
    async fn check_writable(&self) -> Result<()>;

    /// A lease on the leadership of the maintenance scheduler, for the process named
    /// `replica`, which the database ends when it is not renewed within `lease`; `None` when
    /// the store has no such lease (SQLite: the processes on one home each run their own
    /// maintenance pass, which the providers make safe by re-checking what is due in the
    /// transaction that acts).
    fn scheduler_lease(
        &self,
        replica: &str,
        lease: std::time::Duration,
    ) -> Option<Box<dyn SchedulerLease>>;

    /// The replica that holds the scheduler's lease now, as it named itself; `None` when
    /// none does or the store has no lease.
    ///
    /// # Errors
    /// [`Error::Unavailable`](keygate_core::Error::Unavailable) when the store cannot be
    /// read.
    async fn scheduler_leader(&self) -> Result<Option<String>>;

    /// The backend's name as `keygate status` shows it (`sqlite`, `postgres`).
    fn backend(&self) -> &'static str;

    /// A number that changes whenever a token, an alias, the access policy, an AWS key id or
    /// a GCP key ring or key record changes, whoever changed it (another process on the same
    /// store included), and not when only audit rows or a token's `last_used` are written.
    /// The service keeps those records in memory and re-reads them when this moves.
    ///
    /// # Errors
    /// [`Error::Unsupported`](keygate_core::Error::Unsupported) from a backend that cannot
    /// tell: the service then reads those records from the store on every use;
    /// [`Error::Unavailable`](keygate_core::Error::Unavailable) when the store cannot be read.
    async fn change_generation(&self) -> Result<u64>;

    /// The bytes the store occupies on disk (for SQLite the database file and its
    /// write-ahead log); `None` when it is not in files of this machine (in memory, or on a
    /// database server).
    fn size_on_disk(&self) -> Option<u64>;
}
