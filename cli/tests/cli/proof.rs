//! Provable audit end to end: proofs checked by the documented Python recipe with nothing
//! but the public key, `audit verify --checkpoint` against a log cut short, and `serve`
//! refusing to start on a log that lost rows.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::Home;
use super::remote::Server;

const RECIPE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../docs/src/operating/audit/verify_proof.py"
);

/// Whether `program --version` runs; tests that need it skip with a message otherwise.
fn have(program: &str) -> bool {
    let found = Command::new(program)
        .arg(if program == "openssl" {
            "version"
        } else {
            "--version"
        })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!("skipped: {program} is not installed");
    }
    found
}

/// Runs a Python 3 snippet on the home's gateway database (stdlib sqlite3).
fn sql(home: &Home, statement: &str) {
    let db = home.path().join("gateway.db");
    let status = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()",
        ])
        .arg(&db)
        .arg(statement)
        .status()
        .unwrap();
    assert!(status.success(), "{statement}");
}

fn some_rows(home: &Home) {
    for _ in 0..4 {
        home.ok(&["audit", "verify"], b"");
    }
}

fn recipe(proof: &Path, key: &str) -> (bool, String) {
    let out = Command::new("python3")
        .arg(RECIPE)
        .arg(proof)
        .arg(key)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_proof_checks_out_with_the_documented_recipe_and_nothing_else() {
    if !have("python3") || !have("openssl") {
        return;
    }
    let home = Home::new();
    some_rows(&home);
    let key = String::from_utf8(home.ok(&["audit", "public-key"], b"")).unwrap();
    let key = key.trim();
    assert!(key.starts_with("keygate/audit/"), "{key}");
    let proof = home.ok(&["audit", "prove", "2", "--output", "json"], b"");
    let file = home.path().join("proof.json");
    std::fs::write(&file, &proof).unwrap();
    let (ok, out) = recipe(&file, key);
    assert!(ok, "{out}");
    assert!(out.starts_with("OK: row 2"), "{out}");

    // A changed row, a changed tree size in the note, another log's key: each refused.
    let text = String::from_utf8(proof).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let size = json["checkpoint"]["size"].as_u64().unwrap();
    for (what, forged) in [
        (
            "row",
            text.replace("\"source\": \"cli\"", "\"source\": \"rest\""),
        ),
        (
            "note",
            text.replace(&format!("\\n{size}\\n"), &format!("\\n{}\\n", size + 1)),
        ),
    ] {
        assert_ne!(forged, text, "{what}: nothing replaced");
        std::fs::write(&file, forged).unwrap();
        let (ok, out) = recipe(&file, key);
        assert!(!ok, "forged {what} accepted: {out}");
    }
    std::fs::write(&file, &text).unwrap();
    let other = Home::new();
    other.ok(&["audit", "verify"], b"");
    let other_key = String::from_utf8(other.ok(&["audit", "public-key"], b"")).unwrap();
    assert!(!recipe(&file, other_key.trim()).0);
}

#[test]
fn verify_against_an_older_checkpoint_names_rows_cut_off_the_end() {
    if !have("python3") {
        return;
    }
    let home = Home::new();
    some_rows(&home);
    let cp = home.ok(&["audit", "checkpoint"], b"");
    let file = home.path().join("old.checkpoint");
    std::fs::write(&file, &cp).unwrap();
    let file = file.to_str().unwrap();
    home.ok(&["audit", "verify", "--checkpoint", file], b"");
    let v = home.json(&["audit", "verify", "--checkpoint", file, "--output", "json"]);
    assert_eq!(v["checkpoint"]["consistent"], true, "{v}");
    assert_eq!(v["unkeyed_rows"], 0, "{v}");

    // The last two rows the checkpoint covers are deleted (and nothing appended yet).
    let size: u64 = String::from_utf8(cp)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    sql(
        &home,
        &format!("DELETE FROM audit_events WHERE seq >= {}", size - 1),
    );
    let err = home.fails(&["audit", "verify", "--checkpoint", file], b"");
    assert!(err.contains("FAILED"), "{err}");
    assert!(
        err.contains("does not extend") || err.contains("cut off"),
        "{err}"
    );
}

#[test]
fn serve_publishes_checkpoints_and_refuses_to_start_on_a_log_that_lost_rows() {
    if !have("python3") {
        return;
    }
    let home = Home::new();
    some_rows(&home);
    drop(Server::start(&home));
    let published = home.path().join("audit.checkpoint");
    let note = std::fs::read_to_string(&published).unwrap();
    let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();
    assert!(size >= 4, "{note}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&published).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    sql(
        &home,
        &format!("DELETE FROM audit_events WHERE seq = {size}"),
    );
    let mut child = home
        .cmd(&["serve"])
        .env("KEYGATE_SERVER__LISTEN", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("keygate serve started on a log that lost rows");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success());
    assert!(err.contains("refusing to serve"), "{err}");
    assert!(err.contains(&format!("first missing row {size}")), "{err}");
}
