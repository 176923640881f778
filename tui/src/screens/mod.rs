//! The screens. Each module has the same shape, so the app glue stays small:
//!
//! ```text
//! pub struct State { .. }                 // plain data, Default
//! pub enum Msg { .. }                     // what can happen to it (keys, loaded results)
//! pub enum Cmd { .. }                     // I/O it asks for
//! impl State {
//!     pub fn update(&mut self, msg: Msg, ctx: &Ctx) -> Vec<Effect<Cmd>>;   // no I/O
//!     pub fn on_key(&self, key: KeyEvent, ctx: &Ctx) -> Option<Msg>;       // keymap lookup
//!     pub fn view(&self, frame: &mut Frame, area: Rect, ctx: &Ctx);        // pure drawing
//! }
//! pub async fn run(cmd: Cmd, gateway: Arc<dyn Gateway>, emit: Emit<Msg>); // executes I/O
//! pub const BINDINGS: &[Binding];        // what help lists; on_key must agree with it
//! ```
//!
//! Optionally, a screen that wants the mouse adds
//! `pub fn on_mouse(&self, ev: MouseEvent, area: Rect, ctx: &Ctx) -> Option<Msg>`, where
//! `area` is where its `view` draws (the app computes it from the terminal size), and is
//! listed in `app::on_mouse`. For a screen without one the app turns the wheel into
//! `up`/`down` key presses for its `on_key`, so every list scrolls with the wheel.
//!
//! The key actions (create, rotate, schedule, enable/disable, deletion) live in [`actions`],
//! shared by the keys table and the key detail.

pub mod actions;
pub mod audit;
pub mod compliance;
pub mod cost;
pub mod detail;
pub mod keys;
pub mod policy;

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::mpsc::UnboundedSender;

use crate::app::{Action, EditRequest, Route};
use crate::keymap::Binding;
use crate::theme::Theme;

/// The bindings of the screen showing `route` (help lists these).
pub fn bindings(route: &Route) -> &'static [Binding] {
    match route {
        Route::Keys => keys::BINDINGS,
        Route::KeyDetail { .. } => detail::BINDINGS,
        Route::Policy(_) => policy::BINDINGS,
        Route::Audit => audit::BINDINGS,
        Route::Compliance => compliance::BINDINGS,
        Route::Cost => cost::BINDINGS,
    }
}

/// The name of the screen showing `route`, as the header shows it.
pub fn name(route: &Route) -> &'static str {
    match route {
        Route::Keys => "Keys",
        Route::KeyDetail { .. } => "Key detail",
        Route::Audit => "Audit",
        Route::Compliance => "Compliance",
        Route::Cost => "Cost",
        Route::Policy(crate::app::PolicyTarget::Gateway) => "Gateway policy",
        Route::Policy(crate::app::PolicyTarget::Key(_)) => "Key policy",
    }
}

/// What every screen may read while updating or drawing.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// `--readonly`: every mutation is hidden and refused.
    pub readonly: bool,
    /// The styles to draw with (monochrome under `NO_COLOR`).
    pub theme: Theme,
    /// The current time (fixed in tests, so snapshots are stable).
    pub now: OffsetDateTime,
}

/// What a screen's `update` asks the app to do besides changing its own state.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect<C> {
    /// Run this command against the gateway.
    Run(C),
    /// Open another screen (pushed on the navigation stack).
    Open(Route),
    /// Go back to the previous screen.
    Back,
    /// Show a message in the status line.
    Notify(Notice),
    /// Suspend the console and edit a text in the user's editor.
    Edit(EditRequest),
}

impl<C> Effect<C> {
    /// The same effect with its command turned into another screen's command type.
    pub fn map<D>(self, f: impl FnOnce(C) -> D) -> Effect<D> {
        match self {
            Self::Run(c) => Effect::Run(f(c)),
            Self::Open(route) => Effect::Open(route),
            Self::Back => Effect::Back,
            Self::Notify(n) => Effect::Notify(n),
            Self::Edit(req) => Effect::Edit(req),
        }
    }
}

/// A status-line message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// What the status line says.
    pub text: String,
    /// Drawn in the error style rather than as information.
    pub error: bool,
}

impl Notice {
    /// An informational notice.
    pub fn info(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            error: false,
        }
    }

    /// An error notice.
    pub fn error(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            error: true,
        }
    }
}

/// Sends a screen's messages back into the app loop (commands may emit several, e.g. one per
/// provider or one per audit event).
pub struct Emit<M> {
    tx: UnboundedSender<Action>,
    wrap: Arc<dyn Fn(M) -> Action + Send + Sync>,
}

impl<M> Clone for Emit<M> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            wrap: Arc::clone(&self.wrap),
        }
    }
}

impl<M> std::fmt::Debug for Emit<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Emit")
    }
}

impl<M> Emit<M> {
    /// An emitter that wraps messages with `wrap` and sends them on `tx`.
    pub fn new(
        tx: UnboundedSender<Action>,
        wrap: impl Fn(M) -> Action + Send + Sync + 'static,
    ) -> Self {
        Self {
            tx,
            wrap: Arc::new(wrap),
        }
    }

    /// Sends one message; false when the console has quit (the command should stop).
    pub fn send(&self, msg: M) -> bool {
        self.tx.send((self.wrap)(msg)).is_ok()
    }

    /// True once the console has quit.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}
