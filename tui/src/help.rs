//! The `?` overlay: the global bindings and the current screen's, as the keymap tables say
//! (mutating ones left out under `--readonly`), plus the palette commands.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::app::Route;
use crate::keymap::{Binding, GLOBAL};
use crate::palette::COMMANDS;
use crate::screens::{self, Ctx};
use crate::view::centered;

/// The help text for `route`.
pub fn lines(route: &Route, ctx: &Ctx) -> Vec<Line<'static>> {
    let t = &ctx.theme;
    let shown = |b: &&Binding| !(ctx.readonly && b.mutates);
    let screen = screens::bindings(route);
    let width = GLOBAL
        .iter()
        .chain(screen)
        .filter(shown)
        .map(|b| b.keys.chars().count())
        .max()
        .unwrap_or(0)
        .max(16);
    let row = |keys: &str, does: &str| {
        Line::from(vec![
            Span::styled(format!("  {keys:<width$}  "), t.title()),
            Span::raw(does.to_owned()),
        ])
    };
    let mut out = vec![Line::from(Span::styled(
        format!("{} screen", screens::name(route)),
        t.title(),
    ))];
    out.extend(screen.iter().filter(shown).map(|b| row(b.keys, b.does)));
    out.push(Line::from(""));
    out.push(Line::from(Span::styled("Everywhere", t.title())));
    out.extend(GLOBAL.iter().filter(shown).map(|b| row(b.keys, b.does)));
    out.push(Line::from(""));
    out.push(Line::from(Span::styled("Palette (:)", t.title())));
    out.extend(COMMANDS.iter().map(|(c, d)| row(&format!(":{c}"), d)));
    if ctx.readonly {
        out.push(Line::from(""));
        out.push(Line::from(Span::styled(
            "read-only console: changes are hidden and refused",
            t.warn(),
        )));
    }
    out
}

/// Draws the overlay over `area`, scrolled by `scroll` lines.
pub fn draw(route: &Route, scroll: u16, frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let lines = lines(route, ctx);
    let height = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let popup = centered(area, 96, height);
    let max = height.saturating_sub(popup.height);
    frame.render_widget(Clear, popup);
    let title = Span::styled(" Help — j/k scroll, esc close ", ctx.theme.title());
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(title))
            .scroll((scroll.min(max), 0)),
        popup,
    );
}
