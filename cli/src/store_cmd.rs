//! `keygate store migrate --to postgres://…`: copies a SQLite home into an empty PostgreSQL
//! database — the gateway store's every table (the whole audit chain and its checkpoints
//! included) and each local provider's keys and versions, wrapped material as is — then
//! verifies the copy: the same row count in every table, and the audit chain verified where
//! it now lives. Everything goes through the store traits; no SQL here.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use keygate_core::Error;
use keygate_providers::factory::{Backend, LocalKeyStore};
use keygate_providers::local::KeyStore;
use keygate_server::audit::{AuditKeys, AuditLog};
use keygate_server::config::StoreLocation;
use keygate_server::store::copy::{COPY_TABLES, TableCopy as _, first_page, next_page};
use keygate_server::store::{PostgresOptions, PostgresStore, SqliteStore, Store};
use serde::Serialize;

use crate::args::{OutputArg, OutputFormat};
use crate::{Outcome, compose, output, usage};

/// Rows (or keys) a copy reads and writes at a time.
const PAGE: u32 = 1000;

#[derive(Subcommand)]
pub enum StoreCommand {
    /// Copy this SQLite home into an empty PostgreSQL database: tokens, AWS access keys,
    /// aliases, the dialects' records, the access policy, the whole audit log with its
    /// checkpoints, and every local provider's keys and versions (still wrapped under the same
    /// root key). Then compare the row counts of every table and verify the audit chain in
    /// the database. A database that holds anything of keygate's already is refused. Stop
    /// `keygate serve` on this home first: what it writes during the copy is not copied.
    Migrate {
        /// The target: postgres://user:password@host:port/database?sslmode=…
        #[arg(long, value_name = "URL")]
        to: String,
        #[command(flatten)]
        output: OutputArg,
    },
}

impl std::fmt::Debug for StoreCommand {
    // Never the target URL: it may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Migrate { output, .. } => f
                .debug_struct("Migrate")
                .field("to", &"<redacted>")
                .field("output", output)
                .finish(),
        }
    }
}

/// What a migration copied, per table, and what verified it.
#[derive(Debug, Serialize)]
struct Report {
    /// Rows per gateway store table, in the target (equal to the source's).
    tables: BTreeMap<&'static str, u64>,
    /// Per local provider: keys, versions, policies and expiry policies copied.
    local_providers: BTreeMap<String, LocalCounts>,
    /// Rows of the audit log verified in the target.
    audit_rows_verified: u64,
    /// The audit chain's head in the target.
    audit_head: Option<String>,
}

#[derive(Debug, Serialize)]
struct LocalCounts {
    schema: String,
    keys: u64,
    versions: u64,
    policies: u64,
    expiries: u64,
}

/// Runs `keygate store …`.
///
/// # Errors
/// A usage error when the home's store is not a SQLite file or the target is not a
/// PostgreSQL URL; `AlreadyExists` when the target holds anything of keygate's; whatever
/// either store reports.
pub async fn run(
    home: Option<PathBuf>,
    config: Option<PathBuf>,
    cmd: StoreCommand,
) -> Result<Outcome> {
    let StoreCommand::Migrate { to, output } = cmd;
    let (home, config) = compose::load(home, config)?;
    let source_path = match config.store.location(home.dir())? {
        StoreLocation::SqliteFile(path) if path.exists() => path,
        StoreLocation::SqliteFile(path) => {
            return Err(usage(format!(
                "store migrate copies a SQLite home, and {} does not exist",
                path.display()
            )));
        }
        _ => {
            return Err(usage(
                "store migrate copies a SQLite home; this home's [store] url is not a SQLite file",
            ));
        }
    };
    if !(to.starts_with("postgres://") || to.starts_with("postgresql://")) {
        return Err(usage(
            "--to must be a PostgreSQL URL (postgres://user:password@host:port/database)",
        ));
    }
    let source = SqliteStore::open(&source_path)
        .await
        .context("opening the home's gateway store")?;
    let target = PostgresStore::open(&to, &PostgresOptions::default())
        .await
        .context("opening the target database")?;

    // The local providers whose keys are in SQLite files, each with its target schema.
    let mut locals = Vec::new();
    for provider in compose::provider_configs(&config)? {
        let Backend::Local(local) = &provider.backend else {
            continue;
        };
        let LocalKeyStore::Sqlite(file) = local.key_store(&provider.name, home.dir(), None)? else {
            continue;
        };
        if !file.exists() {
            continue;
        }
        let schema = local.postgres_schema(&provider.name);
        let from = KeyStore::open_sqlite(&provider.name, &file).await?;
        let into = KeyStore::open_postgres(&provider.name, &to, &schema).await?;
        locals.push((provider.name.clone(), schema, from, into));
    }

    refuse_non_empty(&target, &locals).await?;

    let mut total = 0;
    for table in COPY_TABLES {
        total += source.count_table(table).await?;
    }
    for (_, _, from, _) in &locals {
        total += from.counts().await?.keys;
    }
    let bar = progress(total, output.output);

    let mut report = Report {
        tables: BTreeMap::new(),
        local_providers: BTreeMap::new(),
        audit_rows_verified: 0,
        audit_head: None,
    };
    for table in COPY_TABLES {
        bar.set_message(table.name);
        let mut page = first_page(table);
        loop {
            let rows = source.read_table(table, page, PAGE).await?;
            if rows.is_empty() {
                break;
            }
            target.write_table(table, &rows).await?;
            bar.inc(rows.len() as u64);
            page = next_page(table, page, &rows);
        }
        let (had, has) = (
            source.count_table(table).await?,
            target.count_table(table).await?,
        );
        if had != has {
            return Err(Error::state(format!(
                "table {} holds {had} rows in the home but {has} in the target after the copy",
                table.name
            ))
            .into());
        }
        report.tables.insert(table.name, has);
    }
    for (name, schema, from, into) in &locals {
        bar.set_message(format!("keys of {name}"));
        let done = bar.position();
        let counts = from
            .copy_into(into, &|copied| bar.set_position(done + copied))
            .await
            .with_context(|| format!("copying the keys of provider `{name}`"))?;
        report.local_providers.insert(
            name.clone(),
            LocalCounts {
                schema: schema.clone(),
                keys: counts.keys,
                versions: counts.versions,
                policies: counts.policies,
                expiries: counts.expiries,
            },
        );
    }
    bar.finish_and_clear();

    // The chain as it now stands in the database, checked under the home's root key.
    let keys = compose::gateway_root_key(&config, &home)
        .await?
        .map(|key| AuditKeys::from_root_key(&key).map(Arc::new))
        .transpose()?;
    let target: Arc<dyn Store> = Arc::new(target);
    let log = AuditLog::open_keyed(target, &config.audit, keys).await?;
    let verified = log.verify().await?;
    if let Some(broken) = &verified.first_broken {
        return Err(Error::state(format!(
            "the audit log copied into the target does not verify at row {}: {}",
            broken.seq, broken.reason
        ))
        .into());
    }
    report.audit_rows_verified = verified.rows;
    report.audit_head = verified.head.clone();

    let mut out = std::io::stdout().lock();
    match output.output {
        OutputFormat::Json => output::json(&mut out, &report)?,
        OutputFormat::Table => summary(&mut out, &report)?,
    }
    Ok(Outcome::Success)
}

/// Refuses a target that holds any row of keygate's (gateway tables or local keys).
async fn refuse_non_empty(
    target: &PostgresStore,
    locals: &[(String, String, KeyStore, KeyStore)],
) -> Result<()> {
    for table in COPY_TABLES {
        let n = target.count_table(table).await?;
        if n > 0 {
            return Err(Error::AlreadyExists(format!(
                "the target database is not empty: table {} holds {n} rows; store migrate \
                 copies into an empty database only",
                table.name
            ))
            .into());
        }
    }
    for (name, schema, _, into) in locals {
        let keys = into.counts().await?.keys;
        if keys > 0 {
            return Err(Error::AlreadyExists(format!(
                "the target database is not empty: schema {schema} holds {keys} keys of \
                 provider `{name}`; store migrate copies into an empty database only"
            ))
            .into());
        }
    }
    Ok(())
}

/// A progress bar on a terminal (table output only), hidden otherwise.
fn progress(total: u64, format: OutputFormat) -> ProgressBar {
    if format != OutputFormat::Table || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{msg:24} [{bar:40}] {pos}/{len} rows ({eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn summary(out: &mut dyn Write, report: &Report) -> Result<()> {
    for (table, rows) in &report.tables {
        writeln!(out, "copied {rows} rows of {table}")?;
    }
    for (name, c) in &report.local_providers {
        writeln!(
            out,
            "copied {} keys ({} versions, {} policies, {} expiry policies) of provider `{name}` \
             into schema {}",
            c.keys, c.versions, c.policies, c.expiries, c.schema
        )?;
    }
    writeln!(
        out,
        "verified: every table holds as many rows as in the home; audit log verified in the \
         target ({} rows, head {})",
        report.audit_rows_verified,
        report.audit_head.as_deref().unwrap_or("-")
    )?;
    Ok(())
}
