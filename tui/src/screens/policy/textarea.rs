//! Text input without an external crate: a multi-line area for editing a document in the
//! console and a one-line field for forms. Positions are in characters, not bytes, so any
//! UTF-8 text is safe to edit.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Spaces a tab inserts (policy documents indent with spaces).
const TAB: &str = "  ";
/// Lines page-up/page-down move.
const PAGE: usize = 10;

/// A multi-line text being edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextArea {
    lines: Vec<String>,
    row: usize,
    col: usize,
}

impl Default for TextArea {
    fn default() -> Self {
        Self::new("")
    }
}

fn byte_at(line: &str, col: usize) -> usize {
    line.char_indices().nth(col).map_or(line.len(), |(i, _)| i)
}

fn char_len(line: &str) -> usize {
    line.chars().count()
}

impl TextArea {
    /// An area holding `text`, the cursor at its start.
    pub fn new(text: &str) -> Self {
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        if lines.is_empty() {
            lines.push(String::new());
        }
        Self {
            lines,
            row: 0,
            col: 0,
        }
    }

    /// The text, one newline after each line.
    pub fn text(&self) -> String {
        let mut s = self.lines.join("\n");
        s.push('\n');
        s
    }

    /// The lines.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// The cursor: 0-based line and character.
    pub fn cursor(&self) -> (usize, usize) {
        (self.row, self.col)
    }

    /// Moves the cursor to a 1-based line and column (a parser's error position), clamped.
    pub fn goto(&mut self, line: usize, column: usize) {
        self.row = line.saturating_sub(1).min(self.lines.len() - 1);
        self.col = column
            .saturating_sub(1)
            .min(char_len(&self.lines[self.row]));
    }

    fn line_len(&self) -> usize {
        char_len(&self.lines[self.row])
    }

    /// Applies a key; false when the area has no use for it.
    pub fn input(&mut self, key: KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char(c) if !ctrl => self.insert(&c.to_string()),
            KeyCode::Tab => self.insert(TAB),
            KeyCode::Enter => self.newline(),
            KeyCode::Backspace => self.backspace(),
            KeyCode::Delete => self.delete(),
            KeyCode::Left => {
                if self.col > 0 {
                    self.col -= 1;
                } else if self.row > 0 {
                    self.row -= 1;
                    self.col = self.line_len();
                }
            }
            KeyCode::Right => {
                if self.col < self.line_len() {
                    self.col += 1;
                } else if self.row + 1 < self.lines.len() {
                    self.row += 1;
                    self.col = 0;
                }
            }
            KeyCode::Up => self.vertical(-1),
            KeyCode::Down => self.vertical(1),
            KeyCode::PageUp => self.vertical(-(PAGE as isize)),
            KeyCode::PageDown => self.vertical(PAGE as isize),
            KeyCode::Home if ctrl => (self.row, self.col) = (0, 0),
            KeyCode::End if ctrl => {
                self.row = self.lines.len() - 1;
                self.col = self.line_len();
            }
            KeyCode::Home => self.col = 0,
            KeyCode::End => self.col = self.line_len(),
            _ => return false,
        }
        true
    }

    fn vertical(&mut self, by: isize) {
        self.row = self.row.saturating_add_signed(by).min(self.lines.len() - 1);
        self.col = self.col.min(self.line_len());
    }

    fn insert(&mut self, s: &str) {
        let at = byte_at(&self.lines[self.row], self.col);
        self.lines[self.row].insert_str(at, s);
        self.col += char_len(s);
    }

    /// Splits the line, carrying its indentation to the new one (what editors do, and what
    /// keeps TOML and JSON tidy).
    fn newline(&mut self) {
        let line = &mut self.lines[self.row];
        let at = byte_at(line, self.col);
        let rest = line.split_off(at);
        let indent: String = line.chars().take_while(|c| *c == ' ').collect();
        self.col = char_len(&indent);
        self.lines.insert(self.row + 1, indent + &rest);
        self.row += 1;
    }

    fn backspace(&mut self) {
        if self.col > 0 {
            let line = &mut self.lines[self.row];
            let at = byte_at(line, self.col - 1);
            line.remove(at);
            self.col -= 1;
        } else if self.row > 0 {
            let line = self.lines.remove(self.row);
            self.row -= 1;
            self.col = self.line_len();
            self.lines[self.row].push_str(&line);
        }
    }

    fn delete(&mut self) {
        if self.col < self.line_len() {
            let line = &mut self.lines[self.row];
            let at = byte_at(line, self.col);
            line.remove(at);
        } else if self.row + 1 < self.lines.len() {
            let next = self.lines.remove(self.row + 1);
            self.lines[self.row].push_str(&next);
        }
    }
}

/// A one-line text field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Field {
    value: String,
    cursor: usize,
}

impl Field {
    /// The text typed.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The cursor, in characters.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Applies a key; false when the field has no use for it.
    pub fn input(&mut self, key: KeyEvent) -> bool {
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            return false;
        }
        let len = char_len(&self.value);
        match key.code {
            KeyCode::Char(c) => {
                self.value.insert(byte_at(&self.value, self.cursor), c);
                self.cursor += 1;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                self.value.remove(byte_at(&self.value, self.cursor));
            }
            KeyCode::Delete if self.cursor < len => {
                self.value.remove(byte_at(&self.value, self.cursor));
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(len),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = len,
            KeyCode::Backspace | KeyCode::Delete => {}
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn typed(area: &mut TextArea, s: &str) {
        for c in s.chars() {
            area.input(k(if c == '\n' {
                KeyCode::Enter
            } else {
                KeyCode::Char(c)
            }));
        }
    }

    #[test]
    fn typing_newlines_and_indentation() {
        let mut a = TextArea::new("");
        typed(&mut a, "[x]\n  a = 1\nb = 2");
        assert_eq!(
            a.text(),
            "[x]\n  a = 1\n  b = 2\n",
            "indentation carries over"
        );
        assert_eq!(a.cursor(), (2, 7));
    }

    #[test]
    fn backspace_and_delete_join_lines() {
        let mut a = TextArea::new("ab\ncd");
        a.input(k(KeyCode::Down));
        a.input(k(KeyCode::Backspace));
        assert_eq!(a.text(), "abcd\n");
        assert_eq!(a.cursor(), (0, 2));
        a.input(k(KeyCode::Delete));
        assert_eq!(a.text(), "abd\n");
        a.input(k(KeyCode::End));
        a.input(k(KeyCode::Delete));
        assert_eq!(a.text(), "abd\n", "delete at the very end does nothing");
        a.input(k(KeyCode::Home));
        a.input(k(KeyCode::Backspace));
        assert_eq!(
            a.text(),
            "abd\n",
            "backspace at the very start does nothing"
        );
    }

    #[test]
    fn movement_wraps_and_clamps_on_multibyte_text() {
        let mut a = TextArea::new("héllo\nü");
        a.input(k(KeyCode::End));
        assert_eq!(a.cursor(), (0, 5));
        a.input(k(KeyCode::Right));
        assert_eq!(a.cursor(), (1, 0));
        a.input(k(KeyCode::Left));
        assert_eq!(a.cursor(), (0, 5));
        a.input(k(KeyCode::Down));
        assert_eq!(a.cursor(), (1, 1), "clamped to the shorter line");
        a.input(k(KeyCode::Char('x')));
        assert_eq!(a.text(), "héllo\nüx\n");
        a.goto(1, 3);
        assert_eq!(a.cursor(), (0, 2));
        a.goto(99, 99);
        assert_eq!(a.cursor(), (1, 2));
        assert!(!a.input(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)));
    }

    #[test]
    fn a_field_edits_one_line() {
        let mut f = Field::default();
        for c in "alce".chars() {
            f.input(k(KeyCode::Char(c)));
        }
        f.input(k(KeyCode::Left));
        f.input(k(KeyCode::Left));
        f.input(k(KeyCode::Char('i')));
        assert_eq!(f.value(), "alice");
        f.input(k(KeyCode::End));
        f.input(k(KeyCode::Backspace));
        assert_eq!((f.value(), f.cursor()), ("alic", 4));
        assert!(!f.input(k(KeyCode::Enter)));
    }
}
