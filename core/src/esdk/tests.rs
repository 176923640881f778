#![allow(clippy::unwrap_used)]

use std::io::{Cursor, Read, Write};

use super::vectors::{SIGNED, UNSIGNED};
use super::*;
use crate::EncryptionContext;
use crate::envelope::from_io_error;

const DATA_KEY: [u8; 32] = [7u8; 32];

fn unhex(parts: &[&str]) -> Vec<u8> {
    let text: String = parts.concat();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn edk(name: &str) -> EncryptedDataKey {
    EncryptedDataKey {
        provider_id: AWS_KMS_PROVIDER_ID.to_owned(),
        provider_info: format!("arn:aws:kms:us-east-1:000000000000:key/{name}").into_bytes(),
        ciphertext: vec![1, 2, 3],
    }
}

fn seal(suite: AlgorithmSuite, frame: u32, plaintext: &[u8], write_size: usize) -> Vec<u8> {
    let mut context: EncryptionContext = [("purpose", "test")].into_iter().collect();
    let signer = suite.is_signed().then(|| SigningKey::generate().unwrap());
    if let Some(key) = &signer {
        context.0.insert(
            PUBLIC_KEY_CONTEXT_KEY.to_owned(),
            key.public_key_base64().unwrap(),
        );
    }
    let mut sealer = EsdkSealer::new(
        suite,
        frame,
        context,
        vec![edk("a"), edk("b")],
        &DATA_KEY,
        signer,
        Vec::new(),
    )
    .unwrap();
    for part in plaintext.chunks(write_size.max(1)) {
        sealer.write_all(part).unwrap();
    }
    sealer.finish().unwrap()
}

fn open(message: &[u8], data_key: &[u8]) -> crate::Result<Vec<u8>> {
    let mut input = Cursor::new(message);
    let parsed = MessageHeader::read_from(&mut input)?;
    let mut opener = EsdkOpener::new(&parsed, data_key, input)?;
    let mut out = Vec::new();
    opener.read_to_end(&mut out).map_err(from_io_error)?;
    Ok(out)
}

#[test]
fn messages_the_python_sdk_wrote_open() {
    let data_key: Vec<u8> = (0u8..32).collect();
    for (vector, suite, len) in [
        (SIGNED, AlgorithmSuite::CommitKeyEcdsaP384, 300),
        (UNSIGNED, AlgorithmSuite::CommitKey, 256),
    ] {
        let message = unhex(vector);
        assert!(is_message(&message));
        let parsed = MessageHeader::read_from(&mut Cursor::new(&message)).unwrap();
        let header = &parsed.header;
        assert_eq!(header.suite, suite);
        assert_eq!(header.frame_length, 128);
        assert_eq!(header.context.0["purpose"], "test");
        assert_eq!(header.context.0["b"], "2");
        assert_eq!(
            header.context.0.contains_key(PUBLIC_KEY_CONTEXT_KEY),
            suite.is_signed()
        );
        assert_eq!(header.data_keys.len(), 1);
        assert_eq!(header.data_keys[0].provider_id, "test-vector");
        assert_eq!(header.data_keys[0].info_text(), Some("vector-key"));
        assert_eq!(header.data_keys[0].ciphertext, data_key);
        // Re-encoding gives back the bytes the SDK wrote.
        assert_eq!(header.encode().unwrap(), parsed.raw);
        assert_eq!(open(&message, &data_key).unwrap(), pattern(len));
        assert!(matches!(
            open(&message, &DATA_KEY),
            Err(crate::Error::IntegrityFailure)
        ));
    }
}

#[test]
fn every_changed_byte_of_an_sdk_message_is_refused() {
    let data_key: Vec<u8> = (0u8..32).collect();
    for vector in [SIGNED, UNSIGNED] {
        let message = unhex(vector);
        for i in 0..message.len() {
            let mut bad = message.clone();
            bad[i] ^= 0x01;
            assert!(
                open(&bad, &data_key).is_err(),
                "byte {i} changed and opened"
            );
        }
    }
}

#[test]
fn round_trips_at_frame_boundaries_for_both_suites() {
    for suite in [
        AlgorithmSuite::CommitKey,
        AlgorithmSuite::CommitKeyEcdsaP384,
    ] {
        for len in [0, 1, 127, 128, 129, 384, 1000] {
            for write_size in [1, 50, 4096] {
                let plain = pattern(len);
                let message = seal(suite, 128, &plain, write_size);
                assert!(is_message(&message));
                assert_eq!(open(&message, &DATA_KEY).unwrap(), plain, "{suite} {len}");
            }
        }
    }
}

#[test]
fn the_last_bytes_are_always_in_the_final_frame() {
    // 256 bytes in frames of 128: one regular frame, and a full final frame (no empty one).
    let message = seal(AlgorithmSuite::CommitKey, 128, &pattern(256), 256);
    let mut input = Cursor::new(&message);
    MessageHeader::read_from(&mut input).unwrap();
    let body = &message[usize::try_from(input.position()).unwrap()..];
    let regular = 4 + 12 + 128 + 16;
    assert_eq!(&body[regular..regular + 4], &[0xFF; 4]);
    assert_eq!(body.len(), regular + 8 + 12 + 4 + 128 + 16);
}

#[test]
fn truncated_extended_or_wrongly_keyed_messages_are_refused() {
    for suite in [
        AlgorithmSuite::CommitKey,
        AlgorithmSuite::CommitKeyEcdsaP384,
    ] {
        let message = seal(suite, 128, &pattern(300), 4096);
        for cut in [message.len() - 1, message.len() - 20, message.len() / 2] {
            assert!(open(&message[..cut], &DATA_KEY).is_err());
        }
        let mut longer = message.clone();
        longer.push(0);
        assert!(matches!(
            open(&longer, &DATA_KEY),
            Err(crate::Error::IntegrityFailure)
        ));
        assert!(matches!(
            open(&message, &[8u8; 32]),
            Err(crate::Error::IntegrityFailure)
        ));
    }
}

#[test]
fn two_messages_under_one_data_key_differ() {
    let a = seal(AlgorithmSuite::CommitKey, 128, b"same", 10);
    let b = seal(AlgorithmSuite::CommitKey, 128, b"same", 10);
    assert_ne!(a, b);
}

#[test]
fn sealer_checks_its_signer_and_context() {
    let context = EncryptionContext::new();
    let new = |suite, signer: Option<SigningKey>, context: EncryptionContext| {
        EsdkSealer::new(
            suite,
            DEFAULT_FRAME_LENGTH,
            context,
            vec![edk("a")],
            &DATA_KEY,
            signer,
            Vec::new(),
        )
        .map(|_| ())
    };
    let signed = AlgorithmSuite::CommitKeyEcdsaP384;
    assert!(new(signed, None, context.clone()).is_err());
    // The context must carry this signer's public key.
    assert!(
        new(
            signed,
            Some(SigningKey::generate().unwrap()),
            context.clone()
        )
        .is_err()
    );
    let unsigned = AlgorithmSuite::CommitKey;
    assert!(
        new(
            unsigned,
            Some(SigningKey::generate().unwrap()),
            context.clone()
        )
        .is_err()
    );
    let reserved: EncryptionContext = [(PUBLIC_KEY_CONTEXT_KEY, "x")].into_iter().collect();
    assert!(new(unsigned, None, reserved).is_err());
    assert!(
        EsdkSealer::new(
            unsigned,
            DEFAULT_FRAME_LENGTH,
            context.clone(),
            Vec::new(),
            &DATA_KEY,
            None,
            Vec::new()
        )
        .is_err()
    );
    assert!(
        EsdkSealer::new(
            unsigned,
            0,
            context,
            vec![edk("a")],
            &DATA_KEY,
            None,
            Vec::new()
        )
        .is_err()
    );
}

#[test]
fn unsupported_messages_are_typed() {
    let mut v1 = vec![0x01, 0x80, 0x01, 0x78];
    v1.extend_from_slice(&[0u8; 64]);
    assert!(is_message(&v1));
    let err = MessageHeader::read_from(&mut Cursor::new(&v1)).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Unsupported);

    // A non-committing suite (0x0378) is not taken for a message keygate reads.
    let mut message = seal(AlgorithmSuite::CommitKey, 128, b"x", 1);
    message[1] = 0x03;
    assert!(!is_message(&message));
    let err = MessageHeader::read_from(&mut Cursor::new(&message)).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Unsupported);

    assert!(!is_message(b"KGE\x01"));
    assert!(!is_message(b""));
}

#[test]
fn suites_parse_by_name_and_id() {
    assert_eq!(
        "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384"
            .parse::<AlgorithmSuite>()
            .unwrap(),
        AlgorithmSuite::CommitKeyEcdsaP384
    );
    assert_eq!(
        "0x0478".parse::<AlgorithmSuite>().unwrap(),
        AlgorithmSuite::CommitKey
    );
    assert!("0x0378".parse::<AlgorithmSuite>().is_err());
    assert!("AES".parse::<AlgorithmSuite>().is_err());
    assert_eq!(
        AlgorithmSuite::default(),
        AlgorithmSuite::CommitKeyEcdsaP384
    );
}

#[test]
fn too_many_data_keys_are_refused_before_any_is_read() {
    let header = MessageHeader {
        suite: AlgorithmSuite::CommitKey,
        message_id: [0u8; 32],
        context: EncryptionContext::new(),
        data_keys: (0..=MAX_ENCRYPTED_DATA_KEYS).map(|_| edk("a")).collect(),
        frame_length: 128,
        commitment: [0u8; 32],
    };
    let bytes = header.encode().unwrap();
    let err = MessageHeader::read_from(&mut Cursor::new(&bytes)).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
}

#[test]
fn debug_output_holds_no_wrapped_key_or_signing_key() {
    let key = EncryptedDataKey {
        ciphertext: b"wrapped-secret".to_vec(),
        ..edk("a")
    };
    assert!(!format!("{key:?}").contains("wrapped-secret"));
    assert_eq!(
        format!("{:?}", SigningKey::generate().unwrap()),
        "SigningKey(..)"
    );
}
