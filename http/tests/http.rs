//! The REST API over real sockets: a gateway on 127.0.0.1:0 over a temporary home with the
//! embedded local provider, called raw (reqwest) and through [`HttpGateway`].
#![allow(clippy::unwrap_used)]

#[path = "http/support.rs"]
mod support;

#[path = "http/edges.rs"]
mod edges;

#[path = "http/errors.rs"]
mod errors;

#[path = "http/hygiene.rs"]
mod hygiene;

#[path = "http/roundtrip.rs"]
mod roundtrip;

#[path = "http/secrets.rs"]
mod secrets;

#[path = "http/status.rs"]
mod status;

use keygate_core::api::Gateway as _;
use keygate_core::{CreateKeyRequest, KeySpec};
use keygate_http::rest::openapi;
use reqwest::Client;
use serde_json::json;
use support::{TestGateway, send};

/// An AES key named `name` labelled `app = <app>`, created by the local admin.
async fn app_key(gw: &TestGateway, name: &str, app: &str) {
    let mut req = CreateKeyRequest::new(name, KeySpec::Aes256);
    req.labels.insert("app".into(), app.into());
    gw.service
        .local_admin()
        .create_key(None, req)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_roles_and_denials_are_enforced_and_audited() {
    let home = tempfile::tempdir().unwrap();
    let gw = TestGateway::start(home.path()).await;
    let http = Client::new();
    app_key(&gw, "billing-key", "billing").await;
    app_key(&gw, "other-key", "payroll").await;
    let app = gw.token("billing", "app").await;
    let auditor = gw.token("eve", "auditor").await;
    let admin = gw.token("root", "admin").await;
    let body = json!({"key": "billing-key", "plaintext": "aGVsbG8="});

    // No token, a wrong token: 401 with WWW-Authenticate and the fixed message.
    let none = send(http.post(gw.url("/v1/encrypt")).json(&body)).await;
    assert_eq!(none.status, 401, "{}", none.text);
    assert_eq!(none.kind(), "unauthenticated");
    assert_eq!(none.headers["www-authenticate"], "Bearer");
    let bad = send(
        http.post(gw.url("/v1/encrypt"))
            .bearer_auth("kgt_nope.nope")
            .header("x-request-id", "req-bad-token")
            .json(&body),
    )
    .await;
    assert_eq!(bad.status, 401);
    assert_eq!(bad.message(), none.message());
    assert_eq!(bad.json["error"]["request_id"], "req-bad-token");
    assert_eq!(bad.headers["x-request-id"], "req-bad-token");

    // The app token may use its own key, not another app's.
    let ok = send(
        http.post(gw.url("/v1/encrypt"))
            .bearer_auth(&app)
            .json(&body),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(ok.json["ciphertext"].as_str().unwrap().len() > 10);
    let other = json!({"key": "other-key", "plaintext": "aGVsbG8="});
    let denied = send(
        http.post(gw.url("/v1/encrypt"))
            .bearer_auth(&app)
            .header("x-request-id", "req-app-denied")
            .json(&other),
    )
    .await;
    // Another app's key reads exactly as a missing one (the audit row still says denied).
    assert_eq!(denied.status, 404, "{}", denied.text);
    assert_eq!(denied.kind(), "not_found");
    assert!(
        !denied.message().contains("payroll"),
        "{}",
        denied.message()
    );
    let missing = send(
        http.post(gw.url("/v1/encrypt"))
            .bearer_auth(&app)
            .json(&json!({"key": "no-such-key", "plaintext": "aGVsbG8="})),
    )
    .await;
    assert_eq!(
        (missing.status, missing.kind(), missing.message()),
        (denied.status, denied.kind(), denied.message())
    );

    // The auditor reads but cannot create or rotate.
    let listed = send(http.get(gw.url("/v1/keys")).bearer_auth(&auditor)).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let create = send(
        http.post(gw.url("/v1/keys"))
            .bearer_auth(&auditor)
            .json(&json!({"name": "evil", "spec": "AES_256"})),
    )
    .await;
    assert_eq!(create.status, 403, "{}", create.text);
    let rotate = send(
        http.post(gw.url("/v1/keys/billing-key/rotate"))
            .bearer_auth(&auditor),
    )
    .await;
    // A key route: refused as a missing key would be.
    assert_eq!(rotate.status, 404, "{}", rotate.text);

    // Every refusal left an audit row: the denials with their principals, the 401s too.
    let audit = gw.client(&admin);
    let rows = audit
        .query_audit(&keygate_core::audit::AuditQuery {
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    let has = |principal: &str, action: &str, outcome: &str| {
        rows.iter().any(|r| {
            r.principal == principal && r.action == action && r.outcome.as_str() == outcome
        })
    };
    assert!(has("eve", "keys:create", "denied"), "{rows:#?}");
    assert!(has("eve", "keys:rotate", "denied"), "{rows:#?}");
    assert!(has("billing", "crypto:encrypt", "denied"));
    assert!(has("billing", "crypto:encrypt", "success"));
    assert!(
        rows.iter()
            .any(|r| r.request_id == "req-app-denied" && r.outcome.as_str() == "denied")
    );
    let unauthenticated: Vec<_> = rows
        .iter()
        .filter(|r| r.error_kind.as_deref() == Some("unauthenticated"))
        .collect();
    assert!(unauthenticated.len() >= 2, "{rows:#?}");
    // Refused before a session, the row still names what was attempted.
    assert!(
        unauthenticated
            .iter()
            .any(|r| r.request_id == "req-bad-token" && r.action == "crypto:encrypt"),
        "{unauthenticated:#?}"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_is_served_and_every_operation_reaches_a_handler() {
    let home = tempfile::tempdir().unwrap();
    let gw = TestGateway::start(home.path()).await;
    let http = Client::new();
    let served = send(http.get(gw.url("/v1/openapi.json"))).await;
    assert_eq!(served.status, 200);
    assert_eq!(served.json, openapi::document());
    let routes = openapi::documented_routes(&served.json);
    assert_eq!(routes.len(), openapi::OPERATIONS.len());
    for (method, path) in routes {
        let concrete = path
            .replace("{key}", "some-key")
            .replace("{name}", "some-alias")
            .replace("{id}", "some-id");
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let answer = send(http.request(method.clone(), gw.url(&concrete))).await;
        // Unauthenticated: public routes answer, the others stop at the token check. A
        // route miss would be 404 "no such endpoint" or 405.
        assert_ne!(answer.status, 405, "{method} {path}");
        assert!(
            !(answer.status == 404 && answer.message() == "no such endpoint"),
            "{method} {path} is not routed"
        );
        assert!(
            [200, 401].contains(&answer.status),
            "{method} {path}: {}",
            answer.text
        );
    }
    let miss = send(http.get(gw.url("/v1/nothing-here"))).await;
    assert_eq!(miss.status, 404);
    assert_eq!(miss.kind(), "not_found");
    assert!(miss.json["error"]["request_id"].is_string());
    let wrong_method = send(http.delete(gw.url("/v1/health"))).await;
    assert_eq!(wrong_method.status, 405);
    assert!(wrong_method.json["error"]["kind"].is_string());
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_ready_and_metrics_by_route_template() {
    let home = tempfile::tempdir().unwrap();
    let gw = TestGateway::start(home.path()).await;
    let http = Client::new();
    assert_eq!(
        send(http.get(gw.url("/v1/health"))).await.json,
        json!({"status": "ok"})
    );
    assert_eq!(
        send(http.get(gw.url("/v1/ready"))).await.json,
        json!({"status": "ready"})
    );
    let admin = gw.token("root", "admin").await;
    let noop = send(http.get(gw.url("/v1/noop")).bearer_auth(&admin)).await;
    assert_eq!(noop.json, json!({"ok": true}));
    let missing = send(
        http.get(gw.url("/v1/keys/secret-project-name"))
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(missing.status, 404);
    let metrics = send(http.get(gw.url("/metrics"))).await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.text.contains(
            "keygate_http_requests_total{route=\"/v1/keys/{key}\",method=\"GET\",status=\"404\"} 1"
        ),
        "{}",
        metrics.text
    );
    assert!(
        metrics
            .text
            .contains("keygate_http_request_duration_seconds_bucket{route=\"/v1/noop\"")
    );
    // The scheduler is off in this gateway: it does not lead.
    assert!(
        metrics
            .text
            .lines()
            .any(|l| l.starts_with("keygate_scheduler_leader{replica=\"") && l.ends_with("} 0")),
        "{}",
        metrics.text
    );
    assert!(metrics.text.contains("keygate_audit_rows_written_total "));
    assert!(!metrics.text.contains("secret-project-name"));
    assert!(!metrics.text.contains("root"));
    gw.stop().await;
}
