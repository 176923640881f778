//! `keygate status`, embedded over a fresh home and against `keygate serve`.

use serde_json::Value;

use super::Home;
use super::remote::{Server, token};

/// The cloud features this test binary's `keygate` was built with.
fn built_features() -> Vec<&'static str> {
    [
        ("aws", cfg!(feature = "aws")),
        ("azure", cfg!(feature = "azure")),
        ("gcp", cfg!(feature = "gcp")),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect()
}

#[test]
fn embedded_status_json_names_the_local_provider_and_the_build() {
    let home = Home::new();
    home.ok(&["keys", "create", "k", "--spec", "AES_256"], b"");
    let status = home.json(&["status", "--output", "json"]);
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    let features: Vec<&str> = status["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(features, built_features());
    let local = &status["providers"][0];
    assert_eq!(local["name"], "local");
    assert_eq!(local["kind"], "local");
    assert_eq!(local["reachable"], true);
    assert!(local["latency_ms"].is_u64());
    assert_eq!(status["store"]["writable"], true);
    assert_eq!(status["audit"]["writer_running"], true);
    assert!(status["audit"]["head_seq"].as_u64().unwrap() >= 1);
    assert!(status["audit"]["size_bytes"].as_u64().unwrap() > 0);
    assert_eq!(status["listeners"], Value::Array(Vec::new()));

    let table = String::from_utf8(home.ok(&["status"], b"")).unwrap();
    assert!(table.starts_with("keygate "), "{table}");
    assert!(table.contains("NAME"), "{table}");
    assert!(table.contains("local  local  reachable"), "{table}");
    assert!(table.contains("listeners: none in this process"), "{table}");
}

#[test]
fn remote_status_names_the_listener_and_needs_status_read() {
    let home = Home::new();
    let server = Server::start(&home);
    let auditor = token(&home, "eve", "auditor");
    let app = token(&home, "billing", "app");
    let remote = |token: &str, args: &[&str]| {
        let mut all = vec!["--gateway", server.url.as_str(), "--token", token];
        all.extend_from_slice(args);
        home.run_with(&all, b"")
    };
    let out = remote(&auditor, &["status", "--output", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["listeners"][0]["name"], "rest");
    assert_eq!(status["listeners"][0]["url"], server.url.as_str());
    assert_eq!(status["providers"][0]["reachable"], true);

    let refused = remote(&app, &["status"]);
    assert_eq!(
        refused.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
