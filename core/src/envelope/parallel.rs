//! Whole streams sealed and opened on several cores, for files: the calling thread reads
//! batches of whole chunks (about 1 MiB) into reused buffers, a small pool of workers seals
//! or opens each batch in place, and one writer thread puts the batches out in order, one
//! vectored write per batch (ciphertexts and their tags, or plaintexts, straight from the
//! buffers: no byte is copied between the read and the write).
//!
//! The bytes are exactly those of [`SealingWriter`](super::SealingWriter) and
//! [`OpeningReader`](super::OpeningReader): the same chunks, nonces and tags, only computed
//! on more than one core, so an envelope sealed here opens with any keygate and the other
//! way round.
//!
//! Memory is bounded whatever the input size: at most `2 × workers + 2` batch buffers exist
//! at once (with the default 64 KiB chunks, 6 MiB for two workers), allocated only as the
//! input needs them and wiped when dropped.

use std::fmt;
use std::io::{self, IoSlice, Read, Write};
use std::num::NonZeroUsize;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::thread;

use aws_lc_rs::aead::Aad;
use zeroize::Zeroizing;

use super::stream::ChunkCipher;
use super::{EnvelopeHeader, TAG_LEN};
use crate::error::{Error, Result};

/// About how many payload bytes a batch holds: enough that a read, a write and a hand-over
/// between threads cost nothing next to the crypto, little enough to stay in a core's cache.
const BATCH_BYTES: usize = 1024 * 1024;
/// The most chunks one batch holds (so the most slices in one vectored write is twice this):
/// tiny chunks make smaller batches rather than writes the system would split.
const MAX_BATCH_CHUNKS: usize = 256;
/// The most workers [`default_workers`] picks.
const MAX_WORKERS: usize = 4;

/// The workers [`seal_stream`] and [`open_stream`] are best given on this machine: one per
/// core, at most four.
pub fn default_workers() -> usize {
    thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(MAX_WORKERS)
}

/// Which side of a streamed seal or open failed, so that a caller can say which.
#[derive(Debug)]
#[non_exhaustive]
pub enum StreamError {
    /// Reading the input failed.
    Read(io::Error),
    /// Writing the output failed.
    Write(io::Error),
    /// The envelope itself: a header that does not encode or a short data key
    /// ([`Error::InvalidArgument`]), or, opening, a payload that does not authenticate with
    /// this data key under this header ([`Error::IntegrityFailure`], which says nothing more).
    Envelope(Error),
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read(e) => write!(f, "reading the input: {e}"),
            Self::Write(e) => write!(f, "writing the output: {e}"),
            Self::Envelope(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for StreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Read(e) | Self::Write(e) => Some(e),
            Self::Envelope(e) => Some(e),
        }
    }
}

impl From<StreamError> for Error {
    /// The envelope's own error as it is; a read or write failure as
    /// [`super::from_io_error`] maps it.
    fn from(err: StreamError) -> Self {
        match err {
            StreamError::Read(e) | StreamError::Write(e) => super::from_io_error(e),
            StreamError::Envelope(e) => e,
        }
    }
}

/// Seals everything `input` yields into an envelope under `header` and `data_key`, written
/// to `output` (the encoded header, then the payload), on `workers` threads besides the
/// calling one (which reads) and a writer thread. Returns `output`, flushed, and the number
/// of plaintext bytes sealed. An input of a single batch is sealed on the calling thread.
///
/// As with [`SealingWriter`](super::SealingWriter), a header seals exactly one message:
/// build a new header (a new random message id) for every message.
///
/// # Errors
/// [`StreamError::Envelope`] with [`Error::InvalidArgument`] for a header that does not
/// encode or a data key shorter than 16 bytes, or [`Error::Unavailable`] when the message id
/// is all zero (the system random generator failed); [`StreamError::Read`] or
/// [`StreamError::Write`] when `input` or `output` fails (what was written is then a
/// truncated envelope, which will not open).
pub fn seal_stream<R: Read, W: Write + Send>(
    header: &EnvelopeHeader,
    data_key: &[u8],
    input: R,
    output: W,
    workers: usize,
) -> Result<(W, u64), StreamError> {
    let tuning = Tuning::new(workers, header.chunk_size);
    seal_with(header, data_key, input, output, tuning)
}

/// Opens the payload `input` yields (positioned just after the header, see
/// [`EnvelopeHeader::read_from`]) into `output`, on `workers` threads besides the calling one
/// (which reads) and a writer thread. Returns `output`, flushed, and the number of plaintext
/// bytes written.
///
/// Only authenticated bytes are written, in order; but as with
/// [`OpeningReader`](super::OpeningReader), earlier batches are written before the end of the
/// payload is checked: the output is complete and authentic only when this returns `Ok`.
/// Callers writing to a file should write to a temporary name and rename it only then.
///
/// # Errors
/// [`StreamError::Envelope`] with [`Error::IntegrityFailure`] for anything that does not
/// authenticate (a wrong data key, a changed header or payload byte, a dropped, repeated or
/// reordered chunk, trailing bytes, truncation), or [`Error::InvalidArgument`] for a header
/// that does not encode or a short data key; [`StreamError::Read`] or [`StreamError::Write`]
/// when `input` or `output` fails.
pub fn open_stream<R: Read, W: Write + Send>(
    header: &EnvelopeHeader,
    data_key: &[u8],
    input: R,
    output: W,
    workers: usize,
) -> Result<(W, u64), StreamError> {
    let tuning = Tuning::new(workers, header.chunk_size);
    open_with(header, data_key, input, output, tuning)
}

/// How the work is cut: worker threads, and chunks per batch.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tuning {
    pub(super) workers: usize,
    pub(super) batch_chunks: usize,
}

impl Tuning {
    fn new(workers: usize, chunk_size: u32) -> Self {
        let chunk = usize::try_from(chunk_size).unwrap_or(BATCH_BYTES).max(1);
        Self {
            workers,
            batch_chunks: (BATCH_BYTES / chunk).clamp(1, MAX_BATCH_CHUNKS),
        }
    }
}

/// [`seal_stream`] with an explicit [`Tuning`] (tests cut small batches).
pub(super) fn seal_with<R: Read, W: Write + Send>(
    header: &EnvelopeHeader,
    data_key: &[u8],
    input: R,
    mut output: W,
    tuning: Tuning,
) -> Result<(W, u64), StreamError> {
    if header.message_id == [0u8; 32] {
        return Err(StreamError::Envelope(Error::unavailable(
            "the envelope has no random message id (the system random generator failed)",
        )));
    }
    let (cipher, encoded) =
        ChunkCipher::new(header, data_key, true).map_err(StreamError::Envelope)?;
    output.write_all(&encoded).map_err(StreamError::Write)?;
    let shape = Shape::new(Mode::Seal, cipher.chunk_size, tuning.batch_chunks);
    run(&cipher, shape, tuning.workers, input, output)
}

/// [`open_stream`] with an explicit [`Tuning`].
pub(super) fn open_with<R: Read, W: Write + Send>(
    header: &EnvelopeHeader,
    data_key: &[u8],
    input: R,
    output: W,
    tuning: Tuning,
) -> Result<(W, u64), StreamError> {
    let (cipher, _) = ChunkCipher::new(header, data_key, false).map_err(StreamError::Envelope)?;
    let shape = Shape::new(Mode::Open, cipher.chunk_size, tuning.batch_chunks);
    run(&cipher, shape, tuning.workers, input, output)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Seal,
    Open,
}

/// What a batch holds: `batch_chunks` chunks of `stride` input bytes each.
#[derive(Debug, Clone, Copy)]
struct Shape {
    mode: Mode,
    /// Input bytes per chunk: the plaintext (sealing) or the plaintext and its tag (opening).
    stride: usize,
    batch_chunks: usize,
}

impl Shape {
    fn new(mode: Mode, chunk: usize, batch_chunks: usize) -> Self {
        let stride = match mode {
            Mode::Seal => chunk,
            Mode::Open => chunk + TAG_LEN,
        };
        Self {
            mode,
            stride,
            batch_chunks: batch_chunks.max(1),
        }
    }

    fn capacity(&self) -> usize {
        self.stride * self.batch_chunks
    }
}

/// Consecutive chunks of the input, processed in place.
struct Batch {
    /// Input bytes in `buf[..len]`; after processing, ciphertexts (their tags in `tags`) or
    /// plaintexts (each at the start of its chunk's stride). Wiped when dropped.
    buf: Zeroizing<Vec<u8>>,
    len: usize,
    /// The counter of the batch's first chunk.
    first: u64,
    /// Whether the batch ends the payload (its last chunk carries the final flag).
    last: bool,
    /// Sealing: the tag of each chunk.
    tags: Vec<[u8; TAG_LEN]>,
}

impl Batch {
    fn new(shape: &Shape) -> Self {
        Self {
            buf: Zeroizing::new(vec![0u8; shape.capacity()]),
            len: 0,
            first: 0,
            last: false,
            tags: Vec::with_capacity(shape.batch_chunks),
        }
    }

    /// Its chunks: every full stride, and in the last batch the rest too (an empty payload
    /// being one empty chunk).
    fn chunks(&self, shape: &Shape) -> usize {
        if self.last {
            self.len.div_ceil(shape.stride).max(1)
        } else {
            self.len / shape.stride
        }
    }

    /// The input range of chunk `j`.
    fn range(&self, shape: &Shape, j: usize) -> (usize, usize) {
        let start = j * shape.stride;
        (start, (start + shape.stride).min(self.len).max(start))
    }

    /// Seals or opens every chunk in place.
    fn process(&mut self, cipher: &ChunkCipher, shape: &Shape) -> Result<()> {
        let n = self.chunks(shape);
        self.tags.clear();
        for j in 0..n {
            let counter = self
                .first
                .checked_add(j as u64)
                .ok_or_else(|| Error::invalid("envelope too long"))?;
            let nonce = ChunkCipher::nonce(counter, self.last && j + 1 == n);
            let (start, end) = self.range(shape, j);
            let aad = Aad::from(&cipher.aad);
            match shape.mode {
                Mode::Seal => {
                    let tag = cipher
                        .key
                        .seal_in_place_separate_tag(nonce, aad, &mut self.buf[start..end])
                        .map_err(|_| Error::state("sealing a chunk failed"))?;
                    let mut bytes = [0u8; TAG_LEN];
                    bytes.copy_from_slice(tag.as_ref());
                    self.tags.push(bytes);
                }
                Mode::Open => {
                    if end - start < TAG_LEN {
                        return Err(Error::IntegrityFailure);
                    }
                    cipher
                        .key
                        .open_in_place(nonce, aad, &mut self.buf[start..end])
                        .map_err(|_| Error::IntegrityFailure)?;
                }
            }
        }
        Ok(())
    }

    /// Writes the processed batch to `output` in one vectored write (more only when the
    /// writer takes less); returns the plaintext bytes it stands for.
    fn write_to(&self, shape: &Shape, output: &mut impl Write) -> io::Result<u64> {
        let n = self.chunks(shape);
        let mut slices = Vec::with_capacity(2 * n);
        let mut plain = 0;
        for j in 0..n {
            let (start, end) = self.range(shape, j);
            match shape.mode {
                Mode::Seal => {
                    slices.push(IoSlice::new(&self.buf[start..end]));
                    slices.push(IoSlice::new(&self.tags[j]));
                    plain += end - start;
                }
                Mode::Open => {
                    let end = end - TAG_LEN;
                    slices.push(IoSlice::new(&self.buf[start..end]));
                    plain += end - start;
                }
            }
        }
        slices.retain(|s| !s.is_empty());
        write_all_vectored(output, &mut slices)?;
        Ok(plain as u64)
    }
}

/// `Write::write_all` for several slices (the standard one is not stable yet).
fn write_all_vectored(output: &mut impl Write, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
    while !slices.is_empty() {
        match output.write_vectored(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn fill(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Reads the first batch (and the second, to learn whether the first is the last); a
/// payload of one batch is processed on this thread, a longer one goes to the pipeline.
fn run<R: Read, W: Write + Send>(
    cipher: &ChunkCipher,
    shape: Shape,
    workers: usize,
    mut input: R,
    mut output: W,
) -> Result<(W, u64), StreamError> {
    let mut first = Batch::new(&shape);
    first.len = fill(&mut input, &mut first.buf).map_err(StreamError::Read)?;
    if first.len == shape.capacity() {
        let mut second = Batch::new(&shape);
        second.len = fill(&mut input, &mut second.buf).map_err(StreamError::Read)?;
        if second.len > 0 {
            return pipeline(cipher, shape, workers.max(1), input, output, first, second);
        }
    }
    first.last = true;
    first
        .process(cipher, &shape)
        .map_err(StreamError::Envelope)?;
    let plain = first
        .write_to(&shape, &mut output)
        .map_err(StreamError::Write)?;
    output.flush().map_err(StreamError::Write)?;
    Ok((output, plain))
}

/// The reader (this thread), `workers` workers and the writer. Batch `i` goes to worker
/// `i mod workers` and the writer takes it back from that worker, so the output is in order
/// without any reordering buffer.
fn pipeline<R: Read, W: Write + Send>(
    cipher: &ChunkCipher,
    shape: Shape,
    workers: usize,
    input: R,
    output: W,
    first: Batch,
    second: Batch,
) -> Result<(W, u64), StreamError> {
    thread::scope(|scope| {
        let (free_tx, free_rx) = mpsc::channel();
        let mut to_workers = Vec::with_capacity(workers);
        let mut from_workers = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (work_tx, work_rx) = mpsc::sync_channel::<Batch>(1);
            let (done_tx, done_rx) = mpsc::sync_channel::<Result<Batch>>(1);
            scope.spawn(move || work(cipher, &shape, work_rx, done_tx));
            to_workers.push(work_tx);
            from_workers.push(done_rx);
        }
        let writer = scope.spawn(move || write_in_order(&shape, &from_workers, &free_tx, output));
        let pool = 2 * workers + 2;
        let read = feed(&shape, input, [first, second], &to_workers, &free_rx, pool);
        // Workers end once their queue is empty; the writer once it wrote the last batch or
        // saw the pipeline end early.
        drop(to_workers);
        let written = writer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        match (read, written) {
            (_, Ok(done)) => Ok(done),
            (Err(e), Err(_)) => Err(e),
            (Ok(()), Err(e)) => Err(e),
        }
    })
}

/// A worker: processes its batches in the order they come, until its queue closes or a
/// batch fails (the writer stops at that batch, so nothing after it matters).
fn work(
    cipher: &ChunkCipher,
    shape: &Shape,
    batches: Receiver<Batch>,
    done: SyncSender<Result<Batch>>,
) {
    for mut batch in batches {
        let result = batch.process(cipher, shape).map(|()| batch);
        let failed = result.is_err();
        if done.send(result).is_err() || failed {
            return;
        }
    }
}

/// The writer: takes the batches back in order, writes each, and returns its buffer to the
/// reader. Ends at the last batch, or at the first failure.
fn write_in_order<W: Write>(
    shape: &Shape,
    from_workers: &[Receiver<Result<Batch>>],
    free: &Sender<Batch>,
    mut output: W,
) -> Result<(W, u64), StreamError> {
    let mut total = 0u64;
    for worker in from_workers.iter().cycle() {
        let batch = match worker.recv() {
            Ok(Ok(batch)) => batch,
            Ok(Err(e)) => return Err(StreamError::Envelope(e)),
            // The reader stopped early (it failed, and says how).
            Err(_) => {
                return Err(StreamError::Envelope(Error::state(
                    "the envelope stream ended before its last chunk",
                )));
            }
        };
        total += batch
            .write_to(shape, &mut output)
            .map_err(StreamError::Write)?;
        if batch.last {
            output.flush().map_err(StreamError::Write)?;
            return Ok((output, total));
        }
        // The reader may be done already: the buffer is then simply dropped (and wiped).
        let _ = free.send(batch);
    }
    Err(StreamError::Envelope(Error::state("no envelope worker")))
}

/// The reader: fills batches (reusing the buffers the writer hands back, allocating at most
/// `pool` of them), marks the last, and deals them out to the workers in turn. `Ok` also
/// when the pipeline closed early: the writer then says why.
fn feed<R: Read>(
    shape: &Shape,
    mut input: R,
    [first, second]: [Batch; 2],
    workers: &[SyncSender<Batch>],
    free: &Receiver<Batch>,
    pool: usize,
) -> Result<(), StreamError> {
    let mut allocated = 2;
    let mut current = first;
    let mut ahead = Some(second);
    let per_batch = shape.batch_chunks as u64;
    for (index, worker) in (0u64..).zip(workers.iter().cycle()) {
        // A batch is the last when it is not full, or when nothing follows it.
        let following = if current.len < shape.capacity() {
            None
        } else if let Some(next) = ahead.take() {
            Some(next)
        } else {
            let mut next = match free.try_recv() {
                Ok(batch) => batch,
                Err(TryRecvError::Empty) if allocated < pool => {
                    allocated += 1;
                    Batch::new(shape)
                }
                Err(TryRecvError::Empty) => match free.recv() {
                    Ok(batch) => batch,
                    Err(_) => return Ok(()),
                },
                Err(TryRecvError::Disconnected) => return Ok(()),
            };
            next.len = fill(&mut input, &mut next.buf).map_err(StreamError::Read)?;
            (next.len > 0).then_some(next)
        };
        current.last = following.is_none();
        current.first = index
            .checked_mul(per_batch)
            .ok_or_else(|| StreamError::Envelope(Error::invalid("envelope too long")))?;
        if worker.send(current).is_err() {
            return Ok(());
        }
        match following {
            Some(next) => current = next,
            None => return Ok(()),
        }
    }
    Ok(())
}
