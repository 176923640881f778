//! Tests of sealing and opening on several cores: the same bytes as the one-chunk-at-a-time
//! writer and reader at every size around chunk and batch boundaries, the same failures,
//! nothing unauthenticated written, and read and write failures told apart.

use std::io::{self, Read, Write};

use super::parallel::{Tuning, open_with, seal_with};
use super::tests::{header, plaintext};
use super::*;

const C: usize = 1024;
const KEY: [u8; 32] = [7u8; 32];
/// Chunks per batch in these tests: small, so that a few KiB cross several batches.
const B: usize = 3;

fn tuning(workers: usize) -> Tuning {
    Tuning {
        workers,
        batch_chunks: B,
    }
}

/// Sizes at and around every boundary: empty, a chunk, a batch, several batches.
fn sizes() -> Vec<usize> {
    let mut sizes = vec![0, 1, 17];
    for boundary in [C, B * C, 2 * B * C, 5 * B * C] {
        sizes.extend([boundary - 1, boundary, boundary + 1]);
    }
    sizes.push(7 * B * C + C / 2);
    sizes
}

fn sealed_by_writer(h: &EnvelopeHeader, pt: &[u8]) -> Vec<u8> {
    let mut w = SealingWriter::new(h, &KEY, Vec::new()).unwrap();
    w.write_all(pt).unwrap();
    w.finish().unwrap()
}

fn open_par(h: &EnvelopeHeader, payload: &[u8], workers: usize) -> Result<Vec<u8>, StreamError> {
    open_with(h, &KEY, payload, Vec::new(), tuning(workers)).map(|(out, _)| out)
}

#[test]
fn sealing_on_several_cores_gives_the_writers_bytes_and_opens_both_ways() {
    let h = header();
    for workers in [1, 2, 3] {
        for len in sizes() {
            let pt = plaintext(len);
            let (env, n) = seal_with(&h, &KEY, pt.as_slice(), Vec::new(), tuning(workers))
                .unwrap_or_else(|e| panic!("{len} bytes, {workers} workers: {e}"));
            assert_eq!(n, len as u64);
            assert_eq!(
                env,
                sealed_by_writer(&h, &pt),
                "{len} bytes, {workers} workers"
            );
            assert_eq!(Some(env.len() as u64), sealed_len(&h, len as u64));
            let (read, hl) = EnvelopeHeader::decode(&env).unwrap();
            assert_eq!(open_par(&read, &env[hl..], workers).unwrap(), pt);
            assert_eq!(&open(&env, &KEY).unwrap()[..], &pt[..]);
        }
    }
}

#[test]
fn the_public_entry_points_roundtrip_a_multi_batch_payload() {
    // 64 KiB chunks, 1 MiB batches: 3.5 MiB crosses four batches.
    let mut h = EnvelopeHeader::new("local", "local://k", "1", Default::default(), vec![1; 40]);
    h.commit_to(&KEY).unwrap();
    let pt = plaintext(7 * 512 * 1024);
    let (env, n) = seal_stream(&h, &KEY, pt.as_slice(), Vec::new(), 2).unwrap();
    assert_eq!(n, pt.len() as u64);
    assert_eq!(env, sealed_by_writer(&h, &pt));
    let (read, hl) = EnvelopeHeader::decode(&env).unwrap();
    let (out, n) = open_stream(&read, &KEY, &env[hl..], Vec::new(), default_workers()).unwrap();
    assert_eq!(n, pt.len() as u64);
    assert_eq!(out, pt);
}

#[test]
fn what_the_writer_sealed_opens_on_several_cores() {
    let h = header();
    let pt = plaintext(4 * B * C + 5);
    let env = sealed_by_writer(&h, &pt);
    let hl = EnvelopeHeader::decode(&env).unwrap().1;
    for workers in [1, 2, 4] {
        assert_eq!(open_par(&h, &env[hl..], workers).unwrap(), pt);
    }
}

fn integrity(r: Result<Vec<u8>, StreamError>) {
    match r {
        Err(StreamError::Envelope(Error::IntegrityFailure)) => {}
        other => panic!("expected an integrity failure, got {other:?}"),
    }
}

#[test]
fn every_kind_of_tampering_fails_like_the_reader() {
    let h = header();
    let pt = plaintext(4 * B * C + 100);
    let env = sealed_by_writer(&h, &pt);
    let hl = EnvelopeHeader::decode(&env).unwrap().1;
    let payload = &env[hl..];
    let sealed = C + TAG_LEN;
    for workers in [1, 2] {
        // A flipped byte in any chunk: first, inside a later batch, the final one.
        for at in [0, B * sealed + 7, payload.len() - 1] {
            let mut bad = payload.to_vec();
            bad[at] ^= 1;
            integrity(open_par(&h, &bad, workers));
        }
        // Truncated at a chunk boundary, at a batch boundary, inside a chunk, to nothing.
        for cut in [sealed, B * sealed, 2 * B * sealed, sealed + 3, 0] {
            integrity(open_par(&h, &payload[..cut], workers));
        }
        // Bytes after the final chunk, a short tail, a dropped chunk, two chunks swapped.
        integrity(open_par(&h, &[payload, &[0u8; 5]].concat(), workers));
        integrity(open_par(&h, &[payload, &[0u8; 40]].concat(), workers));
        let dropped = [&payload[..sealed], &payload[2 * sealed..]].concat();
        integrity(open_par(&h, &dropped, workers));
        let swapped = [
            &payload[sealed..2 * sealed],
            &payload[..sealed],
            &payload[2 * sealed..],
        ]
        .concat();
        integrity(open_par(&h, &swapped, workers));
        // Another data key: refused by the header's commitment, before any chunk.
        let other = open_with(&h, &[8u8; 32], payload, Vec::new(), tuning(workers));
        assert!(matches!(
            other,
            Err(StreamError::Envelope(Error::IntegrityFailure))
        ));
    }
}

/// A writer that keeps what it is given, so a test can see what a failed open let out.
#[derive(Default)]
struct Kept(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for Kept {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn only_authenticated_batches_before_the_damage_are_written() {
    let h = header();
    let pt = plaintext(6 * B * C);
    let env = sealed_by_writer(&h, &pt);
    let hl = EnvelopeHeader::decode(&env).unwrap().1;
    let mut bad = env[hl..].to_vec();
    // Damage the first chunk of the fourth batch.
    bad[3 * B * (C + TAG_LEN) + 1] ^= 0x80;
    for workers in [1, 2, 3] {
        let kept = Kept::default();
        let seen = std::sync::Arc::clone(&kept.0);
        let r = open_with(&h, &KEY, bad.as_slice(), kept, tuning(workers)).map(|(_, n)| n);
        assert!(matches!(
            r,
            Err(StreamError::Envelope(Error::IntegrityFailure))
        ));
        let out = seen.lock().unwrap();
        assert!(out.len() <= 3 * B * C, "{} bytes out", out.len());
        assert_eq!(&out[..], &pt[..out.len()]);
    }
}

/// Fails after `ok` bytes.
struct FailingReader {
    data: Vec<u8>,
    pos: usize,
    ok: usize,
}

impl Read for FailingReader {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.ok {
            return Err(io::Error::other("disk on fire"));
        }
        let n = b
            .len()
            .min(self.ok - self.pos)
            .min(self.data.len() - self.pos);
        b[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Takes `ok` bytes, then fails.
struct FailingWriter {
    ok: usize,
}

impl Write for FailingWriter {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if self.ok == 0 {
            return Err(io::Error::other("disk full"));
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
fn read_and_write_failures_are_told_apart_and_end_the_pipeline() {
    let h = header();
    let pt = plaintext(8 * B * C);
    for workers in [1, 2] {
        for ok in [0, C, 2 * B * C + 10, 5 * B * C] {
            let input = FailingReader {
                data: pt.clone(),
                pos: 0,
                ok,
            };
            let r = seal_with(&h, &KEY, input, Vec::new(), tuning(workers));
            assert!(matches!(r, Err(StreamError::Read(_))), "read fails at {ok}");
        }
        for ok in [10, 2 * B * C + 10, 5 * B * C] {
            let r = seal_with(
                &h,
                &KEY,
                pt.as_slice(),
                FailingWriter { ok },
                tuning(workers),
            );
            let Err(StreamError::Write(e)) = r else {
                panic!("write fails at {ok}");
            };
            assert_eq!(e.to_string(), "disk full");
        }
        let env = sealed_by_writer(&h, &pt);
        let hl = EnvelopeHeader::decode(&env).unwrap().1;
        let r = open_with(
            &h,
            &KEY,
            &env[hl..],
            FailingWriter { ok: 3 * B * C },
            tuning(workers),
        );
        assert!(matches!(r, Err(StreamError::Write(_))));
    }
}

/// Hands out one byte per read.
struct OneByte<'a>(&'a [u8]);

impl Read for OneByte<'_> {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        match (self.0.split_first(), b.first_mut()) {
            (Some((first, rest)), Some(slot)) => {
                *slot = *first;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

#[test]
fn short_reads_fill_whole_batches() {
    let h = header();
    let pt = plaintext(2 * B * C + 9);
    let (env, _) = seal_with(&h, &KEY, OneByte(&pt), Vec::new(), tuning(2)).unwrap();
    assert_eq!(env, sealed_by_writer(&h, &pt));
    let hl = EnvelopeHeader::decode(&env).unwrap().1;
    let (out, _) = open_with(&h, &KEY, OneByte(&env[hl..]), Vec::new(), tuning(2)).unwrap();
    assert_eq!(out, pt);
}

#[test]
fn a_header_without_a_random_id_or_a_short_key_is_refused() {
    let mut h = header();
    let short = seal_stream(&h, &[1u8; 8], &b"x"[..], Vec::new(), 2);
    assert!(matches!(
        short,
        Err(StreamError::Envelope(Error::InvalidArgument(_)))
    ));
    h.message_id = [0u8; 32];
    let zero = seal_stream(&h, &KEY, &b"x"[..], Vec::new(), 2);
    assert!(matches!(
        zero,
        Err(StreamError::Envelope(Error::Unavailable { .. }))
    ));
    // Into keygate's error: the envelope's own error as it is, I/O as unavailable.
    let e: Error = StreamError::Envelope(Error::IntegrityFailure).into();
    assert!(matches!(e, Error::IntegrityFailure));
    let e: Error = StreamError::Write(io::Error::other("disk full")).into();
    assert!(matches!(e, Error::Unavailable { .. }));
}
