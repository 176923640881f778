//! Arguments of the gateway administration commands: `token`, `policy`, `audit`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::args::{OutputArg, OutputFormat};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token for a principal and role (the token is printed once, never stored).
    Create {
        /// Who the token authenticates (`billing`, `alice`, `ci-build`).
        #[arg(long)]
        principal: String,
        /// admin, operator, app, auditor, or a role the access policy defines.
        #[arg(long)]
        role: String,
        /// Lifetime in days (default: until revoked).
        #[arg(long = "expires-in", value_name = "DAYS")]
        expires_in_days: Option<u32>,
        /// Issue an AWS access key pair (access key id and secret access key) for the AWS KMS
        /// dialect instead of a bearer token.
        #[arg(long)]
        aws: bool,
        #[command(flatten)]
        output: OutputArg,
    },
    /// List tokens (ids, principals, roles; never the secrets).
    List {
        #[command(flatten)]
        output: OutputArg,
    },
    /// Revoke a token by id (the part of the token before the dot, as `token list` shows).
    Revoke {
        /// The token id.
        id: String,
        #[command(flatten)]
        output: OutputArg,
    },
}

/// `policy show` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum PolicyFormat {
    /// The TOML document users edit.
    #[default]
    Toml,
    /// The same structure as JSON (what the HTTP API carries).
    Json,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the gateway access policy.
    Show {
        /// Document format.
        #[arg(long, value_enum, default_value_t)]
        output: PolicyFormat,
    },
    /// Replace the access policy from a TOML or JSON file (validated; nothing changes on
    /// error).
    Set {
        /// The policy file (`-` for stdin): `.toml` or `.json`, else guessed from the content.
        file: PathBuf,
        #[command(flatten)]
        output: OutputArg,
    },
    /// Would the policy allow this? Exit 0 allowed, 3 denied.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The principal to check.
    #[arg(long)]
    pub principal: String,
    /// The role its token would carry.
    #[arg(long)]
    pub role: String,
    /// The action (`crypto:decrypt`, `keys:rotate`, ...).
    #[arg(long)]
    pub action: String,
    /// The key, for key-scoped actions.
    #[arg(long, value_name = "KEY", value_parser = super::args::key_locator)]
    pub key: Option<keygate_core::KeyLocator>,
    #[command(flatten)]
    pub output: OutputArg,
}

/// `audit export` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per line.
    Jsonl,
    /// RFC 4180 CSV with a header line.
    Csv,
}

/// The filters of `audit export`.
#[derive(Debug, Args, Default)]
pub struct AuditFilters {
    /// Only rows at or after this time (RFC 3339, or YYYY-MM-DD for that day's start, UTC).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only rows before this time (RFC 3339, or YYYY-MM-DD: up to the end of that day, UTC).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only rows about this key (name, alias/<name> or URI).
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Only rows of this principal.
    #[arg(long)]
    pub principal: Option<String>,
    /// Only rows of this action (`crypto:*` matches every crypto action).
    #[arg(long)]
    pub action: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// The last rows of the audit log, then (with --follow) new rows as they are written.
    Tail {
        /// How many rows.
        #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 20)]
        lines: u32,
        /// Keep printing rows as they are written (Ctrl-C to stop).
        #[arg(short, long)]
        follow: bool,
        /// Output format (json: one object per line).
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Export the audit log (or a filtered part) in full.
    Export {
        /// jsonl or csv.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Write to a file instead of stdout.
        #[arg(short = 'o', long = "out", value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        filters: AuditFilters,
    },
    /// Check the whole log: the keyed hash chain and the Merkle tree, and with --checkpoint
    /// that the log extends an older signed checkpoint (exit 0 intact, 1 broken).
    Verify {
        /// An older checkpoint (as `keygate audit checkpoint` printed it, or
        /// `<home>/audit.checkpoint`): the log must still hold its rows, unchanged.
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
        /// Read only the rows after the newest signed checkpoint the gateway kept (each
        /// intact check keeps one); rows before it are not read again.
        #[arg(long)]
        from_checkpoint: bool,
        #[command(flatten)]
        output: OutputArg,
    },
    /// Print a signed checkpoint of the whole log (a C2SP tlog-checkpoint note).
    Checkpoint {
        #[command(flatten)]
        output: OutputArg,
    },
    /// Print an inclusion proof of row SEQ against a checkpoint signed now.
    Prove {
        /// The row's seq.
        seq: u64,
        /// Prove against the tree of this many rows (an older checkpoint's size) instead of
        /// the whole log.
        #[arg(long, value_name = "N")]
        size: Option<u64>,
        #[command(flatten)]
        output: OutputArg,
    },
    /// Print the key checkpoints are signed with, as a signed-note verifier key.
    PublicKey {
        #[command(flatten)]
        output: OutputArg,
    },
}
