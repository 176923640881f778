//! Every answer of every door in that door's error shape, including the answers the HTTP
//! stack makes up on its own (an unknown route, a wrong method, a rejected body, and hyper's
//! answers to requests it cannot parse, which [`crate::conn`] rewrites).
//!
//! Which door a request is for follows from its path alone, so a request whose headers could
//! not even be parsed still gets the right shape: on the main listener `/` is the AWS door,
//! `/v1/projects/…` the GCP door and everything else the REST API; on the Azure listener
//! everything is the Azure door. Each door marks the errors it shapes itself ([`Shaped`]);
//! [`shape_errors`] reshapes any other error answer by its status.

use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use keygate_core::wire::{ErrorBody, ErrorDetail};
use serde_json::json;

use crate::edge::RequestId;

/// One of the doors of the HTTP edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// The REST API: `{"error": {"kind", "message", "request_id"}}`.
    Rest,
    /// AWS KMS JSON 1.1: `{"__type", "message"}` and `x-amzn-ErrorType`.
    Aws,
    /// GCP Cloud KMS: `{"error": {"code", "message", "status", "details"}}`.
    Gcp,
    /// Azure Key Vault: `{"error": {"code", "message"}}`.
    Azure,
}

/// Marks a response whose error body a door wrote itself, in its own shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shaped(pub Door);

/// The doors one listener serves, to tell which one a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doors {
    /// The main listener: the REST API, plus the AWS and GCP doors when they are on.
    Main {
        /// The AWS door (`POST /`) is on.
        aws: bool,
        /// The GCP door (`/v1/projects/…`) is on.
        gcp: bool,
    },
    /// The Azure listener: the Azure door only.
    Azure,
}

impl Doors {
    /// The door a request for `path` is for.
    pub fn of(self, path: &str) -> Door {
        match self {
            Self::Azure => Door::Azure,
            Self::Main { aws: true, .. } if path == "/" => Door::Aws,
            Self::Main { gcp: true, .. } if path.starts_with("/v1/projects/") => Door::Gcp,
            Self::Main { .. } => Door::Rest,
        }
    }

    /// The door of a raw request head (as far as it was read): its request line's target,
    /// whether or not the rest parses. A head without a readable target is the listener's
    /// default door (REST, or Azure).
    pub fn of_head(self, head: &[u8]) -> Door {
        let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
        let target = line
            .split(|b| *b == b' ')
            .nth(1)
            .and_then(|t| std::str::from_utf8(t).ok())
            .unwrap_or_default();
        // The absolute form (`http://host/path`) names the path after the authority.
        let path = match target.split_once("://") {
            Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
            None => target,
        };
        let path = path.split(['?', '#']).next().unwrap_or_default();
        self.of(path)
    }
}

/// An error answer made up at the edge, from its status alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// Content type and the door's own headers.
    pub headers: HeaderMap,
    /// The body, never empty.
    pub body: Vec<u8>,
    door: Door,
}

/// What the caller is told for an error the HTTP stack raised.
fn message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "the request is malformed",
        404 => "no such endpoint",
        405 => "method not allowed on this endpoint",
        408 => "the request took too long to arrive",
        411 => "the request needs a Content-Length",
        413 => "the request body is too large",
        414 => "the request URI is too long",
        415 => "the request has an unsupported content type",
        431 => "the request header fields are too large or too many",
        503 => "the service is unavailable; retry later",
        s if s >= 500 => "internal error",
        _ => "the request was refused",
    }
}

impl Answer {
    /// `door`'s error answer for `status`; `request_id` goes into the REST body.
    pub fn new(door: Door, status: StatusCode, request_id: Option<&str>) -> Self {
        let text = message(status);
        let code = status.as_u16();
        let mut headers = HeaderMap::new();
        let json_type = HeaderValue::from_static("application/json");
        let body = match door {
            Door::Rest => {
                let kind = match code {
                    401 => "unauthenticated",
                    403 => "permission_denied",
                    404 => "not_found",
                    429 => "throttled",
                    501 => "unsupported",
                    503 => "unavailable",
                    c if c >= 500 => "internal",
                    _ => "invalid_argument",
                };
                headers.insert(CONTENT_TYPE, json_type);
                let id = request_id.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
                serde_json::to_vec(&ErrorBody {
                    error: ErrorDetail {
                        kind: kind.to_owned(),
                        message: text.to_owned(),
                        request_id: Some(id),
                    },
                })
                .unwrap_or_default()
            }
            Door::Aws => {
                let exception = match code {
                    401 | 403 => "AccessDeniedException",
                    404 | 405 => "UnknownOperationException",
                    413 => "RequestEntityTooLargeException",
                    415 => "SerializationException",
                    429 => "ThrottlingException",
                    503 => "DependencyTimeoutException",
                    c if c >= 500 => "KMSInternalException",
                    _ => "ValidationException",
                };
                headers.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-amz-json-1.1"),
                );
                headers.insert("x-amzn-errortype", HeaderValue::from_static(exception));
                json!({ "__type": exception, "message": text })
                    .to_string()
                    .into_bytes()
            }
            Door::Gcp => {
                let canonical = match code {
                    401 => "UNAUTHENTICATED",
                    403 => "PERMISSION_DENIED",
                    404 | 405 => "NOT_FOUND",
                    408 => "DEADLINE_EXCEEDED",
                    429 => "RESOURCE_EXHAUSTED",
                    501 => "UNIMPLEMENTED",
                    503 => "UNAVAILABLE",
                    c if c >= 500 => "INTERNAL",
                    _ => "INVALID_ARGUMENT",
                };
                headers.insert(CONTENT_TYPE, json_type);
                json!({ "error": {
                    "code": code, "message": text, "status": canonical, "details": []
                }})
                .to_string()
                .into_bytes()
            }
            Door::Azure => {
                let error = match code {
                    401 => "Unauthorized",
                    403 => "Forbidden",
                    404 | 405 => "NotFound",
                    408 => "RequestTimeout",
                    413 => "RequestEntityTooLarge",
                    429 => "Throttled",
                    503 => "ServiceUnavailable",
                    c if c >= 500 => "InternalServerError",
                    _ => "BadParameter",
                };
                headers.insert(CONTENT_TYPE, json_type);
                json!({ "error": { "code": error, "message": text } })
                    .to_string()
                    .into_bytes()
            }
        };
        Self {
            status,
            headers,
            body,
            door,
        }
    }

    /// The answer as HTTP/1.1 bytes, closing the connection: what [`crate::conn`] writes in
    /// place of hyper's empty answer to a request it could not parse.
    pub fn to_http1(&self) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {} {}\r\n",
            self.status.as_u16(),
            self.status.canonical_reason().unwrap_or("Error")
        )
        .into_bytes();
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(
            format!(
                "content-length: {}\r\nconnection: close\r\n\r\n",
                self.body.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&self.body);
        out
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.headers, self.body).into_response();
        response.extensions_mut().insert(Shaped(self.door));
        response
    }
}

/// Middleware: an error answer (4xx or 5xx) that is not already in the shape of the door the
/// request is for (an axum rejection, a fallback, another door's shape) is replaced by that
/// door's answer for its status, keeping `Retry-After` and `WWW-Authenticate`.
pub async fn shape_errors(State(doors): State<Doors>, request: Request, next: Next) -> Response {
    let door = doors.of(request.uri().path());
    let id = request.extensions().get::<RequestId>().map(|r| r.0.clone());
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.extensions().get::<Shaped>() == Some(&Shaped(door))
    {
        return response;
    }
    let kept: Vec<_> = [RETRY_AFTER, WWW_AUTHENTICATE]
        .into_iter()
        .filter_map(|name| response.headers().get(&name).cloned().map(|v| (name, v)))
        .collect();
    let mut shaped = Answer::new(door, status, id.as_deref()).into_response();
    for (name, value) in kept {
        shaped.headers_mut().insert(name, value);
    }
    shaped
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const MAIN: Doors = Doors::Main {
        aws: true,
        gcp: true,
    };

    #[test]
    fn the_path_names_the_door() {
        assert_eq!(MAIN.of("/"), Door::Aws);
        assert_eq!(MAIN.of("/v1/projects/p/locations"), Door::Gcp);
        assert_eq!(MAIN.of("/v1/keys"), Door::Rest);
        assert_eq!(
            Doors::Main {
                aws: false,
                gcp: false
            }
            .of("/"),
            Door::Rest
        );
        assert_eq!(Doors::Azure.of("/"), Door::Azure);
        assert_eq!(
            MAIN.of_head(b"POST / HTTP/1.1\r\nx-amz-target: \0"),
            Door::Aws
        );
        assert_eq!(
            MAIN.of_head(b"GET http://h:1/v1/projects/p?x HTTP/1.1\r\n"),
            Door::Gcp
        );
        assert_eq!(MAIN.of_head(b"GET /?a HTTP/1.1"), Door::Aws);
        assert_eq!(MAIN.of_head(b"\xff\xfe garbage"), Door::Rest);
        assert_eq!(Doors::Azure.of_head(b""), Door::Azure);
    }

    #[test]
    fn every_door_answers_every_status_with_a_body_in_its_shape() {
        for status in [400u16, 404, 405, 408, 413, 414, 415, 431, 429, 500, 503] {
            let status = StatusCode::from_u16(status).unwrap();
            for door in [Door::Rest, Door::Aws, Door::Gcp, Door::Azure] {
                let answer = Answer::new(door, status, Some("rid"));
                let v: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
                match door {
                    Door::Rest => {
                        assert!(v["error"]["kind"].is_string());
                        assert_eq!(v["error"]["request_id"], "rid");
                    }
                    Door::Aws => {
                        assert_eq!(
                            v["__type"],
                            answer.headers["x-amzn-errortype"].to_str().unwrap()
                        );
                    }
                    Door::Gcp => assert_eq!(v["error"]["code"], status.as_u16()),
                    Door::Azure => assert!(v["error"]["code"].is_string()),
                }
                assert!(!v.to_string().contains("null"), "{v}");
                let wire = answer.to_http1();
                let text = String::from_utf8(wire).unwrap();
                assert!(text.starts_with(&format!("HTTP/1.1 {} ", status.as_u16())));
                assert!(text.ends_with(&String::from_utf8(answer.body.clone()).unwrap()));
            }
        }
    }
}
