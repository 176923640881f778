//! Copying a whole gateway store into another backend (`keygate store migrate`): every table,
//! row for row, as stored — the audit chain keeps its `seq`s and hashes, tokens their hashes
//! and sealed secrets — so the copy verifies and works exactly as the original did.
//!
//! The tables are described once here ([`COPY_TABLES`]); both backends read and write them
//! through [`TableCopy`], the only SQL involved staying in the backends.

use async_trait::async_trait;
use keygate_core::Result;

/// What a column holds, as both backends type it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// `INTEGER` / `BIGINT`.
    Int,
    /// `TEXT`.
    Text,
    /// `BLOB` / `BYTEA`.
    Bytes,
}

/// One value of a copied row.
#[derive(Clone, PartialEq, Eq)]
pub enum Cell {
    /// `NULL`.
    Null,
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes (token hashes, sealed secrets).
    Bytes(Vec<u8>),
}

impl std::fmt::Debug for Cell {
    // Never the bytes: they may be sealed secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Null => f.write_str("Null"),
            Self::Int(n) => write!(f, "Int({n})"),
            Self::Text(t) => write!(f, "Text({t:?})"),
            Self::Bytes(b) => write!(f, "Bytes(<{} bytes>)", b.len()),
        }
    }
}

/// A table of the gateway store, as a copy reads and writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyTable {
    /// The table's name.
    pub name: &'static str,
    /// Its columns and what they hold.
    pub columns: &'static [(&'static str, ColumnType)],
    /// The primary key's columns, comma-separated: the order rows are read in.
    pub order_by: &'static str,
    /// An integer primary key to page by (`WHERE key > last`), instead of an offset.
    pub int_key: Option<&'static str>,
}

impl CopyTable {
    /// The column names, comma-separated.
    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

use ColumnType::{Bytes, Int, Text};

/// Every table of the gateway store, in the order a copy writes them (the audit log last but
/// one, its checkpoints last).
pub const COPY_TABLES: &[CopyTable] = &[
    CopyTable {
        name: "aliases",
        columns: &[
            ("name", Text),
            ("provider", Text),
            ("key_id", Text),
            ("created", Text),
        ],
        order_by: "name",
        int_key: None,
    },
    CopyTable {
        name: "tokens",
        columns: &[
            ("id", Text),
            ("principal", Text),
            ("role", Text),
            ("secret_hash", Bytes),
            ("created", Text),
            ("expires", Text),
            ("revoked", Text),
            ("last_used", Text),
            ("kind", Text),
            ("sealed_secret", Bytes),
        ],
        order_by: "id",
        int_key: None,
    },
    CopyTable {
        name: "access_policy",
        columns: &[
            ("id", Int),
            ("document", Text),
            ("updated", Text),
            ("updated_by", Text),
        ],
        order_by: "id",
        int_key: Some("id"),
    },
    CopyTable {
        name: "aws_key_ids",
        columns: &[
            ("key_id", Text),
            ("uri", Text),
            ("created", Text),
            ("region", Text),
        ],
        order_by: "key_id",
        int_key: None,
    },
    CopyTable {
        name: "gcp_key_rings",
        columns: &[
            ("project", Text),
            ("location", Text),
            ("key_ring_id", Text),
            ("created", Text),
        ],
        order_by: "project, location, key_ring_id",
        int_key: None,
    },
    CopyTable {
        name: "gcp_crypto_keys",
        columns: &[
            ("provider", Text),
            ("key_ring", Text),
            ("key_name", Text),
            ("key_uri", Text),
            ("algorithm", Text),
            ("destroy_seconds", Int),
            ("created", Text),
        ],
        order_by: "provider, key_ring, key_name",
        int_key: None,
    },
    CopyTable {
        name: "gcp_version_destroys",
        columns: &[
            ("key_uri", Text),
            ("version_id", Text),
            ("destroy_time", Text),
        ],
        order_by: "key_uri, version_id",
        int_key: None,
    },
    CopyTable {
        name: "audit_events",
        columns: &[
            ("seq", Int),
            ("time", Text),
            ("request_id", Text),
            ("principal", Text),
            ("source", Text),
            ("action", Text),
            ("provider", Text),
            ("key_uri", Text),
            ("key_version", Text),
            ("outcome", Text),
            ("error_kind", Text),
            ("duration_us", Int),
            ("prev_hash", Text),
            ("hash", Text),
            ("intent_seq", Int),
        ],
        order_by: "seq",
        int_key: Some("seq"),
    },
    CopyTable {
        name: "audit_checkpoints",
        columns: &[
            ("size", Int),
            ("note", Text),
            ("range_hashes", Text),
            ("unkeyed_rows", Int),
            ("open_intents", Text),
            ("created", Text),
        ],
        order_by: "size",
        int_key: Some("size"),
    },
];

/// Tables of the gateway store a copy leaves behind, each for a reason. Every other table
/// must be in [`COPY_TABLES`] (a test checks the SQLite schema against both lists).
///
/// `change_generation` (migration 0010) is a counter of this database's own changes, not data:
/// the target's migrations create its row, and its triggers move it as the copy writes.
pub const NOT_COPIED: &[&str] = &["change_generation"];

/// Where a page of a copy starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyPage {
    /// After this many rows (tables without [`CopyTable::int_key`]).
    Offset(u64),
    /// After the row whose integer key is this (`None`: from the first row).
    After(Option<i64>),
}

/// Reads and writes whole tables of [`COPY_TABLES`], as stored.
///
/// # Contract
/// - [`read_table`](Self::read_table) returns rows in [`CopyTable::order_by`] order, each
///   with one [`Cell`] per column in [`CopyTable::columns`] order.
/// - [`write_table`](Self::write_table) inserts rows exactly as given, all of them or none.
///
/// Every method fails with [`Error::Unavailable`](keygate_core::Error::Unavailable) when the
/// store cannot be reached.
#[async_trait]
pub trait TableCopy: Send + Sync {
    /// How many rows `table` holds.
    ///
    /// # Errors
    /// [`Error::Unavailable`](keygate_core::Error::Unavailable) when it cannot be read.
    async fn count_table(&self, table: &CopyTable) -> Result<u64>;

    /// Up to `limit` rows of `table` from `page` on.
    ///
    /// # Errors
    /// [`Error::Unavailable`](keygate_core::Error::Unavailable) when it cannot be read or a
    /// value does not have its column's type.
    async fn read_table(
        &self,
        table: &CopyTable,
        page: CopyPage,
        limit: u32,
    ) -> Result<Vec<Vec<Cell>>>;

    /// Inserts `rows` into `table` in one transaction.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`](keygate_core::Error::AlreadyExists) when a row's key exists;
    /// [`Error::Unavailable`](keygate_core::Error::Unavailable) when it cannot write.
    async fn write_table(&self, table: &CopyTable, rows: &[Vec<Cell>]) -> Result<()>;
}

/// The next page after `rows` were read from `page`.
pub fn next_page(table: &CopyTable, page: CopyPage, rows: &[Vec<Cell>]) -> CopyPage {
    match (page, table.int_key) {
        (CopyPage::Offset(n), _) => CopyPage::Offset(n + rows.len() as u64),
        (CopyPage::After(prev), Some(key)) => {
            let at = table.columns.iter().position(|(name, _)| *name == key);
            let last = rows.last().zip(at).and_then(|(row, i)| match row.get(i) {
                Some(Cell::Int(n)) => Some(*n),
                _ => None,
            });
            CopyPage::After(last.or(prev))
        }
        (CopyPage::After(_), None) => CopyPage::Offset(rows.len() as u64),
    }
}

/// Where a table's copy starts.
pub fn first_page(table: &CopyTable) -> CopyPage {
    if table.int_key.is_some() {
        CopyPage::After(None)
    } else {
        CopyPage::Offset(0)
    }
}
