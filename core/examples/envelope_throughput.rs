//! Envelope throughput: seals N MiB from a generator into a counting sink, then opens an
//! envelope of the same size into a sink, and reports MiB/s for each chunk size.
//!
//! ```text
//! cargo run --release -p keygate-core --example envelope_throughput -- [MiB] [chunk sizes...]
//! ```
//!
//! Defaults: 256 MiB, chunk sizes 16 KiB, 64 KiB (the format's default) and 1 MiB. The
//! plaintext comes from a generator and goes to a sink, so sealing runs in constant memory;
//! to time opening alone, the envelope is sealed once into memory first.

// A measurement program: its report is its standard output.
#![allow(clippy::print_stdout)]

use std::io::{self, Read, Write};
use std::time::Instant;

use keygate_core::EncryptionContext;
use keygate_core::envelope::{EnvelopeHeader, OpeningReader, SealingWriter, seal};

/// Plaintext from a precomputed pattern, copied out at a moving offset so the generator
/// costs a memcpy, not a per-byte loop that would dominate the measurement.
struct Generator {
    left: u64,
    pattern: Vec<u8>,
    offset: usize,
}

impl Generator {
    const PERIOD: usize = 4093; // prime, so chunks do not line up with it

    fn new(total: u64) -> Self {
        let mut x = 1u8;
        let pattern = (0..Self::PERIOD + 1024 * 1024)
            .map(|_| {
                x = x.wrapping_mul(5).wrapping_add(1);
                x
            })
            .collect();
        Self {
            left: total,
            pattern,
            offset: 0,
        }
    }
}

impl Read for Generator {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = out
            .len()
            .min(1024 * 1024)
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        out[..n].copy_from_slice(&self.pattern[self.offset..self.offset + n]);
        self.offset = (self.offset + n) % Self::PERIOD;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Counts what is written and drops it.
#[derive(Default)]
struct Sink(u64);

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn mib_per_s(bytes: u64, started: Instant) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / started.elapsed().as_secs_f64()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mib: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(256);
    let mut chunk_sizes: Vec<u32> = args.map(|a| a.parse()).collect::<Result<_, _>>()?;
    if chunk_sizes.is_empty() {
        chunk_sizes = vec![16 * 1024, 64 * 1024, 1024 * 1024];
    }
    let total = mib * 1024 * 1024;
    let data_key = [0x42u8; 32];
    println!("envelope throughput, {mib} MiB per run (AES-256-GCM STREAM, aws-lc-rs)");
    println!(
        "{:>10}  {:>12}  {:>12}",
        "chunk", "seal MiB/s", "open MiB/s"
    );
    for chunk in chunk_sizes {
        let context = EncryptionContext::new().with("bench", "throughput");
        let header = EnvelopeHeader::new("local", "local://bench", "1", context, vec![7; 60])
            .with_chunk_size(chunk)?;

        // Seal: generator -> SealingWriter -> sink, in 64 KiB writes.
        let mut source = Generator::new(total);
        let mut writer = SealingWriter::new(&header, &data_key, Sink::default())?;
        let started = Instant::now();
        io::copy(&mut source, &mut writer)?;
        let sink = writer.finish()?;
        let seal_rate = mib_per_s(total, started);
        assert!(sink.0 > total);

        // Open: an envelope in memory -> OpeningReader -> sink.
        let mut plaintext = vec![0u8; usize::try_from(total)?];
        Generator::new(total).read_exact(&mut plaintext)?;
        let envelope = seal(&header, &data_key, &plaintext)?;
        drop(plaintext);
        let (decoded, header_len) = EnvelopeHeader::decode(&envelope)?;
        let started = Instant::now();
        let mut reader = OpeningReader::new(&decoded, &data_key, &envelope[header_len..])?;
        let opened = io::copy(&mut reader, &mut Sink::default())?;
        let open_rate = mib_per_s(total, started);
        assert_eq!(opened, total);

        println!(
            "{:>10}  {seal_rate:>12.0}  {open_rate:>12.0}",
            format!("{} KiB", chunk / 1024)
        );
    }
    Ok(())
}
