//! Drawing the compliance screen: status, counts per provider × rule, what could not be
//! checked, the findings table, and the export dialog.

use keygate_core::compliance::{Report, Rule, Severity};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Row, Table};

use super::{Export, Format, State};
use crate::screens::Ctx;

/// Short column titles for the summary (the report uses the rule ids).
fn rule_title(rule: Rule) -> &'static str {
    match rule {
        Rule::RotationOff => "ROT OFF",
        Rule::RotationOverdue => "OVERDUE",
        Rule::PendingDeletion => "PENDING",
        Rule::DisabledWithAlias => "ALIASED",
        Rule::WildcardPrincipal => "WILDCARD",
        Rule::UnusedKey => "UNUSED",
    }
}

fn severity_style(s: Severity, ctx: &Ctx) -> Style {
    match s {
        Severity::High => ctx.theme.error(),
        Severity::Medium => ctx.theme.warn(),
        Severity::Low => ctx.theme.dim(),
    }
}

impl State {
    /// Draws the screen.
    pub fn view(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = &ctx.theme;
        let Some(report) = &self.report else {
            let text = match (&self.error, self.loading) {
                (Some(e), _) => Span::styled(format!("cannot check: {e}"), t.error()),
                (None, true) => Span::styled("checking keys, policies and audit use…", t.dim()),
                (None, false) => Span::styled("press ctrl-r to check", t.dim()),
            };
            let block = Block::bordered().title(Span::styled(" Compliance ", t.title()));
            frame.render_widget(Paragraph::new(text).block(block), area);
            return;
        };
        let providers = u16::try_from(report.summary.by_provider.len()).unwrap_or(u16::MAX);
        let errors = u16::try_from(report.errors.len()).unwrap_or(u16::MAX);
        // The summary shrinks first on a small terminal; the findings keep at least 5 lines.
        let summary_h = (providers + 4).min(area.height.saturating_sub(6).max(4));
        let errors_h = errors.min(3);
        // The table cuts long messages; the selected finding is shown whole below it.
        let detail_h = if self.order.is_empty() { 0 } else { 5 };
        let [status, summary, problems, findings, detail] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(summary_h),
            Constraint::Length(errors_h),
            Constraint::Min(3),
            Constraint::Length(detail_h),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new(self.status_line(report, ctx)), status);
        draw_summary(report, frame, summary, ctx);
        let lines: Vec<Line> = report
            .errors
            .iter()
            .take(usize::from(errors_h))
            .map(|e| {
                let what = match &e.key {
                    Some(k) => format!("{} ({k})", e.source),
                    None => e.source.clone(),
                };
                Line::from(Span::styled(
                    format!("! not checked: {what}: {}", e.message),
                    t.error(),
                ))
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), problems);
        self.draw_findings(report, frame, findings, ctx);
        if let Some(f) = self.selected() {
            let what = f.key.clone().unwrap_or_else(|| f.name.clone());
            let lines = vec![
                Line::from(vec![
                    Span::styled(f.severity.as_str(), severity_style(f.severity, ctx)),
                    Span::raw(format!(" {} · {} · {what}", f.rule, f.provider)),
                ]),
                Line::from(f.message.clone()),
            ];
            frame.render_widget(
                Paragraph::new(lines)
                    .wrap(ratatui::widgets::Wrap { trim: true })
                    .block(Block::bordered().title(Span::styled(" Selected ", t.title()))),
                detail,
            );
        }
        if let Some(export) = &self.export {
            draw_export(export, frame, area, ctx);
        }
    }

    fn status_line(&self, report: &Report, ctx: &Ctx) -> Line<'static> {
        let t = &ctx.theme;
        let sep = || Span::styled(" │ ", t.dim());
        let count = |s: Severity| report.summary.by_severity.get(&s).copied().unwrap_or(0);
        let mut spans = vec![
            Span::styled(format!("{} findings", report.summary.findings), t.title()),
            Span::raw(": "),
            Span::styled(format!("{} high", count(Severity::High)), t.error()),
            Span::raw(", "),
            Span::styled(format!("{} medium", count(Severity::Medium)), t.warn()),
            Span::raw(format!(", {} low", count(Severity::Low))),
            sep(),
            Span::raw(format!("{} keys", report.summary.keys)),
            sep(),
        ];
        spans.push(match (&self.error, self.loading) {
            (Some(e), _) => Span::styled(format!("refresh failed: {e}"), t.error()),
            (None, true) => Span::styled("checking…", t.dim()),
            (None, false) => Span::styled(
                format!("checked {}", crate::fmt::when(report.generated)),
                t.dim(),
            ),
        });
        Line::from(spans)
    }

    fn draw_findings(&self, report: &Report, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = &ctx.theme;
        let page = usize::from(area.height.saturating_sub(3)).max(1);
        let offset = self.selected.saturating_sub(page - 1);
        let rows = self
            .order
            .iter()
            .enumerate()
            .skip(offset)
            .take(page)
            .filter_map(|(pos, &i)| {
                let f = report.findings.get(i)?;
                let row = Row::new(vec![
                    Span::styled(f.severity.as_str(), severity_style(f.severity, ctx)),
                    Span::raw(f.rule.id()),
                    Span::raw(f.provider.clone()),
                    Span::raw(f.name.clone()),
                    Span::raw(f.message.clone()),
                ]);
                Some(if pos == self.selected {
                    row.style(t.selected())
                } else {
                    row
                })
            });
        let header = Row::new(["SEVERITY", "RULE", "PROVIDER", "KEY", "MESSAGE"]).style(t.title());
        let (col, rev) = (self.sort, self.reverse);
        let title = format!(
            " Findings {}/{} · sorted by {}{} · e export ",
            if self.order.is_empty() {
                0
            } else {
                self.selected + 1
            },
            self.order.len(),
            col.title(),
            if rev { " (reversed)" } else { "" },
        );
        let widths = [
            Constraint::Length(8),
            Constraint::Length(19),
            Constraint::Length(8),
            Constraint::Length(14),
            Constraint::Fill(1),
        ];
        let table = Table::new(rows, widths)
            .header(header)
            .block(Block::bordered().title(Span::styled(title, t.title())));
        frame.render_widget(table, area);
        if self.order.is_empty() {
            let inner = Rect {
                x: area.x + 2,
                y: area.y + 2,
                width: area.width.saturating_sub(4),
                height: 1.min(area.height.saturating_sub(3)),
            };
            frame.render_widget(
                Paragraph::new(Span::styled("no findings: every rule passed", t.ok())),
                inner,
            );
        }
    }
}

fn draw_summary(report: &Report, frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let t = &ctx.theme;
    let cell = |n: usize| {
        if n == 0 {
            Span::styled("0", t.dim())
        } else {
            Span::styled(n.to_string(), t.warn())
        }
    };
    let mut rows: Vec<Row> = report
        .summary
        .by_provider
        .iter()
        .map(|(provider, counts)| {
            let mut cells = vec![Span::raw(provider.clone())];
            cells.extend(
                Rule::ALL
                    .iter()
                    .map(|r| cell(counts.get(r).copied().unwrap_or(0))),
            );
            cells.push(cell(counts.values().sum()));
            Row::new(cells)
        })
        .collect();
    let mut total = vec![Span::styled("total", t.title())];
    total.extend(
        Rule::ALL
            .iter()
            .map(|r| cell(report.summary.by_rule.get(r).copied().unwrap_or(0))),
    );
    total.push(cell(report.summary.findings));
    rows.push(Row::new(total));
    let mut header = vec!["PROVIDER"];
    header.extend(Rule::ALL.iter().map(|r| rule_title(*r)));
    header.push("TOTAL");
    let mut widths = vec![Constraint::Length(10)];
    widths.extend(Rule::ALL.iter().map(|_| Constraint::Length(8)));
    widths.push(Constraint::Length(6));
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(t.title()))
        .block(Block::bordered().title(Span::styled(
            format!(
                " Per provider · unused after {} days ",
                report.options.unused_days
            ),
            t.title(),
        )));
    frame.render_widget(table, area);
}

fn draw_export(export: &Export, frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let t = &ctx.theme;
    let mut lines = match export.format {
        None => vec![
            Line::from("Export the report as:"),
            Line::from(""),
            Line::from(vec![
                Span::styled("  m", t.title()),
                Span::raw("  Markdown"),
            ]),
            Line::from(vec![Span::styled("  c", t.title()), Span::raw("  CSV")]),
            Line::from(vec![Span::styled("  j", t.title()), Span::raw("  JSON")]),
        ],
        Some(f) => vec![
            Line::from(format!(
                "{} to (relative: the current directory):",
                match f {
                    Format::Markdown => "Markdown",
                    Format::Csv => "CSV",
                    Format::Json => "JSON",
                }
            )),
            Line::from(""),
            Line::from(vec![
                Span::styled("> ", t.title()),
                Span::raw(format!("{}_", export.path)),
            ]),
        ],
    };
    if let Some(e) = &export.error {
        lines.push(Line::from(Span::styled(e.clone(), t.error())));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        if export.format.is_some() {
            "enter write · ctrl-u clear · esc cancel"
        } else {
            "esc cancel"
        },
        t.dim(),
    )));
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let popup = crate::view::centered(area, 64, height);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(Span::styled(" Export ", t.title()))),
        popup,
    );
}
