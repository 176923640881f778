//! Audit screen (placeholder: being built for issue 7; not reachable by users yet).

use std::sync::Arc;

use keygate_core::api::Gateway;
use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Block, Paragraph};

use super::{Ctx, Effect, Emit};

/// The screen's state.
#[derive(Debug, Clone, Default)]
pub struct State {}

/// What can happen to it.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// Reload from the gateway.
    Refresh,
}

/// I/O it asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    /// Load from the gateway.
    Load,
}

impl State {
    /// Applies a message.
    pub fn update(&mut self, msg: Msg, _ctx: &Ctx) -> Vec<Effect<Cmd>> {
        match msg {
            Msg::Refresh => vec![Effect::Run(Cmd::Load)],
        }
    }

    /// The message a key press means here, if any.
    pub fn on_key(&self, _key: KeyEvent, _ctx: &Ctx) -> Option<Msg> {
        None
    }

    /// Draws the screen.
    pub fn view(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let block = Block::bordered().title(Span::styled(" Audit ", ctx.theme.title()));
        frame.render_widget(Paragraph::new("").block(block), area);
    }
}

/// Runs a command against the gateway.
pub async fn run(cmd: Cmd, _gateway: Arc<dyn Gateway>, _emit: Emit<Msg>) {
    match cmd {
        Cmd::Load => {}
    }
}
