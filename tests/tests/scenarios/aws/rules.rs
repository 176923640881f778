//! AWS KMS's errors and rules through aws-sdk-kms: `InvalidKeyUsageException` for a key
//! used for what its usage or spec does not allow, rotation of symmetric encryption keys
//! only, operations that take a key id or key ARN but no alias, AWS's alias-name pattern,
//! the key looked up before `NumberOfBytes` is judged, and GetPublicKey's and
//! RotateKeyOnDemand's answers.
//!
//! One sequence runs against keygate's AWS door and, when `KEYGATE_TEST_AWS_ENDPOINT` names
//! a LocalStack, against LocalStack too; each step states AWS's answer and, where LocalStack
//! answers otherwise, LocalStack's beside it (LocalStack 4 serves every operation here but
//! enforces none of these rules and takes aliases everywhere; it answers an ECDSA key asked
//! for RSASSA_PSS with `InternalError`, PutKeyPolicy by alias with
//! `UnsupportedOperationException`, and answers GetPublicKey of a symmetric key).

use aws_sdk_kms::Client;
use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    EncryptionAlgorithmSpec, KeySpec, KeyUsageType, MacAlgorithmSpec, SigningAlgorithmSpec,
};
use keygate_core::audit::AuditOutcome;

use super::{audit, client, create};
use crate::support::TestGateway;

/// `ok`, or the AWS error code of a failed call.
fn outcome<T, E: ProvideErrorMetadata>(result: Result<T, E>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(e) => e.code().unwrap_or("<no code>").to_owned(),
    }
}

const USAGE: &str = "InvalidKeyUsageException";
const UNSUPPORTED: &str = "UnsupportedOperationException";
const NOT_FOUND: &str = "NotFoundException";

/// Which service the sequence runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Against {
    Keygate,
    LocalStack,
}

/// The keys of the sequence.
struct Keys {
    sym: String,
    rsa_enc: String,
    rsa_sign: String,
    ec: String,
    mac: String,
}

async fn keys(c: &Client) -> Keys {
    Keys {
        sym: create(c, KeySpec::SymmetricDefault, None).await,
        rsa_enc: create(c, KeySpec::Rsa2048, Some(KeyUsageType::EncryptDecrypt)).await,
        rsa_sign: create(c, KeySpec::Rsa2048, Some(KeyUsageType::SignVerify)).await,
        ec: create(c, KeySpec::EccNistP256, Some(KeyUsageType::SignVerify)).await,
        mac: create(c, KeySpec::Hmac256, Some(KeyUsageType::GenerateVerifyMac)).await,
    }
}

/// Runs every step and checks each answer: AWS's, or LocalStack's where it differs.
async fn sequence(c: &Client, against: Against, alias_prefix: &str) -> Keys {
    let k = keys(c).await;
    let msg = || Blob::new("message");
    let sign = |key: &str, alg: SigningAlgorithmSpec| {
        c.sign()
            .key_id(key)
            .message(msg())
            .signing_algorithm(alg)
            .send()
    };
    let encrypt = |key: &str, alg: Option<EncryptionAlgorithmSpec>| {
        c.encrypt()
            .key_id(key)
            .plaintext(msg())
            .set_encryption_algorithm(alg)
            .send()
    };
    let mac = |key: &str, alg: MacAlgorithmSpec| {
        c.generate_mac()
            .key_id(key)
            .message(msg())
            .mac_algorithm(alg)
            .send()
    };
    let pss = SigningAlgorithmSpec::RsassaPssSha256;
    let oaep = || Some(EncryptionAlgorithmSpec::RsaesOaepSha256);
    let team = format!("alias/{alias_prefix}team/app");
    let mut steps: Vec<(&str, String, &str, Option<&str>)> = Vec::new();
    let mut step =
        |name: &'static str, got: String, aws: &'static str, ls: Option<&'static str>| {
            steps.push((name, got, aws, ls));
        };

    // Usage: the key's KeyUsage is incompatible with the operation.
    step(
        "Sign, symmetric key",
        outcome(sign(&k.sym, pss.clone()).await),
        USAGE,
        None,
    );
    step(
        "Sign, RSA ENCRYPT_DECRYPT key",
        outcome(sign(&k.rsa_enc, pss.clone()).await),
        USAGE,
        None,
    );
    let verify = c
        .verify()
        .key_id(&k.sym)
        .message(msg())
        .signature(Blob::new(vec![0u8; 64]))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await;
    step("Verify, symmetric key", outcome(verify), USAGE, None);
    step(
        "GenerateMac, ECC key",
        outcome(mac(&k.ec, MacAlgorithmSpec::HmacSha256).await),
        USAGE,
        None,
    );
    let verify_mac = c
        .verify_mac()
        .key_id(&k.sym)
        .message(msg())
        .mac(Blob::new(vec![0u8; 32]))
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await;
    step("VerifyMac, symmetric key", outcome(verify_mac), USAGE, None);
    step(
        "Encrypt, ECC signing key",
        outcome(encrypt(&k.ec, None).await),
        USAGE,
        None,
    );
    step(
        "Encrypt, HMAC key",
        outcome(encrypt(&k.mac, None).await),
        USAGE,
        None,
    );
    step(
        "Encrypt, RSA signing key",
        outcome(encrypt(&k.rsa_sign, oaep()).await),
        USAGE,
        None,
    );
    // Algorithm against key spec.
    step(
        "Encrypt, RSA key, no EncryptionAlgorithm",
        outcome(encrypt(&k.rsa_enc, None).await),
        USAGE,
        Some("ok"),
    );
    step(
        "Encrypt, AES key, RSAES_OAEP_SHA_256",
        outcome(encrypt(&k.sym, oaep()).await),
        USAGE,
        Some("ok"),
    );
    step(
        "Encrypt, RSA key, RSAES_OAEP_SHA_256",
        outcome(encrypt(&k.rsa_enc, oaep()).await),
        "ok",
        None,
    );
    let dk = c
        .generate_data_key()
        .key_id(&k.rsa_enc)
        .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
        .send()
        .await;
    step("GenerateDataKey, RSA key", outcome(dk), USAGE, Some("ok"));
    let dk = c
        .generate_data_key_without_plaintext()
        .key_id(&k.mac)
        .number_of_bytes(32)
        .send()
        .await;
    step(
        "GenerateDataKeyWithoutPlaintext, HMAC key",
        outcome(dk),
        USAGE,
        None,
    );
    step(
        "Sign, ECC key, RSASSA_PSS_SHA_256",
        outcome(sign(&k.ec, pss.clone()).await),
        USAGE,
        Some("InternalError"),
    );
    step(
        "GenerateMac, HMAC_256 key, HMAC_SHA_512",
        outcome(mac(&k.mac, MacAlgorithmSpec::HmacSha512).await),
        USAGE,
        None,
    );

    // Rotation: symmetric encryption keys only.
    let r = c.enable_key_rotation().key_id(&k.rsa_enc).send().await;
    step(
        "EnableKeyRotation, RSA key",
        outcome(r),
        UNSUPPORTED,
        Some("ok"),
    );
    let r = c.enable_key_rotation().key_id(&k.mac).send().await;
    step(
        "EnableKeyRotation, HMAC key",
        outcome(r),
        UNSUPPORTED,
        Some("ok"),
    );
    let r = c.get_key_rotation_status().key_id(&k.ec).send().await;
    step(
        "GetKeyRotationStatus, ECC key",
        outcome(r),
        UNSUPPORTED,
        Some("ok"),
    );
    let r = c.disable_key_rotation().key_id(&k.mac).send().await;
    step(
        "DisableKeyRotation, HMAC key",
        outcome(r),
        UNSUPPORTED,
        Some("ok"),
    );
    let r = c.rotate_key_on_demand().key_id(&k.rsa_sign).send().await;
    step("RotateKeyOnDemand, RSA key", outcome(r), UNSUPPORTED, None);

    // Alias names: `/` allowed, `.` refused, `alias/aws/` reserved.
    let r = c
        .create_alias()
        .alias_name(&team)
        .target_key_id(&k.sym)
        .send()
        .await;
    step("CreateAlias alias/…/team/app", outcome(r), "ok", None);
    let r = c
        .create_alias()
        .alias_name(format!("alias/{alias_prefix}pay.v1"))
        .target_key_id(&k.sym)
        .send()
        .await;
    step(
        "CreateAlias with a `.`",
        outcome(r),
        "ValidationException",
        Some("ok"),
    );
    let r = c
        .create_alias()
        .alias_name(format!("alias/aws/{alias_prefix}mine"))
        .target_key_id(&k.sym)
        .send()
        .await;
    step(
        "CreateAlias alias/aws/…",
        outcome(r),
        "NotAuthorizedException",
        Some("ok"),
    );
    let r = c.describe_key().key_id(&team).send().await;
    step("DescribeKey by alias", outcome(r), "ok", None);
    let r = c.encrypt().key_id(&team).plaintext(msg()).send().await;
    step("Encrypt by alias", outcome(r), "ok", None);

    // Operations that take only a key id or key ARN.
    let r = c.enable_key_rotation().key_id(&team).send().await;
    step(
        "EnableKeyRotation by alias",
        outcome(r),
        NOT_FOUND,
        Some("ok"),
    );
    let r = c.get_key_rotation_status().key_id(&team).send().await;
    step(
        "GetKeyRotationStatus by alias",
        outcome(r),
        NOT_FOUND,
        Some("ok"),
    );
    let r = c.get_key_policy().key_id(&team).send().await;
    step("GetKeyPolicy by alias", outcome(r), NOT_FOUND, None);
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:*","Resource":"*"}]}"#;
    let r = c.put_key_policy().key_id(&team).policy(policy).send().await;
    step(
        "PutKeyPolicy by alias",
        outcome(r),
        NOT_FOUND,
        Some(UNSUPPORTED),
    );
    let r = c
        .create_alias()
        .alias_name(format!("alias/{alias_prefix}second"))
        .target_key_id(&team)
        .send()
        .await;
    step(
        "CreateAlias targeting an alias",
        outcome(r),
        NOT_FOUND,
        Some("ok"),
    );
    // The calls that change a key go through an alias of a spare key: LocalStack accepts
    // the alias and acts on the key.
    let spare = create(c, KeySpec::SymmetricDefault, None).await;
    let spare_alias = format!("alias/{alias_prefix}spare");
    c.create_alias()
        .alias_name(&spare_alias)
        .target_key_id(&spare)
        .send()
        .await
        .unwrap();
    let tag = aws_sdk_kms::types::Tag::builder()
        .tag_key("k")
        .tag_value("v")
        .build()
        .unwrap();
    let r = c.tag_resource().key_id(&spare_alias).tags(tag).send().await;
    step("TagResource by alias", outcome(r), NOT_FOUND, Some("ok"));
    let r = c.disable_key().key_id(&spare_alias).send().await;
    step("DisableKey by alias", outcome(r), NOT_FOUND, Some("ok"));
    let r = c
        .schedule_key_deletion()
        .key_id(&spare_alias)
        .pending_window_in_days(7)
        .send()
        .await;
    step(
        "ScheduleKeyDeletion by alias",
        outcome(r),
        NOT_FOUND,
        Some("ok"),
    );

    // The key is looked up before NumberOfBytes is judged.
    let r = c
        .generate_data_key()
        .key_id("00000000-0000-4000-8000-000000000000")
        .number_of_bytes(5)
        .send()
        .await;
    step(
        "GenerateDataKey, unknown key, 5 bytes",
        outcome(r),
        NOT_FOUND,
        None,
    );
    let r = c.get_public_key().key_id(&k.sym).send().await;
    step(
        "GetPublicKey, symmetric key",
        outcome(r),
        UNSUPPORTED,
        Some("ok"),
    );

    let failures: Vec<String> = steps
        .iter()
        .filter_map(|(name, got, aws, ls)| {
            let want = match against {
                Against::LocalStack => ls.unwrap_or(aws),
                Against::Keygate => aws,
            };
            (got != want).then(|| format!("{name}: got {got}, want {want}"))
        })
        .collect();
    assert!(failures.is_empty(), "{against:?}:\n{}", failures.join("\n"));
    k
}

/// The answers AWS documents for GetPublicKey and RotateKeyOnDemand.
async fn answers(c: &Client, k: &Keys) {
    let enc = c.get_public_key().key_id(&k.rsa_enc).send().await.unwrap();
    assert_eq!(enc.key_spec(), Some(&KeySpec::Rsa2048));
    assert_eq!(enc.key_usage(), Some(&KeyUsageType::EncryptDecrypt));
    assert!(
        enc.encryption_algorithms()
            .contains(&EncryptionAlgorithmSpec::RsaesOaepSha256),
        "{enc:?}"
    );
    assert!(enc.signing_algorithms().is_empty(), "{enc:?}");
    let sign = c.get_public_key().key_id(&k.rsa_sign).send().await.unwrap();
    assert_eq!(sign.key_usage(), Some(&KeyUsageType::SignVerify));
    assert!(
        sign.signing_algorithms()
            .contains(&SigningAlgorithmSpec::RsassaPssSha256),
        "{sign:?}"
    );
    assert!(sign.encryption_algorithms().is_empty(), "{sign:?}");
    let ec = c.get_public_key().key_id(&k.ec).send().await.unwrap();
    assert_eq!(ec.key_usage(), Some(&KeyUsageType::SignVerify));
    assert_eq!(ec.key_spec(), Some(&KeySpec::EccNistP256));

    let rotated = c
        .rotate_key_on_demand()
        .key_id(&k.sym)
        .send()
        .await
        .unwrap();
    assert_eq!(
        rotated.key_id(),
        Some(k.sym.as_str()),
        "the key id, not the ARN"
    );
}

#[tokio::test]
async fn aws_sdk_meets_aws_errors_and_rules_at_keygate() {
    let gw = TestGateway::start().await;
    let c = client(&gw, "ops", "admin").await;
    let k = sequence(&c, Against::Keygate, "").await;
    answers(&c, &k).await;
    // Each refusal for the key's usage is audited with its kind, before any crypto.
    let rows = audit(&gw).await;
    let refused: Vec<_> = rows
        .iter()
        .filter(|e| e.error_kind.as_deref() == Some("invalid_key_usage"))
        .collect();
    assert!(refused.len() >= 13, "{refused:#?}");
    assert!(refused.iter().all(|e| e.outcome == AuditOutcome::Failure));
    assert!(refused.iter().any(|e| e.action == "crypto:sign"));
    assert!(
        refused
            .iter()
            .any(|e| e.action == "crypto:generate-data-key")
    );
    gw.stop().await;
}

#[tokio::test]
async fn aws_sdk_meets_the_same_rules_at_localstack() {
    let Ok(endpoint) = std::env::var("KEYGATE_TEST_AWS_ENDPOINT") else {
        eprintln!("skipped: KEYGATE_TEST_AWS_ENDPOINT is not set (no LocalStack)");
        return;
    };
    let config = aws_sdk_kms::Config::builder()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "localstack"))
        .behavior_version(BehaviorVersion::latest())
        .build();
    let c = Client::from_conf(config);
    // Aliases are account-wide at LocalStack: a fresh prefix per run.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let prefix = format!("kg{now}/");
    let k = sequence(&c, Against::LocalStack, &prefix).await;
    answers(&c, &k).await;
}
