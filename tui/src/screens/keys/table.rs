//! The keys table: rows with a precomputed search text, sort columns, and drawing only the
//! rows that fit (the screen keeps index vectors into the rows, never copies of them).

use std::cmp::Ordering;

use keygate_core::{KeyMetadata, KeyState};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Row as TableRow, Table};

use crate::fmt;
use crate::screens::Ctx;

/// One key as the table holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The key's metadata, as its provider listed it.
    pub meta: KeyMetadata,
    /// Its aliases (without `alias/`), sorted.
    pub aliases: Vec<String>,
    /// Lower-case name, aliases, URI and description: what free-text filtering searches,
    /// built once per load instead of once per keystroke.
    hay: Box<str>,
}

impl Row {
    /// A row for `meta` with its aliases.
    pub fn new(meta: KeyMetadata, mut aliases: Vec<String>) -> Self {
        aliases.sort();
        let mut hay = String::with_capacity(meta.name.len() + meta.uri.len() + 16);
        hay.push_str(&meta.name);
        for a in &aliases {
            hay.push_str("\u{1f}alias/");
            hay.push_str(a);
        }
        hay.push('\u{1f}');
        hay.push_str(&meta.uri);
        if !meta.description.is_empty() {
            hay.push('\u{1f}');
            hay.push_str(&meta.description);
        }
        Self {
            meta,
            aliases,
            hay: hay.to_lowercase().into_boxed_str(),
        }
    }

    /// The search text (lower case).
    pub fn haystack(&self) -> &str {
        &self.hay
    }

    /// The name with its alias, as the NAME column shows it.
    pub fn display_name(&self) -> String {
        match self.aliases.as_slice() {
            [] => self.meta.name.clone(),
            [one] => format!("{} (alias/{one})", self.meta.name),
            [first, rest @ ..] => format!("{} (alias/{first} +{})", self.meta.name, rest.len()),
        }
    }
}

/// A sortable column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Column {
    /// Provider name.
    Provider,
    /// Key name.
    #[default]
    Name,
    /// Spec.
    Spec,
    /// Usage.
    Usage,
    /// Lifecycle state.
    State,
    /// Rotation period.
    Rotation,
    /// Next rotation time.
    NextRotation,
    /// Creation time.
    Created,
}

impl Column {
    /// Every column, in table order.
    pub const ALL: [Column; 8] = [
        Self::Provider,
        Self::Name,
        Self::Spec,
        Self::Usage,
        Self::State,
        Self::Rotation,
        Self::NextRotation,
        Self::Created,
    ];

    /// The header text.
    pub fn title(self) -> &'static str {
        match self {
            Self::Provider => "PROVIDER",
            Self::Name => "NAME",
            Self::Spec => "SPEC",
            Self::Usage => "USAGE",
            Self::State => "STATE",
            Self::Rotation => "ROTATION",
            Self::NextRotation => "NEXT ROTATION",
            Self::Created => "CREATED",
        }
    }

    /// The column after this one (wrapping), for `s`.
    pub fn next(self) -> Self {
        let i = Self::ALL.iter().position(|c| *c == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }

    /// The header text on a narrow terminal.
    fn short_title(self) -> &'static str {
        match self {
            Self::NextRotation => "NEXT",
            other => other.title(),
        }
    }

    fn width(self, narrow: bool) -> Constraint {
        match self {
            Self::Provider => Constraint::Length(10),
            Self::Name => Constraint::Fill(1),
            Self::Spec => Constraint::Length(11),
            Self::Usage => Constraint::Length(7),
            Self::State if narrow => Constraint::Length(9),
            Self::State => Constraint::Length(19),
            Self::Rotation => Constraint::Length(8),
            Self::NextRotation if narrow => Constraint::Length(10),
            Self::NextRotation => Constraint::Length(13),
            Self::Created => Constraint::Length(10),
        }
    }
}

/// The columns that fit in `width`: the least useful go first on narrow terminals.
pub fn columns_for(width: u16) -> &'static [Column] {
    if is_narrow(width) {
        return &NARROW;
    }
    const MEDIUM: [Column; 7] = [
        Column::Provider,
        Column::Name,
        Column::Spec,
        Column::Usage,
        Column::State,
        Column::Rotation,
        Column::NextRotation,
    ];
    match width {
        0..115 => &MEDIUM,
        _ => &Column::ALL,
    }
}

const NARROW: [Column; 6] = [
    Column::Provider,
    Column::Name,
    Column::Spec,
    Column::State,
    Column::Rotation,
    Column::NextRotation,
];

fn is_narrow(width: u16) -> bool {
    width < 100
}

fn state_rank(s: &KeyState) -> u8 {
    match s {
        KeyState::Enabled => 0,
        KeyState::Disabled => 1,
        KeyState::PendingDeletion { .. } => 2,
        _ => 3,
    }
}

/// Orders two rows by `col`, then by provider, name and URI so equal values keep a stable,
/// meaningful order.
pub fn compare(a: &Row, b: &Row, col: Column) -> Ordering {
    let (x, y) = (&a.meta, &b.meta);
    let first = match col {
        Column::Provider => x.provider.cmp(&y.provider),
        Column::Name => x.name.cmp(&y.name),
        Column::Spec => x.spec.cmp(&y.spec),
        Column::Usage => x.usage.as_str().cmp(y.usage.as_str()),
        Column::State => state_rank(&x.state).cmp(&state_rank(&y.state)),
        // Keys without rotation sort last either way.
        Column::Rotation => cmp_opt(
            x.rotation.map(|r| r.period_days),
            y.rotation.map(|r| r.period_days),
        ),
        Column::NextRotation => cmp_opt(
            x.rotation.and_then(|r| r.next_rotation),
            y.rotation.and_then(|r| r.next_rotation),
        ),
        Column::Created => x.created.cmp(&y.created),
    };
    first
        .then_with(|| x.provider.cmp(&y.provider))
        .then_with(|| x.name.cmp(&y.name))
        .then_with(|| x.uri.cmp(&y.uri))
}

fn cmp_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

fn cell(row: &Row, col: Column, narrow: bool, ctx: &Ctx) -> Cell<'static> {
    let k = &row.meta;
    let t = &ctx.theme;
    match col {
        Column::Provider => Cell::from(k.provider.clone()),
        Column::Name => Cell::from(row.display_name()),
        Column::Spec => Cell::from(k.spec.as_str()),
        Column::Usage => Cell::from(k.usage.as_str()),
        Column::State => match k.state {
            KeyState::Enabled => Cell::from(Span::styled("enabled", t.ok())),
            KeyState::Disabled => Cell::from(Span::styled("disabled", t.warn())),
            KeyState::PendingImport => Cell::from(Span::styled("pending import", t.warn())),
            KeyState::PendingDeletion { .. } if narrow => {
                Cell::from(Span::styled("deleting", t.error()))
            }
            KeyState::PendingDeletion { deletion_date } => Cell::from(Span::styled(
                format!("deleting {}", fmt::date(deletion_date)),
                t.error(),
            )),
            other => Cell::from(Span::styled(other.as_str(), t.error())),
        },
        Column::Rotation => match k.rotation {
            Some(r) => Cell::from(format!("{}d", r.period_days)),
            None => Cell::from(Span::styled("off", t.dim())),
        },
        Column::NextRotation => match k.rotation.and_then(|r| r.next_rotation) {
            Some(n) if n < ctx.now => Cell::from(Span::styled("overdue", t.warn())),
            Some(n) => Cell::from(fmt::date(n)),
            None => Cell::from(Span::styled("—", t.dim())),
        },
        Column::Created => Cell::from(fmt::date(k.created)),
    }
}

/// What the table draws.
#[derive(Debug)]
pub struct View<'a> {
    /// Every row.
    pub rows: &'a [Row],
    /// The rows shown, in order (indices into `rows`).
    pub visible: &'a [u32],
    /// First shown position in `visible`.
    pub offset: usize,
    /// Selected position in `visible`.
    pub selected: usize,
    /// Sort column and direction.
    pub sort: (Column, bool),
    /// The block title.
    pub title: Line<'a>,
}

/// Draws the table into `area`, building cells only for the rows that fit.
pub fn draw(v: &View, frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let t = &ctx.theme;
    let cols = columns_for(area.width);
    let narrow = is_narrow(area.width);
    // The first column marks the selected row, so it shows without colour too.
    let header = TableRow::new(std::iter::once(Cell::from(" ")).chain(cols.iter().map(|c| {
        let arrow = match v.sort {
            (s, false) if s == *c => " ▲",
            (s, true) if s == *c => " ▼",
            _ => "",
        };
        let title = if narrow { c.short_title() } else { c.title() };
        Cell::from(format!("{title}{arrow}"))
    })))
    .style(t.title());
    let height = usize::from(area.height.saturating_sub(3));
    let rows = v
        .visible
        .iter()
        .enumerate()
        .skip(v.offset)
        .take(height)
        .filter_map(|(pos, &i)| {
            let row = v.rows.get(i as usize)?;
            let (style, marker) = if pos == v.selected {
                (t.selected(), "›")
            } else {
                (Style::new(), " ")
            };
            let cells = std::iter::once(Cell::from(marker))
                .chain(cols.iter().map(|c| cell(row, *c, narrow, ctx)));
            Some(TableRow::new(cells).style(style))
        });
    let widths = std::iter::once(Constraint::Length(1)).chain(cols.iter().map(|c| c.width(narrow)));
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(Block::bordered().title(v.title.clone()));
    frame.render_widget(table, area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn names_show_aliases_and_columns_cycle() {
        let k = fixtures::key("local", "pay", keygate_core::KeySpec::Aes256);
        assert_eq!(Row::new(k.clone(), vec![]).display_name(), "pay");
        assert_eq!(
            Row::new(k.clone(), vec!["p".into()]).display_name(),
            "pay (alias/p)"
        );
        let two = Row::new(k, vec!["q".into(), "p".into()]);
        assert_eq!(two.display_name(), "pay (alias/p +1)");
        assert!(two.haystack().contains("alias/q"));
        let mut c = Column::default();
        for _ in 0..Column::ALL.len() {
            c = c.next();
        }
        assert_eq!(c, Column::default());
    }

    #[test]
    fn rows_without_rotation_sort_last() {
        let mut all = fixtures::keys("local");
        all.extend(fixtures::keys("aws"));
        let mut rows: Vec<Row> = all.into_iter().map(|k| Row::new(k, vec![])).collect();
        rows.sort_by(|a, b| compare(a, b, Column::Rotation));
        let names: Vec<&str> = rows.iter().map(|r| r.meta.name.as_str()).collect();
        assert_eq!(names[..2], ["payments", "orders"]);
    }
}
