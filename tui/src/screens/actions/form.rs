//! A small form: labelled text fields and choices, one focused, edited with the keyboard.
//! Used by every action dialog; it never validates (the dialog does, on submit), so nothing
//! the user typed is lost when a value is refused.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a field holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Free text.
    Text(String),
    /// One of a fixed list.
    Choice {
        /// The options, as shown.
        options: Vec<String>,
        /// The chosen one.
        index: usize,
    },
}

/// One labelled field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The label shown before the value; the dialog reads the field back by it.
    pub label: &'static str,
    /// What has been typed or chosen.
    pub value: Value,
    /// A hint shown next to the field (bounds, format).
    pub hint: String,
}

impl Field {
    /// A text field.
    pub fn text(label: &'static str, value: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            label,
            value: Value::Text(value.into()),
            hint: hint.into(),
        }
    }

    /// A choice field; `index` is clamped to the options.
    pub fn choice(label: &'static str, options: Vec<String>, index: usize) -> Self {
        let index = index.min(options.len().saturating_sub(1));
        Self {
            label,
            value: Value::Choice { options, index },
            hint: String::new(),
        }
    }

    /// The text, or the chosen option.
    pub fn as_str(&self) -> &str {
        match &self.value {
            Value::Text(t) => t,
            Value::Choice { options, index } => options.get(*index).map_or("", String::as_str),
        }
    }
}

/// A list of fields with one focused.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Form {
    /// The fields, top to bottom.
    pub fields: Vec<Field>,
    /// Index in `fields` of the field keys go to.
    pub focus: usize,
}

/// What a key press did to the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Edited or moved; stay open.
    Edited,
    /// `enter`: the user wants to submit.
    Submit,
    /// `esc`: the user wants to leave.
    Cancel,
    /// A key the form does not use.
    Ignored,
}

impl Form {
    /// A form of these fields, the first focused.
    pub fn new(fields: Vec<Field>) -> Self {
        Self { fields, focus: 0 }
    }

    /// What the field labelled `label` holds ([`Field::as_str`]); empty when there is none.
    pub fn get(&self, label: &str) -> &str {
        self.fields
            .iter()
            .find(|f| f.label == label)
            .map_or("", Field::as_str)
    }

    /// The field labelled `label`, to change.
    pub fn field_mut(&mut self, label: &str) -> Option<&mut Field> {
        self.fields.iter_mut().find(|f| f.label == label)
    }

    /// Applies one key press.
    pub fn input(&mut self, key: KeyEvent) -> Input {
        let len = self.fields.len();
        if len == 0 {
            return match key.code {
                KeyCode::Enter => Input::Submit,
                KeyCode::Esc => Input::Cancel,
                _ => Input::Ignored,
            };
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let Some(field) = self.fields.get_mut(self.focus) else {
            self.focus = 0;
            return Input::Edited;
        };
        match (key.code, &mut field.value) {
            (KeyCode::Enter, _) => return Input::Submit,
            (KeyCode::Esc, _) => return Input::Cancel,
            (KeyCode::Tab | KeyCode::Down, _) => self.focus = (self.focus + 1) % len,
            (KeyCode::BackTab | KeyCode::Up, _) => self.focus = (self.focus + len - 1) % len,
            (KeyCode::Left, Value::Choice { options, index }) if !options.is_empty() => {
                *index = (*index + options.len() - 1) % options.len();
            }
            (KeyCode::Right | KeyCode::Char(' '), Value::Choice { options, index })
                if !options.is_empty() =>
            {
                *index = (*index + 1) % options.len();
            }
            (KeyCode::Char('u'), Value::Text(t)) if ctrl => t.clear(),
            (KeyCode::Char(c), Value::Text(t)) if !ctrl => t.push(c),
            (KeyCode::Backspace, Value::Text(t)) => {
                t.pop();
            }
            _ => return Input::Ignored,
        }
        Input::Edited
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn typing_edits_the_focused_text_and_tab_moves() {
        let mut form = Form::new(vec![
            Field::text("name", "", ""),
            Field::choice("spec", vec!["A".into(), "B".into()], 0),
        ]);
        assert_eq!(form.input(key(KeyCode::Char('x'))), Input::Edited);
        assert_eq!(form.input(key(KeyCode::Char('y'))), Input::Edited);
        form.input(key(KeyCode::Backspace));
        assert_eq!(form.get("name"), "x");
        form.input(key(KeyCode::Tab));
        assert_eq!(form.focus, 1);
        form.input(key(KeyCode::Right));
        assert_eq!(form.get("spec"), "B");
        form.input(key(KeyCode::Right));
        assert_eq!(form.get("spec"), "A");
        form.input(key(KeyCode::Left));
        assert_eq!(form.get("spec"), "B");
        // Letters do nothing on a choice.
        assert_eq!(form.input(key(KeyCode::Char('z'))), Input::Ignored);
        form.input(key(KeyCode::BackTab));
        assert_eq!(form.focus, 0);
        assert_eq!(form.input(key(KeyCode::Enter)), Input::Submit);
        assert_eq!(form.input(key(KeyCode::Esc)), Input::Cancel);
        form.input(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert_eq!(form.get("name"), "");
    }
}
