//! Each connection of a listener: a limit on how many are served at once, and hyper's own
//! answers in the door's error shape.
//!
//! [`EdgeAcceptor`] wraps a listener's acceptor (plain or TLS). Before the TLS handshake it
//! takes one of `[server] max_connections` slots; a connection beyond the limit waits,
//! unread, for a slot to free, and is closed unanswered when none frees within the header
//! read timeout (the time a slow client would have had anyway).
//!
//! hyper answers some requests before any router sees them: a request line or header it
//! cannot parse (a NUL in a header value, garbage) gets an empty 400, too many or too large
//! headers an empty 431, a too long URI an empty 414. [`EdgeStream`] recognizes those
//! answers on their way out (an error status with `content-length: 0` written as a head
//! alone at a response boundary, which no door's own answer is) and writes the door's shaped
//! answer in their place, the door told by the request line read so far
//! ([`Doors::of_head`]).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::http::StatusCode;
use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::shape::{Answer, Doors};

/// How much of a request head is kept to tell its door: the request line is all it needs.
const HEAD_KEPT: usize = 2048;

/// An acceptor that limits the connections served at once and shapes hyper's own answers.
#[derive(Debug, Clone)]
pub struct EdgeAcceptor<A> {
    inner: A,
    slots: Arc<Semaphore>,
    wait: Duration,
    doors: Doors,
}

impl<A> EdgeAcceptor<A> {
    /// Wraps `inner`: at most `max` connections at once, each beyond waiting up to `wait`.
    pub fn new(inner: A, max: usize, wait: Duration, doors: Doors) -> Self {
        Self {
            inner,
            slots: Arc::new(Semaphore::new(max.max(1))),
            wait,
            doors,
        }
    }
}

impl<A, I, S> Accept<I, S> for EdgeAcceptor<A>
where
    A: Accept<I, S> + Clone + Send + Sync + 'static,
    A::Future: Send,
    I: Send + 'static,
    S: Send + 'static,
{
    type Stream = EdgeStream<A::Stream>;
    type Service = A::Service;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Self::Stream, Self::Service)>> + Send>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let permit = match tokio::time::timeout(
                this.wait,
                Arc::clone(&this.slots).acquire_owned(),
            )
            .await
            {
                Ok(Ok(permit)) => permit,
                _ => {
                    tracing::warn!(
                        "connection limit reached; a waiting connection was closed unanswered"
                    );
                    return Err(io::Error::other("connection limit reached"));
                }
            };
            let (io, service) = this.inner.accept(stream, service).await?;
            Ok((EdgeStream::new(io, permit, this.doors), service))
        })
    }
}

/// Where the outgoing byte stream stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out {
    /// Between responses: the next bytes are a status line.
    Boundary,
    /// Inside a response head, `left` bytes to go, then `then`.
    Head { left: usize, then: Framing },
    /// Inside a body of known length.
    Body(u64),
    /// Inside a chunked body, until its last chunk.
    Chunked,
    /// A body that ends with the connection: nothing more is inspected.
    Opaque,
}

/// How a response's body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked,
    Close,
}

/// A connection of a listener: holds its slot, and replaces hyper's empty error answers.
#[derive(Debug)]
pub struct EdgeStream<S> {
    io: S,
    _slot: OwnedSemaphorePermit,
    doors: Doors,
    /// The start of the request being read (reset once a response starts).
    head: Vec<u8>,
    /// A response started since the last read: the next bytes read are a new request.
    answered: bool,
    out: Out,
    /// The last bytes of a chunked body, to see its end.
    tail: [u8; 5],
    /// A shaped answer still to write, and how much of it is written.
    replacement: Option<(Vec<u8>, usize)>,
}

impl<S> EdgeStream<S> {
    fn new(io: S, slot: OwnedSemaphorePermit, doors: Doors) -> Self {
        Self {
            io,
            _slot: slot,
            doors,
            head: Vec::new(),
            answered: false,
            out: Out::Boundary,
            tail: [0; 5],
            replacement: None,
        }
    }

    /// Follows `written` bytes of the outgoing stream.
    fn track(&mut self, mut written: &[u8]) {
        while !written.is_empty() {
            match self.out {
                Out::Boundary => match head_of(written) {
                    Some((len, framing)) => {
                        self.answered = true;
                        self.out = Out::Head {
                            left: len,
                            then: framing,
                        };
                    }
                    None => {
                        self.out = Out::Opaque;
                        return;
                    }
                },
                Out::Head { left, then } => {
                    let n = left.min(written.len());
                    written = &written[n..];
                    self.out = if n < left {
                        Out::Head {
                            left: left - n,
                            then,
                        }
                    } else {
                        match then {
                            Framing::Length(0) => Out::Boundary,
                            Framing::Length(len) => Out::Body(len),
                            Framing::Chunked => Out::Chunked,
                            Framing::Close => Out::Opaque,
                        }
                    };
                }
                Out::Body(left) => {
                    let n = (written.len() as u64).min(left);
                    written = &written[usize::try_from(n).unwrap_or(written.len())..];
                    self.out = if n < left {
                        Out::Body(left - n)
                    } else {
                        Out::Boundary
                    };
                }
                Out::Chunked => {
                    for &b in written {
                        self.tail.rotate_left(1);
                        self.tail[4] = b;
                    }
                    if &self.tail == b"0\r\n\r\n" {
                        self.tail = [0; 5];
                        self.out = Out::Boundary;
                    }
                    return;
                }
                Out::Opaque => return,
            }
        }
    }

    /// Whether `buf` is hyper's own empty answer to a request it could not parse: at a
    /// response boundary, an error status, `content-length: 0`, and nothing after the head.
    fn hyper_error(&self, buf: &[u8]) -> Option<StatusCode> {
        if self.out != Out::Boundary {
            return None;
        }
        let (len, framing) = head_of(buf)?;
        let status = std::str::from_utf8(buf.get(9..12)?).ok()?.parse().ok()?;
        let status = StatusCode::from_u16(status).ok()?;
        (len == buf.len() && framing == Framing::Length(0) && status.as_u16() >= 400)
            .then_some(status)
    }
}

/// The length of the response head at the start of `buf` and how its body is framed, when
/// `buf` starts with a whole HTTP/1 response head.
fn head_of(buf: &[u8]) -> Option<(usize, Framing)> {
    if !buf.starts_with(b"HTTP/1.") {
        return None;
    }
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let status: u16 = head.get(9..12)?.parse().ok()?;
    let mut framing = Framing::Close;
    for line in head.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.eq_ignore_ascii_case("content-length") {
            framing = Framing::Length(value.trim().parse().ok()?);
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            && value.trim().eq_ignore_ascii_case("chunked")
        {
            framing = Framing::Chunked;
        }
    }
    // Informational answers, 204 and 304 have no body.
    if status < 200 || status == 204 || status == 304 {
        framing = Framing::Length(0);
    }
    Some((end, framing))
}

impl<S: AsyncWrite + Unpin> EdgeStream<S> {
    /// Writes what is left of a replacement answer.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, done)) = &mut self.replacement {
            if *done == bytes.len() {
                self.replacement = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &bytes[*done..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *done += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for EdgeStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.io).poll_read(cx, buf))?;
        let read = &buf.filled()[before..];
        if !read.is_empty() {
            if this.answered {
                this.answered = false;
                this.head.clear();
            }
            let room = HEAD_KEPT.saturating_sub(this.head.len());
            this.head.extend_from_slice(&read[..room.min(read.len())]);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for EdgeStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_replacement(cx))?;
        if let Some(status) = this.hyper_error(buf) {
            let door = this.doors.of_head(&this.head);
            tracing::debug!(
                status = status.as_u16(),
                ?door,
                "shaping the HTTP stack's own answer"
            );
            this.replacement = Some((Answer::new(door, status, None).to_http1(), 0));
            this.out = Out::Opaque;
            this.answered = true;
            // The replacement is written now or on the next write, flush or shutdown; hyper
            // counts its own bytes as written either way.
            if let Poll::Ready(Err(e)) = this.poll_replacement(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        let n = ready!(Pin::new(&mut this.io).poll_write(cx, buf))?;
        this.track(&buf[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_replacement(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_replacement(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn heads_are_read_with_their_framing() {
        assert_eq!(
            head_of(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc"),
            Some((38, Framing::Length(3)))
        );
        assert_eq!(
            head_of(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").map(|h| h.1),
            Some(Framing::Chunked)
        );
        assert_eq!(
            head_of(b"HTTP/1.1 204 No Content\r\n\r\n").map(|h| h.1),
            Some(Framing::Length(0))
        );
        assert_eq!(head_of(b"HTTP/1.1 200 OK\r\ncontent-le"), None);
        assert_eq!(head_of(b"{\"a\":1}"), None);
    }

    fn stream() -> EdgeStream<Vec<u8>> {
        let permit = Arc::new(Semaphore::new(1)).try_acquire_owned().unwrap();
        EdgeStream::new(
            Vec::new(),
            permit,
            Doors::Main {
                aws: true,
                gcp: true,
            },
        )
    }

    #[test]
    fn only_an_empty_error_head_at_a_boundary_is_hyper_s_own() {
        let mut s = stream();
        let own =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        assert_eq!(
            s.hyper_error(own),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        let shaped = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(s.hyper_error(shaped), None);
        assert_eq!(
            s.hyper_error(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"),
            None
        );
        // Inside a body, bytes that look like an empty error head are body.
        s.track(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n");
        assert_eq!(s.out, Out::Body(100));
        assert_eq!(s.hyper_error(own), None);
        s.track(&[b'x'; 100]);
        assert_eq!(s.out, Out::Boundary);
        s.track(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n");
        assert_eq!(s.out, Out::Chunked);
        assert_eq!(s.hyper_error(own), None);
        s.track(b"0\r\n\r\n");
        assert_eq!(s.out, Out::Boundary);
    }
}
