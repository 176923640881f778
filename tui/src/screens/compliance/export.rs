//! The export dialog: pick a format, then confirm or edit the file name.

use keygate_core::compliance::Report;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use time::OffsetDateTime;

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Markdown (`.md`).
    Markdown,
    /// CSV (`.csv`).
    Csv,
    /// JSON (`.json`).
    Json,
}

impl Format {
    /// The file extension.
    pub fn ext(self) -> &'static str {
        match self {
            Self::Markdown => "md",
            Self::Csv => "csv",
            Self::Json => "json",
        }
    }

    /// The report in this format.
    pub fn render(self, report: &Report) -> String {
        match self {
            Self::Markdown => report.to_markdown(),
            Self::Csv => report.to_csv(),
            Self::Json => report.to_json(),
        }
    }
}

/// The dialog's state: no format yet, or a format and the path being edited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Export {
    /// The chosen format.
    pub format: Option<Format>,
    /// The file to write (relative: in the current directory).
    pub path: String,
    /// Why the last enter was refused.
    pub error: Option<String>,
}

/// What a key press in the dialog leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Keep the dialog open.
    Stay,
    /// Close it.
    Cancel,
    /// Write the report.
    Write {
        /// Where.
        path: String,
        /// How.
        format: Format,
    },
}

/// `keygate-compliance-2026-11-23.md`.
pub fn default_path(format: Format, now: OffsetDateTime) -> String {
    format!(
        "keygate-compliance-{}.{}",
        crate::fmt::date(now),
        format.ext()
    )
}

impl Export {
    /// Handles one key press.
    pub fn handle(&mut self, key: KeyEvent, now: OffsetDateTime) -> Step {
        if key.code == KeyCode::Esc {
            return Step::Cancel;
        }
        let Some(format) = self.format else {
            let format = match key.code {
                KeyCode::Char('m') => Format::Markdown,
                KeyCode::Char('c') => Format::Csv,
                KeyCode::Char('j') => Format::Json,
                _ => return Step::Stay,
            };
            self.format = Some(format);
            self.path = default_path(format, now);
            return Step::Stay;
        };
        self.error = None;
        match key.code {
            KeyCode::Enter => {
                let path = self.path.trim();
                if path.is_empty() {
                    self.error = Some("type a file name".to_owned());
                    return Step::Stay;
                }
                Step::Write {
                    path: path.to_owned(),
                    format,
                }
            }
            KeyCode::Backspace => {
                self.path.pop();
                Step::Stay
            }
            // ctrl-u clears the line, as in a shell, to type another path.
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.path.clear();
                Step::Stay
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.path.push(c);
                Step::Stay
            }
            _ => Step::Stay,
        }
    }
}
