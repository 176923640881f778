//! `keygate audit tail | export | verify | checkpoint | prove | public-key`.
//!
//! Everything pages through [`Gateway::query_audit`] with its cursor, so memory stays bounded
//! by one page whatever the size of the log, and the same code reads a local log or a remote
//! gateway's.

use std::collections::VecDeque;
use std::io::{BufWriter, Write};

use anyhow::{Context as _, Result};
use futures::StreamExt as _;
use keygate_core::api::Gateway;
use keygate_core::audit::{AuditEvent, AuditQuery};
use keygate_core::{Error, Page};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use super::admin_args::{AuditCommand, AuditFilters, ExportFormat};
use super::args::OutputFormat;
use super::io::Sink;
use super::{Outcome, output, usage};

pub async fn run(api: &dyn Gateway, cmd: AuditCommand, out: &mut dyn Write) -> Result<Outcome> {
    match cmd {
        AuditCommand::Tail {
            lines,
            follow,
            output,
        } => tail(api, lines, follow, output, out).await?,
        AuditCommand::Export {
            format,
            out: path,
            filters,
        } => {
            let query = to_query(api, filters).await?;
            let sink = Sink::create(path.as_deref(), true)?;
            let mut w = BufWriter::new(sink);
            export(api, query, format, &mut w).await?;
            let sink = w
                .into_inner()
                .map_err(|e| e.into_error())
                .context("cannot write the export")?;
            sink.finish()?;
        }
        AuditCommand::Verify {
            checkpoint,
            from_checkpoint,
            output,
        } => {
            super::audit_proof::verify(api, checkpoint.as_deref(), from_checkpoint, output, out)
                .await?;
        }
        AuditCommand::Checkpoint { output } => {
            super::audit_proof::checkpoint(api, output, out).await?;
        }
        AuditCommand::Prove { seq, size, output } => {
            super::audit_proof::prove(api, seq, size, output, out).await?;
        }
        AuditCommand::PublicKey { output } => {
            super::audit_proof::public_key(api, output, out).await?;
        }
    }
    Ok(Outcome::Success)
}

fn cursor(page: &Page<AuditEvent>) -> Result<Option<u64>> {
    page.next_cursor
        .as_deref()
        .map(|c| {
            c.parse::<u64>()
                .with_context(|| format!("the gateway returned a bad audit cursor {c:?}"))
        })
        .transpose()
}

/// Every row matching `query`, oldest first, one page in memory at a time.
async fn export(
    api: &dyn Gateway,
    mut query: AuditQuery,
    format: ExportFormat,
    out: &mut dyn Write,
) -> Result<()> {
    query.limit = Some(AuditQuery::MAX_LIMIT);
    if format == ExportFormat::Csv {
        writeln!(out, "{}", AuditEvent::csv_header())?;
    }
    loop {
        let page = api.query_audit(&query).await?;
        for event in &page.items {
            match format {
                ExportFormat::Jsonl => output::json_line(out, event)?,
                ExportFormat::Csv => writeln!(out, "{}", event.to_csv_row())?,
            }
        }
        match cursor(&page)? {
            Some(after) => query.after = Some(after),
            None => return Ok(()),
        }
    }
}

/// The first row after `seq`, if any.
async fn first_after(api: &dyn Gateway, seq: u64) -> Result<Option<u64>> {
    let page = api
        .query_audit(&AuditQuery {
            after: Some(seq),
            limit: Some(1),
            ..AuditQuery::default()
        })
        .await?;
    Ok(page.items.first().map(|e| e.seq))
}

/// The `seq` of the last row, knowing row `lo` exists.
///
/// The log is read oldest first, so the end is found by search rather than by reading it
/// all: a gallop then a bisection on "is there a row after seq k", a few dozen small
/// queries even for millions of rows.
async fn last_seq(api: &dyn Gateway, mut lo: u64) -> Result<u64> {
    // Invariant: row `lo` exists; once found, no row is after `hi`.
    let mut step = u64::from(AuditQuery::MAX_LIMIT);
    let mut hi = loop {
        let probe = lo.saturating_add(step);
        match first_after(api, probe).await? {
            Some(s) => {
                lo = s;
                step = step.saturating_mul(2);
            }
            None => break probe,
        }
    };
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match first_after(api, mid).await? {
            Some(s) => lo = s,
            None => hi = mid,
        }
    }
    Ok(lo)
}

/// The last `n` rows (oldest first) and the cursor to follow from.
async fn last_rows(api: &dyn Gateway, n: u32) -> Result<(Vec<AuditEvent>, u64)> {
    let keep = n as usize;
    let first = api
        .query_audit(&AuditQuery {
            limit: Some(AuditQuery::MAX_LIMIT),
            ..AuditQuery::default()
        })
        .await?;
    let Some(first_last) = first.items.last().map(|e| e.seq) else {
        return Ok((Vec::new(), 0));
    };
    if cursor(&first)?.is_none() {
        // The whole log fit in one page.
        let skip = first.items.len().saturating_sub(keep);
        return Ok((first.items.into_iter().skip(skip).collect(), first_last));
    }
    let start = last_seq(api, first_last)
        .await?
        .saturating_sub(u64::from(n));
    // Read from there to the end (rows written meanwhile included), keeping the last n.
    let mut kept: VecDeque<AuditEvent> = VecDeque::with_capacity(keep);
    let mut query = AuditQuery {
        after: Some(start),
        limit: Some(AuditQuery::MAX_LIMIT),
        ..AuditQuery::default()
    };
    let mut last = start;
    loop {
        let page = api.query_audit(&query).await?;
        for e in page.items.iter().cloned() {
            last = last.max(e.seq);
            if keep > 0 {
                if kept.len() == keep {
                    kept.pop_front();
                }
                kept.push_back(e);
            }
        }
        match cursor(&page)? {
            Some(after) => query.after = Some(after),
            None => break,
        }
    }
    Ok((kept.into(), last))
}

async fn tail(
    api: &dyn Gateway,
    n: u32,
    follow: bool,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<()> {
    let (rows, last) = last_rows(api, n).await?;
    if format == OutputFormat::Table {
        audit_line(out, &output::AUDIT_HEADERS.map(String::from))?;
    }
    for e in &rows {
        print_row(out, e, format)?;
    }
    out.flush()?;
    if !follow {
        return Ok(());
    }
    let mut stream = api
        .follow_audit(&AuditQuery {
            after: Some(last),
            ..AuditQuery::default()
        })
        .await?;
    while let Some(event) = stream.next().await {
        print_row(out, &event?, format)?;
        out.flush()?;
    }
    Ok(())
}

fn print_row(out: &mut dyn Write, e: &AuditEvent, format: OutputFormat) -> Result<()> {
    match format {
        OutputFormat::Json => output::json_line(out, e),
        OutputFormat::Table => audit_line(out, &output::audit_cells(e)),
    }
}

/// A table line with fixed column widths: rows keep arriving with --follow, so widths cannot
/// be computed from the data; a long cell just pushes the rest of its line.
fn audit_line(out: &mut dyn Write, cells: &[String]) -> Result<()> {
    const WIDTHS: [usize; 6] = [6, 19, 20, 6, 18, 28];
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        match WIDTHS.get(i) {
            Some(w) => line.push_str(&format!("{cell:<w$}  ")),
            None => line.push_str(cell),
        }
    }
    writeln!(out, "{}", line.trim_end())?;
    Ok(())
}

/// Parses `--since` / `--until`: RFC 3339, or a UTC date. A date means the start of that day
/// for `since` and, `until` being exclusive, the start of the next one (so `--since D
/// --until D` is the whole day D).
fn parse_time(flag: &str, text: &str, end_of_day: bool) -> Result<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t);
    }
    if let Ok(d) = Date::parse(text, format_description!("[year]-[month]-[day]")) {
        let day = if end_of_day { d.next_day() } else { Some(d) };
        if let Some(day) = day {
            return Ok(day.midnight().assume_utc());
        }
    }
    Err(usage(format!(
        "--{flag} {text:?}: expected RFC 3339 (2026-11-23T18:40:00Z) or a date (2026-11-23)"
    )))
}

async fn to_query(api: &dyn Gateway, f: AuditFilters) -> Result<AuditQuery> {
    let since = f
        .since
        .as_deref()
        .map(|t| parse_time("since", t, false))
        .transpose()?;
    let until = f
        .until
        .as_deref()
        .map(|t| parse_time("until", t, true))
        .transpose()?;
    // Rows name keys by URI. A name or alias is resolved; a key that no longer exists (a
    // deleted key is exactly what an auditor may look for) is taken as typed.
    let key = match f.key {
        Some(k) if !k.contains("://") => match api.describe_key(&k.parse()?).await {
            Ok(meta) => Some(meta.uri),
            Err(Error::NotFound(_)) => Some(k),
            Err(e) => return Err(e.into()),
        },
        other => other,
    };
    Ok(AuditQuery {
        since,
        until,
        key,
        principal: f.principal,
        action: f.action,
        ..AuditQuery::default()
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use keygate_core::audit::{AuditOutcome, NewAuditEvent};
    use keygate_server::Home;
    use keygate_server::config::Config;
    use time::macros::datetime;

    use super::*;

    /// A log of several pages: the tail is found by search, not by reading it all.
    #[tokio::test]
    async fn tail_finds_the_end_of_a_long_log() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::parse("", Vec::new(), "test").unwrap();
        let service = crate::compose::open(&config, &Home::new(dir.path()))
            .await
            .unwrap();
        let rows = 2 * AuditQuery::MAX_LIMIT as usize + 345;
        let appends = (0..rows).map(|i| {
            service.audit().append(NewAuditEvent {
                time: OffsetDateTime::now_utc(),
                request_id: format!("req-{i}"),
                principal: "alice".to_owned(),
                source: "cli".to_owned(),
                action: "keys:list".to_owned(),
                provider: None,
                key: None,
                key_version: None,
                outcome: AuditOutcome::Success,
                error_kind: None,
                duration_us: 1,
                intent_seq: None,
            })
        });
        for appended in futures::future::join_all(appends).await {
            appended.unwrap();
        }
        let api = service.local_admin();
        let (tail, last) = last_rows(&api, 3).await.unwrap();
        let seqs: Vec<u64> = tail.iter().map(|e| e.seq).collect();
        // The session audits its own reads: the rows after the appended ones are those.
        assert_eq!(seqs.len(), 3);
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
        assert_eq!(last, seqs[2]);
        assert!(last >= rows as u64, "{last}");
        // Nothing but a few audited reads (the search's own probes) came after the tail.
        let after = service
            .audit()
            .query(&AuditQuery {
                after: Some(last),
                limit: Some(AuditQuery::MAX_LIMIT),
                ..AuditQuery::default()
            })
            .await
            .unwrap();
        assert!(
            after.items.len() < 64,
            "{} rows after the tail",
            after.items.len()
        );
        assert!(after.items.iter().all(|e| e.action == "audit:read"));
        let (none, _) = last_rows(&api, 0).await.unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn times_are_rfc3339_or_whole_days() {
        assert_eq!(
            parse_time("since", "2026-11-23T18:40:00Z", false).unwrap(),
            datetime!(2026-11-23 18:40 UTC)
        );
        assert_eq!(
            parse_time("since", "2026-11-23", false).unwrap(),
            datetime!(2026-11-23 0:00 UTC)
        );
        assert_eq!(
            parse_time("until", "2026-11-23", true).unwrap(),
            datetime!(2026-11-24 0:00 UTC)
        );
        let err = parse_time("since", "yesterday", false).unwrap_err();
        assert_eq!(crate::exit_code(&err), 2);
        assert!(err.to_string().contains("--since"), "{err}");
    }
}
