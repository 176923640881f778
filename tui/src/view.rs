//! Drawing the whole console: the screen on display, the status line and any overlay.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::{Model, Route};

/// Draws `model` into `frame`. Pure: same model, same frame.
pub fn view(model: &Model, frame: &mut Frame) {
    let ctx = model.ctx();
    let [main, status] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(frame.area());
    match model.route() {
        Route::Keys => model.keys.view(frame, main, &ctx),
        Route::KeyDetail { .. } => model.detail.view(frame, main, &ctx),
        Route::Audit => model.audit.view(frame, main, &ctx),
        Route::Compliance => model.compliance.view(frame, main, &ctx),
        Route::Policy(_) => model.policy.view(frame, main, &ctx),
    }
    let line = match &model.notice {
        Some(n) if n.error => Line::from(Span::styled(n.text.clone(), ctx.theme.error())),
        Some(n) => Line::from(Span::styled(n.text.clone(), ctx.theme.text())),
        None => Line::from(Span::styled("? help  : command  q quit", ctx.theme.dim())),
    };
    frame.render_widget(Paragraph::new(line), status);
}
