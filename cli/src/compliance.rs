//! `keygate compliance report`: the console's compliance findings as a file or on stdout.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};
use keygate_core::api::Gateway;
use keygate_core::compliance::{self, Options, Severity};
use time::OffsetDateTime;

use super::args::OutputFormat;
use super::{Outcome, io, usage};

#[derive(Debug, Subcommand)]
pub enum ComplianceCommand {
    /// Findings across providers: rotation off or overdue, keys pending deletion, disabled
    /// keys behind aliases, wildcard principals, unused keys (exit 0 even with findings,
    /// unless --fail-on).
    Report(ReportArgs),
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Report format (default md). `--output json` is the same as `--format json`.
    #[arg(long, value_enum)]
    format: Option<ReportFormat>,
    /// The CLI's usual output switch: json is `--format json`; table is the default (md).
    #[arg(long, value_enum)]
    output: Option<OutputFormat>,
    /// A key without a successful crypto call for this many days is unused.
    #[arg(long = "unused-days", value_name = "N", default_value_t = 90)]
    unused_days: u32,
    /// Days past a due rotation before it is reported overdue.
    #[arg(long = "rotation-grace-days", value_name = "N", default_value_t = 0)]
    rotation_grace_days: u32,
    /// Write to a file instead of stdout.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    out: Option<PathBuf>,
    /// Exit 3 when there are findings of this severity or higher (after writing the report).
    #[arg(long = "fail-on", value_enum, value_name = "SEVERITY")]
    fail_on: Option<FailOn>,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Markdown: a summary table and a findings table.
    Md,
    /// CSV (RFC 4180): one row per finding.
    Csv,
    /// JSON (shape documented in the keygate book, docs/src/reference/json.md).
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Low,
    Medium,
    High,
}

impl From<FailOn> for Severity {
    fn from(f: FailOn) -> Self {
        match f {
            FailOn::Low => Severity::Low,
            FailOn::Medium => Severity::Medium,
            FailOn::High => Severity::High,
        }
    }
}

pub async fn run(
    api: &dyn Gateway,
    cmd: ComplianceCommand,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let ComplianceCommand::Report(args) = cmd;
    let format = match (args.format, args.output) {
        (Some(ReportFormat::Json) | None, Some(OutputFormat::Json)) => ReportFormat::Json,
        (Some(f), Some(OutputFormat::Json)) => {
            return Err(usage(format!(
                "--output json contradicts --format {}",
                f.to_possible_value()
                    .map(|v| v.get_name().to_owned())
                    .unwrap_or_default()
            )));
        }
        (f, _) => f.unwrap_or(ReportFormat::Md),
    };
    let options = Options {
        unused_days: args.unused_days,
        rotation_grace_days: args.rotation_grace_days,
    };
    let report = compliance::gather(api, options, OffsetDateTime::now_utc())
        .await
        .context("reading keys for the compliance report")?;
    let text = match format {
        ReportFormat::Md => report.to_markdown(),
        ReportFormat::Csv => report.to_csv(),
        ReportFormat::Json => report.to_json(),
    };
    match &args.out {
        Some(path) => io::write_output(Some(path), text.as_bytes(), true)?,
        None => out.write_all(text.as_bytes())?,
    }
    // Exit 3 is the CLI's "the answer is no" code (as `policy check` uses it), so scripts
    // can gate on the report without parsing it.
    match args.fail_on {
        Some(level) if report.at_least(level.into()) > 0 => Ok(Outcome::Denied),
        _ => Ok(Outcome::Success),
    }
}
