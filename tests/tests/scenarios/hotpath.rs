//! The hot path over the REST API: once a token and a key reference have been used, a
//! repeated authenticated encrypt reads nothing from the gateway store; what it writes is its
//! audit rows (an intent before acting, an outcome after), appended by the audit writer.
//! Read from `/metrics`, as an operator would.

use keygate_core::api::Gateway as _;
use keygate_core::{CreateKeyRequest, KeySpec};
use serde_json::json;

use crate::support::{TestGateway, kl};

/// The value of the metric line starting with `series` (0 when absent).
fn metric(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0)
}

async fn metrics(gw: &TestGateway) -> String {
    reqwest::get(format!("{}/metrics", gw.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Every `keygate_store_calls_total` series and its value, but the change-generation polls
/// (`store:freshness`, made on a timer whatever the traffic).
fn store_calls(text: &str) -> std::collections::BTreeMap<String, u64> {
    text.lines()
        .filter(|line| line.starts_with("keygate_store_calls_total{"))
        .filter(|line| !line.contains("action=\"store:freshness\""))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

const AUDIT_WRITES: &str =
    "keygate_store_calls_total{source=\"gateway\",action=\"audit:append\",access=\"write\"}";

#[tokio::test]
async fn a_repeated_rest_encrypt_reads_nothing_from_the_store() {
    let gw = TestGateway::start().await;
    let admin = gw.service.local_admin();
    admin
        .create_key(None, CreateKeyRequest::new("hot", KeySpec::Aes256))
        .await
        .unwrap();
    admin.create_alias("hot", &kl("hot")).await.unwrap();
    let token = gw.token("app-1", "admin").await;
    let http = reqwest::Client::new();
    let encrypt = async || {
        let resp = http
            .post(format!("{}/v1/encrypt", gw.base))
            .bearer_auth(&token)
            .json(&json!({"key": "alias/hot", "plaintext": "aGk="}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    };
    // The first call reads the token and the alias.
    encrypt().await;
    let before = metrics(&gw).await;
    const CALLS: u64 = 10;
    for _ in 0..CALLS {
        encrypt().await;
    }
    let after = metrics(&gw).await;
    // No store call moved but the audit writer's appends: no read of the token, the alias,
    // the policy or anything else, and no other write.
    let (mut moved, then) = (store_calls(&after), store_calls(&before));
    moved.retain(|series, value| then.get(series).copied().unwrap_or(0) != *value);
    assert_eq!(moved.keys().collect::<Vec<_>>(), [AUDIT_WRITES], "{after}");
    // What these calls wrote: an intent and an outcome row each. One after the other, each
    // row is its own commit (the intent is durable before the call acts, the outcome
    // before it answers), so exactly two audit appends per call and nothing else.
    let rows = metric(&after, "keygate_audit_rows_written_total")
        - metric(&before, "keygate_audit_rows_written_total");
    assert_eq!(rows, 2 * CALLS, "{after}");
    let appends = metric(&after, AUDIT_WRITES) - metric(&before, AUDIT_WRITES);
    assert_eq!(appends, 2 * CALLS, "{after}");
    assert!(
        after.contains("keygate_audit_batch_rows_bucket{le=\"1\"}"),
        "{after}"
    );
    gw.stop().await;
}
