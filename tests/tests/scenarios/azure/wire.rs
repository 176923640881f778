//! The wire around the SDK: the challenge, bad input in Azure's error shape, audit rows per
//! call, challenge-resource verification and the anonymous development switch.

use super::*;
use crate::support::config;

/// A raw HTTPS request to the vault.
async fn raw(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Vec<u8>>,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let mut req = http.request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap_or(serde_json::Value::Null);
    (status, headers, body)
}

#[tokio::test]
async fn challenge_and_bad_input_get_azure_errors_never_5xx() {
    let gw = TestGateway::start().await;
    let http = https(&gw).build().unwrap();
    let token = gw.token("azure-raw", "admin").await;
    let url = |p: &str| format!("{}{p}", gw.azure_url);
    let t = Some(token.as_str());
    use reqwest::Method;

    // No token: 401 with the challenge, in Azure's shape.
    let (s, h, b) = raw(&http, Method::GET, url("/keys?api-version=7.5"), None, None).await;
    assert_eq!(s, 401);
    assert_eq!(
        h["www-authenticate"],
        r#"Bearer authorization="https://login.microsoftonline.com/common", resource="https://vault.azure.net""#
    );
    assert_eq!(b["error"]["code"], "Unauthorized");
    let (s, h, _) = raw(
        &http,
        Method::GET,
        url("/keys?api-version=7.5"),
        Some("kgt_bad.bad"),
        None,
    )
    .await;
    assert_eq!(s, 401);
    assert!(h.contains_key("www-authenticate"));

    let create = url("/keys/raw-key/create?api-version=2025-07-01");
    // method, URL, body, expected status, expected Azure error code
    type Case = (Method, String, Option<Vec<u8>>, u16, &'static str);
    let cases: Vec<Case> = vec![
        (
            Method::POST,
            create.clone(),
            Some(b"{not json".to_vec()),
            400,
            "BadParameter",
        ),
        (
            Method::POST,
            create.clone(),
            Some(br#"{"kty": 5}"#.to_vec()),
            400,
            "BadParameter",
        ),
        (
            Method::POST,
            create.clone(),
            Some(br#"{"kty": "DSA"}"#.to_vec()),
            400,
            "BadParameter",
        ),
        (Method::POST, create.clone(), None, 400, "BadParameter"),
        (
            Method::POST,
            create.clone(),
            Some(vec![b' '; 2 * 1024 * 1024]),
            413,
            "RequestEntityTooLarge",
        ),
        (
            Method::POST,
            url("/keys/raw-key/create"),
            Some(br#"{"kty": "RSA"}"#.to_vec()),
            400,
            "BadParameter",
        ),
        (
            Method::POST,
            url("/keys/raw-key/create?api-version=2016-10-01"),
            Some(br#"{"kty": "RSA"}"#.to_vec()),
            400,
            "BadParameter",
        ),
        (
            Method::POST,
            url("/keys/raw-key/1/frobnicate?api-version=7.5"),
            Some(b"{}".to_vec()),
            404,
            "NotFound",
        ),
        (
            Method::DELETE,
            url("/keys?api-version=7.5"),
            None,
            405,
            "MethodNotAllowed",
        ),
        (
            Method::GET,
            url("/keys/missing?api-version=7.5"),
            None,
            404,
            "KeyNotFound",
        ),
        (
            Method::GET,
            url("/keys/bad_name?api-version=7.5"),
            None,
            400,
            "BadParameter",
        ),
        (
            Method::GET,
            url("/keys?api-version=7.5&maxresults=26"),
            None,
            400,
            "BadParameter",
        ),
        (
            Method::POST,
            url("/keys/missing//encrypt?api-version=7.5"),
            Some(br#"{"alg": "RSA-OAEP-256", "value": "!!"}"#.to_vec()),
            400,
            "BadParameter",
        ),
        (
            Method::POST,
            url("/keys/missing/backup?api-version=7.5"),
            None,
            400,
            "BadParameter",
        ),
    ];
    for (method, u, body, want, code) in cases {
        let (s, _, b) = raw(&http, method.clone(), u.clone(), t, body).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (want, Some(code)),
            "{method} {u}: {b}"
        );
        assert!(b["error"]["message"].is_string());
    }
    // Wrong types in a crypto body, on a real key.
    let (s, _, _) = raw(
        &http,
        Method::POST,
        create.clone(),
        t,
        Some(br#"{"kty": "oct"}"#.to_vec()),
    )
    .await;
    assert_eq!(s, 200);
    // The name is taken: 409 (Azure would add a version; keygate rotates instead).
    let (s, _, b) = raw(
        &http,
        Method::POST,
        create,
        t,
        Some(br#"{"kty": "oct"}"#.to_vec()),
    )
    .await;
    assert_eq!((s, b["error"]["code"].as_str()), (409, Some("Conflict")));
    let (s, _, b) = raw(
        &http,
        Method::POST,
        url("/keys/raw-key//encrypt?api-version=7.5"),
        t,
        Some(br#"{"alg": "A256GCM", "value": 12}"#.to_vec()),
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("BadParameter"))
    );
    gw.stop().await;
}

#[tokio::test]
async fn every_sdk_call_after_the_challenge_writes_its_documented_audit_rows() {
    let gw = TestGateway::start().await;
    let kc = client(&gw, "azure-audited", "admin").await;
    let rows = || async {
        gw.service
            .audit()
            .query(&AuditQuery {
                limit: Some(1000),
                ..Default::default()
            })
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.source == "azure")
            // One outcome row per call; calls that act also wrote an intent row before.
            .filter(|e| e.outcome != keygate_core::audit::AuditOutcome::Unknown)
            .collect::<Vec<_>>()
    };
    // The first call: the challenge (one denied row), then create (one row: oct keys have no
    // public part to read).
    create(&kc, "audited", create_params(KeyType::Oct, &[])).await;
    let before = rows().await;
    assert_eq!(before.len(), 2, "{before:?}");
    assert_eq!(before[0].outcome.as_str(), "denied");
    assert_eq!(before[0].principal, "anonymous");

    let sealed = kc
        .encrypt(
            "audited",
            op(EncryptionAlgorithm::A256Gcm, b"x", None)
                .try_into()
                .unwrap(),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    kc.decrypt(
        "audited",
        "",
        KeyOperationParameters {
            iv: sealed.iv,
            authentication_tag: sealed.authentication_tag,
            ..op(EncryptionAlgorithm::A256Gcm, &sealed.result.unwrap(), None)
        }
        .try_into()
        .unwrap(),
        None,
    )
    .await
    .unwrap();
    kc.get_key("audited", None).await.unwrap();
    let _: Vec<_> = kc
        .list_key_properties(None)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    kc.get_key_rotation_policy("audited", None).await.unwrap();
    let after = rows().await;
    let new: Vec<_> = after[before.len()..]
        .iter()
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        new,
        [
            "crypto:encrypt",
            "crypto:decrypt",
            "keys:describe",
            "keys:list",
            "keys:describe"
        ]
    );
    assert!(after.iter().skip(1).all(|e| e.principal == "azure-audited"));
    gw.stop().await;
}

#[tokio::test]
async fn challenge_resource_verification_passes_for_a_vault_azure_net_host() {
    let gw = TestGateway::start_with(config(|c| {
        c.dialects.azure.tls_names = vec!["keygate.vault.azure.net".into()];
    }))
    .await;
    let addr: std::net::SocketAddr = gw.azure_url.trim_start_matches("https://").parse().unwrap();
    let http = https(&gw)
        .resolve("keygate.vault.azure.net", addr)
        .build()
        .unwrap();
    let token = gw.token("azure-verified", "admin").await;
    let kc = KeyClient::new(
        &format!("https://keygate.vault.azure.net:{}", addr.port()),
        Arc::new(StaticToken::new(token)),
        Some(options(http, true)),
    )
    .unwrap();
    let key = create(&kc, "verified", create_params(KeyType::Oct, &[])).await;
    assert!(
        key.key
            .unwrap()
            .kid
            .unwrap()
            .starts_with("https://keygate.vault.azure.net:")
    );
    gw.stop().await;
}

#[tokio::test]
async fn anonymous_switch_admits_tokenless_callers_but_keeps_the_sdk_challenge() {
    let gw = TestGateway::start_with(config(|c| {
        c.dialects.insecure_anonymous = Some(keygate_server::config::AnonymousIdentity {
            principal: "dev".into(),
            role: "admin".into(),
        });
    }))
    .await;
    let http = https(&gw).build().unwrap();
    let url = |p: &str| format!("{}{p}", gw.azure_url);
    // A body-less create is the SDK's discovery request: still challenged.
    let (s, _, _) = raw(
        &http,
        reqwest::Method::POST,
        url("/keys/anon/create?api-version=7.5"),
        None,
        None,
    )
    .await;
    assert_eq!(s, 401);
    let (s, _, _) = raw(
        &http,
        reqwest::Method::POST,
        url("/keys/anon/create?api-version=7.5"),
        None,
        Some(br#"{"kty": "oct"}"#.to_vec()),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _, b) = raw(
        &http,
        reqwest::Method::GET,
        url("/keys?api-version=7.5"),
        None,
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(b["value"].as_array().unwrap().len(), 1);
    gw.stop().await;
}
