//! Drawing the policy editor. Pure: a function of the state and the context.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row as TableRow, Table, TableState, Wrap};

use super::diff::{DiffLine, Shown, counts, fold};
use super::form::{AddForm, FieldId};
use super::textarea::Field;
use super::{BINDINGS, Editor, Load, Mode, Prompt, State, View};
use crate::screens::Ctx;

/// Unchanged lines kept around each change in the diff.
const CONTEXT: usize = 3;

pub(super) fn draw(state: &State, frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let theme = ctx.theme;
    let mut title = vec![Span::styled(" Policy ", theme.title())];
    if !state.title.is_empty() {
        title.push(Span::styled(format!("· {} ", state.title), theme.text()));
    }
    let mut block = Block::bordered().title(Line::from(title));
    if let Some(doc) = &state.staged {
        block = block.title(
            Line::from(Span::styled(
                format!(" {} ", doc.format_name(state.format)),
                theme.dim(),
            ))
            .right_aligned(),
        );
    }
    if state.is_dirty() {
        let (add, del) = counts(&state.diff);
        block = block.title_bottom(
            Line::from(Span::styled(
                format!(" staged: +{add} −{del} lines, not applied "),
                theme.warn(),
            ))
            .right_aligned(),
        );
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);

    match &state.load {
        Load::Idle | Load::Loading if state.staged.is_none() => {
            let p = Paragraph::new(Span::styled("loading the policy…", theme.dim()));
            frame.render_widget(p, inner);
            return;
        }
        Load::Failed(f) if state.staged.is_none() => {
            let p = Paragraph::new(vec![
                Line::from(Span::styled(
                    format!("cannot load the policy ({})", f.kind.as_str()),
                    theme.error(),
                )),
                Line::from(f.message.clone()),
                Line::from(Span::styled("r retries · esc goes back", theme.dim())),
            ])
            .wrap(Wrap { trim: false });
            frame.render_widget(p, inner);
            return;
        }
        _ => {}
    }

    let editor_error = match &state.mode {
        Mode::Editing(Editor { error: Some(e), .. }) => Some(match e.at {
            Some((l, c)) => format!("line {l}, column {c}: {}", e.message),
            None => e.message.clone(),
        }),
        _ => None,
    };
    let error = editor_error.or_else(|| state.error.clone());
    let error_height = match &error {
        // Room for a wrapped message, never more than a third of the screen.
        Some(e) => (e.len() as u16 / inner.width.max(1) + 1).clamp(1, (inner.height / 3).max(1)),
        None => 0,
    };
    let [tabs, body, err, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(error_height),
        Constraint::Length(1),
    ])
    .areas(inner);

    draw_tabs(state, frame, tabs, ctx);
    match (&state.mode, state.view) {
        (Mode::Editing(ed), _) => draw_editor(ed, frame, body, ctx),
        (_, View::Table) => draw_table(state, frame, body, ctx),
        (_, View::Document) => draw_document(state, frame, body, ctx),
        (_, View::Diff) => draw_diff(state, frame, body, ctx),
    }
    if let Some(e) = error {
        let p = Paragraph::new(Span::styled(e, theme.error())).wrap(Wrap { trim: false });
        frame.render_widget(p, err);
    }
    frame.render_widget(Paragraph::new(footer_line(state, ctx)), footer);

    match &state.mode {
        Mode::Adding(form) => draw_form(form, frame, area, ctx),
        Mode::ConfirmRemove(row) => {
            let what = if row.role.is_empty() || row.role == "any" {
                row.actions.clone()
            } else {
                format!("role {}", row.role)
            };
            prompt(
                frame,
                area,
                ctx,
                "Remove binding",
                &format!("Remove {} → {what}? (staged, not applied)", row.principal),
                "y removes · any other key cancels",
            );
        }
        Mode::Confirm(p) => {
            let (title, text, keys) = match p {
                Prompt::Apply => {
                    let (add, del) = counts(&state.diff);
                    (
                        "Apply",
                        format!(
                            "Apply the staged changes (+{add} −{del} lines) to the {}?",
                            if state.title.is_empty() {
                                "policy"
                            } else {
                                &state.title
                            }
                        ),
                        "y applies · any other key cancels",
                    )
                }
                Prompt::DiscardAndLeave => (
                    "Discard",
                    "Leave and drop the staged changes?".to_owned(),
                    "y drops them · any other key stays",
                ),
                Prompt::DiscardAndReload => (
                    "Reload",
                    "Reload and drop the staged changes?".to_owned(),
                    "y reloads · any other key stays",
                ),
            };
            prompt(frame, area, ctx, title, &text, keys);
        }
        Mode::Editing(ed) if ed.confirm_discard => prompt(
            frame,
            area,
            ctx,
            "Discard edit",
            "Leave the editor and drop this edit?",
            "y drops it · any other key keeps editing",
        ),
        _ => {}
    }
}

fn draw_tabs(state: &State, frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let editing = matches!(state.mode, Mode::Editing(_));
    let tab = |name: &'static str, on: bool| {
        if on {
            Span::styled(format!(" {name} "), ctx.theme.selected())
        } else {
            Span::styled(format!(" {name} "), ctx.theme.dim())
        }
    };
    let mut spans = vec![
        tab("Bindings", !editing && state.view == View::Table),
        tab(
            if editing {
                "Document (editing)"
            } else {
                "Document"
            },
            editing || state.view == View::Document,
        ),
        tab("Diff", !editing && state.view == View::Diff),
    ];
    if matches!(state.mode, Mode::Applying) {
        spans.push(Span::styled("  applying…", ctx.theme.warn()));
    } else if matches!(state.load, Load::Loading) {
        spans.push(Span::styled("  reloading…", ctx.theme.dim()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_table(state: &State, frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let theme = ctx.theme;
    let rows = state.rows();
    if rows.is_empty() {
        let hint = if ctx.readonly {
            "no bindings"
        } else {
            "no bindings — a adds one"
        };
        frame.render_widget(Paragraph::new(Span::styled(hint, theme.dim())), area);
        return;
    }
    let before = state
        .original
        .as_ref()
        .map(super::doc::Doc::rows)
        .unwrap_or_default();
    let same = |a: &super::doc::Row, b: &super::doc::Row| {
        a.principal == b.principal && a.role == b.role && a.actions == b.actions
    };
    let removed = before
        .iter()
        .filter(|b| !rows.iter().any(|r| same(r, b)))
        .count();
    // Columns that are empty for every row (AWS grants no roles, GCP no actions) are left
    // out, and the principal gets the room it needs: ARNs differ at their end, so a
    // principal that still does not fit is cut on the left.
    let gateway = matches!(state.staged, Some(super::doc::Doc::Gateway(_)));
    let show_role = gateway || rows.iter().any(|r| !r.role.is_empty());
    let show_actions = gateway || rows.iter().any(|r| !r.actions.is_empty());
    let widest = |f: fn(&super::doc::Row) -> &str| {
        rows.iter().map(|r| f(r).chars().count()).max().unwrap_or(0) as u16
    };
    let avail = area.width.saturating_sub(4);
    let role_w = if show_role {
        widest(|r| &r.role).clamp(4, 24).min(avail / 4)
    } else {
        0
    };
    let principal_cap = if show_actions {
        avail.saturating_sub(role_w) * 3 / 5
    } else {
        avail.saturating_sub(role_w)
    };
    let principal_w = widest(|r| &r.principal).clamp(9, principal_cap.max(9));
    let body: Vec<TableRow> = rows
        .iter()
        .map(|r| {
            let new = !before.iter().any(|b| same(b, r));
            let mark = if new {
                Cell::from(Span::styled("+", theme.ok()))
            } else {
                Cell::from(" ")
            };
            let mut cells = vec![mark, Cell::from(cut_left(&r.principal, principal_w))];
            if show_role {
                cells.push(Cell::from(r.role.clone()));
            }
            if show_actions {
                cells.push(Cell::from(r.actions.clone()));
            }
            TableRow::new(cells)
        })
        .collect();
    let mut header = vec!["", "PRINCIPAL"];
    let mut widths = vec![Constraint::Length(1), Constraint::Length(principal_w)];
    if show_role {
        header.push("ROLE");
        widths.push(Constraint::Length(role_w));
    }
    if show_actions {
        header.push("ACTIONS");
        widths.push(Constraint::Fill(1));
    }
    let header = TableRow::new(header).style(theme.title());
    let table = Table::new(body, widths)
        .header(header)
        .row_highlight_style(theme.selected());
    let [table_area, note] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(u16::from(removed > 0)),
    ])
    .areas(area);
    let mut ts = TableState::default().with_selected(Some(state.selected.min(rows.len() - 1)));
    frame.render_stateful_widget(table, table_area, &mut ts);
    if removed > 0 {
        let text = format!("{removed} binding(s) removed (staged) — D shows the diff");
        frame.render_widget(Paragraph::new(Span::styled(text, theme.warn())), note);
    }
}

/// `s` in at most `width` characters, cut on the left with an ellipsis.
fn cut_left(s: &str, width: u16) -> String {
    let n = s.chars().count();
    let width = width as usize;
    if n <= width || width == 0 {
        return s.to_owned();
    }
    let tail: String = s.chars().skip(n - width + 1).collect();
    format!("…{tail}")
}

fn numbered<'a>(
    lines: impl Iterator<Item = &'a str>,
    first: usize,
    width: usize,
    dim: Style,
) -> Vec<Line<'a>> {
    lines
        .enumerate()
        .map(|(i, l)| {
            Line::from(vec![
                Span::styled(format!("{:>width$} ", first + i + 1), dim),
                Span::raw(l),
            ])
        })
        .collect()
}

fn gutter(lines: usize) -> usize {
    lines.max(1).to_string().len()
}

fn draw_document(state: &State, frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let Some(doc) = &state.staged else { return };
    let text = doc.text(state.format);
    let total = text.lines().count();
    let top = state.scroll.min(total.saturating_sub(area.height as usize));
    let lines = numbered(
        text.lines().skip(top).take(area.height as usize),
        top,
        gutter(total),
        ctx.theme.dim(),
    );
    frame.render_widget(Paragraph::new(lines), area);
}

fn draw_editor(ed: &Editor, frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let lines = ed.area.lines();
    let (row, col) = ed.area.cursor();
    let height = area.height.max(1) as usize;
    // Scrolled just enough to keep the cursor on screen.
    let top = row.saturating_sub(height - 1);
    let width = gutter(lines.len());
    let text_width = (area.width as usize).saturating_sub(width + 1).max(1);
    let left = col.saturating_sub(text_width - 1);
    let shown: Vec<String> = lines
        .iter()
        .skip(top)
        .take(height)
        .map(|l| l.chars().skip(left).collect())
        .collect();
    let numbered = numbered(
        shown.iter().map(String::as_str),
        top,
        width,
        ctx.theme.dim(),
    );
    frame.render_widget(Paragraph::new(numbered), area);
    if !ed.confirm_discard {
        let x = area.x + (width + 1 + col - left) as u16;
        let y = area.y + (row - top) as u16;
        frame.set_cursor_position(Position::new(x, y));
    }
}

fn draw_diff(state: &State, frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let theme = ctx.theme;
    if !state.is_dirty() {
        let p = Paragraph::new(Span::styled(
            "no staged changes: the document is the current policy",
            theme.dim(),
        ));
        frame.render_widget(p, area);
        return;
    }
    let (add, del) = counts(&state.diff);
    let mut lines = vec![Line::from(Span::styled(
        format!("current policy → staged: +{add} −{del} lines"),
        theme.title(),
    ))];
    for shown in fold(&state.diff, CONTEXT) {
        lines.push(match shown {
            Shown::Line(DiffLine::Same(s)) => {
                Line::from(Span::styled(format!("  {s}"), theme.text()))
            }
            Shown::Line(DiffLine::Added(s)) => {
                Line::from(Span::styled(format!("+ {s}"), theme.ok()))
            }
            Shown::Line(DiffLine::Removed(s)) => {
                Line::from(Span::styled(format!("- {s}"), theme.error()))
            }
            Shown::Folded(n) => Line::from(Span::styled(
                format!("  ⋯ {n} unchanged lines"),
                theme.dim(),
            )),
        });
    }
    let top = state
        .scroll
        .min(lines.len().saturating_sub(area.height as usize));
    frame.render_widget(Paragraph::new(lines).scroll((top as u16, 0)), area);
}

fn footer_line(state: &State, ctx: &Ctx) -> Line<'static> {
    let hints: Vec<(&str, &str)> = match &state.mode {
        Mode::Adding(_) => vec![("tab", "next field"), ("enter", "stage"), ("esc", "cancel")],
        Mode::Editing(_) => vec![
            ("ctrl-s", "validate & stage"),
            ("ctrl-e", "$EDITOR"),
            ("esc", "leave"),
        ],
        _ => {
            let short = |keys: &str| match keys {
                "tab" => Some(if state.view == View::Table {
                    "document"
                } else {
                    "table"
                }),
                "a" => Some("add"),
                "d" => Some("remove"),
                "e" => Some("edit"),
                "E" => Some("$EDITOR"),
                "f" if matches!(state.staged, Some(super::doc::Doc::Gateway(_))) => {
                    Some("toml/json")
                }
                "D" => Some("diff"),
                "A" => Some("apply"),
                "r" => Some("reload"),
                "esc" => Some("back"),
                _ => None,
            };
            BINDINGS
                .iter()
                .filter(|b| !(ctx.readonly && b.mutates))
                .filter_map(|b| short(b.keys).map(|s| (b.keys, s)))
                .collect()
        }
    };
    let mut spans = Vec::new();
    for (keys, does) in hints {
        spans.push(Span::styled(keys.to_owned(), ctx.theme.title()));
        spans.push(Span::styled(format!(" {does}  "), ctx.theme.dim()));
    }
    Line::from(spans)
}

/// A box centred in `area`, at most `w` × `h`.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn prompt(frame: &mut Frame, area: Rect, ctx: &Ctx, title: &str, text: &str, keys: &str) {
    let width = (text.chars().count() as u16 + 4).clamp(30, area.width.saturating_sub(4).max(30));
    let inner_w = width.saturating_sub(2).max(1);
    let height = (text.chars().count() as u16).div_ceil(inner_w) + 4;
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    let block = Block::bordered().title(Span::styled(format!(" {title} "), ctx.theme.warn()));
    let p = Paragraph::new(vec![
        Line::from(text.to_owned()),
        Line::from(""),
        Line::from(Span::styled(keys.to_owned(), ctx.theme.dim())),
    ])
    .wrap(Wrap { trim: false })
    .block(block);
    frame.render_widget(p, rect);
}

fn draw_form(form: &AddForm, frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let theme = ctx.theme;
    let rect = centered(area, 72, form.fields.len() as u16 + 7);
    frame.render_widget(Clear, rect);
    let block = Block::bordered().title(Span::styled(" Add binding (staged) ", theme.title()));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let label_w = 11u16;
    let mut lines = Vec::new();
    let mut cursor = None;
    for (i, id) in form.fields.iter().enumerate() {
        let focused = i == form.focus;
        let (label, field): (&str, Option<&Field>) = match id {
            FieldId::Principal => ("principal", Some(&form.principal)),
            FieldId::Role => ("role", Some(&form.role)),
            FieldId::Actions => ("actions", Some(&form.actions)),
            FieldId::Effect => ("effect", None),
        };
        let value = match field {
            Some(f) => f.value().to_owned(),
            None if form.deny => "deny  (space toggles)".to_owned(),
            None => "allow (space toggles)".to_owned(),
        };
        let style = if focused {
            theme.selected()
        } else {
            theme.text()
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{label:>w$} ", w = label_w as usize - 1),
                theme.dim(),
            ),
            Span::styled(value, style),
        ]));
        if focused && let Some(f) = field {
            cursor = Some(Position::new(
                inner.x + label_w + f.cursor() as u16,
                inner.y + i as u16,
            ));
        }
    }
    lines.push(Line::from(""));
    let hint = if form.roles.is_empty() {
        "actions: comma separated".to_owned()
    } else {
        format!(
            "roles: {} · actions: comma separated, globs",
            form.roles.join(", ")
        )
    };
    lines.push(Line::from(Span::styled(hint, theme.dim())));
    if let Some(e) = &form.error {
        lines.push(Line::from(Span::styled(e.clone(), theme.error())));
    }
    lines.push(Line::from(Span::styled(
        "tab next field · enter stages · esc cancels",
        theme.dim(),
    )));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    if let Some(c) = cursor
        && c.x < inner.right()
    {
        frame.set_cursor_position(c);
    }
}
