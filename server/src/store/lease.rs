//! Leadership of the maintenance scheduler among the gateway processes that share a store.

use async_trait::async_trait;
use keygate_core::Result;

/// One process's hold on the scheduler's leadership lease (PostgreSQL: a session-level
/// advisory lock on a connection of its own, see
/// [`PostgresStore`](crate::store::PostgresStore)).
///
/// # Contract
/// - At most one holder per store at a time: while [`SchedulerLease::acquire_or_renew`]
///   answers `true` to one process, it answers `false` to every other.
/// - The hold ends when the holder's session ends: [`SchedulerLease::release`], a dropped
///   lease, a process that dies, or a session the database ends because it was not renewed
///   within the lease time the store was asked for. Another process's next call then takes it.
#[async_trait]
pub trait SchedulerLease: Send + Sync + std::fmt::Debug {
    /// Takes the lease when it is free, or renews it when this process holds it. `true` when
    /// this process holds it, from before the call was sent until the lease time has passed
    /// without a renewal.
    ///
    /// # Errors
    /// [`Error::Unavailable`](keygate_core::Error::Unavailable) when the database cannot be
    /// reached; the session is then dropped, so whatever this process held is given up.
    async fn acquire_or_renew(&mut self) -> Result<bool>;

    /// Gives the lease up (ends the session holding it), so that another process takes it at
    /// its next try.
    async fn release(&mut self);
}
