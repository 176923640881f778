//! The AWS KMS dialect driven by aws-sdk-kms (and raw HTTP for malformed requests) against a
//! real gateway, signed with access keys from `token create --aws`.

use aws_sdk_kms::Client;
use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, KeySpec, KeyState, KeyUsageType, SigningAlgorithmSpec, Tag};
use keygate_core::api::{Gateway as _, TokenKind, TokenRequest};
use keygate_core::audit::{AuditEvent, AuditOutcome, AuditQuery};

use crate::support::TestGateway;

#[path = "aws/crypto.rs"]
mod crypto;
#[path = "aws/import.rs"]
mod import;
#[path = "aws/policies.rs"]
mod policies;
#[path = "aws/regions.rs"]
mod regions;
#[path = "aws/rotations.rs"]
mod rotations;
#[path = "aws/rules.rs"]
mod rules;

/// An access key pair for `principal` with `role`.
pub(crate) async fn access_key(gw: &TestGateway, principal: &str, role: &str) -> (String, String) {
    let issued = gw
        .service
        .local_admin()
        .create_token(TokenRequest {
            principal: principal.into(),
            role: role.into(),
            expires_in_days: None,
            kind: TokenKind::Aws,
        })
        .await
        .unwrap();
    assert_eq!(issued.info.kind, TokenKind::Aws);
    (issued.info.id, issued.token.to_string())
}

pub(crate) fn client_with(gw: &TestGateway, akid: &str, secret: &str) -> Client {
    let config = aws_sdk_kms::Config::builder()
        .endpoint_url(&gw.base)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(akid, secret, None, None, "keygate"))
        .behavior_version(BehaviorVersion::latest())
        .build();
    Client::from_conf(config)
}

pub(crate) async fn client(gw: &TestGateway, principal: &str, role: &str) -> Client {
    let (akid, secret) = access_key(gw, principal, role).await;
    client_with(gw, &akid, &secret)
}

/// The AWS error code of a failed SDK call.
pub(crate) fn code<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, E>,
) -> String {
    let err = result.unwrap_err();
    err.code()
        .unwrap_or_else(|| panic!("no error code in {err:?}"))
        .to_owned()
}

/// Every audit row but intent rows (outcome `unknown`, written before a call acts), oldest
/// first: one row per call (reading it writes an `audit:read` row of source `cli`).
pub(crate) async fn audit(gw: &TestGateway) -> Vec<AuditEvent> {
    let admin = gw.service.local_admin();
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let page = admin
            .query_audit(&AuditQuery {
                after,
                limit: Some(1000),
                ..AuditQuery::default()
            })
            .await
            .unwrap();
        rows.extend(page.items);
        match page.next_cursor {
            Some(cursor) => after = Some(cursor.parse().unwrap()),
            None => break,
        }
    }
    rows.retain(|e| e.outcome != AuditOutcome::Unknown);
    rows
}

pub(crate) async fn create(c: &Client, spec: KeySpec, usage: Option<KeyUsageType>) -> String {
    let mut req = c.create_key().key_spec(spec).description("made by the SDK");
    if let Some(usage) = usage {
        req = req.key_usage(usage);
    }
    let meta = req.send().await.unwrap().key_metadata.unwrap();
    assert!(meta.enabled());
    assert_eq!(meta.key_state(), Some(&KeyState::Enabled));
    assert_eq!(
        meta.arn().unwrap(),
        format!("arn:aws:kms:us-east-1:000000000000:key/{}", meta.key_id())
    );
    meta.key_id().to_owned()
}

#[tokio::test]
async fn aws_sdk_manages_keys_aliases_tags_and_rotation() {
    let gw = TestGateway::start().await;
    let c = client(&gw, "ops", "admin").await;

    let sym = create(&c, KeySpec::SymmetricDefault, None).await;
    let rsa = create(&c, KeySpec::Rsa2048, Some(KeyUsageType::SignVerify)).await;
    let ec = create(&c, KeySpec::EccNistP256, Some(KeyUsageType::SignVerify)).await;
    let mac = create(&c, KeySpec::Hmac256, Some(KeyUsageType::GenerateVerifyMac)).await;
    let rsa_no_usage = c.create_key().key_spec(KeySpec::Rsa2048).send().await;
    assert_eq!(code(rsa_no_usage), "ValidationException");
    let unsupported = c
        .create_key()
        .key_spec(KeySpec::Sm2)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await;
    assert_eq!(code(unsupported), "UnsupportedOperationException");

    // Describe by UUID, ARN and alias; the keygate key is named after its UUID.
    c.create_alias()
        .alias_name("alias/payments")
        .target_key_id(&sym)
        .send()
        .await
        .unwrap();
    let arn = format!("arn:aws:kms:us-east-1:000000000000:key/{sym}");
    for key_id in [
        sym.clone(),
        arn.clone(),
        "alias/payments".into(),
        "arn:aws:kms:us-east-1:000000000000:alias/payments".into(),
    ] {
        let meta = c
            .describe_key()
            .key_id(&key_id)
            .send()
            .await
            .unwrap()
            .key_metadata
            .unwrap();
        assert_eq!(meta.key_id(), sym, "{key_id}");
        assert_eq!(meta.description(), Some("made by the SDK"));
    }
    let keygate = gw
        .service
        .local_admin()
        .describe_key(&crate::support::kl(&sym))
        .await
        .unwrap();
    assert_eq!(keygate.name, sym);
    let ec_meta = c
        .describe_key()
        .key_id(&ec)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(ec_meta.key_usage(), Some(&KeyUsageType::SignVerify));
    assert_eq!(
        ec_meta.signing_algorithms(),
        [SigningAlgorithmSpec::EcdsaSha256]
    );
    assert_eq!(
        code(
            c.describe_key()
                .key_id("00000000-0000-4000-8000-000000000000")
                .send()
                .await
        ),
        "NotFoundException"
    );
    assert_eq!(
        code(c.describe_key().key_id("alias/nope").send().await),
        "NotFoundException"
    );

    // ListKeys pages through all four with stable ids.
    let mut seen = Vec::new();
    let mut marker = None;
    loop {
        let page = c
            .list_keys()
            .limit(3)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        seen.extend(page.keys().iter().map(|k| k.key_id().unwrap().to_owned()));
        if !page.truncated() {
            break;
        }
        marker = page.next_marker().map(str::to_owned);
    }
    seen.sort();
    let mut expected = vec![sym.clone(), rsa.clone(), ec.clone(), mac.clone()];
    expected.sort();
    assert_eq!(seen, expected);

    // Aliases: list with paging and per key, update, delete, AWS's naming rules.
    c.create_alias()
        .alias_name("alias/signing")
        .target_key_id(&rsa)
        .send()
        .await
        .unwrap();
    let first = c.list_aliases().limit(1).send().await.unwrap();
    assert!(first.truncated());
    let second = c
        .list_aliases()
        .limit(1)
        .marker(first.next_marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(second.aliases().len(), 1);
    let names: Vec<_> = first
        .aliases()
        .iter()
        .chain(second.aliases())
        .map(|a| a.alias_name().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["alias/payments", "alias/signing"]);
    let of_rsa = c.list_aliases().key_id(&rsa).send().await.unwrap();
    assert_eq!(of_rsa.aliases().len(), 1);
    assert_eq!(of_rsa.aliases()[0].target_key_id(), Some(rsa.as_str()));
    c.update_alias()
        .alias_name("alias/signing")
        .target_key_id(&ec)
        .send()
        .await
        .unwrap();
    let meta = c
        .describe_key()
        .key_id("alias/signing")
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(meta.key_id(), ec);
    assert_eq!(
        code(
            c.create_alias()
                .alias_name("alias/signing")
                .target_key_id(&ec)
                .send()
                .await
        ),
        "AlreadyExistsException"
    );
    assert_eq!(
        code(
            c.create_alias()
                .alias_name("alias/aws/s3")
                .target_key_id(&ec)
                .send()
                .await
        ),
        "NotAuthorizedException"
    );
    assert_eq!(
        code(
            c.create_alias()
                .alias_name("alias/a.b")
                .target_key_id(&ec)
                .send()
                .await
        ),
        "ValidationException",
        "AWS's alias pattern has no `.` (aws/rules.rs tests `/`)"
    );
    c.delete_alias()
        .alias_name("alias/signing")
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(c.describe_key().key_id("alias/signing").send().await),
        "NotFoundException"
    );

    // Tags are labels.
    let tag = |k: &str, v: &str| Tag::builder().tag_key(k).tag_value(v).build().unwrap();
    c.tag_resource()
        .key_id(&sym)
        .tags(tag("team", "pay"))
        .tags(tag("env", "test"))
        .send()
        .await
        .unwrap();
    let tags = c.list_resource_tags().key_id(&sym).send().await.unwrap();
    let pairs: Vec<_> = tags
        .tags()
        .iter()
        .map(|t| (t.tag_key(), t.tag_value()))
        .collect();
    assert_eq!(pairs, [("env", "test"), ("team", "pay")]);
    c.untag_resource()
        .key_id(&sym)
        .tag_keys("env")
        .send()
        .await
        .unwrap();
    let tags = c
        .list_resource_tags()
        .key_id(&sym)
        .limit(1)
        .send()
        .await
        .unwrap();
    assert_eq!((tags.tags().len(), tags.truncated()), (1, false));
    c.update_key_description()
        .key_id(&sym)
        .description("renamed")
        .send()
        .await
        .unwrap();
    let meta = c
        .describe_key()
        .key_id(&sym)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(meta.description(), Some("renamed"));

    // Enable and disable: a disabled key refuses to encrypt as AWS does.
    c.disable_key().key_id(&sym).send().await.unwrap();
    let meta = c
        .describe_key()
        .key_id(&sym)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(
        (meta.enabled(), meta.key_state()),
        (false, Some(&KeyState::Disabled))
    );
    let refused = c
        .encrypt()
        .key_id(&sym)
        .plaintext(Blob::new("x"))
        .send()
        .await;
    assert_eq!(code(refused), "DisabledException");
    c.enable_key().key_id(&sym).send().await.unwrap();
    c.encrypt()
        .key_id(&sym)
        .plaintext(Blob::new("x"))
        .send()
        .await
        .unwrap();

    // Rotation: enable (90–2560 days), status, on demand, list.
    assert_eq!(
        code(
            c.enable_key_rotation()
                .key_id(&sym)
                .rotation_period_in_days(89)
                .send()
                .await
        ),
        "ValidationException"
    );
    assert_eq!(
        code(
            c.enable_key_rotation()
                .key_id(&sym)
                .rotation_period_in_days(2561)
                .send()
                .await
        ),
        "ValidationException"
    );
    c.enable_key_rotation()
        .key_id(&sym)
        .rotation_period_in_days(180)
        .send()
        .await
        .unwrap();
    let status = c
        .get_key_rotation_status()
        .key_id(&sym)
        .send()
        .await
        .unwrap();
    assert!(status.key_rotation_enabled());
    assert_eq!(status.rotation_period_in_days(), Some(180));
    assert!(status.next_rotation_date().is_some());
    c.rotate_key_on_demand().key_id(&sym).send().await.unwrap();
    c.rotate_key_on_demand().key_id(&sym).send().await.unwrap();
    let rotations = c
        .list_key_rotations()
        .key_id(&sym)
        .limit(1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (rotations.rotations().len(), rotations.truncated()),
        (1, true)
    );
    let all = c.list_key_rotations().key_id(&sym).send().await.unwrap();
    assert_eq!(all.rotations().len(), 2);
    c.disable_key_rotation().key_id(&sym).send().await.unwrap();
    assert!(
        !c.get_key_rotation_status()
            .key_id(&sym)
            .send()
            .await
            .unwrap()
            .key_rotation_enabled()
    );

    // Deletion: 7–30 days, then cancelled.
    for days in [6, 31] {
        let r = c
            .schedule_key_deletion()
            .key_id(&mac)
            .pending_window_in_days(days)
            .send()
            .await;
        assert_eq!(code(r), "ValidationException", "{days}");
    }
    let scheduled = c
        .schedule_key_deletion()
        .key_id(&mac)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(scheduled.key_state(), Some(&KeyState::PendingDeletion));
    assert_eq!(scheduled.pending_window_in_days(), Some(7));
    assert!(scheduled.deletion_date().is_some());
    let meta = c
        .describe_key()
        .key_id(&mac)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(meta.key_state(), Some(&KeyState::PendingDeletion));
    c.cancel_key_deletion().key_id(&mac).send().await.unwrap();
    let meta = c
        .describe_key()
        .key_id(&mac)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_ne!(meta.key_state(), Some(&KeyState::PendingDeletion));
    gw.stop().await;
}

#[tokio::test]
async fn aws_sdk_calls_are_authenticated_authorized_and_audited_once() {
    let gw = TestGateway::start().await;
    let admin = client(&gw, "boss", "admin").await;
    let key = create(&admin, KeySpec::SymmetricDefault, None).await;
    let blob = admin
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("s"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();

    // A wrong secret, an unknown or revoked access key: refused as AWS refuses them.
    let (akid, secret) = access_key(&gw, "ops", "operator").await;
    let forged = client_with(&gw, &akid, &format!("{}x", &secret[1..]));
    assert_eq!(
        code(forged.list_keys().send().await),
        "InvalidSignatureException"
    );
    let stranger = client_with(&gw, "KGAKAAAAAAAAAAAAAAAA", &secret);
    assert_eq!(
        code(stranger.list_keys().send().await),
        "UnrecognizedClientException"
    );

    // An operator may manage keys but not decrypt: AccessDenied and a `denied` row.
    let ops = client_with(&gw, &akid, &secret);
    ops.describe_key().key_id(&key).send().await.unwrap();
    let denied = ops.decrypt().ciphertext_blob(blob).send().await;
    assert_eq!(code(denied), "AccessDeniedException");
    let rows = audit(&gw).await;
    let last = rows.iter().rev().find(|r| r.source == "aws").unwrap();
    assert_eq!(
        (
            last.principal.as_str(),
            last.action.as_str(),
            last.source.as_str()
        ),
        ("ops", "crypto:decrypt", "aws")
    );
    assert_eq!(last.outcome, AuditOutcome::Denied);
    assert!(
        rows.iter().any(|r| r.source == "aws"
            && r.principal == "anonymous"
            && r.outcome == AuditOutcome::Denied),
        "failed signatures are audited"
    );

    gw.service.local_admin().revoke_token(&akid).await.unwrap();
    assert_eq!(
        code(ops.list_keys().send().await),
        "UnrecognizedClientException"
    );

    // Exactly one row per SDK call, each with source `aws`.
    let before = audit(&gw).await.len();
    admin.list_keys().send().await.unwrap();
    admin.describe_key().key_id(&key).send().await.unwrap();
    let sealed = admin
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("x"))
        .send()
        .await
        .unwrap();
    admin
        .decrypt()
        .ciphertext_blob(sealed.ciphertext_blob.unwrap())
        .send()
        .await
        .unwrap();
    admin
        .generate_data_key()
        .key_id(&key)
        .key_spec(DataKeySpec::Aes256)
        .send()
        .await
        .unwrap();
    admin
        .generate_random()
        .number_of_bytes(8)
        .send()
        .await
        .unwrap();
    admin
        .tag_resource()
        .key_id(&key)
        .tags(Tag::builder().tag_key("a").tag_value("b").build().unwrap())
        .send()
        .await
        .unwrap();
    let rows = audit(&gw).await;
    let new: Vec<_> = rows[before..]
        .iter()
        .filter(|r| r.source != "cli")
        .map(|r| (r.source.as_str(), r.action.as_str()))
        .collect();
    assert_eq!(
        new,
        [
            ("aws", "keys:list"),
            ("aws", "keys:describe"),
            ("aws", "crypto:encrypt"),
            ("aws", "crypto:decrypt"),
            ("aws", "crypto:generate-data-key"),
            ("aws", "random:generate"),
            ("aws", "keys:update"),
        ]
    );
    gw.stop().await;
}

/// Raw HTTP: malformed requests get AWS's error shape and a 4xx, never a 5xx.
#[tokio::test]
async fn aws_dialect_answers_bad_requests_in_aws_shape() {
    let gw = TestGateway::start_with(crate::support::config(|c| {
        c.server.body_limit_bytes = 64 * 1024
    }))
    .await;
    let http = reqwest::Client::new();
    let post = |target: &str, content_type: &str, body: Vec<u8>| {
        http.post(format!("{}/", gw.base))
            .header("x-amz-target", target)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let json = "application/x-amz-json-1.1";
    let cases = [
        (
            "TrentService.ListKeys",
            json,
            b"{}".to_vec(),
            400,
            "MissingAuthenticationTokenException",
        ),
        (
            "TrentService.Explode",
            json,
            b"{}".to_vec(),
            400,
            "UnknownOperationException",
        ),
        ("", json, b"{}".to_vec(), 400, "UnknownOperationException"),
        (
            "TrentService.Encrypt",
            json,
            b"{not json".to_vec(),
            400,
            "SerializationException",
        ),
        (
            "TrentService.Encrypt",
            json,
            br#"{"KeyId": 7, "Plaintext": "aGk="}"#.to_vec(),
            400,
            "SerializationException",
        ),
        (
            "TrentService.Encrypt",
            json,
            br#"{"KeyId": "k", "Plaintext": "***"}"#.to_vec(),
            400,
            "SerializationException",
        ),
        (
            "TrentService.Encrypt",
            "text/plain",
            b"{}".to_vec(),
            400,
            "SerializationException",
        ),
        (
            "TrentService.Encrypt",
            json,
            vec![b' '; 70 * 1024],
            413,
            "RequestEntityTooLargeException",
        ),
    ];
    for (target, content_type, body, status, expected) in cases {
        let response = post(target, content_type, body).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{target} {expected}");
        assert_eq!(response.headers()["x-amzn-errortype"], expected);
        assert_eq!(response.headers()["content-type"], json);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["__type"], expected, "{body}");
        assert!(body["message"].is_string(), "{body}");
    }
    // A signature that does not parse.
    let response = http
        .post(format!("{}/", gw.base))
        .header("x-amz-target", "TrentService.ListKeys")
        .header("content-type", json)
        .header("authorization", "AWS4-HMAC-SHA256 garbage")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "IncompleteSignatureException"
    );
    gw.stop().await;
}
