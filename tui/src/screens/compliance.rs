//! Compliance screen: findings across providers, for a reviewer who may change nothing.
//!
//! The report comes from [`keygate_core::compliance::gather`] (the same code as `keygate
//! compliance report`): counts per provider × rule, then the findings, sortable. `enter`
//! opens the finding's key (or the gateway policy). `e` exports the report as Markdown, CSV
//! or JSON to a file: reading, not changing keys, so it works under `--readonly` too.

mod export;
#[cfg(test)]
mod tests;
mod view;

use std::cmp::Ordering;
use std::sync::Arc;

use keygate_core::api::Gateway;
use keygate_core::compliance::{self, Finding, Options, Report};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use time::OffsetDateTime;

pub use self::export::{Export, Format};
use super::{Ctx, Effect, Emit, Notice};
use crate::app::{PolicyTarget, Route};
use crate::keymap::Binding;

/// Rows a page key moves.
const PAGE: isize = 10;

/// The compliance screen's bindings (help lists exactly these).
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: "j, down",
        does: "next finding",
        mutates: false,
    },
    Binding {
        keys: "k, up",
        does: "previous finding",
        mutates: false,
    },
    Binding {
        keys: "pgdn, pgup",
        does: "page down / up",
        mutates: false,
    },
    Binding {
        keys: "g, G",
        does: "first / last finding",
        mutates: false,
    },
    Binding {
        keys: "enter",
        does: "open the finding's key (or the gateway policy)",
        mutates: false,
    },
    Binding {
        keys: "s",
        does: "sort by the next column (severity first)",
        mutates: false,
    },
    Binding {
        keys: "S",
        does: "reverse the sort",
        mutates: false,
    },
    Binding {
        keys: "e",
        does: "export: Markdown, CSV or JSON file",
        mutates: false,
    },
    Binding {
        keys: "ctrl-r",
        does: "check again",
        mutates: false,
    },
];

/// What the findings table is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Column {
    /// Highest severity first.
    #[default]
    Severity,
    /// Rule id.
    Rule,
    /// Provider name.
    Provider,
    /// Key name.
    Key,
}

impl Column {
    /// The next column, round the table.
    pub fn next(self) -> Self {
        match self {
            Self::Severity => Self::Rule,
            Self::Rule => Self::Provider,
            Self::Provider => Self::Key,
            Self::Key => Self::Severity,
        }
    }

    /// The column's name, as the title shows it.
    pub fn title(self) -> &'static str {
        match self {
            Self::Severity => "severity",
            Self::Rule => "rule",
            Self::Provider => "provider",
            Self::Key => "key",
        }
    }

    fn compare(self, a: &Finding, b: &Finding) -> Ordering {
        // Ties fall back to the report's order (severity, provider, key), so sorts are stable
        // and readable.
        match self {
            Self::Severity => b.severity.cmp(&a.severity),
            Self::Rule => a.rule.cmp(&b.rule),
            Self::Provider => a.provider.cmp(&b.provider),
            Self::Key => a.name.cmp(&b.name),
        }
    }
}

/// The screen's state.
#[derive(Debug, Clone, Default)]
pub struct State {
    loading: bool,
    report: Option<Report>,
    error: Option<String>,
    generation: u64,
    order: Vec<usize>,
    selected: usize,
    sort: Column,
    reverse: bool,
    export: Option<Export>,
}

/// What can happen to it.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// Compute the report (again).
    Refresh,
    /// The report answered.
    Loaded {
        /// Which load this answers (older ones are dropped).
        generation: u64,
        /// The report, or why there is none.
        result: Result<Box<Report>, String>,
    },
    /// Move the selection.
    Move(isize),
    /// The first finding.
    Top,
    /// The last finding.
    Bottom,
    /// Open the selected finding's key.
    Open,
    /// Sort by the next column.
    SortNext,
    /// Reverse the sort.
    SortReverse,
    /// Open the export dialog.
    ExportStart,
    /// A key press in the export dialog.
    ExportKey(KeyEvent),
    /// The export finished: the path written, or why not.
    Exported(Result<String, String>),
}

/// I/O it asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    /// Gather the report at `now`.
    Load {
        /// The load generation.
        generation: u64,
        /// The time the rules use.
        now: OffsetDateTime,
    },
    /// Write `content` to `path` (relative paths are in the current directory).
    Write {
        /// Where.
        path: String,
        /// The rendered report.
        content: String,
    },
}

impl State {
    /// The report, once loaded.
    pub fn report(&self) -> Option<&Report> {
        self.report.as_ref()
    }

    /// The findings in display order.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        let findings = self.report.as_ref().map(|r| &r.findings[..]).unwrap_or(&[]);
        self.order.iter().filter_map(|&i| findings.get(i))
    }

    /// The selected finding.
    pub fn selected(&self) -> Option<&Finding> {
        let i = *self.order.get(self.selected)?;
        self.report.as_ref()?.findings.get(i)
    }

    /// The export dialog, when open.
    pub fn export(&self) -> Option<&Export> {
        self.export.as_ref()
    }

    /// The sort column and whether it is reversed.
    pub fn sort(&self) -> (Column, bool) {
        (self.sort, self.reverse)
    }

    /// True while the report is being computed.
    pub fn loading(&self) -> bool {
        self.loading
    }

    /// Applies a message.
    pub fn update(&mut self, msg: Msg, ctx: &Ctx) -> Vec<Effect<Cmd>> {
        match msg {
            Msg::Refresh => {
                self.generation += 1;
                self.loading = true;
                return vec![Effect::Run(Cmd::Load {
                    generation: self.generation,
                    now: ctx.now,
                })];
            }
            Msg::Loaded { generation, result } if generation == self.generation => {
                self.loading = false;
                match result {
                    Ok(report) => {
                        self.error = None;
                        self.report = Some(*report);
                        self.resort();
                    }
                    // The last good report stays on screen under the error.
                    Err(e) => self.error = Some(e),
                }
            }
            Msg::Loaded { .. } => {}
            Msg::Move(by) => {
                let last = self.order.len().saturating_sub(1);
                self.selected = self.selected.saturating_add_signed(by).min(last);
            }
            Msg::Top => self.selected = 0,
            Msg::Bottom => self.selected = self.order.len().saturating_sub(1),
            Msg::Open => {
                let Some(f) = self.selected() else {
                    return Vec::new();
                };
                let route = match &f.key {
                    Some(key) => Route::KeyDetail { key: key.clone() },
                    None => Route::Policy(PolicyTarget::Gateway),
                };
                return vec![Effect::Open(route)];
            }
            Msg::SortNext => {
                self.sort = self.sort.next();
                self.resort();
            }
            Msg::SortReverse => {
                self.reverse = !self.reverse;
                self.resort();
            }
            Msg::ExportStart => match &self.report {
                Some(_) => self.export = Some(Export::default()),
                None => return vec![Effect::Notify(Notice::error("nothing to export yet"))],
            },
            Msg::ExportKey(key) => return self.export_key(key, ctx),
            Msg::Exported(Ok(path)) => {
                return vec![Effect::Notify(Notice::info(format!(
                    "compliance report written to {path}"
                )))];
            }
            Msg::Exported(Err(e)) => return vec![Effect::Notify(Notice::error(e))],
        }
        Vec::new()
    }

    fn export_key(&mut self, key: KeyEvent, ctx: &Ctx) -> Vec<Effect<Cmd>> {
        let (Some(export), Some(report)) = (self.export.as_mut(), self.report.as_ref()) else {
            self.export = None;
            return Vec::new();
        };
        match export.handle(key, ctx.now) {
            export::Step::Stay => Vec::new(),
            export::Step::Cancel => {
                self.export = None;
                Vec::new()
            }
            export::Step::Write { path, format } => {
                self.export = None;
                vec![
                    Effect::Notify(Notice::info(format!("writing {path}…"))),
                    Effect::Run(Cmd::Write {
                        path,
                        content: format.render(report),
                    }),
                ]
            }
        }
    }

    /// Rebuilds the display order, keeping the selected finding selected.
    fn resort(&mut self) {
        let keep = self.selected().cloned();
        let Some(report) = &self.report else {
            self.order.clear();
            return;
        };
        let findings = &report.findings;
        let mut order: Vec<usize> = (0..findings.len()).collect();
        let col = self.sort;
        order.sort_by(|&a, &b| col.compare(&findings[a], &findings[b]).then(a.cmp(&b)));
        if self.reverse {
            order.reverse();
        }
        self.order = order;
        let pos = keep.and_then(|k| self.order.iter().position(|&i| findings[i] == k));
        self.selected = pos
            .unwrap_or(self.selected)
            .min(self.order.len().saturating_sub(1));
    }

    /// The message a key press means here, if any.
    pub fn on_key(&self, key: KeyEvent, _ctx: &Ctx) -> Option<Msg> {
        if self.export.is_some() {
            return Some(Msg::ExportKey(key));
        }
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
            KeyCode::Enter => Msg::Open,
            KeyCode::Char('s') => Msg::SortNext,
            KeyCode::Char('S') => Msg::SortReverse,
            KeyCode::Char('e') => Msg::ExportStart,
            _ => return None,
        })
    }
}

/// Runs a command against the gateway (or, for an export, the file system).
pub async fn run(cmd: Cmd, gateway: Arc<dyn Gateway>, emit: Emit<Msg>) {
    match cmd {
        Cmd::Load { generation, now } => {
            let result = compliance::gather(gateway.as_ref(), Options::default(), now)
                .await
                .map(Box::new)
                .map_err(|e| e.to_string());
            emit.send(Msg::Loaded { generation, result });
        }
        Cmd::Write { path, content } => {
            emit.send(Msg::Exported(write(path, content).await));
        }
    }
}

/// Writes an export; answers the absolute path written, or why not.
async fn write(path: String, content: String) -> Result<String, String> {
    match tokio::fs::write(&path, content).await {
        Ok(()) => Ok(std::path::absolute(&path)
            .map(|p| p.display().to_string())
            .unwrap_or(path)),
        Err(e) => Err(format!("cannot write {path}: {e}")),
    }
}
