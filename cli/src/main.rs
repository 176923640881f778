//! The `keygate` binary.

use keygate as cli;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // `keygate` alone on a terminal opens the console; without a terminal (a script, a pipe)
    // it prints help as it always has.
    let bare = std::env::args_os().len() == 1;
    let cli = if bare && std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        cli::Cli::parse_from(["keygate", "console"])
    } else {
        cli::Cli::parse()
    };
    let default_level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    // The console owns the terminal: a log line would tear its screen.
    let console = cli.is_console();
    tracing_subscriber::fmt()
        .with_writer(move || -> Box<dyn std::io::Write> {
            if console {
                Box::new(std::io::sink())
            } else {
                Box::new(std::io::stderr())
            }
        })
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("keygate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(cli::Outcome::Success) => ExitCode::SUCCESS,
        Ok(cli::Outcome::NotVerified) => ExitCode::from(4),
        Ok(cli::Outcome::Denied) => ExitCode::from(3),
        Ok(cli::Outcome::Problems) => ExitCode::FAILURE,
        Ok(cli::Outcome::Unhealthy) => ExitCode::FAILURE,
        Err(e) if cli::is_broken_pipe(&e) => ExitCode::from(cli::BROKEN_PIPE_EXIT),
        Err(e) => {
            eprintln!("keygate: {}", cli::error_line(&e));
            ExitCode::from(cli::exit_code(&e))
        }
    }
}
