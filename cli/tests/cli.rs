//! End-to-end tests of the real `keygate` binary over a fresh `--home`.
#![allow(clippy::unwrap_used)]

// Submodules live in tests/cli/ so cargo does not build each as a test binary of its own.
#[path = "cli/admin.rs"]
mod admin;
#[path = "cli/aws.rs"]
mod aws;
#[path = "cli/commands.rs"]
mod commands;
#[path = "cli/compliance.rs"]
mod compliance;
#[path = "cli/config.rs"]
mod config;
#[path = "cli/console.rs"]
mod console;
#[path = "cli/cost.rs"]
mod cost;
#[path = "cli/crash.rs"]
mod crash;
#[path = "cli/deploy_example.rs"]
mod deploy_example;
#[path = "cli/envelope.rs"]
mod envelope;
#[path = "cli/esdk.rs"]
mod esdk;
#[path = "cli/four.rs"]
mod four;
#[path = "cli/import.rs"]
mod import;
#[cfg(feature = "aws")]
#[path = "cli/isolation.rs"]
mod isolation;
#[path = "cli/proof.rs"]
mod proof;
#[path = "cli/remote.rs"]
mod remote;
#[path = "cli/replicas.rs"]
mod replicas;
#[path = "cli/replicas_ready.rs"]
mod replicas_ready;
#[path = "cli/rewrap.rs"]
mod rewrap;
#[path = "cli/startup.rs"]
mod startup;
#[path = "cli/status.rs"]
mod status;
#[path = "cli/store.rs"]
mod store;
#[path = "cli/versions.rs"]
mod versions;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_keygate"));
        c.arg("--home").arg(self.path()).args(args);
        for var in [
            "KEYGATE_ROOT_KEY",
            "KEYGATE_HOME",
            "KEYGATE_ADDR",
            "KEYGATE_TOKEN",
            "KEYGATE_CA_CERT",
            "KEYGATE_CONFIG",
        ] {
            c.env_remove(var);
        }
        // Tests that register an AWS provider talk to LocalStack, which takes any
        // credentials; these keep real ones out of every test.
        c.env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN");
        c
    }

    /// Runs with `stdin` piped in; returns the output whatever the exit status.
    fn run_with(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Fed from another thread: a child that writes output before it has read all its
        // input would otherwise block on a full stdout pipe while we block on its stdin.
        let mut pipe = child.stdin.take().unwrap();
        let input = stdin.to_vec();
        let feeder = std::thread::spawn(move || {
            // A child may exit without reading everything (an early error): not a failure.
            let _ = pipe.write_all(&input);
        });
        let out = child.wait_with_output().unwrap();
        feeder.join().unwrap();
        out
    }

    /// Runs and asserts success; returns stdout.
    fn ok(&self, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        let out = self.run_with(args, stdin);
        assert!(
            out.status.success(),
            "keygate {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_slice(&self.ok(args, b"")).unwrap()
    }

    /// Runs, asserts failure with exit 1 and a single stderr line; returns that line.
    fn fails(&self, args: &[&str], stdin: &[u8]) -> String {
        let out = self.run_with(args, stdin);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "keygate {args:?}: {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "not one line: {stderr}"
        );
        assert!(stderr.starts_with("keygate: "), "{stderr}");
        stderr
    }
}

#[test]
fn encrypt_pipes_into_decrypt_in_a_fresh_home() {
    let home = Home::new();
    home.ok(&["keys", "create", "demo", "--spec", "AES_256"], b"");
    let ciphertext = home.ok(&["encrypt", "--key", "demo"], b"hi\n");
    assert!(!ciphertext.windows(3).any(|w| w == b"hi\n"));
    let plaintext = home.ok(&["decrypt"], &ciphertext);
    assert_eq!(plaintext, b"hi\n");
}

/// Everything keygate creates in a home is its owner's alone: the home 0700, the databases
/// (wrapped key material, token hashes, the audit log), their WAL files and the root key 0600.
#[cfg(unix)]
#[test]
fn a_new_home_and_everything_in_it_is_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let base = Home::new();
    let dir = base.path().join("fresh").join("home");
    let run = |args: &[&str]| {
        let out = base.cmd(args).arg("--home").arg(&dir).output().unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    run(&["keys", "create", "k", "--spec", "AES_256"]);
    run(&["token", "create", "--principal", "p", "--role", "app"]);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(dir.parent().unwrap()), 0o700);
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        files += 1;
    }
    // root.key, gateway.db and local.db at least (WAL files while a connection is open).
    assert!(files >= 3, "{files} files");

    // A home from an older keygate, its databases left readable by others, is tightened.
    for name in ["gateway.db", "local.db"] {
        let p = dir.join(name);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    run(&["keys", "list"]);
    assert_eq!(mode(&dir.join("gateway.db")), 0o600);
    assert_eq!(mode(&dir.join("local.db")), 0o600);
}

#[test]
fn root_key_file_is_private_and_a_wrong_root_key_is_refused() {
    use base64::Engine as _;
    let home = Home::new();
    home.ok(&["keys", "create", "k1", "--spec", "AES_256"], b"");
    let meta = std::fs::metadata(home.path().join("root.key")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(meta.len(), 32);

    let other = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
    let out = home
        .cmd(&["keys", "list"])
        .env("KEYGATE_ROOT_KEY", &other)
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("root key"), "{stderr}");
    assert!(!stderr.contains(&other));

    let out = home
        .cmd(&["keys", "list"])
        .env("KEYGATE_ROOT_KEY", "short")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn root_key_from_the_environment_opens_a_home_without_a_key_file() {
    use base64::Engine as _;
    let home = Home::new();
    let key = base64::engine::general_purpose::STANDARD.encode([3u8; 32]);
    let run = |args: &[&str], stdin: &[u8]| {
        let mut child = home
            .cmd(args)
            .env("KEYGATE_ROOT_KEY", &key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    run(&["keys", "create", "envkey", "--spec", "AES_256"], b"");
    assert!(!home.path().join("root.key").exists());
    let ct = run(&["encrypt", "--key", "envkey"], b"secret");
    assert_eq!(run(&["decrypt"], &ct), b"secret");
}

#[test]
fn list_and_show_json_shapes_are_stable() {
    let home = Home::new();
    home.ok(
        &[
            "keys",
            "create",
            "pay",
            "--spec",
            "AES_256",
            "--label",
            "team=pay",
            "--description",
            "payments",
            "--rotate-every",
            "90",
        ],
        b"",
    );
    home.ok(&["keys", "create", "sig", "--spec", "EC_P256"], b"");
    let list = home.json(&["keys", "list", "--output", "json"]);
    let keys = list.as_array().unwrap();
    assert_eq!(keys.len(), 2);
    let pay = &keys[0];
    for field in [
        "uri",
        "provider",
        "id",
        "name",
        "spec",
        "usage",
        "state",
        "primary_version",
        "rotation",
        "labels",
        "description",
        "created",
        "aliases",
    ] {
        assert!(pay.get(field).is_some(), "missing {field} in {pay}");
    }
    assert_eq!(pay["uri"], "local://pay");
    assert_eq!(pay["provider"], "local");
    assert_eq!(pay["spec"], "AES_256");
    assert_eq!(pay["usage"], "encrypt");
    assert_eq!(pay["state"], "enabled");
    assert_eq!(pay["labels"]["team"], "pay");
    assert_eq!(pay["rotation"]["period_days"], 90);
    assert!(pay["rotation"]["next_rotation"].is_string());
    assert_eq!(keys[1]["usage"], "sign");
    assert!(keys[1]["rotation"].is_null());

    let show = home.json(&["keys", "show", "local://pay", "--output", "json"]);
    assert_eq!(show["versions"].as_array().unwrap().len(), 1);
    assert_eq!(show["versions"][0]["primary"], true);

    let table = String::from_utf8(home.ok(&["keys", "list"], b"")).unwrap();
    assert!(table.starts_with("PROVIDER"), "{table}");
    assert!(table.contains("every 90d"), "{table}");
}

#[test]
fn rotation_lifecycle_and_deletion_through_the_cli() {
    let home = Home::new();
    home.ok(&["keys", "create", "life", "--spec", "AES_256"], b"");
    let before = home.ok(&["encrypt", "--key", "life", "--context", "app=x"], b"old");
    let v = home.json(&["keys", "rotate", "life", "--output", "json"]);
    assert_eq!(v["id"], "2");
    assert_eq!(v["primary"], true);
    assert_eq!(home.ok(&["decrypt", "--context", "app=x"], &before), b"old");

    let k = home.json(&[
        "keys", "rotation", "life", "--every", "30", "--output", "json",
    ]);
    assert_eq!(k["rotation"]["period_days"], 30);
    let k = home.json(&["keys", "rotation", "life", "--off", "--output", "json"]);
    assert!(k["rotation"].is_null());
    home.fails(&["keys", "rotation", "life", "--every", "0"], b"");

    let k = home.json(&["keys", "disable", "life", "--output", "json"]);
    assert_eq!(k["state"], "disabled");
    let err = home.fails(&["encrypt", "--key", "life"], b"x");
    assert!(err.contains("invalid state"), "{err}");
    home.json(&["keys", "enable", "life", "--output", "json"]);

    let k = home.json(&["keys", "delete", "life", "--in", "7", "--output", "json"]);
    assert_eq!(k["state"], "pending_deletion");
    assert!(k["deletion_date"].is_string());
    home.fails(&["keys", "delete", "life", "--in", "400"], b"");
    let k = home.json(&["keys", "undelete", "life", "--output", "json"]);
    assert_eq!(k["state"], "disabled");
}

#[test]
fn sign_verify_and_public_key() {
    let home = Home::new();
    let dir = home.path().to_owned();
    home.ok(
        &[
            "keys", "create", "signer", "--spec", "RSA_2048", "--usage", "sign",
        ],
        b"",
    );
    let msg = dir.join("msg");
    let sig = dir.join("msg.sig");
    std::fs::write(&msg, b"release 1.0").unwrap();
    home.ok(
        &[
            "sign",
            "--key",
            "signer",
            "-i",
            msg.to_str().unwrap(),
            "-o",
            sig.to_str().unwrap(),
        ],
        b"",
    );
    let out = home.ok(
        &[
            "verify",
            "--key",
            "signer",
            "-i",
            msg.to_str().unwrap(),
            "--signature",
            sig.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(String::from_utf8(out).unwrap().trim(), "signature: valid");

    std::fs::write(&msg, b"release 1.1").unwrap();
    let out = home.run_with(
        &[
            "verify",
            "--key",
            "signer",
            "-i",
            msg.to_str().unwrap(),
            "--signature",
            sig.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(4));

    let pem = String::from_utf8(home.ok(&["keys", "public-key", "signer"], b"")).unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    let der = home.ok(&["keys", "public-key", "signer", "--format", "der"], b"");
    assert_eq!(der[0], 0x30, "DER SEQUENCE");
}

#[test]
fn mac_and_aliases() {
    let home = Home::new();
    let dir = home.path().to_owned();
    home.ok(&["keys", "create", "hm", "--spec", "HMAC_SHA256"], b"");
    home.ok(&["alias", "create", "integrity", "hm"], b"");
    let tag = home.ok(&["mac", "--key", "alias/integrity"], b"data");
    assert_eq!(tag.len(), 32);
    let tag_file = dir.join("tag");
    std::fs::write(&tag_file, &tag).unwrap();
    let out = home.run_with(
        &["mac", "--key", "hm", "--verify", tag_file.to_str().unwrap()],
        b"data",
    );
    assert_eq!(out.status.code(), Some(0));
    let out = home.run_with(
        &["mac", "--key", "hm", "--verify", tag_file.to_str().unwrap()],
        b"datA",
    );
    assert_eq!(out.status.code(), Some(4));

    let list = home.json(&["keys", "list", "--output", "json"]);
    assert_eq!(list[0]["aliases"][0], "integrity");
    let aliases = home.json(&["alias", "list", "--output", "json"]);
    assert_eq!(aliases[0]["name"], "integrity");
    home.ok(&["alias", "delete", "integrity"], b"");
    let err = home.fails(&["mac", "--key", "alias/integrity"], b"data");
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn client_mistakes_get_one_clear_line() {
    let home = Home::new();
    home.ok(&["keys", "create", "k", "--spec", "AES_256"], b"");
    let err = home.fails(&["keys", "show", "nope"], b"");
    assert!(err.contains("not found"), "{err}");
    let err = home.fails(&["keys", "create", "k", "--spec", "AES_256"], b"");
    assert!(err.contains("already exists"), "{err}");
    let err = home.fails(&["keys", "create", "x", "--spec", "AES_999"], b"");
    assert!(err.contains("unknown key spec"), "{err}");
    let ct = home.ok(
        &["encrypt", "--key", "k", "--context", "a=1"],
        b"secret text",
    );
    let err = home.fails(&["decrypt", "--context", "a=2"], &ct);
    assert!(err.contains("integrity"), "{err}");
    assert!(!err.contains("secret text"));
    let err = home.fails(&["decrypt"], b"garbage that is not a ciphertext");
    assert!(err.contains("integrity"), "{err}");
    let err = home.fails(&["sign", "--key", "k"], b"m");
    assert!(err.contains("invalid key usage"), "{err}");
    assert!(err.contains("is an encrypt key (AES_256)"), "{err}");
    assert!(err.contains("needs a sign key"), "{err}");
    let err = home.fails(&["encrypt", "--key", "k", "--context", "novalue"], b"m");
    assert!(err.contains("key=value"), "{err}");
}

/// A command about one key resolves it once and writes one audit row: the answer names the
/// key the service resolved, so nothing asks for it again (an alias here, resolved through
/// the gateway store, and a plain name, looked up in every provider).
#[test]
fn commands_about_one_key_resolve_it_once_and_audit_one_row() {
    let home = Home::new();
    home.ok(&["keys", "create", "once", "--spec", "AES_256"], b"");
    home.ok(
        &[
            "keys", "create", "once-sig", "--spec", "EC_P256", "--usage", "sign",
        ],
        b"",
    );
    home.ok(&["alias", "create", "once-a", "once"], b"");
    let rows = |since: usize| -> Vec<(String, String)> {
        let out =
            String::from_utf8(home.ok(&["audit", "export", "--format", "jsonl"], b"")).unwrap();
        out.lines()
            .skip(since)
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            // A call that acts also wrote its intent row before it (outcome `unknown`): one
            // outcome row per call is what counts here.
            .filter(|v| v["outcome"] != "unknown")
            .map(|v| {
                (
                    v["action"].as_str().unwrap().to_owned(),
                    v["key"].as_str().unwrap_or_default().to_owned(),
                )
            })
            // `audit export` audits itself, and the key object lists the key's aliases: only
            // the rows about a key count.
            .filter(|(_, key)| !key.is_empty())
            .collect()
    };
    let mark = || {
        String::from_utf8(home.ok(&["audit", "export", "--format", "jsonl"], b""))
            .unwrap()
            .lines()
            .count()
    };

    let at = mark();
    let out = String::from_utf8(home.ok(&["keys", "rotate", "alias/once-a"], b"")).unwrap();
    assert_eq!(out.trim(), "rotated local://once: version 2 is now primary");
    assert_eq!(rows(at), [("keys:rotate".into(), "local://once".into())]);

    let at = mark();
    let k = home.json(&[
        "keys", "rotation", "once", "--every", "30", "--output", "json",
    ]);
    assert_eq!(k["rotation"]["period_days"], 30);
    assert_eq!(rows(at), [("keys:rotate".into(), "local://once".into())]);

    let at = mark();
    let signature = home.ok(&["sign", "--key", "once-sig"], b"message");
    assert!(!signature.is_empty());
    assert_eq!(
        rows(at),
        [("crypto:sign".into(), "local://once-sig".into())]
    );
}
