//! Keys screen: one table of every key across providers.
//!
//! Providers load concurrently: one command lists the providers, then one command per
//! provider lists its keys, and each provider's state (loading, count, error) is shown as it
//! arrives. The table is `rows` plus two index vectors: `order` (every row, sorted; rebuilt
//! when the data or the sort changes) and `visible` (`order` filtered; rebuilt per filter
//! keystroke in one pass). Only the rows that fit are drawn.

mod filter;
mod table;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use keygate_core::api::Gateway;
use keygate_core::{KeyMetadata, KeyRef};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use time::{Duration, OffsetDateTime};

pub use self::filter::Filter;
pub use self::table::{Column, Row};
use super::actions::{self, Dialog, Mutation, Provider, Request, Step};
use super::{Ctx, Effect, Emit, Notice};
use crate::app::{Route, readonly_notice};
use crate::keymap::Binding;

/// How often the table reloads on its own while on display.
pub const REFRESH_EVERY: Duration = Duration::seconds(15);

/// The keys screen's bindings (help lists exactly these).
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: "j, down",
        does: "next key",
        mutates: false,
    },
    Binding {
        keys: "k, up",
        does: "previous key",
        mutates: false,
    },
    Binding {
        keys: "pgdn, pgup",
        does: "page down / up",
        mutates: false,
    },
    Binding {
        keys: "g, G",
        does: "first / last key",
        mutates: false,
    },
    Binding {
        keys: "enter",
        does: "open the key's detail",
        mutates: false,
    },
    Binding {
        keys: "/",
        does: "filter: text provider: state: label:k=v spec: usage:",
        mutates: false,
    },
    Binding {
        keys: "s",
        does: "sort by the next column",
        mutates: false,
    },
    Binding {
        keys: "S",
        does: "reverse the sort",
        mutates: false,
    },
    Binding {
        keys: "ctrl-r",
        does: "reload now",
        mutates: false,
    },
    Binding {
        keys: "c",
        does: "create a key",
        mutates: true,
    },
    actions::BINDINGS[0],
    actions::BINDINGS[1],
    actions::BINDINGS[2],
    actions::BINDINGS[3],
    actions::BINDINGS[4],
    actions::BINDINGS[5],
];

/// One provider's loading state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Load {
    /// Not answered yet.
    Loading,
    /// Listed: this many keys.
    Loaded(usize),
    /// Could not be listed.
    Failed(String),
}

/// A provider and how its keys loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// The provider.
    pub provider: Provider,
    /// Its state.
    pub load: Load,
    /// A reload is under way (the shown state is the previous one).
    pub reloading: bool,
}

/// The screen's state.
#[derive(Debug, Clone, Default)]
pub struct State {
    slots: Vec<Slot>,
    loading_providers: bool,
    providers_error: Option<String>,
    rows: Vec<Row>,
    aliases: BTreeMap<KeyRef, Vec<String>>,
    order: Vec<u32>,
    visible: Vec<u32>,
    sort: Column,
    reverse: bool,
    filter: Filter,
    filter_text: String,
    editing: bool,
    filter_error: Option<String>,
    selected: usize,
    /// The user picked the selected key (until then a reload keeps the top row selected,
    /// not whichever key happened to arrive first).
    chosen: bool,
    offset: usize,
    page: usize,
    dialog: Option<Dialog>,
    generation: u64,
    loaded_at: Option<OffsetDateTime>,
}

/// What can happen to it.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// Reload everything.
    Refresh,
    /// Time passed: reload when the data is older than [`REFRESH_EVERY`].
    Tick,
    /// The providers answered.
    Providers {
        /// Which load this answers (older ones are dropped).
        generation: u64,
        /// The providers, or why not.
        result: Result<Vec<Provider>, String>,
    },
    /// One provider's keys answered.
    ProviderKeys {
        /// Which load this answers.
        generation: u64,
        /// The provider.
        provider: String,
        /// Its keys, or why not.
        result: Result<Vec<KeyMetadata>, String>,
    },
    /// The aliases answered.
    Aliases {
        /// Which load this answers.
        generation: u64,
        /// The aliases, or why not.
        result: Result<Vec<keygate_core::api::Alias>, String>,
    },
    /// Rows that fit on screen (for paging and scrolling).
    Viewport(usize),
    /// Move the selection by this many rows.
    Move(isize),
    /// Select the first row.
    Top,
    /// Select the last row.
    Bottom,
    /// A click on the row at this position (a second click opens it).
    Click(usize),
    /// Open the selected key's detail.
    Open,
    /// Start typing a filter.
    FilterStart,
    /// A character typed into the filter.
    FilterChar(char),
    /// Backspace in the filter.
    FilterBackspace,
    /// Stop typing; keep the filter.
    FilterDone,
    /// Drop the filter.
    FilterClear,
    /// Replace the filter (`:provider aws`).
    SetFilter(String),
    /// Sort by the next column.
    SortNext,
    /// Reverse the sort.
    SortReverse,
    /// Open an action's dialog.
    Action(Request),
    /// A key press while a dialog is open.
    Dialog(KeyEvent),
    /// A mutation finished: the notice to show.
    Done(Result<String, String>),
}

/// I/O it asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    /// List the providers.
    Providers {
        /// The load generation.
        generation: u64,
    },
    /// List one provider's keys.
    Keys {
        /// The load generation.
        generation: u64,
        /// The provider.
        provider: String,
    },
    /// List the aliases.
    Aliases {
        /// The load generation.
        generation: u64,
    },
    /// Make a change.
    Mutate(Mutation),
}

impl State {
    /// The providers loaded so far, in registration order.
    pub fn providers(&self) -> Vec<Provider> {
        self.slots.iter().map(|s| s.provider.clone()).collect()
    }

    /// How many providers are registered (0 until they answer).
    pub fn provider_count(&self) -> usize {
        self.slots.len()
    }

    /// Every provider's loading state.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// How many keys pass the filter.
    pub fn visible_len(&self) -> usize {
        self.visible.len()
    }

    /// How many keys are loaded.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when no key is loaded.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The selected key.
    pub fn selected(&self) -> Option<&KeyMetadata> {
        self.row_at(self.selected).map(|r| &r.meta)
    }

    /// The filter as typed.
    pub fn filter_text(&self) -> &str {
        &self.filter_text
    }

    /// The filter's error, if the typed filter does not parse.
    pub fn filter_error(&self) -> Option<&str> {
        self.filter_error.as_deref()
    }

    /// The open dialog.
    pub fn dialog(&self) -> Option<&Dialog> {
        self.dialog.as_ref()
    }

    /// The sort column and whether it is reversed.
    pub fn sort(&self) -> (Column, bool) {
        (self.sort, self.reverse)
    }

    fn row_at(&self, pos: usize) -> Option<&Row> {
        let i = *self.visible.get(pos)?;
        self.rows.get(i as usize)
    }

    /// Applies a message.
    pub fn update(&mut self, msg: Msg, ctx: &Ctx) -> Vec<Effect<Cmd>> {
        match msg {
            Msg::Refresh => return self.reload(ctx),
            Msg::Tick => {
                let stale = self
                    .loaded_at
                    .is_some_and(|at| ctx.now - at >= REFRESH_EVERY);
                if stale && self.dialog.is_none() && !self.editing {
                    return self.reload(ctx);
                }
            }
            Msg::Providers { generation, result } if generation == self.generation => {
                return self.providers_loaded(result);
            }
            Msg::ProviderKeys {
                generation,
                provider,
                result,
            } if generation == self.generation => self.keys_loaded(&provider, result),
            Msg::Aliases { generation, result } if generation == self.generation => {
                self.aliases.clear();
                // Listing aliases is a permission of its own; without it keys show bare.
                for a in result.unwrap_or_default() {
                    self.aliases.entry(a.target).or_default().push(a.name);
                }
                let rows = std::mem::take(&mut self.rows);
                self.rows = rows
                    .into_iter()
                    .map(|r| {
                        let aliases = self.aliases.get(&r.meta.key_ref()).cloned();
                        Row::new(r.meta, aliases.unwrap_or_default())
                    })
                    .collect();
                self.refilter();
            }
            Msg::Providers { .. } | Msg::ProviderKeys { .. } | Msg::Aliases { .. } => {}
            Msg::Viewport(rows) => {
                self.page = rows;
                self.scroll_into_view();
            }
            Msg::Move(by) => self.choose(self.selected.saturating_add_signed(by).min(
                // Moving up from 0 saturates at 0; down stops at the last row.
                self.visible.len().saturating_sub(1),
            )),
            Msg::Top => self.choose(0),
            Msg::Bottom => self.choose(self.visible.len().saturating_sub(1)),
            Msg::Click(pos) if pos < self.visible.len() => {
                if pos == self.selected {
                    return self.open();
                }
                self.choose(pos);
            }
            Msg::Click(_) => {}
            Msg::Open => return self.open(),
            Msg::FilterStart => self.editing = true,
            Msg::FilterChar(c) => {
                self.filter_text.push(c);
                self.apply_filter();
            }
            Msg::FilterBackspace => {
                self.filter_text.pop();
                self.apply_filter();
            }
            Msg::FilterDone => self.editing = false,
            Msg::FilterClear => {
                self.editing = false;
                self.filter_text.clear();
                self.apply_filter();
            }
            Msg::SetFilter(text) => {
                self.editing = false;
                self.filter_text = text;
                self.apply_filter();
            }
            Msg::SortNext => {
                self.sort = self.sort.next();
                self.resort();
            }
            Msg::SortReverse => {
                self.reverse = !self.reverse;
                self.resort();
            }
            Msg::Action(request) => {
                if ctx.readonly {
                    return vec![Effect::Notify(readonly_notice())];
                }
                let providers = self.providers();
                match actions::open(request, self.selected(), &providers) {
                    Ok(d) => self.dialog = Some(d),
                    Err(e) => return vec![Effect::Notify(Notice::error(e))],
                }
            }
            Msg::Dialog(key) => {
                let Some(dialog) = self.dialog.as_mut() else {
                    return Vec::new();
                };
                match dialog.handle(key, ctx.now) {
                    Step::Stay => {}
                    Step::Cancel => self.dialog = None,
                    Step::Submit(m) => {
                        self.dialog = None;
                        // Refused here too, whatever opened the dialog.
                        if ctx.readonly {
                            return vec![Effect::Notify(readonly_notice())];
                        }
                        return vec![
                            Effect::Notify(Notice::info("working…")),
                            Effect::Run(Cmd::Mutate(m)),
                        ];
                    }
                }
            }
            Msg::Done(result) => {
                let notice = match result {
                    Ok(text) => Notice::info(text),
                    Err(text) => Notice::error(text),
                };
                let mut effects = vec![Effect::Notify(notice)];
                effects.extend(self.reload(ctx));
                return effects;
            }
        }
        Vec::new()
    }

    fn open(&self) -> Vec<Effect<Cmd>> {
        match self.selected() {
            Some(k) => vec![Effect::Open(Route::KeyDetail { key: k.uri.clone() })],
            None => Vec::new(),
        }
    }

    fn reload(&mut self, ctx: &Ctx) -> Vec<Effect<Cmd>> {
        self.generation += 1;
        self.loading_providers = true;
        self.loaded_at = Some(ctx.now);
        for s in &mut self.slots {
            s.reloading = true;
        }
        let generation = self.generation;
        vec![
            Effect::Run(Cmd::Providers { generation }),
            Effect::Run(Cmd::Aliases { generation }),
        ]
    }

    fn providers_loaded(&mut self, result: Result<Vec<Provider>, String>) -> Vec<Effect<Cmd>> {
        self.loading_providers = false;
        let providers = match result {
            Ok(p) => p,
            Err(e) => {
                self.providers_error = Some(e);
                for s in &mut self.slots {
                    s.reloading = false;
                }
                return Vec::new();
            }
        };
        self.providers_error = None;
        let old = std::mem::take(&mut self.slots);
        self.slots = providers
            .into_iter()
            .map(|provider| {
                let load = old
                    .iter()
                    .find(|s| s.provider.name == provider.name)
                    .map_or(Load::Loading, |s| s.load.clone());
                Slot {
                    provider,
                    load,
                    reloading: true,
                }
            })
            .collect();
        // Keys of providers that are gone go too.
        let before = self.rows.len();
        let slots = &self.slots;
        self.rows
            .retain(|r| slots.iter().any(|s| s.provider.name == r.meta.provider));
        if self.rows.len() != before {
            self.resort();
        }
        let generation = self.generation;
        self.slots
            .iter()
            .map(|s| {
                Effect::Run(Cmd::Keys {
                    generation,
                    provider: s.provider.name.clone(),
                })
            })
            .collect()
    }

    fn keys_loaded(&mut self, provider: &str, result: Result<Vec<KeyMetadata>, String>) {
        let Some(slot) = self.slots.iter_mut().find(|s| s.provider.name == provider) else {
            return;
        };
        slot.reloading = false;
        self.rows.retain(|r| r.meta.provider != provider);
        match result {
            Ok(keys) => {
                slot.load = Load::Loaded(keys.len());
                let aliases = &self.aliases;
                self.rows.extend(keys.into_iter().map(|k| {
                    let a = aliases.get(&k.key_ref()).cloned().unwrap_or_default();
                    Row::new(k, a)
                }));
            }
            Err(e) => slot.load = Load::Failed(e),
        }
        self.resort();
    }

    fn apply_filter(&mut self) {
        match filter::parse(&self.filter_text) {
            Ok(f) => {
                self.filter_error = None;
                self.filter = f;
                self.refilter();
            }
            // The typed text stays; the last good filter keeps showing its rows.
            Err(e) => self.filter_error = Some(e),
        }
    }

    /// Rebuilds `order` (sort) then `visible`.
    fn resort(&mut self) {
        let rows = &self.rows;
        let mut order: Vec<u32> = (0..u32::try_from(rows.len()).unwrap_or(u32::MAX)).collect();
        let col = self.sort;
        order.sort_unstable_by(|&a, &b| table::compare(&rows[a as usize], &rows[b as usize], col));
        if self.reverse {
            order.reverse();
        }
        self.order = order;
        self.refilter();
    }

    /// Rebuilds `visible` from `order` in one pass, keeping the selected key selected.
    fn refilter(&mut self) {
        let keep = self
            .selected()
            .filter(|_| self.chosen)
            .map(|k| k.uri.clone());
        let rows = &self.rows;
        let filter = &self.filter;
        self.visible.clear();
        self.visible.extend(
            self.order
                .iter()
                .copied()
                .filter(|&i| rows.get(i as usize).is_some_and(|r| filter.matches(r))),
        );
        let pos = keep.and_then(|uri| {
            self.visible
                .iter()
                .position(|&i| rows.get(i as usize).is_some_and(|r| r.meta.uri == uri))
        });
        self.select(pos.unwrap_or(self.selected));
    }

    fn choose(&mut self, pos: usize) {
        self.chosen = true;
        self.select(pos);
    }

    fn select(&mut self, pos: usize) {
        self.selected = pos.min(self.visible.len().saturating_sub(1));
        self.scroll_into_view();
    }

    fn scroll_into_view(&mut self) {
        self.offset = offset_for(self.offset, self.selected, self.page.max(1));
    }

    /// The message a key press means here, if any.
    pub fn on_key(&self, key: KeyEvent, _ctx: &Ctx) -> Option<Msg> {
        if self.dialog.is_some() {
            return Some(Msg::Dialog(key));
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if self.editing {
            return Some(match key.code {
                KeyCode::Enter => Msg::FilterDone,
                KeyCode::Esc => Msg::FilterClear,
                KeyCode::Backspace => Msg::FilterBackspace,
                KeyCode::Char('u') if ctrl => Msg::SetFilter(String::new()),
                KeyCode::Char(c) if !ctrl => Msg::FilterChar(c),
                _ => return None,
            });
        }
        if ctrl {
            return (key.code == KeyCode::Char('r')).then_some(Msg::Refresh);
        }
        if let Some(request) = actions::request_for(key) {
            return Some(Msg::Action(request));
        }
        let page = isize::try_from(self.page.max(1)).unwrap_or(1);
        Some(match key.code {
            KeyCode::Char('j') | KeyCode::Down => Msg::Move(1),
            KeyCode::Char('k') | KeyCode::Up => Msg::Move(-1),
            KeyCode::PageDown => Msg::Move(page),
            KeyCode::PageUp => Msg::Move(-page),
            KeyCode::Char('g') | KeyCode::Home => Msg::Top,
            KeyCode::Char('G') | KeyCode::End => Msg::Bottom,
            KeyCode::Enter => Msg::Open,
            KeyCode::Char('/') => Msg::FilterStart,
            KeyCode::Char('s') => Msg::SortNext,
            KeyCode::Char('S') => Msg::SortReverse,
            KeyCode::Char('c') => Msg::Action(Request::Create),
            // esc clears an applied filter first, then goes back (global).
            KeyCode::Esc if !self.filter_text.is_empty() => Msg::FilterClear,
            _ => return None,
        })
    }

    /// The message a mouse event at the screen drawn in `area` means, if any: the wheel
    /// moves the selection, a click selects a row (a second click opens it).
    pub fn on_mouse(&self, ev: MouseEvent, area: Rect, _ctx: &Ctx) -> Option<Msg> {
        if self.dialog.is_some() {
            return None;
        }
        match ev.kind {
            MouseEventKind::ScrollDown => Some(Msg::Move(3)),
            MouseEventKind::ScrollUp => Some(Msg::Move(-3)),
            MouseEventKind::Down(_) => {
                let [_, _, table] = layout(area);
                // Border and header take the first two lines of the table.
                let first = table.y + 2;
                let last = table.y + table.height.saturating_sub(1);
                if ev.row < first || ev.row >= last || ev.column < table.x {
                    return None;
                }
                let offset = offset_for(self.offset, self.selected, rows_in(area));
                Some(Msg::Click(offset + usize::from(ev.row - first)))
            }
            _ => None,
        }
    }

    /// Draws the screen.
    pub fn view(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = &ctx.theme;
        let [status, filter_line, table_area] = layout(area);
        frame.render_widget(Paragraph::new(self.status_line(ctx)), status);
        let filter = if self.editing || !self.filter_text.is_empty() {
            let cursor = if self.editing { "_" } else { "" };
            let mut spans = vec![
                Span::styled("/", t.title()),
                Span::raw(format!("{}{cursor}", self.filter_text)),
            ];
            if let Some(e) = &self.filter_error {
                spans.push(Span::styled(format!("  {e}"), t.error()));
            }
            Line::from(spans)
        } else {
            Line::from(Span::styled(
                "/ filter  s sort  enter detail  ? help",
                t.dim(),
            ))
        };
        frame.render_widget(Paragraph::new(filter), filter_line);
        let (col, rev) = (self.sort, self.reverse);
        let title = Line::from(vec![Span::styled(
            format!(
                " Keys {}/{} · sorted by {}{} ",
                self.visible.len(),
                self.rows.len(),
                col.title().to_lowercase(),
                if rev { " (reversed)" } else { "" },
            ),
            t.title(),
        )]);
        let page = rows_in(area);
        table::draw(
            &table::View {
                rows: &self.rows,
                visible: &self.visible,
                offset: offset_for(self.offset, self.selected, page),
                selected: self.selected,
                sort: (col, rev),
                title,
            },
            frame,
            table_area,
            ctx,
        );
        if self.visible.is_empty() {
            let text = if self.rows.is_empty() && self.loading() {
                "loading…"
            } else if self.rows.is_empty() {
                "no keys — press c to create one"
            } else {
                "no key matches the filter"
            };
            let inner = Rect {
                x: table_area.x + 2,
                y: table_area.y + 2,
                width: table_area.width.saturating_sub(4),
                height: 1.min(table_area.height.saturating_sub(3)),
            };
            let text = if ctx.readonly && self.rows.is_empty() && !self.loading() {
                "no keys"
            } else {
                text
            };
            frame.render_widget(Paragraph::new(Span::styled(text, t.dim())), inner);
        }
        if let Some(d) = &self.dialog {
            actions::draw(d, frame, area, ctx);
        }
    }

    fn loading(&self) -> bool {
        self.loading_providers || self.slots.iter().any(|s| s.load == Load::Loading)
    }

    fn status_line(&self, ctx: &Ctx) -> Line<'static> {
        let t = &ctx.theme;
        let mut spans = Vec::new();
        if let Some(e) = &self.providers_error {
            spans.push(Span::styled(format!("providers: {e}"), t.error()));
            return Line::from(spans);
        }
        if self.slots.is_empty() {
            spans.push(Span::styled("providers: loading…", t.dim()));
        }
        for (i, s) in self.slots.iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled(" · ", t.dim()));
            }
            spans.push(Span::styled(s.provider.name.clone(), t.title()));
            spans.push(match &s.load {
                Load::Loading => Span::styled(" loading…", t.dim()),
                Load::Loaded(n) => Span::styled(
                    format!(" {n} key{}", if *n == 1 { "" } else { "s" }),
                    t.ok(),
                ),
                Load::Failed(e) => Span::styled(format!(" ✗ {e}"), t.error()),
            });
            if s.reloading && s.load != Load::Loading {
                spans.push(Span::styled(" ↻", t.dim()));
            }
        }
        Line::from(spans)
    }
}

/// The screen's parts: provider status line, filter line, table.
fn layout(area: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
    ])
    .areas(area)
}

/// How many table rows fit when the screen is drawn in `area`.
pub fn rows_in(area: Rect) -> usize {
    let [_, _, table] = layout(area);
    usize::from(table.height.saturating_sub(3)).max(1)
}

/// The first row to show so that `selected` is on screen, moving `offset` as little as
/// possible.
fn offset_for(offset: usize, selected: usize, page: usize) -> usize {
    if selected < offset {
        selected
    } else if selected >= offset + page {
        selected + 1 - page
    } else {
        offset
    }
}

/// Runs a command against the gateway.
pub async fn run(cmd: Cmd, gateway: Arc<dyn Gateway>, emit: Emit<Msg>) {
    match cmd {
        Cmd::Providers { generation } => {
            let result = gateway
                .providers()
                .await
                .map(|ps| ps.into_iter().map(Provider::from).collect())
                .map_err(|e| e.to_string());
            emit.send(Msg::Providers { generation, result });
        }
        Cmd::Keys {
            generation,
            provider,
        } => {
            let result = match gateway.list_keys(Some(&provider)).await {
                Ok(l) if l.errors.is_empty() => Ok(l.keys),
                Ok(l) => Err(l
                    .errors
                    .iter()
                    .map(|e| format!("{}: {}", e.kind, e.message))
                    .collect::<Vec<_>>()
                    .join("; ")),
                Err(e) => Err(e.to_string()),
            };
            emit.send(Msg::ProviderKeys {
                generation,
                provider,
                result,
            });
        }
        Cmd::Aliases { generation } => {
            let result = gateway.list_aliases().await.map_err(|e| e.to_string());
            emit.send(Msg::Aliases { generation, result });
        }
        Cmd::Mutate(m) => {
            let result = actions::perform(m, gateway.as_ref()).await;
            emit.send(Msg::Done(result));
        }
    }
}
