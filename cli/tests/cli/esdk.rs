//! AWS Encryption SDK messages between keygate and the official `aws-encryption-cli`
//! (Python), both ways, through keygate's AWS door: `keygate serve` runs, the SDK's KMS
//! client is pointed at it (`AWS_ENDPOINT_URL_KMS`) with an access key from
//! `token create --aws`.
//!
//! `scripts/test.sh` installs the SDK and its CLI (scripts/esdk.sh) and sets
//! `KEYGATE_TEST_ESDK_CLI`; without it the test says why it skipped.

use std::path::Path;
use std::process::Command;

use keygate_core::esdk::{AWS_KMS_PROVIDER_ID, MessageHeader};

use super::Home;
use super::remote::Server;

const CLI_VAR: &str = "KEYGATE_TEST_ESDK_CLI";

/// Runs `aws-encryption-cli` against keygate's AWS door at `url` with the access key
/// `(akid, secret)`; asserts success.
fn esdk(cli: &str, url: &str, (akid, secret): (&str, &str), args: &[&str]) {
    let out = Command::new(cli)
        .args(args)
        .args([
            "--commitment-policy",
            "require-encrypt-require-decrypt",
            "-S",
        ])
        .env("AWS_ENDPOINT_URL_KMS", url)
        .env("AWS_ACCESS_KEY_ID", akid)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "aws-encryption-cli {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn access_key(home: &Home) -> (String, String) {
    let out = home.ok(
        &[
            "token",
            "create",
            "--principal",
            "esdk-app",
            "--role",
            "app",
            "--aws",
        ],
        b"",
    );
    let text = String::from_utf8(out).unwrap();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .to_owned()
    };
    (
        field("aws_access_key_id = "),
        field("aws_secret_access_key = "),
    )
}

/// The `aws-kms` ARNs a message names, in order.
fn arns(message: &[u8]) -> Vec<String> {
    let parsed = MessageHeader::read_from(&mut &message[..]).unwrap();
    parsed
        .header
        .data_keys
        .iter()
        .map(|k| {
            assert_eq!(k.provider_id, AWS_KMS_PROVIDER_ID);
            k.info_text().unwrap().to_owned()
        })
        .collect()
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_owned()
}

#[test]
fn esdk_messages_cross_with_the_aws_encryption_cli() {
    let Ok(cli) = std::env::var(CLI_VAR) else {
        eprintln!(
            "SKIPPED esdk_messages_cross_with_the_aws_encryption_cli: {CLI_VAR} is not set; \
             run scripts/test.sh (scripts/esdk.sh installs the AWS Encryption SDK CLI)"
        );
        return;
    };
    let home = Home::new();
    let server = Server::start(&home);
    let files = tempfile::tempdir().unwrap();
    // The access key's role `app` may use keys labelled with its principal.
    for name in ["esdk-a", "esdk-b"] {
        home.ok(
            &[
                "keys",
                "create",
                name,
                "--spec",
                "AES_256",
                "--label",
                "app=esdk-app",
            ],
            b"",
        );
    }
    let (akid, secret) = access_key(&home);
    let creds = (akid.as_str(), secret.as_str());
    // Three frames of 4096 bytes, the last one short.
    let plain: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(path(files.path(), "plain"), &plain).unwrap();

    // keygate → the SDK: two keys, two data keys; the SDK opens it with either alone.
    let sealed = home.ok(
        &[
            "encrypt",
            "--format",
            "esdk",
            "--key",
            "esdk-a",
            "--key",
            "local://esdk-b",
            "--context",
            "purpose=test",
        ],
        &plain,
    );
    assert_eq!(&sealed[..3], &[0x02, 0x05, 0x78]);
    let named = arns(&sealed);
    assert_eq!(named.len(), 2);
    for arn in &named {
        assert!(
            arn.starts_with("arn:aws:kms:us-east-1:000000000000:key/"),
            "{arn}"
        );
    }
    assert_ne!(named[0], named[1]);
    let sealed_file = path(files.path(), "sealed");
    std::fs::write(&sealed_file, &sealed).unwrap();
    for (i, arn) in named.iter().enumerate() {
        let out = path(files.path(), &format!("opened-{i}"));
        let key = format!("key={arn}");
        esdk(
            &cli,
            &server.url,
            creds,
            &[
                "--decrypt",
                "-i",
                &sealed_file,
                "-o",
                &out,
                "--wrapping-keys",
                &key,
                "--encryption-context",
                "purpose=test",
            ],
        );
        assert_eq!(std::fs::read(&out).unwrap(), plain, "opened with {arn}");
    }
    // Against the running gateway (REST) too: the ARN comes from `/v1/keys/{key}/aws-arn`.
    let bearer = super::remote::token(&home, "esdk-ops", "admin");
    let remote = ["--gateway", server.url.as_str(), "--token", bearer.as_str()];
    let sealed_remotely = home.ok(
        &[
            &remote[..],
            &["encrypt", "--format", "esdk", "--key", "esdk-b"],
        ]
        .concat(),
        &plain,
    );
    assert_eq!(arns(&sealed_remotely), vec![named[1].clone()]);
    assert_eq!(
        home.ok(&[&remote[..], &["decrypt"]].concat(), &sealed_remotely),
        plain
    );

    // The unsigned committing suite too.
    let unsigned = home.ok(
        &[
            "encrypt",
            "--format",
            "esdk",
            "--key",
            "esdk-a",
            "--algorithm",
            "AES_256_GCM_HKDF_SHA512_COMMIT_KEY",
        ],
        &plain,
    );
    assert_eq!(&unsigned[..3], &[0x02, 0x04, 0x78]);
    let unsigned_file = path(files.path(), "unsigned");
    std::fs::write(&unsigned_file, &unsigned).unwrap();
    let out = path(files.path(), "opened-unsigned");
    esdk(
        &cli,
        &server.url,
        creds,
        &[
            "--decrypt",
            "-i",
            &unsigned_file,
            "-o",
            &out,
            "--wrapping-keys",
            "discovery=true",
        ],
    );
    assert_eq!(std::fs::read(&out).unwrap(), plain);

    // The SDK → keygate: a message under both keys opens with `keygate decrypt`, by either.
    let made = path(files.path(), "made-by-sdk");
    let key_a = format!("key={}", named[0]);
    let key_b = format!("key={}", named[1]);
    esdk(
        &cli,
        &server.url,
        creds,
        &[
            "--encrypt",
            "-i",
            &path(files.path(), "plain"),
            "-o",
            &made,
            "--wrapping-keys",
            &key_a,
            &key_b,
            "--encryption-context",
            "purpose=sdk",
        ],
    );
    let message = std::fs::read(&made).unwrap();
    let mut theirs = arns(&message);
    theirs.sort();
    let mut ours = named.clone();
    ours.sort();
    assert_eq!(theirs, ours);
    assert_eq!(home.ok(&["decrypt"], &message), plain);
    assert_eq!(
        home.ok(&["decrypt", "--context", "purpose=sdk"], &message),
        plain
    );
    assert_eq!(home.ok(&["decrypt", "--key", "esdk-b"], &message), plain);
    let refused = home.fails(&["decrypt", "--context", "purpose=other"], &message);
    assert!(refused.contains("purpose=other"), "{refused}");
    // A key the message is not under opens nothing.
    home.ok(&["keys", "create", "esdk-c", "--spec", "AES_256"], b"");
    home.fails(&["decrypt", "--key", "esdk-c"], &message);
    // One changed body byte fails the whole message, and no output is left.
    let mut tampered = message.clone();
    let at = tampered.len() - 200;
    tampered[at] ^= 1;
    home.fails(&["decrypt"], &tampered);
    drop(server);
}

/// A message the SDK made with AWS KMS itself (LocalStack) opens with `keygate decrypt` when
/// an AWS provider in keygate holds the key: the data key's ARN names it.
#[test]
fn esdk_messages_made_with_aws_kms_open_through_the_aws_provider() {
    let (Ok(cli), Ok(endpoint)) = (
        std::env::var(CLI_VAR),
        std::env::var("KEYGATE_TEST_AWS_ENDPOINT"),
    ) else {
        eprintln!(
            "SKIPPED esdk_messages_made_with_aws_kms_open_through_the_aws_provider: \
             {CLI_VAR} or KEYGATE_TEST_AWS_ENDPOINT is not set; run scripts/test.sh"
        );
        return;
    };
    let home = Home::new();
    std::fs::write(
        home.path().join("keygate.toml"),
        format!(
            "[providers.local]\n\n[providers.aws]\nregion = \"us-east-1\"\nendpoint_url = \"{endpoint}\"\nprobe_wait_ms = 20000\n"
        ),
    )
    .unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let created = home.json(&[
        "keys",
        "create",
        &format!("esdk-kms-{nanos}"),
        "--provider",
        "aws",
        "--spec",
        "AES_256",
        "--output",
        "json",
    ]);
    let uri = created["uri"].as_str().unwrap().to_owned();
    let id = uri.strip_prefix("aws-kms://us-east-1/").unwrap();
    let arn = format!("arn:aws:kms:us-east-1:000000000000:key/{id}");

    let files = tempfile::tempdir().unwrap();
    let plain: Vec<u8> = (0..5000u32).map(|i| (i * 13 % 251) as u8).collect();
    let input = path(files.path(), "plain");
    std::fs::write(&input, &plain).unwrap();
    let made = path(files.path(), "made-with-kms");
    let key = format!("key={arn}");
    // LocalStack takes any credentials.
    esdk(
        &cli,
        &endpoint,
        ("test", "test"),
        &[
            "--encrypt",
            "-i",
            &input,
            "-o",
            &made,
            "--wrapping-keys",
            &key,
            "--encryption-context",
            "purpose=kms",
        ],
    );
    let message = std::fs::read(&made).unwrap();
    assert_eq!(arns(&message), vec![arn]);
    assert_eq!(home.ok(&["decrypt"], &message), plain);
    assert_eq!(home.ok(&["decrypt", "--key", &uri], &message), plain);
}
