//! A client of a running gateway over HTTP, implementing the same API as the service.
//!
//! [`HttpGateway`] implements [`Gateway`](keygate_core::api::Gateway) against the REST API (`/v1`), so the CLI (with
//! `--gateway URL --token T`) and the console work the same against a remote gateway as
//! in process. It speaks the JSON bodies of [`keygate_core::wire`] (shared with the server),
//! maps the typed error body back to the same [`Error`] variant by its `kind`, and follows
//! the audit log over Server-Sent Events.

#![warn(missing_docs)]

mod gateway;
mod sse;

use std::fmt;
use std::path::Path;
use std::time::Duration;

use keygate_core::api::Resolved;
use keygate_core::audit::AuditQuery;
use keygate_core::wire::{KEY_ID_HEADER, KEY_PROVIDER_HEADER, KEY_URI_HEADER, header_text};
use keygate_core::{Error, ErrorKind, KeyLocator, KeyRef, Result};
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use reqwest::{Method, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use keygate_core::wire::ErrorBody;

/// A gateway reached over HTTP(S) with a bearer token.
#[derive(Clone)]
pub struct HttpGateway {
    base: String,
    http: reqwest::Client,
}

impl fmt::Debug for HttpGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token lives only in the client's default headers, marked sensitive.
        f.debug_struct("HttpGateway")
            .field("base", &self.base)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Percent-encodes `s` as one path segment or query value: everything but the RFC 3986
/// unreserved characters, so `/` in a key URI or alias stays inside the segment.
pub(crate) fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl HttpGateway {
    /// A client of the gateway at `base_url` (`https://host:8200`) authenticating with
    /// `token`; `ca_cert` is an extra PEM root certificate (for a self-signed gateway).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a malformed URL or token, or an unreadable CA file.
    pub fn new(base_url: &str, token: &str, ca_cert: Option<&Path>) -> Result<Self> {
        let base = base_url.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::invalid(format!(
                "gateway URL `{base}` must start with http:// or https://"
            )));
        }
        let bearer = Zeroizing::new(format!("Bearer {}", token.trim()));
        let mut auth = HeaderValue::from_str(&bearer)
            .map_err(|_| Error::invalid("the gateway token contains invalid characters"))?;
        auth.set_sensitive(true);
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(10));
        if let Some(path) = ca_cert {
            let pem = std::fs::read(path).map_err(|e| {
                Error::invalid(format!(
                    "cannot read CA certificate {}: {e}",
                    path.display()
                ))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| Error::invalid(format!("CA certificate {}: {e}", path.display())))?;
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|e| Error::invalid(format!("HTTP client for {base}: {e}")))?;
        Ok(Self { base, http })
    }

    /// The gateway's base URL as given to [`HttpGateway::new`], without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    fn key_path(key: &KeyLocator, rest: &str) -> String {
        format!("/v1/keys/{}{rest}", encode_component(&key.to_string()))
    }

    fn unreachable(&self, e: &reqwest::Error) -> Error {
        Error::unavailable(format!(
            "cannot reach the keygate gateway at {}: {e}",
            self.base
        ))
    }

    /// Sends `req`; maps a typed error body back to its [`Error`].
    async fn send(&self, req: RequestBuilder) -> Result<reqwest::Response> {
        let resp = req.send().await.map_err(|e| self.unreachable(&e))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        Err(self.error_from(resp).await)
    }

    async fn error_from(&self, resp: reqwest::Response) -> Error {
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = resp.bytes().await.unwrap_or_default();
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(b) => error_from_kind(&b.error.kind, b.error.message, retry_after),
            Err(_) => Error::unavailable(format!(
                "the keygate gateway at {} answered {status} without a keygate error body",
                self.base
            )),
        }
    }

    async fn call<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<T> {
        let resp = self.send(req).await?;
        let bytes = resp.bytes().await.map_err(|e| self.unreachable(&e))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::unavailable(format!(
                "the keygate gateway at {} sent an unreadable answer: {e}",
                self.base
            ))
        })
    }

    /// [`HttpGateway::call`] for a call about one key: the answer, with the key the gateway
    /// resolved the reference to (its resolved-key headers).
    async fn call_keyed<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<Resolved<T>> {
        let resp = self.send(req).await?;
        let header = |name: &str| -> Result<String> {
            let value = resp
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    Error::unavailable(format!(
                        "the keygate gateway at {} did not say which key it used (no `{name}` header)",
                        self.base
                    ))
                })?;
            header_text(value).map_err(|e| {
                Error::unavailable(format!(
                    "the keygate gateway at {} sent a malformed `{name}` header: {e}",
                    self.base
                ))
            })
        };
        let key = KeyRef::new(header(KEY_PROVIDER_HEADER)?, header(KEY_ID_HEADER)?);
        let uri = header(KEY_URI_HEADER)?;
        let bytes = resp.bytes().await.map_err(|e| self.unreachable(&e))?;
        let value = serde_json::from_slice(&bytes).map_err(|e| {
            Error::unavailable(format!(
                "the keygate gateway at {} sent an unreadable answer: {e}",
                self.base
            ))
        })?;
        Ok(Resolved { key, uri, value })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call(self.request(Method::GET, path)).await
    }

    async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T> {
        self.call(self.request(Method::POST, path).json(body)).await
    }

    async fn put<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T> {
        self.call(self.request(Method::PUT, path).json(body)).await
    }
}

/// The [`Error`] for a typed error body: rebuilt by its stable `kind`
/// ([`keygate_core::ErrorKind`]), never from the message; a kind this client does not know
/// (a newer gateway) is [`Error::Unavailable`] naming it.
pub(crate) fn error_from_kind(kind: &str, message: String, retry_after: Option<Duration>) -> Error {
    match kind.parse::<ErrorKind>() {
        Ok(kind) => Error::from_kind(kind, message, retry_after),
        Err(_) => Error::unavailable(format!("the gateway answered `{kind}`: {message}")),
    }
}

/// The query string of an audit query (without `?`).
fn audit_query_string(q: &AuditQuery) -> Result<String> {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    let rfc3339 = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| Error::invalid(format!("audit query time: {e}")))
    };
    if let Some(t) = q.since {
        pairs.push(("since", rfc3339(t)?));
    }
    if let Some(t) = q.until {
        pairs.push(("until", rfc3339(t)?));
    }
    for (name, value) in [
        ("key", &q.key),
        ("principal", &q.principal),
        ("action", &q.action),
    ] {
        if let Some(v) = value {
            pairs.push((name, v.clone()));
        }
    }
    if let Some(o) = q.outcome {
        pairs.push(("outcome", o.as_str().to_owned()));
    }
    if let Some(a) = q.after {
        pairs.push(("after", a.to_string()));
    }
    if let Some(l) = q.limit {
        pairs.push(("limit", l.to_string()));
    }
    Ok(pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode_component(v)))
        .collect::<Vec<_>>()
        .join("&"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn key_references_stay_one_segment() {
        assert_eq!(encode_component("alias/pay"), "alias%2Fpay");
        assert_eq!(encode_component("local://demo"), "local%3A%2F%2Fdemo");
        assert_eq!(encode_component("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(encode_component("é"), "%C3%A9");
    }

    #[test]
    fn errors_map_back_by_kind() {
        for kind in ErrorKind::ALL {
            assert_eq!(
                error_from_kind(kind.as_str(), "m".into(), None).kind(),
                kind
            );
        }
        let newer = error_from_kind("quota_exceeded", "m".into(), None);
        assert_eq!(newer.kind(), ErrorKind::Unavailable);
        assert!(newer.to_string().contains("quota_exceeded"), "{newer}");
        let e = error_from_kind("throttled", "slow".into(), Some(Duration::from_secs(3)));
        assert!(matches!(
            e,
            Error::Throttled {
                retry_after: Some(d)
            } if d == Duration::from_secs(3)
        ));
    }

    #[test]
    fn debug_hides_the_token() {
        let g = HttpGateway::new("http://127.0.0.1:1/", "kgt_abc.very-secret", None).unwrap();
        let dbg = format!("{g:?}");
        assert!(!dbg.contains("very-secret"), "{dbg}");
        assert_eq!(g.base_url(), "http://127.0.0.1:1");
        assert!(HttpGateway::new("ftp://x", "t", None).is_err());
    }
}
