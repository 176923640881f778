//! `keygate serve` and the same commands over `--gateway URL --token T`.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::Home;

/// A running `keygate serve`, killed when dropped (also when a test fails).
pub(super) struct Server {
    child: Child,
    pub(super) url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `keygate serve` on a free port of 127.0.0.1 and waits for its URL on stderr.
    pub(super) fn start(home: &Home) -> Self {
        Self::start_with(home, &[])
    }

    /// As [`Server::start`], with more `KEYGATE_` settings in the environment.
    fn start_with(home: &Home, env: &[(&str, &str)]) -> Self {
        let mut env = env.to_vec();
        env.insert(0, ("KEYGATE_SERVER__LISTEN", "127.0.0.1:0"));
        Self::start_args(home, &["serve"], &env)
    }

    /// Runs `args` (a `serve` command line) with `env` and waits for its URL on stderr.
    pub(super) fn start_args(home: &Home, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = home.cmd(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        // The guard exists before waiting: a server that never announces is still killed.
        let mut server = Self {
            child,
            url: String::new(),
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Keeps draining after the URL so the server never blocks on a full pipe.
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some((_, rest)) = line.split_once(" on http") {
                    let url = rest.split_whitespace().next().unwrap_or_default();
                    let _ = tx.send(format!("http{url}"));
                }
            }
        });
        server.url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("keygate serve did not print its URL");
        server
    }
}

pub(super) fn token(home: &Home, principal: &str, role: &str) -> String {
    let out = home.ok(
        &["token", "create", "--principal", principal, "--role", role],
        b"",
    );
    String::from_utf8(out).unwrap().trim().to_owned()
}

#[test]
fn serve_and_remote_commands() {
    let home = Home::new();
    let server = Server::start(&home);
    let url = server.url.as_str();

    // Tokens are made by the local admin, on the same home, while the server runs.
    let admin = token(&home, "ci", "admin");
    let app = token(&home, "billing", "app");

    let remote = |token: &str, args: &[&str], stdin: &[u8]| {
        let mut all = vec!["--gateway", url, "--token", token];
        all.extend_from_slice(args);
        home.run_with(&all, stdin)
    };
    let ok = |args: &[&str], stdin: &[u8]| {
        let out = remote(&admin, args, stdin);
        assert!(
            out.status.success(),
            "remote {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let json = |args: &[&str]| -> Value { serde_json::from_slice(&ok(args, b"")).unwrap() };

    let created = json(&[
        "keys", "create", "remote-k", "--spec", "AES_256", "--output", "json",
    ]);
    assert_eq!(created["uri"], "local://remote-k");
    let list = json(&["keys", "list", "--output", "json"]);
    assert_eq!(list[0]["name"], "remote-k");

    // Several chunks, through the server's data key and the client's streaming.
    let plain: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let sealed = ok(
        &["encrypt", "--key", "remote-k", "--context", "app=r"],
        &plain,
    );
    assert!(sealed.starts_with(b"KGE"));
    assert_eq!(ok(&["decrypt", "--context", "app=r"], &sealed), plain);
    // What went through the server, the embedded CLI opens (and the other way round).
    assert_eq!(home.ok(&["decrypt"], &sealed), plain);
    let local = home.ok(&["encrypt", "--key", "remote-k"], b"from the cli");
    assert_eq!(ok(&["decrypt"], &local), b"from the cli");

    let tail =
        String::from_utf8(ok(&["audit", "tail", "-n", "50", "--output", "json"], b"")).unwrap();
    let rows: Vec<Value> = tail
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        rows.iter().any(|r| r["principal"] == "ci"
            && r["action"] == "crypto:encrypt"
            && r["source"] == "rest"),
        "{tail}"
    );

    // An app token may not create keys; a wrong token is not let in at all.
    let out = remote(&app, &["keys", "create", "nope", "--spec", "AES_256"], b"");
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let forged = format!("{admin}x");
    let out = remote(&forged, &["keys", "list"], b"");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(!stderr.contains(&forged), "{stderr}");
    // --gateway without a token is a usage error.
    let out = home.run_with(&["--gateway", url, "keys", "list"], b"");
    assert_eq!(out.status.code(), Some(2));
    drop(server);
}

#[test]
fn audit_tail_follows_a_running_gateway() {
    let home = Home::new();
    let server = Server::start(&home);
    let admin = token(&home, "ops", "admin");
    let url = server.url.clone();
    let mut follower = home
        .cmd(&[
            "--gateway",
            &url,
            "--token",
            &admin,
            "audit",
            "tail",
            "-n",
            "0",
            "--follow",
            "--output",
            "json",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = follower.stdout.take().unwrap();
    // Killed at the end, also when an assertion fails.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _follower = Kill(follower);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    // Rows written after the follower started arrive as they are written. Keep writing
    // until one shows: the follower may subscribe after the first request.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while std::time::Instant::now() < deadline {
        let out = home.run_with(
            &[
                "--gateway",
                &url,
                "--token",
                &admin,
                "keys",
                "create",
                "--spec",
                "AES_256",
                &format!("f{}", seen.len()),
            ],
            b"",
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if let Ok(line) = rx.recv_timeout(Duration::from_secs(2)) {
            seen.push(serde_json::from_str::<Value>(&line).unwrap());
            break;
        }
    }
    let row = seen.first().expect("no audit row followed within 30s");
    assert_eq!(row["principal"], "ops");
    assert_eq!(row["source"], "rest");
    drop(server);
}

#[test]
fn remote_over_https_with_a_private_ca() {
    let home = Home::new();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert_path = home.path().join("cert.pem");
    let key_path = home.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let server = Server::start_with(
        &home,
        &[
            ("KEYGATE_SERVER__TLS_CERT", cert_path.to_str().unwrap()),
            ("KEYGATE_SERVER__TLS_KEY", key_path.to_str().unwrap()),
        ],
    );
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let admin = token(&home, "ops", "admin");
    let args = |extra: &[&str]| {
        let mut all = vec!["--gateway", server.url.as_str(), "--token", admin.as_str()];
        all.extend_from_slice(extra);
        all.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    // Without the CA the certificate is not trusted; with it, everything works.
    let plain = args(&["keys", "list"]);
    let plain: Vec<&str> = plain.iter().map(String::as_str).collect();
    let out = home.run_with(&plain, b"");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = home
        .cmd(&plain)
        .env("KEYGATE_CA_CERT", &cert_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ca = cert_path.to_str().unwrap();
    let create = args(&[
        "--ca-cert",
        ca,
        "keys",
        "create",
        "tls-k",
        "--spec",
        "AES_256",
    ]);
    let create: Vec<&str> = create.iter().map(String::as_str).collect();
    home.ok(&create, b"");
    let enc = args(&["--ca-cert", ca, "encrypt", "--key", "tls-k"]);
    let enc: Vec<&str> = enc.iter().map(String::as_str).collect();
    let sealed = home.ok(&enc, b"over tls");
    let dec = args(&["--ca-cert", ca, "decrypt"]);
    let dec: Vec<&str> = dec.iter().map(String::as_str).collect();
    assert_eq!(home.ok(&dec, &sealed), b"over tls");
    drop(server);
}

#[test]
fn sign_and_verify_digests_embedded_and_remote() {
    use aws_lc_rs::digest::{SHA256, SHA384, digest};

    let home = Home::new();
    let server = Server::start(&home);
    let admin = token(&home, "ci", "admin");
    home.ok(&["keys", "create", "dg-ec", "--spec", "EC_P384"], b"");
    home.ok(
        &[
            "keys", "create", "dg-rsa", "--spec", "RSA_2048", "--usage", "sign",
        ],
        b"",
    );
    let dir = home.path().to_owned();
    let file = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    };
    // `remote` goes through `keygate serve` (REST `message_type: digest`), else embedded.
    let run = |remote: bool, args: &[&str]| {
        let mut all = Vec::new();
        if remote {
            all.extend(["--gateway", server.url.as_str(), "--token", admin.as_str()]);
        }
        all.extend_from_slice(args);
        home.run_with(&all, b"")
    };
    let ok = |remote: bool, args: &[&str]| {
        let out = run(remote, args);
        assert!(
            out.status.success(),
            "remote {remote}, {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };

    // The default algorithms: ECDSA_SHA384 (a SHA-384 digest), RSA_PSS_SHA256 (SHA-256).
    for (key, hash) in [("dg-ec", &SHA384), ("dg-rsa", &SHA256)] {
        let message = format!("release of {key}");
        let d = digest(hash, message.as_bytes());
        let msg = file("msg", message.as_bytes());
        let dig = file("msg.digest", d.as_ref());
        for remote in [false, true] {
            let what = format!("{key}, remote {remote}");
            // A digest's signature verifies over the message, and the other way round.
            let by_digest = dir.join("by-digest.sig").to_str().unwrap().to_owned();
            ok(
                remote,
                &[
                    "sign", "--key", key, "--digest", "-i", &dig, "-o", &by_digest,
                ],
            );
            let out = ok(
                !remote,
                &[
                    "verify",
                    "--key",
                    key,
                    "-i",
                    &msg,
                    "--signature",
                    &by_digest,
                ],
            );
            assert_eq!(out.trim(), "signature: valid", "{what}");
            let by_message = dir.join("by-message.sig").to_str().unwrap().to_owned();
            ok(
                !remote,
                &["sign", "--key", key, "-i", &msg, "-o", &by_message],
            );
            let verify_digest = |input: &str| {
                run(
                    remote,
                    &[
                        "verify",
                        "--key",
                        key,
                        "--digest",
                        "-i",
                        input,
                        "--signature",
                        &by_message,
                    ],
                )
            };
            let out = verify_digest(&dig);
            assert!(
                out.status.success(),
                "{what}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                String::from_utf8(out.stdout).unwrap().trim(),
                "signature: valid"
            );
            // Another digest of the same length does not verify: exit 4, as for a message.
            let mut tampered = d.as_ref().to_vec();
            tampered[0] ^= 1;
            let out = verify_digest(&file("tampered.digest", &tampered));
            assert_eq!(out.status.code(), Some(4), "{what}: a tampered digest");
            // The message itself is not a digest: the length is refused, saying why.
            let out = run(remote, &["sign", "--key", key, "--digest", "-i", &msg]);
            let stderr = String::from_utf8(out.stderr).unwrap();
            assert!(
                !out.status.success(),
                "{what}: a message signed as a digest"
            );
            assert!(
                stderr.contains(&format!("is {} bytes", hash.output_len()))
                    && stderr.contains(&format!("got {} bytes", message.len())),
                "{what}: {stderr}"
            );
        }
    }
    drop(server);
}
