//! What the dialects' fuzzing checks share: turning fuzzer bytes into an HTTP request, and
//! replaying committed corpora in tests.
//!
//! Not part of keygate's API: hidden from the docs and free to change.

use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Request};

/// Reads `data` as a small text form of an HTTP request:
///
/// ```text
/// METHOD URI
/// name: value        (any number of header lines)
///                    (an empty line)
/// body bytes
/// ```
///
/// `None` when the bytes do not make a request the HTTP stack would pass on (a bad method,
/// URI, header name or value): the dialects never see those.
pub fn request(data: &[u8]) -> Option<(Parts, Vec<u8>)> {
    let mut rest = data;
    let mut next_line = || -> Option<&[u8]> {
        let end = rest.iter().position(|&b| b == b'\n')?;
        let (line, tail) = rest.split_at(end);
        rest = &tail[1..];
        Some(line)
    };
    let first = next_line()?;
    let first = std::str::from_utf8(first).ok()?;
    let (method, uri) = first.split_once(' ')?;
    let mut builder = Request::builder().method(method).uri(uri);
    while let Some(line) = next_line() {
        if line.is_empty() {
            break;
        }
        let colon = line.iter().position(|&b| b == b':')?;
        let name = HeaderName::from_bytes(&line[..colon]).ok()?;
        let value = line[colon + 1..]
            .strip_prefix(b" ")
            .unwrap_or(&line[colon + 1..]);
        builder = builder.header(name, HeaderValue::from_bytes(value).ok()?);
    }
    let body = rest.to_vec();
    let (parts, ()) = builder.body(()).ok()?.into_parts();
    Some((parts, body))
}

/// The reverse of [`request`], for seeds.
pub fn request_text(method: &str, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {uri}\n").into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\n").as_bytes());
    }
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}
