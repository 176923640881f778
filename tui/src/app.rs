//! The model, the actions and the update function: the console's logic, with no I/O.

use keygate_core::access::Identity;
use keygate_core::api::GatewayStatus;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use time::OffsetDateTime;

use crate::palette;
use crate::screens::{Ctx, Effect, Notice, audit, compliance, cost, detail, keys, policy};
use crate::theme::Theme;

/// A place in the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Every key across providers.
    Keys,
    /// One key, by URI.
    KeyDetail {
        /// The key's URI.
        key: String,
    },
    /// The live audit stream.
    Audit,
    /// Compliance findings.
    Compliance,
    /// What the key estate costs.
    Cost,
    /// A policy editor.
    Policy(PolicyTarget),
}

/// Which policy the editor edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyTarget {
    /// The gateway access policy.
    Gateway,
    /// A key's own (provider) policy, by URI.
    Key(String),
}

/// An overlay drawn above the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    /// `?`: the bindings of the current screen and the global ones.
    Help,
    /// `:`: the command palette, with what has been typed.
    Palette(String),
}

/// Everything that can happen.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A key press.
    Key(KeyEvent),
    /// A mouse event.
    Mouse(MouseEvent),
    /// The terminal was resized.
    Resize(u16, u16),
    /// Time passed (live refresh, relative times).
    Tick(OffsetDateTime),
    /// Go somewhere.
    Open(Route),
    /// A keys-screen message.
    Keys(keys::Msg),
    /// A key-detail message.
    Detail(detail::Msg),
    /// An audit-screen message.
    Audit(audit::Msg),
    /// A compliance-screen message.
    Compliance(compliance::Msg),
    /// A cost-screen message.
    Cost(cost::Msg),
    /// A policy-editor message.
    Policy(policy::Msg),
    /// Who the console acts as (`whoami`), or why that is unknown.
    Identity(Result<Identity, String>),
    /// The gateway's health (`status`), or why it is unknown.
    Status(Result<GatewayStatus, StatusError>),
    /// Leave the console.
    Quit,
}

/// Why the console has no gateway status to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusError {
    /// The caller's role does not allow `status:read`. Not asked again: each refusal is an
    /// audit row, and the answer will not change while the console runs.
    Refused(String),
    /// Anything else; asked again on the next reload.
    Failed(String),
}

/// I/O the update asks for; the runtime runs each against the gateway.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// For the keys screen.
    Keys(keys::Cmd),
    /// For the key detail.
    Detail(detail::Cmd),
    /// For the audit screen.
    Audit(audit::Cmd),
    /// For the compliance screen.
    Compliance(compliance::Cmd),
    /// For the cost screen.
    Cost(cost::Cmd),
    /// For the policy editor.
    Policy(policy::Cmd),
    /// Suspend the console and edit a text in `$VISUAL`/`$EDITOR` (the runtime owns the
    /// terminal, so it runs this itself).
    Edit(EditRequest),
    /// Ask who the console acts as; answers [`Action::Identity`].
    Whoami,
    /// Ask for the gateway's health; answers [`Action::Status`]. Asked whenever the keys
    /// screen reloads (at start, on `r`, and when its data goes stale).
    Status,
}

/// A text to edit in the user's editor.
#[derive(Debug, Clone)]
pub struct EditRequest {
    /// The text to start from.
    pub text: String,
    /// File name suffix, so the editor picks a syntax (`.json`, `.toml`).
    pub suffix: &'static str,
    /// Turns the edited text (or an error message) into the action to send back.
    pub then: fn(Result<String, String>) -> Action,
}

impl PartialEq for EditRequest {
    /// Two requests are equal when they edit the same text the same way; where the answer
    /// goes is not compared (function addresses are not meaningful).
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text && self.suffix == other.suffix
    }
}

/// The console's whole state.
#[derive(Debug, Clone)]
pub struct Model {
    /// Started with `--readonly`: every mutation is hidden and refused.
    pub readonly: bool,
    /// The styles every view draws with (monochrome under `NO_COLOR`).
    pub theme: Theme,
    /// The time of the last tick.
    pub now: OffsetDateTime,
    /// The navigation stack; the last route is on screen. Never empty.
    pub stack: Vec<Route>,
    /// The keys screen.
    pub keys: keys::State,
    /// The key detail screen.
    pub detail: detail::State,
    /// The audit screen.
    pub audit: audit::State,
    /// The compliance screen.
    pub compliance: compliance::State,
    /// The cost screen.
    pub cost: cost::State,
    /// The policy editor.
    pub policy: policy::State,
    /// An overlay, when open.
    pub overlay: Option<Overlay>,
    /// The status line.
    pub notice: Option<Notice>,
    /// Set when the console should exit.
    pub quit: bool,
    /// Who the console acts as, once `whoami` answered (`Err`: why not).
    pub identity: Option<Result<Identity, String>>,
    /// The gateway's health, once `status` answered (`Err`: why not; the header then
    /// counts the providers the keys screen loaded).
    pub status: Option<Result<GatewayStatus, StatusError>>,
    /// The terminal's size (the screens' areas are computed from it for the mouse).
    pub size: Rect,
    /// How far the help overlay is scrolled.
    pub help_scroll: u16,
}

impl Model {
    /// A fresh model on the keys screen.
    pub fn new(readonly: bool, theme: Theme, now: OffsetDateTime) -> Self {
        Self {
            readonly,
            theme,
            now,
            stack: vec![Route::Keys],
            keys: keys::State::default(),
            detail: detail::State::default(),
            audit: audit::State::default(),
            compliance: compliance::State::default(),
            cost: cost::State::default(),
            policy: policy::State::default(),
            overlay: None,
            notice: None,
            quit: false,
            identity: None,
            status: None,
            size: Rect::new(0, 0, 80, 24),
            help_scroll: 0,
        }
    }

    /// What screens may read.
    pub fn ctx(&self) -> Ctx {
        Ctx {
            readonly: self.readonly,
            theme: self.theme,
            now: self.now,
        }
    }

    /// The route on screen.
    pub fn route(&self) -> &Route {
        self.stack.last().unwrap_or(&Route::Keys)
    }
}

/// The commands that start the console: who am I, and the keys screen (whose load also
/// asks for the gateway's status).
pub fn init(model: &mut Model) -> Vec<Command> {
    let mut commands = vec![Command::Whoami];
    commands.extend(update(model, Action::Open(Route::Keys)));
    commands
}

/// Applies `action` to `model` and returns the commands to run.
pub fn update(model: &mut Model, action: Action) -> Vec<Command> {
    let ctx = model.ctx();
    match action {
        Action::Quit => {
            model.quit = true;
            Vec::new()
        }
        Action::Tick(now) => {
            model.now = now;
            // Live refresh of the screen on display (each screen decides when it is stale).
            match model.route() {
                Route::Keys => update(model, Action::Keys(keys::Msg::Tick)),
                Route::KeyDetail { .. } => update(model, Action::Detail(detail::Msg::Tick)),
                _ => Vec::new(),
            }
        }
        Action::Resize(w, h) => {
            model.size = Rect::new(0, 0, w, h);
            let rows = keys::rows_in(crate::view::main_area(model.size));
            update(model, Action::Keys(keys::Msg::Viewport(rows)))
        }
        Action::Mouse(ev) => on_mouse(model, ev),
        Action::Identity(id) => {
            model.identity = Some(id);
            Vec::new()
        }
        Action::Status(status) => {
            model.status = Some(status);
            Vec::new()
        }
        Action::Open(route) => open(model, route),
        Action::Key(key) => on_key(model, key),
        Action::Keys(m) => {
            let e = model.keys.update(m, &ctx);
            let commands = apply(model, e, Command::Keys);
            with_status(model, commands)
        }
        Action::Detail(m) => {
            // A change made from the detail shows in the table too.
            let changed = matches!(m, detail::Msg::Done(_));
            let e = model.detail.update(m, &ctx);
            let mut commands = apply(model, e, Command::Detail);
            if changed {
                let e = model.keys.update(keys::Msg::Refresh, &ctx);
                let reload = apply(model, e, Command::Keys);
                commands.extend(with_status(model, reload));
            }
            commands
        }
        Action::Audit(m) => {
            let e = model.audit.update(m, &ctx);
            apply(model, e, Command::Audit)
        }
        Action::Compliance(m) => {
            let e = model.compliance.update(m, &ctx);
            apply(model, e, Command::Compliance)
        }
        Action::Cost(m) => {
            let e = model.cost.update(m, &ctx);
            apply(model, e, Command::Cost)
        }
        Action::Policy(m) => {
            let e = model.policy.update(m, &ctx);
            apply(model, e, Command::Policy)
        }
    }
}

/// Turns a screen's effects into commands and navigation.
fn apply<C>(model: &mut Model, effects: Vec<Effect<C>>, wrap: fn(C) -> Command) -> Vec<Command> {
    let mut commands = Vec::new();
    for effect in effects {
        match effect {
            Effect::Run(c) => commands.push(wrap(c)),
            Effect::Open(route) => commands.extend(open(model, route)),
            Effect::Back => back(model),
            Effect::Notify(n) => model.notice = Some(n),
            Effect::Edit(req) => commands.push(Command::Edit(req)),
        }
    }
    commands
}

/// `commands`, plus a status request when they reload the keys screen: the header's status
/// is refreshed with the keys it sits above (unless the caller was refused it).
fn with_status(model: &Model, mut commands: Vec<Command>) -> Vec<Command> {
    let refused = matches!(model.status, Some(Err(StatusError::Refused(_))));
    let reloads = commands
        .iter()
        .any(|c| matches!(c, Command::Keys(keys::Cmd::Providers { .. })));
    if reloads && !refused {
        commands.push(Command::Status);
    }
    commands
}

fn open(model: &mut Model, route: Route) -> Vec<Command> {
    model.overlay = None;
    // A screen already on the stack is returned to, so going around in circles
    // (keys → detail → audit → keys) does not grow the stack.
    match model.stack.iter().position(|r| *r == route) {
        Some(pos) => model.stack.truncate(pos + 1),
        None => model.stack.push(route.clone()),
    }
    match route {
        Route::Keys => update(model, Action::Keys(keys::Msg::Refresh)),
        Route::KeyDetail { key } => update(model, Action::Detail(detail::Msg::Open(key))),
        Route::Audit => update(model, Action::Audit(audit::Msg::Refresh)),
        Route::Compliance => update(model, Action::Compliance(compliance::Msg::Refresh)),
        Route::Cost => update(model, Action::Cost(cost::Msg::Refresh)),
        Route::Policy(target) => update(model, Action::Policy(policy::Msg::Open(target))),
    }
}

fn back(model: &mut Model) {
    if model.stack.len() > 1 {
        model.stack.pop();
    }
}

fn on_key(model: &mut Model, key: KeyEvent) -> Vec<Command> {
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        model.quit = true;
        return Vec::new();
    }
    match model.overlay.take() {
        Some(Overlay::Help) => {
            on_help_key(model, key);
            return Vec::new();
        }
        Some(Overlay::Palette(text)) => return on_palette_key(model, text, key),
        None => {}
    }
    let ctx = model.ctx();
    // The screen on display gets the key first (text fields take every key).
    let screen_msg = match model.route() {
        Route::Keys => model.keys.on_key(key, &ctx).map(Action::Keys),
        Route::KeyDetail { .. } => model.detail.on_key(key, &ctx).map(Action::Detail),
        Route::Audit => model.audit.on_key(key, &ctx).map(Action::Audit),
        Route::Compliance => model.compliance.on_key(key, &ctx).map(Action::Compliance),
        Route::Cost => model.cost.on_key(key, &ctx).map(Action::Cost),
        Route::Policy(_) => model.policy.on_key(key, &ctx).map(Action::Policy),
    };
    if let Some(action) = screen_msg {
        return update(model, action);
    }
    match key.code {
        KeyCode::Char('q') => model.quit = true,
        KeyCode::Char('?') => {
            model.help_scroll = 0;
            model.overlay = Some(Overlay::Help);
        }
        KeyCode::Char(':') => model.overlay = Some(Overlay::Palette(String::new())),
        KeyCode::Esc => back(model),
        _ => {}
    }
    Vec::new()
}

fn on_help_key(model: &mut Model, key: KeyEvent) {
    match key.code {
        KeyCode::Char('j') | KeyCode::Down => {
            model.help_scroll = model.help_scroll.saturating_add(1)
        }
        KeyCode::Char('k') | KeyCode::Up => model.help_scroll = model.help_scroll.saturating_sub(1),
        KeyCode::Esc | KeyCode::Char('?' | 'q') => return,
        _ => {}
    }
    model.overlay = Some(Overlay::Help);
}

fn on_palette_key(model: &mut Model, mut text: String, key: KeyEvent) -> Vec<Command> {
    let providers: Vec<String> = model
        .keys
        .slots()
        .iter()
        .map(|s| s.provider.name.clone())
        .collect();
    match key.code {
        KeyCode::Esc => return Vec::new(),
        KeyCode::Enter => match palette::parse(&text, &providers) {
            Ok(cmd) => return run_palette(model, cmd),
            Err(e) => model.notice = Some(Notice::error(e)),
        },
        KeyCode::Tab => {
            if let Some(done) = palette::complete(&text, &providers) {
                text = done;
            }
        }
        // Backspace on an empty line closes the palette, as in vim.
        KeyCode::Backspace if text.pop().is_none() => return Vec::new(),
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => text.push(c),
        _ => {}
    }
    model.overlay = Some(Overlay::Palette(text));
    Vec::new()
}

fn run_palette(model: &mut Model, cmd: palette::Command) -> Vec<Command> {
    model.notice = None;
    match cmd {
        palette::Command::Quit => {
            model.quit = true;
            Vec::new()
        }
        palette::Command::Help => {
            model.help_scroll = 0;
            model.overlay = Some(Overlay::Help);
            Vec::new()
        }
        palette::Command::Open(route) => open(model, route),
        palette::Command::Provider(name) => {
            let mut commands = open(model, Route::Keys);
            let ctx = model.ctx();
            let e = model
                .keys
                .update(keys::Msg::SetFilter(format!("provider:{name}")), &ctx);
            commands.extend(apply(model, e, Command::Keys));
            commands
        }
    }
}

fn on_mouse(model: &mut Model, ev: MouseEvent) -> Vec<Command> {
    if model.overlay.is_some() {
        return Vec::new();
    }
    let ctx = model.ctx();
    let area = crate::view::main_area(model.size);
    let msg = match model.route() {
        Route::Keys => model.keys.on_mouse(ev, area, &ctx).map(Action::Keys),
        Route::KeyDetail { .. } => model.detail.on_mouse(ev, area, &ctx).map(Action::Detail),
        // Screens without their own mouse handling scroll with the wheel as with arrows.
        _ => {
            let code = match ev.kind {
                MouseEventKind::ScrollDown => KeyCode::Down,
                MouseEventKind::ScrollUp => KeyCode::Up,
                _ => return Vec::new(),
            };
            return on_key(model, KeyEvent::new(code, KeyModifiers::NONE));
        }
    };
    msg.map(|a| update(model, a)).unwrap_or_default()
}

/// The notice screens show for a refused mutation under `--readonly`.
pub(crate) fn readonly_notice() -> Notice {
    Notice::error("read-only console: changes are disabled (--readonly)")
}

#[cfg(test)]
mod tests;
