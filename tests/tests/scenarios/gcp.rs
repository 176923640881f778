//! The GCP Cloud KMS dialect driven by the official Rust client (google-cloud-kms-v1) with
//! its endpoint override and a keygate bearer token, plus raw requests for bad input.

use std::collections::HashMap;

use google_cloud_auth::credentials::{
    CacheableResource, Credentials, CredentialsProvider, EntityTag,
};
use google_cloud_gax::error::rpc::Code;
use google_cloud_kms_v1::client::KeyManagementService;
use google_cloud_kms_v1::model::crypto_key::CryptoKeyPurpose;
use google_cloud_kms_v1::model::crypto_key_version::{
    CryptoKeyVersionAlgorithm as Alg, CryptoKeyVersionState as State,
};
use google_cloud_kms_v1::model::{
    CryptoKey, CryptoKeyVersion, CryptoKeyVersionTemplate, Digest, KeyRing,
};
use keygate_core::api::Gateway as _;
use keygate_core::audit::AuditQuery;
use keygate_core::{CreateKeyRequest, EncryptionContext, KeySpec};
use serde_json::{Value, json};
use sha2::Digest as _;

use super::support::TestGateway;

/// Credentials that send a fixed keygate bearer token.
#[derive(Debug)]
struct KeygateToken(String);

impl CredentialsProvider for KeygateToken {
    async fn headers(
        &self,
        _extensions: http::Extensions,
    ) -> Result<CacheableResource<http::HeaderMap>, google_cloud_auth::errors::CredentialsError>
    {
        let mut headers = http::HeaderMap::new();
        let value = http::HeaderValue::from_str(&format!("Bearer {}", self.0)).unwrap();
        headers.insert(http::header::AUTHORIZATION, value);
        Ok(CacheableResource::New {
            entity_tag: EntityTag::new(),
            data: headers,
        })
    }

    async fn universe_domain(&self) -> Option<String> {
        None
    }
}

pub(crate) async fn client(gw: &TestGateway, token: &str) -> KeyManagementService {
    KeyManagementService::builder()
        .with_endpoint(gw.base.clone())
        .with_credentials(Credentials::from(KeygateToken(token.to_owned())))
        .build()
        .await
        .unwrap()
}

const LOC: &str = "projects/demo/locations/local";

pub(crate) fn code(err: &google_cloud_kms_v1::Error) -> Code {
    err.status().map(|s| s.code).unwrap_or(Code::Unknown)
}

fn crc(bytes: &[u8]) -> i64 {
    i64::from(crc32c::crc32c(bytes))
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    sha2::Sha256::digest(bytes).to_vec()
}

/// The number of audit rows with source `gcp` for `principal`.
async fn gcp_rows(gw: &TestGateway, principal: &str) -> usize {
    let page = gw
        .service
        .local_admin()
        .query_audit(&AuditQuery {
            principal: Some(principal.into()),
            limit: Some(1000),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    // One outcome row per call; calls that act also wrote an intent row before.
    page.items
        .iter()
        .filter(|e| e.source == "gcp" && e.outcome != keygate_core::audit::AuditOutcome::Unknown)
        .count()
}

pub(crate) async fn create_ring(kms: &KeyManagementService, id: &str) -> KeyRing {
    kms.create_key_ring()
        .set_parent(LOC)
        .set_key_ring_id(id)
        .set_key_ring(KeyRing::new())
        .send()
        .await
        .unwrap()
}

pub(crate) async fn create_key(
    kms: &KeyManagementService,
    ring: &str,
    id: &str,
    purpose: CryptoKeyPurpose,
    alg: Alg,
) -> CryptoKey {
    kms.create_crypto_key()
        .set_parent(ring)
        .set_crypto_key_id(id)
        .set_crypto_key(
            CryptoKey::new()
                .set_purpose(purpose)
                .set_version_template(CryptoKeyVersionTemplate::new().set_algorithm(alg))
                .set_labels([("team", "payments")]),
        )
        .send()
        .await
        .unwrap()
}
/// A raw request: status and JSON body.
async fn raw(
    gw: &TestGateway,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, format!("{}{path}", gw.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

fn assert_google_error(status: u16, body: &Value, want: u16, canonical: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["error"]["code"], want, "{body}");
    assert_eq!(body["error"]["status"], canonical, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
}

#[path = "gcp/crypto.rs"]
mod crypto;
#[path = "gcp/keys.rs"]
mod keys;
#[path = "gcp/lifecycle.rs"]
mod lifecycle;
#[path = "gcp/versions.rs"]
mod versions;
#[path = "gcp/wire.rs"]
mod wire;
