//! `keygate compliance report` over a home with one key per finding.

use serde_json::Value;

use super::Home;

/// A home with `norot` (rotation off), `old` (disabled, behind `alias/app`), `gone` (pending
/// deletion) and `fine` (rotating, enabled, no alias).
fn home_with_findings() -> Home {
    let home = Home::new();
    home.ok(&["keys", "create", "norot", "--spec", "AES_256"], b"");
    for name in ["old", "gone", "fine"] {
        home.ok(
            &[
                "keys",
                "create",
                name,
                "--spec",
                "AES_256",
                "--rotate-every",
                "90",
            ],
            b"",
        );
    }
    home.ok(&["keys", "disable", "old"], b"");
    home.ok(&["alias", "create", "app", "old"], b"");
    home.ok(&["keys", "delete", "gone", "--in", "7"], b"");
    home
}

/// (rule, key name) of every finding.
fn findings(report: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_json_report_finds_each_planted_problem() {
    let home = home_with_findings();
    let report = home.json(&["compliance", "report", "--format", "json"]);
    let pair = |r: &str, k: &str| (r.to_owned(), k.to_owned());
    assert_eq!(
        findings(&report),
        vec![
            pair("disabled-with-alias", "old"),
            pair("pending-deletion", "gone"),
            pair("rotation-off", "norot"),
        ]
    );
    assert_eq!(report["summary"]["keys"], 4);
    assert_eq!(report["summary"]["by_provider"]["local"]["rotation-off"], 1);
    assert_eq!(report["options"]["unused_days"], 90);
    assert_eq!(report["errors"], Value::Array(Vec::new()));
    let gone = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "pending-deletion")
        .unwrap();
    assert_eq!(gone["key"], "local://gone");
    assert_eq!(gone["severity"], "medium");

    // `--output json` is the CLI's usual spelling of the same thing.
    let same = home.json(&["compliance", "report", "--output", "json"]);
    assert_eq!(findings(&same), findings(&report));
}

#[test]
fn the_csv_report_parses_and_fail_on_sets_the_exit_code() {
    let home = home_with_findings();
    let csv =
        String::from_utf8(home.ok(&["compliance", "report", "--format", "csv"], b"")).unwrap();
    let rows = parse_csv(&csv);
    assert_eq!(
        rows[0],
        ["severity", "rule", "provider", "key", "name", "message"]
    );
    assert_eq!(rows.len(), 4, "{csv}");
    assert!(rows[1..].iter().all(|r| r.len() == 6), "{rows:?}");
    // The alias message holds a comma, so it was quoted and reads back whole.
    let aliased = rows.iter().find(|r| r[1] == "disabled-with-alias").unwrap();
    assert_eq!(aliased[5], "disabled, but alias/app still points at it");

    // Markdown by default, written to a file with -o.
    let path = home.path().join("report.md");
    let stdout = home.ok(&["compliance", "report", "-o", path.to_str().unwrap()], b"");
    assert!(stdout.is_empty());
    let md = std::fs::read_to_string(&path).unwrap();
    assert!(md.starts_with("# keygate compliance report"), "{md}");
    assert!(
        md.contains("| medium | rotation-off | local | norot (local://norot) |"),
        "{md}"
    );

    // Findings exit 0, unless --fail-on asks otherwise.
    let medium = home.run_with(&["compliance", "report", "--fail-on", "medium"], b"");
    assert_eq!(medium.status.code(), Some(3));
    assert!(!medium.stdout.is_empty());
    let high = home.run_with(&["compliance", "report", "--fail-on", "high"], b"");
    assert_eq!(high.status.code(), Some(0));

    let conflict = home.run_with(
        &[
            "compliance",
            "report",
            "--format",
            "csv",
            "--output",
            "json",
        ],
        b"",
    );
    assert_eq!(conflict.status.code(), Some(2));
}

/// An RFC 4180 reader: quoted fields with doubled quotes, CRLF records.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => {
                assert!(c != '"' && c != '\n', "unquoted {c:?} in {text}");
                field.push(c);
            }
        }
    }
    assert!(!quoted && field.is_empty() && row.is_empty(), "{text}");
    rows
}
