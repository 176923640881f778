//! Rendering: tables for people, stable JSON for scripts.

use std::io::Write;

use anyhow::Result;
use keygate_core::api::TokenInfo;
use keygate_core::audit::AuditEvent;
use keygate_core::{KeyMetadata, KeyVersion};
use serde::Serialize;
use time::OffsetDateTime;
use time::macros::format_description;

/// A key as the CLI prints it in JSON: the key's metadata, its aliases, and (for `show`) its
/// versions.
#[derive(Debug, Serialize)]
pub struct KeyView {
    #[serde(flatten)]
    pub key: KeyMetadata,
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versions: Option<Vec<KeyVersion>>,
}

/// `2026-11-23 18:40 UTC`.
pub fn when(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year]-[month]-[day] [hour]:[minute] UTC"
    ))
    .unwrap_or_else(|_| t.to_string())
}

/// Writes `rows` under `headers`, columns padded to their widest cell.
pub fn table(out: &mut dyn Write, headers: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  ", w = *w));
            }
        }
        s.trim_end().to_owned()
    };
    writeln!(out, "{}", line(headers.to_vec()))?;
    for row in rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// Pretty JSON followed by a newline.
pub fn json(out: &mut dyn Write, value: &impl Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

fn rotation_cells(key: &KeyMetadata) -> (String, String) {
    match key.rotation {
        Some(r) => (
            format!("every {}d", r.period_days),
            r.next_rotation.map(when).unwrap_or_default(),
        ),
        None => ("off".into(), "-".into()),
    }
}

pub fn state_cell(key: &KeyMetadata) -> String {
    match key.state {
        keygate_core::KeyState::PendingDeletion { deletion_date } => {
            format!("pending_deletion ({})", when(deletion_date))
        }
        other => other.to_string(),
    }
}

fn name_cell(view: &KeyView) -> String {
    if view.aliases.is_empty() {
        view.key.name.clone()
    } else {
        let aliases: Vec<_> = view.aliases.iter().map(|a| format!("alias/{a}")).collect();
        format!("{} ({})", view.key.name, aliases.join(", "))
    }
}

/// The `keys list` table.
pub fn key_table(out: &mut dyn Write, keys: &[KeyView]) -> Result<()> {
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|v| {
            let (rotation, next) = rotation_cells(&v.key);
            vec![
                v.key.provider.clone(),
                name_cell(v),
                v.key.spec.to_string(),
                v.key.usage.to_string(),
                state_cell(&v.key),
                rotation,
                next,
                when(v.key.created),
            ]
        })
        .collect();
    table(
        out,
        &[
            "PROVIDER",
            "NAME",
            "SPEC",
            "USAGE",
            "STATE",
            "ROTATION",
            "NEXT ROTATION",
            "CREATED",
        ],
        &rows,
    )
}

/// The `keys show` block.
/// `generated`, or `external` with what it says of the material's expiry.
fn origin_cell(key: &KeyMetadata) -> String {
    match key.import {
        None => key.origin().to_string(),
        Some(import) => match (import.expiration_model, import.valid_to) {
            (_, Some(t)) => format!("external (material expires {})", when(t)),
            (Some(_), None) => "external (material does not expire)".to_owned(),
            (None, None) => "external (no material)".to_owned(),
        },
    }
}

pub fn key_detail(out: &mut dyn Write, view: &KeyView) -> Result<()> {
    let k = &view.key;
    let (rotation, next) = rotation_cells(k);
    let labels = if k.labels.is_empty() {
        "-".to_owned()
    } else {
        k.labels
            .iter()
            .map(|(a, b)| format!("{a}={b}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let aliases = if view.aliases.is_empty() {
        "-".to_owned()
    } else {
        view.aliases
            .iter()
            .map(|a| format!("alias/{a}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let fields = [
        ("uri", k.uri.clone()),
        ("provider", k.provider.clone()),
        ("name", k.name.clone()),
        ("aliases", aliases),
        ("spec", k.spec.to_string()),
        ("usage", k.usage.to_string()),
        ("state", state_cell(k)),
        ("origin", origin_cell(k)),
        (
            "primary version",
            k.primary_version.clone().unwrap_or_else(|| "-".into()),
        ),
        (
            "rotation",
            if k.rotation.is_some() {
                format!("{rotation}, next {next}")
            } else {
                rotation
            },
        ),
        ("labels", labels),
        (
            "description",
            if k.description.is_empty() {
                "-".into()
            } else {
                k.description.clone()
            },
        ),
        ("created", when(k.created)),
    ];
    for (name, value) in fields {
        writeln!(out, "{:<16} {value}", format!("{name}:"))?;
    }
    if let Some(versions) = &view.versions {
        writeln!(out, "versions:")?;
        version_table(out, versions)?;
    }
    Ok(())
}

/// The versions table: each version's state, whether it is the primary, when it was
/// created, what rotation made it (automatic or on_demand; blank for a key's first version)
/// and (destroy-scheduled or destroyed) when its material is or was destroyed.
pub fn version_table(out: &mut dyn Write, versions: &[KeyVersion]) -> Result<()> {
    let rows: Vec<Vec<String>> = versions
        .iter()
        .map(|v| {
            vec![
                v.id.clone(),
                v.state.as_str().to_owned(),
                if v.primary {
                    "yes".into()
                } else {
                    String::new()
                },
                when(v.created),
                v.rotation
                    .map(|r| r.as_str().to_owned())
                    .unwrap_or_default(),
                v.destroy_time.map(when).unwrap_or_default(),
            ]
        })
        .collect();
    table(
        out,
        &[
            "VERSION",
            "STATE",
            "PRIMARY",
            "CREATED",
            "ROTATION",
            "DESTROY TIME",
        ],
        &rows,
    )
}

/// The `token list` table (ids, never secrets).
pub fn token_table(out: &mut dyn Write, tokens: &[TokenInfo]) -> Result<()> {
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            let status = match (t.revoked, t.expires) {
                (Some(at), _) => format!("revoked {}", when(at)),
                (None, Some(at)) if at <= OffsetDateTime::now_utc() => {
                    format!("expired {}", when(at))
                }
                (None, Some(at)) => format!("expires {}", when(at)),
                (None, None) => "active".to_owned(),
            };
            vec![
                t.id.clone(),
                t.kind.as_str().to_owned(),
                t.principal.clone(),
                t.role.clone(),
                when(t.created),
                status,
            ]
        })
        .collect();
    table(
        out,
        &["ID", "KIND", "PRINCIPAL", "ROLE", "CREATED", "STATUS"],
        &rows,
    )
}

/// One audit row as table cells (`audit tail`); the header is [`AUDIT_HEADERS`].
pub fn audit_cells(e: &AuditEvent) -> Vec<String> {
    let outcome = match &e.error_kind {
        Some(kind) => format!("{} ({kind})", e.outcome),
        None => e.outcome.to_string(),
    };
    vec![
        e.seq.to_string(),
        e.time
            .format(format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
            .unwrap_or_else(|_| e.time.to_string()),
        e.principal.clone(),
        e.source.clone(),
        e.action.clone(),
        e.key.clone().unwrap_or_else(|| "-".into()),
        outcome,
    ]
}

/// The `audit tail` columns.
pub const AUDIT_HEADERS: [&str; 7] = [
    "SEQ",
    "TIME (UTC)",
    "PRINCIPAL",
    "SOURCE",
    "ACTION",
    "KEY",
    "OUTCOME",
];

/// One compact JSON object and a newline (JSON lines).
pub fn json_line(out: &mut dyn Write, value: &impl Serialize) -> Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tables_pad_columns() {
        let mut out = Vec::new();
        table(
            &mut out,
            &["A", "BB"],
            &[vec!["long cell".into(), "x".into()]],
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "A          BB\nlong cell  x\n");
    }
}
