//! [`TableCopy`] on SQLite: whole tables read and written as stored.

use async_trait::async_trait;
use keygate_core::{Error, Result};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::SqliteStore;
use crate::store::copy::{Cell, ColumnType, CopyPage, CopyTable, TableCopy};

/// Rows per INSERT: SQLite takes at most 32766 parameters a statement.
const ROWS_PER_INSERT: usize = 500;

fn db_err(e: sqlx::Error) -> Error {
    match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            Error::AlreadyExists(format!("a copied row exists in the target: {d}"))
        }
        e => super::db_err("gateway store copy", e),
    }
}

fn cell(row: &SqliteRow, i: usize, ty: ColumnType) -> Result<Cell> {
    let v = match ty {
        ColumnType::Int => row.try_get::<Option<i64>, _>(i).map(|v| v.map(Cell::Int)),
        ColumnType::Text => row
            .try_get::<Option<String>, _>(i)
            .map(|v| v.map(Cell::Text)),
        ColumnType::Bytes => row
            .try_get::<Option<Vec<u8>>, _>(i)
            .map(|v| v.map(Cell::Bytes)),
    };
    Ok(v.map_err(db_err)?.unwrap_or(Cell::Null))
}

#[async_trait]
impl TableCopy for SqliteStore {
    async fn count_table(&self, table: &CopyTable) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", table.name))
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        u64::try_from(n).map_err(|_| Error::unavailable(format!("{}: count {n}", table.name)))
    }

    async fn read_table(
        &self,
        table: &CopyTable,
        page: CopyPage,
        limit: u32,
    ) -> Result<Vec<Vec<Cell>>> {
        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {} FROM {}",
            table.column_list(),
            table.name
        ));
        if let (CopyPage::After(Some(after)), Some(key)) = (page, table.int_key) {
            q.push(format!(" WHERE {key} > ")).push_bind(after);
        }
        q.push(format!(" ORDER BY {} LIMIT ", table.order_by))
            .push_bind(i64::from(limit));
        if let CopyPage::Offset(n) = page {
            q.push(" OFFSET ")
                .push_bind(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let rows = q.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter()
            .map(|row| {
                table
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, (_, ty))| cell(row, i, *ty))
                    .collect()
            })
            .collect()
    }

    async fn write_table(&self, table: &CopyTable, rows: &[Vec<Cell>]) -> Result<()> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)?;
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let mut q = QueryBuilder::<Sqlite>::new(format!(
                "INSERT INTO {} ({}) ",
                table.name,
                table.column_list()
            ));
            q.push_values(chunk, |mut b, row| {
                for ((_, ty), value) in table.columns.iter().zip(row) {
                    match (value, ty) {
                        (Cell::Int(n), _) => b.push_bind(*n),
                        (Cell::Text(t), _) => b.push_bind(t.clone()),
                        (Cell::Bytes(v), _) => b.push_bind(v.clone()),
                        (Cell::Null, ColumnType::Int) => b.push_bind(None::<i64>),
                        (Cell::Null, ColumnType::Text) => b.push_bind(None::<String>),
                        (Cell::Null, ColumnType::Bytes) => b.push_bind(None::<Vec<u8>>),
                    };
                }
            });
            q.build().execute(&mut *tx).await.map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::store::copy::{COPY_TABLES, NOT_COPIED};

    /// A table added by a migration but not to [`COPY_TABLES`] would be left behind by
    /// `keygate store migrate`: every table, and every column, must be listed, or the table
    /// named in [`NOT_COPIED`] with its reason.
    #[tokio::test]
    async fn copy_tables_are_every_table_with_every_column() {
        let store = SqliteStore::in_memory().await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap();
        let mut listed: Vec<&str> = COPY_TABLES.iter().map(|t| t.name).collect();
        listed.extend(NOT_COPIED);
        listed.sort_unstable();
        assert_eq!(tables, listed);
        for table in COPY_TABLES {
            let columns: Vec<String> = sqlx::query_scalar(&format!(
                "SELECT name FROM pragma_table_info('{}')",
                table.name
            ))
            .fetch_all(&store.pool)
            .await
            .unwrap();
            let mut columns = columns;
            columns.sort_unstable();
            let mut expected: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
            expected.sort_unstable();
            assert_eq!(columns, expected, "{}", table.name);
        }
    }
}
