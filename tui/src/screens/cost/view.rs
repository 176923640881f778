//! Drawing the cost screen: the window and its state, the providers table (with what each
//! would cost elsewhere when the terminal is wide enough, else one line for the estate), the
//! keys table, and the selected row's figures worked out.

use keygate_core::cost::{CostReport, Elsewhere, KeyCost, Prices, ProviderCost, dollars};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table};

use super::figures::{self, count, key_terms, kind_name, request_lines};
use super::{Focus, State, Window};
use crate::screens::Ctx;

/// From this width the providers table has a column per kind of provider ("elsewhere").
const WIDE: u16 = 116;

impl State {
    /// Draws the screen.
    pub fn view(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let Some(report) = &self.report else {
            self.draw_empty(frame, area, ctx);
            return;
        };
        let wide = area.width >= WIDE;
        let notes: Vec<Line> = report
            .notes
            .iter()
            .take(2)
            .map(|n| Line::from(Span::styled(format!("note: {n}"), ctx.theme.warn())))
            .collect();
        let notes_h = u16::try_from(notes.len()).unwrap_or(2);
        let elsewhere_h = u16::from(!wide);
        // A failed refresh says why on its own line; the last report stays below it.
        let error_h = u16::from(self.error.is_some());
        // Borders, header and the total row around the providers; at most a third of the
        // screen, the rest scrolls.
        let providers = u16::try_from(report.providers.len()).unwrap_or(u16::MAX);
        let providers_h = providers.saturating_add(4).min((area.height / 3).max(5));
        let detail = self.detail_lines(report, ctx);
        let used = 1 + error_h + elsewhere_h + notes_h + providers_h;
        // The keys table keeps at least 5 lines (two rows); the detail gives way first.
        let detail_h = if detail.is_empty() {
            0
        } else {
            u16::try_from(detail.len() + 2)
                .unwrap_or(u16::MAX)
                .min(area.height.saturating_sub(used + 5))
        };
        let [
            status,
            error,
            elsewhere,
            notes_area,
            providers_area,
            keys_area,
            detail_area,
        ] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(error_h),
            Constraint::Length(elsewhere_h),
            Constraint::Length(notes_h),
            Constraint::Length(providers_h),
            Constraint::Min(3),
            Constraint::Length(detail_h),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new(self.status_line(report, wide, ctx)), status);
        if let Some(e) = &self.error {
            let said = e.detail().map(|d| format!(" ({d})")).unwrap_or_default();
            frame.render_widget(
                Paragraph::new(Span::styled(
                    format!("refresh failed: {}{said}", e.summary()),
                    ctx.theme.error(),
                )),
                error,
            );
        }
        if !wide {
            frame.render_widget(
                Paragraph::new(elsewhere_line("Same estate on: ", &report.elsewhere, ctx)),
                elsewhere,
            );
        }
        frame.render_widget(Paragraph::new(notes), notes_area);
        self.draw_providers(report, wide, frame, providers_area, ctx);
        self.draw_keys(report, wide, frame, keys_area, ctx);
        let title = match self.focus {
            Focus::Providers => self
                .selected_provider()
                .map(|p| format!(" {} ", p.provider)),
            Focus::Keys => self.selected_key().map(|k| format!(" {} ", k.uri)),
        };
        if let Some(title) = title {
            frame.render_widget(
                Paragraph::new(detail)
                    .block(Block::bordered().title(Span::styled(title, ctx.theme.title()))),
                detail_area,
            );
        }
    }

    fn draw_empty(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = &ctx.theme;
        let label = self.window.label();
        let lines = match (&self.error, self.loading) {
            (_, true) => vec![Line::from(Span::styled(
                format!("pricing the key estate over the last {label}…"),
                t.dim(),
            ))],
            (Some(e), false) => {
                let mut lines = vec![Line::from(Span::styled(e.summary(), t.error()))];
                if let Some(said) = e.detail() {
                    lines.push(Line::from(Span::styled(
                        format!("the gateway said: {said}"),
                        t.dim(),
                    )));
                }
                lines.push(Line::from(""));
                lines.push(Line::from(Span::styled(
                    "ctrl-r asks again · s changes the window · esc back",
                    t.dim(),
                )));
                lines
            }
            (None, false) => vec![Line::from(Span::styled(
                "press ctrl-r to price the key estate",
                t.dim(),
            ))],
        };
        let block = Block::bordered().title(Span::styled(" Cost ", t.title()));
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(ratatui::widgets::Wrap { trim: true })
                .block(block),
            area,
        );
    }

    /// `window 7d [30d] 90d │ 2026-10-24 12:00 → 2026-11-23 12:00 │ list prices…`.
    fn status_line(&self, report: &CostReport, wide: bool, ctx: &Ctx) -> Line<'static> {
        let t = &ctx.theme;
        let sep = || Span::styled(" │ ", t.dim());
        let mut spans = vec![Span::styled("window", t.title())];
        for w in Window::ALL {
            spans.push(Span::raw(" "));
            spans.push(if w == self.window {
                Span::styled(format!("[{}]", w.label()), t.title())
            } else {
                Span::styled(w.label(), t.dim())
            });
        }
        spans.push(sep());
        spans.push(Span::raw(format!(
            "{} → {}",
            crate::fmt::when(report.since),
            crate::fmt::when(report.until)
        )));
        spans.push(sep());
        spans.push(match (&self.error, self.loading) {
            (_, true) => Span::styled(format!("pricing {}…", self.window.label()), t.dim()),
            (Some(_), false) => Span::styled("refresh failed", t.error()),
            (None, false) if wide => Span::styled("list prices, free tiers not deducted", t.dim()),
            (None, false) => Span::styled("list prices", t.dim()),
        });
        Line::from(spans)
    }

    fn draw_providers(
        &self,
        report: &CostReport,
        wide: bool,
        frame: &mut Frame,
        area: Rect,
        ctx: &Ctx,
    ) {
        let t = &ctx.theme;
        let focused = self.focus == Focus::Providers;
        let cells = |name: Span<'static>,
                     kind: &str,
                     keys: u32,
                     versions: u32,
                     monthly: f64,
                     requests: u64,
                     requests_usd: f64,
                     total: f64,
                     elsewhere: &Elsewhere| {
            let mut row = vec![
                name,
                Span::raw(kind.to_owned()),
                Span::raw(keys.to_string()),
                Span::raw(versions.to_string()),
                Span::raw(dollars(monthly)),
                Span::raw(count(requests)),
                Span::raw(dollars(requests_usd)),
                Span::styled(dollars(total), t.title()),
            ];
            if wide {
                row.extend(elsewhere.values().map(|usd| Span::raw(dollars(*usd))));
            }
            row
        };
        // Rows between the header and the total row.
        let page = usize::from(area.height.saturating_sub(4)).max(1);
        let offset = self.provider.saturating_sub(page - 1);
        let mut rows: Vec<Row> = report
            .providers
            .iter()
            .enumerate()
            .skip(offset)
            .take(page)
            .map(|(i, p)| {
                let row = Row::new(cells(
                    Span::raw(p.provider.clone()),
                    p.kind.as_str(),
                    p.keys,
                    p.key_versions,
                    p.monthly_usd,
                    figures::total(&p.requests),
                    p.requests_usd,
                    p.total_usd,
                    &p.elsewhere,
                ));
                if focused && i == self.provider {
                    row.style(t.selected())
                } else {
                    row
                }
            })
            .collect();
        rows.push(Row::new(cells(
            Span::styled("TOTAL", t.title()),
            "",
            report.providers.iter().map(|p| p.keys).sum(),
            report.providers.iter().map(|p| p.key_versions).sum(),
            report.monthly_usd,
            report
                .providers
                .iter()
                .map(|p| figures::total(&p.requests))
                .sum(),
            report.requests_usd,
            report.total_usd,
            &report.elsewhere,
        )));
        let mut header = vec![
            "PROVIDER".to_owned(),
            "KIND".to_owned(),
            "KEYS".to_owned(),
            "VERSIONS".to_owned(),
            "KEYS/MONTH".to_owned(),
            "REQUESTS".to_owned(),
            "REQUESTS $".to_owned(),
            "TOTAL".to_owned(),
        ];
        let mut widths = vec![
            Constraint::Min(8),
            Constraint::Length(5),
            Constraint::Length(4),
            Constraint::Length(8),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(10),
            Constraint::Length(10),
        ];
        if wide {
            for kind in report.elsewhere.keys() {
                header.push(format!("ON {}", kind.as_str().to_uppercase()));
                widths.push(Constraint::Length(9));
            }
        }
        let title = format!(
            " Per provider · keys a month, requests over {}{} ",
            window_of(report),
            if focused { " ◂" } else { "" }
        );
        let table = Table::new(rows, widths)
            .header(Row::new(header).style(t.title()))
            .block(Block::bordered().title(Span::styled(title, t.title())));
        frame.render_widget(table, area);
    }

    fn draw_keys(&self, report: &CostReport, wide: bool, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = &ctx.theme;
        let focused = self.focus == Focus::Keys;
        let page = usize::from(area.height.saturating_sub(3)).max(1);
        let offset = self.key.saturating_sub(page - 1);
        let rows = report
            .keys
            .iter()
            .enumerate()
            .skip(offset)
            .take(page)
            .map(|(i, k)| {
                let mut cells = vec![Span::raw(k.uri.clone()), Span::raw(k.provider.clone())];
                if wide {
                    cells.push(Span::raw(k.spec.as_str()));
                }
                cells.extend([
                    Span::raw(k.versions.to_string()),
                    Span::raw(dollars(k.monthly_usd)),
                    Span::raw(count(figures::total(&k.requests))),
                    Span::raw(dollars(k.requests_usd)),
                ]);
                let row = Row::new(cells);
                if focused && i == self.key {
                    row.style(t.selected())
                } else {
                    row
                }
            });
        let mut header = vec!["KEY", "PROVIDER"];
        let mut widths = vec![Constraint::Fill(1), Constraint::Length(10)];
        if wide {
            header.push("SPEC");
            widths.push(Constraint::Length(11));
        }
        header.extend(["VERSIONS", "PER MONTH", "REQUESTS", "REQUESTS $"]);
        widths.extend([
            Constraint::Length(8),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(10),
        ]);
        let n = report.keys.len();
        let title = format!(
            " Per key {}/{n}{} ",
            if n == 0 { 0 } else { self.key + 1 },
            if focused { " ◂" } else { "" }
        );
        let table = Table::new(rows, widths)
            .header(Row::new(header).style(t.title()))
            .block(Block::bordered().title(Span::styled(title, t.title())));
        frame.render_widget(table, area);
        if n == 0 {
            let inner = Rect {
                x: area.x + 2,
                y: area.y + 2,
                width: area.width.saturating_sub(4),
                height: 1.min(area.height.saturating_sub(3)),
            };
            frame.render_widget(
                Paragraph::new(Span::styled("no keys in any provider", t.dim())),
                inner,
            );
        }
    }

    /// The focused row's figures worked out: keys × price, each request kind × its price
    /// per 10,000, and (for a provider) the same on every kind of provider.
    pub(crate) fn detail_lines(&self, report: &CostReport, ctx: &Ctx) -> Vec<Line<'static>> {
        match self.focus {
            Focus::Providers => self
                .selected_provider()
                .map(|p| provider_lines(p, report, ctx))
                .unwrap_or_default(),
            Focus::Keys => self
                .selected_key()
                .map(|k| key_lines(k, report, ctx))
                .unwrap_or_default(),
        }
    }
}

/// `30d`, or the window's length in hours when it is not whole days.
fn window_of(report: &CostReport) -> String {
    let span = report.until - report.since;
    if span.whole_hours().rem_euclid(24) == 0 {
        format!("{}d", span.whole_days())
    } else {
        format!("{}h", span.whole_hours())
    }
}

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `monthly $1.00/key + $1.00/version beyond 1, max 3 billed (aws, 2026-12-07)`.
fn prices_line(kind: &str, p: &Prices, ctx: &Ctx) -> Line<'static> {
    Line::from(Span::styled(
        format!("{} ({kind}, {})", key_terms(p), p.date),
        ctx.theme.dim(),
    ))
}

fn request_block(
    p: &Prices,
    tally: &keygate_core::cost::RequestTally,
    ctx: &Ctx,
) -> Vec<Line<'static>> {
    let lines = request_lines(p, tally);
    if lines.is_empty() {
        return vec![Line::from(Span::styled(
            "no billed requests in the window",
            ctx.theme.dim(),
        ))];
    }
    lines
        .into_iter()
        .map(|l| {
            Line::from(format!(
                "{:<10} {:>10} × {}/10k = {}",
                kind_name(l.kind),
                count(l.count),
                dollars(l.per_10k),
                dollars(l.usd)
            ))
        })
        .collect()
}

fn provider_lines(p: &ProviderCost, report: &CostReport, ctx: &Ctx) -> Vec<Line<'static>> {
    let prices = report.prices.of(p.kind);
    let mut lines = vec![Line::from(vec![
        Span::raw(format!(
            "{}, {} → {} a month + requests {} = ",
            plural(p.keys, "key", "keys"),
            plural(p.key_versions, "live version", "live versions"),
            dollars(p.monthly_usd),
            dollars(p.requests_usd),
        )),
        Span::styled(dollars(p.total_usd), ctx.theme.title()),
    ])];
    lines.push(prices_line(p.kind.as_str(), prices, ctx));
    lines.extend(request_block(prices, &p.requests, ctx));
    lines.push(elsewhere_line("Elsewhere: ", &p.elsewhere, ctx));
    lines
}

fn key_lines(k: &KeyCost, report: &CostReport, ctx: &Ctx) -> Vec<Line<'static>> {
    let prices = report.prices.of(k.kind);
    let mut lines = vec![Line::from(format!(
        "{} on {} · {} → {} a month + requests {}",
        k.spec.as_str(),
        k.provider,
        plural(k.versions, "live version", "live versions"),
        dollars(k.monthly_usd),
        dollars(k.requests_usd),
    ))];
    lines.push(prices_line(k.kind.as_str(), prices, ctx));
    lines.extend(request_block(prices, &k.requests, ctx));
    lines
}

/// `Same estate on: aws $4.17 · azure $0.17 · gcp $0.50 · local $0.00`.
fn elsewhere_line(label: &'static str, e: &Elsewhere, ctx: &Ctx) -> Line<'static> {
    let mut spans = vec![Span::styled(label, ctx.theme.title())];
    for (i, (kind, usd)) in e.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", ctx.theme.dim()));
        }
        spans.push(Span::raw(format!("{kind} {}", dollars(*usd))));
    }
    Line::from(spans)
}
