//! Colours and styles, with a monochrome variant for `NO_COLOR`.

use ratatui::style::{Color, Modifier, Style};

/// The console's styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// False under `NO_COLOR`: emphasis by modifiers only.
    pub color: bool,
}

impl Theme {
    /// The theme the environment asks for (`NO_COLOR` set and non-empty: monochrome).
    pub fn from_env() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self { color: !no_color }
    }

    /// A coloured theme (tests).
    pub const fn colored() -> Self {
        Self { color: true }
    }

    fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    /// Plain text.
    pub fn text(&self) -> Style {
        Style::new()
    }

    /// De-emphasised text (hints, timestamps).
    pub fn dim(&self) -> Style {
        self.fg(Color::DarkGray).add_modifier(Modifier::DIM)
    }

    /// Titles and headers.
    pub fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// The selected row.
    pub fn selected(&self) -> Style {
        if self.color {
            Style::new().bg(Color::Blue).fg(Color::White)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    /// Good news (enabled, verified, success).
    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }

    /// Needs attention (disabled, overdue, paused).
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }

    /// Bad news (errors, pending deletion, denied).
    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
}
