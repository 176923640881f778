//! `keygate cost`: what the key estate costs per provider and per key, and what it would
//! cost on each other kind of provider.

use std::io::Write;

use anyhow::Result;
use clap::Args;
use keygate_core::api::Gateway;
use keygate_core::cost::{CostReport, Elsewhere, RequestKind, RequestTally, dollars, parse_since};
use time::OffsetDateTime;

use crate::args::{OutputArg, OutputFormat};
use crate::{Outcome, output, usage};

/// `keygate cost` arguments.
#[derive(Debug, Args)]
pub struct CostArgs {
    /// Count requests since this long ago (`30d`, `12h`, `2w`) or since an RFC 3339 time.
    #[arg(long, value_name = "SPAN", default_value = "30d")]
    since: String,
    #[command(flatten)]
    output: OutputArg,
}

/// Asks for the report and prints it.
pub(crate) async fn run(api: &dyn Gateway, args: CostArgs, out: &mut dyn Write) -> Result<Outcome> {
    let since = parse_since(&args.since, OffsetDateTime::now_utc())
        .map_err(|e| usage(format!("--since: {e}")))?;
    let report = api.cost(since).await?;
    match args.output.output {
        OutputFormat::Json => output::json(out, &report)?,
        OutputFormat::Table => render(out, &report)?,
    }
    Ok(Outcome::Success)
}

fn requests(t: &RequestTally) -> String {
    if t.is_empty() {
        return "-".to_owned();
    }
    t.iter()
        .map(|(kind, n)| {
            let name = match kind {
                RequestKind::Symmetric => "sym",
                RequestKind::Rsa2048 => "rsa2048",
                RequestKind::Asymmetric => "asym",
                RequestKind::Random => "random",
                RequestKind::Management => "mgmt",
            };
            format!("{name} {n}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn elsewhere(e: &Elsewhere) -> Vec<String> {
    e.values().map(|usd| dollars(*usd)).collect()
}

fn render(out: &mut dyn Write, r: &CostReport) -> Result<()> {
    writeln!(
        out,
        "Requests since {} (to {}); keys per month. List prices, free tiers not deducted.",
        output::when(r.since),
        output::when(r.until)
    )?;
    writeln!(out)?;
    let kinds: Vec<String> = r
        .elsewhere
        .keys()
        .map(|k| format!("ON {}", k.scheme().to_uppercase()))
        .collect();
    let mut headers = vec![
        "PROVIDER",
        "KIND",
        "KEYS",
        "VERSIONS",
        "KEYS/MONTH",
        "REQUESTS",
        "REQUESTS $",
        "TOTAL",
    ];
    headers.extend(kinds.iter().map(String::as_str));
    let mut rows: Vec<Vec<String>> = r
        .providers
        .iter()
        .map(|p| {
            let mut row = vec![
                p.provider.clone(),
                p.kind.scheme().to_owned(),
                p.keys.to_string(),
                p.key_versions.to_string(),
                dollars(p.monthly_usd),
                requests(&p.requests),
                dollars(p.requests_usd),
                dollars(p.total_usd),
            ];
            row.extend(elsewhere(&p.elsewhere));
            row
        })
        .collect();
    let mut total = vec![
        "TOTAL".to_owned(),
        String::new(),
        r.providers.iter().map(|p| p.keys).sum::<u32>().to_string(),
        r.providers
            .iter()
            .map(|p| p.key_versions)
            .sum::<u32>()
            .to_string(),
        dollars(r.monthly_usd),
        String::new(),
        dollars(r.requests_usd),
        dollars(r.total_usd),
    ];
    total.extend(elsewhere(&r.elsewhere));
    rows.push(total);
    output::table(out, &headers, &rows)?;
    writeln!(out)?;
    let rows: Vec<Vec<String>> = r
        .keys
        .iter()
        .map(|k| {
            vec![
                k.uri.clone(),
                k.provider.clone(),
                serde_json::to_value(k.spec)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                k.versions.to_string(),
                dollars(k.monthly_usd),
                requests(&k.requests),
                dollars(k.requests_usd),
            ]
        })
        .collect();
    output::table(
        out,
        &[
            "KEY",
            "PROVIDER",
            "SPEC",
            "VERSIONS",
            "PER MONTH",
            "REQUESTS",
            "REQUESTS $",
        ],
        &rows,
    )?;
    for note in &r.notes {
        writeln!(out, "note: {note}")?;
    }
    Ok(())
}
