//! Every answer in its door's shape, including hyper's own answers to requests it cannot
//! parse, and the connection limit of a listener.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::support::{TestGateway, config};

/// Sends `raw` on a fresh connection and reads the answer until the server closes it or
/// a whole body (by `content-length`) has arrived: `(status, headers, body)`.
async fn raw(addr: &str, bytes: &[u8]) -> (u16, String, Value) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may answer (and close) before it has read everything.
    let _ = stream.write_all(bytes).await;
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await;
        match read.expect("an answer within 5 s") {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
        let text = String::from_utf8_lossy(&got);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap())
            });
            if len.is_some_and(|len| body.len() >= len) {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.get(9..12).unwrap_or("0").parse().unwrap_or(0);
    let json = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, head.to_ascii_lowercase(), json)
}

fn many_headers(target: &str, n: usize) -> Vec<u8> {
    let mut req = format!("POST {target} HTTP/1.1\r\nHost: x\r\n");
    for i in 0..n {
        req.push_str(&format!("x-h{i}: v\r\n"));
    }
    req.push_str("content-length: 0\r\n\r\n");
    req.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_the_http_stack_makes_up_carry_the_door_s_shape() {
    let home = tempfile::tempdir().unwrap();
    let gw = TestGateway::start_with(
        home.path(),
        config(|c| {
            c.dialects.aws.enabled = true;
            c.dialects.gcp.enabled = true;
        }),
    )
    .await;
    let addr = gw.base.trim_start_matches("http://").to_owned();
    let rest = |v: &Value| v["error"]["kind"].is_string() && v["error"]["request_id"].is_string();
    let aws = |v: &Value| v["__type"].is_string() && v["message"].is_string();
    let gcp = |v: &Value| v["error"]["status"].is_string() && v["error"]["code"].is_u64();

    // 1000 headers: hyper's 431, in each door's shape.
    let (status, _, body) = raw(&addr, &many_headers("/v1/health", 1000)).await;
    assert_eq!(status, 431);
    assert!(rest(&body), "{body}");
    let (status, head, body) = raw(&addr, &many_headers("/", 1000)).await;
    assert_eq!(status, 431);
    assert!(aws(&body), "{body}");
    assert!(head.contains("x-amzn-errortype:"), "{head}");
    let (status, _, body) = raw(&addr, &many_headers("/v1/projects/p/locations", 1000)).await;
    assert_eq!(status, 431);
    assert!(gcp(&body), "{body}");

    // An operation name with a NUL: hyper's 400, in the AWS shape.
    let nul = b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: TrentService.Encr\0ypt\r\n\
                content-type: application/x-amz-json-1.1\r\ncontent-length: 2\r\n\r\n{}";
    let (status, _, body) = raw(&addr, nul).await;
    assert_eq!(status, 400);
    assert!(aws(&body), "{body}");
    // An unknown operation and a wrong method on the AWS door, shaped by the router.
    let unknown = b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: TrentService.Nope\r\n\
                    content-type: application/x-amz-json-1.1\r\ncontent-length: 2\r\n\r\n{}";
    let (status, _, body) = raw(&addr, unknown).await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "UnknownOperationException");
    let (status, _, body) = raw(&addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!((400..500).contains(&status), "{status}");
    assert!(aws(&body), "{body}");

    // Garbage instead of a request line: the listener's default door, REST.
    let (status, _, body) = raw(&addr, b"\x16\x03\x01garbage\r\n\r\n").await;
    assert_eq!(status, 400);
    assert!(rest(&body), "{body}");
    // A too long URI on the GCP door.
    let long = format!(
        "GET /v1/projects/{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(70_000)
    );
    let (status, _, body) = raw(&addr, long.as_bytes()).await;
    assert!((400..500).contains(&status), "{status}");
    assert!(gcp(&body), "{body}");
    // A body beyond the limit and a wrong content type on REST.
    let big = format!(
        "POST /v1/encrypt HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        2 * 1024 * 1024
    );
    let (status, _, body) = raw(&addr, big.as_bytes()).await;
    assert!((400..500).contains(&status), "{status}");
    assert!(rest(&body), "{body}");

    // After all that, a kept-alive connection still gets whole, framed answers.
    let two = b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/nothing HTTP/1.1\r\nHost: x\r\nconnection: close\r\n\r\n";
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream.write_all(two).await.unwrap();
    let mut all = String::new();
    stream.read_to_string(&mut all).await.unwrap();
    assert!(all.starts_with("HTTP/1.1 200"), "{all}");
    assert!(all.contains("HTTP/1.1 404"), "{all}");
    assert!(all.contains("\"kind\":\"not_found\""), "{all}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_wait_for_a_free_slot() {
    let home = tempfile::tempdir().unwrap();
    let gw = TestGateway::start_with(
        home.path(),
        config(|c| {
            c.server.max_connections = 2;
            c.server.header_read_timeout_secs = 3;
        }),
    )
    .await;
    let addr = gw.base.trim_start_matches("http://").to_owned();
    let health = b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(health).await.unwrap();
        let mut first = [0u8; 12];
        s.read_exact(&mut first).await.unwrap();
        assert_eq!(&first, b"HTTP/1.1 200");
        held.push(s);
    }
    // A third connection is not served while both slots are held...
    let mut third = TcpStream::connect(&addr).await.unwrap();
    third.write_all(health).await.unwrap();
    let mut first = [0u8; 12];
    let waited =
        tokio::time::timeout(Duration::from_millis(700), third.read_exact(&mut first)).await;
    assert!(waited.is_err(), "served beyond the limit");
    // ...and is as soon as one frees.
    drop(held.pop());
    tokio::time::timeout(Duration::from_secs(2), third.read_exact(&mut first))
        .await
        .expect("served once a slot freed")
        .unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    gw.stop().await;
}
