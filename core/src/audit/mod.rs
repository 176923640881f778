//! The audit model: one event schema for every provider and every way in (CLI, REST,
//! console, cloud dialects). Events never carry plaintext, key material or tokens.
//!
//! # The keyed hash chain
//!
//! Every stored row carries `hash = HMAC-SHA256(chain key, "keygate-audit-v2", prev_hash,
//! encode_row(seq, event))` ([`ChainKey::hash`]), where `prev_hash` is the previous row's
//! `hash` ([`GENESIS_HASH`] for `seq` 1) and the chain key is derived from the gateway root key
//! ([`AuditKeys::from_root_key`]). Editing, deleting or reordering a row breaks the chain at
//! that row (or, for a deletion, at the row after the gap), and someone who can write the
//! database but does not hold the root key cannot re-hash a rewritten suffix.
//!
//! Rows written before keyed chains carry the unkeyed [`chain_hash`]. A verifier accepts the
//! unkeyed form only *before* the first keyed row: once a row is keyed, every later row must
//! be (see [`ChainForm`]).
//!
//! # The Merkle tree and checkpoints
//!
//! The rows are also the leaves of an RFC 6962 Merkle tree ([`merkle`]), leaf `seq` at index
//! `seq - 1`, leaf hash `SHA-256(0x00 || encode_row(seq, event))` (unkeyed: anyone holding a
//! row can check its inclusion). The gateway signs the tree head as a C2SP `tlog-checkpoint`
//! note ([`checkpoint`]); a copy kept elsewhere then proves that rows cut off the end, or a
//! log rewritten from some row on, are no longer the log that was signed.
//!
//! [`encode_row`] is specified byte for byte so that a verifier outside keygate can recompute
//! hashes from an export (JSON lines or CSV carry every hashed field).

use std::fmt::Write as _;
use std::str::FromStr;

use aws_lc_rs::digest;
use serde::{Deserialize, Serialize};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use crate::error::{Error, Result};

pub mod checkpoint;
mod keys;
pub mod merkle;
mod proofs;

pub use keys::{AuditKeys, ChainForm, ChainKey};
pub use proofs::{AuditCheckpoint, CheckpointCheck, ConsistencyProof, InclusionProof};

/// The `prev_hash` of the first row: 64 zeros (the hex width of a SHA-256).
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Domain separation for [`chain_hash`]: a row hash can never be mistaken for a hash computed
/// for another purpose, and a future encoding gets a new tag.
const CHAIN_TAG: &str = "keygate-audit-v1";
/// Domain separation for the keyed chain ([`ChainKey::hash`]).
const KEYED_CHAIN_TAG: &str = "keygate-audit-v2";

/// Fixed-width RFC 3339 in UTC with nanoseconds: text order is time order, which lets a store
/// filter on the text column, and the text round-trips to the exact instant.
const CANONICAL_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");

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
    /// An *intent* row: the call was authorized and is about to act (call a provider or
    /// change the store); its outcome was not known when the row was written. The row
    /// holding the outcome names this row's `seq` in its `intent_seq`. An intent no outcome
    /// row refers to is a call whose result was never recorded (the gateway stopped in
    /// between, or the call is still running).
    Unknown,
}

impl AuditOutcome {
    /// The snake_case name used in JSON, CSV, the store and [`chain_hash`].
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Denied => "denied",
            Self::Failure => "failure",
            Self::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditOutcome {
    type Err = Error;

    /// Parses the name [`AuditOutcome::as_str`] produces.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for any other text.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "success" => Ok(Self::Success),
            "denied" => Ok(Self::Denied),
            "failure" => Ok(Self::Failure),
            "unknown" => Ok(Self::Unknown),
            other => Err(Error::invalid(format!("unknown audit outcome {other:?}"))),
        }
    }
}

/// Formats an audit time the way the store and exports write it: RFC 3339 in UTC with exactly
/// nine fractional digits (`2026-11-23T18:34:45.123456789Z`), so text order is time order.
///
/// # Errors
/// [`Error::InvalidArgument`] for a year outside 0000..=9999, which has no such form.
pub fn canonical_time(time: OffsetDateTime) -> Result<String> {
    let utc = time.to_offset(UtcOffset::UTC);
    if !(0..=9999).contains(&utc.year()) {
        return Err(Error::invalid(format!(
            "audit time out of range: year {}",
            utc.year()
        )));
    }
    utc.format(CANONICAL_TIME)
        .map_err(|e| Error::invalid(format!("audit time: {e}")))
}

/// The time `text` spells when it is exactly as [`canonical_time`] writes it
/// (`YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`), else `None`: a reader's fast path, with no general
/// RFC 3339 parsing and no formatting to compare against.
pub fn parse_canonical_time(text: &str) -> Option<OffsetDateTime> {
    let b = text.as_bytes();
    if b.len() != 30 {
        return None;
    }
    let punctuation = [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
    ];
    if b[29] != b'Z' || punctuation.iter().any(|&(i, c)| b[i] != c) {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let year = i32::try_from(number(0, 4)?).ok()?;
    let month = time::Month::try_from(u8::try_from(number(5, 7)?).ok()?).ok()?;
    let day = u8::try_from(number(8, 10)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    let at = time::Time::from_hms_nano(
        u8::try_from(number(11, 13)?).ok()?,
        u8::try_from(number(14, 16)?).ok()?,
        u8::try_from(number(17, 19)?).ok()?,
        number(20, 29)?,
    )
    .ok()?;
    Some(date.with_time(at).assume_utc())
}

/// One call to audit, before the log gives it a place in the chain: the fields of
/// [`AuditEvent`] without `seq`, `prev_hash` and `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAuditEvent {
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
    /// On the outcome row of a call that wrote an intent row first: that row's `seq`.
    /// Absent on intent rows and on calls audited by one row (reads, refusals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent_seq: Option<u64>,
}

impl NewAuditEvent {
    /// Places the event in the chain at `seq` after a row whose hash is `prev_hash`
    /// ([`GENESIS_HASH`] for `seq` 1), computing its hash: [`ChainKey::hash`] under `key`, or
    /// the unkeyed [`chain_hash`] without one (a gateway with no root key).
    pub fn into_chained(self, seq: u64, prev_hash: String, key: Option<&ChainKey>) -> AuditEvent {
        let hash = match key {
            Some(key) => key.hash(&prev_hash, seq, &self),
            None => chain_hash(&prev_hash, seq, &self),
        };
        AuditEvent {
            seq,
            time: self.time,
            request_id: self.request_id,
            principal: self.principal,
            source: self.source,
            action: self.action,
            provider: self.provider,
            key: self.key,
            key_version: self.key_version,
            outcome: self.outcome,
            error_kind: self.error_kind,
            duration_us: self.duration_us,
            intent_seq: self.intent_seq,
            prev_hash,
            hash,
        }
    }
}

/// The canonical encoding of one row: its place (`seq`) and every field of the event, the bytes
/// the chain hash (after `prev_hash`) and the Merkle leaf hash cover. Each field is encoded
/// here and only here.
///
/// With `str(s)` = the UTF-8 byte length as 8-byte big-endian, then the bytes;
/// `opt(s)` = one byte `0x00` when absent, or `0x01` then `str(s)`;
/// `u64(n)` = 8-byte big-endian, the encoding is the concatenation of:
///
/// 1. `u64(seq)`
/// 2. `time` as nanoseconds since the Unix epoch, 16-byte big-endian two's complement
///    (so the offset the time was written in does not matter, only the instant)
/// 3. `str(request_id)`, `str(principal)`, `str(source)`, `str(action)`
/// 4. `opt(provider)`, `opt(key)`, `opt(key_version)`
/// 5. `str(outcome)` with the names of [`AuditOutcome::as_str`]
/// 6. `opt(error_kind)`
/// 7. `u64(duration_us)`
/// 8. only when `intent_seq` is present: `0x01` then `u64(intent_seq)`; nothing when it is
///    absent, so rows written before the field existed keep their hash
///
/// Every variable-length field is length-prefixed, and the only optional tail is fixed-width,
/// so no two different rows share an encoding.
pub fn encode_row(seq: u64, event: &NewAuditEvent) -> Vec<u8> {
    encode_fields(seq, &event.fields())
}

/// The hashed fields of an event, borrowed: what [`encode_row`] encodes, for a new event and
/// for a stored row alike (a verifier encodes a row without copying its strings).
struct Fields<'a> {
    time: OffsetDateTime,
    request_id: &'a str,
    principal: &'a str,
    source: &'a str,
    action: &'a str,
    provider: Option<&'a str>,
    key: Option<&'a str>,
    key_version: Option<&'a str>,
    outcome: AuditOutcome,
    error_kind: Option<&'a str>,
    duration_us: u64,
    intent_seq: Option<u64>,
}

impl NewAuditEvent {
    fn fields(&self) -> Fields<'_> {
        Fields {
            time: self.time,
            request_id: &self.request_id,
            principal: &self.principal,
            source: &self.source,
            action: &self.action,
            provider: self.provider.as_deref(),
            key: self.key.as_deref(),
            key_version: self.key_version.as_deref(),
            outcome: self.outcome,
            error_kind: self.error_kind.as_deref(),
            duration_us: self.duration_us,
            intent_seq: self.intent_seq,
        }
    }
}

/// [`encode_row`] of borrowed fields.
fn encode_fields(seq: u64, event: &Fields<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(160);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&event.time.unix_timestamp_nanos().to_be_bytes());
    put_str(&mut out, event.request_id);
    put_str(&mut out, event.principal);
    put_str(&mut out, event.source);
    put_str(&mut out, event.action);
    put_opt(&mut out, event.provider);
    put_opt(&mut out, event.key);
    put_opt(&mut out, event.key_version);
    put_str(&mut out, event.outcome.as_str());
    put_opt(&mut out, event.error_kind);
    out.extend_from_slice(&event.duration_us.to_be_bytes());
    if let Some(intent) = event.intent_seq {
        out.push(1);
        out.extend_from_slice(&intent.to_be_bytes());
    }
    out
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // usize -> u64 cannot truncate on any platform Rust supports.
    out.extend_from_slice(&(s.len() as u64).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

/// The chain input of a row: `str(tag) || str(prev_hash) || encode_row(seq, event)`.
fn chain_input(tag: &str, prev_hash: &str, seq: u64, event: &NewAuditEvent) -> Vec<u8> {
    encoded_chain_input(tag, prev_hash, &encode_row(seq, event))
}

/// [`chain_input`] of a row already encoded with [`encode_row`].
fn encoded_chain_input(tag: &str, prev_hash: &str, encoded: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(24 + tag.len() + prev_hash.len() + encoded.len());
    put_str(&mut input, tag);
    put_str(&mut input, prev_hash);
    input.extend_from_slice(encoded);
    input
}

/// The unkeyed hash of one chain row, as lowercase hex SHA-256: the form rows written before
/// keyed chains carry (see [`ChainKey`] for how a verifier tells the two apart).
///
/// The input is `str("keygate-audit-v1") || str(prev_hash) || `[`encode_row`]`(seq, event)`
/// (`prev_hash` as the hex text given).
pub fn chain_hash(prev_hash: &str, seq: u64, event: &NewAuditEvent) -> String {
    let input = chain_input(CHAIN_TAG, prev_hash, seq, event);
    hex(digest::digest(&digest::SHA256, &input).as_ref())
}

/// Lowercase hex of `bytes` (how hashes are written in rows, proofs and reports).
pub fn hex(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{b:02x}");
    }
    hex
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
    /// On an outcome row: the `seq` of the call's intent row (see [`AuditOutcome::Unknown`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent_seq: Option<u64>,
    /// The previous row's hash (hex; 64 zeros for the first row).
    pub prev_hash: String,
    /// This row's hash (hex HMAC-SHA256 under the chain key, or for rows written before
    /// keyed chains hex SHA-256, over `prev_hash` and the row's fields).
    pub hash: String,
}

impl AuditEvent {
    /// The event part of the row: everything but `seq`, `prev_hash` and `hash`.
    pub fn event(&self) -> NewAuditEvent {
        NewAuditEvent {
            time: self.time,
            request_id: self.request_id.clone(),
            principal: self.principal.clone(),
            source: self.source.clone(),
            action: self.action.clone(),
            provider: self.provider.clone(),
            key: self.key.clone(),
            key_version: self.key_version.clone(),
            outcome: self.outcome,
            error_kind: self.error_kind.clone(),
            duration_us: self.duration_us,
            intent_seq: self.intent_seq,
        }
    }

    /// Which form of hash this row carries given its fields and `prev_hash`: keyed under
    /// `key`, the unkeyed form of older rows, or `None` when it is neither (the row was
    /// altered, or hashed under another key).
    pub fn chain_form(&self, key: Option<&ChainKey>) -> Option<ChainForm> {
        let event = self.event();
        if key.is_some_and(|k| k.verify(&self.prev_hash, self.seq, &event, &self.hash)) {
            Some(ChainForm::Keyed)
        } else if chain_hash(&self.prev_hash, self.seq, &event) == self.hash {
            Some(ChainForm::Unkeyed)
        } else {
            None
        }
    }

    /// The Merkle leaf hash of this row ([`merkle::leaf_hash`] of [`encode_row`]).
    pub fn leaf_hash(&self) -> merkle::Hash {
        merkle::leaf_hash(&encode_fields(self.seq, &self.fields()))
    }

    /// [`AuditEvent::chain_form`] and [`AuditEvent::leaf_hash`] together, from one encoding
    /// of the row: what a verifier computes for every row, and the part of its work that
    /// needs no other row (so rows can be checked on several threads, the chain links after).
    pub fn check(&self, key: Option<&ChainKey>) -> (Option<ChainForm>, merkle::Hash) {
        let encoded = encode_fields(self.seq, &self.fields());
        let form = if key.is_some_and(|k| k.verify_encoded(&self.prev_hash, &encoded, &self.hash)) {
            Some(ChainForm::Keyed)
        } else {
            let input = encoded_chain_input(CHAIN_TAG, &self.prev_hash, &encoded);
            let hash = digest::digest(&digest::SHA256, &input);
            (hex(hash.as_ref()) == self.hash).then_some(ChainForm::Unkeyed)
        };
        (form, merkle::leaf_hash(&encoded))
    }

    fn fields(&self) -> Fields<'_> {
        Fields {
            time: self.time,
            request_id: &self.request_id,
            principal: &self.principal,
            source: &self.source,
            action: &self.action,
            provider: self.provider.as_deref(),
            key: self.key.as_deref(),
            key_version: self.key_version.as_deref(),
            outcome: self.outcome,
            error_kind: self.error_kind.as_deref(),
            duration_us: self.duration_us,
            intent_seq: self.intent_seq,
        }
    }

    /// The CSV header matching [`AuditEvent::to_csv_row`], without a line ending.
    pub fn csv_header() -> &'static str {
        "seq,time,request_id,principal,source,action,provider,key,key_version,outcome,\
         error_kind,duration_us,prev_hash,hash,intent_seq"
    }

    /// This row as one CSV record (RFC 4180: a field holding a comma, a double quote, CR or
    /// LF is quoted and its quotes doubled), without a line ending. Absent fields are empty;
    /// `time` is [`canonical_time`]. Values are written as stored, never rewritten (an export
    /// must stay verifiable), so a spreadsheet may read a value starting with `=` as a formula.
    pub fn to_csv_row(&self) -> String {
        // Stored events always have a canonical time; the nanosecond count is a lossless
        // fallback for an event built by hand with an out-of-range year.
        let time = canonical_time(self.time)
            .unwrap_or_else(|_| self.time.unix_timestamp_nanos().to_string());
        let intent_seq = self.intent_seq.map(|s| s.to_string()).unwrap_or_default();
        let fields: [&str; 15] = [
            &self.seq.to_string(),
            &time,
            &self.request_id,
            &self.principal,
            &self.source,
            &self.action,
            self.provider.as_deref().unwrap_or(""),
            self.key.as_deref().unwrap_or(""),
            self.key_version.as_deref().unwrap_or(""),
            self.outcome.as_str(),
            self.error_kind.as_deref().unwrap_or(""),
            &self.duration_us.to_string(),
            &self.prev_hash,
            &self.hash,
            &intent_seq,
        ];
        let mut row = String::new();
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                row.push(',');
            }
            if field.contains([',', '"', '\r', '\n']) {
                row.push('"');
                row.push_str(&field.replace('"', "\"\""));
                row.push('"');
            } else {
                row.push_str(field);
            }
        }
        row
    }
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

impl AuditQuery {
    /// The page size when `limit` is not set.
    pub const DEFAULT_LIMIT: u32 = 100;
    /// The largest page; larger limits are clamped to it.
    pub const MAX_LIMIT: u32 = 1000;

    /// The page size this query asks for: `limit`, defaulted and clamped.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a limit of 0.
    pub fn page_size(&self) -> Result<u32> {
        match self.limit {
            None => Ok(Self::DEFAULT_LIMIT),
            Some(0) => Err(Error::invalid("audit query limit must be at least 1")),
            Some(n) => Ok(n.min(Self::MAX_LIMIT)),
        }
    }

    /// Whether `event` passes every filter of this query, `after` included (`limit` is not a
    /// filter). The live stream applies it to each new row; the store applies the same rules
    /// in SQL.
    pub fn matches(&self, event: &AuditEvent) -> bool {
        self.after.is_none_or(|after| event.seq > after)
            && self.since.is_none_or(|since| event.time >= since)
            && self.until.is_none_or(|until| event.time < until)
            && self
                .key
                .as_deref()
                .is_none_or(|key| event.key.as_deref() == Some(key))
            && self
                .principal
                .as_deref()
                .is_none_or(|p| event.principal == p)
            && self
                .action
                .as_deref()
                .is_none_or(|pattern| action_matches(pattern, &event.action))
            && self.outcome.is_none_or(|o| event.outcome == o)
    }
}

/// Whether `action` matches `pattern`: equal, or, when `pattern` ends with `*`, starting with
/// what comes before the `*` (`crypto:*` matches `crypto:encrypt`; a lone `*` matches all).
/// A `*` anywhere else is an ordinary character.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => action.starts_with(prefix),
        None => action == pattern,
    }
}

/// The first row where the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenRow {
    /// The row's `seq` (for a deleted row: the first `seq` after the gap).
    pub seq: u64,
    /// What is wrong: edited, out of order, missing rows before it.
    pub reason: String,
}

/// The result of checking the whole log: the chain, the tree, and (when given) a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditVerification {
    /// Rows checked (the intact prefix when a row is broken).
    pub rows: u64,
    /// The hash of the last row (the chain head), when there are rows.
    pub head: Option<String>,
    /// The first broken row, or `None` when the whole log verifies.
    pub first_broken: Option<BrokenRow>,
    /// The RFC 6962 root (hex) of the tree over the `rows` intact rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// How many of the rows carry the unkeyed hash of rows written before keyed chains
    /// (always a prefix of the log).
    #[serde(default)]
    pub unkeyed_rows: u64,
    /// The older checkpoint the log was checked against, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<CheckpointCheck>,
    /// Intent rows (outcome [`AuditOutcome::Unknown`]) that no outcome row refers to: calls
    /// whose result was never recorded because the gateway stopped between the two rows (or
    /// that were still running during the check). Not a break in the chain.
    #[serde(default)]
    pub unresolved_intents: u64,
    /// The size of the stored signed checkpoint this check started from, when it started from
    /// one (`audit verify --from-checkpoint`): rows up to it were checked when it was signed
    /// and are not read again, rows after it are. `None` for a check of the whole log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_checkpoint: Option<u64>,
}

#[cfg(test)]
mod tests;
