//! Property checks over the envelope format, for the `fuzz/` targets and for the tests that
//! replay the committed fuzz corpora on stable Rust.
//!
//! Not part of keygate's API: hidden from the docs and free to change. Each check takes
//! arbitrary bytes and panics when a property fails; an input that is merely invalid must
//! come back as a typed error, which the checks assert too.

use std::io::{Read, Write};

use crate::EncryptionContext;
use crate::envelope::{self, EnvelopeHeader, MAX_HEADER_LEN, OpeningReader, SealingWriter};
use crate::error::{Error, ErrorKind};

/// The data key every fuzzed envelope is opened with.
const DATA_KEY: [u8; 32] = [0x5A; 32];

/// `EnvelopeHeader::decode` on arbitrary bytes: a typed error, or a header that re-encodes
/// to exactly the bytes it was read from and that `read_from` reads the same way.
pub fn envelope_header(data: &[u8]) {
    let decoded = EnvelopeHeader::decode(data);
    let mut reader = data;
    let streamed = EnvelopeHeader::read_from(&mut reader);
    match decoded {
        Ok((header, len)) => {
            assert!(len <= data.len() && len <= MAX_HEADER_LEN, "length {len}");
            assert!(envelope::is_envelope(data));
            let encoded = header.encode().expect("a decoded header encodes");
            assert_eq!(encoded, data[..len], "re-encoding changed the header bytes");
            let again = streamed.expect("read_from accepts what decode accepts");
            assert_eq!(again, header, "read_from and decode disagree");
            assert_eq!(
                reader.len(),
                data.len() - len,
                "read_from read past the header"
            );
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
            let e2 = streamed.expect_err("read_from refuses what decode refuses");
            assert_eq!(e2.kind(), ErrorKind::InvalidArgument, "{e2}");
        }
    }
}

/// The payload stream. The first byte picks the mode and a buffer size `n` (1..=128):
///
/// - even: the rest is an envelope, opened with a fixed data key both whole ([`envelope::open`])
///   and through an [`OpeningReader`] read `n` bytes at a time. Both must agree, fail only
///   with a typed error, and an envelope that opens must re-seal to the very same bytes.
/// - odd: the rest is a plaintext, sealed through a [`SealingWriter`] written `n` bytes at a
///   time under the smallest chunk size; it must open to itself, and a truncated or altered
///   envelope must fail with [`Error::IntegrityFailure`].
pub fn envelope_stream(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let step = usize::from(mode >> 1) + 1;
    if mode & 1 == 0 {
        open_arbitrary(rest, step);
    } else {
        seal_and_open(rest, step);
    }
}

fn open_arbitrary(bytes: &[u8], step: usize) {
    let whole = envelope::open(bytes, &DATA_KEY);
    if let Err(e) = &whole {
        assert!(
            matches!(
                e.kind(),
                ErrorKind::InvalidArgument | ErrorKind::IntegrityFailure
            ),
            "{e}"
        );
    }
    let Ok((header, header_len)) = EnvelopeHeader::decode(bytes) else {
        assert!(whole.is_err(), "opened without a header");
        return;
    };
    let payload = &bytes[header_len..];
    let streamed = OpeningReader::new(&header, &DATA_KEY, payload)
        .and_then(|reader| read_in_steps(reader, step));
    match (&whole, &streamed) {
        (Ok(a), Ok(b)) => assert_eq!(a.as_slice(), b.as_slice(), "open and the reader differ"),
        (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "{a} / {b}"),
        (a, b) => panic!(
            "open and the reader disagree: {:?} / {:?}",
            a.as_ref().map(|_| ()),
            b.as_ref().map(|_| ())
        ),
    }
    if let Ok(plaintext) = whole {
        // Sealing is deterministic once the header (with its message id) is fixed.
        if let Ok(resealed) = envelope::seal(&header, &DATA_KEY, &plaintext) {
            assert_eq!(resealed, bytes, "an envelope that opened does not re-seal");
        }
    }
}

fn read_in_steps<R: Read>(mut reader: R, step: usize) -> crate::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; step];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(envelope::from_io_error(e)),
        }
    }
}

/// The header every fuzzed plaintext is sealed under: the smallest chunk size, so that short
/// inputs span several chunks.
fn fixed_header() -> EnvelopeHeader {
    let mut header = EnvelopeHeader::new(
        "local",
        "local:///fuzz-key",
        "1",
        EncryptionContext::new().with("purpose", "fuzz"),
        vec![0xA5; 60],
    )
    .with_chunk_size(envelope::MIN_CHUNK_SIZE)
    .expect("the minimum chunk size is in bounds");
    header.message_id = [0x42; 32];
    header
}

fn seal_and_open(plaintext: &[u8], step: usize) {
    let header = fixed_header();
    let mut writer =
        SealingWriter::new(&header, &DATA_KEY, Vec::new()).expect("a valid header seals");
    for piece in plaintext.chunks(step) {
        writer.write_all(piece).expect("writing into memory");
    }
    let sealed = writer.finish().expect("finishing into memory");
    assert_eq!(
        sealed,
        envelope::seal(&header, &DATA_KEY, plaintext).expect("seal")
    );
    let plaintext_len = u64::try_from(plaintext.len()).expect("a length fits u64");
    assert_eq!(
        envelope::sealed_len(&header, plaintext_len),
        u64::try_from(sealed.len()).ok()
    );
    let opened = envelope::open(&sealed, &DATA_KEY).expect("a sealed envelope opens");
    assert_eq!(opened.as_slice(), plaintext);

    let header_len = header.encode().expect("encodes").len();
    let cut = header_len + step % (sealed.len() - header_len);
    let truncated = envelope::open(&sealed[..cut], &DATA_KEY);
    assert!(
        matches!(truncated, Err(Error::IntegrityFailure)),
        "a cut envelope opened"
    );
    let mut altered = sealed.clone();
    let at = header_len + (step * 7919) % (sealed.len() - header_len);
    altered[at] ^= 0x80;
    assert!(
        matches!(
            envelope::open(&altered, &DATA_KEY),
            Err(Error::IntegrityFailure)
        ),
        "an altered payload opened"
    );
    let mut extended = sealed;
    extended.push(0);
    assert!(
        matches!(
            envelope::open(&extended, &DATA_KEY),
            Err(Error::IntegrityFailure)
        ),
        "an envelope with a trailing byte opened"
    );
}

/// Valid inputs made by the real encoders, to seed the corpora of `envelope_header` (the
/// first list) and `envelope_stream` (the second).
pub fn seeds() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let mut headers = Vec::new();
    let mut streams = Vec::new();
    let plain = fixed_header();
    let mut rich = EnvelopeHeader::new(
        "aws-prod",
        "aws://arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "v7",
        EncryptionContext::new()
            .with("a", "1")
            .with("tenant", "acme")
            .with("ünïcode", "välue"),
        vec![7; 256],
    );
    rich.message_id = [0x11; 32];
    for header in [&plain, &rich] {
        let encoded = header.encode().expect("seed headers encode");
        headers.push(encoded.clone());
        let mut with_payload = encoded;
        with_payload.extend_from_slice(&[0; 40]);
        headers.push(with_payload);
    }
    for (mode, text) in [(0u8, &b""[..]), (2, b"hello"), (14, &[0x61; 2500][..])] {
        let mut input = vec![mode];
        input.extend(envelope::seal(&plain, &DATA_KEY, text).expect("seeds seal"));
        streams.push(input);
    }
    for (mode, text) in [(1u8, &b"x"[..]), (9, &[0x62; 1500][..])] {
        let mut input = vec![mode];
        input.extend_from_slice(text);
        streams.push(input);
    }
    (headers, streams)
}

/// The corpus directory of fuzz target `target`, seen from a crate of this workspace
/// (`manifest_dir` is that crate's `CARGO_MANIFEST_DIR`).
pub fn corpus_dir(manifest_dir: &str, target: &str) -> std::path::PathBuf {
    std::path::Path::new(manifest_dir)
        .join("../fuzz/corpus")
        .join(target)
}

/// Feeds every file of `dir` through `check` and returns how many there were. Each file's
/// name goes to stderr first, so a failing test names the input that broke it.
///
/// # Panics
/// When `dir` cannot be read or holds no file (a corpus that went missing must not pass
/// silently), and of course when `check` panics.
pub fn replay(dir: &std::path::Path, check: fn(&[u8])) -> usize {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read the corpus {}: {e}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the corpus {} is empty", dir.display());
    for path in &files {
        let bytes =
            std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        eprintln!("corpus file {}", path.display());
        check(&bytes);
    }
    files.len()
}

/// Writes `seeds` into `dir` as `seed-<n>` files (creating it), for a corpus's first
/// inputs: run by the ignored `write_fuzz_seeds` tests.
///
/// # Panics
/// When the files cannot be written.
pub fn write_seeds(dir: &std::path::Path, seeds: &[Vec<u8>]) {
    std::fs::create_dir_all(dir).expect("create the corpus directory");
    for (n, seed) in seeds.iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{n}")), seed).expect("write a seed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

    #[test]
    fn seeds_hold_the_properties() {
        let (headers, streams) = seeds();
        headers.iter().for_each(|s| envelope_header(s));
        streams.iter().for_each(|s| envelope_stream(s));
    }

    #[test]
    fn the_envelope_header_corpus_holds_the_properties() {
        replay(&corpus_dir(MANIFEST, "envelope_header"), envelope_header);
    }

    #[test]
    fn the_envelope_stream_corpus_holds_the_properties() {
        replay(&corpus_dir(MANIFEST, "envelope_stream"), envelope_stream);
    }

    #[test]
    #[ignore = "writes the seed corpora; run by hand after a format change"]
    fn write_fuzz_seeds() {
        let (headers, streams) = seeds();
        write_seeds(&corpus_dir(MANIFEST, "envelope_header"), &headers);
        write_seeds(&corpus_dir(MANIFEST, "envelope_stream"), &streams);
    }
}
