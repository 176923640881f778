//! The CLI over a local provider and AWS KMS (LocalStack) registered together in
//! `keygate.toml`: one listing, and the key lifecycle on an AWS key.
//!
//! `scripts/test.sh` starts LocalStack and sets `KEYGATE_TEST_AWS_ENDPOINT`; without it the
//! test says why it skipped.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::Home;

const ENDPOINT_VAR: &str = "KEYGATE_TEST_AWS_ENDPOINT";

#[test]
fn local_and_aws_keys_are_managed_together() {
    let Ok(endpoint) = std::env::var(ENDPOINT_VAR) else {
        eprintln!(
            "SKIPPED local_and_aws_keys_are_managed_together: {ENDPOINT_VAR} is not set; run scripts/test.sh"
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
    // LocalStack outlives one test run's homes: a fresh name per run.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!("cli-e2e-{nanos}");

    let local = home.json(&[
        "keys", "create", "books", "--spec", "AES_256", "--output", "json",
    ]);
    assert_eq!(local["provider"], "local");
    let aws = home.json(&[
        "keys",
        "create",
        &name,
        "--provider",
        "aws",
        "--spec",
        "AES_256",
        "--label",
        "team=pay",
        "--output",
        "json",
    ]);
    assert_eq!(aws["provider"], "aws");
    let uri = aws["uri"].as_str().unwrap().to_owned();
    assert!(uri.starts_with("aws-kms://us-east-1/"), "{uri}");
    assert_eq!(aws["name"], name.as_str());
    assert_eq!(aws["labels"]["team"], "pay");

    // One listing over both providers.
    let listed = home.json(&["keys", "list", "--output", "json"]);
    let uris: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["uri"].as_str())
        .collect();
    assert!(uris.contains(&"local://books"), "{uris:?}");
    assert!(uris.contains(&uri.as_str()), "{uris:?}");

    // Envelope encryption through KMS, by name and by URI.
    let sealed = home.ok(
        &["encrypt", "--key", &name, "--context", "order=7"],
        b"hi from kms",
    );
    let opened = home.ok(&["decrypt", "--context", "order=7"], &sealed);
    assert_eq!(opened, b"hi from kms");
    let opened = home.ok(&["decrypt", "--key", &uri], &sealed);
    assert_eq!(opened, b"hi from kms");

    // Rotation on demand; old envelopes still open.
    home.ok(&["keys", "rotate", &name], b"");
    assert_eq!(home.ok(&["decrypt"], &sealed), b"hi from kms");

    // Policy edit: the native key policy, extended with one more statement.
    let policy = home.json(&["keys", "policy", &name]);
    assert_eq!(policy["native"]["format"], "aws-key-policy");
    let mut document = policy["native"]["document"].clone();
    let principal = "arn:aws:iam::000000000000:role/keygate-e2e";
    document["Statement"].as_array_mut().unwrap().push(json!({
        "Sid": "keygate-e2e",
        "Effect": "Allow",
        "Principal": { "AWS": principal },
        "Action": ["kms:Decrypt"],
        "Resource": "*"
    }));
    let edited = json!({ "native": { "format": "aws-key-policy", "document": document } });
    home.ok(
        &["keys", "policy", &name, "--set", "-"],
        edited.to_string().as_bytes(),
    );
    let policy = home.json(&["keys", "policy", &name]);
    let principals: Vec<&str> = policy["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["principal"].as_str())
        .collect();
    assert!(principals.contains(&principal), "{policy}");

    // Deletion within KMS's 7–30 day window, then cancelled (back disabled, as in KMS).
    let refused = home.run_with(&["keys", "delete", &name, "--in", "3"], b"");
    assert_eq!(refused.status.code(), Some(1));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("7"), "{message}");
    let deleting = home.json(&["keys", "delete", &name, "--in", "7", "--output", "json"]);
    assert_eq!(deleting["state"], "pending_deletion");
    assert!(deleting["deletion_date"].is_string());
    let back = home.json(&["keys", "undelete", &name, "--output", "json"]);
    assert_eq!(back["state"], "disabled");
    // Clean up: leave the key scheduled for deletion in LocalStack.
    home.ok(&["keys", "delete", &name, "--in", "7"], b"");
}

#[test]
fn an_unreachable_cloud_does_not_stop_the_other_providers() {
    // Nothing listens on port 9: the AWS provider is down, the local one still answers.
    let home = Home::new();
    std::fs::write(
        home.path().join("keygate.toml"),
        "[providers.local]\n\n[providers.aws]\nregion = \"us-east-1\"\nendpoint_url = \"http://127.0.0.1:9\"\nmax_attempts = 1\n",
    )
    .unwrap();
    home.ok(&["keys", "create", "books", "--spec", "AES_256"], b"");
    let out = home.run_with(&["keys", "list", "--output", "json"], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed[0]["uri"], "local://books");
    let warning = String::from_utf8_lossy(&out.stderr);
    assert!(warning.contains("aws"), "{warning}");
    let failed = home.run_with(
        &[
            "keys",
            "create",
            "x",
            "--provider",
            "aws",
            "--spec",
            "AES_256",
        ],
        b"",
    );
    assert_eq!(failed.status.code(), Some(1));
}
