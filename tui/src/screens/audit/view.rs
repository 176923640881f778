//! Drawing the audit screen: the status line (stream, pause, chain), the filter line, and
//! the events table or one event's detail.

use keygate_core::audit::{AuditEvent, AuditOutcome};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table};
use time::macros::format_description;

use super::{Chain, State, Stream};
use crate::screens::Ctx;

/// Status line, filter line, table.
fn layout(area: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
    ])
    .areas(area)
}

/// `11-23 11:58:07`: to the second, since events come fast.
fn stamp(e: &AuditEvent) -> String {
    e.time
        .to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default()
}

fn outcome_style(outcome: AuditOutcome, ctx: &Ctx) -> Style {
    match outcome {
        AuditOutcome::Success => ctx.theme.ok(),
        AuditOutcome::Denied => ctx.theme.error(),
        AuditOutcome::Failure => ctx.theme.warn(),
        // An intent row: the call's outcome was not recorded in it (see the outcome row
        // that names it, or none when the gateway stopped in between).
        AuditOutcome::Unknown => ctx.theme.warn(),
    }
}

impl State {
    /// Draws the screen.
    pub fn view(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let [status, filter_line, main] = layout(area);
        frame.render_widget(Paragraph::new(self.status_line(ctx)), status);
        frame.render_widget(Paragraph::new(self.filter_line(ctx)), filter_line);
        match &self.detail {
            Some(e) => draw_detail(e, frame, main, ctx),
            None => self.draw_table(frame, main, ctx),
        }
    }

    fn status_line(&self, ctx: &Ctx) -> Line<'static> {
        let t = &ctx.theme;
        let sep = || Span::styled(" │ ", t.dim());
        let mut spans = vec![match (&self.stream, self.paused) {
            (_, true) => Span::styled(
                format!("⏸ paused — {} new", self.new_while_paused),
                t.warn(),
            ),
            (Stream::Live, false) => Span::styled("● live", t.ok()),
            (Stream::Idle, false) => Span::styled("○ not started", t.dim()),
            (Stream::Ended(why), false) => Span::styled(format!("■ ended: {why}"), t.error()),
        }];
        spans.push(sep());
        // The chain comes before the counts: a broken chain must not be cut off.
        spans.push(match &self.chain {
            Chain::Unknown => Span::styled("chain: not checked (v)", t.dim()),
            Chain::Checking => Span::styled("chain: checking…", t.dim()),
            Chain::Checked(v) => match &v.first_broken {
                None if v.unresolved_intents > 0 => Span::styled(
                    format!(
                        "chain: verified {} rows, {} unknown outcomes",
                        v.rows, v.unresolved_intents
                    ),
                    t.warn(),
                ),
                None => Span::styled(format!("chain: verified {} rows", v.rows), t.ok()),
                Some(b) => Span::styled(
                    format!("chain: BROKEN at seq {} ({})", b.seq, b.reason),
                    t.error(),
                ),
            },
            Chain::Failed(e) => Span::styled(format!("chain: cannot check: {e}"), t.error()),
        });
        spans.push(sep());
        spans.push(Span::raw(format!("since {}", self.filter.since_label())));
        spans.push(sep());
        let n = self.events.len();
        spans.push(Span::raw(format!(
            "{n} event{}",
            if n == 1 { "" } else { "s" }
        )));
        Line::from(spans)
    }

    fn filter_line(&self, ctx: &Ctx) -> Line<'static> {
        let t = &ctx.theme;
        if !self.editing && self.filter_text.is_empty() {
            return Line::from(Span::styled(
                "/ filter  p pause  enter detail  v verify  ? help",
                t.dim(),
            ));
        }
        let cursor = if self.editing { "_" } else { "" };
        let mut spans = vec![
            Span::styled("/", t.title()),
            Span::raw(format!("{}{cursor}", self.filter_text)),
        ];
        if let Some(e) = &self.filter_error {
            spans.push(Span::styled(format!("  {e}"), t.error()));
        } else if self.editing {
            spans.push(Span::styled("  enter applies", t.dim()));
        }
        Line::from(spans)
    }

    fn draw_table(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = &ctx.theme;
        // Border and header take three lines.
        let page = usize::from(area.height.saturating_sub(3)).max(1);
        let len = self.events.len();
        // The tail stays in view; scrolling up moves the window once the selection reaches
        // its top.
        let offset = self.selected.min(len.saturating_sub(page));
        let rows = self
            .events
            .iter()
            .enumerate()
            .skip(offset)
            .take(page)
            .map(|(i, e)| {
                let row = Row::new(vec![
                    Span::styled(stamp(e), t.dim()),
                    Span::raw(e.principal.clone()),
                    Span::raw(e.action.clone()),
                    Span::raw(e.provider.clone().unwrap_or_default()),
                    Span::raw(short_key(e.key.as_deref().unwrap_or_default())),
                    Span::styled(e.outcome.as_str(), outcome_style(e.outcome, ctx)),
                ]);
                if i == self.selected {
                    row.style(t.selected())
                } else {
                    row
                }
            });
        let header = Row::new(["TIME", "PRINCIPAL", "ACTION", "PROVIDER", "KEY", "OUTCOME"])
            .style(t.title());
        let follow = if self.follow { " · following" } else { "" };
        let title = format!(" Audit {}{follow} ", position(self.selected, len));
        let widths = [
            Constraint::Length(14),
            Constraint::Fill(2),
            Constraint::Fill(3),
            Constraint::Length(8),
            Constraint::Fill(2),
            Constraint::Length(7),
        ];
        let table = Table::new(rows, widths)
            .header(header)
            .block(Block::bordered().title(Span::styled(title, t.title())));
        frame.render_widget(table, area);
        if len == 0 {
            let text = if self.paused {
                "paused"
            } else {
                "no events yet — they appear here as they are written"
            };
            let inner = Rect {
                x: area.x + 2,
                y: area.y + 2,
                width: area.width.saturating_sub(4),
                height: 1.min(area.height.saturating_sub(3)),
            };
            frame.render_widget(Paragraph::new(Span::styled(text, t.dim())), inner);
        }
    }
}

/// The key's name as the table shows it: the URI without its scheme and path (the provider
/// column says where it lives; the detail shows the whole URI).
fn short_key(uri: &str) -> String {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    rest.rsplit('/').next().unwrap_or(rest).to_owned()
}

fn position(selected: usize, len: usize) -> String {
    if len == 0 {
        "0/0".to_owned()
    } else {
        format!("{}/{len}", selected + 1)
    }
}

/// Every field of one event.
fn draw_detail(e: &AuditEvent, frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let t = &ctx.theme;
    let none = || "-".to_owned();
    let fields: Vec<(&str, String, Style)> = vec![
        (
            "time",
            e.time
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            t.text(),
        ),
        ("request id", e.request_id.clone(), t.text()),
        ("principal", e.principal.clone(), t.text()),
        ("source", e.source.clone(), t.text()),
        ("action", e.action.clone(), t.text()),
        (
            "provider",
            e.provider.clone().unwrap_or_else(none),
            t.text(),
        ),
        ("key", e.key.clone().unwrap_or_else(none), t.text()),
        (
            "version",
            e.key_version.clone().unwrap_or_else(none),
            t.text(),
        ),
        (
            "outcome",
            e.outcome.as_str().to_owned(),
            outcome_style(e.outcome, ctx),
        ),
        (
            "error kind",
            e.error_kind.clone().unwrap_or_else(none),
            t.text(),
        ),
        ("duration", duration(e.duration_us), t.text()),
        ("seq", e.seq.to_string(), t.text()),
        ("hash", e.hash.clone(), t.dim()),
        ("prev hash", e.prev_hash.clone(), t.dim()),
    ];
    let lines: Vec<Line> = fields
        .into_iter()
        .map(|(name, value, style)| {
            Line::from(vec![
                Span::styled(format!("{name:>11}  "), t.title()),
                Span::styled(value, style),
            ])
        })
        .collect();
    let block = Block::bordered().title(Span::styled(
        format!(" Event {} — esc closes ", e.seq),
        t.title(),
    ));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(ratatui::widgets::Wrap { trim: false }),
        area,
    );
}

/// `850 µs`, `12.3 ms`, `1.20 s`.
fn duration(us: u64) -> String {
    match us {
        0..1000 => format!("{us} µs"),
        1000..1_000_000 => format!("{:.1} ms", us as f64 / 1000.0),
        _ => format!("{:.2} s", us as f64 / 1_000_000.0),
    }
}
