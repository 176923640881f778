//! Drawing the whole console: the header, the screen on display, the status line and any
//! overlay. Layouts hold from 80×24 up; smaller terminals get the same layout, clipped.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use keygate_core::api::GatewayStatus;

use crate::app::{Model, Overlay, Route};
use crate::screens::{self, Ctx};
use crate::{help, palette};

/// The console's rows: header, screen, status line.
pub(crate) fn layout(area: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// Where the screen on display is drawn in a terminal of `size`.
pub(crate) fn main_area(size: Rect) -> Rect {
    layout(size)[1]
}

/// A box at most `width` wide and `height` tall, centred in `area`.
pub(crate) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Draws `model` into `frame`. Pure: same model, same frame.
pub fn view(model: &Model, frame: &mut Frame) {
    let ctx = model.ctx();
    let [header, main, status] = layout(frame.area());
    frame.render_widget(Paragraph::new(header_line(model, &ctx)), header);
    match model.route() {
        Route::Keys => model.keys.view(frame, main, &ctx),
        Route::KeyDetail { .. } => model.detail.view(frame, main, &ctx),
        Route::Audit => model.audit.view(frame, main, &ctx),
        Route::Compliance => model.compliance.view(frame, main, &ctx),
        Route::Cost => model.cost.view(frame, main, &ctx),
        Route::Policy(_) => model.policy.view(frame, main, &ctx),
    }
    let line = match &model.notice {
        Some(n) if n.error => Line::from(Span::styled(n.text.clone(), ctx.theme.error())),
        Some(n) => Line::from(Span::styled(n.text.clone(), ctx.theme.text())),
        None => Line::from(Span::styled(
            "? help  : command  esc back  q quit",
            ctx.theme.dim(),
        )),
    };
    frame.render_widget(Paragraph::new(line), status);
    match &model.overlay {
        Some(Overlay::Help) => help::draw(model.route(), model.help_scroll, frame, main, &ctx),
        Some(Overlay::Palette(text)) => draw_palette(text, frame, main, &ctx),
        None => {}
    }
}

fn header_line(model: &Model, ctx: &Ctx) -> Line<'static> {
    let t = &ctx.theme;
    let sep = || Span::styled(" │ ", t.dim());
    let mut spans = vec![
        Span::styled(" keygate", t.title()),
        sep(),
        Span::styled(screens::name(model.route()), t.title()),
        sep(),
    ];
    spans.push(match &model.identity {
        None => Span::styled("whoami…", t.dim()),
        Some(Ok(id)) => Span::raw(format!("{} ({})", id.principal, id.role)),
        Some(Err(e)) => Span::styled(format!("whoami: {e}"), t.error()),
    });
    spans.push(sep());
    match &model.status {
        Some(Ok(status)) => spans.extend(status_spans(status, ctx)),
        // Not yet answered, or refused (a role without `status:read`): what the keys screen
        // loaded.
        _ => {
            let n = model.keys.provider_count();
            spans.push(Span::raw(format!(
                "{n} provider{}",
                if n == 1 { "" } else { "s" }
            )));
        }
    }
    if ctx.readonly {
        spans.push(sep());
        spans.push(Span::styled("READONLY", t.warn()));
    }
    Line::from(spans)
}

/// `3/4 providers │ circuit open: aws │ audit #812`: providers that answered their probe out
/// of all (warning style when one did not), those whose circuit breaker is open (their calls
/// fail fast), and the audit log's head (error style when the gateway cannot
/// write its audit rows, since every audited call is then refused).
fn status_spans(status: &GatewayStatus, ctx: &Ctx) -> Vec<Span<'static>> {
    let t = &ctx.theme;
    let total = status.providers.len();
    let up = status.reachable_providers();
    let providers = format!("{up}/{total} provider{}", if total == 1 { "" } else { "s" });
    let audit = match status.audit.head_seq {
        Some(seq) => format!("audit #{seq}"),
        None => "audit empty".to_owned(),
    };
    let open = status.open_circuits();
    let mut spans = vec![if up < total {
        Span::styled(providers, t.warn())
    } else {
        Span::raw(providers)
    }];
    if !open.is_empty() {
        // Calls to these providers fail fast until their breaker lets a trial through.
        spans.push(Span::styled(" │ ", t.dim()));
        spans.push(Span::styled(
            format!("circuit open: {}", open.join(", ")),
            t.warn(),
        ));
    }
    spans.extend([
        Span::styled(" │ ", t.dim()),
        if status.can_write() {
            Span::raw(audit)
        } else {
            Span::styled(format!("{audit} (cannot write)"), t.error())
        },
    ]);
    spans
}

fn draw_palette(text: &str, frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let t = &ctx.theme;
    let mut lines = vec![Line::from(vec![
        Span::styled(":", t.title()),
        Span::raw(format!("{text}_")),
    ])];
    for (cmd, does) in palette::suggestions(text) {
        lines.push(Line::from(vec![
            Span::styled(format!("  :{cmd:<18}"), t.dim()),
            Span::styled(does, t.dim()),
        ]));
    }
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let width = area.width.min(60);
    let popup = Rect {
        x: area.x + 1.min(area.width),
        y: area.y + 1.min(area.height),
        width: width.saturating_sub(1),
        height: height.min(area.height.saturating_sub(1)),
    };
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(Span::styled(" command — tab completes ", t.title()))),
        popup,
    );
}

#[cfg(test)]
mod tests {
    use keygate_core::api::{CircuitHealth, CircuitState};

    use super::*;
    use crate::fixtures;

    fn text(status: &GatewayStatus) -> String {
        status_spans(status, &fixtures::ctx(false))
            .iter()
            .map(|s| s.content.as_ref())
            .collect()
    }

    #[test]
    fn the_header_names_providers_whose_circuit_is_open() {
        let mut status = fixtures::status();
        assert_eq!(text(&status), "1/2 providers │ audit #42");
        status.providers[1].circuit = Some(CircuitHealth {
            state: CircuitState::Open,
            consecutive_failures: 3,
            trips: 1,
            open_for_secs: Some(20),
        });
        assert_eq!(
            text(&status),
            "1/2 providers │ circuit open: aws │ audit #42"
        );
    }
}
