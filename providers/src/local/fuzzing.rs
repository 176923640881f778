//! Property checks over the local provider's ciphertext format, for the `fuzz/` target
//! `local_ciphertext` and for the test that replays its committed corpus on stable Rust.
//!
//! Not part of keygate's API: hidden from the docs and free to change.

use aws_lc_rs::aead::{AES_256_GCM, LessSafeKey, UnboundKey};
use keygate_core::{EncryptionContext, validate_name};

use super::ciphertext::{self, CtAlgorithm};
use super::crypto::{self, NONCE_LEN, TAG_LEN};

/// The AES key every fuzzed ciphertext is opened with.
const KEY: [u8; 32] = [0x3C; 32];

fn key() -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &KEY).expect("a 32-byte AES key"))
}

fn context() -> EncryptionContext {
    EncryptionContext::new().with("purpose", "fuzz")
}

/// The ciphertext parser on arbitrary bytes: `None`, or a parse that covers the input
/// exactly, whose fields are valid, whose header re-encodes to the bytes it was read from,
/// and which, when it opens under the fixed key, re-seals to the same body.
pub fn local_ciphertext(data: &[u8]) {
    let Some(parsed) = ciphertext::parse(data) else {
        return;
    };
    assert_eq!(
        [parsed.header, parsed.body].concat(),
        data,
        "header and body do not cover the input"
    );
    assert!(
        validate_name("key", parsed.key_id).is_ok(),
        "invalid key id"
    );
    assert!(parsed.version >= 1, "version 0 accepted");
    let re_encoded =
        ciphertext::encode_header(parsed.alg, parsed.key_id, parsed.version, parsed.nonce)
            .expect("a parsed header encodes");
    assert_eq!(re_encoded, parsed.header, "re-encoding changed the header");
    match parsed.alg {
        CtAlgorithm::Aes256Gcm => {
            assert_eq!(parsed.nonce.len(), NONCE_LEN);
            assert!(parsed.body.len() >= TAG_LEN);
            let aad = ciphertext::aad(parsed.header, &context());
            if let Some(plaintext) = crypto::gcm_open(&key(), parsed.nonce, &aad, parsed.body) {
                let nonce: [u8; NONCE_LEN] = parsed.nonce.try_into().expect("checked length");
                let resealed = crypto::gcm_seal(&key(), nonce, &aad, &plaintext).expect("seal");
                assert_eq!(
                    resealed, parsed.body,
                    "an opened ciphertext does not re-seal"
                );
            }
        }
        CtAlgorithm::RsaOaepSha256 => {
            assert!(parsed.nonce.is_empty());
            assert!(!parsed.body.is_empty());
        }
    }
}

/// Valid ciphertexts made by the real encoder, to seed the corpus.
pub fn seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (id, version, plaintext) in [
        ("k", 1u32, &b""[..]),
        ("demo-key", 3, b"hello, keygate"),
        ("a.b_c-d", 70_000, &[0x41; 300][..]),
    ] {
        let nonce = [version.to_le_bytes()[0]; NONCE_LEN];
        let mut ct = ciphertext::encode_header(CtAlgorithm::Aes256Gcm, id, version, &nonce)
            .expect("seed headers encode");
        let aad = ciphertext::aad(&ct, &context());
        ct.extend(crypto::gcm_seal(&key(), nonce, &aad, plaintext).expect("seal"));
        out.push(ct);
    }
    let mut rsa = ciphertext::encode_header(CtAlgorithm::RsaOaepSha256, "rsa-key", 2, &[])
        .expect("seed headers encode");
    rsa.extend_from_slice(&[0x99; 256]);
    out.push(rsa);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use keygate_core::fuzzing::{corpus_dir, replay, write_seeds};

    const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

    #[test]
    fn seeds_hold_the_properties() {
        for seed in seeds() {
            assert!(ciphertext::parse(&seed).is_some());
            local_ciphertext(&seed);
        }
    }

    #[test]
    fn the_local_ciphertext_corpus_holds_the_properties() {
        replay(&corpus_dir(MANIFEST, "local_ciphertext"), local_ciphertext);
    }

    #[test]
    #[ignore = "writes the seed corpus; run by hand after a format change"]
    fn write_fuzz_seeds() {
        write_seeds(&corpus_dir(MANIFEST, "local_ciphertext"), &seeds());
    }
}
