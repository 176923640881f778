//! Audit log throughput with group commit: N concurrent appenders against an on-disk gateway
//! store (WAL, `synchronous = FULL`, so every commit waits for the disk), for a few seconds
//! per level; reports appends per second and the average rows per transaction.
//!
//! ```text
//! cargo run --release -p keygate-server --example audit_throughput -- [seconds] [appenders...]
//! ```
//!
//! Defaults: 3 seconds per level, 1, 8, 64 and 256 appenders. With one appender every append
//! pays a full flush; with more, the writer folds whatever queued during a flush into the
//! next transaction.

// A measurement program: its report is its standard output.
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use keygate_server::GatewayStore;
use keygate_server::audit::{AuditConfig, AuditLog, AuditOutcome, NewAuditEvent};
use time::OffsetDateTime;

fn event(task: usize, n: u64) -> NewAuditEvent {
    NewAuditEvent {
        time: OffsetDateTime::now_utc(),
        request_id: format!("req-{task}-{n}"),
        principal: "bench".to_owned(),
        source: "rest".to_owned(),
        action: "crypto:encrypt".to_owned(),
        provider: Some("local".to_owned()),
        key: Some(format!("kg://local/key-{}", task % 16)),
        key_version: Some("1".to_owned()),
        outcome: AuditOutcome::Success,
        error_kind: None,
        duration_us: 120,
        intent_seq: None,
    }
}

async fn level(appenders: usize, run_for: Duration) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = GatewayStore::open(&dir.path().join("gateway.db")).await?;
    let log = AuditLog::open(Arc::new(store), &AuditConfig::default()).await?;
    let start = Instant::now();
    let deadline = start + run_for;
    let tasks: Vec<_> = (0..appenders)
        .map(|task| {
            let log = log.clone();
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    log.append(event(task, n)).await?;
                    n += 1;
                }
                Ok::<_, keygate_core::Error>(n)
            })
        })
        .collect();
    let mut appended = 0u64;
    for task in tasks {
        appended += task.await??;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let stats = log.stats();
    let verified = log.verify().await?;
    anyhow::ensure!(
        verified.first_broken.is_none() && verified.rows == appended,
        "chain did not verify after the run: {verified:?}"
    );
    println!(
        "{appenders:>9}  {:>10.0}  {appended:>8}  {:>8}  {:>10.1}",
        appended as f64 / elapsed,
        stats.batches,
        stats.average_batch(),
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = match args.next() {
        Some(s) => s.parse().context("seconds must be a number")?,
        None => 3.0,
    };
    let mut levels = args
        .map(|a| {
            a.parse::<usize>()
                .context("appenders must be whole numbers")
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if levels.is_empty() {
        levels = vec![1, 8, 64, 256];
    }
    let run_for = Duration::try_from_secs_f64(seconds).context("bad duration")?;
    println!("appenders  appends/s   appends   batches  rows/batch");
    for appenders in levels {
        level(appenders.max(1), run_for).await?;
    }
    Ok(())
}
