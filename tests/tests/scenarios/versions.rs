//! Key versions through keygate's REST API, as `keygate --gateway` reaches it: the HTTP
//! client's version operations, the `/v1/keys/{key}/versions/{version}/…` routes with raw
//! bodies, the audit rows they leave and the access policy in front of them.

use keygate_client::HttpGateway;
use keygate_core::api::Gateway as _;
use keygate_core::audit::AuditQuery;
use keygate_core::wire::b64;
use keygate_core::{
    CreateKeyRequest, DataKeySpec, EncryptionContext, ErrorKind, KeySpec, SignInput, VersionState,
};
use serde_json::{Value, json};

use crate::support::{TestGateway, kl};

/// `POST {base}{path}` with a bearer token and a JSON body: the status and the JSON answer.
async fn post(base: &str, token: &str, path: &str, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn one_version_is_disabled_destroyed_restored_and_made_primary_over_rest() {
    let gw = TestGateway::start().await;
    let token = gw.token("ops", "admin").await;
    let rest = HttpGateway::new(&gw.base, &token, None).unwrap();
    let key = rest
        .create_key(None, CreateKeyRequest::new("ver-aes", KeySpec::Aes256))
        .await
        .unwrap();
    let k = kl(&key.uri);
    let ctx = EncryptionContext::new();
    let sealed = rest
        .generate_data_key(&k, DataKeySpec::Aes256, &ctx)
        .await
        .unwrap()
        .value;
    assert_eq!(sealed.key_version, "1");
    assert_eq!(rest.rotate_key(&k).await.unwrap().value.id, "2");

    // Disabled: the data key sealed by version 1 is refused, typed, naming the version.
    let off = rest.disable_version(&k, "1").await.unwrap();
    assert_eq!(off.uri, key.uri);
    assert_eq!(off.value.state, VersionState::Disabled);
    let refused = rest
        .decrypt_native(&k, None, &sealed.ciphertext, &ctx)
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::InvalidState, "{refused}");
    assert!(refused.to_string().contains("version 1"), "{refused}");
    assert!(refused.to_string().contains("disabled"), "{refused}");
    rest.enable_version(&k, "1").await.unwrap();
    let opened = rest
        .decrypt_native(&k, Some("1"), &sealed.ciphertext, &ctx)
        .await
        .unwrap();
    assert_eq!(opened.plaintext, sealed.plaintext);
    assert_eq!(opened.key_version.as_deref(), Some("1"));
    // Naming another version than the ciphertext's is refused.
    assert!(
        rest.decrypt_native(&k, Some("2"), &sealed.ciphertext, &ctx)
            .await
            .is_err()
    );

    // Destroyed: out of service at once, with its date; restore leaves it disabled.
    let doomed = rest.destroy_version(&k, "1").await.unwrap().value;
    assert_eq!(doomed.state, VersionState::DestroyScheduled);
    assert!(doomed.destroy_time.is_some());
    let err = rest
        .decrypt_native(&k, None, &sealed.ciphertext, &ctx)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState, "{err}");
    assert!(err.to_string().contains("destroy_scheduled"), "{err}");
    let listed = rest.list_versions(&k).await.unwrap().value;
    assert_eq!(listed[0].state, VersionState::DestroyScheduled);
    assert_eq!(listed[0].destroy_time, doomed.destroy_time);
    let restored = rest.restore_version(&k, "1").await.unwrap().value;
    assert_eq!(restored.state, VersionState::Disabled);
    assert_eq!(restored.destroy_time, None);

    // The primary moves back only to an enabled version.
    let err = rest.set_primary_version(&k, "1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState, "{err}");
    rest.enable_version(&k, "1").await.unwrap();
    let meta = rest.set_primary_version(&k, "1").await.unwrap();
    assert_eq!(meta.primary_version.as_deref(), Some("1"));
    let again = rest
        .generate_data_key(&k, DataKeySpec::Aes256, &ctx)
        .await
        .unwrap();
    assert_eq!(again.value.key_version, "1");
    assert_eq!(
        rest.disable_version(&k, "9").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );

    // Each change is audited as its key-level action, intent then outcome, naming the version.
    let page = rest
        .query_audit(&AuditQuery {
            key: Some(key.uri.clone()),
            action: Some("keys:delete".into()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let rows: Vec<_> = page
        .items
        .iter()
        .map(|e| (e.outcome.as_str(), e.key_version.as_deref()))
        .collect();
    assert_eq!(rows, [("unknown", Some("1")), ("success", Some("1"))]);
    let disables = rest
        .query_audit(&AuditQuery {
            key: Some(key.uri.clone()),
            action: Some("keys:disable".into()),
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .items;
    assert!(
        disables
            .iter()
            .any(|e| e.key_version.as_deref() == Some("9") && e.outcome.as_str() == "failure"),
        "{disables:?}"
    );
    gw.stop().await;
}

#[tokio::test]
async fn version_routes_take_the_top_level_bodies() {
    let gw = TestGateway::start().await;
    let token = gw.token("ops", "admin").await;
    let rest = HttpGateway::new(&gw.base, &token, None).unwrap();
    let signer = rest
        .create_key(None, CreateKeyRequest::new("ver-ec", KeySpec::EcP256))
        .await
        .unwrap();
    let k = kl(&signer.uri);
    rest.rotate_key(&k).await.unwrap();
    let message = b"pinned to version 1";

    // The client names the version in the top-level body.
    let sig = rest
        .sign(&k, Some("1"), SignInput::Message(message), None)
        .await
        .unwrap()
        .value;
    assert_eq!(sig.key_version, "1");

    // The per-version routes take the same bodies without `key`.
    let base = "/v1/keys/ver-ec/versions";
    let (status, body) = post(
        &gw.base,
        &token,
        &format!("{base}/1/verify"),
        json!({"message": b64(message), "signature": b64(&sig.bytes)}),
    )
    .await;
    assert_eq!((status, &body["valid"]), (200, &json!(true)), "{body}");
    let (status, body) = post(
        &gw.base,
        &token,
        &format!("{base}/2/verify"),
        json!({"message": b64(message), "signature": b64(&sig.bytes)}),
    )
    .await;
    assert_eq!((status, &body["valid"]), (200, &json!(false)), "{body}");
    let (status, body) = post(
        &gw.base,
        &token,
        &format!("{base}/1/sign"),
        json!({"message": b64(message)}),
    )
    .await;
    assert_eq!((status, &body["key_version"]), (200, &json!("1")), "{body}");
    // A body naming another version than the path is a typed 400.
    let (status, body) = post(
        &gw.base,
        &token,
        &format!("{base}/1/sign"),
        json!({"message": b64(message), "key_version": "2"}),
    )
    .await;
    assert_eq!(
        (status, &body["error"]["kind"]),
        (400, &json!("invalid_argument")),
        "{body}"
    );
    // Lifecycle and public key of one version.
    let (status, body) = post(&gw.base, &token, &format!("{base}/1/disable"), json!(null)).await;
    assert_eq!(
        (status, &body["state"]),
        (200, &json!("disabled")),
        "{body}"
    );
    let (status, body) = post(
        &gw.base,
        &token,
        &format!("{base}/1/sign"),
        json!({"message": b64(message)}),
    )
    .await;
    assert_eq!(
        (status, &body["error"]["kind"]),
        (409, &json!("invalid_state")),
        "{body}"
    );
    let pk = reqwest::Client::new()
        .get(format!("{}{base}/2/public-key", gw.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(pk["key_version"], "2");
    let (status, body) = post(&gw.base, &token, &format!("{base}/2/primary"), json!(null)).await;
    assert_eq!(
        (status, &body["primary_version"]),
        (200, &json!("2")),
        "{body}"
    );

    // MACs with a named version.
    let mac_key = rest
        .create_key(None, CreateKeyRequest::new("ver-mac", KeySpec::HmacSha256))
        .await
        .unwrap();
    let m = kl(&mac_key.uri);
    let tag = rest.generate_mac(&m, None, message).await.unwrap().value;
    rest.rotate_key(&m).await.unwrap();
    assert!(
        rest.verify_mac(&m, Some("1"), message, &tag.bytes)
            .await
            .unwrap()
            .value
    );
    assert!(
        !rest
            .verify_mac(&m, Some("2"), message, &tag.bytes)
            .await
            .unwrap()
            .value
    );
    let (status, body) = post(
        &gw.base,
        &token,
        "/v1/keys/ver-mac/versions/1/mac/verify",
        json!({"message": b64(message), "mac": b64(&tag.bytes)}),
    )
    .await;
    assert_eq!((status, &body["valid"]), (200, &json!(true)), "{body}");
    gw.stop().await;
}

#[tokio::test]
async fn version_changes_follow_the_access_policy() {
    let gw = TestGateway::start().await;
    let admin = HttpGateway::new(&gw.base, &gw.token("ops", "admin").await, None).unwrap();
    let auditor = HttpGateway::new(&gw.base, &gw.token("eve", "auditor").await, None).unwrap();
    let key = admin
        .create_key(None, CreateKeyRequest::new("ver-guarded", KeySpec::Aes256))
        .await
        .unwrap();
    let k = kl(&key.uri);
    admin.rotate_key(&k).await.unwrap();
    // Refused as a missing key would be (the REST API conceals keys a caller may not use).
    for err in [
        auditor.disable_version(&k, "1").await.unwrap_err(),
        auditor.destroy_version(&k, "1").await.unwrap_err(),
        auditor.set_primary_version(&k, "1").await.unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    }
    let versions = admin.list_versions(&k).await.unwrap().value;
    assert!(versions.iter().all(|v| v.state == VersionState::Enabled));
    assert_eq!(versions.iter().find(|v| v.primary).unwrap().id, "2");
    let denied = admin
        .query_audit(&AuditQuery {
            principal: Some("eve".into()),
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(
        denied
            .iter()
            .filter(|e| e.outcome.as_str() == "denied")
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        ["keys:disable", "keys:delete", "keys:rotate"],
        "{denied:?}"
    );
    gw.stop().await;
}
