//! Key detail: metadata, versions, public key, labels, policy summary and this key's recent
//! audit events. Each part is its own command and loads (or fails) on its own, so a slow or
//! refused part never hides the others. The key actions work here as on the keys table, and
//! the versions table has actions of its own on its selected version.

#[cfg(test)]
mod tests;
#[cfg(test)]
mod version_tests;
mod view;

use std::collections::VecDeque;
use std::sync::Arc;

use keygate_core::api::Gateway;
use keygate_core::audit::{AuditEvent, AuditQuery};
use keygate_core::{KeyLocator, KeyMetadata, KeyVersion, Policy};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use time::{Duration, OffsetDateTime};

use super::actions::versions::{self, VersionRequest};
use super::actions::{self, Dialog, Mutation, Provider, Request};
use super::{Ctx, Effect, Emit, Notice};
use crate::app::{PolicyTarget, Route, readonly_notice};
use crate::keymap::Binding;

/// How many recent audit events the detail shows.
pub const RECENT_EVENTS: usize = 20;
/// How far back the detail looks for them.
pub const RECENT_WINDOW: Duration = Duration::days(90);
/// At most this many audit pages are read for one key (a key used millions of times a day
/// shows the newest events of the pages read, marked as partial).
const MAX_AUDIT_PAGES: usize = 20;

/// The detail's bindings (help lists exactly these).
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: "j, down",
        does: "scroll down",
        mutates: false,
    },
    Binding {
        keys: "k, up",
        does: "scroll up",
        mutates: false,
    },
    Binding {
        keys: "g",
        does: "top",
        mutates: false,
    },
    Binding {
        keys: "p",
        does: "open the key's policy in the policy editor",
        mutates: false,
    },
    Binding {
        keys: "ctrl-r",
        does: "reload",
        mutates: false,
    },
    actions::BINDINGS[0],
    actions::BINDINGS[1],
    actions::BINDINGS[2],
    actions::BINDINGS[3],
    actions::BINDINGS[4],
    actions::BINDINGS[5],
    versions::BINDINGS[0],
    versions::BINDINGS[1],
    versions::BINDINGS[2],
    versions::BINDINGS[3],
    versions::BINDINGS[4],
];

/// One part of the detail.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Part<T> {
    /// Not answered yet.
    #[default]
    Loading,
    /// Answered.
    Ready(T),
    /// Failed, with the reason.
    Failed(String),
}

impl<T> Part<T> {
    fn from(result: Result<T, String>) -> Self {
        match result {
            Ok(v) => Self::Ready(v),
            Err(e) => Self::Failed(e),
        }
    }

    /// The value, when ready.
    pub fn ready(&self) -> Option<&T> {
        match self {
            Self::Ready(v) => Some(v),
            _ => None,
        }
    }
}

/// Which part a command loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    /// describe_key.
    Metadata,
    /// list_versions.
    Versions,
    /// get_public_key (asymmetric keys only).
    PublicKey,
    /// get_key_policy.
    Policy,
    /// query_audit for this key.
    Audit,
    /// providers (capabilities, for the actions).
    Providers,
}

/// Recent audit events of the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recent {
    /// The key's most recent audit events, newest last.
    pub events: Vec<AuditEvent>,
    /// True when the key had more events than were read.
    pub partial: bool,
}

/// The screen's state.
#[derive(Debug, Clone, Default)]
pub struct State {
    key: String,
    generation: u64,
    metadata: Part<KeyMetadata>,
    versions: Part<Vec<KeyVersion>>,
    /// `None` once known to be symmetric.
    public_key: Part<Option<String>>,
    policy: Part<Policy>,
    audit: Part<Recent>,
    providers: Vec<Provider>,
    /// The id of the version selected in the versions table (`None`: the newest).
    selected: Option<String>,
    scroll: u16,
    dialog: Option<Dialog>,
    loaded_at: Option<OffsetDateTime>,
}

/// What can happen to it.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// Show this key (URI) and load it.
    Open(String),
    /// Reload every part.
    Refresh,
    /// Time passed: reload when older than the keys screen's refresh period.
    Tick,
    /// The key's metadata answered.
    Metadata(u64, Result<KeyMetadata, String>),
    /// Its versions answered.
    Versions(u64, Result<Vec<KeyVersion>, String>),
    /// Its public key (PEM) answered.
    PublicKey(u64, Result<String, String>),
    /// Its policy answered.
    Policy(u64, Result<Policy, String>),
    /// Its recent audit events answered.
    Audit(u64, Result<Recent, String>),
    /// The providers answered.
    Providers(u64, Result<Vec<Provider>, String>),
    /// Scroll by this many lines.
    Scroll(i16),
    /// Back to the top.
    Top,
    /// Open the key's policy in the policy editor.
    EditPolicy,
    /// Open an action's dialog.
    Action(Request),
    /// Move the versions table's selection by this many rows (negative: newer).
    SelectVersion(isize),
    /// Open a version action's dialog for the selected version.
    VersionAction(VersionRequest),
    /// A key press while a dialog is open.
    Dialog(KeyEvent),
    /// A mutation finished.
    Done(Result<String, String>),
}

/// I/O it asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    /// Load one part of one key.
    Load {
        /// Which load this is (older answers are dropped).
        generation: u64,
        /// The key URI.
        key: String,
        /// Which part.
        part: PartKind,
        /// The time "recent" is measured from.
        now: OffsetDateTime,
    },
    /// Make a change.
    Mutate(Mutation),
}

impl State {
    /// The key shown (URI).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The metadata part.
    pub fn metadata(&self) -> &Part<KeyMetadata> {
        &self.metadata
    }

    /// The recent audit events part.
    pub fn audit(&self) -> &Part<Recent> {
        &self.audit
    }

    /// The open dialog.
    pub fn dialog(&self) -> Option<&Dialog> {
        self.dialog.as_ref()
    }

    /// The version selected in the versions table: the one chosen with `[`/`]` while it is
    /// still listed, else the newest. `None` until the versions have loaded.
    pub fn selected_version(&self) -> Option<&KeyVersion> {
        let versions = self.versions.ready()?;
        self.selected
            .as_ref()
            .and_then(|id| versions.iter().find(|v| v.id == *id))
            .or_else(|| versions.last())
    }

    /// Applies a message.
    pub fn update(&mut self, msg: Msg, ctx: &Ctx) -> Vec<Effect<Cmd>> {
        let gen_ok = |g: u64, s: &Self| g == s.generation;
        match msg {
            Msg::Open(key) => {
                if key != self.key {
                    *self = Self {
                        key,
                        generation: self.generation,
                        ..Self::default()
                    };
                }
                return self.reload(ctx);
            }
            Msg::Refresh => return self.reload(ctx),
            Msg::Tick => {
                let stale = self
                    .loaded_at
                    .is_some_and(|at| ctx.now - at >= super::keys::REFRESH_EVERY);
                if stale && self.dialog.is_none() {
                    return self.reload(ctx);
                }
            }
            Msg::Metadata(g, result) if gen_ok(g, self) => {
                let asymmetric = result.as_ref().ok().map(|k| k.spec.is_asymmetric());
                self.metadata = Part::from(result);
                match asymmetric {
                    Some(true) => return vec![self.load(PartKind::PublicKey, ctx)],
                    Some(false) => self.public_key = Part::Ready(None),
                    None => self.public_key = Part::Failed("no metadata".to_owned()),
                }
            }
            Msg::Versions(g, r) if gen_ok(g, self) => self.versions = Part::from(r),
            Msg::PublicKey(g, r) if gen_ok(g, self) => self.public_key = Part::from(r.map(Some)),
            Msg::Policy(g, r) if gen_ok(g, self) => self.policy = Part::from(r),
            Msg::Audit(g, r) if gen_ok(g, self) => self.audit = Part::from(r),
            Msg::Providers(g, r) if gen_ok(g, self) => {
                if let Ok(p) = r {
                    self.providers = p;
                }
            }
            Msg::Metadata(..)
            | Msg::Versions(..)
            | Msg::PublicKey(..)
            | Msg::Policy(..)
            | Msg::Audit(..)
            | Msg::Providers(..) => {}
            Msg::Scroll(by) => self.scroll = self.scroll.saturating_add_signed(by),
            Msg::Top => self.scroll = 0,
            Msg::EditPolicy => {
                return vec![Effect::Open(Route::Policy(PolicyTarget::Key(
                    self.key.clone(),
                )))];
            }
            Msg::Action(request) => {
                if ctx.readonly {
                    return vec![Effect::Notify(readonly_notice())];
                }
                let Some(meta) = self.metadata.ready() else {
                    return vec![Effect::Notify(Notice::error("the key has not loaded"))];
                };
                match actions::open(request, Some(meta), &self.providers) {
                    Ok(d) => self.dialog = Some(d),
                    Err(e) => return vec![Effect::Notify(Notice::error(e))],
                }
            }
            Msg::SelectVersion(by) => self.select_version(by),
            Msg::VersionAction(request) => {
                if ctx.readonly {
                    return vec![Effect::Notify(readonly_notice())];
                }
                let (Some(meta), Some(version)) = (self.metadata.ready(), self.selected_version())
                else {
                    return vec![Effect::Notify(Notice::error(
                        "the key and its versions have not loaded",
                    ))];
                };
                let caps = self
                    .providers
                    .iter()
                    .find(|p| p.name == meta.provider)
                    .map(|p| &p.capabilities);
                match versions::open(request, meta, version, caps) {
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

    /// Moves the selection in the table's order (newest first), staying on the table.
    fn select_version(&mut self, by: isize) {
        let Some(versions) = self.versions.ready() else {
            return;
        };
        let shown: Vec<&KeyVersion> = versions.iter().rev().collect();
        let at = self
            .selected_version()
            .and_then(|v| shown.iter().position(|s| s.id == v.id))
            .unwrap_or(0);
        let last = shown.len().saturating_sub(1);
        let to = at.saturating_add_signed(by).min(last);
        self.selected = shown.get(to).map(|v| v.id.clone());
    }

    fn load(&self, part: PartKind, ctx: &Ctx) -> Effect<Cmd> {
        Effect::Run(Cmd::Load {
            generation: self.generation,
            key: self.key.clone(),
            part,
            now: ctx.now,
        })
    }

    /// Reloads every part; the shown values stay until their answers replace them.
    fn reload(&mut self, ctx: &Ctx) -> Vec<Effect<Cmd>> {
        if self.key.is_empty() {
            return Vec::new();
        }
        self.generation += 1;
        self.loaded_at = Some(ctx.now);
        [
            PartKind::Metadata,
            PartKind::Versions,
            PartKind::Policy,
            PartKind::Audit,
            PartKind::Providers,
        ]
        .into_iter()
        .map(|p| self.load(p, ctx))
        .collect()
    }

    /// The message a key press means here, if any.
    pub fn on_key(&self, key: KeyEvent, _ctx: &Ctx) -> Option<Msg> {
        if self.dialog.is_some() {
            return Some(Msg::Dialog(key));
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            return (key.code == KeyCode::Char('r')).then_some(Msg::Refresh);
        }
        if let Some(request) = actions::request_for(key) {
            return Some(Msg::Action(request));
        }
        if let Some(request) = versions::request_for(key) {
            return Some(Msg::VersionAction(request));
        }
        Some(match key.code {
            KeyCode::Char('j') | KeyCode::Down => Msg::Scroll(1),
            KeyCode::Char('k') | KeyCode::Up => Msg::Scroll(-1),
            KeyCode::PageDown => Msg::Scroll(10),
            KeyCode::PageUp => Msg::Scroll(-10),
            KeyCode::Char('g') | KeyCode::Home => Msg::Top,
            KeyCode::Char('p') => Msg::EditPolicy,
            KeyCode::Char('[') => Msg::SelectVersion(-1),
            KeyCode::Char(']') => Msg::SelectVersion(1),
            _ => return None,
        })
    }

    /// The message a mouse event means here: the wheel scrolls.
    pub fn on_mouse(
        &self,
        ev: MouseEvent,
        _area: ratatui::layout::Rect,
        _ctx: &Ctx,
    ) -> Option<Msg> {
        if self.dialog.is_some() {
            return None;
        }
        match ev.kind {
            MouseEventKind::ScrollDown => Some(Msg::Scroll(3)),
            MouseEventKind::ScrollUp => Some(Msg::Scroll(-3)),
            _ => None,
        }
    }

    /// Draws the screen.
    pub fn view(&self, frame: &mut ratatui::Frame, area: ratatui::layout::Rect, ctx: &Ctx) {
        view::draw(self, frame, area, ctx);
    }
}

/// Runs a command against the gateway.
pub async fn run(cmd: Cmd, gateway: Arc<dyn Gateway>, emit: Emit<Msg>) {
    let gw = gateway.as_ref();
    let text = |e: keygate_core::Error| e.to_string();
    let msg = match cmd {
        Cmd::Mutate(m) => Msg::Done(actions::perform(m, gw).await),
        Cmd::Load {
            generation: g,
            key,
            part,
            now,
        } => {
            let locator = KeyLocator::Uri(key.clone());
            match part {
                PartKind::Metadata => {
                    Msg::Metadata(g, gw.describe_key(&locator).await.map_err(text))
                }
                PartKind::Versions => Msg::Versions(
                    g,
                    gw.list_versions(&locator)
                        .await
                        .map(|v| v.value)
                        .map_err(text),
                ),
                PartKind::PublicKey => Msg::PublicKey(
                    g,
                    gw.get_public_key(&locator, None)
                        .await
                        .map(|p| p.value.pem())
                        .map_err(text),
                ),
                PartKind::Policy => Msg::Policy(
                    g,
                    gw.get_key_policy(&locator)
                        .await
                        .map(|p| p.value)
                        .map_err(text),
                ),
                PartKind::Audit => Msg::Audit(g, recent_events(gw, &key, now).await.map_err(text)),
                PartKind::Providers => Msg::Providers(
                    g,
                    gw.providers()
                        .await
                        .map(|ps| ps.into_iter().map(Provider::from).collect())
                        .map_err(text),
                ),
            }
        }
    };
    emit.send(msg);
}

/// The newest [`RECENT_EVENTS`] events about `key` within [`RECENT_WINDOW`]: the log is read
/// oldest first, so pages are read forward keeping only the tail.
async fn recent_events(
    gw: &dyn Gateway,
    key: &str,
    now: OffsetDateTime,
) -> keygate_core::Result<Recent> {
    let mut query = AuditQuery {
        key: Some(key.to_owned()),
        since: Some(now - RECENT_WINDOW),
        limit: Some(AuditQuery::MAX_LIMIT),
        ..AuditQuery::default()
    };
    let mut tail: VecDeque<AuditEvent> = VecDeque::with_capacity(RECENT_EVENTS + 1);
    for _ in 0..MAX_AUDIT_PAGES {
        let page = gw.query_audit(&query).await?;
        for e in page.items {
            tail.push_back(e);
            if tail.len() > RECENT_EVENTS {
                tail.pop_front();
            }
        }
        match page.next_cursor.and_then(|c| c.parse::<u64>().ok()) {
            Some(after) => query.after = Some(after),
            None => {
                return Ok(Recent {
                    events: tail.into(),
                    partial: false,
                });
            }
        }
    }
    Ok(Recent {
        events: tail.into(),
        partial: true,
    })
}
