//! Drawing the keys screen: the providers' states, the filter line, the table, a dialog.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Load, State, table};
use crate::screens::{Ctx, actions};

impl State {
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
pub(super) fn layout(area: Rect) -> [Rect; 3] {
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
pub(super) fn offset_for(offset: usize, selected: usize, page: usize) -> usize {
    if selected < offset {
        selected
    } else if selected >= offset + page {
        selected + 1 - page
    } else {
        offset
    }
}
