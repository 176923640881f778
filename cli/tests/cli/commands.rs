//! The command line as a whole: every command's help, the exit-code table, completions, man
//! pages, `--version`, `serve --listen`, and a closed output pipe.

use std::io::Read as _;
use std::process::Stdio;

use clap::CommandFactory as _;

use super::Home;
use super::remote::{Server, token};

/// Every command path of the real command line (`["keys", "rotate"]`, ...), from the same
/// clap definition the binary parses with, so a new command is covered without editing this.
fn command_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            let mut path = prefix.to_vec();
            path.push(sub.get_name().to_owned());
            walk(sub, &path, out);
            out.push(path);
        }
    }
    let mut out = vec![Vec::new()];
    walk(&keygate::Cli::command(), &[], &mut out);
    out
}

#[test]
fn every_command_answers_help() {
    let home = Home::new();
    let paths = command_paths();
    assert!(paths.len() > 40, "only {} commands found", paths.len());
    for path in paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = home.run_with(&args, b"");
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(0), "keygate {args:?}: {stderr}");
        assert!(
            stderr.is_empty(),
            "keygate {args:?} wrote to stderr: {stderr}"
        );
        let usage = format!("Usage: keygate {}", path.join(" "));
        assert!(
            stdout.contains(usage.trim_end()),
            "keygate {args:?} does not show `{usage}`:\n{stdout}"
        );
        // A short description for every command, and no help text left empty.
        assert!(stdout.lines().next().is_some_and(|l| !l.trim().is_empty()));
    }
    // Nothing was opened: help needs no home.
    assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0);
}

/// The exit codes the book's table documents (docs/src/reference/exit-codes.md, linked from
/// the README), each produced by a real command, every failure as one `keygate: ` line.
#[test]
fn exit_codes_follow_the_documented_table() {
    let table = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/src/reference/exit-codes.md"
    ))
    .unwrap();
    let documented: Vec<u8> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next()?.parse().ok())
        .collect();
    assert_eq!(documented, [0, 1, 2, 3, 4, 141], "{table}");

    let home = Home::new();
    let code = |args: &[&str], stdin: &[u8]| {
        let out = home.run_with(args, stdin);
        let stderr = String::from_utf8(out.stderr).unwrap();
        let code = out.status.code().unwrap();
        // An answer (denied, does not verify) is on stdout; an error is one stderr line.
        if code != 0 && !stderr.is_empty() {
            assert!(
                stderr.starts_with("keygate: ") || stderr.starts_with("error: "),
                "{args:?}: {stderr}"
            );
            if code != 2 {
                assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
            }
        }
        code
    };
    assert_eq!(code(&["keys", "create", "k", "--spec", "AES_256"], b""), 0);
    assert_eq!(code(&["keys", "create", "s", "--spec", "EC_P256"], b""), 0);
    assert_eq!(code(&["keys", "show", "missing"], b""), 1);
    assert_eq!(code(&["decrypt"], b"not an envelope"), 1);
    // Usage mistakes: clap's own, a malformed key reference, a token without a gateway,
    // serve with a gateway.
    assert_eq!(code(&["keys", "list", "--no-such-flag"], b""), 2);
    assert_eq!(code(&["keys", "show", "alias/"], b""), 2);
    assert_eq!(code(&["--token", "t", "keys", "list"], b""), 2);
    assert_eq!(code(&["--gateway", "http://127.0.0.1:1", "serve"], b""), 2);
    assert_eq!(code(&["man", "no-such-command"], b""), 2);
    let denied = [
        "policy",
        "check",
        "--principal",
        "p",
        "--role",
        "app",
        "--action",
        "keys:rotate",
    ];
    assert_eq!(code(&denied, b""), 3);
    let sig = home.path().join("m.sig");
    let sig = sig.to_str().unwrap();
    assert_eq!(code(&["sign", "--key", "s", "-o", sig], b"message"), 0);
    assert_eq!(
        code(&["verify", "--key", "s", "--signature", sig], b"message"),
        0
    );
    assert_eq!(
        code(&["verify", "--key", "s", "--signature", sig], b"other"),
        4
    );
}

#[test]
fn an_app_token_refused_by_the_gateway_exits_3() {
    let home = Home::new();
    let server = Server::start(&home);
    let app = token(&home, "svc", "app");
    let out = home
        .cmd(&[
            "--gateway",
            &server.url,
            "keys",
            "create",
            "x",
            "--spec",
            "AES_256",
        ])
        .env("KEYGATE_TOKEN", &app)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("keygate: "), "{stderr}");
}

#[test]
fn a_closed_output_pipe_ends_the_command_quietly() {
    let home = Home::new();
    home.ok(&["keys", "create", "k", "--spec", "AES_256"], b"");
    let input = home.path().join("big");
    // More than a pipe holds: the write into the closed pipe fails whatever the timing.
    std::fs::write(&input, vec![7u8; 4 << 20]).unwrap();
    for args in [
        vec!["encrypt", "--key", "k", "-i", input.to_str().unwrap()],
        vec!["completions", "zsh"],
        vec!["man"],
    ] {
        let mut child = home
            .cmd(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        // Short output may fit the pipe before it closes (exit 0); never a message.
        assert!(
            matches!(status.code(), Some(141 | 0)),
            "keygate {args:?}: {status:?} {stderr}"
        );
        assert_eq!(stderr, "", "keygate {args:?}");
        if args[0] == "encrypt" {
            assert_eq!(status.code(), Some(141));
        }
    }
}

#[test]
fn completions_for_every_shell_name_the_commands() {
    let home = Home::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = home.ok(&["completions", shell], b"");
        let script = String::from_utf8(out).unwrap();
        for word in ["keys", "rotate", "--output", "completions"] {
            assert!(script.contains(word), "{shell} script lacks {word}");
        }
    }
    let out = home.run_with(&["completions", "tcsh"], b"");
    assert_eq!(out.status.code(), Some(2));
    // The bash script is valid bash.
    let script = home.path().join("keygate.bash");
    std::fs::write(&script, home.ok(&["completions", "bash"], b"")).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
}

#[test]
fn man_pages_for_keygate_and_each_command() {
    let home = Home::new();
    let page = String::from_utf8(home.ok(&["man"], b"")).unwrap();
    assert!(page.contains(".TH keygate 1"), "{page}");
    assert!(page.contains("completions"), "{page}");
    let page = String::from_utf8(home.ok(&["man", "keys", "rotate"], b"")).unwrap();
    assert!(page.contains(".TH keygate-keys-rotate 1"), "{page}");
    assert!(page.contains("keygate 0."), "{page}");

    let dir = home.path().join("man1");
    std::fs::create_dir(&dir).unwrap();
    home.ok(&["man", "--dir", dir.to_str().unwrap()], b"");
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    pages.sort();
    let expected: Vec<String> = {
        let mut v: Vec<String> = command_paths()
            .iter()
            .map(|p| {
                let mut name = vec!["keygate".to_owned()];
                name.extend(p.iter().cloned());
                format!("{}.1", name.join("-"))
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(pages, expected);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("keygate.1"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
    }
    let missing = home.path().join("nope");
    let out = home.run_with(&["man", "--dir", missing.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn version_names_the_providers_and_dialects_of_this_build() {
    let home = Home::new();
    let out = String::from_utf8(home.ok(&["--version"], b"")).unwrap();
    assert!(
        out.starts_with(concat!("keygate ", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    let mut providers = vec!["local"];
    let mut dialects = Vec::new();
    for (on, name) in [
        (cfg!(feature = "aws"), "aws"),
        (cfg!(feature = "azure"), "azure"),
        (cfg!(feature = "gcp"), "gcp"),
    ] {
        if on {
            providers.push(name);
            dialects.push(name);
        }
    }
    let dialects = if dialects.is_empty() {
        "none".to_owned()
    } else {
        dialects.join(" ")
    };
    let want = format!("(providers: {}; dialects: {dialects})", providers.join(" "));
    assert!(out.contains(&want), "{out} lacks {want}");
}

/// `serve --listen` wins over the environment, which wins over the file.
#[test]
fn serve_listen_flag_wins_over_environment_and_file() {
    let home = Home::new();
    let config = home.path().join("keygate.toml");
    std::fs::write(&config, "[server]\nlisten = \"127.0.0.1:9\"\n").unwrap();
    let server = Server::start_args(
        &home,
        &["serve", "--listen", "127.0.0.1:0"],
        &[("KEYGATE_SERVER__LISTEN", "127.0.0.1:7")],
    );
    assert!(
        server.url.starts_with("http://127.0.0.1:"),
        "{}",
        server.url
    );
    assert!(
        !server.url.ends_with(":9") && !server.url.ends_with(":7"),
        "{}",
        server.url
    );
    let admin = token(&home, "ops", "admin");
    let out = home
        .cmd(&["--gateway", &server.url, "keys", "list", "--output", "json"])
        .env("KEYGATE_TOKEN", &admin)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    let out = home.run_with(&["serve", "--listen", "not-an-address"], b"");
    assert_eq!(out.status.code(), Some(2));
}
