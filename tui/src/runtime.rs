//! The terminal loop: raw mode and the alternate screen (restored on exit and on panic),
//! input events, ticks, and commands run against the gateway on tasks.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use keygate_core::ErrorKind;
use keygate_core::api::Gateway;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{Event, EventStream, KeyEventKind};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::app::{Action, Command, EditRequest, Model, StatusError, init, update};
use crate::screens::{self, Emit};
use crate::theme::Theme;
use crate::view::view;

/// How the console starts.
#[derive(Debug, Clone, Default)]
pub struct ConsoleOptions {
    /// Hide and refuse every mutation.
    pub readonly: bool,
}

/// Runs the console on the terminal until the user quits.
///
/// # Errors
/// Terminal I/O errors.
pub async fn run(gateway: Arc<dyn Gateway>, options: ConsoleOptions) -> std::io::Result<()> {
    // ratatui::init installs a panic hook that restores the terminal before the panic
    // message is printed; ours runs first and turns mouse reporting off, which ratatui
    // does not know it has to undo.
    let mut terminal = enter();
    chain_panic_hook(disable_mouse);
    let result = event_loop(&mut terminal, gateway, options).await;
    leave();
    result
}

/// Raw mode, the alternate screen and mouse reporting.
fn enter() -> DefaultTerminal {
    let terminal = ratatui::init();
    let _ = ratatui::crossterm::execute!(
        std::io::stdout(),
        ratatui::crossterm::event::EnableMouseCapture
    );
    terminal
}

/// Back to the terminal as it was.
fn leave() {
    disable_mouse();
    ratatui::restore();
}

fn disable_mouse() {
    let _ = ratatui::crossterm::execute!(
        std::io::stdout(),
        ratatui::crossterm::event::DisableMouseCapture
    );
}

/// Runs `first` on a panic, then the hook that was installed before (ratatui's, which
/// restores the terminal and prints the panic).
fn chain_panic_hook(first: impl Fn() + Send + Sync + 'static) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        first();
        previous(info);
    }));
}

async fn event_loop(
    terminal: &mut DefaultTerminal,
    gateway: Arc<dyn Gateway>,
    options: ConsoleOptions,
) -> std::io::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Action>();
    let mut model = Model::new(
        options.readonly,
        Theme::from_env(),
        OffsetDateTime::now_utc(),
    );
    let mut events = EventStream::new();
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    let size = terminal.size()?;
    let mut commands = update(&mut model, Action::Resize(size.width, size.height));
    commands.extend(init(&mut model));
    for cmd in commands {
        spawn(cmd, &gateway, &tx);
    }
    loop {
        terminal.draw(|f| view(&model, f))?;
        let action = tokio::select! {
            Some(event) = events.next() => match event? {
                Event::Key(k) if k.kind != KeyEventKind::Release => Action::Key(k),
                Event::Mouse(m) => Action::Mouse(m),
                Event::Resize(w, h) => Action::Resize(w, h),
                _ => continue,
            },
            Some(action) = rx.recv() => action,
            _ = ticks.tick() => Action::Tick(OffsetDateTime::now_utc()),
        };
        for cmd in update(&mut model, action) {
            match cmd {
                Command::Edit(req) => {
                    let edited = edit_externally(terminal, &req);
                    let _ = tx.send((req.then)(edited));
                }
                cmd => spawn(cmd, &gateway, &tx),
            }
        }
        if model.quit {
            return Ok(());
        }
    }
}

/// Suspends the console, runs `$VISUAL`/`$EDITOR` (default `vi`) on the text, and resumes.
fn edit_externally(terminal: &mut DefaultTerminal, req: &EditRequest) -> Result<String, String> {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".to_owned());
    let path = std::env::temp_dir().join(format!(
        "keygate-edit-{}-{}{}",
        std::process::id(),
        OffsetDateTime::now_utc().unix_timestamp_nanos(),
        req.suffix
    ));
    let result = (|| {
        std::fs::write(&path, &req.text)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        leave();
        // The editor command may carry arguments (`code --wait`).
        let mut parts = editor.split_whitespace();
        let program = parts.next().unwrap_or("vi");
        let status = std::process::Command::new(program)
            .args(parts)
            .arg(&path)
            .status();
        *terminal = enter();
        let status = status.map_err(|e| format!("cannot run `{editor}`: {e}"))?;
        if !status.success() {
            return Err(format!("`{editor}` exited with {status}; nothing changed"));
        }
        std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    })();
    let _ = std::fs::remove_file(&path);
    result
}

/// Runs one command on its own task; its messages come back through `tx`.
fn spawn(cmd: Command, gateway: &Arc<dyn Gateway>, tx: &mpsc::UnboundedSender<Action>) {
    let gw = Arc::clone(gateway);
    let tx = tx.clone();
    tokio::spawn(async move {
        match cmd {
            Command::Keys(c) => screens::keys::run(c, gw, Emit::new(tx, Action::Keys)).await,
            Command::Detail(c) => {
                screens::detail::run(c, gw, Emit::new(tx, Action::Detail)).await;
            }
            Command::Audit(c) => screens::audit::run(c, gw, Emit::new(tx, Action::Audit)).await,
            Command::Compliance(c) => {
                screens::compliance::run(c, gw, Emit::new(tx, Action::Compliance)).await;
            }
            Command::Cost(c) => screens::cost::run(c, gw, Emit::new(tx, Action::Cost)).await,
            Command::Policy(c) => {
                screens::policy::run(c, gw, Emit::new(tx, Action::Policy)).await;
            }
            Command::Whoami => {
                let id = gw.whoami().await.map_err(|e| e.to_string());
                let _ = tx.send(Action::Identity(id));
            }
            Command::Status => {
                let status = gw.status().await.map_err(|e| match e.kind() {
                    ErrorKind::PermissionDenied => StatusError::Refused(e.to_string()),
                    _ => StatusError::Failed(e.to_string()),
                });
                let _ = tx.send(Action::Status(status));
            }
            // Handled by the loop, which owns the terminal.
            Command::Edit(_) => {}
        }
    });
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    #[test]
    fn a_panic_runs_the_cleanup_before_the_previous_hook() {
        let cleaned = Arc::new(AtomicBool::new(false));
        let previous_ran_after = Arc::new(AtomicBool::new(false));
        let (c, p) = (Arc::clone(&cleaned), Arc::clone(&previous_ran_after));
        let c2 = Arc::clone(&cleaned);
        // Stands in for ratatui's hook (restore, then print).
        std::panic::set_hook(Box::new(move |_| {
            p.store(c2.load(Ordering::SeqCst), Ordering::SeqCst)
        }));
        chain_panic_hook(move || c.store(true, Ordering::SeqCst));
        let result = std::panic::catch_unwind(|| panic!("boom"));
        let _ = std::panic::take_hook();
        assert!(result.is_err());
        assert!(cleaned.load(Ordering::SeqCst));
        assert!(previous_ran_after.load(Ordering::SeqCst));
    }
}
