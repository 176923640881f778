//! A client of a running gateway over HTTP, implementing the same API as the service.
//!
//! [`HttpGateway`] implements [`Gateway`] against the REST API (`/v1`), so the CLI (with
//! `--gateway URL --token T`) and the console work the same against a remote gateway as
//! in process. It speaks the JSON bodies of [`crate::http::dto`] (shared with the server),
//! maps the typed error body back to the same [`Error`] variant by its `kind`, and follows
//! the audit log over Server-Sent Events.

use std::collections::VecDeque;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt as _};
use keygate_core::access::{AccessPolicy, Identity};
use keygate_core::api::{
    Alias, Decrypted, Gateway, IssuedToken, KeyListing, ProviderSummary, SealingKey, TokenInfo,
    TokenRequest,
};
use keygate_core::audit::{AuditEvent, AuditQuery, AuditVerification};
use keygate_core::envelope::EnvelopeHeader;
use keygate_core::{
    CreateKeyRequest, DataKey, DataKeySpec, EncryptionContext, Error, KeyMetadata, KeyUpdate,
    KeyVersion, MacTag, Page, Policy, PublicKey, Result, RotationSchedule, SecretBytes, Signature,
    SigningAlgorithm,
};
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use reqwest::{Method, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::http::dto::{
    AuditPage, BeginEnvelopeBody, CreateAliasBody, CreateKeyBody, DataKeyBody, DataKeyOnly,
    DataKeyResponse, DecryptBody, DecryptedBody, DeleteBody, EncryptBody, EncryptedBody,
    IssuedTokenBody, MacBody, MacResponse, MacVerifyBody, OpenEnvelopeBody, PublicKeyBody,
    RotationBody, SealingKeyBody, SetRotationBody, SignBody, SignatureBody, UpdateAliasBody, Valid,
    VerifyBody, b64, b64_secret, unb64, unb64_secret,
};
use crate::http::error::ErrorBody;

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
pub fn encode_component(s: &str) -> String {
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

    /// The gateway's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    fn key_path(key: &str, rest: &str) -> String {
        format!("/v1/keys/{}{rest}", encode_component(key))
    }

    fn unreachable(&self, e: &reqwest::Error) -> Error {
        Error::Unavailable(format!(
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
            Err(_) => Error::Unavailable(format!(
                "the keygate gateway at {} answered {status} without a keygate error body",
                self.base
            )),
        }
    }

    async fn call<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<T> {
        let resp = self.send(req).await?;
        let bytes = resp.bytes().await.map_err(|e| self.unreachable(&e))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::Unavailable(format!(
                "the keygate gateway at {} sent an unreadable answer: {e}",
                self.base
            ))
        })
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

/// The [`Error`] for a typed error body's `kind`.
pub fn error_from_kind(kind: &str, message: String, retry_after: Option<Duration>) -> Error {
    match kind {
        "not_found" => Error::NotFound(message),
        "already_exists" => Error::AlreadyExists(message),
        "invalid_argument" => Error::InvalidArgument(message),
        "invalid_state" => Error::InvalidState(message),
        "permission_denied" => Error::PermissionDenied(message),
        "unauthenticated" => Error::Unauthenticated(message),
        "unsupported" => Error::Unsupported(message),
        "throttled" => Error::Throttled { retry_after },
        "unavailable" => Error::Unavailable(message),
        "integrity_failure" => Error::IntegrityFailure,
        "root_key_mismatch" => Error::RootKeyMismatch,
        "provider" => Error::provider("gateway", message),
        other => Error::Unavailable(format!("the gateway answered `{other}`: {message}")),
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

/// An incremental parser of a `text/event-stream` body: feed bytes, take complete events.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: Vec<u8>,
}

/// One Server-Sent Event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// `event:` (empty: `message`).
    pub event: String,
    /// `data:` lines joined by `\n`.
    pub data: String,
    /// `id:`.
    pub id: Option<String>,
}

impl SseParser {
    /// Adds bytes and returns the events they complete (comments and empty events skipped).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
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
        "audit" => Some(serde_json::from_str(&ev.data).map_err(|e| {
            Error::Unavailable(format!("unreadable audit event from the gateway: {e}"))
        })),
        "error" => Some(Err(match serde_json::from_str::<ErrorBody>(&ev.data) {
            Ok(b) => error_from_kind(&b.error.kind, b.error.message, None),
            Err(e) => Error::Unavailable(format!("unreadable error event from the gateway: {e}")),
        })),
        _ => None,
    }
}

struct Follow {
    body: BoxStream<'static, reqwest::Result<axum::body::Bytes>>,
    parser: SseParser,
    ready: VecDeque<Result<AuditEvent>>,
    base: String,
    done: bool,
}

fn follow_stream(
    body: BoxStream<'static, reqwest::Result<axum::body::Bytes>>,
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
                        Err(Error::Unavailable(format!(
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

fn decode_reply(field: &str, value: &str) -> Result<Vec<u8>> {
    unb64(field, value)
        .map_err(|_| Error::Unavailable(format!("the gateway sent `{field}` that is not base64")))
}

fn decode_secret_reply(field: &str, value: &str) -> Result<SecretBytes> {
    unb64_secret(field, value)
        .map_err(|_| Error::Unavailable(format!("the gateway sent `{field}` that is not base64")))
}

#[async_trait]
impl Gateway for HttpGateway {
    async fn whoami(&self) -> Result<Identity> {
        self.get("/v1/whoami").await
    }

    async fn providers(&self) -> Result<Vec<ProviderSummary>> {
        self.get("/v1/providers").await
    }

    async fn list_keys(&self, provider: Option<&str>) -> Result<KeyListing> {
        match provider {
            Some(p) => {
                self.get(&format!("/v1/keys?provider={}", encode_component(p)))
                    .await
            }
            None => self.get("/v1/keys").await,
        }
    }

    async fn describe_key(&self, key: &str) -> Result<KeyMetadata> {
        self.get(&Self::key_path(key, "")).await
    }

    async fn create_key(
        &self,
        provider: Option<&str>,
        req: CreateKeyRequest,
    ) -> Result<KeyMetadata> {
        let body = CreateKeyBody {
            provider: provider.map(str::to_owned),
            name: req.name,
            spec: req.spec,
            usage: req.usage,
            description: Some(req.description),
            labels: Some(req.labels),
            rotation_period_days: req.rotation.map(|r| r.period_days),
        };
        self.post("/v1/keys", &body).await
    }

    async fn update_key(&self, key: &str, update: KeyUpdate) -> Result<KeyMetadata> {
        let req = self
            .request(Method::PATCH, &Self::key_path(key, ""))
            .json(&update);
        self.call(req).await
    }

    async fn enable_key(&self, key: &str) -> Result<KeyMetadata> {
        self.call(self.request(Method::POST, &Self::key_path(key, "/enable")))
            .await
    }

    async fn disable_key(&self, key: &str) -> Result<KeyMetadata> {
        self.call(self.request(Method::POST, &Self::key_path(key, "/disable")))
            .await
    }

    async fn schedule_deletion(&self, key: &str, pending_days: u32) -> Result<KeyMetadata> {
        self.post(
            &Self::key_path(key, "/delete"),
            &DeleteBody { pending_days },
        )
        .await
    }

    async fn cancel_deletion(&self, key: &str) -> Result<KeyMetadata> {
        self.call(self.request(Method::POST, &Self::key_path(key, "/undelete")))
            .await
    }

    async fn list_versions(&self, key: &str) -> Result<Vec<KeyVersion>> {
        self.get(&Self::key_path(key, "/versions")).await
    }

    async fn rotate_key(&self, key: &str) -> Result<KeyVersion> {
        self.call(self.request(Method::POST, &Self::key_path(key, "/rotate")))
            .await
    }

    async fn get_rotation(&self, key: &str) -> Result<Option<RotationSchedule>> {
        let body: RotationBody = self.get(&Self::key_path(key, "/rotation")).await?;
        Ok(body.schedule)
    }

    async fn set_rotation(
        &self,
        key: &str,
        schedule: Option<RotationSchedule>,
    ) -> Result<Option<RotationSchedule>> {
        let req = SetRotationBody {
            period_days: schedule.map(|s| s.period_days),
        };
        let body: RotationBody = self.put(&Self::key_path(key, "/rotation"), &req).await?;
        Ok(body.schedule)
    }

    async fn get_public_key(&self, key: &str, version: Option<&str>) -> Result<PublicKey> {
        let query = version
            .map(|v| format!("?version={}", encode_component(v)))
            .unwrap_or_default();
        let body: PublicKeyBody = self
            .get(&Self::key_path(key, &format!("/public-key{query}")))
            .await?;
        Ok(PublicKey {
            der: decode_reply("der", &body.der)?,
            key_version: body.key_version,
            spec: body.spec,
        })
    }

    async fn get_key_policy(&self, key: &str) -> Result<Policy> {
        self.get(&Self::key_path(key, "/policy")).await
    }

    async fn set_key_policy(&self, key: &str, policy: Policy) -> Result<Policy> {
        self.put(&Self::key_path(key, "/policy"), &policy).await
    }

    async fn encrypt(
        &self,
        key: &str,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>> {
        let body = EncryptBody {
            key: key.to_owned(),
            plaintext: b64_secret(plaintext),
            context: context.clone(),
        };
        let reply: EncryptedBody = self.post("/v1/encrypt", &body).await?;
        decode_reply("ciphertext", &reply.ciphertext)
    }

    async fn decrypt(&self, envelope: &[u8], context: &EncryptionContext) -> Result<Decrypted> {
        self.decrypt_body(DecryptBody {
            ciphertext: b64(envelope),
            context: context.clone(),
            key: None,
        })
        .await
    }

    async fn decrypt_native(
        &self,
        key: &str,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Decrypted> {
        self.decrypt_body(DecryptBody {
            ciphertext: b64(ciphertext),
            context: context.clone(),
            key: Some(key.to_owned()),
        })
        .await
    }

    async fn generate_data_key(
        &self,
        key: &str,
        spec: DataKeySpec,
        context: &EncryptionContext,
    ) -> Result<DataKey> {
        let body = DataKeyBody {
            key: key.to_owned(),
            spec: Some(spec),
            context: context.clone(),
        };
        let reply: DataKeyResponse = self.post("/v1/generate-data-key", &body).await?;
        Ok(DataKey {
            plaintext: decode_secret_reply("plaintext", &reply.plaintext)?,
            ciphertext: decode_reply("ciphertext", &reply.ciphertext)?,
            key_version: reply.key_version,
        })
    }

    async fn begin_envelope(&self, key: &str, context: &EncryptionContext) -> Result<SealingKey> {
        let body = BeginEnvelopeBody {
            key: key.to_owned(),
            context: context.clone(),
        };
        let reply: SealingKeyBody = self.post("/v1/envelope/begin", &body).await?;
        let header_bytes = decode_reply("header", &reply.header)?;
        let (header, _) = EnvelopeHeader::decode(&header_bytes)?;
        Ok(SealingKey {
            header,
            data_key: decode_secret_reply("data_key", &reply.data_key)?,
        })
    }

    async fn open_envelope(
        &self,
        header: &EnvelopeHeader,
        context: &EncryptionContext,
    ) -> Result<SecretBytes> {
        let body = OpenEnvelopeBody {
            header: b64(&header.encode()?),
            context: context.clone(),
        };
        let reply: DataKeyOnly = self.post("/v1/envelope/open", &body).await?;
        decode_secret_reply("data_key", &reply.data_key)
    }

    async fn sign(
        &self,
        key: &str,
        message: &[u8],
        algorithm: SigningAlgorithm,
    ) -> Result<Signature> {
        let body = SignBody {
            key: key.to_owned(),
            message: b64(message),
            algorithm,
        };
        let reply: SignatureBody = self.post("/v1/sign", &body).await?;
        Ok(Signature {
            bytes: decode_reply("signature", &reply.signature)?,
            key_version: reply.key_version,
            algorithm: reply.algorithm,
        })
    }

    async fn verify(
        &self,
        key: &str,
        version: Option<&str>,
        message: &[u8],
        signature: &[u8],
        algorithm: SigningAlgorithm,
    ) -> Result<bool> {
        let body = VerifyBody {
            key: key.to_owned(),
            message: b64(message),
            signature: b64(signature),
            algorithm,
            key_version: version.map(str::to_owned),
        };
        let reply: Valid = self.post("/v1/verify", &body).await?;
        Ok(reply.valid)
    }

    async fn generate_mac(&self, key: &str, message: &[u8]) -> Result<MacTag> {
        let body = MacBody {
            key: key.to_owned(),
            message: b64(message),
        };
        let reply: MacResponse = self.post("/v1/mac", &body).await?;
        Ok(MacTag {
            bytes: decode_reply("mac", &reply.mac)?,
            key_version: reply.key_version,
            algorithm: reply.algorithm,
        })
    }

    async fn verify_mac(&self, key: &str, message: &[u8], mac: &[u8]) -> Result<bool> {
        let body = MacVerifyBody {
            key: key.to_owned(),
            message: b64(message),
            mac: b64(mac),
        };
        let reply: Valid = self.post("/v1/mac/verify", &body).await?;
        Ok(reply.valid)
    }

    async fn list_aliases(&self) -> Result<Vec<Alias>> {
        self.get("/v1/aliases").await
    }

    async fn create_alias(&self, name: &str, key: &str) -> Result<Alias> {
        let body = CreateAliasBody {
            name: name.to_owned(),
            key: key.to_owned(),
        };
        self.post("/v1/aliases", &body).await
    }

    async fn update_alias(&self, name: &str, key: &str) -> Result<Alias> {
        let body = UpdateAliasBody {
            key: key.to_owned(),
        };
        self.put(&format!("/v1/aliases/{}", encode_component(name)), &body)
            .await
    }

    async fn delete_alias(&self, name: &str) -> Result<()> {
        let req = self.request(
            Method::DELETE,
            &format!("/v1/aliases/{}", encode_component(name)),
        );
        self.send(req).await.map(|_| ())
    }

    async fn query_audit(&self, query: &AuditQuery) -> Result<Page<AuditEvent>> {
        let qs = audit_query_string(query)?;
        let page: AuditPage = self.get(&format!("/v1/audit?{qs}")).await?;
        Ok(Page {
            items: page.items,
            next_cursor: page.next_cursor,
        })
    }

    async fn follow_audit(
        &self,
        query: &AuditQuery,
    ) -> Result<BoxStream<'static, Result<AuditEvent>>> {
        let qs = audit_query_string(query)?;
        let req = self
            .request(Method::GET, &format!("/v1/audit/stream?{qs}"))
            .header(reqwest::header::ACCEPT, "text/event-stream");
        let resp = self.send(req).await?;
        Ok(follow_stream(
            resp.bytes_stream().boxed(),
            self.base.clone(),
        ))
    }

    async fn verify_audit(&self) -> Result<AuditVerification> {
        self.get("/v1/audit/verify").await
    }

    async fn create_token(&self, req: TokenRequest) -> Result<IssuedToken> {
        let reply: IssuedTokenBody = self.post("/v1/tokens", &req).await?;
        Ok(IssuedToken {
            info: reply.info,
            token: reply.token,
        })
    }

    async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        self.get("/v1/tokens").await
    }

    async fn revoke_token(&self, id: &str) -> Result<TokenInfo> {
        let req = self.request(
            Method::DELETE,
            &format!("/v1/tokens/{}", encode_component(id)),
        );
        self.call(req).await
    }

    async fn get_access_policy(&self) -> Result<AccessPolicy> {
        self.get("/v1/policy").await
    }

    async fn set_access_policy(&self, policy: AccessPolicy) -> Result<AccessPolicy> {
        self.put("/v1/policy", &policy).await
    }
}

impl HttpGateway {
    async fn decrypt_body(&self, body: DecryptBody) -> Result<Decrypted> {
        let reply: DecryptedBody = self.post("/v1/decrypt", &body).await?;
        Ok(Decrypted {
            plaintext: decode_secret_reply("plaintext", &reply.plaintext)?,
            key_uri: reply.key_uri,
            key_version: reply.key_version,
            context: reply.context,
        })
    }
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
        for kind in [
            "not_found",
            "already_exists",
            "invalid_argument",
            "invalid_state",
            "permission_denied",
            "unauthenticated",
            "unsupported",
            "unavailable",
            "integrity_failure",
            "provider",
        ] {
            assert_eq!(
                error_from_kind(kind, "m".into(), None).kind().as_str(),
                kind
            );
        }
        let e = error_from_kind("throttled", "slow".into(), Some(Duration::from_secs(3)));
        assert!(matches!(
            e,
            Error::Throttled {
                retry_after: Some(d)
            } if d == Duration::from_secs(3)
        ));
    }

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

    #[test]
    fn debug_hides_the_token() {
        let g = HttpGateway::new("http://127.0.0.1:1/", "kgt_abc.very-secret", None).unwrap();
        let dbg = format!("{g:?}");
        assert!(!dbg.contains("very-secret"), "{dbg}");
        assert_eq!(g.base_url(), "http://127.0.0.1:1");
        assert!(HttpGateway::new("ftp://x", "t", None).is_err());
    }
}
