//! Streaming tests: constant memory over 64 MiB, short reads and writes, failure behaviour,
//! and secrets kept out of `Debug`.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::tests::{header, plaintext};
use super::*;
use crate::ErrorKind;

const C: usize = 1024;
const KEY: [u8; 32] = [7u8; 32];

/// Writes through to `inner`, counting bytes and the largest single write.
struct Counting<W> {
    inner: W,
    bytes: Arc<AtomicU64>,
    largest: usize,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(b)?;
        self.largest = self.largest.max(n);
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Reads through from `inner`, counting bytes.
struct CountingReader<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(b)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// The byte at position `p` of the 64 MiB test stream: `p mod 251`, generated and checked
/// through a precomputed window so that neither side ever holds the stream.
struct Pattern(Vec<u8>);

impl Pattern {
    fn new(max_block: usize) -> Self {
        Self((0..251 + max_block).map(|i| (i % 251) as u8).collect())
    }
    fn at(&self, pos: u64, len: usize) -> &[u8] {
        let start = (pos % 251) as usize;
        &self.0[start..start + len]
    }
}

#[test]
fn streams_64_mib_through_a_pipe_in_constant_memory() {
    const TOTAL: u64 = 64 * 1024 * 1024;
    const BLOCK: usize = 10_007; // not a multiple of the chunk size, on purpose
    let mut h = EnvelopeHeader::new("local", "local://k", "1", Default::default(), vec![1; 40]);
    h.commit_to(&KEY).unwrap();
    let chunk = h.chunk_size as u64;
    let header_len = h.encode().unwrap().len() as u64;
    let pattern = Pattern::new(64 * 1024);
    let (pipe_r, pipe_w) = io::pipe().unwrap();
    let emitted = Arc::new(AtomicU64::new(0));

    std::thread::scope(|s| {
        let sealer = s.spawn(|| {
            let sink = Counting {
                inner: pipe_w,
                bytes: emitted.clone(),
                largest: 0,
            };
            let mut w = SealingWriter::new(&h, &KEY, sink).unwrap();
            let mut accepted = 0u64;
            while accepted < TOTAL {
                let n = BLOCK.min((TOTAL - accepted) as usize);
                w.write_all(pattern.at(accepted, n)).unwrap();
                accepted += n as u64;
                // The writer holds at most one chunk of plaintext that it has not written out.
                let payload_out = emitted.load(Ordering::Relaxed) - header_len;
                assert!(accepted <= payload_out + chunk, "writer is buffering");
            }
            let sink = w.finish().unwrap();
            assert!(sink.largest as u64 <= chunk + TAG_LEN as u64);
        });

        let mut inner = CountingReader {
            inner: pipe_r,
            bytes: 0,
        };
        let read_header = EnvelopeHeader::read_from(&mut inner).unwrap();
        assert_eq!(read_header, h);
        let mut r = OpeningReader::new(&read_header, &KEY, inner).unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = 0u64;
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            assert_eq!(&buf[..n], pattern.at(got, n), "at {got}");
            got += n as u64;
        }
        assert_eq!(got, TOTAL);
        sealer.join().unwrap();
        assert_eq!(
            emitted.load(Ordering::Relaxed),
            sealed_len(&h, TOTAL).unwrap()
        );
    });
}

#[test]
fn the_reader_reads_at_most_one_chunk_ahead() {
    let h = header();
    let env = seal(&h, &KEY, &plaintext(20 * C)).unwrap();
    let (_, hl) = EnvelopeHeader::decode(&env).unwrap();
    let inner = CountingReader {
        inner: &env[hl..],
        bytes: 0,
    };
    let mut r = OpeningReader::new(&h, &KEY, inner).unwrap();
    let mut out = [0u8; 100];
    let mut returned = 0u64;
    loop {
        let n = r.read(&mut out).unwrap();
        if n == 0 {
            break;
        }
        returned += n as u64;
        let consumed = r.get_ref().bytes;
        let sealed_so_far = returned + returned.div_ceil(C as u64) * TAG_LEN as u64;
        assert!(
            consumed <= sealed_so_far + (C + TAG_LEN + 1) as u64,
            "reader is buffering"
        );
    }
    assert_eq!(returned, 20 * C as u64);
}

/// A reader that hands out one byte at a time, with an `Interrupted` between bytes.
struct Trickle<'a> {
    data: &'a [u8],
    interrupt: bool,
}

impl Read for Trickle<'_> {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        self.interrupt = !self.interrupt;
        if self.interrupt {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let Some((first, rest)) = self.data.split_first() else {
            return Ok(0);
        };
        if b.is_empty() {
            return Ok(0);
        }
        b[0] = *first;
        self.data = rest;
        Ok(1)
    }
}

/// A writer that accepts one byte per call.
#[derive(Debug)]
struct OneByte(Vec<u8>);

impl Write for OneByte {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match b.first() {
            Some(x) => {
                self.0.push(*x);
                Ok(1)
            }
            None => Ok(0),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn short_reads_and_writes_still_roundtrip() {
    let h = header();
    let pt = plaintext(3 * C + 7);
    let mut w = SealingWriter::new(&h, &KEY, OneByte(Vec::new())).unwrap();
    w.write_all(&pt).unwrap();
    let env = w.finish().unwrap().0;
    assert_eq!(env, seal(&h, &KEY, &pt).unwrap());
    let mut src = Trickle {
        data: &env,
        interrupt: false,
    };
    let read = EnvelopeHeader::read_from(&mut src);
    // `read_exact` retries on Interrupted, so the header reads through the trickle too.
    let read = read.unwrap();
    let mut out = Vec::new();
    OpeningReader::new(&read, &KEY, src)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, pt);
}

#[test]
fn the_reader_releases_only_authenticated_chunks_and_then_stays_failed() {
    let h = header();
    let pt = plaintext(3 * C + 50);
    let mut env = seal(&h, &KEY, &pt).unwrap();
    let (_, hl) = EnvelopeHeader::decode(&env).unwrap();
    // Corrupt the tag of chunk 2 (of 4).
    let at = hl + 3 * (C + TAG_LEN) - 1;
    env[at] ^= 0x80;
    let mut r = OpeningReader::new(&h, &KEY, &env[hl..]).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 300];
    let err = loop {
        match r.read(&mut buf) {
            Ok(0) => panic!("a corrupted envelope read to the end"),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(matches!(from_io_error(err), Error::IntegrityFailure));
    // Exactly the two good chunks came out, nothing of the bad one.
    assert_eq!(out, &pt[..2 * C]);
    for _ in 0..3 {
        let again = r.read(&mut buf).unwrap_err();
        assert_eq!(from_io_error(again).kind(), ErrorKind::IntegrityFailure);
    }
}

/// A writer that fails after `ok` bytes.
#[derive(Debug)]
struct Failing {
    ok: usize,
}

impl Write for Failing {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if self.ok == 0 {
            return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
        }
        let n = b.len().min(self.ok);
        self.ok -= n;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failed_write_breaks_the_envelope_for_good() {
    let h = header();
    let header_len = h.encode().unwrap().len();
    let mut w = SealingWriter::new(
        &h,
        &KEY,
        Failing {
            ok: header_len + 10,
        },
    )
    .unwrap();
    w.write_all(&plaintext(C)).unwrap();
    // The next byte forces the first chunk out, which fails.
    let e = w.write_all(b"x").unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::StorageFull);
    assert_eq!(from_io_error(e).kind(), ErrorKind::Unavailable);
    assert!(w.write_all(&plaintext(2 * C)).is_err());
    assert_eq!(w.finish().unwrap_err().kind(), ErrorKind::InvalidState);
    // A header that cannot even be written is reported at `new`.
    let e = SealingWriter::new(&h, &KEY, Failing { ok: 3 }).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
}

#[test]
fn debug_output_never_shows_plaintext_or_keys() {
    let secret = b"super-secret-plaintext-do-not-print";
    let h = header();
    let mut w = SealingWriter::new(&h, &KEY, Vec::new()).unwrap();
    w.write_all(secret).unwrap();
    let dbg = format!("{w:?}");
    assert!(dbg.contains("SealingWriter"));
    assert!(!dbg.contains("super-secret"));
    assert!(!dbg.contains("115, 117, 112"), "{dbg}");
    assert!(!dbg.contains("7, 7, 7"), "{dbg}");
    let env = w.finish().unwrap();
    let (_, hl) = EnvelopeHeader::decode(&env).unwrap();
    let mut r = OpeningReader::new(&h, &KEY, &env[hl..]).unwrap();
    let mut first = [0u8; 5];
    r.read_exact(&mut first).unwrap();
    let dbg = format!("{r:?}");
    assert!(dbg.contains("OpeningReader"));
    assert!(!dbg.contains("secret"));
    assert!(!dbg.contains("115, 117, 112"), "{dbg}");
    assert!(!dbg.contains("7, 7, 7"), "{dbg}");
}

#[test]
fn io_errors_map_back_to_keygate_errors() {
    let plain = io::Error::new(io::ErrorKind::BrokenPipe, "pipe closed");
    assert_eq!(from_io_error(plain).kind(), ErrorKind::Unavailable);
    let carried = io::Error::new(io::ErrorKind::InvalidData, Error::IntegrityFailure);
    assert!(matches!(from_io_error(carried), Error::IntegrityFailure));
}
