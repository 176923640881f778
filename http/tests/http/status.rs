//! `GET /v1/status`: who may read it, and what a served gateway reports about itself.

use keygate_core::ErrorKind;
use keygate_core::api::{Gateway as _, GatewayStatus};
use keygate_core::audit::{AuditOutcome, AuditQuery};
use reqwest::Client;

use super::support::{TestGateway, send};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_needs_a_token_with_status_read_and_names_the_listeners() {
    let home = tempfile::tempdir().unwrap();
    let gw = TestGateway::start(home.path()).await;
    let http = Client::new();

    let none = send(http.get(gw.url("/v1/status"))).await;
    assert_eq!(none.status, 401, "{}", none.text);
    assert_eq!(none.kind(), "unauthenticated");

    let app = gw.token("billing", "app").await;
    let refused = send(http.get(gw.url("/v1/status")).bearer_auth(&app)).await;
    assert_eq!(refused.status, 403, "{}", refused.text);

    let auditor = gw.token("eve", "auditor").await;
    let ok = send(http.get(gw.url("/v1/status")).bearer_auth(&auditor)).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let status: GatewayStatus = serde_json::from_value(ok.json.clone()).unwrap();
    assert_eq!(status.listeners.len(), 1, "{:?}", status.listeners);
    assert_eq!(status.listeners[0].name, "rest");
    assert_eq!(status.listeners[0].url, gw.base);
    let local = &status.providers[0];
    assert!(local.name == "local" && local.reachable, "{local:?}");
    assert!(status.store.readable && status.store.writable);
    assert!(status.audit.writer_running);
    assert!(
        status.audit.size_bytes.unwrap() > 0,
        "the home's store is a file"
    );
    assert!(ok.json["checked_at"].is_string());

    // Through the client: the same answer, and the same refusal.
    let remote = gw.client(&auditor).status().await.unwrap();
    assert_eq!(remote.listeners, status.listeners);
    assert_eq!(
        gw.client(&app).status().await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );

    // The refusals are audited (the missing token as `anonymous`), the successful reads
    // are not.
    let rows = gw
        .service
        .local_admin()
        .query_audit(&AuditQuery {
            action: Some("status:read".into()),
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .items;
    let who: Vec<(&str, AuditOutcome)> = rows
        .iter()
        .map(|r| (r.principal.as_str(), r.outcome))
        .collect();
    assert_eq!(
        who,
        [
            ("anonymous", AuditOutcome::Denied),
            ("billing", AuditOutcome::Denied),
            ("billing", AuditOutcome::Denied),
        ]
    );
    gw.stop().await;
}
