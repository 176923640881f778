//! Following the audit log over Server-Sent Events: an incremental `text/event-stream`
//! parser and the stream of audit events built on it.

use std::collections::VecDeque;

use futures::stream::{BoxStream, StreamExt as _};
use keygate_core::audit::AuditEvent;
use keygate_core::{Error, Result};

use crate::error_from_kind;
use keygate_core::wire::ErrorBody;

/// An incremental parser of a `text/event-stream` body: feed bytes, take complete events.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    buffer: Vec<u8>,
}

/// One Server-Sent Event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event:` field; empty means the default type, `message`.
    pub(crate) event: String,
    /// The `data:` lines, joined by `\n`.
    pub(crate) data: String,
    /// The `id:` field, if the event set one (the gateway sends the audit row's sequence
    /// number).
    pub(crate) id: Option<String>,
}

impl SseParser {
    /// Adds bytes and returns the events they complete (comments and empty events skipped).
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        self.buffer.extend(bytes.iter().filter(|b| **b != b'\r'));
        let mut events = Vec::new();
        while let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
            let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
            let mut ev = SseEvent::default();
            let mut data: Vec<String> = Vec::new();
            for line in String::from_utf8_lossy(&block).lines() {
                if line.is_empty() || line.starts_with(':') {
                    continue;
                }
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "event" => ev.event = value.to_owned(),
                    "data" => data.push(value.to_owned()),
                    "id" => ev.id = Some(value.to_owned()),
                    _ => {}
                }
            }
            if !data.is_empty() {
                ev.data = data.join("\n");
                events.push(ev);
            }
        }
        events
    }
}

/// The next audit event of an SSE event, `None` for events of other types.
fn audit_item(ev: SseEvent) -> Option<Result<AuditEvent>> {
    match ev.event.as_str() {
        "audit" => {
            Some(serde_json::from_str(&ev.data).map_err(|e| {
                Error::unavailable_because("unreadable audit event from the gateway", e)
            }))
        }
        "error" => Some(Err(match serde_json::from_str::<ErrorBody>(&ev.data) {
            Ok(b) => error_from_kind(&b.error.kind, b.error.message, None),
            Err(e) => Error::unavailable_because("unreadable error event from the gateway", e),
        })),
        _ => None,
    }
}

struct Follow {
    body: BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    parser: SseParser,
    ready: VecDeque<Result<AuditEvent>>,
    base: String,
    done: bool,
}

pub(super) fn follow_stream(
    body: BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    base: String,
) -> BoxStream<'static, Result<AuditEvent>> {
    let state = Follow {
        body,
        parser: SseParser::default(),
        ready: VecDeque::new(),
        base,
        done: false,
    };
    futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.ready.pop_front() {
                if item.is_err() {
                    // An error event ends the stream, as on the server.
                    st.done = true;
                    st.ready.clear();
                }
                return Some((item, st));
            }
            if st.done {
                return None;
            }
            match st.body.next().await {
                Some(Ok(chunk)) => {
                    st.ready
                        .extend(st.parser.feed(&chunk).into_iter().filter_map(audit_item));
                }
                Some(Err(e)) => {
                    st.done = true;
                    return Some((
                        Err(Error::unavailable(format!(
                            "audit stream from {} broke: {e}",
                            st.base
                        ))),
                        st,
                    ));
                }
                None => return None,
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_parser_handles_split_chunks_comments_and_crlf() {
        let mut p = SseParser::default();
        assert!(p.feed(b": keep-alive\n\nevent: au").is_empty());
        let evs = p.feed(b"dit\r\nid: 7\r\ndata: {\"a\":1}\r\n\r\nevent: x\ndata: 1\ndata: 2\n\n");
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].event, "audit");
        assert_eq!(evs[0].id.as_deref(), Some("7"));
        assert_eq!(evs[0].data, "{\"a\":1}");
        assert_eq!(evs[1].data, "1\n2");
    }
}
