//! `keygate keys versions | version enable|disable|destroy|restore | primary`: a key's
//! versions, each with its own state.

use std::io::Write;

use anyhow::Result;
use keygate_core::api::{Gateway, Resolved};
use keygate_core::{KeyLocator, KeyVersion, VersionState};

use super::args::{OutputFormat, VersionArgs, VersionCommand};
use super::{keys, output};

/// `keys versions KEY`: the table, or (JSON) the array of versions the REST API returns.
pub async fn list(
    api: &dyn Gateway,
    key: &KeyLocator,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<()> {
    let versions = api.list_versions(key).await?.value;
    match format {
        OutputFormat::Json => output::json(out, &versions),
        OutputFormat::Table => output::version_table(out, &versions),
    }
}

/// `keys version enable|disable|destroy|restore KEY VERSION`: one call; the answer is the
/// version as it now is (JSON: the version object).
pub async fn change(api: &dyn Gateway, cmd: VersionCommand, out: &mut dyn Write) -> Result<()> {
    let (args, changed) = match cmd {
        VersionCommand::Enable(a) => {
            let v = api.enable_version(&a.key.key, &a.version).await?;
            (a, v)
        }
        VersionCommand::Disable(a) => {
            let v = api.disable_version(&a.key.key, &a.version).await?;
            (a, v)
        }
        VersionCommand::Destroy(a) => {
            let v = api.destroy_version(&a.key.key, &a.version).await?;
            (a, v)
        }
        VersionCommand::Restore(a) => {
            let v = api.restore_version(&a.key.key, &a.version).await?;
            (a, v)
        }
    };
    match args.output.output {
        OutputFormat::Json => output::json(out, &changed.value),
        OutputFormat::Table => {
            writeln!(out, "{}", summary(&changed))?;
            Ok(())
        }
    }
}

/// One line for people: what state the version is in now (`version 2 of local://k:
/// destroy_scheduled, destroyed on 2026-12-08 20:00 UTC`).
fn summary(changed: &Resolved<KeyVersion>) -> String {
    let v = &changed.value;
    let mut line = format!("version {} of {}: {}", v.id, changed.uri, v.state);
    match (v.state, v.destroy_time) {
        (VersionState::DestroyScheduled, Some(at)) => {
            line.push_str(&format!(
                ", destroyed on {} unless restored",
                output::when(at)
            ));
        }
        (VersionState::Destroyed, Some(at)) => {
            line.push_str(&format!(" since {}", output::when(at)));
        }
        _ => {}
    }
    if v.primary {
        line.push_str(" (primary)");
    }
    line
}

/// `keys primary KEY VERSION`: the answer is the key (JSON: the key object, as the other key
/// changes print it).
pub async fn primary(api: &dyn Gateway, args: VersionArgs, out: &mut dyn Write) -> Result<()> {
    let meta = api
        .set_primary_version(&args.key.key, &args.version)
        .await?;
    let done = format!("version {} is now the primary of", args.version);
    keys::confirm(api, &done, meta, args.output.output, out).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use time::macros::datetime;

    use super::*;

    fn resolved(
        state: VersionState,
        destroy_time: Option<time::OffsetDateTime>,
    ) -> Resolved<KeyVersion> {
        Resolved {
            key: keygate_core::KeyRef::new("local", "k"),
            uri: "local://k".into(),
            value: KeyVersion {
                id: "2".into(),
                created: datetime!(2026-12-01 10:00 UTC),
                state,
                primary: false,
                destroy_time,
                rotation: None,
            },
        }
    }

    #[test]
    fn the_summary_names_the_state_and_its_date() {
        assert_eq!(
            summary(&resolved(VersionState::Disabled, None)),
            "version 2 of local://k: disabled"
        );
        assert_eq!(
            summary(&resolved(
                VersionState::DestroyScheduled,
                Some(datetime!(2026-12-31 10:00 UTC))
            )),
            "version 2 of local://k: destroy_scheduled, destroyed on 2026-12-31 10:00 UTC unless restored"
        );
    }
}
