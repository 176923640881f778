//! Fills a keygate home's audit log with N rows, fast, for the audit benchmarks of
//! `scripts/bench.sh` (`keygate audit verify` and `keygate audit export` on a large log).
//!
//! The rows go through the gateway's own audit writer (the keyed hash chain, group commit,
//! the home's store), appended by many concurrent tasks so that each transaction carries a
//! full batch; no HTTP call and no provider call is made. The home is opened exactly as
//! `keygate --home DIR` opens one without a `keygate.toml`.
//!
//! The log is shaped for the "one key and a busy principal" query: 90 % of the rows are by
//! principal `heavy`, the rest by `app-0` … `app-49`; keys `local://bench-0` …
//! `local://bench-996` in turn (a prime count, so key and principal vary independently), so
//! `--key local://bench-7 --principal heavy` matches about 0.09 % of the rows while the
//! principal alone matches 90 % and the key alone 0.1 %.
//!
//! ```text
//! cargo run --release -p keygate --example audit_fill -- HOME ROWS
//! ```

// A measurement program: its report is its standard output.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, bail};
use keygate_core::audit::{AuditOutcome, NewAuditEvent};
use keygate_server::Home;
use keygate_server::config::Config;
use time::OffsetDateTime;

/// Concurrent appenders: enough to fill every batch of the writer (`audit.batch_max`).
const APPENDERS: u64 = 1024;

fn event(n: u64) -> NewAuditEvent {
    let principal = if n.is_multiple_of(10) {
        format!("app-{}", (n / 10) % 50)
    } else {
        "heavy".to_owned()
    };
    NewAuditEvent {
        time: OffsetDateTime::now_utc(),
        request_id: format!("fill-{n}"),
        principal,
        source: "rest".to_owned(),
        action: if n.is_multiple_of(3) {
            "crypto:decrypt"
        } else {
            "crypto:encrypt"
        }
        .to_owned(),
        provider: Some("local".to_owned()),
        key: Some(format!("local://bench-{}", n % 997)),
        key_version: Some("1".to_owned()),
        outcome: AuditOutcome::Success,
        error_kind: None,
        duration_us: 100 + n % 400,
        intent_seq: None,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(home), Some(rows)) = (args.next(), args.next()) else {
        bail!("usage: audit_fill HOME ROWS");
    };
    let home = PathBuf::from(home);
    let rows: u64 = rows.parse().context("ROWS must be a whole number")?;
    std::fs::create_dir_all(&home).with_context(|| format!("cannot create {}", home.display()))?;
    let config = Config::parse("", Vec::<(String, String)>::new(), "audit_fill")?;
    let service = keygate::compose::open(&config, &Home::new(&home)).await?;
    let log = service.audit().clone();

    let start = Instant::now();
    let tasks: Vec<_> = (0..APPENDERS)
        .map(|task| {
            let log = log.clone();
            tokio::spawn(async move {
                let mut n = task;
                while n < rows {
                    log.append(event(n)).await?;
                    n += APPENDERS;
                }
                Ok::<_, keygate_core::Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let stats = log.stats();
    println!(
        "audit_fill: {rows} rows in {elapsed:.1} s ({:.0} rows/s, {:.0} rows per commit) into {}",
        rows as f64 / elapsed,
        stats.average_batch(),
        home.display()
    );
    Ok(())
}
