//! Signed notes against the golang.org/x/mod/sumdb/note reference vector, and checkpoints.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::audit::AuditKeys;

const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
/// The private key `PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz`:
/// base64 of 0x01 || the Ed25519 seed.
const GO_SKEY_B64: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n";
const GO_NOTE_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

fn go_signer() -> NoteSigner {
    let key = B64.decode(GO_SKEY_B64).unwrap();
    assert_eq!(key[0], 1);
    NoteSigner::from_seed("PeterNeumann", &key[1..]).unwrap()
}

#[test]
fn signing_reproduces_the_go_reference_note() {
    let signer = go_signer();
    assert_eq!(signer.verifier().to_string(), GO_VKEY);
    let note = signer.sign(GO_TEXT).unwrap();
    assert_eq!(note, format!("{GO_TEXT}\n{GO_NOTE_SIG}"));
}

#[test]
fn the_go_reference_note_opens_and_a_changed_one_does_not() {
    let verifier: NoteVerifier = GO_VKEY.parse().unwrap();
    let note = format!("{GO_TEXT}\n{GO_NOTE_SIG}");
    assert_eq!(verifier.open(&note).unwrap(), GO_TEXT);
    let changed = note.replace("cryptography", "cryptographY");
    verifier.open(&changed).unwrap_err();
    // Unknown signatures are ignored, a missing one is not.
    let cosigned = format!("{note}\u{2014} Other AAAAAA==\n");
    assert_eq!(verifier.open(&cosigned).unwrap(), GO_TEXT);
    let unsigned = format!("{GO_TEXT}\n\u{2014} Other AAAAAA==\n");
    verifier.open(&unsigned).unwrap_err();
    // A key whose id does not match is refused.
    "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        .parse::<NoteVerifier>()
        .unwrap_err();
    "PeterNeumann+c74f20a3".parse::<NoteVerifier>().unwrap_err();
}

#[test]
fn audit_checkpoints_sign_open_and_refuse_other_keys() {
    let keys = AuditKeys::from_root_key(&[7u8; 32]).unwrap();
    let origin = keys.signer.name().to_owned();
    assert!(origin.starts_with("keygate/audit/"), "{origin}");
    let cp = Checkpoint {
        origin: origin.clone(),
        size: 20852163,
        root: [9u8; 32],
    };
    let note = keys.signer.sign_checkpoint(&cp).unwrap();
    let mut lines = note.lines();
    assert_eq!(lines.next(), Some(origin.as_str()));
    assert_eq!(lines.next(), Some("20852163"));
    assert_eq!(lines.next(), Some(B64.encode([9u8; 32]).as_str()));
    assert_eq!(lines.next(), Some(""));
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with(&format!("\u{2014} {origin} "))
    );
    let verifier = keys.signer.verifier();
    let reparsed: NoteVerifier = verifier.to_string().parse().unwrap();
    assert_eq!(reparsed, verifier);
    assert_eq!(verifier.open_checkpoint(&note).unwrap(), cp);
    // Same derivation, same key; another root key, another log.
    let again = AuditKeys::from_root_key(&[7u8; 32]).unwrap();
    assert_eq!(again.signer.verifier(), verifier);
    let other = AuditKeys::from_root_key(&[8u8; 32]).unwrap();
    other.signer.verifier().open_checkpoint(&note).unwrap_err();
    verifier
        .open_checkpoint(&note.replace("20852163", "20852162"))
        .unwrap_err();
}

#[test]
fn checkpoint_text_is_parsed_strictly() {
    let root = B64.encode([1u8; 32]);
    assert_eq!(
        Checkpoint::parse(&format!("o\n0\n{root}\n")).unwrap().size,
        0
    );
    assert_eq!(
        Checkpoint::parse(&format!("o\n5\n{root}\next\n"))
            .unwrap()
            .size,
        5
    );
    for bad in [
        format!("o\n05\n{root}\n"),
        format!("o\n-5\n{root}\n"),
        format!("o\n5\n{}\n", B64.encode([1u8; 31])),
        "o\n5\n".to_owned(),
        format!("\n5\n{root}\n"),
    ] {
        Checkpoint::parse(&bad).unwrap_err();
    }
}
