//! Connection hygiene on every listener: a client that sends its request headers too slowly
//! (a slowloris) loses its connection, and a request body that stalls fails the request, so
//! no client can hold a connection and a task open by trickling bytes.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum_server::Address;
use futures::StreamExt as _;
use hyper_util::rt::TokioTimer;

use crate::conn::EdgeAcceptor;
use crate::shape::Doors;

/// The timeouts of `[server]`, as one listener applies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionTimeouts {
    /// Time to send the headers of a request (the first, and each next on a kept-alive
    /// connection).
    pub header_read: Duration,
    /// Connections served at once (`[server] max_connections`).
    pub max_connections: usize,
}

impl ConnectionTimeouts {
    /// From `[server] header_read_timeout_secs`.
    pub fn of(server: &keygate_server::config::ServerConfig) -> Self {
        Self {
            header_read: Duration::from_secs(server.header_read_timeout_secs),
            max_connections: server.max_connections,
        }
    }

    /// `server` with these timeouts: hyper's header read timeout (which needs a timer) for
    /// every request of a connection, and axum-server's for the first, which also covers a
    /// connection that never sends a byte; and with the connection limit and hyper's own
    /// answers in the shape of `doors` ([`EdgeAcceptor`]).
    pub(crate) fn apply<A: Address, Acc>(
        self,
        mut server: axum_server::Server<A, Acc>,
        doors: Doors,
    ) -> axum_server::Server<A, EdgeAcceptor<Acc>> {
        server
            .http_builder()
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read);
        server
            .first_request_timeout(self.header_read)
            .map(|inner| EdgeAcceptor::new(inner, self.max_connections, self.header_read, doors))
    }
}

/// Middleware: the request body fails (a read error, which the handler's extractor turns
/// into a client error) once no bytes have arrived for `idle`.
pub(crate) async fn body_idle_timeout(
    State(idle): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    // A request without a body (every GET) has nothing to stall: no wrapping on that path.
    if axum::body::HttpBody::size_hint(request.body()).exact() == Some(0) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let stream = body.into_data_stream();
    let timed = futures::stream::unfold(Some(stream), move |state| async move {
        let mut stream = state?;
        match tokio::time::timeout(idle, stream.next()).await {
            Ok(Some(Ok(bytes))) => Some((Ok(bytes), Some(stream))),
            Ok(Some(Err(e))) => Some((Err(e), None)),
            Ok(None) => None,
            Err(_) => Some((
                Err(axum::Error::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("the request body stalled for {} s", idle.as_secs()),
                ))),
                None,
            )),
        }
    });
    next.run(Request::from_parts(parts, Body::from_stream(timed)))
        .await
}
