//! Version actions, from the key detail's versions table: enable or disable one version,
//! schedule its destruction or restore it, make it the primary. Each asks for `y`/`n` in a
//! dialog that says what the change does (a destroy in the error style); a version whose
//! state does not allow the action, or a provider that cannot do it, says why in the status
//! line instead.

use keygate_core::api::Gateway;
use keygate_core::{Capabilities, KeyLocator, KeyMetadata, KeyVersion, VersionState};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::form::Form;
use super::{Dialog, Kind, Mutation};
use crate::keymap::Binding;

/// Which version action the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionRequest {
    /// Enable a disabled version or disable an enabled one.
    Toggle,
    /// Schedule the version's destruction.
    Destroy,
    /// Cancel a scheduled destruction (the version comes back disabled).
    Restore,
    /// Make the version the key's primary.
    MakePrimary,
}

/// What a version mutation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionChange {
    /// `enable_version`.
    Enable,
    /// `disable_version`.
    Disable,
    /// `destroy_version`.
    Destroy,
    /// `restore_version`.
    Restore,
    /// `set_primary_version`.
    MakePrimary,
}

impl VersionChange {
    /// The dialog's title.
    pub fn title(self) -> &'static str {
        match self {
            Self::Enable => "Enable version",
            Self::Disable => "Disable version",
            Self::Destroy => "Destroy version",
            Self::Restore => "Restore version",
            Self::MakePrimary => "Make primary",
        }
    }
}

/// The version bindings of the key detail (help lists them with the detail's own).
pub const BINDINGS: [Binding; 5] = [
    Binding {
        keys: "[, ]",
        does: "select the newer / older version in the versions table",
        mutates: false,
    },
    Binding {
        keys: "E",
        does: "enable / disable the selected version (confirm)",
        mutates: true,
    },
    Binding {
        keys: "X",
        does: "destroy the selected version (confirm; U can restore it)",
        mutates: true,
    },
    Binding {
        keys: "U",
        does: "restore the selected destroy-scheduled version (confirm)",
        mutates: true,
    },
    Binding {
        keys: "P",
        does: "make the selected version primary (confirm)",
        mutates: true,
    },
];

/// The version action a key press asks for.
pub fn request_for(key: KeyEvent) -> Option<VersionRequest> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return None;
    }
    match key.code {
        KeyCode::Char('E') => Some(VersionRequest::Toggle),
        KeyCode::Char('X') => Some(VersionRequest::Destroy),
        KeyCode::Char('U') => Some(VersionRequest::Restore),
        KeyCode::Char('P') => Some(VersionRequest::MakePrimary),
        _ => None,
    }
}

/// Opens the confirmation for `request` on `version` of `key`, or says why not. `caps` are
/// the key's provider's capabilities when they have loaded (without them the gateway has the
/// last word).
///
/// # Errors
/// A message for the status line: the provider cannot do it, or the version's state does
/// not allow it.
pub fn open(
    request: VersionRequest,
    key: &KeyMetadata,
    version: &KeyVersion,
    caps: Option<&Capabilities>,
) -> Result<Dialog, String> {
    if let Some(caps) = caps {
        let (can, what) = match request {
            VersionRequest::Toggle => (caps.version_state, "enable or disable one version"),
            VersionRequest::Destroy | VersionRequest::Restore => {
                (caps.version_destruction, "destroy or restore one version")
            }
            VersionRequest::MakePrimary => (caps.primary_selection, "choose the primary version"),
        };
        if !can {
            return Err(format!("provider {} cannot {what}", key.provider));
        }
    }
    let id = &version.id;
    let name = &key.name;
    let state = version.state;
    let (change, question) = match (request, state) {
        (VersionRequest::Toggle, VersionState::Enabled) => {
            let primary = if version.primary {
                " It is the primary: new encrypts, signs and MACs fail until another version is made primary."
            } else {
                ""
            };
            (
                VersionChange::Disable,
                format!(
                    "Disable version {id} of {name}? Every use of it fails until it is enabled.{primary}"
                ),
            )
        }
        (VersionRequest::Toggle, VersionState::Disabled) => (
            VersionChange::Enable,
            format!("Enable version {id} of {name}?"),
        ),
        (VersionRequest::Toggle, VersionState::DestroyScheduled) => {
            return Err(format!(
                "version {id} is destroy_scheduled: restore it first (U)"
            ));
        }
        (VersionRequest::Destroy, VersionState::Enabled | VersionState::Disabled) => (
            VersionChange::Destroy,
            format!(
                "Destroy version {id} of {name}? It stops working at once; its material is \
                 destroyed at the end of the provider's waiting period unless restored (U)."
            ),
        ),
        (VersionRequest::Restore, VersionState::DestroyScheduled) => (
            VersionChange::Restore,
            format!(
                "Restore version {id} of {name}? Its destruction is cancelled and it comes back disabled."
            ),
        ),
        (VersionRequest::Restore, _) => {
            return Err(format!(
                "version {id} is {state}, not scheduled for destruction"
            ));
        }
        (VersionRequest::MakePrimary, VersionState::Enabled) if version.primary => {
            return Err(format!("version {id} is already the primary"));
        }
        (VersionRequest::MakePrimary, VersionState::Enabled) => (
            VersionChange::MakePrimary,
            format!(
                "Make version {id} the primary of {name}? New encrypts, signs and MACs use it."
            ),
        ),
        (VersionRequest::MakePrimary, _) => {
            return Err(format!(
                "version {id} is {state}: only an enabled version can be primary"
            ));
        }
        (VersionRequest::Destroy, _) => {
            return Err(format!("version {id} is already {state}"));
        }
        (_, _) => return Err(format!("version {id} is {state}: it cannot be enabled")),
    };
    Ok(Dialog {
        kind: Kind::Confirm {
            question,
            mutation: Mutation::Version {
                key: key.uri.clone(),
                version: id.clone(),
                change,
            },
        },
        form: Form::default(),
        error: None,
    })
}

/// Runs a version mutation; the text is the notice to show (success or failure).
pub async fn perform(
    key: String,
    version: String,
    change: VersionChange,
    gw: &dyn Gateway,
) -> Result<String, String> {
    let locator = KeyLocator::Uri(key.clone());
    let v = version.as_str();
    let fail = |what: &str, e: keygate_core::Error| format!("{what} failed: {e}");
    match change {
        VersionChange::Enable => gw
            .enable_version(&locator, v)
            .await
            .map(|_| format!("enabled version {v} of {key}"))
            .map_err(|e| fail("enable version", e)),
        VersionChange::Disable => gw
            .disable_version(&locator, v)
            .await
            .map(|_| format!("disabled version {v} of {key}"))
            .map_err(|e| fail("disable version", e)),
        VersionChange::Destroy => gw
            .destroy_version(&locator, v)
            .await
            .map(|done| match done.value.destroy_time {
                Some(at) if done.value.state == VersionState::DestroyScheduled => format!(
                    "version {v} of {key} will be destroyed on {} unless restored",
                    crate::fmt::when(at)
                ),
                _ => format!("version {v} of {key}: {}", done.value.state),
            })
            .map_err(|e| fail("destroy version", e)),
        VersionChange::Restore => gw
            .restore_version(&locator, v)
            .await
            .map(|done| format!("restored version {v} of {key}: {}", done.value.state))
            .map_err(|e| fail("restore version", e)),
        VersionChange::MakePrimary => gw
            .set_primary_version(&locator, v)
            .await
            .map(|_| format!("version {v} is now the primary of {key}"))
            .map_err(|e| fail("make primary", e)),
    }
}
