//! Envelope format tests: header encoding, in-memory roundtrips and every kind of tampering.

use std::io::Cursor;

use super::*;
use crate::{EncryptionContext, ErrorKind};

const C: usize = 1024;
const KEY: [u8; 32] = [7u8; 32];

/// A format 2 header committed to [`KEY`].
pub(super) fn header() -> EnvelopeHeader {
    let mut h = EnvelopeHeader::new(
        "local",
        "local://keys/orders",
        "3",
        EncryptionContext::new()
            .with("tenant", "acme")
            .with("app", "billing"),
        vec![0xAB; 60],
    )
    .with_chunk_size(C as u32)
    .unwrap();
    h.commit_to(&KEY).unwrap();
    h
}

/// A plaintext that differs at every position mod 251, so a moved byte shows.
pub(super) fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn kind(r: Result<impl Sized>) -> ErrorKind {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.kind(),
    }
}

/// A small deterministic generator, so a failing fuzz case can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Splits a sealed envelope into its header and its sealed chunks.
fn split(envelope: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let (_, hl) = EnvelopeHeader::decode(envelope).unwrap();
    let chunks = envelope[hl..]
        .chunks(C + TAG_LEN)
        .map(<[u8]>::to_vec)
        .collect();
    (envelope[..hl].to_vec(), chunks)
}

#[test]
fn roundtrips_at_every_interesting_size() {
    for len in [0, 1, C - 1, C, C + 1, 2 * C, 5 * C + 17] {
        let h = header();
        let pt = plaintext(len);
        let env = seal(&h, &KEY, &pt).unwrap();
        assert_eq!(
            env.len() as u64,
            sealed_len(&h, len as u64).unwrap(),
            "len {len}"
        );
        assert!(is_envelope(&env));
        let opened = open(&env, &KEY).unwrap();
        assert_eq!(&opened[..], &pt[..], "len {len}");
        // Chunk count: every chunk full but the last, and always at least one.
        let (_, chunks) = split(&env);
        assert_eq!(chunks.len(), len.div_ceil(C).max(1), "len {len}");
    }
}

#[test]
fn header_encoding_is_canonical_and_read_from_stops_at_the_payload() {
    let h = header();
    let bytes = h.encode().unwrap();
    let (decoded, len) = EnvelopeHeader::decode(&bytes).unwrap();
    assert_eq!(decoded, h);
    assert_eq!(len, bytes.len());
    assert_eq!(decoded.encode().unwrap(), bytes);
    assert_eq!(
        decoded.algorithm,
        EnvelopeAlgorithm::Aes256GcmStreamHkdfSha256
    );

    let env = seal(&h, &KEY, b"payload").unwrap();
    let mut cursor = Cursor::new(&env[..]);
    let read = EnvelopeHeader::read_from(&mut cursor).unwrap();
    assert_eq!(read, h);
    assert_eq!(cursor.position() as usize, bytes.len());
    let rest = &env[bytes.len()..];
    assert_eq!(&open_payload(&read, &KEY, rest).unwrap()[..], b"payload");
}

#[test]
fn new_headers_get_fresh_ids_and_the_default_chunk_size() {
    let a = EnvelopeHeader::new("p", "u", "1", EncryptionContext::new(), vec![1]);
    let b = EnvelopeHeader::new("p", "u", "1", EncryptionContext::new(), vec![1]);
    assert_ne!(a.message_id, b.message_id);
    assert_eq!(a.chunk_size, DEFAULT_CHUNK_SIZE);
    // Same inputs, different ids: the envelopes differ entirely.
    assert_ne!(seal(&a, &KEY, b"x").unwrap(), seal(&b, &KEY, b"x").unwrap());
}

#[test]
fn chunk_size_and_fields_are_bounded() {
    let h = header();
    for bad in [0, 1023, MAX_CHUNK_SIZE + 1, u32::MAX] {
        assert_eq!(
            kind(h.clone().with_chunk_size(bad)),
            ErrorKind::InvalidArgument
        );
    }
    for good in [MIN_CHUNK_SIZE, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE] {
        assert_eq!(h.clone().with_chunk_size(good).unwrap().chunk_size, good);
    }
    let mut long = header();
    long.key_uri = "u".repeat(70_000);
    assert_eq!(kind(long.encode()), ErrorKind::InvalidArgument);
    let mut big = header();
    big.wrapped_key = vec![1; MAX_WRAPPED_KEY_LEN + 1];
    assert_eq!(kind(big.encode()), ErrorKind::InvalidArgument);
    let mut empty = header();
    empty.provider.clear();
    assert_eq!(kind(empty.encode()), ErrorKind::InvalidArgument);
    let mut no_key = header();
    no_key.wrapped_key.clear();
    assert_eq!(kind(seal(&no_key, &KEY, b"")), ErrorKind::InvalidArgument);
    let mut chunk = header();
    chunk.chunk_size = 5;
    assert_eq!(kind(seal(&chunk, &KEY, b"")), ErrorKind::InvalidArgument);
    // Many context pairs can exceed the whole-header bound even when each fits.
    let mut wide = header();
    wide.context = (0..5000)
        .map(|i| (format!("k{i:05}"), "v".repeat(60)))
        .collect();
    assert_eq!(kind(wide.encode()), ErrorKind::InvalidArgument);
}

#[test]
fn short_data_keys_and_zero_ids_are_refused() {
    assert_eq!(
        kind(seal(&header(), &[1u8; 15], b"x")),
        ErrorKind::InvalidArgument
    );
    let env = seal(&header(), &KEY, b"x").unwrap();
    assert_eq!(kind(open(&env, &[1u8; 8])), ErrorKind::InvalidArgument);
    // A 16-byte (AES-128) data key works: HKDF derives the 256-bit message key.
    let mut h = header();
    h.commitment = [0; 32];
    let env = seal(&h, &[9u8; 16], b"short key").unwrap();
    assert_eq!(&open(&env, &[9u8; 16]).unwrap()[..], b"short key");
    let mut zero = header();
    zero.message_id = [0; 32];
    assert_eq!(kind(seal(&zero, &KEY, b"x")), ErrorKind::Unavailable);
}

#[test]
fn strict_decoding_rejects_malformed_headers() {
    let good = header().encode().unwrap();
    let not_env = |bytes: &[u8]| match EnvelopeHeader::decode(bytes) {
        Err(Error::InvalidArgument(m)) => assert!(m.starts_with("not a keygate envelope"), "{m}"),
        other => panic!("expected InvalidArgument, got {other:?}"),
    };
    // Wrong magic, unknown version.
    let mut b = good.clone();
    b[0] = b'X';
    not_env(&b);
    let mut b = good.clone();
    b[3] = 3;
    not_env(&b);
    assert!(!is_envelope(&b));
    // Format 2: magic, version, header length (4), then the context: 2 + (2+3 + 2+7) +
    // (2+6 + 2+4) = 30 bytes for {app: billing, tenant: acme}; then the algorithm id and
    // the chunk size.
    let alg_at = 8 + 30;
    let mut b = good.clone();
    b[alg_at] = 2;
    not_env(&b);
    let mut b = good.clone();
    b[alg_at + 1..alg_at + 5].copy_from_slice(&512u32.to_be_bytes());
    not_env(&b);
    let mut b = good.clone();
    b[alg_at + 1..alg_at + 5].copy_from_slice(&(2 * MAX_CHUNK_SIZE).to_be_bytes());
    not_env(&b);
    // Every truncation of the header.
    for cut in 0..good.len() {
        not_env(&good[..cut]);
    }
    // A header length past the end, or over the limit.
    for len in [good.len() as u32 + 1, MAX_HEADER_LEN as u32 + 1, 4] {
        let mut b = good.clone();
        b[4..8].copy_from_slice(&len.to_be_bytes());
        not_env(&b);
    }
    // Recipient count 0, then the provider name: invalid UTF-8 ("local" starts after the
    // message id, the commitment, the count and its length prefix).
    let count_at = alg_at + 5 + 32 + 32;
    let mut b = good.clone();
    b[count_at..count_at + 2].copy_from_slice(&[0, 0]);
    not_env(&b);
    let mut b = good.clone();
    b[count_at + 4] = 0xFF;
    not_env(&b);
    // Non-zero padding.
    let mut b = good.clone();
    *b.last_mut().unwrap() = 1;
    not_env(&b);
    // The same key twice.
    let mut twice = header();
    twice.extra_recipients.push(twice.recipients().remove(0));
    assert_eq!(kind(twice.encode()), ErrorKind::InvalidArgument);
}

/// Hand-builds a header so that fields `encode` would never write can be tried.
fn raw_header(provider: &str, pairs: &[(&str, &str)], wrapped: &[u8], wrapped_len: u32) -> Vec<u8> {
    let mut b = b"KGE\x01".to_vec();
    for s in [provider, "local://k", "1"] {
        b.extend_from_slice(&(s.len() as u16).to_be_bytes());
        b.extend_from_slice(s.as_bytes());
    }
    b.extend_from_slice(&(pairs.len() as u16).to_be_bytes());
    for (k, v) in pairs {
        for s in [k, v] {
            b.extend_from_slice(&(s.len() as u16).to_be_bytes());
            b.extend_from_slice(s.as_bytes());
        }
    }
    b.extend_from_slice(&wrapped_len.to_be_bytes());
    b.extend_from_slice(wrapped);
    b.push(1);
    b.extend_from_slice(&(C as u32).to_be_bytes());
    b.extend_from_slice(&[5u8; 32]);
    b
}

#[test]
fn non_canonical_and_oversize_fields_are_rejected() {
    let ok = raw_header("p", &[("a", "1"), ("b", "2")], &[1, 2], 2);
    assert!(EnvelopeHeader::decode(&ok).is_ok());
    let unsorted = raw_header("p", &[("b", "2"), ("a", "1")], &[1, 2], 2);
    assert_eq!(
        kind(EnvelopeHeader::decode(&unsorted)),
        ErrorKind::InvalidArgument
    );
    let repeated = raw_header("p", &[("a", "1"), ("a", "2")], &[1, 2], 2);
    assert_eq!(
        kind(EnvelopeHeader::decode(&repeated)),
        ErrorKind::InvalidArgument
    );
    let empty_provider = raw_header("", &[], &[1, 2], 2);
    assert_eq!(
        kind(EnvelopeHeader::decode(&empty_provider)),
        ErrorKind::InvalidArgument
    );
    let empty_key = raw_header("p", &[], &[], 0);
    assert_eq!(
        kind(EnvelopeHeader::decode(&empty_key)),
        ErrorKind::InvalidArgument
    );
    // A wrapped-key length over the limit is refused before anything is allocated.
    let huge = raw_header("p", &[], &[], u32::MAX);
    assert_eq!(
        kind(EnvelopeHeader::decode(&huge)),
        ErrorKind::InvalidArgument
    );
    let over = raw_header("p", &[], &[], MAX_WRAPPED_KEY_LEN as u32 + 1);
    assert_eq!(
        kind(EnvelopeHeader::decode(&over)),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn garbage_never_panics() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let env = seal(&header(), &KEY, &plaintext(3 * C + 5)).unwrap();
    for round in 0..20_000 {
        let bytes: Vec<u8> = match round % 4 {
            // Pure noise, sometimes with a valid start so the parser gets further.
            0 => (0..rng.below(400)).map(|_| rng.next() as u8).collect(),
            1 => {
                let mut b = b"KGE\x01".to_vec();
                b.extend((0..rng.below(400)).map(|_| rng.next() as u8));
                b
            }
            // A valid envelope, truncated or mutated at random places.
            2 => env[..rng.below(env.len())].to_vec(),
            _ => {
                let mut b = env.clone();
                for _ in 0..=rng.below(3) {
                    let at = rng.below(b.len());
                    b[at] ^= 1 << rng.below(8);
                }
                b
            }
        };
        let _ = EnvelopeHeader::decode(&bytes);
        let _ = EnvelopeHeader::read_from(&mut &bytes[..]);
        let _ = is_envelope(&bytes);
        if round % 4 >= 2 && bytes != env && !only_recipients_differ(&env, &bytes) {
            // Anything but the original envelope must fail to open.
            assert!(open(&bytes, &KEY).is_err(), "round {round} opened");
        } else {
            let _ = open(&bytes, &KEY);
        }
    }
}

/// True when `bytes` differs from `env` only in the wrapped copies of the data key: what
/// the payload deliberately does not bind (each provider authenticates its own wrapping, and
/// the gateway routes on the key named there).
fn only_recipients_differ(env: &[u8], bytes: &[u8]) -> bool {
    let (Ok((a, al)), Ok((b, bl))) = (EnvelopeHeader::decode(env), EnvelopeHeader::decode(bytes))
    else {
        return false;
    };
    al == bl
        && env[al..] == bytes[bl..]
        && a.payload_aad().unwrap() == b.payload_aad().unwrap()
        && a.recipients() != b.recipients()
}

#[test]
fn every_single_bit_flip_anywhere_fails() {
    let env = seal(&header(), &KEY, &plaintext(2 * C + 3)).unwrap();
    let mut unbound = 0;
    for at in 0..env.len() {
        let mut b = env.clone();
        b[at] ^= 0x01;
        if only_recipients_differ(&env, &b) {
            unbound += 1;
            continue;
        }
        let k = kind(open(&b, &KEY));
        assert!(
            matches!(k, ErrorKind::IntegrityFailure | ErrorKind::InvalidArgument),
            "byte {at}: {k}"
        );
    }
    // Provider, key URI, key version and wrapped key: 2+5 + 2+19 + 2+1 + 4+60 bytes, less
    // the length prefixes' high bytes and the wrapped length's top bytes, which break the
    // decoding instead.
    assert!(unbound > 60 && unbound < 100, "{unbound}");
}

#[test]
fn truncation_at_every_chunk_boundary_and_inside_chunks_fails() {
    let env = seal(&header(), &KEY, &plaintext(4 * C + 100)).unwrap();
    let (head, chunks) = split(&env);
    assert_eq!(chunks.len(), 5);
    for keep in 0..chunks.len() {
        let mut b = head.clone();
        for c in &chunks[..keep] {
            b.extend_from_slice(c);
        }
        assert_eq!(
            kind(open(&b, &KEY)),
            ErrorKind::IntegrityFailure,
            "{keep} chunks"
        );
        // And cut inside the next chunk: short of a tag, and past one.
        for extra in [1, TAG_LEN - 1, TAG_LEN, TAG_LEN + 1, chunks[keep].len() - 1] {
            let mut b2 = b.clone();
            b2.extend_from_slice(&chunks[keep][..extra]);
            assert_eq!(kind(open(&b2, &KEY)), ErrorKind::IntegrityFailure);
        }
    }
}

#[test]
fn dropped_swapped_and_duplicated_chunks_fail() {
    let env = seal(&header(), &KEY, &plaintext(3 * C + 10)).unwrap();
    let (head, chunks) = split(&env);
    let build = |order: &[usize]| {
        let mut b = head.clone();
        for &i in order {
            b.extend_from_slice(&chunks[i]);
        }
        b
    };
    assert_eq!(
        &open(&build(&[0, 1, 2, 3]), &KEY).unwrap()[..],
        &plaintext(3 * C + 10)[..]
    );
    for order in [
        &[1, 2, 3][..],   // first dropped
        &[0, 2, 3],       // middle dropped
        &[0, 1, 2],       // final dropped
        &[1, 0, 2, 3],    // swapped
        &[0, 1, 3, 2],    // final swapped in
        &[0, 0, 1, 2, 3], // duplicated
        &[0, 1, 2, 3, 3], // final duplicated
        &[0, 1, 2, 2, 3], // middle duplicated
    ] {
        assert_eq!(
            kind(open(&build(order), &KEY)),
            ErrorKind::IntegrityFailure,
            "{order:?}"
        );
    }
}

#[test]
fn trailing_bytes_after_the_final_chunk_fail() {
    for len in [0, C, C + 1] {
        let env = seal(&header(), &KEY, &plaintext(len)).unwrap();
        let (_, chunks) = split(&env);
        let last = chunks.last().unwrap().clone();
        for tail in [vec![0u8], vec![0u8; TAG_LEN], last] {
            let mut b = env.clone();
            b.extend_from_slice(&tail);
            assert_eq!(
                kind(open(&b, &KEY)),
                ErrorKind::IntegrityFailure,
                "len {len}"
            );
        }
    }
}

#[test]
fn each_bound_header_field_is_authenticated() {
    let h = header();
    let pt = plaintext(C + 10);
    let env = seal(&h, &KEY, &pt).unwrap();
    let (_, hl) = EnvelopeHeader::decode(&env).unwrap();
    let payload = &env[hl..];
    type Edit = Box<dyn Fn(&mut EnvelopeHeader)>;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "context value",
            Box::new(|h| {
                h.context.0.insert("tenant".into(), "evil".into());
            }),
        ),
        (
            "context added",
            Box::new(|h| {
                h.context.0.insert("z".into(), "1".into());
            }),
        ),
        (
            "context removed",
            Box::new(|h| {
                h.context.0.remove("app");
            }),
        ),
        ("chunk_size", Box::new(|h| h.chunk_size = 2048)),
        ("message_id", Box::new(|h| h.message_id[31] ^= 1)),
        ("commitment", Box::new(|h| h.commitment[0] ^= 1)),
        ("format", Box::new(|h| h.format = FORMAT_V1)),
    ];
    for (what, edit) in edits {
        let mut changed = h.clone();
        edit(&mut changed);
        if changed.format == FORMAT_V1 {
            changed.padding = 0;
        }
        assert_eq!(
            kind(open_payload(&changed, &KEY, payload)),
            ErrorKind::IntegrityFailure,
            "{what}"
        );
        // Also as a whole envelope: the changed header re-encoded in front of the payload.
        let mut b = changed.encode().unwrap();
        b.extend_from_slice(payload);
        assert_eq!(kind(open(&b, &KEY)), ErrorKind::IntegrityFailure, "{what}");
    }
    assert_eq!(&open_payload(&h, &KEY, payload).unwrap()[..], &pt[..]);
}

#[test]
fn recipients_change_without_touching_the_payload() {
    let h = header();
    let pt = plaintext(3 * C + 1);
    let env = seal(&h, &KEY, &pt).unwrap();
    let (_, hl) = EnvelopeHeader::decode(&env).unwrap();
    let payload = &env[hl..];
    let mut more = h.clone();
    let mut all = h.recipients();
    all.push(Recipient {
        provider: "gcp".into(),
        key_uri: "gcp://projects/p/locations/l/keyRings/r/cryptoKeys/k".into(),
        key_version: "1".into(),
        wrapped_key: vec![0xCD; 180],
    });
    all.remove(0);
    more.set_recipients(all.clone()).unwrap();
    assert_eq!(more.key_uri, all[0].key_uri);
    assert!(more.recipient(&h.key_uri).is_none());
    // Same length: the new header overwrites the old one in place.
    more.fit_to(hl).unwrap();
    let mut rewrapped = more.encode().unwrap();
    assert_eq!(rewrapped.len(), hl);
    rewrapped.extend_from_slice(payload);
    assert_eq!(&open(&rewrapped, &KEY).unwrap()[..], &pt[..]);
    let (decoded, _) = EnvelopeHeader::decode(&rewrapped).unwrap();
    assert_eq!(decoded.recipients(), all);
    // A header that cannot fit says so; the commitment tells the right data key.
    assert_eq!(kind(more.clone().fit_to(100)), ErrorKind::InvalidArgument);
    more.verify_data_key(&KEY).unwrap();
    assert_eq!(
        kind(more.verify_data_key(&[8u8; 32])),
        ErrorKind::IntegrityFailure
    );
    assert_eq!(
        kind(more.set_recipients(vec![])),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn format_1_envelopes_still_open_but_cannot_be_rewrapped() {
    let mut v1 = header();
    v1.format = FORMAT_V1;
    v1.padding = 0;
    v1.commitment = [0; 32];
    let env = seal(&v1, &KEY, b"old").unwrap();
    assert_eq!(env[3], 1);
    assert!(is_envelope(&env));
    let (decoded, hl) = EnvelopeHeader::decode(&env).unwrap();
    assert_eq!(decoded, v1);
    assert_eq!(decoded.encode().unwrap(), env[..hl].to_vec());
    assert_eq!(&open(&env, &KEY).unwrap()[..], b"old");
    // The one wrapped key is bound by the payload in format 1.
    let mut changed = decoded.clone();
    changed.wrapped_key[0] ^= 1;
    let mut b = changed.encode().unwrap();
    b.extend_from_slice(&env[hl..]);
    assert_eq!(kind(open(&b, &KEY)), ErrorKind::IntegrityFailure);
    let mut d = decoded;
    assert_eq!(
        kind(d.set_recipients(v1.recipients())),
        ErrorKind::Unsupported
    );
    assert_eq!(kind(d.verify_data_key(&KEY)), ErrorKind::Unsupported);
    let mut extra = v1.clone();
    extra.extra_recipients = v1.recipients();
    assert_eq!(kind(extra.encode()), ErrorKind::InvalidArgument);
}

#[test]
fn a_wrong_data_key_fails_with_a_fixed_message() {
    let env = seal(&header(), &KEY, b"attack at dawn").unwrap();
    let err = open(&env, &[8u8; 32]).unwrap_err();
    assert!(matches!(err, Error::IntegrityFailure));
    assert_eq!(err.to_string(), "integrity check failed");
}
