//! The `keygate` command line: parse, pick the gateway (the embedded service, or a running
//! gateway over HTTP), run one command through the [`Gateway`] trait.
//!
//! Every command is written once against [`Gateway`]: in process it is the service layer's
//! local admin session (authorized and audited like any other caller), with `--gateway URL
//! --token T` it is [`HttpGateway`]. So the command code cannot tell, and does not care,
//! which one it talks to.

#![warn(missing_docs)]

mod admin;
mod admin_args;
mod args;
mod audit;
mod audit_proof;
mod compliance;
pub mod compose;
mod config_cmd;
mod cost;
mod crypto;
mod envelope;
mod esdk;
mod import;
mod io;
mod keys;
mod manual;
mod output;
mod rewrap;
mod serve;
mod status;
mod store_cmd;
mod versions;

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, Result};
pub use args::Cli;
use args::{AliasCommand, Command, ConsoleArgs, OutputFormat};
use keygate_client::HttpGateway;
use keygate_core::api::Gateway;
use keygate_core::{ErrorKind, KeyMetadata, KeyRef};
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// How a command ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The command did what it was asked (exit 0).
    Success,
    /// A signature or MAC did not verify (exit 4).
    NotVerified,
    /// `policy check` found the action denied (exit 3).
    Denied,
    /// `config check` found problems, or a probed provider unreachable (exit 1).
    Problems,
    /// `status` answered, and the gateway cannot record what it does: its store takes no
    /// writes or its audit writer has stopped (exit 1).
    Unhealthy,
}

/// A mistake in how keygate was called (exit 2), found after clap's own parsing.
#[derive(Debug)]
pub struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// The exit code for a failed command: 2 for usage mistakes, 3 when the gateway refused the
/// caller (permission denied, unauthenticated), 1 for everything else.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<UsageError>() {
            return 2;
        }
        if let Some(e) = cause.downcast_ref::<keygate_core::Error>() {
            return match e.kind() {
                ErrorKind::PermissionDenied | ErrorKind::Unauthenticated => 3,
                _ => 1,
            };
        }
    }
    1
}

/// Exit status of a command whose output pipe was closed by its reader (`keygate keys list |
/// head -1`): what a shell reports for a program ended by SIGPIPE (128 + 13), as `cat` and
/// `ls` end. The command ends quietly: the reader is gone, nobody wants a message.
pub const BROKEN_PIPE_EXIT: u8 = 141;

/// True when `err` is (or was caused by) a write into a pipe whose reader has gone.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A failed command's error on one line: the error and its causes, never a backtrace. Some
/// messages span lines (a TOML parser's pointer at the bad spot): each is folded onto one. An
/// error that shows its cause's text in its own message (a store or provider error) also
/// hands the cause on as its source: a cause the line already ends with is not repeated.
pub fn error_line(err: &anyhow::Error) -> String {
    let mut chain: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        let folded = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if chain.last().is_some_and(|last| last.ends_with(&folded)) {
            continue;
        }
        chain.push(folded);
    }
    chain.join(": ")
}

/// Runs one parsed command line.
///
/// # Errors
/// Whatever the command or the gateway reports; see [`exit_code`].
pub async fn run(cli: Cli) -> Result<Outcome> {
    let Cli {
        home,
        config,
        gateway,
        token,
        ca_cert,
        command,
        ..
    } = cli;
    let token = token.map(Zeroizing::new);
    // Generated from the command line's own definition: no home, no gateway.
    match &command {
        Command::Completions(args) => return manual::completions(args, &mut std::io::stdout()),
        Command::Man(args) => return manual::man(args, &mut std::io::stdout()),
        _ => {}
    }
    // Reads a header only: no home, no gateway, no key.
    if let Command::Envelope(args::EnvelopeCommand::Inspect(a)) = &command {
        return rewrap::inspect(a, &mut std::io::stdout());
    }
    if let Command::Serve(args) = command {
        local_only(
            "serve",
            "runs a gateway itself",
            gateway.is_some(),
            token.is_some(),
        )?;
        return serve::run(home, config, args).await;
    }
    if let Command::Config(cmd) = command {
        local_only(
            "config",
            "reads this machine's configuration",
            gateway.is_some(),
            token.is_some(),
        )?;
        return config_cmd::run(home, config, cmd).await;
    }
    if let Command::Store(cmd) = command {
        local_only(
            "store",
            "works on this machine's home",
            gateway.is_some(),
            token.is_some(),
        )?;
        return store_cmd::run(home, config, cmd).await;
    }
    let console = matches!(command, Command::Console(_));
    let api: Arc<dyn Gateway> = match gateway {
        Some(url) => Arc::new(remote(&url, token, ca_cert)?),
        None if token.is_some() => {
            return Err(usage(
                "a token (--token or KEYGATE_TOKEN) was given without --gateway (or KEYGATE_ADDR); \
                 it only works against a running gateway",
            ));
        }
        None => embedded(home, config, console, runs_maintenance(&command)).await?,
    };
    if let Command::Console(args) = command {
        return run_console(api, args).await;
    }
    dispatch(api.as_ref(), command).await
}

/// The terminal console over `api`, until the user quits.
async fn run_console(api: Arc<dyn Gateway>, args: ConsoleArgs) -> Result<Outcome> {
    let options = keygate_tui::ConsoleOptions {
        readonly: args.readonly,
    };
    keygate_tui::run(api, options)
        .await
        .context("running the console")?;
    Ok(Outcome::Success)
}

/// A usage error when a command that works on this machine only (`serve`, `config`) is given
/// a gateway or a token.
fn local_only(command: &str, what: &str, gateway: bool, token: bool) -> Result<()> {
    if gateway {
        return Err(usage(format!(
            "{command} {what}; it does not take --gateway (or KEYGATE_ADDR)"
        )));
    }
    if token {
        return Err(usage(format!(
            "{command} does not take --token (or KEYGATE_TOKEN); tokens are for --gateway"
        )));
    }
    Ok(())
}

/// A running gateway at `url`.
fn remote(
    url: &str,
    token: Option<Zeroizing<String>>,
    ca_cert: Option<PathBuf>,
) -> Result<HttpGateway> {
    let Some(token) = token else {
        return Err(usage(
            "--gateway needs a token: pass --token or set KEYGATE_TOKEN (see `keygate token create`)",
        ));
    };
    Ok(HttpGateway::new(url, &token, ca_cert.as_deref())?)
}

/// The embedded gateway: the service built from the configuration, as the local admin (its
/// audit rows say `console` for the console, `cli` otherwise), each provider opened when the
/// command first needs it. The CLI is often the only process that ever opens a home, so a
/// command that changes or uses a key (`maintenance`) first runs the maintenance pass (due
/// rotations, expired deletions) that `keygate serve` would otherwise run on a timer (on a
/// PostgreSQL store, only when no `keygate serve` replica leads the scheduler).
async fn embedded(
    home: Option<PathBuf>,
    config: Option<PathBuf>,
    console: bool,
    maintenance: bool,
) -> Result<Arc<dyn Gateway>> {
    let (home, config) = compose::load(home, config)?;
    let service = compose::open_on_demand(&config, &home)
        .await
        .with_context(|| format!("opening keygate in {}", home.dir().display()))?;
    if maintenance {
        service
            .run_maintenance_once(OffsetDateTime::now_utc())
            .await;
    }
    if console {
        return Ok(Arc::new(service.local_console()));
    }
    Ok(Arc::new(service.local_admin()))
}

/// Whether `command`, run on the embedded gateway, runs the maintenance pass first: the
/// console, and every command that changes a key or uses one for cryptography, so no key is
/// used or changed past a due rotation or deletion. Commands that only read (listing,
/// showing, audit, tokens, the access policy, status, reports) do not: they show the state
/// as of the last pass.
fn runs_maintenance(command: &Command) -> bool {
    use args::KeysCommand as K;
    match command {
        Command::Keys(
            K::List { .. } | K::Show { .. } | K::Versions { .. } | K::PublicKey { .. },
        ) => false,
        Command::Keys(K::Policy { set, .. }) => set.is_some(),
        Command::Keys(_)
        | Command::Encrypt(_)
        | Command::Decrypt(_)
        | Command::Envelope(_)
        | Command::Sign(_)
        | Command::Verify(_)
        | Command::Mac(_)
        | Command::Console(_) => true,
        Command::Alias(_)
        | Command::Token(_)
        | Command::Policy(_)
        | Command::Audit(_)
        | Command::Compliance(_)
        | Command::Cost(_)
        | Command::Status(_)
        | Command::Config(_)
        | Command::Serve(_)
        | Command::Store(_)
        | Command::Completions(_)
        | Command::Man(_) => false,
    }
}

async fn dispatch(api: &dyn Gateway, command: Command) -> Result<Outcome> {
    // Not locked for the whole command: encrypt and decrypt write stdout from the blocking
    // pool, and the lock is held per thread (holding it here would deadlock them).
    let mut stdout = std::io::stdout();
    match command {
        Command::Keys(cmd) => keys::run(api, cmd, &mut stdout).await,
        Command::Alias(cmd) => alias(api, cmd, &mut stdout).await,
        Command::Encrypt(a) => envelope::encrypt(api, a).await,
        Command::Decrypt(a) => envelope::decrypt(api, a).await,
        Command::Envelope(args::EnvelopeCommand::Rewrap(a)) => rewrap::rewrap(api, a).await,
        Command::Envelope(args::EnvelopeCommand::Inspect(a)) => rewrap::inspect(&a, &mut stdout),
        Command::Sign(a) => crypto::sign(api, a).await,
        Command::Verify(a) => crypto::verify(api, a, &mut stdout).await,
        Command::Mac(a) => crypto::mac(api, a, &mut stdout).await,
        Command::Token(cmd) => admin::token(api, cmd, &mut stdout).await,
        Command::Policy(cmd) => admin::policy(api, cmd, &mut stdout).await,
        Command::Audit(cmd) => audit::run(api, cmd, &mut stdout).await,
        Command::Compliance(cmd) => compliance::run(api, cmd, &mut stdout).await,
        Command::Cost(a) => cost::run(api, a, &mut stdout).await,
        Command::Status(a) => status::run(api, a, &mut stdout).await,
        // Handled before a gateway is opened.
        Command::Serve(_) => Err(usage("serve cannot run here")),
        Command::Completions(_) | Command::Man(_) => Err(usage("this command cannot run here")),
        Command::Config(_) => Err(usage("config cannot run here")),
        Command::Store(_) => Err(usage("store cannot run here")),
        // Handled by `run`, which owns the gateway handle the console keeps.
        Command::Console(_) => Err(usage("console cannot run here")),
    }
}

/// Aliases by the key they point at. Listing aliases is a permission of its own: a caller
/// without it (an `app` token) still gets its keys, without alias names.
async fn aliases_by_key(api: &dyn Gateway) -> Result<BTreeMap<KeyRef, Vec<String>>> {
    let aliases = match api.list_aliases().await {
        Ok(a) => a,
        Err(keygate_core::Error::PermissionDenied(_)) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let mut map: BTreeMap<KeyRef, Vec<String>> = BTreeMap::new();
    for alias in aliases {
        map.entry(alias.target).or_default().push(alias.name);
    }
    Ok(map)
}

fn view(
    key: KeyMetadata,
    aliases: &BTreeMap<KeyRef, Vec<String>>,
    versions: Option<Vec<keygate_core::KeyVersion>>,
) -> output::KeyView {
    let aliases = aliases.get(&key.key_ref()).cloned().unwrap_or_default();
    output::KeyView {
        key,
        aliases,
        versions,
    }
}

async fn alias(api: &dyn Gateway, cmd: AliasCommand, out: &mut dyn Write) -> Result<Outcome> {
    match cmd {
        AliasCommand::Create { name, key } => {
            let alias = api.create_alias(&name, &key.key).await?;
            writeln!(out, "alias/{} -> {}", alias.name, alias.target)?;
        }
        AliasCommand::Update { name, key } => {
            let alias = api.update_alias(&name, &key.key).await?;
            writeln!(out, "alias/{} -> {}", alias.name, alias.target)?;
        }
        AliasCommand::Delete { name } => {
            api.delete_alias(&name).await?;
            writeln!(out, "deleted alias/{name}")?;
        }
        AliasCommand::List { output } => {
            let aliases = api.list_aliases().await?;
            match output.output {
                OutputFormat::Json => output::json(out, &aliases)?,
                OutputFormat::Table => {
                    let rows: Vec<Vec<String>> = aliases
                        .iter()
                        .map(|a| {
                            vec![
                                format!("alias/{}", a.name),
                                a.target.provider.clone(),
                                a.target.id.clone(),
                                output::when(a.created),
                            ]
                        })
                        .collect();
                    output::table(out, &["ALIAS", "PROVIDER", "KEY", "CREATED"], &rows)?;
                }
            }
        }
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use clap::Parser as _;

    use super::*;

    #[test]
    fn exit_codes_follow_the_error_kind() {
        let denied = anyhow::Error::from(keygate_core::Error::PermissionDenied("no".into()));
        assert_eq!(exit_code(&denied), 3);
        let unauth = anyhow::Error::from(keygate_core::Error::Unauthenticated("bad".into()))
            .context("calling the gateway");
        assert_eq!(exit_code(&unauth), 3);
        assert_eq!(exit_code(&usage("wrong")), 2);
        let other = anyhow::Error::from(keygate_core::Error::IntegrityFailure);
        assert_eq!(exit_code(&other), 1);
        assert_eq!(exit_code(&anyhow::anyhow!("plain")), 1);
    }

    #[test]
    fn a_closed_pipe_is_found_through_the_causes() {
        let pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let wrapped = anyhow::Error::from(keygate_core::Error::unavailable_because(
            "envelope I/O",
            pipe,
        ))
        .context("cannot write the envelope");
        assert!(is_broken_pipe(&wrapped));
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
        assert!(!is_broken_pipe(&anyhow::Error::from(full)));
    }

    #[test]
    fn an_error_and_its_causes_fit_one_line_without_repeats() {
        let io = std::io::Error::other("disk full");
        let err = anyhow::Error::from(keygate_core::Error::unavailable_because(
            "gateway store",
            io,
        ))
        .context("opening keygate in /h");
        assert_eq!(
            error_line(&err),
            "opening keygate in /h: unavailable: gateway store: disk full"
        );
        let toml = anyhow::anyhow!("bad value\n  |\n1 | x = \n  |     ^");
        assert_eq!(error_line(&toml), "bad value | 1 | x = |     ^");
    }

    #[test]
    fn the_token_is_not_in_debug_output() {
        let cli = Cli::try_parse_from([
            "keygate",
            "--gateway",
            "http://127.0.0.1:1",
            "--token",
            "kgt_abc.supersecretvalue",
            "keys",
            "list",
        ])
        .unwrap();
        let debug = format!("{cli:?}");
        assert!(!debug.contains("supersecretvalue"), "{debug}");
        assert!(debug.contains("127.0.0.1:1"), "{debug}");
    }
}
