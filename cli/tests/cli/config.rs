//! `config show` and `config check`: the configuration read without opening the home.

use serde_json::Value;

use super::Home;

#[test]
fn check_reports_every_mistake_with_its_line_and_exits_1() {
    let home = Home::new();
    let file = home.path().join("bad.toml");
    std::fs::write(
        &file,
        "[server]\nlistne = \"127.0.0.1:1\"\n\n[cache]\nmax_age_secs = \"soon\"\n",
    )
    .unwrap();
    let out = home.run_with(&["config", "check", file.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let name = file.display().to_string();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with(&format!("{name}:2:1: unknown setting `server.listne`")),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with(&format!("{name}:5:16: `cache.max_age_secs`")),
        "{stdout}"
    );
    // Nothing was created in the home.
    assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 1);
}

#[test]
fn the_example_file_checks_clean() {
    let home = Home::new();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../keygate.example.toml");
    let out = home.run_with(&["config", "check", example], b"");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.trim_end().ends_with(": ok"), "{stdout}");
}

#[test]
fn show_names_the_environment_and_the_defaults() {
    let home = Home::new();
    let out = home
        .cmd(&["config", "show", "--output", "json"])
        .env("KEYGATE_SERVER__LISTEN", "0.0.0.0:9443")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(shown["file"].is_null());
    let setting = |path: &str| -> Value {
        shown["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["path"] == path)
            .unwrap_or_else(|| panic!("no {path} in {shown}"))
            .clone()
    };
    let listen = setting("server.listen");
    assert_eq!(listen["value"], "0.0.0.0:9443");
    assert_eq!(listen["origin"], "env");
    assert_eq!(listen["source"], "KEYGATE_SERVER__LISTEN");
    let queue = setting("audit.queue");
    assert_eq!(queue["value"], 8192);
    assert_eq!(queue["origin"], "default");
    assert!(queue["source"].is_null());
    assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0);

    let out = home
        .cmd(&["config", "show"])
        .env("KEYGATE_ADDR", "http://127.0.0.1:1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
