//! Key bindings in one table per screen plus the global ones; the help overlay lists exactly
//! these, so help and behaviour cannot drift.

/// One binding, as help shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// The keys, as written in help (`/`, `ctrl-c`, `enter`).
    pub keys: &'static str,
    /// What it does.
    pub does: &'static str,
    /// Hidden under `--readonly` (a mutation).
    pub mutates: bool,
}

/// Bindings that work on every screen.
pub const GLOBAL: &[Binding] = &[
    Binding {
        keys: ":",
        does: "command palette (:keys, :audit, :compliance, :provider <name>)",
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
