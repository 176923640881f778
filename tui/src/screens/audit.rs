//! Audit screen: a live tail of the audit log across every provider.
//!
//! The stream starts [`filter::DEFAULT_SINCE`] in the past (or at the filter's `since:`) and
//! follows live events through
//! [`Gateway::follow_audit`](keygate_core::api::Gateway::follow_audit) (SSE from a remote
//! gateway). Newest events are at the bottom, as in `tail -f`; the view follows them unless
//! the user moved the selection up (`G` follows again). Paused, new events are counted and
//! held, and shown on resume. At most [`CAPACITY`] events are kept (shown plus held): the
//! oldest go first.
//!
//! Each stream has a generation: applying a filter starts a new one, signals the old task
//! to stop (a `watch` channel it selects on) and drops anything the old one still sends.
//! The task also stops when the console quits (`emit.send` fails).

pub mod filter;
mod stream;
#[cfg(test)]
mod tests;
mod view;

use std::collections::VecDeque;
use std::sync::Arc;

use keygate_core::audit::{AuditEvent, AuditQuery, AuditVerification};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::watch;

pub use self::filter::Filter;
pub use self::stream::run;
use super::{Ctx, Effect};
use crate::keymap::Binding;

/// The most events kept in memory (shown plus held while paused).
pub const CAPACITY: usize = 10_000;

/// Rows a page key moves (the screen does not know its height in `update`).
const PAGE: isize = 20;

/// The audit screen's bindings (help lists exactly these).
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: "j, down",
        does: "next event",
        mutates: false,
    },
    Binding {
        keys: "k, up",
        does: "previous event (stops following)",
        mutates: false,
    },
    Binding {
        keys: "pgdn, pgup",
        does: "page down / up",
        mutates: false,
    },
    Binding {
        keys: "g, G",
        does: "oldest event / newest (follow again)",
        mutates: false,
    },
    Binding {
        keys: "enter",
        does: "the event's detail",
        mutates: false,
    },
    Binding {
        keys: "p, space",
        does: "pause / resume (new events are counted)",
        mutates: false,
    },
    Binding {
        keys: "/",
        does: "filter: provider: key: principal: action: outcome: since: text",
        mutates: false,
    },
    Binding {
        keys: "v",
        does: "verify the hash chain again",
        mutates: false,
    },
    Binding {
        keys: "ctrl-r",
        does: "restart the stream",
        mutates: false,
    },
];

/// Where the stream stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Stream {
    /// Not started.
    #[default]
    Idle,
    /// Started: events arrive.
    Live,
    /// The gateway ended it (the message says why).
    Ended(String),
}

/// The hash-chain check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Chain {
    /// Not asked yet.
    #[default]
    Unknown,
    /// Being checked.
    Checking,
    /// The gateway's verdict on the chain.
    Checked(AuditVerification),
    /// The check could not run.
    Failed(String),
}

/// Tells a stream task to stop: it runs while the channel carries its generation.
#[derive(Debug, Clone)]
pub struct Stop(pub(crate) watch::Receiver<u64>);

impl PartialEq for Stop {
    /// Two signals are equal when they listen to the same screen.
    fn eq(&self, other: &Self) -> bool {
        self.0.same_channel(&other.0)
    }
}

/// The screen's state.
#[derive(Debug, Clone, Default)]
pub struct State {
    events: VecDeque<AuditEvent>,
    held: VecDeque<AuditEvent>,
    new_while_paused: u64,
    paused: bool,
    selected: usize,
    follow: bool,
    detail: Option<Box<AuditEvent>>,
    filter: Filter,
    applied_text: String,
    filter_text: String,
    editing: bool,
    filter_error: Option<String>,
    generation: u64,
    stop: Option<Arc<watch::Sender<u64>>>,
    stream: Stream,
    chain: Chain,
}

/// What can happen to it.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// The screen was opened: start the stream if it is not running; check the chain.
    Refresh,
    /// Start the stream again with the same filter.
    Restart,
    /// Events of stream `generation` (stale generations are dropped).
    Events {
        /// The stream they came from.
        generation: u64,
        /// Oldest first.
        events: Vec<AuditEvent>,
    },
    /// Stream `generation` ended (`None`: the gateway closed it).
    Ended {
        /// The stream.
        generation: u64,
        /// Why, when it failed.
        error: Option<String>,
    },
    /// Check the hash chain again.
    Verify,
    /// The chain check answered.
    Verified(Result<AuditVerification, String>),
    /// Pause or resume.
    TogglePause,
    /// Move the selection by this many events.
    Move(isize),
    /// The oldest event.
    Top,
    /// The newest event, following again.
    Bottom,
    /// Open the selected event's detail.
    Open,
    /// Close the detail.
    Close,
    /// Start typing a filter.
    FilterStart,
    /// A character typed into the filter.
    FilterChar(char),
    /// Backspace in the filter.
    FilterBackspace,
    /// Apply the typed filter (restarts the stream), or show why it is invalid.
    FilterApply,
    /// Stop typing without applying.
    FilterCancel,
    /// Drop the filter (restarts the stream).
    FilterClear,
}

/// I/O it asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    /// Follow the audit log with `query` until `stop` moves past `generation`.
    Follow {
        /// The stream's generation, echoed in its messages.
        generation: u64,
        /// What the gateway filters.
        query: AuditQuery,
        /// The stop signal.
        stop: Stop,
    },
    /// Check the hash chain.
    Verify,
}

impl State {
    /// The events on screen, oldest first.
    pub fn events(&self) -> &VecDeque<AuditEvent> {
        &self.events
    }

    /// Events that arrived while paused (shown on resume).
    pub fn new_while_paused(&self) -> u64 {
        self.new_while_paused
    }

    /// True while paused.
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// The selected event's position.
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// True while the view follows the newest event.
    pub fn following(&self) -> bool {
        self.follow
    }

    /// The event whose detail is open.
    pub fn detail(&self) -> Option<&AuditEvent> {
        self.detail.as_deref()
    }

    /// The filter line's error.
    pub fn filter_error(&self) -> Option<&str> {
        self.filter_error.as_deref()
    }

    /// The filter as typed.
    pub fn filter_text(&self) -> &str {
        &self.filter_text
    }

    /// The current stream's generation; whatever an older stream still sends is dropped.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The chain check.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The stream's state.
    pub fn stream(&self) -> &Stream {
        &self.stream
    }

    /// Applies a message.
    pub fn update(&mut self, msg: Msg, ctx: &Ctx) -> Vec<Effect<Cmd>> {
        match msg {
            Msg::Refresh => {
                let mut effects = self.verify();
                if self.stream != Stream::Live {
                    effects.extend(self.restart(ctx));
                }
                return effects;
            }
            Msg::Restart => return self.restart(ctx),
            Msg::Events { generation, events } if generation == self.generation => {
                self.receive(events);
            }
            Msg::Ended { generation, error } if generation == self.generation => {
                self.stream =
                    Stream::Ended(error.unwrap_or_else(|| "the gateway closed the stream".into()));
            }
            Msg::Events { .. } | Msg::Ended { .. } => {}
            Msg::Verify => return self.verify(),
            Msg::Verified(result) => {
                self.chain = match result {
                    Ok(v) => Chain::Checked(v),
                    Err(e) => Chain::Failed(e),
                };
            }
            Msg::TogglePause => {
                self.paused = !self.paused;
                if !self.paused {
                    let held = std::mem::take(&mut self.held);
                    self.show(held);
                    self.new_while_paused = 0;
                }
            }
            Msg::Move(by) => {
                let last = self.events.len().saturating_sub(1);
                self.selected = self.selected.saturating_add_signed(by).min(last);
                self.follow = self.selected == last;
            }
            Msg::Top => {
                self.selected = 0;
                self.follow = self.events.len() <= 1;
            }
            Msg::Bottom => {
                self.selected = self.events.len().saturating_sub(1);
                self.follow = true;
            }
            Msg::Open => self.detail = self.events.get(self.selected).cloned().map(Box::new),
            Msg::Close => self.detail = None,
            Msg::FilterStart => {
                self.editing = true;
                self.filter_error = None;
            }
            Msg::FilterChar(c) => {
                self.filter_text.push(c);
                self.filter_error = None;
            }
            Msg::FilterBackspace => {
                self.filter_text.pop();
                self.filter_error = None;
            }
            Msg::FilterApply => match filter::parse(&self.filter_text) {
                Ok(f) => {
                    self.editing = false;
                    self.filter_error = None;
                    self.filter = f;
                    self.applied_text = self.filter_text.clone();
                    return self.restart(ctx);
                }
                // The typed text stays for fixing; the running stream keeps its filter.
                Err(e) => self.filter_error = Some(e),
            },
            Msg::FilterCancel => {
                self.editing = false;
                self.filter_error = None;
                self.filter_text = self.applied_text.clone();
            }
            Msg::FilterClear => {
                self.editing = false;
                self.filter_error = None;
                self.filter_text.clear();
                self.applied_text.clear();
                self.filter = Filter::default();
                return self.restart(ctx);
            }
        }
        Vec::new()
    }

    fn verify(&mut self) -> Vec<Effect<Cmd>> {
        self.chain = Chain::Checking;
        vec![Effect::Run(Cmd::Verify)]
    }

    /// A new stream: a new generation, the old task told to stop, the list emptied.
    fn restart(&mut self, ctx: &Ctx) -> Vec<Effect<Cmd>> {
        self.generation += 1;
        let generation = self.generation;
        let rx = match &self.stop {
            Some(tx) => {
                // Every receiver sees the new value; old streams then stop.
                tx.send_replace(generation);
                tx.subscribe()
            }
            None => {
                let (tx, rx) = watch::channel(generation);
                self.stop = Some(Arc::new(tx));
                rx
            }
        };
        self.events.clear();
        self.held.clear();
        self.new_while_paused = 0;
        self.selected = 0;
        self.follow = true;
        self.detail = None;
        self.stream = Stream::Live;
        vec![Effect::Run(Cmd::Follow {
            generation,
            query: self.filter.query(ctx.now),
            stop: Stop(rx),
        })]
    }

    fn receive(&mut self, events: Vec<AuditEvent>) {
        let filter = &self.filter;
        let events: Vec<AuditEvent> = events.into_iter().filter(|e| filter.matches(e)).collect();
        if self.paused {
            for e in events {
                self.new_while_paused += 1;
                self.held.push_back(e);
                // Held and shown events share the budget: the oldest shown go first, then
                // the oldest held.
                if self.held.len() + self.events.len() > CAPACITY {
                    match self.events.pop_front() {
                        Some(_) => self.selected = self.selected.saturating_sub(1),
                        None => drop(self.held.pop_front()),
                    }
                }
            }
            return;
        }
        self.show(events);
    }

    fn show(&mut self, events: impl IntoIterator<Item = AuditEvent>) {
        for e in events {
            self.events.push_back(e);
            if self.events.len() > CAPACITY {
                self.events.pop_front();
                // The selection stays on the same event while it is still kept.
                self.selected = self.selected.saturating_sub(1);
            }
        }
        if self.follow {
            self.selected = self.events.len().saturating_sub(1);
        }
    }

    /// The message a key press means here, if any.
    pub fn on_key(&self, key: KeyEvent, _ctx: &Ctx) -> Option<Msg> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if self.editing {
            return Some(match key.code {
                KeyCode::Enter => Msg::FilterApply,
                KeyCode::Esc => Msg::FilterCancel,
                KeyCode::Backspace => Msg::FilterBackspace,
                KeyCode::Char(c) if !ctrl => Msg::FilterChar(c),
                _ => return None,
            });
        }
        if ctrl {
            return (key.code == KeyCode::Char('r')).then_some(Msg::Restart);
        }
        if self.detail.is_some() {
            // The detail shows one event: esc/enter close it; other keys stay global.
            return match key.code {
                KeyCode::Esc | KeyCode::Enter => Some(Msg::Close),
                _ => None,
            };
        }
        Some(match key.code {
            KeyCode::Char('j') | KeyCode::Down => Msg::Move(1),
            KeyCode::Char('k') | KeyCode::Up => Msg::Move(-1),
            KeyCode::PageDown => Msg::Move(PAGE),
            KeyCode::PageUp => Msg::Move(-PAGE),
            KeyCode::Char('g') | KeyCode::Home => Msg::Top,
            KeyCode::Char('G') | KeyCode::End => Msg::Bottom,
            KeyCode::Enter => Msg::Open,
            KeyCode::Char('p' | ' ') => Msg::TogglePause,
            KeyCode::Char('/') => Msg::FilterStart,
            KeyCode::Char('v') => Msg::Verify,
            // esc clears an applied filter first, then goes back (global).
            KeyCode::Esc if !self.applied_text.is_empty() => Msg::FilterClear,
            _ => return None,
        })
    }
}
