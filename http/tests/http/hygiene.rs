//! Connection hygiene: a client that trickles its headers loses its connection, and a
//! request body that stalls fails the request; neither holds the gateway.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::support::{TestGateway, config};

/// Reads until the server closes the connection (or `limit` passes); returns what was read
/// and how long the close took.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, started.elapsed()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the connection was still open after {limit:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_headers_and_stalled_bodies_do_not_hold_the_gateway() {
    let home = tempfile::tempdir().unwrap();
    let gw = TestGateway::start_with(
        home.path(),
        config(|c| {
            c.server.header_read_timeout_secs = 1;
            c.server.body_read_timeout_secs = 1;
        }),
    )
    .await;
    let addr = gw.base.trim_start_matches("http://").to_owned();

    // A slowloris: half a request line and one header, then nothing.
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let (_, took) = until_closed(&mut slow, Duration::from_secs(15)).await;
    assert!(
        took >= Duration::from_millis(500),
        "closed too early: {took:?}"
    );

    // A connection that never sends a byte is closed too.
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    until_closed(&mut silent, Duration::from_secs(15)).await;

    // A kept-alive connection: the first request is answered, a trickled second one is cut.
    let mut kept = TcpStream::connect(&addr).await.unwrap();
    kept.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 12];
    kept.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    kept.write_all(b"GET /v1/health HTTP/1.1\r\n")
        .await
        .unwrap();
    until_closed(&mut kept, Duration::from_secs(15)).await;

    // A body announced but not sent: the request fails as the client's fault, promptly.
    let token = gw.token("ops", "admin").await;
    let mut stalled = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/random HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"bytes\":"
    );
    stalled.write_all(head.as_bytes()).await.unwrap();
    let (answer, _) = until_closed(&mut stalled, Duration::from_secs(15)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");

    // The gateway still answers everyone else.
    let ok = reqwest::get(gw.url("/v1/health")).await.unwrap();
    assert_eq!(ok.status(), 200);
    gw.stop().await;
}
