//! `token`, `policy` and `audit` against the embedded gateway.

use serde_json::Value;

use super::Home;

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

#[test]
fn tokens_are_shown_once_and_listed_without_secrets() {
    let home = Home::new();
    let out = home.run_with(
        &["token", "create", "--principal", "billing", "--role", "app"],
        b"",
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let token = text(out.stdout).trim().to_owned();
    assert!(token.starts_with("kgt_"), "{token}");
    let (id, secret) = token.trim_start_matches("kgt_").split_once('.').unwrap();
    assert!(!secret.is_empty());
    assert!(stderr.contains("only this once"), "{stderr}");

    let issued = home.json(&[
        "token",
        "create",
        "--principal",
        "ops",
        "--role",
        "operator",
        "--expires-in",
        "30",
        "--output",
        "json",
    ]);
    let second = issued["token"].as_str().unwrap().to_owned();
    assert_eq!(issued["principal"], "ops");
    assert!(issued["expires"].is_string());

    let table = text(home.ok(&["token", "list"], b""));
    let json = text(home.ok(&["token", "list", "--output", "json"], b""));
    for listing in [&table, &json] {
        assert!(listing.contains(id), "{listing}");
        assert!(listing.contains("billing"), "{listing}");
        assert!(!listing.contains(secret), "secret listed: {listing}");
        assert!(!listing.contains(&second), "secret listed: {listing}");
    }
    let list: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);

    let revoked = home.json(&["token", "revoke", id, "--output", "json"]);
    assert_eq!(revoked["id"], id);
    assert!(revoked["revoked"].is_string());
    let list = home.json(&["token", "list", "--output", "json"]);
    let billing = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap();
    assert!(billing["revoked"].is_string());
    let err = home.fails(&["token", "revoke", "nosuchtoken"], b"");
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn a_token_without_a_gateway_is_a_usage_error() {
    let home = Home::new();
    let out = home.run_with(&["--token", "kgt_x.y", "keys", "list"], b"");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(out.stderr);
    assert!(
        stderr.starts_with("keygate: ") && stderr.contains("--gateway"),
        "{stderr}"
    );
    let out = home
        .cmd(&["keys", "list"])
        .env("KEYGATE_TOKEN", "kgt_x.y")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = home.run_with(&["--gateway", "http://127.0.0.1:9", "serve"], b"");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn policy_set_show_and_check() {
    let home = Home::new();
    let dir = home.path().to_owned();
    home.ok(&["keys", "create", "prod-db", "--spec", "AES_256"], b"");
    home.ok(&["keys", "create", "dev-db", "--spec", "AES_256"], b"");
    let check = |args: &[&str]| {
        let mut all = vec!["policy", "check"];
        all.extend_from_slice(args);
        let out = home.run_with(&all, b"");
        (out.status.code(), text(out.stdout))
    };

    // The built-in roles alone.
    let (code, out) = check(&[
        "--principal",
        "ci-build",
        "--role",
        "app",
        "--action",
        "keys:create",
    ]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.starts_with("denied: "), "{out}");

    let good = dir.join("policy.toml");
    std::fs::write(
        &good,
        r#"
[roles.rotator]
description = "rotates prod keys"
[[roles.rotator.statements]]
effect = "allow"
actions = ["keys:rotate", "keys:describe"]
keys = { name = "prod-*" }

[[statements]]
effect = "deny"
actions = ["crypto:decrypt"]
principals = ["ci-*"]
"#,
    )
    .unwrap();
    home.ok(&["policy", "set", good.to_str().unwrap()], b"");
    let shown = text(home.ok(&["policy", "show"], b""));
    assert!(shown.contains("rotator"), "{shown}");
    let json = home.json(&["policy", "show", "--output", "json"]);
    assert_eq!(json["statements"][0]["effect"], "deny");

    let rotate = |key: &str| {
        check(&[
            "--principal",
            "ops-bot",
            "--role",
            "rotator",
            "--action",
            "keys:rotate",
            "--key",
            key,
        ])
    };
    let (code, out) = rotate("prod-db");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("allowed: "), "{out}");
    assert_eq!(rotate("dev-db").0, Some(3));
    let (code, out) = check(&[
        "--principal",
        "ci-build",
        "--role",
        "admin",
        "--action",
        "crypto:decrypt",
        "--key",
        "prod-db",
        "--output",
        "json",
    ]);
    assert_eq!(code, Some(3));
    let decision: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(decision["allowed"], false);
    assert_eq!(decision["reason"], "denied by statements[0]");

    // A bad file (an unknown action, or not TOML at all) is refused; the old policy stays.
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        r#"{"statements":[{"effect":"allow","actions":["keys:fly"]}]}"#,
    )
    .unwrap();
    home.fails(&["policy", "set", bad.to_str().unwrap()], b"");
    let garbage = dir.join("garbage.toml");
    std::fs::write(&garbage, "this is = = not toml").unwrap();
    home.fails(&["policy", "set", garbage.to_str().unwrap()], b"");
    assert_eq!(home.json(&["policy", "show", "--output", "json"]), json);
    let (code, _) = check(&["--principal", "a", "--role", "app", "--action", "keys:fly"]);
    assert_eq!(code, Some(1));
}

#[test]
fn audit_verify_detects_an_edited_row() {
    let home = Home::new();
    home.ok(&["keys", "create", "a", "--spec", "AES_256"], b"");
    home.ok(&["encrypt", "--key", "a"], b"x");
    home.ok(&["keys", "list"], b"");
    let out = text(home.ok(&["audit", "verify"], b""));
    assert!(out.starts_with("audit log verified: "), "{out}");
    let v = home.json(&["audit", "verify", "--output", "json"]);
    assert!(v["rows"].as_u64().unwrap() >= 3, "{v}");
    assert!(v["first_broken"].is_null());

    // An attacker with write access to the database edits a row: done with Python's sqlite3
    // module, as any tool could (the CLI itself has no way to).
    let db = home.path().join("gateway.db");
    let edit = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys\n\
             c = sqlite3.connect(sys.argv[1])\n\
             n = c.execute(\"UPDATE audit_events SET principal = 'mallory' WHERE seq = 2\").rowcount\n\
             c.commit()\n\
             print(n)",
        ])
        .arg(&db)
        .output()
        .expect("python3 runs");
    assert!(edit.status.success(), "{edit:?}");
    assert_eq!(String::from_utf8_lossy(&edit.stdout).trim(), "1");

    let err = home.fails(&["audit", "verify"], b"");
    assert!(err.contains("seq 2"), "{err}");
    let out = home.run_with(&["audit", "verify", "--output", "json"], b"");
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["first_broken"]["seq"], 2);
}

#[test]
fn audit_verify_from_checkpoint_reads_only_the_rows_since_the_last_check() {
    let home = Home::new();
    home.ok(&["keys", "create", "a", "--spec", "AES_256"], b"");
    let full = home.json(&["audit", "verify", "--output", "json"]);
    assert!(full.get("from_checkpoint").is_none(), "{full}");
    home.ok(&["encrypt", "--key", "a"], b"x");
    let v = home.json(&["audit", "verify", "--from-checkpoint", "--output", "json"]);
    assert!(v["first_broken"].is_null(), "{v}");
    let since = v["from_checkpoint"].as_u64().unwrap();
    assert!(since >= full["rows"].as_u64().unwrap(), "{v}");
    assert!(v["rows"].as_u64().unwrap() > since, "{v}");
    let out = text(home.ok(&["audit", "verify", "--from-checkpoint"], b""));
    assert!(
        out.contains("checked from the kept checkpoint of "),
        "{out}"
    );
}

#[test]
fn audit_export_filters_and_tail() {
    let home = Home::new();
    let dir = home.path().to_owned();
    home.ok(&["keys", "create", "a", "--spec", "AES_256"], b"");
    home.ok(&["keys", "create", "b", "--spec", "AES_256"], b"");
    home.ok(&["encrypt", "--key", "a"], b"1");
    home.ok(&["encrypt", "--key", "b"], b"2");
    home.ok(&["encrypt", "--key", "a"], b"3");

    let jsonl = |args: &[&str]| -> Vec<Value> {
        let mut all = vec!["audit", "export", "--format", "jsonl"];
        all.extend_from_slice(args);
        text(home.ok(&all, b""))
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let everything = jsonl(&[]);
    assert!(everything.len() >= 5, "{everything:?}");
    let seqs: Vec<u64> = everything
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    let about_a = jsonl(&["--key", "a"]);
    assert!(about_a.len() >= 2, "{about_a:?}");
    assert!(
        about_a.iter().all(|e| e["key"] == "local://a"),
        "{about_a:?}"
    );
    // Three encryptions: each an intent row, then its outcome row.
    let crypto = jsonl(&["--action", "crypto:*"]);
    assert_eq!(crypto.len(), 6, "{crypto:?}");
    assert!(crypto.iter().all(|e| e["action"] == "crypto:encrypt"));
    let both = jsonl(&["--key", "local://a", "--action", "crypto:encrypt"]);
    assert_eq!(both.len(), 4);
    // Later exports also see the audit reads of the earlier ones: compare up to `last`.
    let last = *seqs.last().unwrap();
    let upto = |rows: Vec<Value>| -> Vec<Value> {
        rows.into_iter()
            .filter(|e| e["seq"].as_u64().unwrap() <= last)
            .collect()
    };
    let principal = everything[0]["principal"].as_str().unwrap().to_owned();
    let by_principal: Vec<Value> = everything
        .iter()
        .filter(|e| e["principal"] == principal.as_str())
        .cloned()
        .collect();
    assert_eq!(upto(jsonl(&["--principal", &principal])), by_principal);
    assert!(jsonl(&["--principal", "nobody"]).is_empty());
    assert!(jsonl(&["--since", "2999-01-01"]).is_empty());
    // Every row so far (and the audit reads since).
    assert!(jsonl(&["--until", "2999-01-01"]).len() > everything.len());
    let out = home.run_with(
        &["audit", "export", "--format", "jsonl", "--since", "soon"],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));

    let csv_file = dir.join("audit.csv");
    home.ok(
        &[
            "audit",
            "export",
            "--format",
            "csv",
            "--key",
            "b",
            "-o",
            csv_file.to_str().unwrap(),
        ],
        b"",
    );
    let csv = std::fs::read_to_string(&csv_file).unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("seq,time,"), "{csv}");
    let rows: Vec<&str> = lines.collect();
    assert!(rows.len() >= 2, "{csv}");
    assert!(rows.iter().all(|r| r.contains(",local://b,")), "{csv}");

    let tail = text(home.ok(&["audit", "tail", "-n", "2", "--output", "json"], b""));
    let tail: Vec<Value> = tail
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(tail.len(), 2);
    assert!(tail[0]["seq"].as_u64() < tail[1]["seq"].as_u64());
    let table = text(home.ok(&["audit", "tail"], b""));
    assert!(table.starts_with("SEQ"), "{table}");
    assert!(table.contains("crypto:encrypt"), "{table}");
}

#[test]
fn audit_tail_follows_other_processes_on_the_same_home() {
    use std::io::{BufRead as _, BufReader};
    use std::process::Stdio;
    use std::time::Duration;

    let home = Home::new();
    home.ok(&["keys", "create", "first", "--spec", "AES_256"], b"");
    let mut child = home
        .cmd(&["audit", "tail", "-n", "1", "--follow", "--output", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Killed at the end, also when an assertion fails.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _child = Kill(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(serde_json::from_str::<Value>(&line).unwrap());
        }
    });
    // The backlog row shows the follower is up (it may be the follower's own audit read).
    rx.recv_timeout(Duration::from_secs(30)).unwrap();
    // Another process writes; the follower finds it in the store.
    home.ok(&["keys", "create", "second", "--spec", "AES_256"], b"");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let row = rx
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .expect("the second key's row was not followed");
        if row["key"] == "local://second" {
            assert_eq!(row["action"], "keys:create");
            break;
        }
    }
}

#[test]
fn token_create_aws_prints_an_access_key_pair_once() {
    let home = Home::new();
    let out = home.run_with(
        &[
            "token",
            "create",
            "--principal",
            "billing",
            "--role",
            "app",
            "--aws",
        ],
        b"",
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let stdout = text(out.stdout);
    let akid = stdout
        .lines()
        .find_map(|l| l.strip_prefix("aws_access_key_id = "))
        .unwrap()
        .to_owned();
    let secret = stdout
        .lines()
        .find_map(|l| l.strip_prefix("aws_secret_access_key = "))
        .unwrap()
        .to_owned();
    assert!(akid.starts_with("KGAK") && akid.len() == 20, "{akid}");
    assert_eq!(secret.len(), 40);
    assert!(stderr.contains("only this once"), "{stderr}");

    let issued = home.json(&[
        "token",
        "create",
        "--principal",
        "ops",
        "--role",
        "operator",
        "--aws",
        "--expires-in",
        "7",
        "--output",
        "json",
    ]);
    let mut keys: Vec<&str> = issued
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "access_key_id",
            "created",
            "expires",
            "id",
            "principal",
            "role",
            "secret_access_key"
        ]
    );
    assert_eq!(issued["id"], issued["access_key_id"]);
    assert!(issued["expires"].is_string());
    let second_secret = issued["secret_access_key"].as_str().unwrap().to_owned();

    // Listed with kind aws, never with a secret; revoked like any token.
    let table = text(home.ok(&["token", "list"], b""));
    let json = text(home.ok(&["token", "list", "--output", "json"], b""));
    for listing in [&table, &json] {
        assert!(listing.contains(&akid), "{listing}");
        assert!(!listing.contains(&secret), "secret listed: {listing}");
        assert!(
            !listing.contains(&second_secret),
            "secret listed: {listing}"
        );
    }
    assert!(table.contains("aws"), "{table}");
    let list: Value = serde_json::from_str(&json).unwrap();
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == akid.as_str())
        .unwrap();
    assert_eq!(entry["kind"], "aws");
    let revoked = home.json(&["token", "revoke", &akid, "--output", "json"]);
    assert!(revoked["revoked"].is_string());
    assert_eq!(revoked["kind"], "aws");
}
