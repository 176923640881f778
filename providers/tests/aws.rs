//! The AWS KMS provider against LocalStack: the whole conformance suite, one test per check,
//! plus AWS-specific behaviour (names as aliases, ids/ARNs/names as references, native
//! policies).
//!
//! `scripts/test.sh` starts LocalStack (`scripts/localstack.sh start`) and sets
//! `KEYGATE_TEST_AWS_ENDPOINT`; without it every test here prints why it skipped, to stderr.

use keygate_conformance::Setup;
use keygate_core::{
    Binding, CreateKeyRequest, DataKeySpec, EncryptionContext, ErrorKind, KeyProvider, KeySpec,
    NativePolicy, Policy, RotationSchedule,
};
use keygate_providers::aws::{AwsKmsBuilder, AwsKmsProvider};

/// The variable `scripts/localstack.sh start` prints and `scripts/test.sh` exports.
const ENDPOINT_VAR: &str = "KEYGATE_TEST_AWS_ENDPOINT";
/// LocalStack's default account.
const ACCOUNT: &str = "000000000000";

/// The provider on LocalStack, with the capabilities LocalStack 4.10 actually has.
async fn localstack() -> Setup<AwsKmsProvider> {
    let Ok(endpoint) = std::env::var(ENDPOINT_VAR) else {
        return Setup::Skip(format!(
            "{ENDPOINT_VAR} is not set; run `scripts/test.sh` (it starts LocalStack) or \
             `eval \"$(scripts/localstack.sh start)\"` first"
        ));
    };
    let mut caps = AwsKmsProvider::default_capabilities();
    // LocalStack keeps the first NextRotationDate when the period changes (EnableKeyRotation
    // sets it only when unset or past): after every 90 days then every 2560 days it still
    // answers "next rotation in 90 days", where KMS counts the new period. The schedule
    // roundtrip cannot pass there, so automatic rotation is declared absent. (Its lack of
    // ListKeyRotations — a 501 "not yet emulated" — the builder detects by itself.)
    caps.rotation_period = None;
    caps.scheduled_rotation_specs.clear();
    // LocalStack does no RSA-OAEP: Encrypt under an RSA key returns its symmetric blob, and
    // a tampered one is answered with a 500 InternalError ("Ciphertext length must be equal
    // to key size") instead of InvalidCiphertextException.
    caps.rsa_encryption = false;
    // For the same reason there is no raw RSA-OAEP: LocalStack 4.10's Encrypt under an RSA key
    // answers with its own AES-GCM blob (key id, IV and tag before the ciphertext: 116 bytes
    // for 32 bytes of plaintext), not the 256-byte RSA block KMS returns for RSA_2048.
    caps.raw_encryption.clear();
    // LocalStack ignores GenerateDataKey's KeySpec and NumberOfBytes (its `_generate_data_key`
    // always makes a 32-byte key), so only AES-256 data keys come out as asked (the provider
    // refuses a data key of the wrong size). KMS itself takes NumberOfBytes 1–1024, which the
    // default capabilities declare.
    caps.data_key_specs = vec![DataKeySpec::Aes256];
    caps.data_key_bytes = false;
    // Principals of LocalStack's account, which its key policies accept.
    caps.policy_sample = vec![
        Binding::actions(format!("arn:aws:iam::{ACCOUNT}:root"), ["kms:*"]),
        Binding::actions(
            format!("arn:aws:iam::{ACCOUNT}:role/kgc-app"),
            ["kms:Decrypt", "kms:Encrypt"],
        ),
    ];
    let provider = AwsKmsBuilder::new()
        .with_name("aws-test")
        .with_region("us-east-1")
        .with_endpoint_url(endpoint)
        .with_static_credentials("test", "test")
        // LocalStack lacks ListKeyRotations: know it before the checks read the capabilities.
        .with_probe_wait(std::time::Duration::from_secs(20))
        .with_capabilities(caps)
        .build()
        .await;
    match provider {
        Ok(p) => Setup::Ready(p),
        Err(e) => panic!("cannot build the AWS provider on LocalStack: {e}"),
    }
}

mod conformance {
    keygate_conformance::conformance_tests!(async { super::localstack().await });
}

/// Runs `body` with the LocalStack provider, or prints why not.
async fn with_provider<F, Fut>(test: &str, body: F)
where
    F: FnOnce(AwsKmsProvider) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    match localstack().await {
        Setup::Ready(p) => body(p).await,
        Setup::Skip(why) => {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
        }
    }
}

fn unique(tag: &str) -> String {
    format!(
        "kgt-{tag}-{}",
        uuid::Uuid::new_v4().simple().to_string().split_at(12).0
    )
}

#[tokio::test]
async fn names_are_aliases_and_every_reference_resolves() {
    with_provider(
        "names_are_aliases_and_every_reference_resolves",
        |p| async move {
            let name = unique("alias");
            let key = p
                .create_key(CreateKeyRequest::new(name.clone(), KeySpec::Aes256))
                .await
                .unwrap();
            assert_eq!(key.name, name);
            assert_ne!(key.id, name, "the id is the KMS key id, not the name");
            // The health probe (ListKeys, Limit=1) answers.
            p.probe().await.unwrap();
            assert_eq!(key.uri, format!("aws-kms://us-east-1/{}", key.id));
            let arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{}", key.id);
            for reference in [key.id.clone(), arn, name.clone(), format!("alias/{name}")] {
                let found = p.describe_key(&reference).await.unwrap();
                assert_eq!(found.id, key.id, "describe_key({reference})");
                assert_eq!(found.name, name);
            }
            // Encrypting by name and decrypting by id meet the same key.
            let ctx = EncryptionContext::new().with("tenant", "acme");
            let ct = p.encrypt(&name, b"by name", &ctx).await.unwrap();
            let pt = p
                .decrypt(Some(&key.id), None, &ct.bytes, &ctx)
                .await
                .unwrap();
            assert_eq!(pt.as_slice(), b"by name");
            // Versions: LocalStack has no ListKeyRotations, so an AES key has one current version.
            assert!(!p.capabilities().list_versions);
            assert_eq!(
                p.list_versions(&key.id).await.unwrap_err().kind(),
                ErrorKind::Unsupported
            );
            assert_eq!(key.primary_version.as_deref(), Some("current"));
            // rotate_key still rotates: old ciphertexts decrypt, new ones too.
            p.rotate_key(&key.id).await.unwrap();
            let pt = p.decrypt(None, None, &ct.bytes, &ctx).await.unwrap();
            assert_eq!(pt.as_slice(), b"by name");
            p.schedule_deletion(&key.id, 7).await.unwrap();
        },
    )
    .await;
}

#[tokio::test]
async fn names_kms_cannot_alias_are_invalid() {
    with_provider("names_kms_cannot_alias_are_invalid", |p| async move {
        for name in ["has.dot", "-leading"] {
            let err = p
                .create_key(CreateKeyRequest::new(name, KeySpec::Aes256))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{name}");
        }
    })
    .await;
}

#[tokio::test]
async fn native_policy_is_kept_and_put_verbatim() {
    with_provider("native_policy_is_kept_and_put_verbatim", |p| async move {
        let key = p
            .create_key(CreateKeyRequest::new(unique("policy"), KeySpec::Aes256))
            .await
            .unwrap();
        let default = p.get_key_policy(&key.id).await.unwrap();
        let native = default.native.clone().unwrap();
        assert_eq!(native.format, "aws-key-policy");
        assert!(
            default.bindings.contains(&Binding::actions(
                format!("arn:aws:iam::{ACCOUNT}:root"),
                ["kms:*"]
            )),
            "the default key policy grants the account root kms:*: {default:?}"
        );

        // A statement with a condition has no unified form, but survives a verbatim put.
        let document = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")},
                 "Action": "kms:*", "Resource": "*"},
                {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:role/x")},
                 "Action": "kms:Decrypt", "Resource": "*",
                 "Condition": {"StringEquals": {"kms:EncryptionContext:tenant": "acme"}}}
            ]
        });
        let stored = p
            .set_key_policy(
                &key.id,
                Policy {
                    native: Some(NativePolicy {
                        format: "aws-key-policy".into(),
                        document: document.clone(),
                    }),
                    ..Policy::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(stored.native.unwrap().document, document);
        assert_eq!(stored.bindings.len(), 1);

        let err = p
            .set_key_policy(
                &key.id,
                Policy::from_bindings(vec![Binding::role("x", "viewer")]),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        p.schedule_deletion(&key.id, 7).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn rotation_schedules_map_to_key_rotation() {
    // The conformance run declares automatic rotation absent (LocalStack's NextRotationDate
    // does not follow a period change); enabling, reading and disabling still work there.
    let Ok(endpoint) = std::env::var(ENDPOINT_VAR) else {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED rotation_schedules_map_to_key_rotation: {ENDPOINT_VAR} is not set"
        );
        return;
    };
    let p = AwsKmsBuilder::new()
        .with_region("us-east-1")
        .with_endpoint_url(endpoint)
        .with_static_credentials("test", "test")
        // LocalStack lacks ListKeyRotations: know it before the checks read the capabilities.
        .with_probe_wait(std::time::Duration::from_secs(20))
        .build()
        .await
        .unwrap();
    let req = CreateKeyRequest {
        rotation: Some(RotationSchedule::every(180)),
        ..CreateKeyRequest::new(unique("rotation"), KeySpec::Aes256)
    };
    let key = p.create_key(req).await.unwrap();
    let schedule = key.rotation.unwrap();
    assert_eq!(schedule.period_days, 180);
    let next = schedule.next_rotation.unwrap();
    let expected = time::OffsetDateTime::now_utc() + time::Duration::days(180);
    assert!((next - expected).abs() < time::Duration::days(1), "{next}");

    for days in [89, 2561] {
        let err = p
            .set_rotation(&key.id, Some(RotationSchedule::every(days)))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{days} days");
    }
    assert_eq!(p.set_rotation(&key.id, None).await.unwrap(), None);
    assert_eq!(p.get_rotation(&key.id).await.unwrap(), None);

    // Only symmetric keys rotate in KMS.
    let ec = p
        .create_key(CreateKeyRequest::new(
            unique("rotation-ec"),
            KeySpec::EcP256,
        ))
        .await
        .unwrap();
    let err = p
        .set_rotation(&ec.id, Some(RotationSchedule::every(90)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        p.rotate_key(&ec.id).await.unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    for id in [&key.id, &ec.id] {
        p.schedule_deletion(id, 7).await.unwrap();
    }
}

#[tokio::test]
async fn unreachable_endpoint_builds_and_its_calls_are_unavailable() {
    // No LocalStack needed: nothing listens on port 9 of localhost. Building must not fail
    // (one dead cloud must not stop keygate); every call says the endpoint is unavailable.
    let p = AwsKmsBuilder::new()
        .with_region("us-east-1")
        .with_endpoint_url("http://127.0.0.1:9")
        .with_static_credentials("test", "test")
        .with_max_attempts(1)
        .build()
        .await
        .unwrap();
    let err = p.describe_key("anything").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let err = p.probe().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
}

/// Imported key material passes through to KMS: a key of origin EXTERNAL waits for material,
/// takes material wrapped for KMS's own wrapping key, and waits again once it is deleted.
#[tokio::test]
async fn imported_material_passes_through() {
    use keygate_core::import::wrap_material;
    use keygate_core::{ImportedMaterial, KeyOrigin, KeyState, WrappingAlgorithm, WrappingKeySpec};
    with_provider("imported_material_passes_through", |p| async move {
        let name = unique("byok");
        let key = p
            .create_key(CreateKeyRequest {
                origin: KeyOrigin::External,
                ..CreateKeyRequest::new(name.clone(), KeySpec::Aes256)
            })
            .await
            .unwrap();
        assert_eq!(key.state, KeyState::PendingImport);
        assert_eq!(key.origin(), KeyOrigin::External);
        let alg = WrappingAlgorithm::RsaesOaepSha256;
        let import = |material: [u8; 32]| {
            let p = &p;
            let id = key.id.clone();
            async move {
                let params = p
                    .import_parameters(&id, alg, WrappingKeySpec::Rsa2048)
                    .await
                    .unwrap();
                p.import_material(
                    &id,
                    ImportedMaterial {
                        encrypted_material: wrap_material(&params.public_key, alg, &material)
                            .unwrap(),
                        import_token: params.import_token,
                        valid_to: None,
                    },
                )
                .await
            }
        };
        let imported = import([0x11; 32]).await.unwrap();
        assert_eq!(imported.state, KeyState::Enabled);
        let ctx = EncryptionContext::new();
        let ct = p.encrypt(&key.id, b"byok", &ctx).await.unwrap();
        let deleted = p.delete_imported_material(&key.id).await.unwrap();
        assert_eq!(deleted.state, KeyState::PendingImport);
        import([0x11; 32]).await.unwrap();
        let pt = p
            .decrypt(Some(&key.id), None, &ct.bytes, &ctx)
            .await
            .unwrap();
        assert_eq!(pt.as_slice(), b"byok");
    })
    .await;
}
