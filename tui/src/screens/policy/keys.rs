//! The editor's key bindings and what each key means in each mode.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{Mode, Msg, State, View};
use crate::keymap::Binding;
use crate::screens::Ctx;

/// The editor's bindings, as help lists them.
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: "tab",
        does: "bindings table ↔ document",
        mutates: false,
    },
    Binding {
        keys: "j/k ↑/↓ pgup/pgdn g/G",
        does: "select / scroll",
        mutates: false,
    },
    Binding {
        keys: "a",
        does: "add a binding (staged)",
        mutates: true,
    },
    Binding {
        keys: "d",
        does: "remove the selected binding (staged)",
        mutates: true,
    },
    Binding {
        keys: "e",
        does: "edit the document here (ctrl-s validates and stages, esc leaves)",
        mutates: true,
    },
    Binding {
        keys: "E",
        does: "edit the document in $VISUAL/$EDITOR",
        mutates: true,
    },
    Binding {
        keys: "f",
        does: "gateway policy as TOML ↔ JSON",
        mutates: false,
    },
    Binding {
        keys: "D",
        does: "diff: current policy → staged",
        mutates: false,
    },
    Binding {
        keys: "A",
        does: "apply the staged changes (asks first)",
        mutates: true,
    },
    Binding {
        keys: "r",
        does: "reload",
        mutates: false,
    },
    Binding {
        keys: "esc",
        does: "back (asks before dropping staged changes)",
        mutates: false,
    },
];

impl State {
    /// The message a key press means here, if any.
    pub fn on_key(&self, key: KeyEvent, _ctx: &Ctx) -> Option<Msg> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match &self.mode {
            Mode::Adding(_) => Some(match key.code {
                KeyCode::Esc => Msg::Back,
                KeyCode::Enter => Msg::Submit,
                _ => Msg::Input(key),
            }),
            Mode::Editing(ed) if ed.confirm_discard => Some(match key.code {
                KeyCode::Char('y' | 'Y') => Msg::Confirm(true),
                _ => Msg::Confirm(false),
            }),
            Mode::Editing(_) => Some(match key.code {
                KeyCode::Esc => Msg::Back,
                KeyCode::Char('s') if ctrl => Msg::Submit,
                KeyCode::Char('e') if ctrl => Msg::EditExternal,
                _ => Msg::Input(key),
            }),
            // `y` confirms; any other key cancels (never a surprise quit from a prompt).
            Mode::ConfirmRemove(_) | Mode::Confirm(_) => {
                Some(Msg::Confirm(matches!(key.code, KeyCode::Char('y' | 'Y'))))
            }
            Mode::Applying => None,
            Mode::Normal => self.normal_key(key),
        }
    }

    fn normal_key(&self, key: KeyEvent) -> Option<Msg> {
        Some(match key.code {
            KeyCode::Tab => Msg::ToggleView,
            KeyCode::Down | KeyCode::Char('j') => Msg::Move(1),
            KeyCode::Up | KeyCode::Char('k') => Msg::Move(-1),
            KeyCode::PageDown => Msg::Move(10),
            KeyCode::PageUp => Msg::Move(-10),
            KeyCode::Home | KeyCode::Char('g') => Msg::Move(isize::MIN),
            KeyCode::End | KeyCode::Char('G') => Msg::Move(isize::MAX),
            KeyCode::Char('a') => Msg::Add,
            KeyCode::Char('d') => Msg::Remove,
            KeyCode::Char('e') => Msg::EditInApp,
            KeyCode::Char('E') => Msg::EditExternal,
            KeyCode::Char('f') => Msg::ToggleFormat,
            KeyCode::Char('D') => Msg::ShowDiff,
            KeyCode::Char('A') => Msg::Apply,
            KeyCode::Char('r') => Msg::Refresh,
            // Esc leaves through the app (global back) unless something here must close or
            // ask first.
            KeyCode::Esc if self.view == View::Diff || self.is_dirty() => Msg::Back,
            _ => return None,
        })
    }
}
