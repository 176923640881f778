//! Signed checkpoints: the tree head of the audit log as a C2SP `tlog-checkpoint`, signed as a
//! C2SP `signed-note` with Ed25519.
//!
//! ```text
//! keygate/audit/5f1e3a0b2c9d4e6f          origin (names the log, from its public key)
//! 1234                                    tree size (rows)
//! Gxk5…base64 root hash…=                 RFC 6962 root over the rows
//!                                         blank line
//! — keygate/audit/5f1e3a0b2c9d4e6f AbCd…  signature: base64(key id || Ed25519 signature)
//! ```
//!
//! The signature covers the note text (the three lines, each ending in a newline); the key id
//! is the first 4 bytes of `SHA-256(name || 0x0A || 0x01 || public key)`, and the verifier key
//! reads `<name>+<hex key id>+<base64(0x01 || public key)>`.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use super::merkle::Hash;
use crate::error::{Error, Result};

/// The signature type byte of Ed25519 in signed notes.
const ED25519: u8 = 0x01;
/// What starts a signature line: an em dash and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// The key id of an Ed25519 note key: the first 4 bytes of
/// `SHA-256(name || 0x0A || 0x01 || public key)`.
fn key_id(name: &str, public: &[u8]) -> [u8; 4] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(name.as_bytes());
    ctx.update(b"\n");
    ctx.update(&[ED25519]);
    ctx.update(public);
    let d = ctx.finish();
    let mut id = [0u8; 4];
    id.copy_from_slice(&d.as_ref()[..4]);
    id
}

/// A key name as signed notes allow it: non-empty, no Unicode spaces, no `+`.
fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(Error::invalid(format!("bad note key name {name:?}")));
    }
    Ok(())
}

/// Signs notes with an Ed25519 key under a name.
pub struct NoteSigner {
    name: String,
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A signer named `name` with the Ed25519 key of the 32-byte `seed` (RFC 8032).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad name or seed.
    pub fn from_seed(name: &str, seed: &[u8]) -> Result<Self> {
        check_name(name)?;
        let pair = Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|_| Error::invalid("not an Ed25519 seed"))?;
        Ok(Self {
            name: name.to_owned(),
            pair,
        })
    }

    /// The audit log's signer: the key of `seed`, named after it
    /// (`keygate/audit/<16 hex digits of SHA-256(public key)>`), so the origin line tells two
    /// gateways' logs apart.
    pub(super) fn for_audit_log(seed: &[u8]) -> Result<Self> {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|_| Error::invalid("not an Ed25519 seed"))?;
        let d = digest::digest(&digest::SHA256, pair.public_key().as_ref());
        let name = format!("keygate/audit/{}", super::hex(&d.as_ref()[..8]));
        Ok(Self { name, pair })
    }

    /// The key name (for the audit log: the checkpoint origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier of this signer's notes.
    pub fn verifier(&self) -> NoteVerifier {
        let mut public = [0u8; 32];
        public.copy_from_slice(self.pair.public_key().as_ref());
        NoteVerifier {
            name: self.name.clone(),
            id: key_id(&self.name, &public),
            public,
        }
    }

    /// `text` (which must end in a newline) followed by a blank line and this signer's
    /// signature line.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `text` is empty, does not end in a newline or holds a
    /// blank line.
    pub fn sign(&self, text: &str) -> Result<String> {
        if !text.ends_with('\n') || text.starts_with('\n') || text.contains("\n\n") {
            return Err(Error::invalid(
                "a note text is non-empty lines, each ending in a newline",
            ));
        }
        let id = key_id(&self.name, self.pair.public_key().as_ref());
        let mut blob = id.to_vec();
        blob.extend_from_slice(self.pair.sign(text.as_bytes()).as_ref());
        Ok(format!(
            "{text}\n{SIG_PREFIX}{} {}\n",
            self.name,
            B64.encode(blob)
        ))
    }

    /// Signs `checkpoint` as a note.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an origin that is not a valid first line.
    pub fn sign_checkpoint(&self, checkpoint: &Checkpoint) -> Result<String> {
        self.sign(&checkpoint.text()?)
    }
}

/// Verifies notes signed by one Ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    id: [u8; 4],
    public: [u8; 32],
}

impl std::fmt::Display for NoteVerifier {
    /// The verifier key: `<name>+<hex key id>+<base64(0x01 || public key)>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut typed = vec![ED25519];
        typed.extend_from_slice(&self.public);
        write!(
            f,
            "{}+{}+{}",
            self.name,
            super::hex(&self.id),
            B64.encode(typed)
        )
    }
}

impl std::str::FromStr for NoteVerifier {
    type Err = Error;

    /// Parses a verifier key as [`NoteVerifier`]'s `Display` writes it.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when it is malformed, not Ed25519, or its key id does not
    /// match its name and key.
    fn from_str(vkey: &str) -> Result<Self> {
        let bad = || Error::invalid("not an Ed25519 note verifier key");
        // The base64 part may itself hold a '+': split off the first two fields only.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        check_name(name)?;
        let typed = B64.decode(b64).map_err(|_| bad())?;
        let (Some(&ED25519), Ok(public)) = (
            typed.first(),
            <[u8; 32]>::try_from(typed.get(1..).unwrap_or_default()),
        ) else {
            return Err(bad());
        };
        let id = key_id(name, &public);
        if id_hex.len() != 8 || super::hex(&id) != id_hex {
            return Err(Error::invalid(
                "the verifier key's id does not match its key",
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            id,
            public,
        })
    }
}

impl NoteVerifier {
    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The raw 32-byte Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public
    }

    /// The text of `note` when one of its signature lines is this key's and verifies; other
    /// signature lines are ignored, as signed notes require.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the note is malformed or carries no valid signature
    /// of this key.
    pub fn open<'a>(&self, note: &'a str) -> Result<&'a str> {
        let bad = |why: &str| Error::invalid(format!("signed note: {why}"));
        let split = note
            .find("\n\n")
            .ok_or_else(|| bad("no blank line before the signatures"))?;
        let (text, sigs) = (&note[..=split], &note[split + 2..]);
        if !sigs.ends_with('\n') {
            return Err(bad("the signatures do not end in a newline"));
        }
        for line in sigs.lines() {
            let rest = line
                .strip_prefix(SIG_PREFIX)
                .ok_or_else(|| bad("a signature line does not start with an em dash"))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or_else(|| bad("a signature line has no signature"))?;
            if name != self.name {
                continue;
            }
            let blob = B64
                .decode(b64)
                .map_err(|_| bad("a signature is not base64"))?;
            if blob.len() != 4 + 64 || blob[..4] != self.id {
                continue;
            }
            if UnparsedPublicKey::new(&signature::ED25519, &self.public)
                .verify(text.as_bytes(), &blob[4..])
                .is_ok()
            {
                return Ok(text);
            }
        }
        Err(bad("no valid signature of this key"))
    }

    /// Opens a signed checkpoint and parses it.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] as [`NoteVerifier::open`], when the text is not a
    /// checkpoint, or when its origin is not this key's name.
    pub fn open_checkpoint(&self, note: &str) -> Result<Checkpoint> {
        let checkpoint = Checkpoint::parse(self.open(note)?)?;
        if checkpoint.origin != self.name {
            return Err(Error::invalid(format!(
                "the checkpoint is of log {:?}, not {:?}",
                checkpoint.origin, self.name
            )));
        }
        Ok(checkpoint)
    }
}

/// The head of the audit tree at one size, as a checkpoint's text carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The log's name (the signer's key name).
    pub origin: String,
    /// How many rows the tree holds.
    pub size: u64,
    /// The RFC 6962 root hash.
    #[serde(with = "super::merkle::hex_hash")]
    pub root: Hash,
}

impl Checkpoint {
    /// The note text: origin, size and base64 root, each on its own line.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an origin that is empty or holds a newline.
    pub fn text(&self) -> Result<String> {
        if self.origin.is_empty() || self.origin.contains('\n') {
            return Err(Error::invalid("bad checkpoint origin"));
        }
        Ok(format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        ))
    }

    /// Parses a checkpoint's note text (extension lines are allowed and ignored).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when it is not origin, decimal size and base64 root hash.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |why: &str| Error::invalid(format!("checkpoint: {why}"));
        let mut lines = text.lines();
        let origin = lines.next().filter(|o| !o.is_empty());
        let (Some(origin), Some(size), Some(root)) = (origin, lines.next(), lines.next()) else {
            return Err(bad("fewer than three lines"));
        };
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(bad("the tree size is not a decimal number"));
        }
        let size = size
            .parse()
            .map_err(|_| bad("the tree size is out of range"))?;
        let root = B64
            .decode(root)
            .ok()
            .and_then(|r| Hash::try_from(r).ok())
            .ok_or_else(|| bad("the root hash is not base64 of 32 bytes"))?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
        })
    }
}

#[cfg(test)]
mod tests;
