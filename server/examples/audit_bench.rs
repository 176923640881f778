//! Audit verification and query speed on a large log: fills a throwaway on-disk gateway store
//! with keyed audit rows (written directly through the store, in large batches, chained as the
//! log chains them), then times `audit verify` and a filtered query, several runs each, and
//! prints min / median / max.
//!
//! ```text
//! cargo run --release -p keygate-server --example audit_bench -- \
//!     [--rows N] [--runs N] [--tail N] [--db PATH]
//! ```
//!
//! - `--rows N`: rows in the log (default 1000000).
//! - `--runs N`: timed runs of each measure (default 3).
//! - `--tail N`: rows appended after the newest checkpoint before each run of the
//!   verification from a checkpoint (default 10000).
//! - `--db PATH`: keep the store in PATH (reused when it already holds rows, so a second
//!   invocation skips the fill) instead of a temporary directory.
//!
//! The log: intent and outcome rows in pairs, 16 keys, 8 principals; the principal
//! `app-main` writes half of all rows, almost never on key `kg://local/key-0`. The query
//! measured is the first page of `--key kg://local/key-0 --principal app-main`: one key and a
//! principal with many rows, whose combination is rare.
//!
//! Output: one line per measure, `name  min  median  max` in milliseconds.

// A measurement program: its report is its standard output.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use keygate_core::audit::AuditKeys;
use keygate_server::GatewayStore;
use keygate_server::audit::{AuditConfig, AuditLog, AuditOutcome, AuditQuery, NewAuditEvent};
use keygate_server::store::{AuditRows, ChainedAuditRow};
use time::OffsetDateTime;

/// Rows per transaction while filling.
const FILL_BATCH: usize = 20_000;
/// The key and principal of the measured query.
const QUERY_KEY: &str = "kg://local/key-0";
const QUERY_PRINCIPAL: &str = "app-main";

struct Options {
    rows: u64,
    runs: usize,
    tail: u64,
    db: Option<PathBuf>,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        rows: 1_000_000,
        runs: 3,
        tail: 10_000,
        db: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--rows" => o.rows = value()?.parse().context("--rows: a whole number")?,
            "--runs" => o.runs = value()?.parse().context("--runs: a whole number")?,
            "--tail" => o.tail = value()?.parse().context("--tail: a whole number")?,
            "--db" => o.db = Some(PathBuf::from(value()?)),
            other => bail!("unknown flag {other} (see the header of audit_bench.rs)"),
        }
    }
    ensure!(o.runs >= 1, "--runs must be at least 1");
    Ok(o)
}

/// The event at position `seq`: odd rows are intents, even rows their outcomes.
fn event(seq: u64, base: OffsetDateTime) -> NewAuditEvent {
    let pair = (seq - 1) / 2;
    let (principal, key) = if pair.is_multiple_of(2) {
        // app-main: half the rows, on key-0 only once in 5000 pairs.
        let key = if pair.is_multiple_of(10_000) {
            0
        } else {
            1 + pair % 15
        };
        (QUERY_PRINCIPAL.to_owned(), key)
    } else {
        (format!("app-{}", pair % 7), pair % 16)
    };
    let intent = seq % 2 == 1;
    NewAuditEvent {
        time: base + Duration::from_micros(seq * 250),
        request_id: format!("req-{pair}"),
        principal,
        source: "rest".to_owned(),
        action: if pair.is_multiple_of(3) {
            "crypto:decrypt".to_owned()
        } else {
            "crypto:encrypt".to_owned()
        },
        provider: Some("local".to_owned()),
        key: Some(format!("kg://local/key-{key}")),
        key_version: Some("1".to_owned()),
        outcome: if intent {
            AuditOutcome::Unknown
        } else {
            AuditOutcome::Success
        },
        error_kind: None,
        duration_us: 120 + pair % 50,
        intent_seq: (!intent).then(|| seq - 1),
    }
}

/// Appends rows until the log holds `upto` rows, chained under the keys' chain key.
async fn fill(store: &GatewayStore, keys: &AuditKeys, upto: u64) -> anyhow::Result<()> {
    let head = store.audit_head().await?;
    let base = OffsetDateTime::now_utc() - Duration::from_secs(30 * 86_400);
    let (mut seq, mut prev) = (head.seq, head.hash);
    while seq < upto {
        let mut batch = Vec::with_capacity(FILL_BATCH);
        while seq < upto && batch.len() < FILL_BATCH {
            seq += 1;
            let new = event(seq, base);
            let time_text = keygate_core::audit::canonical_time(new.time)?;
            let chained = new.into_chained(seq, prev, Some(&keys.chain));
            prev = chained.hash.clone();
            batch.push(ChainedAuditRow {
                event: chained,
                time_text,
            });
        }
        store
            .append_audit_rows(&batch)
            .await
            .map_err(|e| e.into_error())?;
    }
    Ok(())
}

/// Runs `measure` `runs` times and prints min / median / max in milliseconds.
async fn timed<F, Fut>(name: &str, runs: usize, mut measure: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Duration>>,
{
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        times.push(measure().await?);
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<28} {:>10.1} {:>10.1} {:>10.1}",
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1])
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let o = options()?;
    let dir = tempfile::tempdir()?;
    let path =
        o.db.clone()
            .unwrap_or_else(|| dir.path().join("gateway.db"));
    let store = GatewayStore::open(&path).await?;
    let keys = Arc::new(AuditKeys::from_root_key(&[7u8; 32])?);
    let started = Instant::now();
    fill(&store, &keys, o.rows).await?;
    let rows = store.audit_row_count().await?;
    println!(
        "{rows} rows in {} ({:.1} s to fill)",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    let log = AuditLog::open_keyed(
        Arc::new(store.clone()),
        &AuditConfig::default(),
        Some(Arc::clone(&keys)),
    )
    .await?;
    println!(
        "{:<28} {:>10} {:>10} {:>10}",
        "measure (ms)", "min", "median", "max"
    );
    timed("verify (full)", o.runs, || async {
        let start = Instant::now();
        let v = log.verify().await?;
        let took = start.elapsed();
        ensure!(v.first_broken.is_none(), "the log does not verify: {v:?}");
        Ok(took)
    })
    .await?;
    // Each run appends `--tail` rows after the checkpoint the previous check kept.
    let mut upto = rows;
    timed("verify (from checkpoint)", o.runs, || {
        upto += o.tail;
        let (store, keys, log, upto) = (&store, &keys, &log, upto);
        async move {
            fill(store, keys, upto).await?;
            let start = Instant::now();
            let v = log.verify_from_checkpoint().await?;
            let took = start.elapsed();
            ensure!(v.first_broken.is_none(), "the log does not verify: {v:?}");
            ensure!(
                v.from_checkpoint
                    .is_some_and(|size| size + o.tail == v.rows),
                "not from the last checkpoint: {v:?}"
            );
            Ok(took)
        }
    })
    .await?;
    let query = AuditQuery {
        key: Some(QUERY_KEY.to_owned()),
        principal: Some(QUERY_PRINCIPAL.to_owned()),
        ..AuditQuery::default()
    };
    timed("query key + principal", o.runs, || async {
        let start = Instant::now();
        let page = log.query(&query).await?;
        let took = start.elapsed();
        ensure!(!page.items.is_empty(), "the query found nothing");
        Ok(took)
    })
    .await?;
    Ok(())
}
