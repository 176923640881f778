//! Error shapes: every failure is the typed JSON body with the right status.

use keygate_core::Error;
use keygate_core::api::Gateway as _;
use keygate_http::rest::error::DECRYPT_FAILED;
use reqwest::Client;
use serde_json::json;

use crate::support::{TestGateway, config, send};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_errors_for_missing_keys_bad_bodies_and_bad_ciphertexts() {
    let home = tempfile::tempdir().unwrap();
    let gw =
        TestGateway::start_with(home.path(), config(|c| c.server.body_limit_bytes = 4096)).await;
    let http = Client::new();
    let admin = gw.token("root", "admin").await;
    crate::app_key(&gw, "k1", "root").await;

    // 404 for an unknown key, with the request id generated for us.
    let missing = send(http.get(gw.url("/v1/keys/nope")).bearer_auth(&admin)).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.kind(), "not_found");
    let rid = missing.json["error"]["request_id"].as_str().unwrap();
    assert_eq!(missing.headers["x-request-id"].to_str().unwrap(), rid);

    // Malformed JSON, a wrong shape, no content type: typed 400/415, never plain text.
    let syntax = send(
        http.post(gw.url("/v1/encrypt"))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(syntax.status, 400, "{}", syntax.text);
    assert_eq!(syntax.kind(), "invalid_argument");
    let shape = send(
        http.post(gw.url("/v1/encrypt"))
            .bearer_auth(&admin)
            .json(&json!({"key": 5})),
    )
    .await;
    assert_eq!(shape.status, 400, "{}", shape.text);
    assert_eq!(shape.kind(), "invalid_argument");
    let echoed = send(
        http.post(gw.url("/v1/encrypt"))
            .bearer_auth(&admin)
            .json(&json!({"key": "k1", "plaintext": "aGk=", "context": "SECRET-IN-WRONG-PLACE"})),
    )
    .await;
    assert_eq!(echoed.status, 400, "{}", echoed.text);
    assert!(echoed.message().contains("context"), "{}", echoed.message());
    assert!(
        !echoed.text.contains("SECRET-IN-WRONG-PLACE"),
        "{}",
        echoed.text
    );
    let no_type = send(
        http.post(gw.url("/v1/encrypt"))
            .bearer_auth(&admin)
            .body("{}"),
    )
    .await;
    assert_eq!(no_type.status, 415, "{}", no_type.text);
    assert_eq!(no_type.kind(), "invalid_argument");
    let not_b64 = send(
        http.post(gw.url("/v1/encrypt"))
            .bearer_auth(&admin)
            .json(&json!({"key": "k1", "plaintext": "!!!"})),
    )
    .await;
    assert_eq!(not_b64.status, 400);
    assert!(not_b64.message().contains("plaintext"));

    // A body over the limit: 413, typed.
    let big = "A".repeat(8192);
    let too_large = send(
        http.post(gw.url("/v1/encrypt"))
            .bearer_auth(&admin)
            .json(&json!({"key": "k1", "plaintext": big})),
    )
    .await;
    assert_eq!(too_large.status, 413, "{}", too_large.text);
    assert_eq!(too_large.kind(), "invalid_argument");

    // Garbage, a forged envelope prefix, a tampered envelope: one fixed message.
    let sealed = send(
        http.post(gw.url("/v1/encrypt"))
            .bearer_auth(&admin)
            .json(&json!({"key": "k1", "plaintext": "c2VjcmV0"})),
    )
    .await;
    let ct = sealed.json["ciphertext"].as_str().unwrap().to_owned();
    let mut tampered = keygate_core::wire::unb64("c", &ct).unwrap();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    for (ciphertext, key) in [
        ("Z2FyYmFnZQ==".to_owned(), None),
        ("S0dFAQAAAA==".to_owned(), None),
        (keygate_core::wire::b64(&tampered), None),
        ("Z2FyYmFnZQ==".to_owned(), Some("k1")),
        ("not base64 at all".to_owned(), None),
        ("Z2FyYmFnZQ==".to_owned(), Some("nope")),
    ] {
        let mut body = json!({"ciphertext": ciphertext});
        if let Some(k) = key {
            body["key"] = json!(k);
        }
        let answer = send(
            http.post(gw.url("/v1/decrypt"))
                .bearer_auth(&admin)
                .json(&body),
        )
        .await;
        assert_eq!(answer.status, 400, "{ciphertext}: {}", answer.text);
        assert_eq!(answer.kind(), "integrity_failure");
        assert_eq!(answer.message(), DECRYPT_FAILED);
    }
    // Decrypting with the wrong context is the same answer; the right one works.
    let wrong_ctx = send(
        http.post(gw.url("/v1/decrypt"))
            .bearer_auth(&admin)
            .json(&json!({"ciphertext": ct, "context": {"tenant": "other"}})),
    )
    .await;
    assert_eq!(wrong_ctx.message(), DECRYPT_FAILED);
    let right = send(
        http.post(gw.url("/v1/decrypt"))
            .bearer_auth(&admin)
            .json(&json!({"ciphertext": ct})),
    )
    .await;
    assert_eq!(right.json["plaintext"], "c2VjcmV0", "{}", right.text);

    // Through the client the same failures are typed errors.
    let client = gw.client(&admin);
    let err = client
        .decrypt(b"garbage", &Default::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::IntegrityFailure), "{err:?}");
    let err = client
        .describe_key(&crate::support::kl("nope"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_answers_429_with_retry_after_and_is_audited() {
    let home = tempfile::tempdir().unwrap();
    let gw = TestGateway::start_with(
        home.path(),
        config(|c| {
            c.server.rate_limit.per_second = 1;
            c.server.rate_limit.burst = 2;
        }),
    )
    .await;
    let http = Client::new();
    let token = gw.token("busy", "admin").await;
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..4 {
        let a = send(http.get(gw.url("/v1/noop")).bearer_auth(&token)).await;
        statuses.push(a.status);
        if a.status == 429 {
            limited = Some(a);
        }
    }
    assert_eq!(&statuses[..2], &[200, 200], "{statuses:?}");
    let limited = limited.expect("the third request in a second is limited");
    assert_eq!(limited.kind(), "throttled");
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");

    // Through the client: Throttled with the server's Retry-After.
    let err = gw.client(&token).whoami().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Throttled {
                retry_after: Some(_)
            }
        ),
        "{err:?}"
    );

    // Another principal is not affected.
    let other = gw.token("calm", "admin").await;
    assert_eq!(
        send(http.get(gw.url("/v1/noop")).bearer_auth(&other))
            .await
            .status,
        200
    );
    let metrics = send(http.get(gw.url("/metrics"))).await;
    assert!(!metrics.text.contains("keygate_rate_limited_total 0\n"));

    // The refusals are audited with the principal.
    let rows = gw
        .service
        .local_admin()
        .query_audit(&Default::default())
        .await
        .unwrap()
        .items;
    assert!(
        rows.iter()
            .any(|r| r.principal == "busy" && r.error_kind.as_deref() == Some("throttled")),
        "{rows:#?}"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_bad_tokens_is_limited_per_address_and_audited_only_up_to_the_limit() {
    let home = tempfile::tempdir().unwrap();
    let gw = TestGateway::start_with(
        home.path(),
        config(|c| {
            c.server.rate_limit.per_second = 1;
            c.server.rate_limit.burst = 2;
        }),
    )
    .await;
    let http = Client::new();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let a = send(
            http.get(gw.url("/v1/whoami"))
                .bearer_auth("kgt_000000000000.not-a-secret"),
        )
        .await;
        statuses.push(a.status);
    }
    assert_eq!(&statuses[..2], &[401, 401], "{statuses:?}");
    assert!(statuses[2..].contains(&429), "{statuses:?}");
    let rows = gw
        .service
        .local_admin()
        .query_audit(&Default::default())
        .await
        .unwrap()
        .items;
    let unauthenticated = rows
        .iter()
        .filter(|r| r.error_kind.as_deref() == Some("unauthenticated"))
        .count();
    assert!(unauthenticated <= 3, "{rows:#?}");
    assert!(unauthenticated >= 2, "{rows:#?}");
    // A valid token from the same address is not held back by the flood.
    let token = gw.token("calm", "admin").await;
    assert_eq!(
        send(http.get(gw.url("/v1/noop")).bearer_auth(&token))
            .await
            .status,
        200
    );
    gw.stop().await;
}
