//! Cost screen: what the key estate costs, per provider and per key, and what it would cost
//! on every other kind of provider.
//!
//! The report is [`Gateway::cost`] — the same report as `keygate cost` and `GET /v1/cost`,
//! in process or from a remote gateway — for a request window the user cycles with `s`
//! (7, 30 or 90 days back from now; 30 days first, as the CLI's `--since` default). Keys are
//! shown at their monthly price, requests as counted from the audit log by kind × the price
//! per 10,000; the selected provider's or key's figures are worked out below the tables. The
//! report is a read (`audit:read`), so the screen works under `--readonly`; a refusal or a
//! gateway without a cost view is shown as such.

mod figures;
#[cfg(test)]
mod tests;
mod view;

use std::sync::Arc;

use keygate_core::ErrorKind;
use keygate_core::api::Gateway;
use keygate_core::cost::{CostReport, KeyCost, ProviderCost};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use time::{Duration, OffsetDateTime};

use super::{Ctx, Effect, Emit, Notice};
use crate::app::Route;
use crate::keymap::Binding;

/// Rows a page key moves.
const PAGE: isize = 10;

/// The cost screen's bindings (help lists exactly these).
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: "j, down",
        does: "next row",
        mutates: false,
    },
    Binding {
        keys: "k, up",
        does: "previous row",
        mutates: false,
    },
    Binding {
        keys: "pgdn, pgup",
        does: "page down / up",
        mutates: false,
    },
    Binding {
        keys: "g, G",
        does: "first / last row",
        mutates: false,
    },
    Binding {
        keys: "tab",
        does: "switch between the providers and the keys table",
        mutates: false,
    },
    Binding {
        keys: "enter",
        does: "a key's detail (on a provider: its first key)",
        mutates: false,
    },
    Binding {
        keys: "s",
        does: "request window: 7d → 30d → 90d",
        mutates: false,
    },
    Binding {
        keys: "S",
        does: "request window: back (90d → 30d → 7d)",
        mutates: false,
    },
    Binding {
        keys: "ctrl-r",
        does: "price again",
        mutates: false,
    },
];

/// How far back the requests are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Window {
    /// The last 7 days.
    Week,
    /// The last 30 days (`keygate cost`'s default).
    #[default]
    Month,
    /// The last 90 days.
    Quarter,
}

impl Window {
    /// Every window, shortest first (the order `s` cycles in).
    pub const ALL: [Self; 3] = [Self::Week, Self::Month, Self::Quarter];

    /// Its length in days.
    pub fn days(self) -> i64 {
        match self {
            Self::Week => 7,
            Self::Month => 30,
            Self::Quarter => 90,
        }
    }

    /// As `--since` writes it (`7d`).
    pub fn label(self) -> &'static str {
        match self {
            Self::Week => "7d",
            Self::Month => "30d",
            Self::Quarter => "90d",
        }
    }

    /// The next longer window, round to the shortest.
    pub fn next(self) -> Self {
        match self {
            Self::Week => Self::Month,
            Self::Month => Self::Quarter,
            Self::Quarter => Self::Week,
        }
    }

    /// The next shorter window, round to the longest.
    pub fn prev(self) -> Self {
        match self {
            Self::Week => Self::Quarter,
            Self::Month => Self::Week,
            Self::Quarter => Self::Month,
        }
    }

    /// The window's start for a report made at `now`.
    pub fn since(self, now: OffsetDateTime) -> OffsetDateTime {
        now - Duration::days(self.days())
    }
}

/// Which table the selection moves in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    /// The providers table.
    Providers,
    /// The keys table.
    #[default]
    Keys,
}

/// Why there is no report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The caller may not read it (the report needs `audit:read`); the gateway's message.
    Refused(String),
    /// The gateway has no cost view; its message.
    Unsupported(String),
    /// Anything else (unreachable gateway, failing audit store); the message.
    Failed(String),
}

impl LoadError {
    /// Sorts a gateway error by what the user can do about it.
    pub fn from_error(e: &keygate_core::Error) -> Self {
        match e.kind() {
            ErrorKind::PermissionDenied => Self::Refused(e.to_string()),
            ErrorKind::Unsupported => Self::Unsupported(e.to_string()),
            _ => Self::Failed(e.to_string()),
        }
    }

    /// One line saying what happened.
    pub fn summary(&self) -> String {
        match self {
            Self::Refused(_) => {
                "refused: the cost view needs audit:read (roles admin, operator, auditor)".into()
            }
            Self::Unsupported(_) => "this gateway has no cost view".into(),
            Self::Failed(m) => format!("cannot price the estate: {m}"),
        }
    }

    /// What the gateway said, when the summary does not already hold it.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::Refused(m) | Self::Unsupported(m) => Some(m),
            Self::Failed(_) => None,
        }
    }
}

/// The screen's state.
#[derive(Debug, Clone, Default)]
pub struct State {
    window: Window,
    loading: bool,
    report: Option<CostReport>,
    error: Option<LoadError>,
    generation: u64,
    focus: Focus,
    provider: usize,
    key: usize,
}

/// What can happen to it.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// Price the estate (again) over the current window.
    Refresh,
    /// The report answered.
    Loaded {
        /// Which load this answers (older ones are dropped).
        generation: u64,
        /// The report, or why there is none.
        result: Result<Box<CostReport>, LoadError>,
    },
    /// Use this request window, and price again.
    SetWindow(Window),
    /// Move the selection in the focused table.
    Move(isize),
    /// The first row.
    Top,
    /// The last row.
    Bottom,
    /// Switch between the providers and the keys table.
    SwitchFocus,
    /// Open the selected key (or go to the selected provider's first key).
    Open,
}

/// I/O it asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    /// Ask the gateway for the report of the requests since `since`.
    Load {
        /// The load generation.
        generation: u64,
        /// The window's start.
        since: OffsetDateTime,
    },
}

impl State {
    /// The request window asked for (the report on screen may still be an older one's while
    /// the new one loads).
    pub fn window(&self) -> Window {
        self.window
    }

    /// The report, once loaded.
    pub fn report(&self) -> Option<&CostReport> {
        self.report.as_ref()
    }

    /// Why the last load failed, if it did.
    pub fn error(&self) -> Option<&LoadError> {
        self.error.as_ref()
    }

    /// True while a report is being made.
    pub fn loading(&self) -> bool {
        self.loading
    }

    /// The table the selection moves in.
    pub fn focus(&self) -> Focus {
        self.focus
    }

    /// The selected provider row.
    pub fn selected_provider(&self) -> Option<&ProviderCost> {
        self.report.as_ref()?.providers.get(self.provider)
    }

    /// The selected key row.
    pub fn selected_key(&self) -> Option<&KeyCost> {
        self.report.as_ref()?.keys.get(self.key)
    }

    fn rows(&self, focus: Focus) -> usize {
        self.report.as_ref().map_or(0, |r| match focus {
            Focus::Providers => r.providers.len(),
            Focus::Keys => r.keys.len(),
        })
    }

    fn select(&mut self, row: usize) {
        let row = row.min(self.rows(self.focus).saturating_sub(1));
        match self.focus {
            Focus::Providers => self.provider = row,
            Focus::Keys => self.key = row,
        }
    }

    fn selected_row(&self) -> usize {
        match self.focus {
            Focus::Providers => self.provider,
            Focus::Keys => self.key,
        }
    }

    /// Applies a message.
    pub fn update(&mut self, msg: Msg, ctx: &Ctx) -> Vec<Effect<Cmd>> {
        match msg {
            Msg::Refresh => {
                self.generation += 1;
                self.loading = true;
                return vec![Effect::Run(Cmd::Load {
                    generation: self.generation,
                    since: self.window.since(ctx.now),
                })];
            }
            Msg::SetWindow(window) => {
                self.window = window;
                return self.update(Msg::Refresh, ctx);
            }
            Msg::Loaded { generation, result } if generation == self.generation => {
                self.loading = false;
                match result {
                    Ok(report) => {
                        self.error = None;
                        self.report = Some(*report);
                        // The estate may have shrunk since the last report.
                        self.provider = self.provider.min(self.rows(Focus::Providers).max(1) - 1);
                        self.key = self.key.min(self.rows(Focus::Keys).max(1) - 1);
                    }
                    // The last good report stays on screen under the error.
                    Err(e) => self.error = Some(e),
                }
            }
            Msg::Loaded { .. } => {}
            Msg::Move(by) => self.select(self.selected_row().saturating_add_signed(by)),
            Msg::Top => self.select(0),
            Msg::Bottom => self.select(usize::MAX),
            Msg::SwitchFocus => {
                self.focus = match self.focus {
                    Focus::Providers => Focus::Keys,
                    Focus::Keys => Focus::Providers,
                }
            }
            Msg::Open => return self.open(),
        }
        Vec::new()
    }

    fn open(&mut self) -> Vec<Effect<Cmd>> {
        match self.focus {
            Focus::Keys => self
                .selected_key()
                .map(|k| Effect::Open(Route::KeyDetail { key: k.uri.clone() }))
                .into_iter()
                .collect(),
            Focus::Providers => {
                let Some(p) = self.selected_provider() else {
                    return Vec::new();
                };
                let name = p.provider.clone();
                let first = self
                    .report
                    .as_ref()
                    .and_then(|r| r.keys.iter().position(|k| k.provider == name));
                match first {
                    Some(i) => {
                        self.focus = Focus::Keys;
                        self.key = i;
                        Vec::new()
                    }
                    None => vec![Effect::Notify(Notice::info(format!(
                        "{name} holds no billed keys"
                    )))],
                }
            }
        }
    }

    /// The message a key press means here, if any.
    pub fn on_key(&self, key: KeyEvent, _ctx: &Ctx) -> Option<Msg> {
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            return (key.code == KeyCode::Char('r')).then_some(Msg::Refresh);
        }
        Some(match key.code {
            KeyCode::Char('j') | KeyCode::Down => Msg::Move(1),
            KeyCode::Char('k') | KeyCode::Up => Msg::Move(-1),
            KeyCode::PageDown => Msg::Move(PAGE),
            KeyCode::PageUp => Msg::Move(-PAGE),
            KeyCode::Char('g') | KeyCode::Home => Msg::Top,
            KeyCode::Char('G') | KeyCode::End => Msg::Bottom,
            KeyCode::Tab => Msg::SwitchFocus,
            KeyCode::Enter => Msg::Open,
            KeyCode::Char('s') => Msg::SetWindow(self.window.next()),
            KeyCode::Char('S') => Msg::SetWindow(self.window.prev()),
            _ => return None,
        })
    }
}

/// Runs a command against the gateway.
pub async fn run(cmd: Cmd, gateway: Arc<dyn Gateway>, emit: Emit<Msg>) {
    match cmd {
        Cmd::Load { generation, since } => {
            let result = gateway
                .cost(since)
                .await
                .map(Box::new)
                .map_err(|e| LoadError::from_error(&e));
            emit.send(Msg::Loaded { generation, result });
        }
    }
}
