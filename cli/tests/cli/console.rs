//! The console end to end: the real binary in a detached tmux session (120×40), driven with
//! `send-keys` and read with `capture-pane`: filter, open a key's detail, rotate it
//! (confirmed), see the rotation's audit event there and again on the live audit screen —
//! once embedded and once against `keygate serve` over `--gateway`. Skipped (with a message)
//! where tmux is not installed, unless KEYGATE_TEST_TMUX is set: scripts/test.sh installs tmux
//! and sets it.

use std::process::Command;
use std::time::{Duration, Instant};

use super::Home;

/// A tmux server of its own (a unique `-L` socket), killed on drop whatever happens.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    fn send(&self, keys: &[&str]) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", "console"])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "console"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls the screen until `pred` holds; fails with the last screen after `deadline`.
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}

/// False (after saying why) where tmux is missing and the test may be skipped.
fn tmux_available() -> bool {
    if Command::new("tmux").arg("-V").output().is_ok() {
        return true;
    }
    // scripts/test.sh sets KEYGATE_TEST_TMUX=1 (and installs tmux): there it must run.
    assert!(
        std::env::var_os("KEYGATE_TEST_TMUX").is_none(),
        "KEYGATE_TEST_TMUX is set but tmux is not installed"
    );
    eprintln!("tmux is not installed: skipping the console end-to-end test");
    false
}

#[test]
fn filter_open_rotate_and_see_the_audit_event() {
    if !tmux_available() {
        return;
    }
    let home = Home::new();
    home.ok(&["keys", "create", "orders-e2e", "--spec", "AES_256"], b"");
    home.ok(&["keys", "create", "billing-e2e", "--spec", "AES_256"], b"");
    // Embedded: the service layer in process, audited with source `console`.
    drive(&home, "e2e", "", "console");
}

#[test]
fn the_console_drives_a_remote_gateway() {
    if !tmux_available() {
        return;
    }
    let home = Home::new();
    home.ok(&["keys", "create", "orders-e2e", "--spec", "AES_256"], b"");
    home.ok(&["keys", "create", "billing-e2e", "--spec", "AES_256"], b"");
    let server = super::remote::Server::start(&home);
    let token = super::remote::token(&home, "console-ops", "admin");
    // Remote: every call goes over the REST API as the token's principal.
    let args = format!("--gateway '{}' --token '{token}'", server.url);
    let screen = drive(&home, "e2e-remote", &args, "rest");
    assert!(screen.contains("console-ops"), "{screen}");
}

/// Runs the console in tmux (with `args` before `console`), filters, opens `orders-e2e`,
/// rotates it, and finds the rotation (with `source`) in the detail and on the audit screen.
/// Returns the detail screen after the rotation.
fn drive(home: &Home, name: &str, args: &str, source: &str) -> String {
    let tmux = Tmux {
        socket: format!("keygate-{name}-{}", std::process::id()),
    };
    let bin = env!("CARGO_BIN_EXE_keygate");
    // The shell line keeps the pane after the console exits, so a failure shows why.
    let line = format!(
        "env -u KEYGATE_CONFIG -u KEYGATE_ADDR -u KEYGATE_TOKEN -u KEYGATE_ROOT_KEY \
         KEYGATE_HOME='{home}' '{bin}' --home '{home}' {args} console; \
         echo \"keygate exited with $?\"; sleep 60",
        home = home.path().display(),
    );
    let status = tmux
        .cmd()
        .args([
            "new-session",
            "-d",
            "-s",
            "console",
            "-x",
            "120",
            "-y",
            "40",
        ])
        .arg(line)
        .status()
        .unwrap();
    assert!(status.success());

    tmux.wait_for("both keys", |s| {
        s.contains("orders-e2e") && s.contains("billing-e2e") && s.contains("local 2 keys")
    });
    // `/` + text filters as it is typed.
    tmux.send(&["/", "orders"]);
    tmux.wait_for("the filter", |s| {
        s.contains("Keys 1/2") && s.contains("orders-e2e") && !s.contains("billing-e2e")
    });
    tmux.send(&["Enter", "Enter"]);
    tmux.wait_for("the detail", |s| {
        s.contains("Key orders-e2e") && s.contains("local://orders-e2e") && s.contains("primary")
    });
    tmux.send(&["r"]);
    tmux.wait_for("the confirmation", |s| s.contains("Rotate orders-e2e now?"));
    tmux.send(&["y"]);
    let screen = tmux.wait_for("the rotation and its audit event", |s| {
        s.contains("rotated local://orders-e2e: new version") && s.contains("keys:rotate")
    });
    // The event is the console's (or, remote, the REST API's), not the CLI's.
    assert!(
        screen
            .lines()
            .any(|l| l.contains("keys:rotate") && l.contains(source)),
        "{screen}"
    );
    tmux.send(&[":", "audit", "Enter"]);
    tmux.wait_for("the audit screen", |s| s.contains("│ Audit │"));
    // The live tail shows the rotation the console just made.
    tmux.wait_for("the rotation on the audit screen", |s| {
        s.lines()
            .any(|l| l.contains("keys:rotate") && l.contains("orders-e2e"))
    });
    tmux.send(&["q"]);
    tmux.wait_for("the console to quit", |s| {
        s.contains("keygate exited with 0")
    });
    screen
}
