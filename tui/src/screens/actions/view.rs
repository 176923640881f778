//! Drawing a dialog: a box centred over the screen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::form::Value;
use super::{Dialog, Kind};
use crate::screens::Ctx;
use crate::view::centered;

/// Draws `dialog` over `area`.
pub fn draw(dialog: &Dialog, frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let t = &ctx.theme;
    let mut lines: Vec<Line> = Vec::new();
    match &dialog.kind {
        Kind::Confirm { question, .. } => {
            lines.push(Line::from(question.clone()));
            lines.push(Line::from(""));
            lines.push(Line::from(vec![
                Span::styled("y", t.title()),
                Span::raw(" confirm   "),
                Span::styled("n", t.title()),
                Span::raw("/"),
                Span::styled("esc", t.title()),
                Span::raw(" cancel"),
            ]));
        }
        Kind::Delete { key, .. } => {
            lines.push(Line::from(Span::styled(
                format!("{key} will be destroyed after the waiting period."),
                t.error(),
            )));
            lines.push(Line::from(""));
        }
        Kind::RotateAt { key, .. } | Kind::Schedule { key, .. } => {
            lines.push(Line::from(Span::styled(key.clone(), t.dim())));
            lines.push(Line::from(""));
        }
        Kind::Create { .. } => {}
    }
    let label_width = dialog
        .form
        .fields
        .iter()
        .map(|f| f.label.len())
        .max()
        .unwrap_or(0);
    for (i, field) in dialog.form.fields.iter().enumerate() {
        let focused = i == dialog.form.focus;
        let marker = if focused { "> " } else { "  " };
        let value = match &field.value {
            Value::Text(s) if focused => format!("{s}_"),
            Value::Text(s) => s.clone(),
            Value::Choice { options, index } => match options.get(*index) {
                Some(o) => format!("< {o} >"),
                None => "(none)".to_owned(),
            },
        };
        let style = if focused { t.selected() } else { t.text() };
        let mut spans = vec![
            Span::raw(marker),
            Span::styled(format!("{:<label_width$}  ", field.label), t.title()),
            Span::styled(value, style),
        ];
        if !field.hint.is_empty() {
            spans.push(Span::styled(format!("  {}", field.hint), t.dim()));
        }
        lines.push(Line::from(spans));
    }
    if !dialog.form.fields.is_empty() {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            "tab/↑↓ field  ←/→ choose  enter submit  esc cancel",
            t.dim(),
        )));
    }
    if let Some(e) = &dialog.error {
        lines.push(Line::from(Span::styled(e.clone(), t.error())));
    }
    let height = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let popup = centered(area, 100, height);
    frame.render_widget(Clear, popup);
    let block = Block::bordered().title(Span::styled(format!(" {} ", dialog.title()), t.title()));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        popup,
    );
}
