//! `keygate cost` over a fresh home whose `[pricing.local]` gives the local provider prices,
//! every figure worked out by hand.

use super::Home;

/// One AES key rotated once (2 versions) and encrypted with 5 times; a second key created
/// and scheduled for deletion (no live versions, not billed).
fn priced_home() -> Home {
    let home = Home::new();
    std::fs::write(
        home.path().join("keygate.toml"),
        "[pricing.local]\nkey_month = 0.5\nversion_month = 0.25\nincluded_versions = 1\n\
         symmetric_per_10k = 100.0\nmanagement_per_10k = 10.0\n",
    )
    .unwrap();
    home.ok(&["keys", "create", "k", "--spec", "AES_256"], b"");
    home.ok(&["keys", "rotate", "k"], b"");
    for _ in 0..5 {
        home.ok(&["encrypt", "--key", "k"], b"hello");
    }
    home.ok(&["keys", "create", "gone", "--spec", "AES_256"], b"");
    home.ok(&["keys", "delete", "gone", "--in", "7"], b"");
    home
}

#[test]
fn cost_json_prices_keys_and_audited_requests() {
    let home = priced_home();
    let r = home.json(&["cost", "--since", "1d", "--output", "json"]);
    let local = &r["providers"][0];
    assert_eq!(local["provider"], "local");
    // k: 2 live versions; gone: pending deletion.
    assert_eq!(
        (local["keys"].as_u64(), local["key_versions"].as_u64()),
        (Some(1), Some(2))
    );
    // $0.50 + (2 − 1 included) × $0.25.
    assert_eq!(local["monthly_usd"], 0.75);
    assert_eq!(local["requests"]["symmetric"], 5);
    let management = local["requests"]["management"].as_u64().unwrap();
    // create k, rotate k, create gone, delete gone at least; describes (name lookups) are
    // key management too, so this is a lower bound checked with the price below.
    assert!(management >= 4, "{r}");
    // 5 × $100 / 10,000 = $0.05, plus management × $10 / 10,000 = $0.001 each.
    let expected = 0.05 + management as f64 * 0.001;
    assert!(
        (local["requests_usd"].as_f64().unwrap() - expected).abs() < 1e-9,
        "{r}"
    );
    // On AWS: k is $1 + 1 rotation × $1 = $2 (gone is not billed).
    let aws = local["elsewhere"]["aws"].as_f64().unwrap();
    let aws_requests = (5 + management) as f64 * 0.03 / 10_000.0;
    assert!((aws - (2.0 + aws_requests)).abs() < 1e-9, "{r}");
    assert_eq!(r["prices"]["local"]["source"], "keygate.toml [pricing]");
    assert_eq!(r["keys"].as_array().unwrap().len(), 2);
}

#[test]
fn cost_table_has_a_provider_row_and_a_key_row() {
    let home = priced_home();
    let table = String::from_utf8(home.ok(&["cost"], b"")).unwrap();
    assert!(table.contains("PROVIDER"), "{table}");
    assert!(table.contains("ON AWS-KMS"), "{table}");
    let local = table.lines().find(|l| l.starts_with("local ")).unwrap();
    assert!(local.contains("$0.75"), "{table}");
    assert!(table.contains("local://k "), "{table}");
    assert!(table.lines().any(|l| l.starts_with("TOTAL")), "{table}");
}

#[test]
fn cost_refuses_a_bad_since() {
    let home = Home::new();
    let out = home.run_with(&["cost", "--since", "yesterday"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--since"));
}

#[test]
fn remote_cost_matches_embedded_and_needs_audit_read() {
    let home = priced_home();
    let embedded = home.json(&["cost", "--output", "json"]);
    let server = super::remote::Server::start(&home);
    let auditor = super::remote::token(&home, "eve", "auditor");
    let app = super::remote::token(&home, "billing", "app");
    let remote = |token: &str| {
        let args = ["--gateway", server.url.as_str(), "--token", token];
        home.run_with(&[&args[..], &["cost", "--output", "json"]].concat(), b"")
    };
    let out = remote(&auditor);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let served: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Same estate, same prices; the embedded report's own audit read is one more request
    // the served one may count, but audit reads are not billed.
    assert_eq!(served["providers"][0]["monthly_usd"], 0.75);
    assert_eq!(served["keys"], embedded["keys"]);
    assert_eq!(served["prices"], embedded["prices"]);
    assert_eq!(remote(&app).status.code(), Some(3));
}
