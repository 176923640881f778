//! What the gateway hands out to prove its log: checkpoints, inclusion and consistency
//! proofs, with every hash as lowercase hex.

use serde::{Deserialize, Serialize};

use super::AuditEvent;

/// A signed checkpoint of the audit log, with its parts spelled out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditCheckpoint {
    /// The log's name (first line of the note).
    pub origin: String,
    /// Rows in the tree.
    pub size: u64,
    /// The RFC 6962 root hash (hex; the note carries it as base64).
    pub root: String,
    /// The C2SP `tlog-checkpoint` signed note, verbatim.
    pub note: String,
    /// The verifier key the note is signed with (`<name>+<key id>+<base64 key>`).
    pub public_key: String,
}

/// A proof that one row is in the log at a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// The row proved.
    pub row: AuditEvent,
    /// Its leaf index (`seq - 1`).
    pub leaf_index: u64,
    /// `SHA-256(0x00 || encode_row(row))`, hex.
    pub leaf_hash: String,
    /// The audit path, leaf to root, hex.
    pub proof: Vec<String>,
    /// The checkpoint proved against (its `size` is the tree size).
    pub checkpoint: AuditCheckpoint,
}

/// A proof that the log at `checkpoint` extends the log at an older size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The older tree size.
    pub old_size: u64,
    /// The root of the older tree (hex), as the log computes it now.
    pub old_root: String,
    /// The consistency proof, hex.
    pub proof: Vec<String>,
    /// The newer checkpoint.
    pub checkpoint: AuditCheckpoint,
}

/// The older checkpoint a verification checked the log against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointCheck {
    /// Its origin.
    pub origin: String,
    /// Its tree size.
    pub size: u64,
    /// Its root (hex).
    pub root: String,
    /// Whether the log extends it (when not, `first_broken` says where the log stops
    /// matching, as far as can be told).
    pub consistent: bool,
}
