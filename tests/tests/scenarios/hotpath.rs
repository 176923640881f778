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

const ENCRYPT_READS: &str =
    "keygate_store_calls_total{source=\"rest\",action=\"crypto:encrypt\",access=\"read\"}";
const ENCRYPT_WRITES: &str =
    "keygate_store_calls_total{source=\"rest\",action=\"crypto:encrypt\",access=\"write\"}";
const AUTH_READS: &str =
    "keygate_store_calls_total{source=\"gateway\",action=\"auth:token\",access=\"read\"}";
const AUTH_WRITES: &str =
    "keygate_store_calls_total{source=\"gateway\",action=\"auth:token\",access=\"write\"}";
const AUDIT_WRITES: &str =
    "keygate_store_calls_total{source=\"gateway\",action=\"audit:append\",access=\"write\"}";
const OTHER_READS: &str =
    "keygate_store_calls_total{source=\"gateway\",action=\"other\",access=\"read\"}";

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
    for series in [
        ENCRYPT_READS,
        ENCRYPT_WRITES,
        AUTH_READS,
        AUTH_WRITES,
        OTHER_READS,
    ] {
        assert_eq!(
            metric(&after, series),
            metric(&before, series),
            "{series}\n{after}"
        );
    }
    // The rows of these calls: an intent and an outcome each, in at most one commit each.
    let rows = metric(&after, "keygate_audit_rows_written_total")
        - metric(&before, "keygate_audit_rows_written_total");
    assert_eq!(rows, 2 * CALLS, "{after}");
    let appends = metric(&after, AUDIT_WRITES) - metric(&before, AUDIT_WRITES);
    assert!((1..=2 * CALLS).contains(&appends), "{appends}\n{after}");
    assert!(
        after.contains("keygate_audit_batch_rows_bucket{le=\"1\"}"),
        "{after}"
    );
    gw.stop().await;
}
