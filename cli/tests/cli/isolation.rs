//! Provider isolation, end to end: an AWS provider whose endpoint accepts connections and
//! never answers must not slow a local key, must not hold up `serve`, and must be skipped by
//! its circuit breaker once it has failed enough.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Home;
use super::remote::{Server, token};

/// A TCP endpoint that accepts every connection and never answers (the connections stay
/// open until the test process ends).
fn hung_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            match conn {
                Ok(c) => held.push(c),
                Err(_) => break,
            }
        }
    });
    format!("http://{addr}")
}

/// A home with a local provider and, when `endpoint` is given, an `aws` provider there.
fn home_with(endpoint: Option<&str>) -> Home {
    let home = Home::new();
    let mut config = "[providers.local]\n".to_owned();
    if let Some(url) = endpoint {
        config.push_str(&format!(
            "[providers.aws]\nregion = \"us-east-1\"\nendpoint_url = \"{url}\"\n\
             max_attempts = 1\ncall_timeout_secs = 1\nbreaker_failures = 2\nbreaker_open_secs = 120\n"
        ));
    }
    std::fs::write(home.path().join("keygate.toml"), config).unwrap();
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
    home
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// `with` is within twice `without`, or within 300 ms of it: generous enough for a loaded
/// machine, far below the seconds a hung provider costs.
fn assert_close(what: &str, without: Duration, with: Duration) {
    let bound = (without * 2).max(without + Duration::from_millis(300));
    assert!(
        with <= bound,
        "{what}: {with:?} with a hung provider, {without:?} without (bound {bound:?})"
    );
}

/// One HTTP/1.1 request; returns the status and the body.
fn http(
    url: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, String) {
    let addr = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn encrypt_body() -> Value {
    json!({"key": "demo", "plaintext": "aGVsbG8="})
}

#[test]
fn a_hung_cloud_does_not_slow_a_local_key_from_the_cli() {
    let endpoint = hung_endpoint();
    let plain = home_with(None);
    let hung = home_with(Some(&endpoint));
    let time = |home: &Home| {
        let started = Instant::now();
        home.ok(&["encrypt", "--key", "demo"], b"hello");
        started.elapsed()
    };
    // Warm both (the first run of a binary pays for loading it).
    time(&plain);
    time(&hung);
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        without.push(time(&plain));
        with.push(time(&hung));
    }
    let (without, with) = (median(without), median(with));
    eprintln!("CLI encrypt by plain name: median {without:?} without, {with:?} with a hung aws");
    assert_close("CLI encrypt", without, with);
}

#[test]
fn a_hung_cloud_does_not_slow_serve_or_a_local_key_over_rest_and_trips_its_breaker() {
    let endpoint = hung_endpoint();
    let plain = home_with(None);
    let hung = home_with(Some(&endpoint));
    let started = Instant::now();
    let server = Server::start(&hung);
    let (status, _) = http(&server.url, "GET", "/v1/ready", None, None);
    let ready_after = started.elapsed();
    assert_eq!(status, 200);
    eprintln!("serve with a hung aws: ready after {ready_after:?}");
    assert!(
        ready_after < Duration::from_secs(10),
        "ready after {ready_after:?}"
    );
    let plain_server = Server::start(&plain);
    let hung_token = token(&hung, "app", "admin");
    let plain_token = token(&plain, "app", "admin");

    let time = |url: &str, token: &str| {
        let started = Instant::now();
        let (status, body) = http(
            url,
            "POST",
            "/v1/encrypt",
            Some(token),
            Some(&encrypt_body()),
        );
        assert_eq!(status, 200, "{body}");
        started.elapsed()
    };
    time(&plain_server.url, &plain_token);
    time(&server.url, &hung_token);
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        without.push(time(&plain_server.url, &plain_token));
        with.push(time(&server.url, &hung_token));
    }
    let (without, with) = (median(without), median(with));
    eprintln!("REST encrypt by plain name: median {without:?} without, {with:?} with a hung aws");
    assert_close("REST encrypt", without, with);

    // A key of the hung provider: each call gives up after the call timeout, then the
    // breaker opens and calls fail at once.
    let aws_key = json!({"key": "aws-kms://us-east-1/1234abcd-12ab-34cd-56ef-1234567890ab", "plaintext": "aGVsbG8="});
    let mut last = String::new();
    for _ in 0..3 {
        let started = Instant::now();
        let (status, body) = http(
            &server.url,
            "POST",
            "/v1/encrypt",
            Some(&hung_token),
            Some(&aws_key),
        );
        assert_eq!(status, 503, "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        last = body;
    }
    let started = Instant::now();
    let (status, body) = http(
        &server.url,
        "POST",
        "/v1/encrypt",
        Some(&hung_token),
        Some(&aws_key),
    );
    assert_eq!(status, 503, "{body}");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "an open circuit fails fast: {:?} ({body}, before: {last})",
        started.elapsed()
    );

    let (status, metrics) = http(&server.url, "GET", "/metrics", None, None);
    assert_eq!(status, 200);
    assert!(
        metrics.contains("keygate_provider_circuit_state{provider=\"aws\",state=\"open\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("keygate_provider_circuit_state{provider=\"local\",state=\"closed\"} 1"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("keygate_provider_circuit_trips_total{provider=\"aws\"} 0"),
        "{metrics}"
    );

    // Readiness names the provider that is down without failing for it.
    let (status, body) = http(&server.url, "GET", "/v1/ready", None, None);
    assert_eq!(status, 200, "{body}");
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["providers_down"], json!(["aws"]), "{body}");
    let (status, body) = http(&plain_server.url, "GET", "/v1/ready", None, None);
    assert_eq!(status, 200, "{body}");
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready, json!({"status": "ready"}), "{body}");

    let (status, body) = http(&server.url, "GET", "/v1/status", Some(&hung_token), None);
    assert_eq!(status, 200, "{body}");
    let s: Value = serde_json::from_str(&body).unwrap();
    let aws = s["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "aws")
        .unwrap();
    assert_eq!(aws["circuit"]["state"], "open", "{aws}");
    assert!(
        aws["circuit"]["open_for_secs"].as_u64().unwrap() > 0,
        "{aws}"
    );

    // `keys list` over the gateway warns that aws was skipped and lists the local key.
    let out = hung.run_with(
        &[
            "--gateway",
            &server.url,
            "--token",
            &hung_token,
            "keys",
            "list",
        ],
        b"",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("demo"), "{stdout}");
    assert!(stderr.contains("circuit open for"), "{stderr}");
}

/// The variable the hung clouds' `token_env` names.
const HUNG_TOKEN_VAR: &str = "KEYGATE_TEST_HUNG_CLOUD_TOKEN";

/// A home with a local key `demo`, a GCP provider that creates its key ring at start and an
/// Azure provider that reads its retention at start, both at `endpoint` (which accepts and
/// never answers), each waiting at most `probe_wait_ms` for its start-up probe.
fn home_with_hung_gcp_and_azure(endpoint: &str, probe_wait_ms: u64) -> Home {
    let home = Home::new();
    let addr = endpoint.trim_start_matches("http://");
    let config = format!(
        "[providers.local]\n\n\
         [providers.gcp]\nkind = \"gcp\"\nproject = \"demo\"\nkey_ring = \"hung\"\n\
         create_key_ring = true\nendpoint = \"{endpoint}\"\ntoken_env = \"{HUNG_TOKEN_VAR}\"\n\
         probe_wait_ms = {probe_wait_ms}\ncall_timeout_secs = 1\n\n\
         [providers.azure]\nkind = \"azure\"\nvault_url = \"https://{addr}\"\n\
         vault_name = \"hung\"\ntoken_env = \"{HUNG_TOKEN_VAR}\"\n\
         probe_wait_ms = {probe_wait_ms}\ncall_timeout_secs = 1\n"
    );
    std::fs::write(home.path().join("keygate.toml"), config).unwrap();
    home
}

/// Runs the CLI with the hung clouds' token in the environment; asserts success.
fn run_hung(home: &Home, args: &[&str]) -> (Duration, Vec<u8>) {
    let started = Instant::now();
    let out = home
        .cmd(args)
        .env(HUNG_TOKEN_VAR, "kgt_unused.token")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "keygate {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (took, out.stdout)
}

#[test]
fn hung_gcp_and_azure_start_up_probes_are_bounded_and_only_their_providers_are_down() {
    let endpoint = hung_endpoint();
    let home = home_with_hung_gcp_and_azure(&endpoint, 300);
    // A command on a local key opens no cloud; one that lists every provider opens both, and
    // their probes wait 300 ms each, not the clouds' own retry limits (20 s and more).
    let (took, _) = run_hung(
        &home,
        &[
            "keys",
            "create",
            "demo",
            "--spec",
            "AES_256",
            "--provider",
            "local",
        ],
    );
    eprintln!("CLI keys create with a hung gcp and azure: {took:?}");
    assert!(took < Duration::from_secs(8), "keys create took {took:?}");
    let (took, ct) = run_hung(&home, &["encrypt", "--key", "demo"]);
    eprintln!("CLI encrypt with a hung gcp and azure: {took:?}");
    assert!(took < Duration::from_secs(8), "encrypt took {took:?}");
    assert!(!ct.is_empty());
    let (took, listed) = run_hung(&home, &["keys", "list"]);
    eprintln!("CLI keys list with a hung gcp and azure: {took:?}");
    assert!(took < Duration::from_secs(8), "keys list took {took:?}");
    assert!(String::from_utf8_lossy(&listed).contains("demo"));

    let started = Instant::now();
    let server = Server::start_args(
        &home,
        &["serve"],
        &[
            ("KEYGATE_SERVER__LISTEN", "127.0.0.1:0"),
            (HUNG_TOKEN_VAR, "kgt_unused.token"),
        ],
    );
    let (status, body) = http(&server.url, "GET", "/v1/ready", None, None);
    let ready_after = started.elapsed();
    eprintln!("serve with a hung gcp and azure: ready after {ready_after:?}");
    assert_eq!(status, 200, "{body}");
    assert!(
        ready_after < Duration::from_secs(10),
        "ready after {ready_after:?}"
    );
    let (_, stdout) = run_hung(
        &home,
        &["token", "create", "--principal", "ops", "--role", "admin"],
    );
    let admin = String::from_utf8(stdout).unwrap().trim().to_owned();
    let (status, body) = http(
        &server.url,
        "POST",
        "/v1/encrypt",
        Some(&admin),
        Some(&encrypt_body()),
    );
    assert_eq!(status, 200, "{body}");
    // The gateway is up; the two clouds are reported down, the local provider is not.
    let (status, body) = http(&server.url, "GET", "/v1/status", Some(&admin), None);
    assert_eq!(status, 200, "{body}");
    let s: Value = serde_json::from_str(&body).unwrap();
    let reachable = |name: &str| {
        s["providers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no provider {name}: {body}"))["reachable"]
            .as_bool()
            .unwrap()
    };
    assert!(reachable("local"), "{body}");
    assert!(!reachable("gcp"), "{body}");
    assert!(!reachable("azure"), "{body}");
}
