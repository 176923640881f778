//! Command-line arguments. Command names, flags and `--output json` shapes are contracts:
//! keep them as they are (the book documents them: docs/src/reference/cli.md and json.md).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;

use clap::{Args, Parser, Subcommand, ValueEnum};
use keygate_core::KeyLocator;

pub use super::admin_args::{AuditCommand, PolicyCommand, TokenCommand};

/// keygate: one gateway and console over every key manager.
// `Debug` is written by hand (below): the token is a secret.
#[derive(Parser)]
#[command(
    name = "keygate",
    version = version(),
    about = "keygate: one gateway and console over every key manager (AWS KMS, Azure Key Vault, GCP Cloud KMS, local)",
    arg_required_else_help = true
)]
pub struct Cli {
    /// keygate home (databases, root key). Default: $KEYGATE_HOME, else the XDG data dir's
    /// keygate/.
    #[arg(long, global = true, env = "KEYGATE_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,

    /// More log output on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// The configuration file. Default: $KEYGATE_CONFIG, else `<home>/keygate.toml` when it
    /// exists, else the embedded default (one local provider in the home).
    #[arg(long, global = true, env = "KEYGATE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Talk to a running gateway at URL (`http://host:port` or `https://...`) instead of
    /// opening the home directly.
    #[arg(long, global = true, env = "KEYGATE_ADDR", value_name = "URL")]
    pub gateway: Option<String>,

    /// The API token for --gateway (from `keygate token create`). Prefer $KEYGATE_TOKEN: a
    /// flag is visible to other users in the process list.
    #[arg(
        long,
        global = true,
        env = "KEYGATE_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// A PEM CA certificate to trust for --gateway (a self-signed gateway).
    #[arg(
        long = "ca-cert",
        global = true,
        env = "KEYGATE_CA_CERT",
        value_name = "FILE"
    )]
    pub ca_cert: Option<PathBuf>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

impl std::fmt::Debug for Cli {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cli")
            .field("home", &self.home)
            .field("verbose", &self.verbose)
            .field("config", &self.config)
            .field("gateway", &self.gateway)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("ca_cert", &self.ca_cert)
            .field("command", &self.command)
            .finish()
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage cross-provider aliases (alias/<name>).
    #[command(subcommand)]
    Alias(AliasCommand),
    /// Encrypt data under a key (stdin to stdout by default).
    Encrypt(EncryptArgs),
    /// Decrypt an envelope (it names its key; stdin to stdout by default).
    Decrypt(DecryptArgs),
    /// Inspect envelopes, or add and remove their keys without re-encrypting them.
    #[command(subcommand)]
    Envelope(EnvelopeCommand),
    /// Sign a message with an asymmetric key.
    Sign(SignArgs),
    /// Verify a signature (exit 0 valid, exit 4 invalid).
    Verify(VerifyArgs),
    /// Compute or verify an HMAC (exit 4 when --verify fails).
    Mac(MacArgs),
    /// Manage API tokens for the gateway.
    #[command(subcommand)]
    Token(TokenCommand),
    /// View, change and test the gateway access policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Read, export and verify the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Compliance findings across providers (Markdown, CSV or JSON).
    #[command(subcommand)]
    Compliance(super::compliance::ComplianceCommand),
    /// What the key estate costs, per provider and per key: keys and versions at their
    /// monthly list price, requests counted from the audit log since --since at their price
    /// per 10,000, and the same estate priced on every other kind of provider (prices from
    /// `[pricing]` in keygate.toml, else built-in public list prices). Needs `audit:read`.
    Cost(super::cost::CostArgs),
    /// Show or check the configuration (reads it only: opens no database).
    #[command(subcommand)]
    Config(super::config_cmd::ConfigCommand),
    /// Move the home's stores: `store migrate --to postgres://…` copies a SQLite home into
    /// an empty PostgreSQL database and verifies the copy.
    #[command(subcommand)]
    Store(super::store_cmd::StoreCommand),
    /// The gateway's health: each provider probed (reachable or not, latency), the store,
    /// the audit log's head and size, listeners, version and features.
    ///
    /// Embedded it checks the home; with --gateway it asks the running gateway (the token
    /// needs `status:read`: roles admin, operator, auditor). Exit 0 when the gateway
    /// answered, unreachable providers included (they are printed); exit 1 when the store
    /// cannot take writes or the audit writer has stopped, since every audited call is then
    /// refused; exit 3 when the caller may not read the status.
    Status(StatusArgs),
    /// Run the gateway: the REST API (and the dialects) on the configured listen address.
    Serve(ServeArgs),
    /// Open the terminal console (also what `keygate` with no arguments does on a terminal).
    Console(ConsoleArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(super::manual::CompletionsArgs),
    /// Print keygate's man page, or a command's (`keygate man keys rotate`); `--dir` writes
    /// them all.
    Man(super::manual::ManArgs),
}

/// `keygate serve`: flags win over `KEYGATE_…` variables, which win over the file.
#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Listen on ADDR (host:port; port 0 picks a free one) instead of `[server] listen`.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Serve the Azure Key Vault dialect on ADDR instead of `[dialects.azure] listen`.
    #[arg(long = "azure-listen", value_name = "ADDR")]
    pub azure_listen: Option<SocketAddr>,
}

/// What `keygate --version` prints after the name: the version and what this build speaks
/// (`0.1.0 (providers: local aws azure gcp; dialects: aws gcp azure)`).
pub fn version() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let clouds = crate::compose::features();
        let mut providers = vec!["local"];
        providers.extend(clouds.iter().copied());
        let dialects = if clouds.is_empty() {
            "none".to_owned()
        } else {
            clouds.join(" ")
        };
        format!(
            "{} (providers: {}; dialects: {dialects})",
            env!("CARGO_PKG_VERSION"),
            providers.join(" ")
        )
    })
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub output: OutputArg,
}

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// Hide and refuse every change (for reviewers): browse keys, audit and compliance only.
    #[arg(long)]
    pub readonly: bool,
}

impl Cli {
    /// True for `keygate console`: its terminal belongs to the console, so logs stay off it.
    pub fn is_console(&self) -> bool {
        matches!(self.command, Command::Console(_))
    }
}

/// `--output` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable table.
    #[default]
    Table,
    /// Stable JSON, documented in the keygate book (docs/src/reference/json.md).
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum PublicKeyFormat {
    /// PEM (`-----BEGIN PUBLIC KEY-----`).
    #[default]
    Pem,
    /// DER SubjectPublicKeyInfo.
    Der,
}

#[derive(Debug, Args)]
pub struct OutputArg {
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct KeyArg {
    /// A key name, alias/<name>, or URI (local://..., aws-kms://..., ...).
    #[arg(value_name = "KEY", value_parser = key_locator)]
    pub key: KeyLocator,
}

/// Parses a key reference once, where the command line comes in: a malformed one is a usage
/// error naming what is wrong.
pub fn key_locator(text: &str) -> Result<KeyLocator, String> {
    KeyLocator::parse(text).map_err(|e| {
        e.to_string()
            .trim_start_matches("invalid argument: ")
            .to_owned()
    })
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List keys across providers.
    List {
        /// Only this provider.
        #[arg(long)]
        provider: Option<String>,
        #[command(flatten)]
        output: OutputArg,
    },
    /// Create a key.
    Create(CreateArgs),
    /// Show a key with its versions.
    Show {
        #[command(flatten)]
        key: KeyArg,
        #[command(flatten)]
        output: OutputArg,
    },
    /// Change a key's description and labels.
    Update(UpdateArgs),
    /// Rotate a key now (new primary version).
    Rotate {
        #[command(flatten)]
        key: KeyArg,
        #[command(flatten)]
        output: OutputArg,
    },
    /// Set or turn off automatic rotation.
    Rotation(RotationArgs),
    /// List a key's versions.
    Versions {
        #[command(flatten)]
        key: KeyArg,
        #[command(flatten)]
        output: OutputArg,
    },
    /// Enable, disable, destroy or restore one version of a key.
    #[command(subcommand)]
    Version(VersionCommand),
    /// Make an enabled version the key's primary: the one new encrypts, signs and MACs use.
    Primary(VersionArgs),
    /// Enable a disabled key.
    Enable {
        #[command(flatten)]
        key: KeyArg,
        #[command(flatten)]
        output: OutputArg,
    },
    /// Disable a key (refuses all cryptographic use until enabled).
    Disable {
        #[command(flatten)]
        key: KeyArg,
        #[command(flatten)]
        output: OutputArg,
    },
    /// Schedule a key's destruction.
    Delete {
        #[command(flatten)]
        key: KeyArg,
        /// Days to wait before the key material is destroyed.
        #[arg(long = "in", value_name = "DAYS")]
        days: u32,
        #[command(flatten)]
        output: OutputArg,
    },
    /// Cancel a scheduled deletion (the key comes back disabled).
    Undelete {
        #[command(flatten)]
        key: KeyArg,
        #[command(flatten)]
        output: OutputArg,
    },
    /// Export an asymmetric key's public key.
    PublicKey {
        #[command(flatten)]
        key: KeyArg,
        /// Encoding.
        #[arg(long, value_enum, default_value_t)]
        format: PublicKeyFormat,
        /// A specific key version (default: primary).
        #[arg(long = "key-version", value_name = "VERSION")]
        version: Option<String>,
        /// Write to a file instead of stdout.
        #[arg(short = 'o', long = "out", value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Import key material into a key created with --origin external (gets import
    /// parameters, wraps the material locally, imports it).
    Import(crate::import::ImportArgs),
    /// Delete a key's imported material: it waits for the same material again.
    DeleteMaterial {
        #[command(flatten)]
        key: KeyArg,
        #[command(flatten)]
        output: OutputArg,
    },
    /// Show a key's access policy as JSON, or replace it with --set.
    Policy {
        #[command(flatten)]
        key: KeyArg,
        /// A policy JSON file (`-` for stdin): {"bindings":[{"principal":..,"role":..}|{"principal":..,"actions":[..]}], "native": {...}}.
        #[arg(long, value_name = "FILE")]
        set: Option<PathBuf>,
    },
}

/// `keygate keys version ...`: one version's state. A version that is not enabled refuses
/// every use; the whole key's state still wins over it.
#[derive(Debug, Subcommand)]
pub enum VersionCommand {
    /// Enable a disabled version.
    Enable(VersionArgs),
    /// Disable a version: every use of it is refused until it is enabled again.
    Disable(VersionArgs),
    /// Schedule a version's destruction: it stops working at once, and its material is
    /// destroyed at its destroy time unless it is restored first.
    Destroy(VersionArgs),
    /// Cancel a version's scheduled destruction (the version comes back disabled).
    Restore(VersionArgs),
}

/// A key and one of its versions.
#[derive(Debug, Args)]
pub struct VersionArgs {
    #[command(flatten)]
    pub key: KeyArg,
    /// The version's id, as `keygate keys versions KEY` lists it.
    #[arg(value_name = "VERSION")]
    pub version: String,
    #[command(flatten)]
    pub output: OutputArg,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The key's name (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// AES_256, RSA_2048, RSA_3072, RSA_4096, EC_P256, EC_P384, EC_P521, EC_SECP256K1,
    /// HMAC_SHA256, HMAC_SHA384, HMAC_SHA512.
    #[arg(long)]
    pub spec: String,
    /// Provider to create it in (default: local).
    #[arg(long)]
    pub provider: Option<String>,
    /// encrypt, sign or mac (default: the spec's usual use; RSA defaults to encrypt).
    #[arg(long)]
    pub usage: Option<String>,
    /// A label, repeatable.
    #[arg(long = "label", value_name = "K=V")]
    pub labels: Vec<String>,
    /// Free-text description.
    #[arg(long, default_value = "")]
    pub description: String,
    /// Turn on automatic rotation every DAYS.
    #[arg(long = "rotate-every", value_name = "DAYS")]
    pub rotate_every: Option<u32>,
    /// generated (the provider makes the material) or external (import it later with
    /// `keys import`; the key waits in pending_import).
    #[arg(long, default_value = "generated")]
    pub origin: String,
    #[command(flatten)]
    pub output: OutputArg,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub key: KeyArg,
    /// New description.
    #[arg(long)]
    pub description: Option<String>,
    /// A label to add or overwrite, repeatable.
    #[arg(long = "label", value_name = "K=V")]
    pub labels: Vec<String>,
    /// A label key to remove, repeatable.
    #[arg(long = "remove-label", value_name = "K")]
    pub remove_labels: Vec<String>,
    #[command(flatten)]
    pub output: OutputArg,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("schedule").required(true).args(["every", "off"])))]
pub struct RotationArgs {
    #[command(flatten)]
    pub key: KeyArg,
    /// Rotate automatically every DAYS.
    #[arg(long, value_name = "DAYS")]
    pub every: Option<u32>,
    /// Turn automatic rotation off.
    #[arg(long)]
    pub off: bool,
    #[command(flatten)]
    pub output: OutputArg,
}

#[derive(Debug, Subcommand)]
pub enum AliasCommand {
    /// Point alias/NAME at a key.
    Create {
        /// Alias name (without `alias/`).
        name: String,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Re-point an existing alias.
    Update {
        /// Alias name (without `alias/`).
        name: String,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Delete an alias (the key is untouched).
    Delete {
        /// Alias name (without `alias/`).
        name: String,
    },
    /// List aliases.
    List {
        #[command(flatten)]
        output: OutputArg,
    },
}

#[derive(Debug, Args)]
pub struct IoArgs {
    /// Input file (default: stdin).
    #[arg(short = 'i', long = "in", value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Output file (default: stdout).
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// The key to encrypt under; repeat it for a multi-key envelope (keys of any providers:
    /// any one of them decrypts it).
    #[arg(long, value_name = "KEY", value_parser = key_locator, required = true)]
    pub key: Vec<KeyLocator>,
    /// Encryption context entry, repeatable; decrypt needs the same entries.
    #[arg(long = "context", value_name = "K=V")]
    pub context: Vec<String>,
    #[command(flatten)]
    pub format: super::esdk::FormatArgs,
    #[command(flatten)]
    pub io: IoArgs,
}

#[derive(Debug, Subcommand)]
pub enum EnvelopeCommand {
    /// Show an envelope's format, algorithm, context, keys and sizes (reads the header only:
    /// no key, no gateway).
    Inspect(InspectArgs),
    /// Add and remove the keys an envelope's data key is wrapped under, keeping its body:
    /// one unwrap and one wrap per added key, the header rewritten (in place when `-o` is
    /// the input and the new header fits its reserved room), the body never re-encrypted.
    Rewrap(RewrapArgs),
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The envelope file (`-`: stdin).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub output: OutputArg,
}

#[derive(Debug, Args)]
pub struct RewrapArgs {
    /// The envelope to re-wrap (with -o).
    #[arg(
        short = 'i',
        long = "in",
        value_name = "FILE",
        conflicts_with = "dir",
        requires = "output"
    )]
    pub input: Option<PathBuf>,
    /// Where the re-wrapped envelope goes; the input's own path rewrites it in place.
    #[arg(short = 'o', long = "out", value_name = "FILE", conflicts_with = "dir")]
    pub output: Option<PathBuf>,
    /// Re-wrap every envelope under DIR, in place, with a progress bar and a resumable
    /// journal (files that are not keygate envelopes are skipped).
    #[arg(long, value_name = "DIR", required_unless_present = "input")]
    pub dir: Option<PathBuf>,
    /// The journal of a --dir run (default: DIR/.keygate-rewrap.journal): re-running after an
    /// interruption skips the files it lists as done and completes a header write it began.
    #[arg(long, value_name = "FILE", requires = "dir")]
    pub journal: Option<PathBuf>,
    /// A key to wrap the data key under (repeatable).
    #[arg(long = "add-key", value_name = "KEY", value_parser = key_locator)]
    pub add: Vec<KeyLocator>,
    /// A key whose wrapped copy to drop (repeatable).
    #[arg(long = "remove-key", value_name = "KEY", value_parser = key_locator)]
    pub remove: Vec<KeyLocator>,
    /// Encryption context entry, repeatable; when given, must equal the envelope's.
    #[arg(long = "context", value_name = "K=V")]
    pub context: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// The key: the envelope must be sealed under it (refused otherwise; an AWS Encryption
    /// SDK message is opened with its data key under this key only). Input that is neither
    /// (a provider-native ciphertext) needs it.
    #[arg(long, value_name = "KEY", value_parser = key_locator)]
    pub key: Option<KeyLocator>,
    /// The key version to decrypt with (default: the one the ciphertext names); it must be
    /// enabled. An envelope must have been sealed under it (refused otherwise).
    #[arg(long = "key-version", value_name = "VERSION", requires = "key")]
    pub version: Option<String>,
    /// Encryption context entry, repeatable; must equal the one used to encrypt (for an
    /// AWS Encryption SDK message: each entry must be in the message's context).
    #[arg(long = "context", value_name = "K=V")]
    pub context: Vec<String>,
    #[command(flatten)]
    pub io: IoArgs,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The signing key.
    #[arg(long, value_name = "KEY", value_parser = key_locator)]
    pub key: KeyLocator,
    /// RSA_PSS_SHA256 (RSA default), RSA_PSS_SHA384, RSA_PSS_SHA512, RSA_PKCS1_SHA256,
    /// RSA_PKCS1_SHA384, RSA_PKCS1_SHA512; ECDSA_SHA256 (P-256, secp256k1), ECDSA_SHA384
    /// (P-384), ECDSA_SHA512 (P-521).
    #[arg(long)]
    pub algorithm: Option<String>,
    /// Sign with this key version (default: primary); it must be enabled.
    #[arg(long = "key-version", value_name = "VERSION")]
    pub version: Option<String>,
    /// The input is a precomputed digest, not the message: the raw bytes of the hash the
    /// algorithm names (32 bytes of SHA-256, 48 of SHA-384, 64 of SHA-512).
    #[arg(long)]
    pub digest: bool,
    #[command(flatten)]
    pub io: IoArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The signing key.
    #[arg(long, value_name = "KEY", value_parser = key_locator)]
    pub key: KeyLocator,
    /// The message (default: stdin).
    #[arg(short = 'i', long = "in", value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// The signature file.
    #[arg(long, value_name = "FILE")]
    pub signature: PathBuf,
    /// Algorithm (default as for sign).
    #[arg(long)]
    pub algorithm: Option<String>,
    /// The key version that signed (default: primary).
    #[arg(long = "key-version", value_name = "VERSION")]
    pub version: Option<String>,
    /// The input is a precomputed digest, not the message (as for sign).
    #[arg(long)]
    pub digest: bool,
}

#[derive(Debug, Args)]
pub struct MacArgs {
    /// The HMAC key.
    #[arg(long, value_name = "KEY", value_parser = key_locator)]
    pub key: KeyLocator,
    /// Check this tag file instead of writing a tag.
    #[arg(long, value_name = "TAG_FILE")]
    pub verify: Option<PathBuf>,
    /// The key version to compute or check the tag with (default: primary); it must be
    /// enabled.
    #[arg(long = "key-version", value_name = "VERSION")]
    pub version: Option<String>,
    #[command(flatten)]
    pub io: IoArgs,
}
