//! `keygate completions SHELL` and `keygate man`: shell completion scripts and man pages,
//! both generated from the same clap definition the parser uses, so they cannot drift from
//! the real flags.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::{Args, CommandFactory as _};
use clap_complete::Shell;

use crate::{Cli, Outcome, usage};

/// `keygate completions SHELL`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `keygate man [COMMAND]... [--dir DIR]`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write every page (keygate.1, keygate-keys.1, keygate-keys-rotate.1, ...) into this
    /// existing directory instead of printing one page.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub dir: Option<PathBuf>,
    /// The command whose page to print, e.g. `keys rotate` (default: keygate itself).
    #[arg(value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// The completion script for `args.shell`, on `out`.
pub fn completions(args: &CompletionsArgs, out: &mut dyn Write) -> Result<Outcome> {
    let mut cmd = Cli::command();
    // Generated into memory first: clap_complete panics on a failed write (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "keygate", &mut script);
    out.write_all(&script)?;
    out.flush()?;
    Ok(Outcome::Success)
}

/// The clap command the pages are made from: built (so subcommands know their full names,
/// `keygate-keys-rotate`), without clap's `help` subcommand, which has no page of its own.
fn manual_command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// One page on `out`, or every page into `args.dir`.
pub fn man(args: &ManArgs, out: &mut dyn Write) -> Result<Outcome> {
    let root = manual_command();
    if let Some(dir) = &args.dir {
        let written = write_pages(&root, dir)?;
        writeln!(out, "wrote {written} man pages to {}", dir.display())?;
        return Ok(Outcome::Success);
    }
    let mut cmd = &root;
    for name in &args.command {
        cmd = cmd
            .get_subcommands()
            .find(|s| s.get_name() == name || s.get_all_aliases().any(|a| a == name))
            .ok_or_else(|| {
                usage(format!(
                    "`{}` has no command `{name}` (see `{} --help`)",
                    display(cmd),
                    display(cmd)
                ))
            })?;
    }
    let mut page = Vec::new();
    page_of(cmd.clone()).render(&mut page)?;
    out.write_all(&page)?;
    out.flush()?;
    Ok(Outcome::Success)
}

/// The page of one (built) command; every page names the same source, `keygate <version>`.
fn page_of(cmd: clap::Command) -> clap_mangen::Man {
    clap_mangen::Man::new(cmd)
        .source(concat!("keygate ", env!("CARGO_PKG_VERSION")))
        .manual("keygate manual")
}

/// `keygate keys rotate` for the built subcommand `keygate-keys-rotate`.
fn display(cmd: &clap::Command) -> String {
    cmd.get_bin_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_owned()
}

/// Every visible command's page into `dir`, which must exist. Pages are documentation for
/// every user of the machine (`man` runs as them), so they are created 0644, not 0600 like
/// the files keygate keeps secrets in. An existing page is overwritten in place.
fn write_pages(root: &clap::Command, dir: &Path) -> Result<usize> {
    let meta =
        std::fs::metadata(dir).with_context(|| format!("man page directory {}", dir.display()))?;
    if !meta.is_dir() {
        return Err(usage(format!("{} is not a directory", dir.display())));
    }
    let mut stack = vec![root.clone()];
    let mut written = 0;
    while let Some(cmd) = stack.pop() {
        stack.extend(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
        let man = page_of(cmd);
        let path = dir.join(man.get_filename());
        let mut page = Vec::new();
        man.render(&mut page)?;
        write_page(&path, &page).with_context(|| format!("writing {}", path.display()))?;
        written += 1;
    }
    Ok(written)
}

fn write_page(path: &Path, page: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o644);
    }
    let mut file = options.open(path)?;
    file.write_all(page)?;
    file.flush()
}
