//! The audit model: one event schema for every provider and every way in (CLI, REST,
//! console, cloud dialects). Events never carry plaintext, key material or tokens.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// The call succeeded.
    Success,
    /// The gateway policy refused the call; the provider was not called.
    Denied,
    /// The call was allowed but failed (see `error_kind`).
    Failure,
}

/// One audited call, as stored: a row of the hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Position in the chain, from 1, without gaps.
    pub seq: u64,
    /// When the call started.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// The request id the caller saw.
    pub request_id: String,
    /// Who called (token principal, or `local:<user>` for the embedded CLI).
    pub principal: String,
    /// Which way in: `cli`, `rest`, `console`, `aws`, `gcp`, `azure`, `scheduler`.
    pub source: String,
    /// The gateway action, as in [`crate::access::Action::as_str`].
    pub action: String,
    /// The provider the call went to, when known.
    pub provider: Option<String>,
    /// The key's URI, when the call was about one key.
    pub key: Option<String>,
    /// The key version used, when the provider said.
    pub key_version: Option<String>,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// The error kind ([`crate::ErrorKind::as_str`]) when it did not succeed.
    pub error_kind: Option<String>,
    /// How long the call took, in microseconds.
    pub duration_us: u64,
    /// The previous row's hash (hex; 64 zeros for the first row).
    pub prev_hash: String,
    /// This row's hash (hex SHA-256 over `prev_hash` and the row's fields).
    pub hash: String,
}

/// Filters and paging for reading the audit log. Every filter is optional; `after` is the
/// cursor (a `seq`): rows with a greater `seq` are returned, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// Only rows at or after this time.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub since: Option<OffsetDateTime>,
    /// Only rows before this time.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub until: Option<OffsetDateTime>,
    /// Only rows about this key URI.
    #[serde(default)]
    pub key: Option<String>,
    /// Only rows of this principal.
    #[serde(default)]
    pub principal: Option<String>,
    /// Only rows of this action (`crypto:*` style prefixes allowed).
    #[serde(default)]
    pub action: Option<String>,
    /// Only rows with this outcome.
    #[serde(default)]
    pub outcome: Option<AuditOutcome>,
    /// Cursor: only rows with `seq` greater than this.
    #[serde(default)]
    pub after: Option<u64>,
    /// Page size (the store caps it).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// The first row where the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenRow {
    /// The row's `seq` (for a deleted row: the first `seq` after the gap).
    pub seq: u64,
    /// What is wrong: edited, out of order, missing rows before it.
    pub reason: String,
}

/// The result of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditVerification {
    /// Rows checked.
    pub rows: u64,
    /// The hash of the last row (the chain head), when there are rows.
    pub head: Option<String>,
    /// The first broken row, or `None` when the whole chain verifies.
    pub first_broken: Option<BrokenRow>,
}
