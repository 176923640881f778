//! `keygate audit checkpoint | prove | public-key` and `audit verify [--checkpoint FILE]`.
//!
//! Everything goes through [`Gateway`], so the same commands prove a local log or a remote
//! gateway's. `verify --checkpoint` checks the older checkpoint's signature and the
//! consistency proof here, in the CLI, with the RFC 6962 verifier: the gateway only supplies
//! hashes.

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use keygate_core::api::Gateway;
use keygate_core::audit::checkpoint::NoteVerifier;
use keygate_core::audit::merkle::{self, Hash};
use keygate_core::audit::{AuditVerification, BrokenRow, CheckpointCheck, hex};

use super::args::{OutputArg, OutputFormat};
use super::output;

fn parse_hash(text: &str) -> Result<Hash> {
    merkle::parse_hex(text).with_context(|| format!("the gateway returned a bad hash {text:?}"))
}

/// `keygate audit verify [--checkpoint FILE] [--from-checkpoint]`.
pub async fn verify(
    api: &dyn Gateway,
    checkpoint: Option<&Path>,
    from_checkpoint: bool,
    output: OutputArg,
    out: &mut dyn Write,
) -> Result<()> {
    let mut v = if from_checkpoint {
        api.verify_audit_from_checkpoint().await?
    } else {
        api.verify_audit().await?
    };
    if let Some(path) = checkpoint {
        check_against(api, path, &mut v).await?;
    }
    match output.output {
        OutputFormat::Json => output::json(out, &v)?,
        OutputFormat::Table if v.first_broken.is_none() => {
            writeln!(
                out,
                "audit log verified: {} rows, head {}, {} intents without outcome (unknown)",
                v.rows,
                v.head.as_deref().unwrap_or("-"),
                v.unresolved_intents
            )?;
            if let Some(root) = &v.root {
                writeln!(out, "tree root {root}")?;
            }
            if let Some(size) = v.from_checkpoint {
                writeln!(
                    out,
                    "checked from the kept checkpoint of {size} rows: {} rows read",
                    v.rows - size.min(v.rows)
                )?;
            }
            if let Some(cp) = &v.checkpoint {
                writeln!(
                    out,
                    "extends the checkpoint of {} rows (root {})",
                    cp.size, cp.root
                )?;
            }
        }
        OutputFormat::Table => {}
    }
    if let Some(broken) = &v.first_broken {
        bail!(
            "audit log verification FAILED at seq {}: {} ({} rows checked)",
            broken.seq,
            broken.reason,
            v.rows
        );
    }
    Ok(())
}

/// Checks that the log `v` describes extends the signed checkpoint in `path`.
async fn check_against(api: &dyn Gateway, path: &Path, v: &mut AuditVerification) -> Result<()> {
    let note = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the checkpoint {}", path.display()))?;
    let verifier: NoteVerifier = api
        .audit_public_key()
        .await?
        .parse()
        .context("the gateway's audit public key")?;
    let old = verifier
        .open_checkpoint(&note)
        .with_context(|| format!("{} is not a checkpoint of this log", path.display()))?;
    let mut consistent = false;
    if v.first_broken.is_none() {
        if old.size > v.rows {
            v.first_broken = Some(BrokenRow {
                seq: v.rows + 1,
                reason: format!(
                    "rows cut off the end: the checkpoint covers {} rows, the log holds {}",
                    old.size, v.rows
                ),
            });
        } else {
            let proof = api.audit_consistency_proof(old.size, Some(v.rows)).await?;
            let new_root = parse_hash(v.root.as_deref().unwrap_or_default())?;
            let hashes = proof
                .proof
                .iter()
                .map(|h| parse_hash(h))
                .collect::<Result<Vec<_>>>()?;
            if merkle::verify_consistency(old.size, v.rows, &hashes, &old.root, &new_root).is_ok() {
                consistent = true;
            } else {
                v.first_broken = Some(BrokenRow {
                    seq: old.size,
                    reason: format!(
                        "the log does not extend the checkpoint of {} rows: rows up to {} were \
                         changed, removed or rewritten since it was signed",
                        old.size, old.size
                    ),
                });
            }
        }
    }
    v.checkpoint = Some(CheckpointCheck {
        origin: old.origin,
        size: old.size,
        root: hex(&old.root),
        consistent,
    });
    Ok(())
}

/// `keygate audit checkpoint`: the note as is (table), or its parts (json).
pub async fn checkpoint(api: &dyn Gateway, output: OutputArg, out: &mut dyn Write) -> Result<()> {
    let cp = api.audit_checkpoint().await?;
    match output.output {
        OutputFormat::Json => output::json(out, &cp)?,
        OutputFormat::Table => out.write_all(cp.note.as_bytes())?,
    }
    Ok(())
}

/// `keygate audit public-key`.
pub async fn public_key(api: &dyn Gateway, output: OutputArg, out: &mut dyn Write) -> Result<()> {
    let key = api.audit_public_key().await?;
    match output.output {
        OutputFormat::Json => output::json(out, &serde_json::json!({ "public_key": key }))?,
        OutputFormat::Table => writeln!(out, "{key}")?,
    }
    Ok(())
}

/// `keygate audit prove SEQ [--size N]`: the proof, checked here before it is printed.
pub async fn prove(
    api: &dyn Gateway,
    seq: u64,
    size: Option<u64>,
    output: OutputArg,
    out: &mut dyn Write,
) -> Result<()> {
    let p = api.audit_inclusion_proof(seq, size).await?;
    let verifier: NoteVerifier = p.checkpoint.public_key.parse()?;
    let cp = verifier.open_checkpoint(&p.checkpoint.note)?;
    let path = p
        .proof
        .iter()
        .map(|h| parse_hash(h))
        .collect::<Result<Vec<_>>>()?;
    let leaf = p.row.leaf_hash();
    merkle::verify_inclusion(p.leaf_index, cp.size, &leaf, &path, &cp.root)
        .context("the gateway's proof does not verify")?;
    match output.output {
        OutputFormat::Json => output::json(out, &p)?,
        OutputFormat::Table => {
            writeln!(out, "row {} (leaf index {})", p.row.seq, p.leaf_index)?;
            writeln!(out, "leaf hash {}", p.leaf_hash)?;
            writeln!(out, "tree size {}, root {}", cp.size, p.checkpoint.root)?;
            writeln!(out, "audit path ({} hashes, leaf to root):", p.proof.len())?;
            for h in &p.proof {
                writeln!(out, "  {h}")?;
            }
            writeln!(out, "checkpoint:")?;
            out.write_all(p.checkpoint.note.as_bytes())?;
        }
    }
    Ok(())
}
