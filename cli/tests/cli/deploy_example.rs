//! The replica example kept in the repository (`docs/examples/keygate-replica@.service` and
//! its `replica.env`) names only settings, variables and flags keygate has, with values its
//! configuration check accepts.

use super::Home;

const UNIT: &str = include_str!("../../../docs/examples/keygate-replica@.service");
const ENV_FILE: &str = include_str!("../../../docs/examples/replica.env");

/// systemd's specifiers as one instance would have them.
fn instance(text: &str) -> String {
    text.replace("%H", "host-a").replace("%i", "1")
}

/// `KEY=VALUE` assignments: the unit's `Environment=` lines and the env file's lines.
fn assignments() -> Vec<(String, String)> {
    let unit = UNIT
        .lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .map(str::to_owned);
    let file = ENV_FILE
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned);
    unit.chain(file)
        .map(|l| {
            let (k, v) = l.split_once('=').expect("KEY=VALUE");
            (k.to_owned(), instance(v))
        })
        .collect()
}

#[test]
fn the_replica_example_passes_the_configuration_check() {
    let vars = assignments();
    assert!(
        vars.iter().any(|(k, _)| k == "KEYGATE_STORE__URL"),
        "{vars:?}"
    );
    let home = Home::new();
    let mut cmd = home.cmd(&["config", "check"]);
    for (k, v) in &vars {
        if k == keygate_core::root_key::ROOT_KEY_ENV {
            // The root key is not a configuration setting: keygate reads it at open.
            assert!(v.starts_with("REPLACE"), "a real key in the example: {v}");
            continue;
        }
        assert!(k.starts_with("KEYGATE_") && k.contains("__"), "{k}");
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The check would have caught a wrong name: it does for one.
    let out = home
        .cmd(&["config", "check"])
        .env("KEYGATE_SCHEDULER__LEASE", "15")
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn the_replica_example_starts_serve_with_flags_keygate_has() {
    let exec = UNIT
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart line");
    let exec = instance(exec);
    let args: Vec<&str> = exec.split_whitespace().collect();
    assert!(args[0].ends_with("/keygate"), "{exec}");
    let serve = args.iter().position(|a| *a == "serve").expect("serve");
    let home = Home::new();
    let help = |cmd: &[&str]| {
        let out = home.cmd(cmd).arg("--help").output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let (global, serve_help) = (help(&[]), help(&["serve"]));
    for (i, arg) in args.iter().enumerate().skip(1) {
        if let Some(flag) = arg.strip_prefix("--") {
            let text = if i < serve { &global } else { &serve_help };
            assert!(text.contains(&format!("--{flag}")), "keygate has no {arg}");
        }
    }
    assert!(args.contains(&"--listen"), "{exec}");
}
