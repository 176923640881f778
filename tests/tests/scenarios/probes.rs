//! Existence probes, door by door: a caller who may not use a key learns nothing from naming
//! it. An `app` token (rights on its own keys only) and an `auditor` token (no right to use
//! or change any key) get the same answer for another app's key, a missing key, an alias of that key and a
//! missing alias, on the REST API and on each dialect; every refusal is a `denied` audit
//! row; and the caller with no key rights is refused before anything is looked up (its rows
//! name no key: no resolution ran), however many times it asks.

use aws_sdk_kms::error::ProvideErrorMetadata as _;
use aws_sdk_kms::primitives::Blob;
use keygate_core::api::Gateway as _;
use keygate_core::audit::{AuditEvent, AuditOutcome, AuditQuery};
use keygate_core::{CreateKeyRequest, KeySpec};
use serde_json::{Value, json};

use crate::support::{TestGateway, kl};

#[path = "probes/startup.rs"]
mod startup;
#[path = "probes/writes.rs"]
mod writes;

/// Another app's key and its alias; `nope` and `alias/nope` do not exist.
const THEIRS: &str = "theirs";
const THEIRS_ALIAS: &str = "alias/theirs-alias";
const REFERENCES: [&str; 4] = [THEIRS, "nope", THEIRS_ALIAS, "alias/nope"];

/// A gateway holding [`THEIRS`] (labelled `app = other`) and its alias.
async fn world() -> TestGateway {
    let gw = TestGateway::start().await;
    let admin = gw.service.local_admin();
    let mut req = CreateKeyRequest::new(THEIRS, KeySpec::Aes256);
    req.labels.insert("app".into(), "other".into());
    admin.create_key(None, req).await.unwrap();
    admin
        .create_alias("theirs-alias", &kl(THEIRS))
        .await
        .unwrap();
    gw
}

/// The outcome rows of `principal`'s calls, oldest first: one per call. Where the audit log
/// also keeps intent rows for a call, they are left out here, in this one place.
pub(crate) async fn outcome_rows(gw: &TestGateway, principal: &str) -> Vec<AuditEvent> {
    let mut rows = gw
        .service
        .local_admin()
        .query_audit(&AuditQuery {
            principal: Some(principal.into()),
            limit: Some(1000),
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .items;
    // Intent rows (outcome `unknown`, written before a call acts) are not outcomes.
    rows.retain(|r| r.outcome.as_str() != "unknown");
    rows.sort_by_key(|r| r.seq);
    rows
}

/// Asserts that every answer in `answers` equals the first, naming the door.
fn all_alike<T: PartialEq + std::fmt::Debug>(door: &str, answers: &[(&str, T)]) {
    let (first_ref, first) = &answers[0];
    for (reference, answer) in &answers[1..] {
        assert_eq!(
            answer, first,
            "{door}: `{reference}` answers differently from `{first_ref}`"
        );
    }
}

/// Every row is a refusal; for the caller with no key rights, none names a key: it was
/// refused before any lookup.
fn all_denied(rows: &[AuditEvent], looked_up: bool) {
    assert!(!rows.is_empty());
    for r in rows {
        assert_eq!(r.outcome, AuditOutcome::Denied, "{r:?}");
        if !looked_up {
            assert_eq!((&r.key, &r.provider), (&None, &None), "{r:?}");
        }
    }
}

async fn rest(gw: &TestGateway, token: &str, reference: &str) -> Vec<(u16, Value)> {
    let http = reqwest::Client::new();
    let path_ref = reference.replace('/', "%2F");
    let calls = [
        http.post(format!("{}/v1/encrypt", gw.base))
            .json(&json!({"key": reference, "plaintext": "aGk="})),
        http.post(format!("{}/v1/keys/{path_ref}/rotate", gw.base)),
        http.post(format!("{}/v1/keys/{path_ref}/disable", gw.base)),
    ];
    let mut out = Vec::new();
    for call in calls {
        let resp = call.bearer_auth(token).send().await.unwrap();
        let status = resp.status().as_u16();
        let mut body: Value = resp.json().await.unwrap();
        body["error"]["request_id"] = Value::Null;
        out.push((status, body));
    }
    out
}

#[tokio::test]
async fn rest_answers_a_forbidden_key_as_a_missing_one() {
    let gw = world().await;
    for (principal, role, looked_up) in [("mine", "app", true), ("watcher", "auditor", false)] {
        let token = gw.token(principal, role).await;
        let mut answers = Vec::new();
        for reference in REFERENCES {
            answers.push((reference, rest(&gw, &token, reference).await));
        }
        all_alike(&format!("rest/{role}"), &answers);
        let (status, body) = &answers[0].1[0];
        assert_eq!(*status, 404, "{body}");
        assert_eq!(body["error"]["kind"], "not_found");
        assert!(!body.to_string().contains("statement"), "{body}");
        all_denied(&outcome_rows(&gw, principal).await, looked_up);
    }
    gw.stop().await;
}

#[tokio::test]
async fn aws_answers_access_denied_alike_without_naming_the_policy() {
    let gw = world().await;
    let admin = crate::aws::client(&gw, "root", "admin").await;
    let theirs_id = admin
        .describe_key()
        .key_id(THEIRS_ALIAS)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let missing_id = "0f0e0d0c-1111-4222-8333-444455556666".to_owned();
    let ids = [
        theirs_id.as_str(),
        missing_id.as_str(),
        THEIRS_ALIAS,
        "alias/nope",
    ];
    for (principal, role, looked_up) in [("mine", "app", true), ("watcher", "auditor", false)] {
        let kms = crate::aws::client(&gw, principal, role).await;
        let mut answers = Vec::new();
        for id in ids {
            let enc = kms
                .encrypt()
                .key_id(id)
                .plaintext(Blob::new(b"hi".to_vec()))
                .send()
                .await
                .unwrap_err();
            let desc = kms.disable_key().key_id(id).send().await.unwrap_err();
            let answer = [
                (
                    enc.code().map(str::to_owned),
                    enc.message().map(str::to_owned),
                ),
                (
                    desc.code().map(str::to_owned),
                    desc.message().map(str::to_owned),
                ),
            ];
            answers.push((id, answer));
        }
        all_alike(&format!("aws/{role}"), &answers);
        let (code, message) = &answers[0].1[0];
        assert_eq!(code.as_deref(), Some("AccessDeniedException"));
        let message = message.clone().unwrap();
        assert!(message.contains("kms:Encrypt"), "{message}");
        assert!(
            !message.contains("statement") && !message.contains("role"),
            "{message}"
        );
        all_denied(&outcome_rows(&gw, principal).await, looked_up);
    }
    gw.stop().await;
}

#[tokio::test]
async fn gcp_answers_permission_denied_alike_for_any_ring_and_key() {
    let gw = world().await;
    let admin = crate::gcp::client(&gw, &gw.token("root", "admin").await).await;
    let loc = "projects/demo/locations/local";
    admin
        .create_key_ring()
        .set_parent(loc)
        .set_key_ring_id("r1")
        .send()
        .await
        .unwrap();
    // The key in the implicit ring, a missing key there, the key through a ring it is not
    // in, and a missing key in a missing ring.
    let names = [
        ("keygate", THEIRS),
        ("keygate", "nope"),
        ("r1", THEIRS),
        ("no-ring", "nope"),
    ];
    for (principal, role, looked_up) in [("mine", "app", true), ("watcher", "auditor", false)] {
        let kms = crate::gcp::client(&gw, &gw.token(principal, role).await).await;
        let mut answers = Vec::new();
        for (ring, key) in names {
            let name = format!("{loc}/keyRings/{ring}/cryptoKeys/{key}");
            let err = kms
                .encrypt()
                .set_name(&name)
                .set_plaintext(b"hi".to_vec())
                .send()
                .await
                .unwrap_err();
            let status = err.status().unwrap();
            let message = status.message.replace(&name, "<name>");
            answers.push((key, (crate::gcp::code(&err), message)));
        }
        all_alike(&format!("gcp/{role}"), &answers);
        let (code, message) = &answers[0].1;
        assert_eq!(*code, google_cloud_gax::error::rpc::Code::PermissionDenied);
        assert_eq!(
            message,
            "Permission 'cloudkms.cryptoKeyVersions.useToEncrypt' denied on resource '<name>' (or it may not exist)."
        );
        all_denied(&outcome_rows(&gw, principal).await, looked_up);
    }
    gw.stop().await;
}

#[tokio::test]
async fn azure_answers_forbidden_alike() {
    let gw = world().await;
    let ca = std::fs::read(&gw.azure_ca).unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .build()
        .unwrap();
    for (principal, role, looked_up) in [("mine", "app", true), ("watcher", "auditor", false)] {
        let token = gw.token(principal, role).await;
        let mut answers = Vec::new();
        for name in [THEIRS, "nope"] {
            let mut answer = Vec::new();
            for (method, path, body) in [
                (reqwest::Method::POST, format!("/keys/{name}/rotate"), None),
                (
                    reqwest::Method::POST,
                    format!("/keys/{name}/encrypt"),
                    Some(json!({"alg": "A256GCM", "value": "aGk"})),
                ),
            ] {
                let mut req = http
                    .request(method, format!("{}{path}?api-version=7.5", gw.azure_url))
                    .bearer_auth(&token);
                if let Some(b) = body {
                    req = req.json(&b);
                }
                let resp = req.send().await.unwrap();
                let status = resp.status().as_u16();
                let body: Value = resp.json().await.unwrap();
                answer.push((status, body));
            }
            answers.push((name, answer));
        }
        all_alike(&format!("azure/{role}"), &answers);
        let (status, body) = &answers[0].1[0];
        assert_eq!(*status, 403, "{body}");
        assert_eq!(body["error"]["code"], "Forbidden", "{body}");
        assert!(!body.to_string().contains(THEIRS), "{body}");
        all_denied(&outcome_rows(&gw, principal).await, looked_up);
    }
    gw.stop().await;
}

#[tokio::test]
async fn a_caller_with_no_key_rights_is_refused_before_any_lookup_every_time() {
    // Both classes (an existing key, a missing one), several calls each: every refusal is a
    // row that names no key and no provider, so no resolution (and no provider call) ran.
    let gw = world().await;
    let token = gw.token("watcher", "auditor").await;
    for _ in 0..5 {
        for reference in [THEIRS, "nope"] {
            rest(&gw, &token, reference).await;
        }
    }
    let rows = outcome_rows(&gw, "watcher").await;
    assert_eq!(rows.len(), 5 * 2 * 3);
    all_denied(&rows, false);
    gw.stop().await;
}

#[tokio::test]
async fn a_ciphertext_of_another_key_is_refused_and_audited_denied() {
    let gw = TestGateway::start().await;
    let admin = gw.service.local_admin();
    for name in ["key-a", "key-b"] {
        admin
            .create_key(None, CreateKeyRequest::new(name, KeySpec::Aes256))
            .await
            .unwrap();
    }
    // GCP: key-a's ciphertext through key-b's `:decrypt`.
    let kms = crate::gcp::client(&gw, &gw.token("gcp-user", "admin").await).await;
    let key = |k: &str| format!("projects/demo/locations/local/keyRings/keygate/cryptoKeys/{k}");
    let ct = kms
        .encrypt()
        .set_name(key("key-a"))
        .set_plaintext(b"hi".to_vec())
        .send()
        .await
        .unwrap()
        .ciphertext;
    let err = kms
        .decrypt()
        .set_name(key("key-b"))
        .set_ciphertext(ct)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        crate::gcp::code(&err),
        google_cloud_gax::error::rpc::Code::InvalidArgument
    );
    let last = outcome_rows(&gw, "gcp-user").await.pop().unwrap();
    assert_eq!(
        (last.action.as_str(), last.outcome, last.key.as_deref()),
        (
            "crypto:decrypt",
            AuditOutcome::Denied,
            Some("local://key-b")
        )
    );

    // AWS: Decrypt naming key-b for key-a's ciphertext.
    let c = crate::aws::client(&gw, "aws-user", "admin").await;
    let blob = c
        .encrypt()
        .key_id("key-a")
        .plaintext(Blob::new(b"hi".to_vec()))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    let err = c
        .decrypt()
        .key_id("key-b")
        .ciphertext_blob(blob)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("IncorrectKeyException"));
    let rows = outcome_rows(&gw, "aws-user").await;
    assert!(
        rows.iter().any(|r| r.action == "crypto:decrypt"
            && r.outcome == AuditOutcome::Denied
            && r.key.as_deref() == Some("local://key-b")),
        "{rows:?}"
    );
    gw.stop().await;
}
