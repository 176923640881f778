//! Key versions from the command line: `keys versions`, `keys version
//! enable|disable|destroy|restore`, `keys primary` and `--key-version` on decrypt, sign,
//! verify, mac and public-key — each run embedded and again against `keygate serve` over
//! `--gateway`, with the typed refusals (a version that is not enabled names its state).

use std::process::Output;

use serde_json::Value;

use super::Home;
use super::remote::{Server, token};

/// Runs one keygate command line (embedded, or against a gateway) with `stdin`.
type Run<'a> = dyn Fn(&[&str], &[u8]) -> Output + 'a;

struct Door<'a> {
    run: &'a Run<'a>,
    home: &'a Home,
}

impl Door<'_> {
    fn ok(&self, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        let out = (self.run)(args, stdin);
        assert!(
            out.status.success(),
            "keygate {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn text(&self, args: &[&str]) -> String {
        String::from_utf8(self.ok(args, b"")).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_slice(&self.ok(args, b"")).unwrap()
    }

    /// Runs, asserts exit `code` and (but for clap's usage errors, exit 2) one `keygate: `
    /// line on stderr; returns stderr.
    fn fails(&self, code: i32, args: &[&str], stdin: &[u8]) -> String {
        let out = (self.run)(args, stdin);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(code), "keygate {args:?}: {stderr}");
        if code != 2 {
            assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
            assert!(stderr.starts_with("keygate: "), "{stderr}");
        }
        stderr
    }

    /// A file in the home holding `bytes`; its path.
    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.home.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

/// The version objects `keys versions KEY --output json` prints, by id.
fn version<'v>(versions: &'v Value, id: &str) -> &'v Value {
    versions
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("no version {id} in {versions}"))
}

/// An AES key with three versions: what each command does to one of them, and an envelope
/// sealed under version 1 that stops and starts opening with it.
fn states_and_primary(door: &Door, key: &str) {
    door.ok(&["keys", "create", key, "--spec", "AES_256"], b"");
    let sealed_v1 = door.ok(&["encrypt", "--key", key], b"sealed under one");
    door.ok(&["keys", "rotate", key], b"");
    door.ok(&["keys", "rotate", key], b"");

    let versions = door.json(&["keys", "versions", key, "--output", "json"]);
    assert_eq!(versions.as_array().unwrap().len(), 3, "{versions}");
    for id in ["1", "2", "3"] {
        assert_eq!(version(&versions, id)["state"], "enabled");
        assert_eq!(version(&versions, id)["primary"], id == "3");
        assert!(version(&versions, id).get("destroy_time").is_none());
        // What made the version: nothing for the key's first, `keys rotate` for the others.
        match id {
            "1" => assert!(
                version(&versions, id).get("rotation").is_none(),
                "{versions}"
            ),
            _ => assert_eq!(
                version(&versions, id)["rotation"],
                "on_demand",
                "{versions}"
            ),
        }
    }
    let table = door.text(&["keys", "versions", key]);
    let header = table.lines().next().unwrap();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        [
            "VERSION", "STATE", "PRIMARY", "CREATED", "ROTATION", "DESTROY", "TIME"
        ],
        "{table}"
    );
    assert_eq!(table.lines().count(), 4, "{table}");
    // The first version was made with the key; the two after it by `keys rotate`.
    let row = |id: &str| {
        let prefix = format!("{id} ");
        table.lines().find(|l| l.starts_with(&prefix)).unwrap()
    };
    assert!(!row("1").contains("on_demand"), "{table}");
    assert!(row("2").trim_end().ends_with("on_demand"), "{table}");
    assert!(row("3").trim_end().ends_with("on_demand"), "{table}");

    // Disabled: the envelope sealed under it is refused, naming the version's state.
    let disabled = door.json(&["keys", "version", "disable", key, "1", "--output", "json"]);
    assert_eq!(disabled["id"], "1");
    assert_eq!(disabled["state"], "disabled");
    let refused = door.fails(1, &["decrypt"], &sealed_v1);
    assert!(refused.contains("version 1"), "{refused}");
    assert!(refused.contains("disabled"), "{refused}");
    assert!(!refused.contains("integrity"), "{refused}");
    let line = door.text(&["keys", "version", "enable", key, "1"]);
    assert!(
        line.contains("version 1 of ") && line.contains(": enabled"),
        "{line}"
    );
    assert_eq!(door.ok(&["decrypt"], &sealed_v1), b"sealed under one");

    // Destroyed: refused at once, with the date it goes; restored: back disabled.
    let destroyed = door.json(&["keys", "version", "destroy", key, "1", "--output", "json"]);
    assert_eq!(destroyed["state"], "destroy_scheduled", "{destroyed}");
    assert!(destroyed["destroy_time"].is_string(), "{destroyed}");
    let refused = door.fails(1, &["decrypt"], &sealed_v1);
    assert!(refused.contains("destroy_scheduled"), "{refused}");
    let table = door.text(&["keys", "versions", key]);
    let row = table.lines().find(|l| l.starts_with("1 ")).unwrap();
    assert!(row.contains("destroy_scheduled"), "{table}");
    assert!(
        row.trim_end().ends_with("UTC") && row.matches("UTC").count() == 2,
        "{table}"
    );
    let shown = door.json(&["keys", "show", key, "--output", "json"]);
    assert_eq!(
        version(&shown["versions"], "1")["state"],
        "destroy_scheduled"
    );
    // Enabling a destroy-scheduled version is refused: restore comes first.
    door.fails(1, &["keys", "version", "enable", key, "1"], b"");
    let line = door.text(&["keys", "version", "restore", key, "1"]);
    assert!(line.ends_with(": disabled\n"), "{line}");
    door.ok(&["keys", "version", "enable", key, "1"], b"");
    assert_eq!(door.ok(&["decrypt"], &sealed_v1), b"sealed under one");

    // Primary: any enabled version; new envelopes are sealed under it.
    let meta = door.json(&["keys", "primary", key, "1", "--output", "json"]);
    assert_eq!(meta["primary_version"], "1", "{meta}");
    let line = door.text(&["keys", "primary", key, "2"]);
    assert!(
        line.starts_with("version 2 is now the primary of "),
        "{line}"
    );
    let versions = door.json(&["keys", "versions", key, "--output", "json"]);
    assert_eq!(version(&versions, "2")["primary"], true);
    assert_eq!(version(&versions, "3")["primary"], false);
    let sealed_v2 = door.ok(&["encrypt", "--key", key], b"now under two");
    assert_eq!(
        door.ok(&["decrypt", "--key", key, "--key-version", "2"], &sealed_v2),
        b"now under two"
    );
    let refused = door.fails(
        1,
        &["decrypt", "--key", key, "--key-version", "3"],
        &sealed_v2,
    );
    assert!(refused.contains("sealed under version 2"), "{refused}");
    door.ok(&["keys", "version", "disable", key, "3"], b"");
    door.fails(1, &["keys", "primary", key, "3"], b"");

    // Mistakes: a version that does not exist (a gateway answers 404 with its fixed text,
    // which does not echo the version), a version without its key.
    let missing = door.fails(1, &["keys", "version", "disable", key, "99"], b"");
    assert!(missing.contains("not found"), "{missing}");
    let usage = door.fails(2, &["decrypt", "--key-version", "1"], &sealed_v2);
    assert!(usage.contains("--key"), "{usage}");
}

/// An EC key and an HMAC key with two versions each: signing, verifying, MACs and public
/// keys by version, and a disabled version refused by every one of them.
fn crypto_by_version(door: &Door, prefix: &str) {
    let signer = format!("{prefix}-sign");
    let macker = format!("{prefix}-mac");
    door.ok(&["keys", "create", &signer, "--spec", "EC_P256"], b"");
    door.ok(&["keys", "create", &macker, "--spec", "HMAC_SHA256"], b"");
    door.ok(&["keys", "rotate", &signer], b"");
    door.ok(&["keys", "rotate", &macker], b"");

    let pem1 = door.text(&["keys", "public-key", &signer, "--key-version", "1"]);
    let pem2 = door.text(&["keys", "public-key", &signer]);
    assert!(pem1.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem1}");
    assert_ne!(pem1, pem2);
    assert_eq!(
        door.text(&["keys", "public-key", &signer, "--key-version", "2"]),
        pem2
    );

    let sig = door.ok(&["sign", "--key", &signer, "--key-version", "1"], b"msg");
    let sig = door.file(&format!("{prefix}.sig"), &sig);
    let verify = |version: &str| {
        (door.run)(
            &[
                "verify",
                "--key",
                &signer,
                "--signature",
                &sig,
                "--key-version",
                version,
            ],
            b"msg",
        )
    };
    let out = verify("1");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(out.stdout, b"signature: valid\n");
    assert_eq!(verify("2").status.code(), Some(4));

    let tag = door.ok(&["mac", "--key", &macker, "--key-version", "1"], b"msg");
    assert_ne!(tag, door.ok(&["mac", "--key", &macker], b"msg"));
    let tag = door.file(&format!("{prefix}.tag"), &tag);
    let out = (door.run)(
        &[
            "mac",
            "--key",
            &macker,
            "--verify",
            &tag,
            "--key-version",
            "1",
        ],
        b"msg",
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(out.stdout, b"mac: valid\n");
    let out = (door.run)(
        &[
            "mac",
            "--key",
            &macker,
            "--verify",
            &tag,
            "--key-version",
            "1",
        ],
        b"other",
    );
    assert_eq!(out.status.code(), Some(4), "{out:?}");

    // Disabled versions refuse every use, naming their state; the other version still works.
    door.ok(&["keys", "version", "disable", &signer, "1"], b"");
    door.ok(&["keys", "version", "disable", &macker, "1"], b"");
    let refusals = [
        door.fails(1, &["sign", "--key", &signer, "--key-version", "1"], b"m"),
        door.fails(
            1,
            &[
                "verify",
                "--key",
                &signer,
                "--signature",
                &sig,
                "--key-version",
                "1",
            ],
            b"msg",
        ),
        door.fails(1, &["mac", "--key", &macker, "--key-version", "1"], b"m"),
        door.fails(
            1,
            &[
                "mac",
                "--key",
                &macker,
                "--verify",
                &tag,
                "--key-version",
                "1",
            ],
            b"msg",
        ),
    ];
    for refused in refusals {
        assert!(
            refused.contains("version 1") && refused.contains("disabled"),
            "{refused}"
        );
    }
    door.ok(&["sign", "--key", &signer, "--key-version", "2"], b"m");
    door.ok(&["mac", "--key", &macker], b"m");
}

#[test]
fn versions_embedded() {
    let home = Home::new();
    let run = |args: &[&str], stdin: &[u8]| home.run_with(args, stdin);
    let door = Door {
        run: &run,
        home: &home,
    };
    states_and_primary(&door, "local-k");
    crypto_by_version(&door, "local");
}

#[test]
fn versions_through_a_gateway() {
    let home = Home::new();
    let server = Server::start(&home);
    let admin = token(&home, "ops", "admin");
    let run = |args: &[&str], stdin: &[u8]| {
        let mut all = vec!["--gateway", server.url.as_str(), "--token", admin.as_str()];
        all.extend_from_slice(args);
        home.run_with(&all, stdin)
    };
    let door = Door {
        run: &run,
        home: &home,
    };
    states_and_primary(&door, "remote-k");
    crypto_by_version(&door, "remote");
    // What the gateway did is in its audit log, as the caller who did it.
    let tail = door.text(&["audit", "tail", "-n", "200", "--output", "json"]);
    assert!(
        tail.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .any(|r| r["principal"] == "ops" && r["source"] == "rest" && r["key_version"] == "1"),
        "{tail}"
    );
}
