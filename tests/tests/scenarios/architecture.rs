//! The crate map holds: the dependency arrows ARCHITECTURE.md draws, read from the resolved
//! graph (`cargo metadata`), and SQL in the server alone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// Each workspace package and the packages it depends on with a normal (non-dev, non-build)
/// dependency, as cargo resolved them.
fn normal_dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline", "--locked"])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let names: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap_or(""),
                p["name"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let members: BTreeSet<&str> = meta["workspace_members"]
        .as_array()
        .expect("workspace_members")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut graph = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().expect("resolve.nodes") {
        let id = node["id"].as_str().unwrap_or("");
        if !members.contains(id) {
            continue;
        }
        let deps: BTreeSet<String> = node["deps"]
            .as_array()
            .expect("deps")
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|k| k["kind"].is_null()))
            })
            .filter_map(|d| names.get(d["pkg"].as_str().unwrap_or("")))
            .map(|n| (*n).to_owned())
            .collect();
        graph.insert(names[id].to_owned(), deps);
    }
    graph
}

/// The keygate crates `package` depends on.
fn keygate_deps(graph: &BTreeMap<String, BTreeSet<String>>, package: &str) -> Vec<String> {
    graph[package]
        .iter()
        .filter(|d| d.starts_with("keygate"))
        .cloned()
        .collect()
}

#[test]
fn the_crates_depend_on_each_other_as_the_map_says() {
    let graph = normal_dependencies();
    let expect = |package: &str, deps: &[&str]| {
        assert_eq!(
            keygate_deps(&graph, package),
            deps.iter().map(|d| (*d).to_owned()).collect::<Vec<_>>(),
            "{package}'s keygate dependencies"
        );
    };
    expect("keygate-core", &[]);
    expect("keygate-conformance", &["keygate-core"]);
    expect("keygate-providers", &["keygate-core"]);
    expect("keygate-server", &["keygate-core"]);
    expect("keygate-http", &["keygate-core", "keygate-server"]);
    expect("keygate-client", &["keygate-core"]);
    expect("keygate-tui", &["keygate-core"]);
    expect(
        "keygate",
        &[
            "keygate-client",
            "keygate-core",
            "keygate-http",
            "keygate-providers",
            "keygate-server",
            "keygate-tui",
        ],
    );
    // No library but the binary carries the whole product: nothing depends on it, nor on
    // the conformance suite (a dev-dependency only).
    for (package, deps) in &graph {
        assert!(!deps.contains("keygate"), "{package} depends on the binary");
        assert!(
            !deps.contains("keygate-conformance"),
            "{package} depends on the conformance suite outside its tests"
        );
    }
}

#[test]
fn each_crate_keeps_to_its_layer() {
    let graph = normal_dependencies();
    let forbid = |package: &str, externals: &[&str]| {
        for external in externals {
            assert!(
                !graph[package].iter().any(|d| d == external),
                "{package} must not depend on {external}"
            );
        }
    };
    let cloud_sdks = [
        "aws-config",
        "aws-sdk-kms",
        "azure_core",
        "azure_identity",
        "azure_security_keyvault_keys",
        "google-cloud-kms-v1",
    ];
    let http = ["axum", "axum-server", "hyper", "reqwest"];
    let terminal = ["ratatui", "crossterm", "clap"];
    for package in [
        "keygate-core",
        "keygate-server",
        "keygate-tui",
        "keygate-client",
    ] {
        forbid(package, &cloud_sdks);
    }
    for package in [
        "keygate-core",
        "keygate-tui",
        "keygate-client",
        "keygate-http",
    ] {
        forbid(package, &["sqlx"]);
    }
    forbid("keygate-core", &http);
    forbid("keygate-core", &terminal);
    forbid("keygate-server", &http);
    forbid("keygate-server", &terminal);
    forbid("keygate-http", &cloud_sdks);
    forbid("keygate-http", &["sqlx", "reqwest"]);
    forbid("keygate-http", &terminal);
    forbid("keygate-client", &["axum", "axum-server"]);
    forbid("keygate-client", &terminal);
    forbid("keygate-tui", &http);
    forbid(
        "keygate-providers",
        &["axum", "axum-server", "ratatui", "clap"],
    );
}

/// Every file under `dir` with extension `ext`, skipping build output.
fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

/// Whether a manifest names `sqlx` under `[dev-dependencies]` only.
fn dev_only(manifest: &Path) -> bool {
    let text = std::fs::read_to_string(manifest).unwrap_or_default();
    let mut section = "";
    text.lines().all(|line| {
        let line = line.trim();
        if line.starts_with('[') {
            section = line;
        }
        !line.contains("sqlx") || section == "[dev-dependencies]"
    })
}

/// Only the server's stores (SQLite and PostgreSQL) run SQL, behind the store traits, and the
/// local provider's key store, behind its own trait, with its migrations and the tests that
/// read its rows (key material encrypted at rest, migrations applied over older data): no
/// other crate's manifest or code names `sqlx`.
#[test]
fn sqlx_is_named_by_the_server_and_the_local_key_store_only() {
    let root = workspace_root();
    let allowed = |path: &Path| {
        let rel = path.strip_prefix(&root).unwrap_or(path);
        rel == Path::new("Cargo.toml")
            || rel == Path::new("server/Cargo.toml")
            || rel == Path::new("server/build.rs")
            || rel.starts_with("server/src/store/sqlite")
            || rel.starts_with("server/src/store/postgres")
            || rel == Path::new("providers/Cargo.toml")
            || rel.starts_with("providers/src/local/store")
            || rel == Path::new("providers/src/local/error.rs")
            || rel == Path::new("providers/build.rs")
            || rel == Path::new("providers/tests/local.rs")
            || rel.starts_with("providers/tests/local/")
            // The replica tests' setup reaches into the database itself (a fresh schema, a
            // rotation made due), as a dev-dependency of the CLI's tests only.
            || rel == Path::new("cli/tests/cli/replicas.rs")
            || (rel == Path::new("cli/Cargo.toml") && dev_only(path))
            || rel.starts_with("tests/tests/scenarios/architecture.rs")
    };
    let mut found = Vec::new();
    for ext in ["toml", "rs"] {
        let mut paths = Vec::new();
        files(&root, ext, &mut paths);
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.contains("sqlx") && !allowed(&path) {
                found.push(path.strip_prefix(&root).unwrap_or(&path).to_owned());
            }
        }
    }
    assert!(found.is_empty(), "sqlx named outside the server: {found:?}");
}
