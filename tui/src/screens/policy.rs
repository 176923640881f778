//! The policy editor: a key's own policy or the gateway access policy, as a bindings table
//! and as its native document; edits are staged, validated, shown as a diff and applied only
//! after an explicit confirmation.
//!
//! Nothing reaches the gateway until `A` then `y`: adding and removing bindings, editing the
//! document in the console (`e`) or in `$EDITOR` (`E`) all change a staged copy. An edit
//! that does not parse or validate keeps its text and shows the error where it is; a failed
//! apply (a stale etag, a denied call) keeps the staged copy.

mod diff;
pub mod doc;
mod form;
mod io;
mod keys;
mod native;
mod textarea;
mod view;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
pub(crate) mod io_tests;
#[cfg(test)]
mod snapshots;
#[cfg(test)]
mod tests;

use keygate_core::ErrorKind;
use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;

use self::diff::{DiffLine, counts, diff_lines};
use self::doc::{Doc, Invalid, KeyKind, Row, TextFormat};
use self::form::AddForm;
pub use self::io::run;
pub use self::keys::BINDINGS;
use self::textarea::TextArea;
use super::{Ctx, Effect, Notice};
use crate::app::{Action, EditRequest, PolicyTarget, readonly_notice};

/// Which view is on screen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum View {
    #[default]
    Table,
    Document,
    Diff,
}

/// Loading state.
#[derive(Debug, Clone, Default, PartialEq)]
enum Load {
    #[default]
    Idle,
    Loading,
    Failed(Failure),
    Ready,
}

/// The in-console document editor.
#[derive(Debug, Clone, PartialEq)]
struct Editor {
    area: TextArea,
    /// The text it started from: leaving an unchanged editor asks nothing.
    origin: String,
    /// Why the last validation failed.
    error: Option<Invalid>,
    /// Asking whether to drop the edit.
    confirm_discard: bool,
}

/// What `y` confirms when a prompt is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prompt {
    /// Drop the staged changes and leave.
    DiscardAndLeave,
    /// Drop the staged changes and reload.
    DiscardAndReload,
    /// Apply the staged changes.
    Apply,
}

/// What the keyboard is doing.
#[derive(Debug, Clone, Default, PartialEq)]
enum Mode {
    #[default]
    Normal,
    Adding(AddForm),
    ConfirmRemove(Row),
    Editing(Editor),
    Confirm(Prompt),
    Applying,
}

/// The screen's state.
#[derive(Debug, Clone, Default)]
pub struct State {
    target: Option<PolicyTarget>,
    load: Load,
    title: String,
    original: Option<Doc>,
    staged: Option<Doc>,
    format: TextFormat,
    /// Current → staged, in the canonical text form; recomputed whenever either changes.
    diff: Vec<DiffLine>,
    view: View,
    selected: usize,
    scroll: usize,
    mode: Mode,
    /// The last failed apply, shown until the next one.
    error: Option<String>,
}

/// A failed gateway call, as the screen shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// What kind of error it was, which picks the hint shown with it.
    pub kind: ErrorKind,
    /// What went wrong, as the screen shows it.
    pub message: String,
}

impl From<keygate_core::Error> for Failure {
    fn from(e: keygate_core::Error) -> Self {
        Self {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// A loaded policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The policy as loaded: what staged edits are compared with.
    pub doc: Doc,
    /// What it is the policy of, for the title.
    pub title: String,
}

/// What can happen to it.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// Open the editor on a policy.
    Open(PolicyTarget),
    /// Reload from the gateway.
    Refresh,
    /// A policy arrived (or could not be loaded).
    Loaded(PolicyTarget, Box<Result<Loaded, Failure>>),
    /// Move the selection (table) or scroll (document, diff) by this many lines.
    Move(isize),
    /// Table ↔ document.
    ToggleView,
    /// Gateway policy text as TOML ↔ JSON.
    ToggleFormat,
    /// Show the diff of the staged changes.
    ShowDiff,
    /// Open the add-binding form.
    Add,
    /// Remove the selected binding (asks first).
    Remove,
    /// Edit the document in the console.
    EditInApp,
    /// Edit the document in `$EDITOR`.
    EditExternal,
    /// The external editor's result.
    Edited(Result<String, String>),
    /// A key typed into the form or the in-console editor.
    Input(KeyEvent),
    /// Submit the form or the in-console edit.
    Submit,
    /// Apply the staged changes (asks first).
    Apply,
    /// The answer to the prompt on screen.
    Confirm(bool),
    /// Esc: close what is open, or leave.
    Back,
    /// The apply finished.
    Applied(Result<(), Failure>),
}

/// I/O it asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    /// Load a policy.
    Load(PolicyTarget),
    /// Store a policy (with its etag, when it has one).
    Apply(PolicyTarget, Box<Doc>),
}

fn info(text: impl Into<String>) -> Vec<Effect<Cmd>> {
    vec![Effect::Notify(Notice::info(text))]
}

fn error(text: impl Into<String>) -> Vec<Effect<Cmd>> {
    vec![Effect::Notify(Notice::error(text))]
}

impl State {
    /// True when the staged document differs from the loaded one.
    pub fn is_dirty(&self) -> bool {
        self.diff.iter().any(|l| !matches!(l, DiffLine::Same(_)))
    }

    fn restage(&mut self) {
        self.diff = match (&self.original, &self.staged) {
            (Some(o), Some(s)) => diff_lines(&o.text(self.format), &s.text(self.format)),
            _ => Vec::new(),
        };
    }

    fn rows(&self) -> Vec<Row> {
        self.staged.as_ref().map(Doc::rows).unwrap_or_default()
    }

    fn load(&mut self) -> Vec<Effect<Cmd>> {
        let Some(target) = self.target.clone() else {
            return Vec::new();
        };
        self.load = Load::Loading;
        vec![Effect::Run(Cmd::Load(target))]
    }

    /// Applies a message.
    pub fn update(&mut self, msg: Msg, ctx: &Ctx) -> Vec<Effect<Cmd>> {
        let mutation = matches!(
            msg,
            Msg::Add
                | Msg::Remove
                | Msg::EditInApp
                | Msg::EditExternal
                | Msg::Edited(_)
                | Msg::Submit
                | Msg::Apply
        );
        if ctx.readonly && mutation {
            return vec![Effect::Notify(readonly_notice())];
        }
        match msg {
            Msg::Open(target) => {
                if self.target.as_ref() == Some(&target) && self.is_dirty() {
                    // Coming back to staged work: keep it (and its etag) rather than reload.
                    return Vec::new();
                }
                *self = Self {
                    target: Some(target),
                    ..Self::default()
                };
                self.load()
            }
            Msg::Refresh if self.is_dirty() => {
                self.mode = Mode::Confirm(Prompt::DiscardAndReload);
                Vec::new()
            }
            Msg::Refresh => self.load(),
            Msg::Loaded(target, result) => self.loaded(target, *result),
            Msg::Move(by) => {
                self.step(by);
                Vec::new()
            }
            Msg::ToggleView => {
                self.view = match self.view {
                    View::Table => View::Document,
                    View::Document | View::Diff => View::Table,
                };
                self.scroll = 0;
                Vec::new()
            }
            Msg::ToggleFormat => self.toggle_format(),
            Msg::ShowDiff => {
                self.view = View::Diff;
                self.scroll = 0;
                Vec::new()
            }
            Msg::Add => self.add(),
            Msg::Remove => self.remove(),
            Msg::EditInApp => {
                let Some(doc) = &self.staged else {
                    return Vec::new();
                };
                let text = doc.text(self.format);
                self.mode = Mode::Editing(Editor {
                    area: TextArea::new(&text),
                    origin: text,
                    error: None,
                    confirm_discard: false,
                });
                self.view = View::Document;
                Vec::new()
            }
            Msg::EditExternal => self.edit_external(),
            Msg::Edited(Err(e)) => error(format!("editor: {e}")),
            Msg::Edited(Ok(text)) => self.stage_text(text),
            Msg::Input(key) => {
                match &mut self.mode {
                    Mode::Adding(form) => form.input(key),
                    Mode::Editing(ed) if !ed.confirm_discard => _ = ed.area.input(key),
                    _ => {}
                }
                Vec::new()
            }
            Msg::Submit => self.submit(),
            Msg::Apply => {
                if !self.is_dirty() {
                    return info("nothing staged to apply");
                }
                self.view = View::Diff;
                self.scroll = 0;
                self.mode = Mode::Confirm(Prompt::Apply);
                Vec::new()
            }
            Msg::Confirm(yes) => self.confirm(yes, ctx),
            Msg::Back => self.back(),
            Msg::Applied(Ok(())) => {
                self.mode = Mode::Normal;
                self.error = None;
                self.original.clone_from(&self.staged);
                self.restage();
                let mut effects = info("policy applied");
                effects.extend(self.load());
                effects
            }
            Msg::Applied(Err(f)) => {
                self.mode = Mode::Normal;
                let hint = match f.kind {
                    ErrorKind::InvalidState | ErrorKind::AlreadyExists => {
                        " — the policy changed since it was loaded; r reloads (drops the staged changes)"
                    }
                    ErrorKind::PermissionDenied => " — the staged changes are kept",
                    _ => "",
                };
                let text = format!("apply failed: {}{hint}", f.message);
                self.error = Some(text.clone());
                error(text)
            }
        }
    }

    fn loaded(
        &mut self,
        target: PolicyTarget,
        result: Result<Loaded, Failure>,
    ) -> Vec<Effect<Cmd>> {
        if self.target.as_ref() != Some(&target) {
            // An answer for a policy the user has since left.
            return Vec::new();
        }
        match result {
            Ok(l) => {
                self.title = l.title;
                self.original = Some(l.doc.clone());
                self.staged = Some(l.doc);
                self.load = Load::Ready;
                self.restage();
                self.step(0);
            }
            Err(f) => self.load = Load::Failed(f),
        }
        Vec::new()
    }

    fn step(&mut self, by: isize) {
        let clamp = |at: usize, len: usize| at.saturating_add_signed(by).min(len.saturating_sub(1));
        match self.view {
            View::Table => self.selected = clamp(self.selected, self.rows().len()),
            View::Document => {
                let len = self
                    .staged
                    .as_ref()
                    .map_or(0, |d| d.text(self.format).lines().count());
                self.scroll = clamp(self.scroll, len);
            }
            View::Diff => self.scroll = clamp(self.scroll, self.diff.len()),
        }
    }

    fn toggle_format(&mut self) -> Vec<Effect<Cmd>> {
        if !matches!(self.staged, Some(Doc::Gateway(_))) {
            return info("only the gateway policy has both a TOML and a JSON form");
        }
        self.format = match self.format {
            TextFormat::Toml => TextFormat::Json,
            TextFormat::Json => TextFormat::Toml,
        };
        self.scroll = 0;
        self.restage();
        Vec::new()
    }

    fn add(&mut self) -> Vec<Effect<Cmd>> {
        let Some(doc) = &self.staged else {
            return Vec::new();
        };
        if let (Some(KeyKind::Opaque), Doc::Key(p)) = (doc.key_kind(), doc) {
            return error(doc::opaque_refusal(p));
        }
        self.mode = Mode::Adding(AddForm::new(doc.key_kind(), doc.role_names()));
        self.view = View::Table;
        Vec::new()
    }

    fn remove(&mut self) -> Vec<Effect<Cmd>> {
        let Some(row) = self.rows().get(self.selected).cloned() else {
            return info("no binding selected");
        };
        match (&row.source, &self.staged) {
            (None, Some(Doc::Key(p))) => error(doc::opaque_refusal(p)),
            (None, _) => Vec::new(),
            (Some(_), _) => {
                self.mode = Mode::ConfirmRemove(row);
                Vec::new()
            }
        }
    }

    fn edit_external(&mut self) -> Vec<Effect<Cmd>> {
        let Some(doc) = &self.staged else {
            return Vec::new();
        };
        // From the in-console editor, the text being edited (valid or not) goes along.
        let text = match &self.mode {
            Mode::Editing(ed) => ed.area.text(),
            _ => doc.text(self.format),
        };
        vec![Effect::Edit(EditRequest {
            text,
            suffix: doc.suffix(self.format),
            then: |r| Action::Policy(Msg::Edited(r)),
        })]
    }

    /// Validates an edited text; valid, it becomes the staged document, else it stays in
    /// the in-console editor with the error, so nothing typed is lost.
    fn stage_text(&mut self, text: String) -> Vec<Effect<Cmd>> {
        let Some(doc) = &self.staged else {
            return Vec::new();
        };
        match doc.parse(&text, self.format) {
            Ok(next) => {
                self.staged = Some(next);
                self.mode = Mode::Normal;
                self.view = View::Document;
                self.restage();
                self.step(0);
                if self.is_dirty() {
                    let (add, del) = counts(&self.diff);
                    info(format!(
                        "valid; staged (+{add} −{del} lines): D shows the diff, A applies"
                    ))
                } else {
                    info("valid; no changes against the current policy")
                }
            }
            Err(invalid) => {
                let origin = match &self.mode {
                    Mode::Editing(ed) => ed.origin.clone(),
                    _ => doc.text(self.format),
                };
                let mut area = TextArea::new(&text);
                if let Some((line, col)) = invalid.at {
                    area.goto(line, col);
                }
                self.mode = Mode::Editing(Editor {
                    area,
                    origin,
                    error: Some(invalid),
                    confirm_discard: false,
                });
                self.view = View::Document;
                error(
                    "invalid document: nothing staged; fix it here (ctrl-s) or in $EDITOR (ctrl-e)",
                )
            }
        }
    }

    fn submit(&mut self) -> Vec<Effect<Cmd>> {
        match std::mem::take(&mut self.mode) {
            Mode::Adding(mut form) => {
                let grant = form.grant();
                let Some(doc) = &mut self.staged else {
                    return Vec::new();
                };
                match doc.add(&grant) {
                    Ok(()) => {
                        self.restage();
                        let who = if grant.principal.is_empty() {
                            "any principal"
                        } else {
                            &grant.principal
                        };
                        info(format!(
                            "staged: a binding for {who} (A applies, D shows the diff)"
                        ))
                    }
                    Err(e) => {
                        form.error = Some(e);
                        self.mode = Mode::Adding(form);
                        Vec::new()
                    }
                }
            }
            Mode::Editing(ed) => {
                let text = ed.area.text();
                self.mode = Mode::Editing(ed);
                self.stage_text(text)
            }
            other => {
                self.mode = other;
                Vec::new()
            }
        }
    }

    fn confirm(&mut self, yes: bool, ctx: &Ctx) -> Vec<Effect<Cmd>> {
        match std::mem::take(&mut self.mode) {
            Mode::ConfirmRemove(row) if yes => {
                if ctx.readonly {
                    return vec![Effect::Notify(readonly_notice())];
                }
                let (Some(doc), Some(source)) = (&mut self.staged, &row.source) else {
                    return Vec::new();
                };
                match doc.remove(source) {
                    Ok(()) => {
                        self.restage();
                        self.step(0);
                        info(format!("staged: {} removed (A applies)", row.principal))
                    }
                    Err(e) => error(e),
                }
            }
            Mode::Editing(mut ed) => {
                if !yes {
                    ed.confirm_discard = false;
                    self.mode = Mode::Editing(ed);
                }
                Vec::new()
            }
            Mode::Confirm(Prompt::Apply) if yes => {
                if ctx.readonly {
                    return vec![Effect::Notify(readonly_notice())];
                }
                let (Some(target), Some(doc)) = (self.target.clone(), self.staged.clone()) else {
                    return Vec::new();
                };
                self.mode = Mode::Applying;
                vec![Effect::Run(Cmd::Apply(target, Box::new(doc)))]
            }
            Mode::Confirm(Prompt::Apply) => info("not applied; the changes stay staged"),
            Mode::Confirm(Prompt::DiscardAndLeave) if yes => {
                self.staged.clone_from(&self.original);
                self.restage();
                vec![Effect::Back]
            }
            Mode::Confirm(Prompt::DiscardAndReload) if yes => {
                self.staged.clone_from(&self.original);
                self.restage();
                self.load()
            }
            Mode::Applying => {
                self.mode = Mode::Applying;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn back(&mut self) -> Vec<Effect<Cmd>> {
        let dirty = self.is_dirty();
        match &mut self.mode {
            Mode::Editing(ed) => {
                if ed.area.text() == ed.origin || ed.confirm_discard {
                    self.mode = Mode::Normal;
                } else {
                    ed.confirm_discard = true;
                }
                Vec::new()
            }
            Mode::Applying => Vec::new(),
            Mode::Normal if self.view == View::Diff => {
                self.view = View::Table;
                self.scroll = 0;
                Vec::new()
            }
            Mode::Normal if dirty => {
                self.mode = Mode::Confirm(Prompt::DiscardAndLeave);
                Vec::new()
            }
            Mode::Normal => vec![Effect::Back],
            _ => {
                self.mode = Mode::Normal;
                Vec::new()
            }
        }
    }

    /// Draws the screen.
    pub fn view(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        view::draw(self, frame, area, ctx);
    }
}
