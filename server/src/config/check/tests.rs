#![allow(clippy::unwrap_used)]

use super::*;
use crate::config::test_support::{env, source};

fn accept(_: &ProviderSection) -> Result<()> {
    Ok(())
}

/// `(line, column, message)` of each problem in the file, `(0, 0, var: message)` otherwise.
fn located(problems: &[Problem]) -> Vec<(usize, usize, String)> {
    problems
        .iter()
        .map(|p| match &p.origin {
            Origin::File { line, column, .. } => (*line, *column, p.message.clone()),
            Origin::Env { var } => (0, 0, format!("{var}: {}", p.message)),
            Origin::Default => (0, 0, p.message.clone()),
        })
        .collect()
}

#[test]
fn every_problem_of_a_file_is_found_with_its_line_and_column() {
    let text = r#"[server]
listne = "127.0.0.1:1"
body_limit_bytes = "big"
tls_cert = "c.pem"

[cache]
max_age_secs = 0

[colour]
x = 1

[server.rate_limit]
burst = -1
"#;
    let problems = check(&source(text), env(&[]), &accept);
    let found = located(&problems);
    assert_eq!(found.len(), 6, "{found:#?}");
    assert_eq!((found[0].0, found[0].1), (2, 1));
    assert!(
        found[0]
            .2
            .starts_with("unknown setting `server.listne`, expected one of `listen`"),
        "{found:#?}"
    );
    assert_eq!((found[1].0, found[1].1), (3, 20));
    assert!(found[1].2.contains("server.body_limit_bytes"), "{found:#?}");
    // Rules between settings point at the value that breaks them.
    assert_eq!((found[2].0, found[2].1), (4, 12));
    assert!(found[2].2.contains("tls_key"), "{found:#?}");
    assert_eq!((found[3].0, found[3].1), (7, 16));
    assert!(found[3].2.contains("cache.max_age_secs"), "{found:#?}");
    assert_eq!((found[4].0, found[4].1), (9, 2));
    assert!(
        found[4].2.contains("unknown setting `colour`"),
        "{found:#?}"
    );
    assert_eq!((found[5].0, found[5].1), (13, 9));
    assert!(found[5].2.contains("server.rate_limit.burst"), "{found:#?}");
    assert!(problems.iter().all(|p| p.path.is_some()));
}

#[test]
fn a_syntax_error_is_one_problem_at_its_place() {
    let problems = check(&source("[server]\nlisten = \n"), env(&[]), &accept);
    let found = located(&problems);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].0, 2, "{found:#?}");
}

#[test]
fn environment_overrides_are_checked_and_named() {
    let problems = check(
        &source("[server]\nlisten = \"127.0.0.1:1\"\n"),
        env(&[
            ("KEYGATE_SERVER__LISTEN", "nowhere"),
            ("KEYGATE_SERVER__LISTNE", "x"),
            ("KEYGATE_COLOUR__X", "1"),
            ("KEYGATE_AUDIT__QUEUE", "0"),
            ("KEYGATE_HOME", "/not/a/setting"),
        ]),
        &accept,
    );
    let found = located(&problems);
    assert_eq!(found.len(), 4, "{found:#?}");
    assert!(
        found[0]
            .2
            .starts_with("KEYGATE_SERVER__LISTEN: `server.listen`")
    );
    assert!(
        found[1]
            .2
            .starts_with("KEYGATE_SERVER__LISTNE: unknown setting `server.listne`")
    );
    assert!(
        found[2]
            .2
            .starts_with("KEYGATE_COLOUR__X: unknown setting `colour.x`")
    );
    assert!(
        found[3]
            .2
            .starts_with("KEYGATE_AUDIT__QUEUE: audit.queue must be")
    );
}

#[test]
fn provider_sections_are_checked_by_the_callback_and_located() {
    let text = r#"[providers.local]

[providers.cloud]
kind = "aws"
regoin = "x"

[providers."bad name"]

[providers.k]
kind = 3
"#;
    let refuse = |s: &ProviderSection| -> Result<()> {
        if s.settings.contains_key("regoin") {
            return Err(Error::invalid(format!(
                "[providers.{}]: unknown field `regoin`",
                s.name
            )));
        }
        if s.name == "local" {
            return Err(Error::invalid("[providers.local]: missing field `path`"));
        }
        Ok(())
    };
    let found = located(&check(&source(text), env(&[]), &refuse));
    let places: Vec<(usize, usize)> = found.iter().map(|f| (f.0, f.1)).collect();
    assert_eq!(places, [(1, 12), (5, 1), (7, 12), (10, 8)], "{found:#?}");
    assert!(found[0].2.contains("missing field `path`"));
    assert!(
        found[1]
            .2
            .starts_with("unknown setting `providers.cloud.regoin`"),
        "{found:#?}"
    );
    assert!(found[2].2.contains("provider name"));
    assert!(found[3].2.contains("kind must be a string"));
}

#[test]
fn the_example_file_has_no_problem() {
    let text = include_str!("../../../../keygate.example.toml");
    let problems = check(&source(text), env(&[]), &accept);
    assert!(problems.is_empty(), "{problems:#?}");
    let problems = check(
        &source("[store]\nurl = \"mysql://db\"\n"),
        env(&[]),
        &accept,
    );
    assert_eq!(located(&problems)[0].0, 2, "{problems:#?}");
}

#[test]
fn a_secret_setting_is_not_repeated_in_a_message() {
    let message = describe(
        &["providers".into(), "p".into(), "client_secret".into()],
        "invalid type: string \"hunter2\", expected a table",
    );
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn a_connection_limit_out_of_range_is_reported_at_its_value() {
    for bad in ["0", "2000000"] {
        let text = format!("[server]\nmax_connections = {bad}\n");
        let found = located(&check(&source(&text), env(&[]), &accept));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!((found[0].0, found[0].1), (2, 19), "{found:#?}");
        assert!(found[0].2.contains("server.max_connections"), "{found:#?}");
    }
    let fine = check(
        &source("[server]\nmax_connections = 64\n"),
        env(&[]),
        &accept,
    );
    assert!(fine.is_empty(), "{fine:#?}");
}
