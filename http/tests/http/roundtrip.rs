//! The whole `Gateway` trait through `HttpGateway` against a live server (which proves client
//! and server agree), envelopes across a restart, the SSE audit stream, and HTTPS.

use std::time::Duration;

use futures::StreamExt as _;
use keygate_client::HttpGateway;
use keygate_core::access::AccessPolicy;
use keygate_core::api::{Gateway, TokenRequest};
use keygate_core::audit::{AuditOutcome, AuditQuery};
use keygate_core::envelope;
use keygate_core::{
    CreateKeyRequest, DataKeySpec, EncryptionContext, Error, KeySpec, KeyUpdate, KeyUsage,
    RotationSchedule, SigningAlgorithm,
};

use crate::support::{TestGateway, config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_gateway_api_through_the_http_client() {
    let home = tempfile::tempdir().unwrap();
    let gw = TestGateway::start(home.path()).await;
    let admin = gw.token("root", "admin").await;
    let c = gw.client(&admin);
    let ctx = EncryptionContext::new().with("tenant", "acme");

    let me = c.whoami().await.unwrap();
    assert_eq!((me.principal.as_str(), me.role.as_str()), ("root", "admin"));
    let providers = c.providers().await.unwrap();
    assert_eq!(providers[0].name, "local");

    // Keys: create, describe (by name and by URI, which needs one encoded segment), update.
    let mut req = CreateKeyRequest::new("orders", KeySpec::Aes256);
    req.description = "order data".into();
    req.rotation = Some(RotationSchedule::every(30));
    let meta = c.create_key(None, req).await.unwrap();
    assert_eq!(
        c.describe_key(&crate::support::kl(&meta.uri))
            .await
            .unwrap()
            .id,
        meta.id
    );
    assert_eq!(
        c.get_rotation(&crate::support::kl("orders"))
            .await
            .unwrap()
            .value
            .unwrap()
            .period_days,
        30
    );
    let mut update = KeyUpdate::default();
    update.set_labels.insert("team".into(), "shop".into());
    let updated = c
        .update_key(&crate::support::kl("orders"), update)
        .await
        .unwrap();
    assert_eq!(updated.labels["team"], "shop");
    let listing = c.list_keys(Some("local")).await.unwrap();
    assert!(listing.keys.iter().any(|k| k.name == "orders"));

    // Crypto: envelope, native data keys, streaming envelopes.
    let sealed = c
        .encrypt(&crate::support::kl("orders"), b"card 4111", &ctx)
        .await
        .unwrap();
    let opened = c.decrypt(&sealed, &ctx).await.unwrap();
    assert_eq!(&opened.plaintext[..], b"card 4111");
    assert_eq!(opened.key_uri, meta.uri);
    let dk = c
        .generate_data_key(&crate::support::kl("orders"), DataKeySpec::Aes256, &ctx)
        .await
        .unwrap();
    assert_eq!(dk.value.plaintext.len(), 32);
    let unwrapped = c
        .decrypt_native(
            &crate::support::kl("orders"),
            None,
            &dk.value.ciphertext,
            &ctx,
        )
        .await
        .unwrap();
    assert_eq!(unwrapped.plaintext, dk.value.plaintext);
    let native = c
        .encrypt_native(&crate::support::kl("orders"), b"raw", &ctx)
        .await
        .unwrap();
    assert!(!keygate_core::envelope::is_envelope(&native.value.bytes));
    let raw = c
        .decrypt_native(
            &crate::support::kl("orders"),
            None,
            &native.value.bytes,
            &ctx,
        )
        .await
        .unwrap();
    assert_eq!(&raw.plaintext[..], b"raw");
    let random = c.generate_random(48).await.unwrap();
    assert_eq!(random.len(), 48);
    assert_ne!(random, c.generate_random(48).await.unwrap());
    assert_eq!(
        c.generate_random(1025).await.unwrap_err().kind(),
        keygate_core::ErrorKind::InvalidArgument
    );
    let sealing = c
        .begin_envelope(&crate::support::kl("orders"), &ctx)
        .await
        .unwrap();
    let stream_ct =
        envelope::seal(&sealing.header, &sealing.data_key, b"streamed payload").unwrap();
    let (header, _) = keygate_core::EnvelopeHeader::decode(&stream_ct).unwrap();
    let key = c.open_envelope(&header, &ctx).await.unwrap();
    assert_eq!(key, sealing.data_key);
    assert_eq!(
        &envelope::open(&stream_ct, &key).unwrap()[..],
        b"streamed payload"
    );
    // A streamed envelope also opens in one call.
    assert_eq!(
        &c.decrypt(&stream_ct, &ctx).await.unwrap().plaintext[..],
        b"streamed payload"
    );

    // Rotation keeps old ciphertexts readable.
    let v2 = c.rotate_key(&crate::support::kl("orders")).await.unwrap();
    assert!(v2.value.primary);
    // The answer names the key the reference resolved to, as the service resolved it.
    assert_eq!(
        (v2.key.provider.as_str(), v2.uri.as_str()),
        ("local", "local://orders")
    );
    let versions = c.list_versions(&crate::support::kl("alias/none-yet")).await;
    assert!(matches!(versions, Err(Error::NotFound(_))), "{versions:?}");
    let versions = c
        .list_versions(&crate::support::kl("orders"))
        .await
        .unwrap();
    assert_eq!(
        (versions.value.len(), versions.uri.as_str()),
        (2, "local://orders")
    );
    assert_eq!(
        &c.decrypt(&sealed, &ctx).await.unwrap().plaintext[..],
        b"card 4111"
    );
    let key = c
        .set_rotation(&crate::support::kl("orders"), None)
        .await
        .unwrap();
    assert_eq!((key.rotation, key.uri.as_str()), (None, "local://orders"));

    // Signing and MACs.
    let mut sreq = CreateKeyRequest::new("signer", KeySpec::EcP256);
    sreq.usage = Some(KeyUsage::Sign);
    c.create_key(None, sreq).await.unwrap();
    let sig = c
        .sign(
            &crate::support::kl("signer"),
            None,
            keygate_core::SignInput::Message(b"msg"),
            None,
        )
        .await
        .unwrap();
    assert!(
        c.verify(
            &crate::support::kl("signer"),
            None,
            keygate_core::SignInput::Message(b"msg"),
            &sig.value.bytes,
            Some(SigningAlgorithm::EcdsaSha256),
        )
        .await
        .unwrap()
        .value
    );
    // Without an algorithm the key's default signs, and the signature says which.
    assert_eq!(sig.value.algorithm, SigningAlgorithm::EcdsaSha256);
    assert_eq!(sig.uri, "local://signer");
    assert!(
        !c.verify(
            &crate::support::kl("signer"),
            Some(&sig.value.key_version),
            keygate_core::SignInput::Message(b"other"),
            &sig.value.bytes,
            None,
        )
        .await
        .unwrap()
        .value
    );
    let pk = c
        .get_public_key(&crate::support::kl("signer"), None)
        .await
        .unwrap();
    assert!(pk.value.pem().contains("BEGIN PUBLIC KEY"));
    c.create_key(None, CreateKeyRequest::new("macker", KeySpec::HmacSha256))
        .await
        .unwrap();
    let tag = c
        .generate_mac(&crate::support::kl("macker"), None, b"m")
        .await
        .unwrap();
    assert_eq!(tag.uri, "local://macker");
    assert!(
        c.verify_mac(&crate::support::kl("macker"), None, b"m", &tag.value.bytes)
            .await
            .unwrap()
            .value
    );
    assert!(
        !c.verify_mac(&crate::support::kl("macker"), None, b"x", &tag.value.bytes)
            .await
            .unwrap()
            .value
    );

    // Aliases, used as key references (encoded as one path segment).
    let alias = c
        .create_alias("pay", &crate::support::kl("orders"))
        .await
        .unwrap();
    assert_eq!(alias.name, "pay");
    assert_eq!(
        c.describe_key(&crate::support::kl("alias/pay"))
            .await
            .unwrap()
            .name,
        "orders"
    );
    c.update_alias("pay", &crate::support::kl("macker"))
        .await
        .unwrap();
    assert_eq!(c.list_aliases().await.unwrap().len(), 1);
    c.delete_alias("pay").await.unwrap();
    assert!(c.list_aliases().await.unwrap().is_empty());
    assert!(matches!(
        c.describe_key(&crate::support::kl("alias/pay"))
            .await
            .unwrap_err(),
        Error::NotFound(_)
    ));

    // Lifecycle.
    c.disable_key(&crate::support::kl("macker")).await.unwrap();
    assert!(
        c.generate_mac(&crate::support::kl("macker"), None, b"m")
            .await
            .is_err()
    );
    c.enable_key(&crate::support::kl("macker")).await.unwrap();
    let pending = c
        .schedule_deletion(&crate::support::kl("macker"), 7)
        .await
        .unwrap();
    assert_eq!(pending.state.as_str(), "pending_deletion");
    assert_eq!(
        c.cancel_deletion(&crate::support::kl("macker"))
            .await
            .unwrap()
            .state
            .as_str(),
        "disabled"
    );

    // Key policy.
    let policy = c
        .get_key_policy(&crate::support::kl("orders"))
        .await
        .unwrap();
    assert_eq!(policy.key.id, "orders");
    let stored = c
        .set_key_policy(&crate::support::kl("local://orders"), policy.value.clone())
        .await
        .unwrap();
    assert_eq!(stored.value, policy.value);

    // Audit: query pages with a cursor, verify the chain.
    let first = c
        .query_audit(&AuditQuery {
            limit: Some(3),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(first.items.len(), 3);
    let cursor: u64 = first.next_cursor.as_deref().unwrap().parse().unwrap();
    let next = c
        .query_audit(&AuditQuery {
            after: Some(cursor),
            action: Some("crypto:*".into()),
            outcome: Some(AuditOutcome::Success),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert!(
        next.items
            .iter()
            .all(|e| e.seq > cursor && e.action.starts_with("crypto:"))
    );
    assert!(!next.items.is_empty());
    let verification = c.verify_audit().await.unwrap();
    assert!(verification.first_broken.is_none());
    assert!(verification.rows > 10);

    // Tokens: issue one over HTTP, use it, list, revoke; the revoked token stops working.
    let issued = c
        .create_token(TokenRequest {
            principal: "ci".into(),
            role: "auditor".into(),
            expires_in_days: Some(1),
            kind: Default::default(),
        })
        .await
        .unwrap();
    assert!(!format!("{issued:?}").contains(issued.token.as_str()));
    let ci = gw.client(&issued.token);
    assert_eq!(ci.whoami().await.unwrap().principal, "ci");
    assert!(
        c.list_tokens()
            .await
            .unwrap()
            .iter()
            .any(|t| t.id == issued.info.id)
    );
    let revoked = c.revoke_token(&issued.info.id).await.unwrap();
    assert!(revoked.revoked.is_some());
    assert!(matches!(
        ci.whoami().await.unwrap_err(),
        Error::Unauthenticated(_)
    ));

    // The gateway access policy.
    let policy = AccessPolicy::from_toml(
        r#"
        [[statements]]
        effect = "deny"
        actions = ["crypto:decrypt"]
        principals = ["nobody-*"]
        "#,
    )
    .unwrap();
    let set = c.set_access_policy(policy.clone()).await.unwrap();
    assert_eq!(set, policy);
    assert_eq!(c.get_access_policy().await.unwrap(), policy);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelopes_survive_a_gateway_restart_on_the_same_home() {
    let home = tempfile::tempdir().unwrap();
    let gw = TestGateway::start(home.path()).await;
    let admin = gw.token("root", "admin").await;
    let c = gw.client(&admin);
    c.create_key(None, CreateKeyRequest::new("durable", KeySpec::Aes256))
        .await
        .unwrap();
    let ctx = EncryptionContext::new().with("file", "a.txt");
    let payload = vec![7u8; 1024];
    let sealed = c
        .encrypt(&crate::support::kl("durable"), &payload, &ctx)
        .await
        .unwrap();
    assert_eq!(
        &c.decrypt(&sealed, &ctx).await.unwrap().plaintext[..],
        &payload[..]
    );
    gw.stop().await;

    let gw = TestGateway::start(home.path()).await;
    // The token and the key persisted with the home; the new server has a new port.
    let c = gw.client(&admin);
    let opened = c.decrypt(&sealed, &ctx).await.unwrap();
    assert_eq!(&opened.plaintext[..], &payload[..]);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_stream_delivers_rows_written_after_subscribing() {
    let home = tempfile::tempdir().unwrap();
    let gw = TestGateway::start(home.path()).await;
    let admin = gw.token("root", "admin").await;
    let c = gw.client(&admin);
    let backlog = c.query_audit(&AuditQuery::default()).await.unwrap();
    let after = backlog.items.last().map(|e| e.seq);
    let mut stream = c
        .follow_audit(&AuditQuery {
            after,
            action: Some("keys:create".into()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    // Written after the subscription was made.
    c.create_key(None, CreateKeyRequest::new("watched", KeySpec::Aes256))
        .await
        .unwrap();
    // The call writes its intent row first (no key yet), then its outcome row.
    let intent = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an audit event within 10 s")
        .unwrap()
        .unwrap();
    assert_eq!(intent.action, "keys:create");
    assert_eq!(intent.outcome, AuditOutcome::Unknown);
    let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an audit event within 10 s")
        .unwrap()
        .unwrap();
    assert_eq!(event.intent_seq, Some(intent.seq));
    assert_eq!(event.outcome, AuditOutcome::Success);
    assert_eq!(event.action, "keys:create");
    assert_eq!(event.principal, "root");
    assert_eq!(event.source, "rest");
    assert!(event.key.as_deref().unwrap().contains("watched"));

    // Last-Event-ID resumes after the given seq, raw over HTTP.
    let resp = reqwest::Client::new()
        .get(gw.url("/v1/audit/stream?action=keys%3Acreate"))
        .bearer_auth(&admin)
        .header("last-event-id", (event.seq - 1).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut body = resp.bytes_stream();
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), body.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("event: audit"), "{text}");
    assert!(text.contains(&format!("id: {}", event.seq)), "{text}");
    drop(body);
    // Shutdown ends open streams instead of waiting out the grace period for them.
    let started = std::time::Instant::now();
    gw.stop().await;
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    let end = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("the stream ends with the server");
    assert!(!matches!(end, Some(Ok(_))), "{end:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_self_signed_certificate_and_the_client_trusting_it() {
    let home = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert_path = home.path().join("cert.pem");
    let key_path = home.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let gw = TestGateway::start_with(
        home.path(),
        config(|c| {
            c.server.tls_cert = Some(cert_path.clone());
            c.server.tls_key = Some(key_path.clone());
        }),
    )
    .await;
    assert!(gw.base.starts_with("https://"), "{}", gw.base);
    let admin = gw.token("root", "admin").await;
    let trusted = HttpGateway::new(&gw.base, &admin, Some(&cert_path)).unwrap();
    assert_eq!(trusted.whoami().await.unwrap().principal, "root");
    trusted
        .create_key(None, CreateKeyRequest::new("tls-key", KeySpec::Aes256))
        .await
        .unwrap();
    let sealed = trusted
        .encrypt(
            &crate::support::kl("tls-key"),
            b"over tls",
            &EncryptionContext::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        &trusted
            .decrypt(&sealed, &EncryptionContext::new())
            .await
            .unwrap()
            .plaintext[..],
        b"over tls"
    );
    // Without the CA the certificate is refused: Unavailable naming the URL.
    let untrusting = HttpGateway::new(&gw.base, &admin, None).unwrap();
    match untrusting.whoami().await.unwrap_err() {
        Error::Unavailable { message: msg, .. } => assert!(msg.contains(&gw.base), "{msg}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    // Plain HTTP to the TLS port does not get an answer.
    let plain = gw.base.replacen("https://", "http://", 1);
    assert!(
        HttpGateway::new(&plain, &admin, None)
            .unwrap()
            .whoami()
            .await
            .is_err()
    );
    gw.stop().await;
}
