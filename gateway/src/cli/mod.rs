//! The `keygate` command line: parse, open the embedded default, run one command.

mod args;
mod crypto;
mod keys;
mod output;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
pub use args::Cli;
use args::{AliasCommand, Command, OutputFormat};
use keygate_core::{KeyMetadata, KeyRef};
use keygate_gateway::home::{ROOT_KEY_ENV, decode_root_key};
use keygate_gateway::{GatewayStore, Home, Registry};
use keygate_providers::local::LocalProvider;
use time::OffsetDateTime;

/// How a command ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Success,
    /// A signature or MAC did not verify (exit 4).
    NotVerified,
}

/// Runs one parsed command line against the embedded default store.
pub async fn run(cli: Cli) -> Result<Outcome> {
    let home = Home::resolve(cli.home)?;
    let registry = open_embedded(&home).await?;
    for (provider, result) in registry.tick(OffsetDateTime::now_utc()).await {
        match result {
            Ok(m) => {
                for (key, version) in &m.rotated {
                    tracing::info!(%provider, %key, %version, "scheduled rotation ran");
                }
                for key in &m.destroyed {
                    tracing::info!(%provider, %key, "key material destroyed after its deletion date");
                }
            }
            Err(e) => tracing::warn!(%provider, error = %e, "maintenance failed"),
        }
    }
    let mut stdout = std::io::stdout().lock();
    match cli.command {
        Command::Keys(cmd) => keys::run(&registry, cmd, &mut stdout).await,
        Command::Alias(cmd) => alias(&registry, cmd, &mut stdout).await,
        Command::Encrypt(a) => crypto::encrypt(&registry, a).await,
        Command::Decrypt(a) => crypto::decrypt(&registry, a).await,
        Command::Sign(a) => crypto::sign(&registry, a).await,
        Command::Verify(a) => crypto::verify(&registry, a, &mut stdout).await,
        Command::Mac(a) => crypto::mac(&registry, a, &mut stdout).await,
    }
}

/// The embedded default: the local provider over `<home>/local.db` and the gateway store.
async fn open_embedded(home: &Home) -> Result<Registry> {
    let mut local = LocalProvider::builder()
        .with_name("local")
        .with_path(home.local_db());
    local = match std::env::var(ROOT_KEY_ENV) {
        Ok(value) => local.with_root_key(decode_root_key(&value)?),
        Err(std::env::VarError::NotPresent) => local.with_root_key_file(home.root_key_file()),
        Err(std::env::VarError::NotUnicode(_)) => bail!("{ROOT_KEY_ENV} is not valid UTF-8"),
    };
    let local = local
        .build()
        .await
        .with_context(|| format!("opening the local key store in {}", home.dir().display()))?;
    let store = GatewayStore::open(&home.gateway_db()).await?;
    Ok(Registry::new(vec![Arc::new(local)], store)?)
}

/// Aliases by the key they point at.
async fn aliases_by_key(registry: &Registry) -> Result<BTreeMap<KeyRef, Vec<String>>> {
    let mut map: BTreeMap<KeyRef, Vec<String>> = BTreeMap::new();
    for alias in registry.store().list_aliases().await? {
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

async fn alias(registry: &Registry, cmd: AliasCommand, out: &mut dyn Write) -> Result<Outcome> {
    match cmd {
        AliasCommand::Create { name, key } => {
            let target = registry.resolve(&key.key).await?.key_ref();
            registry.store().create_alias(&name, &target).await?;
            writeln!(out, "alias/{name} -> {target}")?;
        }
        AliasCommand::Update { name, key } => {
            let target = registry.resolve(&key.key).await?.key_ref();
            registry.store().update_alias(&name, &target).await?;
            writeln!(out, "alias/{name} -> {target}")?;
        }
        AliasCommand::Delete { name } => {
            registry.store().delete_alias(&name).await?;
            writeln!(out, "deleted alias/{name}")?;
        }
        AliasCommand::List { output } => {
            let aliases = registry.store().list_aliases().await?;
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

/// Reads a whole input: a file, or stdin when `path` is `None` or `-`.
fn read_input(path: Option<&Path>) -> Result<Vec<u8>> {
    match path {
        Some(p) if p != Path::new("-") => {
            std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))
        }
        _ => {
            let mut buf = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut buf)
                .context("cannot read stdin")?;
            Ok(buf)
        }
    }
}

/// Writes an output: a file (created mode 0600 on Unix, as it may hold plaintext), or stdout.
/// Binary output is refused on a terminal unless `text` says it is printable.
fn write_output(path: Option<&Path>, bytes: &[u8], text: bool) -> Result<()> {
    match path {
        Some(p) if p != Path::new("-") => {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts
                .open(p)
                .with_context(|| format!("cannot write {}", p.display()))?;
            f.write_all(bytes)
                .with_context(|| format!("cannot write {}", p.display()))?;
        }
        _ => {
            let mut stdout = std::io::stdout().lock();
            if !text && stdout.is_terminal() {
                bail!("refusing to write binary output to a terminal; use -o FILE or a pipe");
            }
            stdout.write_all(bytes)?;
            stdout.flush()?;
        }
    }
    Ok(())
}
