//! Keys screen: one table of every key across providers.
//!
//! Providers load concurrently: one command lists the providers, then one command per
//! provider lists its keys, and each provider's state (loading, count, error) is shown as it
//! arrives. The table is `rows` plus two index vectors: `order` (every row, sorted; rebuilt
//! when the data or the sort changes) and `visible` (`order` filtered; rebuilt per filter
//! keystroke in one pass). Only the rows that fit are drawn.

mod filter;
mod load;
mod table;
#[cfg(test)]
mod tests;
mod view;

use std::collections::BTreeMap;

use keygate_core::{KeyMetadata, KeyRef};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use time::{Duration, OffsetDateTime};

pub use self::filter::Filter;
pub use self::load::run;
pub use self::table::{Column, Row};
pub use self::view::rows_in;
use self::view::{layout, offset_for};
use super::actions::{self, Dialog, Mutation, Provider, Request};
use super::{Ctx, Effect, Notice};
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
    /// The provider, with the capabilities its key actions are checked against.
    pub provider: Provider,
    /// Whether its keys are loading, listed, or could not be listed.
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
                return actions::dialog_key(&mut self.dialog, key, ctx)
                    .into_iter()
                    .map(|e| e.map(Cmd::Mutate))
                    .collect();
            }
            Msg::Done(result) => {
                let notice = actions::done_notice(result);
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
}
