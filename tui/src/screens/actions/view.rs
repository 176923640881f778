//! Drawing a dialog: a box centred over the screen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::form::Value;
use super::versions::VersionChange;
use super::{Dialog, Kind, Mutation};
use crate::screens::Ctx;
use crate::view::centered;

/// Draws `dialog` over `area`.
pub fn draw(dialog: &Dialog, frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let t = &ctx.theme;
    let mut lines: Vec<Line> = Vec::new();
    match &dialog.kind {
        Kind::Confirm { question, mutation } => {
            // A destroy reads as the warning it is.
            let destroy = matches!(
                mutation,
                Mutation::Version {
                    change: VersionChange::Destroy,
                    ..
                }
            );
            let style = if destroy { t.error() } else { t.text() };
            lines.push(Line::from(Span::styled(question.clone(), style)));
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
    // As tall as its lines once wrapped, so a long question keeps its `y`/`n` line on screen.
    let inner = usize::from(area.width.min(100).saturating_sub(2)).max(1);
    let rows: usize = lines.iter().map(|l| wrapped_rows(l, inner)).sum();
    let height = u16::try_from(rows).unwrap_or(u16::MAX).saturating_add(2);
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

/// How many rows `line` takes when word-wrapped to `width` columns (a word longer than a row
/// is cut, as the paragraph cuts it).
fn wrapped_rows(line: &Line, width: usize) -> usize {
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let mut rows = 1;
    let mut used = 0;
    for word in text.split(' ') {
        let len = word.chars().count();
        if used == 0 {
            used = len;
        } else if used + 1 + len <= width {
            used += 1 + len;
        } else {
            rows += 1;
            used = len;
        }
        while used > width {
            rows += 1;
            used -= width;
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_count_the_rows_they_wrap_to() {
        assert_eq!(wrapped_rows(&Line::from(""), 10), 1);
        assert_eq!(wrapped_rows(&Line::from("one two"), 10), 1);
        assert_eq!(wrapped_rows(&Line::from("one two three"), 10), 2);
        assert_eq!(
            wrapped_rows(&Line::from("abcdefghijklmnopqrstuvwxy"), 10),
            3
        );
    }
}
