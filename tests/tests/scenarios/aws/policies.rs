//! Key policies through the AWS door: kept as written, AWS's default for a key created
//! without one, and enforced by keygate for keys of the local provider, through every door.
//!
//! The verbatim round trip also runs against LocalStack when `KEYGATE_TEST_AWS_ENDPOINT` is
//! set. LocalStack deviation: LocalStack stores and returns key policies but does not
//! enforce them (a Deny on Decrypt does not refuse a Decrypt there), so only the round trip
//! is compared; enforcement is checked against keygate alone.

use aws_sdk_kms::Client;
use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kms::primitives::Blob;
use keygate_client::HttpGateway;
use keygate_core::api::Gateway as _;
use keygate_core::audit::AuditOutcome;
use keygate_core::keypolicy;
use keygate_core::{EncryptionContext, Error};

use super::{audit, client, code};
use crate::support::{TestGateway, kl};

/// A policy with an `Id`, `Sid`s and a `Condition`: the account keeps every permission, and
/// Decrypt is denied unless the encryption context names tenant `acme`.
const TENANT_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Id": "tenant-acme",
  "Statement": [
    {
      "Sid": "Enable IAM User Permissions",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
      "Action": "kms:*",
      "Resource": "*"
    },
    {
      "Sid": "DecryptOnlyForAcme",
      "Effect": "Deny",
      "Principal": "*",
      "Action": "kms:Decrypt",
      "Resource": "*",
      "Condition": {"StringNotEquals": {"kms:EncryptionContext:tenant": "acme"}}
    }
  ]
}"#;

/// Puts `TENANT_POLICY` on `key` and reads it back: the text as written, whitespace aside.
async fn put_get_round_trip(c: &Client, key: &str) -> String {
    // LocalStack needs the policy name, which AWS has made optional.
    c.put_key_policy()
        .key_id(key)
        .policy_name("default")
        .policy(TENANT_POLICY)
        .send()
        .await
        .unwrap();
    c.get_key_policy()
        .key_id(key)
        .policy_name("default")
        .send()
        .await
        .unwrap()
        .policy
        .unwrap()
}

#[tokio::test]
async fn key_policies_are_kept_as_written_and_enforced_through_every_door() {
    let gw = TestGateway::start().await;
    let c = client(&gw, "owner", "admin").await;
    let key = c
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;

    // A key created without a policy reads AWS's default key policy for the account.
    let default = c.get_key_policy().key_id(&key).send().await.unwrap();
    let default: serde_json::Value = serde_json::from_str(&default.policy.unwrap()).unwrap();
    assert!(keypolicy::is_default(&default, "000000000000"), "{default}");
    assert_eq!(default["Id"], "key-default-1");

    // Put → get: as written, with Id, Sid and Condition, elements in their order.
    let got = put_get_round_trip(&c, &key).await;
    assert_eq!(got, keypolicy::compact(TENANT_POLICY));

    // Enforced: Decrypt is refused unless the context names tenant acme.
    let acme = |c: &Client| {
        c.encrypt()
            .key_id(&key)
            .plaintext(Blob::new("for acme"))
            .encryption_context("tenant", "acme")
    };
    let sealed = acme(&c).send().await.unwrap().ciphertext_blob.unwrap();
    let other = c
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("for globex"))
        .encryption_context("tenant", "globex")
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    let opened = c
        .decrypt()
        .ciphertext_blob(sealed.clone())
        .encryption_context("tenant", "acme")
        .send()
        .await
        .unwrap();
    assert_eq!(opened.plaintext.unwrap().as_ref(), b"for acme");
    let refused = c
        .decrypt()
        .ciphertext_blob(other)
        .encryption_context("tenant", "globex")
        .send()
        .await;
    assert_eq!(code(refused), "AccessDeniedException");
    let with_key = c
        .decrypt()
        .key_id(&key)
        .ciphertext_blob(sealed)
        .send()
        .await;
    assert_eq!(
        code(with_key),
        "AccessDeniedException",
        "no context, no acme"
    );

    // The same key through REST: the key policy decides there too (REST answers every
    // failed decrypt, a refusal included, as one integrity failure; the audit row below
    // says `denied`).
    let token = gw.token("owner", "admin").await;
    let rest = HttpGateway::new(&gw.base, &token, None).unwrap();
    let globex = EncryptionContext::new().with("tenant", "globex");
    let envelope = rest.encrypt(&kl(&key), b"rest", &globex).await.unwrap();
    let e = rest.decrypt(&envelope, &globex).await.unwrap_err();
    assert!(matches!(e, Error::IntegrityFailure), "{e:?}");
    let ok = EncryptionContext::new().with("tenant", "acme");
    let envelope = rest.encrypt(&kl(&key), b"rest", &ok).await.unwrap();
    assert_eq!(
        rest.decrypt(&envelope, &ok)
            .await
            .unwrap()
            .plaintext
            .as_slice(),
        b"rest"
    );

    // Each refusal is one audited `denied` row of crypto:decrypt naming the key.
    let denied: Vec<_> = audit(&gw)
        .await
        .into_iter()
        .filter(|r| r.action == "crypto:decrypt" && r.outcome == AuditOutcome::Denied)
        .collect();
    assert_eq!(denied.len(), 3, "{denied:?}");
    assert!(
        denied
            .iter()
            .all(|r| r.key.as_deref().is_some_and(|k| k.ends_with(&key)))
    );
    gw.stop().await;
}

#[tokio::test]
async fn an_allow_limited_to_one_principal_and_the_lockout_check() {
    let gw = TestGateway::start().await;
    let owner = client(&gw, "owner", "admin").await;
    let alice = client(&gw, "alice", "admin").await;
    let bob = client(&gw, "bob", "admin").await;
    let key = owner
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;

    // Only alice may use the key: the owner would lose PutKeyPolicy, which AWS refuses
    // unless the lockout safety check is bypassed.
    let alice_only = r#"{"Version":"2012-10-17","Statement":[{"Sid":"AliceOnly","Effect":"Allow",
        "Principal":{"AWS":"arn:aws:iam::000000000000:user/alice"},"Action":"kms:*","Resource":"*"}]}"#;
    let locked = owner
        .put_key_policy()
        .key_id(&key)
        .policy(alice_only)
        .send()
        .await;
    assert_eq!(code(locked), "MalformedPolicyDocumentException");
    // CreateKey checks before it creates: no key is left behind.
    let before = owner.list_keys().send().await.unwrap().keys().len();
    let locked = owner.create_key().policy(alice_only).send().await;
    assert_eq!(code(locked), "MalformedPolicyDocumentException");
    assert_eq!(owner.list_keys().send().await.unwrap().keys().len(), before);
    owner
        .put_key_policy()
        .key_id(&key)
        .policy(alice_only)
        .bypass_policy_lockout_safety_check(true)
        .send()
        .await
        .unwrap();
    alice
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("x"))
        .send()
        .await
        .unwrap();
    let refused = bob
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("x"))
        .send()
        .await;
    assert_eq!(code(refused), "AccessDeniedException");
    let refused = owner.get_key_policy().key_id(&key).send().await;
    assert_eq!(code(refused), "AccessDeniedException");
    let got = alice.get_key_policy().key_id(&key).send().await.unwrap();
    assert_eq!(got.policy.unwrap(), keypolicy::compact(alice_only));

    // REST and the in-process door (the CLI's) are refused alike.
    let token = gw.token("bob", "admin").await;
    let rest = HttpGateway::new(&gw.base, &token, None).unwrap();
    let e = rest
        .generate_data_key(
            &kl(&key),
            keygate_core::DataKeySpec::Aes256,
            &EncryptionContext::new(),
        )
        .await
        .unwrap_err();
    // REST answers a key the caller may not use as a missing key (the audit row says
    // `denied`).
    assert!(matches!(e, Error::NotFound(_)), "{e:?}");
    let admin = gw.service.local_admin();
    let e = admin.describe_key(&kl(&key)).await.unwrap_err();
    assert!(matches!(e, Error::PermissionDenied(_)), "{e:?}");

    // Keys created through other doors read the default policy; a malformed or too large
    // document is refused as AWS refuses it.
    let meta = admin
        .create_key(
            None,
            keygate_core::CreateKeyRequest::new("plain", keygate_core::KeySpec::Aes256),
        )
        .await
        .unwrap();
    let arn = admin
        .aws_key_arn(&keygate_core::KeyLocator::of(&meta))
        .await
        .unwrap()
        .value;
    let got = owner.get_key_policy().key_id(&arn).send().await.unwrap();
    let doc: serde_json::Value = serde_json::from_str(&got.policy.unwrap()).unwrap();
    assert!(keypolicy::is_default(&doc, "000000000000"));
    for bad in [
        r#"{"Statement":[{"Effect":"Permit","Principal":"*","Action":"kms:*","Resource":"*"}]}"#.to_owned(),
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Colour":"red"}]}"#.to_owned(),
        format!(r#"{{"Id":"{}","Statement":[]}}"#, "x".repeat(40_000)),
    ] {
        let r = owner.put_key_policy().key_id(&arn).policy(bad).send().await;
        assert_eq!(code(r), "MalformedPolicyDocumentException");
    }
    gw.stop().await;
}

#[tokio::test]
async fn localstack_keeps_a_key_policy_as_written() {
    let Ok(endpoint) = std::env::var("KEYGATE_TEST_AWS_ENDPOINT") else {
        eprintln!("KEYGATE_TEST_AWS_ENDPOINT is not set: skipping the LocalStack leg");
        return;
    };
    let config = aws_sdk_kms::Config::builder()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "localstack"))
        .behavior_version(BehaviorVersion::latest())
        .build();
    let c = Client::from_conf(config);
    let key = c
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let got = put_get_round_trip(&c, &key).await;
    assert_eq!(keypolicy::compact(&got), keypolicy::compact(TENANT_POLICY));
    c.schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
}
