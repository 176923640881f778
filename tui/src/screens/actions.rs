//! Key actions, shared by the keys table and the key detail: the dialogs that ask for them
//! (a y/n confirmation for reversible changes, a form for values, typing the key's name for
//! deletion), their validation against the provider's capabilities, and the gateway calls.
//!
//! A screen holds an `Option<Dialog>`; while it is open every key goes to
//! [`Dialog::handle`], which answers with a [`Step`]. A submitted dialog yields a
//! [`Mutation`], which the screen runs as a command with [`perform`].

pub mod form;
mod open;
mod parse;
pub mod versions;
mod view;

use keygate_core::api::{Gateway, ProviderSummary};
use keygate_core::{
    Capabilities, CreateKeyRequest, DayRange, KeyLocator, KeySpec, KeyState, KeyUsage,
    ProviderKind, RotationSchedule, validate_name,
};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use time::OffsetDateTime;

use self::form::{Field, Form, Input};
pub use self::open::open;
pub use self::view::draw;
use super::{Ctx, Effect, Notice};
use crate::app::readonly_notice;
use crate::keymap::Binding;

/// A provider as the actions need it: its name and what it can do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// Registered name.
    pub name: String,
    /// Backend kind.
    pub kind: ProviderKind,
    /// What it supports (specs, rotation and deletion bounds).
    pub capabilities: Capabilities,
}

impl From<ProviderSummary> for Provider {
    fn from(p: ProviderSummary) -> Self {
        Self {
            name: p.name,
            kind: p.kind,
            capabilities: p.capabilities,
        }
    }
}

/// Which action the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Create a key (form).
    Create,
    /// Rotate now (y/n).
    Rotate,
    /// Edit the automatic rotation schedule (form).
    Schedule,
    /// Rotate once at a given time (form).
    RotateAt,
    /// Enable a disabled key or disable an enabled one (y/n).
    Toggle,
    /// Schedule deletion (type the name).
    Delete,
    /// Cancel a scheduled deletion (y/n).
    CancelDeletion,
}

/// The action bindings, as the keys table and the detail both list them.
pub const BINDINGS: [Binding; 6] = [
    Binding {
        keys: "r",
        does: "rotate now (confirm)",
        mutates: true,
    },
    Binding {
        keys: "R",
        does: "rotation schedule: period, next time, clear",
        mutates: true,
    },
    Binding {
        keys: "t",
        does: "rotate once at a time (+30d or RFC 3339)",
        mutates: true,
    },
    Binding {
        keys: "e",
        does: "enable / disable (confirm)",
        mutates: true,
    },
    Binding {
        keys: "D",
        does: "schedule deletion (type the key name)",
        mutates: true,
    },
    Binding {
        keys: "u",
        does: "cancel a scheduled deletion (confirm)",
        mutates: true,
    },
];

/// The key action a key press asks for (create is the keys table's own).
pub fn request_for(key: KeyEvent) -> Option<Request> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return None;
    }
    match key.code {
        KeyCode::Char('r') => Some(Request::Rotate),
        KeyCode::Char('R') => Some(Request::Schedule),
        KeyCode::Char('t') => Some(Request::RotateAt),
        KeyCode::Char('e') => Some(Request::Toggle),
        KeyCode::Char('D') => Some(Request::Delete),
        KeyCode::Char('u') => Some(Request::CancelDeletion),
        _ => None,
    }
}

/// A change to make through the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    /// Create a key in a provider.
    Create {
        /// The provider.
        provider: String,
        /// What to create.
        request: CreateKeyRequest,
    },
    /// Rotate now.
    Rotate {
        /// Key URI.
        key: String,
    },
    /// Set (or, with `None`, clear) the rotation schedule.
    SetRotation {
        /// Key URI.
        key: String,
        /// The new schedule.
        schedule: Option<RotationSchedule>,
    },
    /// Enable.
    Enable {
        /// Key URI.
        key: String,
    },
    /// Disable.
    Disable {
        /// Key URI.
        key: String,
    },
    /// Schedule deletion.
    ScheduleDeletion {
        /// Key URI.
        key: String,
        /// Waiting period.
        days: u32,
    },
    /// Cancel a scheduled deletion.
    CancelDeletion {
        /// Key URI.
        key: String,
    },
    /// Change one version of a key.
    Version {
        /// Key URI.
        key: String,
        /// The version's id.
        version: String,
        /// What to do to it.
        change: versions::VersionChange,
    },
}

/// Runs a mutation; the text is the notice to show (success or failure).
pub async fn perform(m: Mutation, gw: &dyn Gateway) -> Result<String, String> {
    let fail = |what: &str, e: keygate_core::Error| format!("{what} failed: {e}");
    match m {
        Mutation::Create { provider, request } => gw
            .create_key(Some(&provider), request)
            .await
            .map(|k| format!("created {} ({})", k.name, k.uri))
            .map_err(|e| fail("create", e)),
        Mutation::Rotate { key } => gw
            .rotate_key(&KeyLocator::Uri(key.clone()))
            .await
            .map(|v| format!("rotated {key}: new version {}", v.value.id))
            .map_err(|e| fail("rotate", e)),
        Mutation::SetRotation { key, schedule } => gw
            .set_rotation(&KeyLocator::Uri(key.clone()), schedule)
            .await
            .map(|k| match k.rotation {
                Some(s) => format!(
                    "rotation of {key}: every {} days, next {}",
                    s.period_days,
                    s.next_rotation
                        .map_or_else(|| "—".to_owned(), crate::fmt::when)
                ),
                None => format!("rotation of {key}: off"),
            })
            .map_err(|e| fail("set rotation", e)),
        Mutation::Enable { key } => gw
            .enable_key(&KeyLocator::Uri(key.clone()))
            .await
            .map(|_| format!("enabled {key}"))
            .map_err(|e| fail("enable", e)),
        Mutation::Disable { key } => gw
            .disable_key(&KeyLocator::Uri(key.clone()))
            .await
            .map(|_| format!("disabled {key}"))
            .map_err(|e| fail("disable", e)),
        Mutation::ScheduleDeletion { key, days } => gw
            .schedule_deletion(&KeyLocator::Uri(key.clone()), days)
            .await
            .map(|k| match k.state {
                KeyState::PendingDeletion { deletion_date } => {
                    format!(
                        "{key} will be deleted on {}",
                        crate::fmt::when(deletion_date)
                    )
                }
                _ => format!("deletion of {key} scheduled in {days} days"),
            })
            .map_err(|e| fail("schedule deletion", e)),
        Mutation::CancelDeletion { key } => gw
            .cancel_deletion(&KeyLocator::Uri(key.clone()))
            .await
            .map(|_| format!("deletion of {key} cancelled"))
            .map_err(|e| fail("cancel deletion", e)),
        Mutation::Version {
            key,
            version,
            change,
        } => versions::perform(key, version, change, gw).await,
    }
}

/// An open dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    /// Which dialog this is, and so what submitting it does.
    pub kind: Kind,
    /// Its fields (empty for a y/n confirmation).
    pub form: Form,
    /// Why the last submit was refused; the typed values stay.
    pub error: Option<String>,
}

/// Every dialog a key action opens, with what it needs to build its mutation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `y` runs the mutation, `n`/`esc` closes.
    Confirm {
        /// The question.
        question: String,
        /// What `y` does.
        mutation: Mutation,
    },
    /// The create-key form.
    Create {
        /// Providers to choose from.
        providers: Vec<Provider>,
    },
    /// The rotation schedule editor.
    Schedule {
        /// Key URI.
        key: String,
        /// The provider's rotation period bounds.
        bounds: DayRange,
    },
    /// Rotate once at a time, keeping the period.
    RotateAt {
        /// Key URI.
        key: String,
        /// The current period, kept.
        period_days: u32,
    },
    /// Schedule deletion: type the key's name.
    Delete {
        /// Key URI.
        key: String,
        /// The name to type.
        name: String,
        /// The provider's waiting-period bounds.
        window: DayRange,
    },
}

/// What a key press did to a dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Still open.
    Stay,
    /// Closed without doing anything.
    Cancel,
    /// Closed; run this.
    Submit(Mutation),
}

/// A key press for the open dialog of a screen: a cancelled or submitted dialog closes; a
/// submitted mutation is refused under `--readonly` (whatever opened the dialog) and otherwise
/// run. The screen wraps the mutation in its own command with [`Effect::map`].
pub fn dialog_key(dialog: &mut Option<Dialog>, key: KeyEvent, ctx: &Ctx) -> Vec<Effect<Mutation>> {
    let Some(open) = dialog.as_mut() else {
        return Vec::new();
    };
    match open.handle(key, ctx.now) {
        Step::Stay => Vec::new(),
        Step::Cancel => {
            *dialog = None;
            Vec::new()
        }
        Step::Submit(m) => {
            *dialog = None;
            if ctx.readonly {
                return vec![Effect::Notify(readonly_notice())];
            }
            vec![Effect::Notify(Notice::info("working…")), Effect::Run(m)]
        }
    }
}

/// The status-line notice of a finished mutation.
pub fn done_notice(result: Result<String, String>) -> Notice {
    match result {
        Ok(text) => Notice::info(text),
        Err(text) => Notice::error(text),
    }
}

impl Dialog {
    /// The title line.
    pub fn title(&self) -> &'static str {
        match &self.kind {
            Kind::Confirm { mutation, .. } => match mutation {
                Mutation::Rotate { .. } => "Rotate now",
                Mutation::Enable { .. } => "Enable key",
                Mutation::Disable { .. } => "Disable key",
                Mutation::CancelDeletion { .. } => "Cancel deletion",
                Mutation::Version { change, .. } => change.title(),
                _ => "Confirm",
            },
            Kind::Create { .. } => "Create key",
            Kind::Schedule { .. } => "Rotation schedule",
            Kind::RotateAt { .. } => "Rotate at a time",
            Kind::Delete { .. } => "Schedule deletion",
        }
    }

    /// Applies a key press.
    pub fn handle(&mut self, key: KeyEvent, now: OffsetDateTime) -> Step {
        if let Kind::Confirm { mutation, .. } = &self.kind {
            return match key.code {
                KeyCode::Char('y' | 'Y') => Step::Submit(mutation.clone()),
                KeyCode::Char('n' | 'N') | KeyCode::Esc => Step::Cancel,
                _ => Step::Stay,
            };
        }
        match self.form.input(key) {
            Input::Cancel => Step::Cancel,
            Input::Submit => match self.validate(now) {
                Ok(m) => Step::Submit(m),
                Err(e) => {
                    self.error = Some(e);
                    Step::Stay
                }
            },
            Input::Edited => {
                self.error = None;
                if matches!(self.kind, Kind::Create { .. }) {
                    self.sync_create();
                }
                Step::Stay
            }
            Input::Ignored => Step::Stay,
        }
    }

    /// Keeps the create form's spec and usage choices consistent with the chosen provider
    /// and spec, and its rotation hint with the provider's bounds.
    fn sync_create(&mut self) {
        let Kind::Create { providers } = &self.kind else {
            return;
        };
        let Some(p) = providers
            .iter()
            .find(|p| p.name == self.form.get("provider"))
        else {
            return;
        };
        let caps = &p.capabilities;
        let specs: Vec<String> = caps
            .key_specs
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect();
        let spec_now = self.form.get("spec").to_owned();
        let spec_index = specs.iter().position(|s| *s == spec_now).unwrap_or(0);
        if let Some(f) = self.form.field_mut("spec") {
            *f = Field::choice("spec", specs, spec_index);
        }
        let spec = self.form.get("spec").parse::<KeySpec>().ok();
        let usages: Vec<String> = spec
            .map(|s| s.usages().iter().map(|u| u.as_str().to_owned()).collect())
            .unwrap_or_default();
        let usage_now = self.form.get("usage").to_owned();
        let usage_index = usages.iter().position(|u| *u == usage_now).unwrap_or(0);
        if let Some(f) = self.form.field_mut("usage") {
            *f = Field::choice("usage", usages, usage_index);
        }
        let hint = match (caps.rotation_period, spec) {
            (Some(b), Some(s)) if caps.scheduled_rotation_specs.contains(&s) => {
                format!("{b}; empty: no automatic rotation")
            }
            _ => "not available for this provider and spec".to_owned(),
        };
        if let Some(f) = self.form.field_mut("rotation days") {
            f.hint = hint;
        }
    }

    /// Checks the form and builds its mutation.
    fn validate(&self, now: OffsetDateTime) -> Result<Mutation, String> {
        let f = &self.form;
        match &self.kind {
            Kind::Confirm { mutation, .. } => Ok(mutation.clone()),
            Kind::Create { providers } => {
                let provider = f.get("provider");
                let caps = &providers
                    .iter()
                    .find(|p| p.name == provider)
                    .ok_or("choose a provider")?
                    .capabilities;
                let name = f.get("name").trim();
                validate_name("key", name).map_err(|e| e.to_string())?;
                let spec: KeySpec = f.get("spec").parse().map_err(|_| "choose a spec")?;
                let usage: KeyUsage = f.get("usage").parse().map_err(|_| "choose a usage")?;
                let labels = parse::labels(f.get("labels"))?;
                let rotation = match f.get("rotation days").trim() {
                    "" => None,
                    days => {
                        let bounds = caps
                            .rotation_period
                            .filter(|_| caps.scheduled_rotation_specs.contains(&spec))
                            .ok_or_else(|| {
                                format!("{provider} cannot rotate {spec} keys automatically")
                            })?;
                        Some(RotationSchedule::every(parse::days(
                            "rotation", days, bounds,
                        )?))
                    }
                };
                Ok(Mutation::Create {
                    provider: provider.to_owned(),
                    request: CreateKeyRequest {
                        origin: keygate_core::KeyOrigin::Generated,
                        name: name.to_owned(),
                        spec,
                        usage: Some(usage),
                        description: f.get("description").trim().to_owned(),
                        labels,
                        rotation,
                    },
                })
            }
            Kind::Schedule { key, bounds } => {
                let period = f.get("period days").trim();
                if period.is_empty() {
                    return Ok(Mutation::SetRotation {
                        key: key.clone(),
                        schedule: None,
                    });
                }
                let period_days = parse::days("period", period, *bounds)?;
                let next_rotation = match f.get("next rotation").trim() {
                    "" => None,
                    t => Some(future(parse::when(t, now)?, now)?),
                };
                Ok(Mutation::SetRotation {
                    key: key.clone(),
                    schedule: Some(RotationSchedule {
                        period_days,
                        next_rotation,
                    }),
                })
            }
            Kind::RotateAt { key, period_days } => {
                let at = future(parse::when(f.get("rotate at"), now)?, now)?;
                Ok(Mutation::SetRotation {
                    key: key.clone(),
                    schedule: Some(RotationSchedule {
                        period_days: *period_days,
                        next_rotation: Some(at),
                    }),
                })
            }
            Kind::Delete { key, name, window } => {
                if f.get("type the key name").trim() != name {
                    return Err(format!("type `{name}` exactly to confirm"));
                }
                let days = parse::days("waiting period", f.get("waiting days"), *window)?;
                Ok(Mutation::ScheduleDeletion {
                    key: key.clone(),
                    days,
                })
            }
        }
    }
}

fn future(at: OffsetDateTime, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    if at <= now {
        return Err(format!("{} is not in the future", crate::fmt::when(at)));
    }
    Ok(at)
}

#[cfg(test)]
mod tests;
