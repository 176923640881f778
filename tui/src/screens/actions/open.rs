//! Opening a dialog: which one an action needs for a key, or why it cannot be had (no key,
//! the key's state, the provider's capabilities).

use keygate_core::{Capabilities, KeyMetadata, KeyState};

use super::form::{Field, Form};
use super::{Dialog, Kind, Mutation, Provider, Request};

fn caps_of<'a>(providers: &'a [Provider], key: &KeyMetadata) -> Option<&'a Capabilities> {
    providers
        .iter()
        .find(|p| p.name == key.provider)
        .map(|p| &p.capabilities)
}

/// Opens the dialog for `request` on `key` (the selected key, if any), or says why not.
///
/// # Errors
/// A message for the status line: no key selected, the key's state does not allow it, the
/// provider does not support it.
pub fn open(
    request: Request,
    key: Option<&KeyMetadata>,
    providers: &[Provider],
) -> Result<Dialog, String> {
    if request == Request::Create {
        return create(providers);
    }
    let key = key.ok_or("no key selected")?;
    let uri = key.uri.clone();
    let kind = match request {
        Request::Create => return create(providers),
        Request::Rotate => Kind::Confirm {
            question: format!("Rotate {} now? A new primary version is created.", key.name),
            mutation: Mutation::Rotate { key: uri },
        },
        Request::Toggle => match key.state {
            KeyState::Enabled => Kind::Confirm {
                question: format!(
                    "Disable {}? Every encrypt, decrypt and sign with it fails until enabled.",
                    key.name
                ),
                mutation: Mutation::Disable { key: uri },
            },
            KeyState::Disabled => Kind::Confirm {
                question: format!("Enable {}?", key.name),
                mutation: Mutation::Enable { key: uri },
            },
            other => return Err(format!("a {other} key cannot be enabled or disabled")),
        },
        Request::CancelDeletion => match key.state {
            KeyState::PendingDeletion { .. } => Kind::Confirm {
                question: format!(
                    "Cancel the deletion of {}? It comes back disabled.",
                    key.name
                ),
                mutation: Mutation::CancelDeletion { key: uri },
            },
            _ => return Err(format!("{} is not pending deletion", key.name)),
        },
        Request::Schedule | Request::RotateAt | Request::Delete => {
            let caps = caps_of(providers, key)
                .ok_or_else(|| format!("provider {} is not loaded yet", key.provider))?;
            return form_dialog(request, key, caps);
        }
    };
    Ok(Dialog {
        kind,
        form: Form::default(),
        error: None,
    })
}

fn form_dialog(request: Request, key: &KeyMetadata, caps: &Capabilities) -> Result<Dialog, String> {
    let uri = key.uri.clone();
    let (kind, fields) = match request {
        Request::Schedule | Request::RotateAt => {
            let bounds = caps
                .rotation_period
                .ok_or_else(|| format!("provider {} has no automatic rotation", key.provider))?;
            if !caps.scheduled_rotation_specs.contains(&key.spec) {
                return Err(format!(
                    "{} keys cannot rotate automatically in {}",
                    key.spec, key.provider
                ));
            }
            if request == Request::Schedule {
                let period = key
                    .rotation
                    .map_or_else(|| bounds.min.max(90).min(bounds.max), |r| r.period_days);
                let fields = vec![
                    Field::text(
                        "period days",
                        period.to_string(),
                        format!("{bounds}; empty turns rotation off"),
                    ),
                    Field::text(
                        "next rotation",
                        "",
                        "RFC 3339, a date or +30d; empty: one period from now",
                    ),
                ];
                (Kind::Schedule { key: uri, bounds }, fields)
            } else {
                let period_days = key.rotation.map(|r| r.period_days).ok_or_else(|| {
                    format!("{} has no rotation schedule: set one first (R)", key.name)
                })?;
                let fields = vec![Field::text(
                    "rotate at",
                    "",
                    format!("RFC 3339, a date or +30d; the {period_days}-day period is kept"),
                )];
                (
                    Kind::RotateAt {
                        key: uri,
                        period_days,
                    },
                    fields,
                )
            }
        }
        _ => {
            if matches!(
                key.state,
                KeyState::PendingDeletion { .. } | KeyState::Destroyed
            ) {
                return Err(format!("{} is already {}", key.name, key.state));
            }
            let window = caps.deletion_window;
            let fields = vec![
                Field::text("type the key name", "", key.name.clone()),
                Field::text(
                    "waiting days",
                    window.max.min(30).max(window.min).to_string(),
                    window.to_string(),
                ),
            ];
            let name = key.name.clone();
            (
                Kind::Delete {
                    key: uri,
                    name,
                    window,
                },
                fields,
            )
        }
    };
    Ok(Dialog {
        kind,
        form: Form::new(fields),
        error: None,
    })
}

fn create(providers: &[Provider]) -> Result<Dialog, String> {
    if providers.is_empty() {
        return Err("no provider loaded yet: nowhere to create a key".to_owned());
    }
    let mut d = Dialog {
        kind: Kind::Create {
            providers: providers.to_vec(),
        },
        form: Form::new(vec![
            Field::choice(
                "provider",
                providers.iter().map(|p| p.name.clone()).collect(),
                0,
            ),
            Field::text("name", "", "letters, digits, - _ ."),
            Field::choice("spec", Vec::new(), 0),
            Field::choice("usage", Vec::new(), 0),
            Field::text("description", "", ""),
            Field::text("labels", "", "k=v, k2=v2"),
            Field::text("rotation days", "", ""),
        ]),
        error: None,
    };
    d.sync_create();
    Ok(d)
}
