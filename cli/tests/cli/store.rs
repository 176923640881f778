//! `keygate store migrate --to postgres://…`: a SQLite home copied into PostgreSQL keeps
//! working there. Needs `KEYGATE_TEST_PG_URL` (`scripts/postgres.sh`) and `psql` beside the
//! server to make a database of its own; without the variable it says it skipped.

use std::process::Command;

use serde_json::Value;

use super::Home;
use super::remote::{Server, token};

/// A new, empty database on the test server, by URL; `None` (said on stderr) without
/// `KEYGATE_TEST_PG_URL`.
#[allow(clippy::print_stderr)]
fn fresh_database(test: &str) -> Option<String> {
    let Ok(url) = std::env::var("KEYGATE_TEST_PG_URL") else {
        eprintln!("SKIPPED {test}: KEYGATE_TEST_PG_URL is not set");
        return None;
    };
    let name = format!(
        "kgtest_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let made = Command::new("psql")
        .arg(&url)
        .args(["-v", "ON_ERROR_STOP=1", "-c"])
        .arg(format!("CREATE DATABASE {name}"))
        .output()
        .expect("psql runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let (base, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let (server, _) = base.rsplit_once('/').unwrap();
    Some(if query.is_empty() {
        format!("{server}/{name}")
    } else {
        format!("{server}/{name}?{query}")
    })
}

#[test]
fn a_sqlite_home_moves_into_postgres_and_keeps_working() {
    let Some(url) = fresh_database("a_sqlite_home_moves_into_postgres") else {
        return;
    };
    let home = Home::new();
    home.ok(&["keys", "create", "pay", "--spec", "AES_256"], b"");
    home.ok(&["keys", "rotate", "pay"], b"");
    home.ok(&["alias", "create", "billing", "pay"], b"");
    let sealed = home.ok(&["encrypt", "--key", "alias/billing"], b"before the move");
    let admin = token(&home, "ops", "admin");

    let report = home.json(&["store", "migrate", "--to", &url, "--output", "json"]);
    assert_eq!(report["tables"]["aliases"], 1, "{report}");
    assert_eq!(report["tables"]["tokens"], 1, "{report}");
    let rows = report["tables"]["audit_events"].as_u64().unwrap();
    assert!(rows >= 6, "{report}");
    assert_eq!(report["audit_rows_verified"], rows, "{report}");
    let local = &report["local_providers"]["local"];
    assert_eq!(
        (local["keys"].as_u64(), local["versions"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(local["schema"], "keygate_local");

    // Once copied, the target is not empty: a second copy is refused, naming why.
    let again = home.fails(&["store", "migrate", "--to", &url], b"");
    assert!(again.contains("not empty"), "{again}");

    // The home now on PostgreSQL: the old ciphertext opens, the token works through a
    // gateway, and the audit log (old rows and new) verifies.
    std::fs::write(
        home.path().join("keygate.toml"),
        format!("[store]\nurl = \"{url}\"\n"),
    )
    .unwrap();
    assert_eq!(home.ok(&["decrypt"], &sealed), b"before the move");
    let server = Server::start(&home);
    let out = home.run_with(
        &["--gateway", &server.url, "--token", &admin, "decrypt"],
        &sealed,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"before the move");
    drop(server);
    let verified: Value = home.json(&["audit", "verify", "--output", "json"]);
    assert_eq!(verified["first_broken"], Value::Null, "{verified}");
    assert!(verified["rows"].as_u64().unwrap() > rows, "{verified}");
    let status = home.json(&["status", "--output", "json"]);
    assert_eq!(status["store"]["backend"], "postgres", "{status}");
}
