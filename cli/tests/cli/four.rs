//! All four providers at once: a local provider, AWS KMS (LocalStack), Azure Key Vault and
//! GCP Cloud KMS registered together in one `keygate.toml`. `keygate keys list` shows keys of
//! every one of them in one listing, and a rotation, a disable and a key policy change work on
//! each.
//!
//! The Azure vault and the Cloud KMS endpoint are a second keygate (`keygate serve` in a home
//! of its own, over its local provider) speaking its Azure Key Vault and GCP Cloud KMS
//! dialects; the providers under test reach it with the official SDKs exactly as they reach
//! the clouds. `scripts/test.sh` starts LocalStack and sets `KEYGATE_TEST_AWS_ENDPOINT`;
//! without it the test says why it skipped.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::Home;

const ENDPOINT_VAR: &str = "KEYGATE_TEST_AWS_ENDPOINT";
/// The variable home B's Azure and GCP providers read their bearer token from.
const TOKEN_VAR: &str = "KEYGATE_FOUR_TOKEN";
/// The providers of home B, as registered.
const PROVIDERS: [&str; 4] = ["local", "aws", "azure", "gcp"];

/// The backing keygate: `keygate serve` with the GCP dialect on its main listener and the
/// Azure dialect on a TLS listener of its own. Killed when dropped (also when a test fails).
struct Backing {
    child: Child,
    /// `http://127.0.0.1:<port>`: REST and the GCP dialect.
    base: String,
    /// `https://127.0.0.1:<port>`: the Azure dialect.
    azure_url: String,
    /// The CA that signed the Azure listener's generated certificate.
    azure_ca: PathBuf,
}

impl Drop for Backing {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Backing {
    fn start(home: &Home) -> Self {
        std::fs::write(
            home.path().join("keygate.toml"),
            "[dialects.gcp]\nenabled = true\n\n[dialects.azure]\nlisten = \"127.0.0.1:0\"\nvault_name = \"four\"\n\n[providers.local]\n",
        )
        .unwrap();
        let mut child = home
            .cmd(&["serve"])
            .env("KEYGATE_SERVER__LISTEN", "127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        // The guard exists before waiting: a server that never announces is still killed.
        let mut backing = Self {
            child,
            base: String::new(),
            azure_url: String::new(),
            azure_ca: PathBuf::new(),
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Keeps draining after the announcements so the server never blocks on a pipe.
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        while backing.base.is_empty() || backing.azure_url.is_empty() {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                panic!("keygate serve did not announce both listeners: {seen:#?}");
            };
            // keygate: Azure Key Vault dialect on https://127.0.0.1:P (clients trust /x/ca.pem)
            if let Some((_, rest)) = line.split_once("Azure Key Vault dialect on ") {
                let (url, ca) = rest
                    .split_once(" (clients trust ")
                    .unwrap_or_else(|| panic!("no generated CA announced: {line}"));
                backing.azure_url = url.to_owned();
                backing.azure_ca = PathBuf::from(ca.trim_end_matches(')'));
            // keygate: serving /home on http://127.0.0.1:P (Ctrl-C to stop)
            } else if let Some((_, rest)) = line.split_once(" on http") {
                let url = rest.split_whitespace().next().unwrap_or_default();
                backing.base = format!("http{url}");
            }
            seen.push(line);
        }
        assert!(backing.azure_url.starts_with("https://"), "{seen:#?}");
        assert!(backing.azure_ca.is_file(), "{seen:#?}");
        backing
    }
}

/// Home B: the four providers, the Azure and GCP ones pointed at the backing keygate.
struct Four {
    home: Home,
    token: String,
}

impl Four {
    fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        use std::io::Write as _;
        let mut child = self
            .home
            .cmd(args)
            .env(TOKEN_VAR, &self.token)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut pipe = child.stdin.take().unwrap();
        let input = stdin.to_vec();
        let feeder = std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
        let out = child.wait_with_output().unwrap();
        feeder.join().unwrap();
        out
    }

    /// Runs and asserts success with nothing on stderr (no provider warnings); returns stdout.
    fn ok(&self, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        let out = self.run(args, stdin);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "keygate {args:?} failed: {stderr}");
        assert!(
            !stderr.contains("warning"),
            "keygate {args:?} warned: {stderr}"
        );
        out.stdout
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args, b"");
        serde_json::from_slice(&out).unwrap_or_else(|e| {
            panic!(
                "keygate {args:?}: not JSON ({e}): {}",
                String::from_utf8_lossy(&out)
            )
        })
    }
}

/// One key per provider and the grant its policy change adds, in the provider's own
/// principal and role vocabulary.
struct Case {
    provider: &'static str,
    name: String,
    spec: &'static str,
    usage: &'static str,
    grant: Value,
}

fn cases(run: &str) -> Vec<Case> {
    vec![
        Case {
            provider: "local",
            name: format!("four-local-{run}"),
            spec: "AES_256",
            usage: "encrypt",
            grant: json!({ "principal": "user:four-viewer@example.com", "role": "viewer" }),
        },
        Case {
            provider: "aws",
            name: format!("four-aws-{run}"),
            spec: "AES_256",
            usage: "encrypt",
            grant: json!({
                "principal": "arn:aws:iam::000000000000:role/keygate-four",
                "actions": ["kms:Decrypt", "kms:Encrypt"],
            }),
        },
        Case {
            provider: "azure",
            name: format!("four-azure-{run}"),
            spec: "RSA_2048",
            usage: "encrypt",
            // A principal's object id and a built-in role of Key Vault's RBAC.
            grant: json!({
                "principal": "4f0c9d2e-7b1a-4c3e-9f5d-2a6b8c0e1d34",
                "role": "Key Vault Crypto User",
            }),
        },
        Case {
            provider: "gcp",
            name: format!("four-gcp-{run}"),
            spec: "AES_256",
            usage: "encrypt",
            grant: json!({
                "principal": "user:four@example.com",
                "role": "roles/cloudkms.cryptoKeyEncrypterDecrypter",
            }),
        },
    ]
}

#[test]
fn local_aws_azure_and_gcp_together() {
    let Ok(endpoint) = std::env::var(ENDPOINT_VAR) else {
        eprintln!(
            "SKIPPED local_aws_azure_and_gcp_together: {ENDPOINT_VAR} is not set; run scripts/test.sh"
        );
        return;
    };
    let a = Home::new();
    let backing = Backing::start(&a);
    let token = super::remote::token(&a, "four", "admin");

    // LocalStack outlives one test run's homes: fresh names per run.
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        .to_string();
    let b = Four {
        home: Home::new(),
        token,
    };
    std::fs::write(
        b.home.path().join("keygate.toml"),
        format!(
            r#"[providers.local]

[providers.aws]
region = "us-east-1"
endpoint_url = "{endpoint}"
probe_wait_ms = 20000

[providers.azure]
vault_url = "{azure_url}"
# The backing vault's name: Resource Manager scopes name it.
vault_name = "four"
token_env = "{TOKEN_VAR}"
ca_file = "{ca}"
verify_challenge_resource = false
subscription_id = "00000000-0000-0000-0000-00000000f0f0"
resource_group = "keygate-four"
management_endpoint = "{azure_url}"

[providers.gcp]
endpoint = "{base}"
project = "keygate-four"
location = "global"
key_ring = "four-{run}"
create_key_ring = true
probe_wait_ms = 20000
token_env = "{TOKEN_VAR}"
"#,
            azure_url = backing.azure_url,
            ca = backing.azure_ca.display(),
            base = backing.base,
        ),
    )
    .unwrap();

    let cases = cases(&run);
    let mut uris = Vec::new();
    for case in &cases {
        let created = b.json(&[
            "keys",
            "create",
            &case.name,
            "--provider",
            case.provider,
            "--spec",
            case.spec,
            "--usage",
            case.usage,
            "--output",
            "json",
        ]);
        assert_eq!(created["provider"], case.provider, "{created}");
        assert_eq!(created["state"], "enabled", "{created}");
        uris.push(created["uri"].as_str().unwrap().to_owned());
    }

    // Health: every provider's probe (AWS ListKeys on LocalStack, Azure and GCP through
    // their SDKs against the backing dialects) answers, through `status` and `config check`.
    let status = b.json(&["status", "--output", "json"]);
    let probed: Vec<(&str, bool)> = status["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["reachable"] == true))
        .collect();
    assert_eq!(
        probed,
        PROVIDERS.iter().map(|p| (*p, true)).collect::<Vec<_>>(),
        "{status}"
    );
    let checked = String::from_utf8(b.ok(&["config", "check", "--probe"], b"")).unwrap();
    for provider in PROVIDERS {
        let prefix = format!("provider {provider} (");
        assert!(
            checked
                .lines()
                .any(|l| l.starts_with(&prefix) && l.contains("): reachable in ")),
            "{checked}"
        );
    }

    // One listing: every provider answered (no warning), each shows its key.
    let listed = b.json(&["keys", "list", "--output", "json"]);
    let listed = listed.as_array().unwrap();
    let providers: BTreeSet<&str> = listed
        .iter()
        .filter_map(|k| k["provider"].as_str())
        .collect();
    for provider in PROVIDERS {
        assert!(
            providers.contains(provider),
            "provider {provider} is missing from `keys list` (listed: {providers:?})"
        );
    }
    for (case, uri) in cases.iter().zip(&uris) {
        let key = listed
            .iter()
            .find(|k| k["uri"] == uri.as_str())
            .unwrap_or_else(|| panic!("{} key {uri} is not listed", case.provider));
        assert_eq!(key["provider"], case.provider, "{key}");
        assert_eq!(key["name"], case.name.as_str(), "{key}");
    }
    let table = String::from_utf8(b.ok(&["keys", "list"], b"")).unwrap();
    // Both dialects are backed by the same local provider of the backing keygate, so the
    // vault also lists the key made through Cloud KMS: find each key on its own provider's row.
    for case in &cases {
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(case.provider) && l.contains(&case.name)),
            "{} is not on a {} row of the table:\n{table}",
            case.name,
            case.provider
        );
    }

    for (case, uri) in cases.iter().zip(&uris) {
        let uri = uri.as_str();
        let what = format!("{} key {uri}", case.provider);

        // Rotation: a new primary version, which the key then reports.
        let before = b.json(&["keys", "show", uri, "--output", "json"]);
        let rotated = b.json(&["keys", "rotate", uri, "--output", "json"]);
        assert_eq!(rotated["primary"], true, "{what}: {rotated}");
        let after = b.json(&["keys", "show", uri, "--output", "json"]);
        assert_eq!(after["primary_version"], rotated["id"], "{what}: {after}");
        let count = |key: &Value| key["versions"].as_array().map_or(0, Vec::len);
        if rotated["id"] == before["primary_version"] {
            // Only an endpoint that cannot count versions (LocalStack has no
            // ListKeyRotations) names its material the same before and after: it lists one
            // version at most, and no more after the rotation.
            assert!(count(&before) <= 1, "{what}: {before}");
            assert_eq!(count(&after), count(&before), "{what}: {after}");
        } else {
            assert_eq!(count(&after), count(&before) + 1, "{what}: {after}");
        }

        // Key policy: add the provider's own kind of grant, read it back.
        let mut policy = b.json(&["keys", "policy", uri]);
        let object = policy.as_object_mut().unwrap();
        // The bindings are authoritative: no native document to override them.
        object.remove("native");
        object
            .entry("bindings")
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .unwrap()
            .push(case.grant.clone());
        b.ok(
            &["keys", "policy", uri, "--set", "-"],
            policy.to_string().as_bytes(),
        );
        let read = b.json(&["keys", "policy", uri]);
        let bindings = read["bindings"].as_array().unwrap();
        assert!(
            bindings.iter().any(|binding| {
                binding["principal"] == case.grant["principal"]
                    && (case.grant.get("role").is_none() || binding["role"] == case.grant["role"])
                    && case.grant["actions"].as_array().is_none_or(|wanted| {
                        wanted
                            .iter()
                            .all(|a| binding["actions"].as_array().is_some_and(|v| v.contains(a)))
                    })
            }),
            "{what}: the grant {} is not read back: {read}",
            case.grant
        );

        // Disable: the key says so, and so does the listing.
        let disabled = b.json(&["keys", "disable", uri, "--output", "json"]);
        assert_eq!(disabled["state"], "disabled", "{what}: {disabled}");
        let shown = b.json(&["keys", "show", uri, "--output", "json"]);
        assert_eq!(shown["state"], "disabled", "{what}: {shown}");
    }

    let listed = b.json(&["keys", "list", "--output", "json"]);
    for (case, uri) in cases.iter().zip(&uris) {
        let key = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["uri"] == uri.as_str())
            .unwrap_or_else(|| panic!("{} key {uri} is no longer listed", case.provider));
        assert_eq!(key["state"], "disabled", "{key}");
    }

    // Clean up what outlives the test: the LocalStack key, scheduled for deletion.
    b.ok(&["keys", "delete", &uris[1], "--in", "7"], b"");
    drop(backing);
}
