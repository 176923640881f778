//! The gateway's own store: state that belongs to no single provider (cross-provider aliases,
//! the audit log, tokens, the access policy, the dialects' id tables). SQLite through sqlx by
//! default ([`sqlite`]), written in plain SQL so a PostgreSQL store can follow.
//!
//! The dialects' records are typed store traits ([`AwsKeyIds`], [`GcpRecords`]) that the
//! service hands out; no crate but this one runs SQL.

mod audit;
mod aws;
mod gcp;
mod policy;
pub mod sqlite;
mod tokens;

pub use audit::{AppendError, AuditHead, AuditRows, ChainedRow, ScannedRow};
pub use aws::AwsKeyIds;
pub use gcp::{GcpRecords, KeyRecord};
pub use keygate_core::api::Alias;
pub use policy::{PolicyDocument, PolicyRevision};
pub use sqlite::SqliteStore;
pub use tokens::{TokenInsert, TokenRecord, TokenRecords};

/// The gateway store other crates open by name: today the SQLite store.
pub type GatewayStore = SqliteStore;
