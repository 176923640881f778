//! Key bindings in one table per screen plus the global ones; the help overlay lists exactly
//! these, so help and behaviour cannot drift.

/// One binding, as help shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// The keys, as written in help (`/`, `ctrl-c`, `enter`).
    pub keys: &'static str,
    /// What pressing the keys does, as help describes it.
    pub does: &'static str,
    /// Hidden under `--readonly` (a mutation).
    pub mutates: bool,
}

/// Bindings that work on every screen.
pub const GLOBAL: &[Binding] = &[
    Binding {
        keys: ":",
        does: "command palette (commands below)",
        mutates: false,
    },
    Binding {
        keys: "?",
        does: "this help",
        mutates: false,
    },
    Binding {
        keys: "esc",
        does: "back / close",
        mutates: false,
    },
    Binding {
        keys: "q",
        does: "quit",
        mutates: false,
    },
    Binding {
        keys: "ctrl-c",
        does: "quit",
        mutates: false,
    },
];

/// The key presses a binding's `keys` text names (`"j, down"` is `j` and `↓`; `ctrl-r`,
/// `enter`, `esc`, `pgdn`...), so tests can check that every listed binding does something.
/// `None` for a name it does not know.
pub fn parse(keys: &str) -> Option<Vec<ratatui::crossterm::event::KeyEvent>> {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    keys.split(", ")
        .map(|k| {
            let (mods, name) = match k.strip_prefix("ctrl-") {
                Some(rest) => (KeyModifiers::CONTROL, rest),
                None => (KeyModifiers::NONE, k),
            };
            let code = match name {
                "enter" => KeyCode::Enter,
                "esc" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "pgup" => KeyCode::PageUp,
                "pgdn" => KeyCode::PageDown,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "space" => KeyCode::Char(' '),
                "backspace" => KeyCode::Backspace,
                one if one.chars().count() == 1 => KeyCode::Char(one.chars().next()?),
                _ => return None,
            };
            Some(KeyEvent::new(code, mods))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};

    use super::*;

    #[test]
    fn binding_texts_parse() {
        let keys = parse("j, down").unwrap_or_default();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1].code, KeyCode::Down);
        let ctrl = parse("ctrl-c").unwrap_or_default();
        assert_eq!(ctrl[0].modifiers, KeyModifiers::CONTROL);
        assert!(parse("hyper-x").is_none());
        for b in GLOBAL {
            assert!(parse(b.keys).is_some(), "{}", b.keys);
        }
    }
}
