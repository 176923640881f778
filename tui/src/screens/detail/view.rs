//! Drawing the key detail: one column on narrow terminals, two from 110 columns.

use keygate_core::{KeyMetadata, KeyState, VersionState};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{Part, RECENT_WINDOW, State};
use crate::fmt;
use crate::screens::{Ctx, actions};
use crate::theme::Theme;

/// Draws `state` into `area`.
pub fn draw(state: &State, frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let t = &ctx.theme;
    let name = state
        .metadata
        .ready()
        .map_or_else(|| state.key.clone(), |k| k.name.clone());
    let block = Block::bordered().title(Span::styled(format!(" Key {name} "), t.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let left = [
        metadata(state, ctx),
        labels(state, t),
        versions(state, ctx),
        policy(state, t),
    ];
    let right = [public_key(state, t), audit(state, ctx)];
    if inner.width >= 108 {
        let [l, r] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .spacing(2)
            .areas(inner);
        column(frame, l, left.concat(), state.scroll);
        column(frame, r, right.concat(), state.scroll);
    } else {
        let mut all = left.concat();
        all.extend(right.concat());
        column(frame, inner, all, state.scroll);
    }
    if let Some(d) = &state.dialog {
        actions::draw(d, frame, area, ctx);
    }
}

fn column(frame: &mut Frame, area: Rect, lines: Vec<Line<'static>>, scroll: u16) {
    // Scrolling past the end shows the last screenful rather than nothing.
    let max = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_sub(area.height);
    frame.render_widget(Paragraph::new(lines).scroll((scroll.min(max), 0)), area);
}

fn heading(text: &str, t: &Theme) -> Line<'static> {
    Line::from(Span::styled(text.to_owned(), t.title()))
}

fn field(label: &str, value: Span<'static>, t: &Theme) -> Line<'static> {
    Line::from(vec![Span::styled(format!("{label:<12}"), t.dim()), value])
}

/// The part's placeholder lines when it is not ready.
fn pending<T>(part: &Part<T>, t: &Theme) -> Option<Vec<Line<'static>>> {
    match part {
        Part::Loading => Some(vec![Line::from(Span::styled("  loading…", t.dim()))]),
        Part::Failed(e) => Some(vec![Line::from(Span::styled(format!("  {e}"), t.error()))]),
        Part::Ready(_) => None,
    }
}

fn metadata(state: &State, ctx: &Ctx) -> Vec<Line<'static>> {
    let t = &ctx.theme;
    let mut out = vec![heading("Metadata", t)];
    if let Some(p) = pending(&state.metadata, t) {
        out.extend(p);
        out.push(Line::from(""));
        return out;
    }
    let Some(k) = state.metadata.ready() else {
        return out;
    };
    let raw = |s: String| Span::raw(s);
    out.push(field("uri", raw(k.uri.clone()), t));
    out.push(field("provider", raw(k.provider.clone()), t));
    if k.id != k.name {
        out.push(field("id", raw(k.id.clone()), t));
    }
    out.push(field("spec", raw(format!("{} ({})", k.spec, k.usage)), t));
    out.push(field("state", state_span(k, ctx), t));
    if let Some(import) = k.import {
        let origin = match (import.expiration_model, import.valid_to) {
            (_, Some(to)) => format!(
                "external (imported material expires {}, {})",
                fmt::when(to),
                fmt::relative(to, ctx.now)
            ),
            (Some(_), None) => "external (imported material, does not expire)".to_owned(),
            (None, None) => "external (no material imported)".to_owned(),
        };
        out.push(field("origin", raw(origin), t));
    }
    out.push(field(
        "primary",
        raw(k.primary_version.clone().unwrap_or_else(|| "—".into())),
        t,
    ));
    out.push(field("rotation", rotation_span(k, ctx), t));
    out.push(field("created", raw(fmt::when(k.created)), t));
    if !k.description.is_empty() {
        out.push(field("description", raw(k.description.clone()), t));
    }
    out.push(Line::from(""));
    out
}

fn state_span(k: &KeyMetadata, ctx: &Ctx) -> Span<'static> {
    let t = &ctx.theme;
    match k.state {
        KeyState::Enabled => Span::styled("enabled", t.ok()),
        KeyState::Disabled => Span::styled("disabled", t.warn()),
        KeyState::PendingImport => Span::styled("pending import (no key material)", t.warn()),
        KeyState::PendingDeletion { deletion_date } => Span::styled(
            format!(
                "pending deletion on {} ({})",
                fmt::when(deletion_date),
                fmt::relative(deletion_date, ctx.now)
            ),
            t.error(),
        ),
        other => Span::styled(other.as_str(), t.error()),
    }
}

fn rotation_span(k: &KeyMetadata, ctx: &Ctx) -> Span<'static> {
    let t = &ctx.theme;
    match k.rotation {
        None => Span::styled("off", t.dim()),
        Some(r) => match r.next_rotation {
            Some(n) if n < ctx.now => Span::styled(
                format!(
                    "every {} days, OVERDUE since {}",
                    r.period_days,
                    fmt::when(n)
                ),
                t.warn(),
            ),
            Some(n) => Span::raw(format!(
                "every {} days, next {} ({})",
                r.period_days,
                fmt::when(n),
                fmt::relative(n, ctx.now)
            )),
            None => Span::raw(format!("every {} days", r.period_days)),
        },
    }
}

fn labels(state: &State, t: &Theme) -> Vec<Line<'static>> {
    let Some(k) = state.metadata.ready() else {
        return Vec::new();
    };
    let mut out = vec![heading("Labels", t)];
    if k.labels.is_empty() {
        out.push(Line::from(Span::styled("  none", t.dim())));
    }
    for (key, value) in &k.labels {
        out.push(Line::from(format!("  {key}={value}")));
    }
    out.push(Line::from(""));
    out
}

/// The versions table, newest first (the primary and recent rotations are what matter),
/// the selected version marked; a destroy-scheduled or destroyed version's destroy time on
/// the line below it.
fn versions(state: &State, ctx: &Ctx) -> Vec<Line<'static>> {
    let t = &ctx.theme;
    let mut out = vec![heading("Versions ([ ]: select)", t)];
    if let Some(p) = pending(&state.versions, t) {
        out.extend(p);
    } else if let Some(vs) = state.versions.ready() {
        let selected = state.selected_version().map(|v| v.id.clone());
        let state_width = vs
            .iter()
            .map(|v| v.state.as_str().len())
            .max()
            .unwrap_or(0)
            .max(8);
        for v in vs.iter().rev() {
            let id: String = v.id.chars().take(12).collect();
            let chosen = selected.as_deref() == Some(v.id.as_str());
            let (marker, row_style) = if chosen {
                ("▸ ", t.selected())
            } else {
                ("  ", t.text())
            };
            out.push(Line::from(vec![
                Span::styled(marker, t.title()),
                Span::styled(format!("{id:<12} "), row_style),
                version_state(v.state, state_width, t),
                Span::styled(format!(" {}", fmt::when(v.created)), row_style),
                Span::styled(if v.primary { "  primary" } else { "" }, t.ok()),
            ]));
            if let Some(at) = v.destroy_time {
                let what = match v.state {
                    VersionState::Destroyed => "destroyed",
                    _ => "destroys",
                };
                out.push(Line::from(Span::styled(
                    format!(
                        "  {:<13}{what} {} ({})",
                        "",
                        fmt::when(at),
                        fmt::relative(at, ctx.now)
                    ),
                    t.error(),
                )));
            }
        }
    }
    out.push(Line::from(""));
    out
}

fn version_state(state: VersionState, width: usize, t: &Theme) -> Span<'static> {
    let text = format!("{:<width$}", state.as_str());
    match state {
        VersionState::Enabled => Span::styled(text, t.ok()),
        VersionState::Disabled => Span::styled(text, t.warn()),
        _ => Span::styled(text, t.error()),
    }
}

fn policy(state: &State, t: &Theme) -> Vec<Line<'static>> {
    let mut out = vec![heading("Policy (p: edit)", t)];
    if let Some(p) = pending(&state.policy, t) {
        out.extend(p);
    } else if let Some(p) = state.policy.ready() {
        let wild: Vec<String> = p
            .bindings
            .iter()
            .filter(|b| b.is_wildcard())
            .map(|b| {
                let what = b.role.clone().unwrap_or_else(|| b.actions.join(","));
                format!("{} → {what}", b.principal)
            })
            .collect();
        let format = p
            .native
            .as_ref()
            .map_or_else(String::new, |n| format!(" ({} document)", n.format));
        out.push(Line::from(format!(
            "  {} binding{}{format}",
            p.bindings.len(),
            if p.bindings.len() == 1 { "" } else { "s" }
        )));
        if wild.is_empty() {
            out.push(Line::from(Span::styled("  no wildcard principals", t.ok())));
        } else {
            out.push(Line::from(Span::styled(
                format!("  WILDCARD principals: {}", wild.join("; ")),
                t.error(),
            )));
        }
    }
    out.push(Line::from(""));
    out
}

fn public_key(state: &State, t: &Theme) -> Vec<Line<'static>> {
    let mut out = vec![heading("Public key", t)];
    match &state.public_key {
        Part::Ready(None) => out.push(Line::from(Span::styled("  none: symmetric key", t.dim()))),
        // Base64 lines re-cut at 48 characters (still valid PEM) fit half of an 80-column
        // terminal, so the key can be read and copied whole.
        Part::Ready(Some(pem)) => {
            for line in pem.lines() {
                if line.starts_with("-----") {
                    out.push(Line::from(line.to_owned()));
                    continue;
                }
                let chars: Vec<char> = line.chars().collect();
                out.extend(
                    chars
                        .chunks(48)
                        .map(|c| Line::from(c.iter().collect::<String>())),
                );
            }
        }
        other => out.extend(pending(other, t).unwrap_or_default()),
    }
    out.push(Line::from(""));
    out
}

fn audit(state: &State, ctx: &Ctx) -> Vec<Line<'static>> {
    let t = &ctx.theme;
    let days = RECENT_WINDOW.whole_days();
    let mut out = vec![heading(
        &format!("Recent audit events ({days} days, newest first)"),
        t,
    )];
    if let Some(p) = pending(&state.audit, t) {
        out.extend(p);
        return out;
    }
    let Some(recent) = state.audit.ready() else {
        return out;
    };
    if recent.events.is_empty() {
        out.push(Line::from(Span::styled("  none", t.dim())));
    }
    for e in recent.events.iter().rev() {
        let outcome = match e.outcome {
            keygate_core::audit::AuditOutcome::Success => Span::styled("ok      ", t.ok()),
            other => Span::styled(format!("{:<8}", other.as_str()), t.error()),
        };
        // Source before principal: principals can be long, and the line must not wrap.
        out.push(Line::from(vec![
            Span::styled(format!("  {} ", fmt::when(e.time)), t.dim()),
            Span::raw(format!("{:<15} ", e.action)),
            outcome,
            Span::styled(format!("{:<8} {}", e.source, e.principal), t.dim()),
        ]));
    }
    if recent.partial {
        out.push(Line::from(Span::styled(
            "  (busy key: newest of the events read)",
            t.dim(),
        )));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use keygate_core::{ImportInfo, KeyState};

    use super::super::{Msg, State};
    use super::metadata;
    use crate::fixtures::{self, ctx};

    fn text(state: &State) -> String {
        metadata(state, &ctx(false))
            .iter()
            .map(|l| {
                l.spans
                    .iter()
                    .map(|s| s.content.as_ref())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn a_key_of_imported_material_shows_its_origin_and_pending_import() {
        let mut s = State::default();
        let c = ctx(false);
        s.update(Msg::Open("local://payments".into()), &c);
        let g = s.generation;
        let mut key = fixtures::keys("local").remove(0);
        let generated = {
            let mut plain = State::default();
            plain.update(Msg::Open("local://payments".into()), &c);
            let pg = plain.generation;
            plain.update(Msg::Metadata(pg, Ok(key.clone())), &c);
            text(&plain)
        };
        assert!(!generated.contains("origin"), "{generated}");
        key.state = KeyState::PendingImport;
        key.import = Some(ImportInfo {
            expiration_model: None,
            valid_to: None,
        });
        s.update(Msg::Metadata(g, Ok(key)), &c);
        let shown = text(&s);
        assert!(
            shown.contains("pending import (no key material)"),
            "{shown}"
        );
        assert!(shown.contains("external (no material imported)"), "{shown}");
    }
}
