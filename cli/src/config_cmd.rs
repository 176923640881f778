//! `keygate config show` and `keygate config check`: the configuration itself, read without
//! opening the home (nothing is created, no database is touched; only `check --probe` opens
//! providers).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use clap::Subcommand;
use keygate_providers::factory::{self, Backend, LocalKeyStore, OpenContext, ProviderConfig};
use keygate_server::Home;
use keygate_server::config::{
    self, Config, ConfigSource, Origin, Problem, ProviderSection, Setting,
};
use serde::Serialize;

use crate::args::{OutputArg, OutputFormat};
use crate::{Outcome, compose, output};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Show the effective configuration: every setting with its value (secrets redacted) and
    /// where it comes from (default, file line or environment variable).
    Show {
        #[command(flatten)]
        output: OutputArg,
    },
    /// Check a configuration file: every problem with its line and column (exit 1 when there
    /// is any), environment overrides included.
    Check {
        /// The file to check. Default: the one `config show` reads (--config,
        /// $KEYGATE_CONFIG, else <home>/keygate.toml).
        file: Option<PathBuf>,
        /// Also open each provider section and probe it (as `status` does), reporting it
        /// reachable (with the time it took) or not (exit 1).
        #[arg(long)]
        probe: bool,
        /// Seconds each probe may take.
        #[arg(long, value_name = "SECS", default_value_t = 15, requires = "probe")]
        timeout: u64,
        #[command(flatten)]
        output: OutputArg,
    },
}

/// Runs a `config` command for `home` (resolved, never created) and the `--config` file.
pub async fn run(
    home: Option<PathBuf>,
    config: Option<PathBuf>,
    cmd: ConfigCommand,
) -> Result<Outcome> {
    let home = Home::resolve(home)?;
    let mut stdout = std::io::stdout().lock();
    match cmd {
        ConfigCommand::Show { output } => {
            let source = ConfigSource::read(config.as_deref(), home.dir())?;
            show(&source, std::env::vars(), output.output, &mut stdout)?;
            Ok(Outcome::Success)
        }
        ConfigCommand::Check {
            file,
            probe,
            timeout,
            output,
        } => {
            let source = ConfigSource::read(file.or(config).as_deref(), home.dir())?;
            let problems = config::check(&source, std::env::vars(), &type_provider);
            let probes = if probe && problems.is_empty() {
                probe_all(&source, home.dir(), Duration::from_secs(timeout)).await?
            } else {
                Vec::new()
            };
            let ok = problems.is_empty() && probes.iter().all(|p| p.status != Status::Unreachable);
            report(&source, &problems, &probes, output.output, &mut stdout)?;
            Ok(if ok {
                Outcome::Success
            } else {
                Outcome::Problems
            })
        }
    }
}

/// What `check` asks of each provider section: that the provider factory can type it.
fn type_provider(section: &ProviderSection) -> keygate_core::Result<()> {
    ProviderConfig::parse(&section.name, &section.kind, section.settings.clone()).map(|_| ())
}

/// `origin` as JSON names it (`default`, `file`, `env`) and its source (`file:line`, the
/// variable, or none).
fn origin_parts(origin: &Origin) -> (&'static str, Option<String>) {
    match origin {
        Origin::Default => ("default", None),
        Origin::File { path, line, .. } => ("file", Some(format!("{path}:{line}"))),
        Origin::Env { var } => ("env", Some(var.clone())),
    }
}

#[derive(Serialize)]
struct ShowJson {
    file: Option<String>,
    settings: Vec<SettingJson>,
}

#[derive(Serialize)]
struct SettingJson {
    path: String,
    value: serde_json::Value,
    origin: &'static str,
    source: Option<String>,
}

fn show(
    source: &ConfigSource,
    env: impl IntoIterator<Item = (String, String)>,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<()> {
    let effective = config::effective(source, env)
        .context("the configuration has problems; `keygate config check` lists them all")?;
    match format {
        OutputFormat::Json => {
            let settings = effective
                .settings
                .iter()
                .map(|s| {
                    let (origin, src) = origin_parts(&s.origin);
                    Ok(SettingJson {
                        path: s.path.clone(),
                        value: serde_json::to_value(&s.value)?,
                        origin,
                        source: src,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            output::json(
                out,
                &ShowJson {
                    file: source.path.as_ref().map(|p| p.display().to_string()),
                    settings,
                },
            )
        }
        OutputFormat::Table => show_table(source, &effective.settings, out),
    }
}

fn show_table(source: &ConfigSource, settings: &[Setting], out: &mut dyn Write) -> Result<()> {
    match &source.path {
        Some(path) => writeln!(out, "# {}", path.display())?,
        None => writeln!(out, "# no configuration file: defaults")?,
    }
    let lines: Vec<(String, String)> = settings
        .iter()
        .map(|s| {
            let origin = match &s.origin {
                Origin::Default => "default".to_owned(),
                Origin::File { path, line, .. } => format!("{path}:{line}"),
                Origin::Env { var } => format!("${var}"),
            };
            (format!("{} = {}", s.path, s.value), origin)
        })
        .collect();
    let width = lines
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let mut section = "";
    for (setting, (line, origin)) in settings.iter().zip(&lines) {
        let this = setting.path.split('.').next().unwrap_or_default();
        if this != section {
            writeln!(out)?;
            section = this;
        }
        writeln!(out, "{line:<width$}  # {origin}")?;
    }
    Ok(())
}

/// How a provider answered `--probe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    Reachable,
    Unreachable,
    /// A local provider whose files do not exist yet: opening it would create them.
    Skipped,
}

#[derive(Debug, Serialize)]
struct Probe {
    provider: String,
    kind: &'static str,
    status: Status,
    latency_ms: Option<u64>,
    message: Option<String>,
}

/// Opens each provider section and probes it (its cheapest authenticated read, as `keygate
/// status` does), each within `timeout`. A local provider
/// is probed only when its key database and root key already exist, so a probe never
/// creates files.
async fn probe_all(source: &ConfigSource, home: &Path, timeout: Duration) -> Result<Vec<Probe>> {
    let config = Config::parse(&source.text, std::env::vars(), &source.name())?;
    let typed = compose::provider_configs(&config)?;
    let root_key = compose::root_key_from_env()?;
    let cx = OpenContext {
        home: home.to_owned(),
        root_key,
        store_url: compose::postgres_store_url(&config, home),
    };
    let mut probes = Vec::with_capacity(typed.len());
    for provider in &typed {
        probes.push(probe(provider, &cx, timeout).await);
    }
    Ok(probes)
}

async fn probe(provider: &ProviderConfig, cx: &OpenContext, timeout: Duration) -> Probe {
    let mut result = Probe {
        provider: provider.name.clone(),
        kind: provider.backend.kind(),
        status: Status::Skipped,
        latency_ms: None,
        message: None,
    };
    let sqlite_file = match &provider.backend {
        Backend::Local(local) => {
            match local.key_store(&provider.name, &cx.home, cx.store_url.as_deref()) {
                Ok(LocalKeyStore::Sqlite(db)) => Some((local, db)),
                // PostgreSQL is probed like any remote store; a bad section fails the probe.
                _ => None,
            }
        }
        #[allow(unreachable_patterns)]
        _ => None,
    };
    if let Some((local, db)) = sqlite_file {
        let key = local.root_key_file(&cx.home);
        let missing = if !db.exists() {
            Some(db)
        } else if cx.root_key.is_none() && !key.exists() {
            Some(key)
        } else {
            None
        };
        if let Some(missing) = missing {
            result.message = Some(format!(
                "{} does not exist yet (created on first use)",
                missing.display()
            ));
            return result;
        }
    }
    let started = Instant::now();
    let call = async {
        let opened = factory::open(provider, cx).await?;
        opened.probe().await
    };
    match tokio::time::timeout(timeout, call).await {
        Ok(Ok(())) => {
            result.status = Status::Reachable;
            result.latency_ms =
                Some(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
        }
        Ok(Err(e)) => {
            result.status = Status::Unreachable;
            result.message = Some(e.to_string());
        }
        Err(_) => {
            result.status = Status::Unreachable;
            result.message = Some(format!("no answer within {} s", timeout.as_secs()));
        }
    }
    result
}

#[derive(Serialize)]
struct CheckJson<'a> {
    file: Option<String>,
    ok: bool,
    problems: Vec<ProblemJson<'a>>,
    probes: &'a [Probe],
}

#[derive(Serialize)]
struct ProblemJson<'a> {
    line: Option<usize>,
    column: Option<usize>,
    path: Option<&'a str>,
    origin: &'static str,
    source: Option<String>,
    message: &'a str,
}

fn report(
    source: &ConfigSource,
    problems: &[Problem],
    probes: &[Probe],
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<()> {
    let name = source.name();
    match format {
        OutputFormat::Json => {
            let problems = problems
                .iter()
                .map(|p| {
                    let (line, column) = match p.origin {
                        Origin::File { line, column, .. } => (Some(line), Some(column)),
                        _ => (None, None),
                    };
                    let (origin, src) = origin_parts(&p.origin);
                    ProblemJson {
                        line,
                        column,
                        path: p.path.as_deref(),
                        origin,
                        source: src,
                        message: &p.message,
                    }
                })
                .collect::<Vec<_>>();
            let ok = problems.is_empty() && probes.iter().all(|p| p.status != Status::Unreachable);
            output::json(
                out,
                &CheckJson {
                    file: source.path.as_ref().map(|p| p.display().to_string()),
                    ok,
                    problems,
                    probes,
                },
            )
        }
        OutputFormat::Table => {
            for p in problems {
                match &p.origin {
                    Origin::File {
                        path, line, column, ..
                    } => writeln!(out, "{path}:{line}:{column}: {}", p.message)?,
                    Origin::Env { var } => writeln!(out, "${var}: {}", p.message)?,
                    Origin::Default => writeln!(out, "{name}: {}", p.message)?,
                }
            }
            if problems.is_empty() {
                writeln!(out, "{name}: ok")?;
            }
            for p in probes {
                let what = format!("provider {} ({})", p.provider, p.kind);
                match (p.status, p.latency_ms, &p.message) {
                    (Status::Reachable, Some(ms), _) => {
                        writeln!(out, "{what}: reachable in {ms} ms")?
                    }
                    (status, _, message) => writeln!(
                        out,
                        "{what}: {}{}",
                        match status {
                            Status::Reachable => "reachable",
                            Status::Unreachable => "unreachable",
                            Status::Skipped => "not probed",
                        },
                        message
                            .as_ref()
                            .map(|m| format!(": {m}"))
                            .unwrap_or_default()
                    )?,
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn source(text: &str) -> ConfigSource {
        ConfigSource {
            path: Some(PathBuf::from("k.toml")),
            text: text.to_owned(),
        }
    }

    #[test]
    fn show_lists_each_setting_with_its_origin() {
        let mut out = Vec::new();
        show(
            &source("[server]\nlisten = \"127.0.0.1:1\"\n"),
            [("KEYGATE_AUDIT__QUEUE".to_owned(), "9".to_owned())],
            OutputFormat::Table,
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let line = |path: &str| {
            text.lines()
                .find(|l| l.starts_with(&format!("{path} =")))
                .unwrap_or_else(|| panic!("no {path} in {text}"))
                .to_owned()
        };
        assert!(line("server.listen").ends_with("# k.toml:2"), "{text}");
        assert!(
            line("audit.queue").ends_with("# $KEYGATE_AUDIT__QUEUE"),
            "{text}"
        );
        assert!(line("cache.enabled").ends_with("# default"), "{text}");
        assert!(line("server.listen").contains("\"127.0.0.1:1\""), "{text}");
    }

    #[tokio::test]
    async fn a_probe_never_creates_a_local_provider() {
        let home = std::env::temp_dir().join(format!("keygate-probe-{}", uuid::Uuid::new_v4()));
        let probes = probe_all(
            &source("[providers.local]\n"),
            &home,
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert_eq!(probes.len(), 1);
        assert_eq!(probes[0].status, Status::Skipped);
        assert!(!home.exists());
    }

    #[test]
    fn problems_print_compiler_style() {
        let problems = config::check(
            &source("[server]\nlistne = 1\n"),
            [("KEYGATE_SERVER__LISTEN".to_owned(), "x".to_owned())],
            &type_provider,
        );
        let mut out = Vec::new();
        report(&source(""), &problems, &[], OutputFormat::Table, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("k.toml:2:1: unknown setting `server.listne`"),
            "{text}"
        );
        assert!(
            lines[1].starts_with("$KEYGATE_SERVER__LISTEN: `server.listen`"),
            "{text}"
        );
    }
}
