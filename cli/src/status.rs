//! `keygate status`: the gateway's health, as a few lines for people or the
//! [`GatewayStatus`] JSON for scripts.

use std::io::Write;

use anyhow::Result;
use keygate_core::api::{
    CircuitHealth, CircuitState, Gateway, GatewayStatus, HealthError, SchedulerStatus,
};

use crate::Outcome;
use crate::args::{OutputFormat, StatusArgs};
use crate::output;

/// Asks for the status, prints it, and says whether the gateway can record what it does.
pub(crate) async fn run(
    api: &dyn Gateway,
    args: StatusArgs,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let status = api.status().await?;
    match args.output.output {
        OutputFormat::Json => output::json(out, &status)?,
        OutputFormat::Table => render(out, &status)?,
    }
    Ok(if status.can_write() {
        Outcome::Success
    } else {
        Outcome::Unhealthy
    })
}

/// The table form: a header line, the providers, then the store, the audit log and the
/// listeners.
fn render(out: &mut dyn Write, s: &GatewayStatus) -> Result<()> {
    let features = if s.features.is_empty() {
        "none".to_owned()
    } else {
        s.features.join(", ")
    };
    writeln!(
        out,
        "keygate {} (features: {features}), checked {}",
        s.version,
        output::when(s.checked_at)
    )?;
    writeln!(out)?;
    let rows: Vec<Vec<String>> = s
        .providers
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                p.kind.to_string(),
                if p.reachable {
                    "reachable"
                } else {
                    "unreachable"
                }
                .to_owned(),
                format!("{} ms", p.latency_ms),
                p.circuit
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), circuit_text),
                p.error.as_ref().map_or_else(|| "-".to_owned(), error_text),
            ]
        })
        .collect();
    output::table(
        out,
        &["NAME", "KIND", "STATE", "LATENCY", "CIRCUIT", "ERROR"],
        &rows,
    )?;
    writeln!(out)?;

    let store = &s.store;
    let mut line = format!(
        "store:     {}, {}, {}",
        store.backend,
        if store.readable {
            "readable"
        } else {
            "NOT READABLE"
        },
        if store.writable {
            "writable"
        } else {
            "NOT WRITABLE"
        },
    );
    if let Some(e) = &store.error {
        line.push_str(&format!(" ({})", error_text(e)));
    }
    writeln!(out, "{line}")?;

    let audit = &s.audit;
    let mut line = format!(
        "audit:     writer {}, {} row{}",
        if audit.writer_running {
            "running"
        } else {
            "STOPPED"
        },
        audit.rows,
        if audit.rows == 1 { "" } else { "s" }
    );
    match (audit.head_seq, &audit.head_hash) {
        (Some(seq), Some(hash)) => line.push_str(&format!(", head #{seq} {}", short(hash))),
        (Some(seq), None) => line.push_str(&format!(", head #{seq}")),
        _ => line.push_str(", empty"),
    }
    if let Some(bytes) = audit.size_bytes {
        line.push_str(&format!(", {} on disk", size(bytes)));
    }
    if audit.failed_batches > 0 {
        line.push_str(&format!(", {} failed batches", audit.failed_batches));
    }
    if let Some(e) = &audit.error {
        line.push_str(&format!(" ({})", error_text(e)));
    }
    writeln!(out, "{line}")?;

    if s.listeners.is_empty() {
        writeln!(out, "listeners: none in this process")?;
    } else {
        let all: Vec<String> = s
            .listeners
            .iter()
            .map(|l| format!("{} {}", l.name, l.url))
            .collect();
        writeln!(out, "listeners: {}", all.join(", "))?;
    }
    if let Some(line) = s.scheduler.as_ref().and_then(scheduler_text) {
        writeln!(out, "scheduler: {line}")?;
    }
    Ok(())
}

/// Who leads the scheduler among replicas; nothing to say on a store without a lease
/// (SQLite: the serving process runs maintenance alone).
fn scheduler_text(s: &SchedulerStatus) -> Option<String> {
    if !s.shared {
        return None;
    }
    Some(match &s.leader {
        Some(leader) if s.leading || *leader == s.replica => {
            format!("led by this replica ({leader})")
        }
        Some(leader) => format!("led by {leader} (this replica: {})", s.replica),
        None => format!("no replica leads now (this replica: {})", s.replica),
    })
}

/// A provider's circuit breaker: `closed`, `open 27 s` (calls skipped that much longer),
/// `half-open` (the next call is a trial).
fn circuit_text(c: &CircuitHealth) -> String {
    match (c.state, c.open_for_secs) {
        (CircuitState::Open, Some(secs)) => format!("open {secs} s"),
        (CircuitState::HalfOpen, _) => "half-open".to_owned(),
        (state, _) => state.as_str().to_owned(),
    }
}

/// An error on one line (a provider's message can span several).
fn error_text(e: &HealthError) -> String {
    e.message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first 12 hex digits of a hash: enough to compare heads by eye.
fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// `812 B`, `1.4 KiB`, `3.0 MiB`, ...
fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    // Precision loss only past 2^53 bytes, far beyond a gateway store.
    let mut value = bytes as f64 / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use keygate_core::ProviderKind;
    use keygate_core::api::{AuditHealth, Listener, ProviderHealth, StoreHealth};

    use super::*;

    fn sample() -> GatewayStatus {
        GatewayStatus {
            version: "0.1.0".into(),
            features: vec!["aws".into(), "gcp".into()],
            providers: vec![
                ProviderHealth {
                    name: "local".into(),
                    kind: ProviderKind::Local,
                    reachable: true,
                    latency_ms: 1,
                    error: None,
                    circuit: Some(CircuitHealth {
                        state: CircuitState::Closed,
                        consecutive_failures: 0,
                        trips: 0,
                        open_for_secs: None,
                    }),
                },
                ProviderHealth {
                    name: "aws-prod".into(),
                    kind: ProviderKind::Aws,
                    reachable: false,
                    latency_ms: 5000,
                    error: Some(HealthError {
                        kind: "unavailable".into(),
                        message: "provider `aws-prod` did not answer\nwithin 5 s".into(),
                    }),
                    circuit: Some(CircuitHealth {
                        state: CircuitState::Open,
                        consecutive_failures: 3,
                        trips: 1,
                        open_for_secs: Some(27),
                    }),
                },
            ],
            store: StoreHealth {
                backend: "sqlite".into(),
                readable: true,
                writable: true,
                error: None,
            },
            audit: AuditHealth {
                writer_running: true,
                rows: 42,
                head_seq: Some(42),
                head_hash: Some("0123456789abcdef0123".into()),
                size_bytes: Some(3 * 1024 * 1024 / 2),
                failed_batches: 0,
                error: None,
            },
            listeners: Vec::new(),
            checked_at: time::macros::datetime!(2030-01-02 03:04 UTC),
            scheduler: Some(SchedulerStatus {
                replica: "gw-1".into(),
                leading: false,
                shared: false,
                leader: None,
            }),
        }
    }

    fn text(s: &GatewayStatus) -> String {
        let mut out = Vec::new();
        render(&mut out, s).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_table_shows_each_provider_the_store_the_audit_head_and_no_listeners() {
        let t = text(&sample());
        assert_eq!(
            t,
            "keygate 0.1.0 (features: aws, gcp), checked 2030-01-02 03:04 UTC\n\
             \n\
             NAME      KIND   STATE        LATENCY  CIRCUIT    ERROR\n\
             local     local  reachable    1 ms     closed     -\n\
             aws-prod  aws    unreachable  5000 ms  open 27 s  provider `aws-prod` did not answer within 5 s\n\
             \n\
             store:     sqlite, readable, writable\n\
             audit:     writer running, 42 rows, head #42 0123456789ab, 1.5 MiB on disk\n\
             listeners: none in this process\n"
        );
    }

    #[test]
    fn problems_are_spelled_out() {
        let mut s = sample();
        s.features.clear();
        s.store.writable = false;
        s.store.error = Some(HealthError {
            kind: "unavailable".into(),
            message: "attempt to write a readonly database".into(),
        });
        s.audit.writer_running = false;
        s.audit.head_seq = None;
        s.audit.head_hash = None;
        s.audit.size_bytes = None;
        s.audit.failed_batches = 2;
        s.listeners = vec![Listener {
            name: "rest".into(),
            url: "http://127.0.0.1:8200".into(),
        }];
        let t = text(&s);
        assert!(t.contains("(features: none)"), "{t}");
        assert!(
            t.contains(
                "store:     sqlite, readable, NOT WRITABLE (attempt to write a readonly database)"
            ),
            "{t}"
        );
        assert!(
            t.contains("audit:     writer STOPPED, 42 rows, empty, 2 failed batches"),
            "{t}"
        );
        assert!(t.contains("listeners: rest http://127.0.0.1:8200"), "{t}");
    }

    #[test]
    fn the_leader_among_replicas_is_named() {
        let mut s = sample();
        let line = |s: &GatewayStatus| {
            text(s)
                .lines()
                .find(|l| l.starts_with("scheduler:"))
                .map(str::to_owned)
        };
        // SQLite: nothing to lead.
        assert_eq!(line(&s), None);
        let scheduler = s.scheduler.as_mut().unwrap();
        scheduler.shared = true;
        assert_eq!(
            line(&s).unwrap(),
            "scheduler: no replica leads now (this replica: gw-1)"
        );
        s.scheduler.as_mut().unwrap().leader = Some("gw-2".into());
        assert_eq!(
            line(&s).unwrap(),
            "scheduler: led by gw-2 (this replica: gw-1)"
        );
        let scheduler = s.scheduler.as_mut().unwrap();
        scheduler.leader = Some("gw-1".into());
        scheduler.leading = true;
        assert_eq!(line(&s).unwrap(), "scheduler: led by this replica (gw-1)");
    }

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(size(812), "812 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }
}
