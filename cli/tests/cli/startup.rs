//! What a one-shot command opens: only the providers it uses, and the maintenance pass only
//! for commands that change or use a key.

use serde_json::Value;

use super::Home;

/// A home with the local provider and a second local provider, `broken`, that cannot be
/// opened (its database would be under a regular file): any command that opens it, or that
/// runs the maintenance pass (which asks every local provider what is due), shows it.
fn home_with_a_broken_provider() -> Home {
    let home = Home::new();
    std::fs::write(home.path().join("blocker"), b"not a directory").unwrap();
    std::fs::write(
        home.path().join("keygate.toml"),
        "[providers.local]\n\n[providers.broken]\nkind = \"local\"\npath = \"blocker/broken.db\"\n",
    )
    .unwrap();
    home
}

/// The audit rows the maintenance pass wrote (source `scheduler`).
fn scheduler_rows(home: &Home) -> Vec<Value> {
    let out = home.ok(&["audit", "export", "--format", "jsonl"], b"");
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|row| row["source"] == "scheduler")
        .collect()
}

#[test]
fn read_only_commands_run_no_maintenance_and_open_only_the_providers_they_use() {
    let home = home_with_a_broken_provider();
    // A command that changes a key runs the pass first: the broken provider cannot say what
    // is due, which is one failure row naming it; the key is still created.
    home.ok(
        &[
            "keys",
            "create",
            "demo",
            "--spec",
            "AES_256",
            "--provider",
            "local",
        ],
        b"",
    );
    let rows = scheduler_rows(&home);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["provider"], "broken");
    assert_eq!(rows[0]["outcome"], "failure");

    // Reading commands: no pass, and the broken provider is never opened (opening it would
    // be an error, or a warning naming it).
    for args in [
        &["keys", "list", "--provider", "local"][..],
        &["keys", "list", "--provider", "local", "--output", "json"],
        &["keys", "show", "local://demo"],
        &["keys", "versions", "local://demo"],
        &["alias", "list"],
        &["token", "list"],
    ] {
        let out = home.run_with(args, b"");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "keygate {args:?}: {stderr}");
        assert!(!stderr.contains("broken"), "keygate {args:?}: {stderr}");
    }
    let listed = home.json(&["keys", "list", "--provider", "local", "--output", "json"]);
    assert_eq!(listed[0]["name"], "demo", "{listed}");
    assert_eq!(scheduler_rows(&home).len(), 1);

    // A command that uses a key runs the pass again.
    let ciphertext = home.ok(&["encrypt", "--key", "local://demo"], b"secret");
    assert!(!ciphertext.is_empty());
    assert_eq!(scheduler_rows(&home).len(), 2);

    // Listing every provider opens every provider: the broken one is reported, the local
    // key still listed.
    let out = home.run_with(&["keys", "list"], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("provider broken could not be listed"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("demo"));
    assert_eq!(scheduler_rows(&home).len(), 2);
}

/// A cloud provider is built only by a command that uses it: its client is not even created
/// (which would contact its endpoint) for a command on a local key.
#[cfg(feature = "aws")]
#[test]
fn a_cloud_provider_is_not_built_for_a_command_on_a_local_key() {
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    // Counts the connections it gets and drops each at once.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if conn.is_err() {
                break;
            }
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let home = Home::new();
    // With an endpoint, building the AWS provider asks it at once whether it implements
    // ListKeyRotations: a connection this listener counts.
    std::fs::write(
        home.path().join("keygate.toml"),
        format!(
            "[providers.local]\n\n[providers.aws]\nregion = \"us-east-1\"\n\
             endpoint_url = \"http://{addr}\"\nmax_attempts = 1\nprobe_wait_ms = 2000\n"
        ),
    )
    .unwrap();
    for args in [
        &[
            "keys",
            "create",
            "demo",
            "--spec",
            "AES_256",
            "--provider",
            "local",
        ][..],
        &["keys", "list", "--provider", "local"],
        &["keys", "show", "demo"],
        &["encrypt", "--key", "demo"],
    ] {
        home.ok(args, b"x");
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the AWS provider was built by a command on a local key"
    );

    // The control: a command that lists every provider builds it, and its probe arrives.
    let out = home.run_with(&["keys", "list"], b"");
    assert!(out.status.success(), "{out:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while hits.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        hits.load(Ordering::SeqCst) > 0,
        "keys list never built the AWS provider"
    );
}
