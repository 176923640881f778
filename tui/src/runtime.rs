//! The terminal loop: raw mode and the alternate screen (restored on exit and on panic),
//! input events, ticks, and commands run against the gateway on tasks.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use keygate_core::api::Gateway;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{Event, EventStream, KeyEventKind};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::app::{Action, Command, Model, Route, update};
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
    // message is printed.
    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, gateway, options).await;
    ratatui::restore();
    result
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
    for cmd in update(&mut model, Action::Open(Route::Keys)) {
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
            spawn(cmd, &gateway, &tx);
        }
        if model.quit {
            return Ok(());
        }
    }
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
            Command::Policy(c) => {
                screens::policy::run(c, gw, Emit::new(tx, Action::Policy)).await;
            }
        }
    });
}
