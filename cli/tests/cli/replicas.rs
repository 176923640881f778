//! Several `keygate serve` replicas on one PostgreSQL database (`KEYGATE_TEST_PG_URL`; each
//! test on a fresh schema, skipped with a printed reason without the variable): load through
//! all of them while the scheduler's leader is killed with SIGKILL.
//!
//! The replicas share one home here: its root key, and the local provider's keys in its
//! `local.db`, as replicas on one machine do.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use super::Home;
use super::remote::Server;

const PG_URL_VAR: &str = "KEYGATE_TEST_PG_URL";

/// A fresh schema of the test database: the URL of the database with it as the search path,
/// and its name.
pub(super) struct Database {
    pub(super) url: String,
    schema: String,
    /// Where the local provider keeps its keys in this database, when this keygate keeps
    /// them in PostgreSQL (then a schema of this test's own); `None`: in the home's
    /// `local.db`.
    local_schema: Option<String>,
}

/// A fresh [`Database`]; `None` (said on stderr) without the variable.
pub(super) fn fresh_database(test: &str) -> Option<Database> {
    let Ok(url) = std::env::var(PG_URL_VAR) else {
        eprintln!("SKIPPED {test}: {PG_URL_VAR} is not set (scripts/postgres.sh starts one)");
        return None;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("kgrep_{}_{}", std::process::id(), nanos % 1_000_000_000);
    runtime().block_on(async {
        use sqlx::{Connection as _, Executor as _};
        let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
        admin
            .execute(format!("CREATE SCHEMA {schema}").as_str())
            .await
            .unwrap();
        admin.close().await.unwrap();
    });
    let sep = if url.contains('?') { '&' } else { '?' };
    // A keygate whose local provider can keep its keys in PostgreSQL takes a schema for
    // them: this test's own, so that tests sharing the database do not share keys.
    let local_schema = format!("{schema}_local");
    let probe = Home::new()
        .cmd(&["config", "check"])
        .env("KEYGATE_PROVIDERS__LOCAL__SCHEMA", &local_schema)
        .output()
        .unwrap();
    Some(Database {
        url: format!("{url}{sep}options[search_path]={schema}"),
        schema,
        local_schema: probe.status.success().then_some(local_schema),
    })
}

pub(super) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The settings every process of a test shares: the store (and the local provider's keys
/// in it when this keygate keeps them there), a 1 s scheduler, a 3 s lease.
pub(super) fn shared_env(db: &Database) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("KEYGATE_STORE__URL", db.url.clone()),
        ("KEYGATE_SCHEDULER__INTERVAL_SECS", "1".to_owned()),
        ("KEYGATE_SCHEDULER__LEASE_SECS", "3".to_owned()),
    ];
    if let Some(local) = &db.local_schema {
        env.push(("KEYGATE_PROVIDERS__LOCAL__SCHEMA", local.clone()));
    }
    env
}

/// Runs the embedded CLI on `home` with `env`; asserts success and returns stdout.
pub(super) fn cli(home: &Home, env: &[(&str, String)], args: &[&str]) -> Vec<u8> {
    let mut cmd = home.cmd(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "keygate {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn cli_json(home: &Home, env: &[(&str, String)], args: &[&str]) -> Value {
    serde_json::from_slice(&cli(home, env, args)).unwrap()
}

/// A new admin token, in the store `env` names.
pub(super) fn admin_token(home: &Home, env: &[(&str, String)]) -> String {
    let out = cli(
        home,
        env,
        &["token", "create", "--principal", "ops", "--role", "admin"],
    );
    String::from_utf8(out).unwrap().trim().to_owned()
}

/// Starts `keygate serve` on a free port as replica `name`.
pub(super) fn replica(home: &Home, env: &[(&str, String)], name: &str) -> Server {
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.push(("KEYGATE_SERVER__LISTEN", "127.0.0.1:0"));
    all.push(("KEYGATE_SCHEDULER__REPLICA", name));
    Server::start_args(home, &["serve"], &all)
}

/// One HTTP call: status, JSON body (or null) and the request id the gateway answered with.
async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> reqwest::Result<(u16, Value, Option<String>)> {
    let mut req = http.request(method, url).timeout(Duration::from_secs(30));
    if !token.is_empty() {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let id = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = resp.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        id,
    ))
}

pub(super) fn get(url: &str, path: &str, token: &str) -> (u16, Value) {
    runtime().block_on(async {
        let (status, body, _) = call(
            &reqwest::Client::new(),
            reqwest::Method::GET,
            format!("{url}{path}"),
            token,
            None,
        )
        .await
        .unwrap();
        (status, body)
    })
}

pub(super) fn post(url: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
    runtime().block_on(async {
        let (status, body, _) = call(
            &reqwest::Client::new(),
            reqwest::Method::POST,
            format!("{url}{path}"),
            token,
            Some(body),
        )
        .await
        .unwrap();
        (status, body)
    })
}

/// Polls `check` every 200 ms until it answers `Some`, for at most `within`.
pub(super) fn wait_for<T>(what: &str, within: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What the load saw acknowledged.
#[derive(Default)]
struct Acked {
    /// Request ids of 2xx answers, with their action.
    requests: Vec<(String, &'static str)>,
    /// Keys whose creation was acknowledged.
    created: Vec<String>,
    /// Acknowledged rotations per worker key.
    rotations: HashMap<String, usize>,
}

/// Load on the replicas `urls` until `stop`: encryption, key creation and rotation of each
/// worker's own key. A worker whose replica stops answering moves to the next one.
fn load(
    urls: &[String],
    token: &str,
    workers: usize,
    stop: &Arc<AtomicBool>,
    acked: &Arc<Mutex<Acked>>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..workers)
        .map(|w| {
            let urls = urls.to_vec();
            let token = token.to_owned();
            let stop = Arc::clone(stop);
            let acked = Arc::clone(acked);
            std::thread::spawn(move || {
                runtime().block_on(async move {
                    let http = reqwest::Client::new();
                    let plaintext = base64::engine::general_purpose::STANDARD.encode(b"replica");
                    let own = format!("w{w}");
                    let mut at = w % urls.len();
                    let mut i = 0usize;
                    while !stop.load(Ordering::SeqCst) {
                        let (method, path, body, action) = match i % 3 {
                            0 => (
                                reqwest::Method::POST,
                                "/v1/encrypt".to_owned(),
                                Some(json!({"key": "base", "plaintext": plaintext})),
                                "crypto:encrypt",
                            ),
                            1 => (
                                reqwest::Method::POST,
                                "/v1/keys".to_owned(),
                                Some(json!({"name": format!("c{w}-{i}"), "spec": "AES_256"})),
                                "keys:create",
                            ),
                            _ => (
                                reqwest::Method::POST,
                                format!("/v1/keys/{own}/rotate"),
                                None,
                                "keys:rotate",
                            ),
                        };
                        let url = format!("{}{path}", urls[at]);
                        match call(&http, method, url, &token, body).await {
                            Ok((status, _, Some(id))) if (200..300).contains(&status) => {
                                let mut acked = acked.lock().unwrap();
                                acked.requests.push((id, action));
                                match action {
                                    "keys:create" => acked.created.push(format!("c{w}-{i}")),
                                    "keys:rotate" => {
                                        *acked.rotations.entry(own.clone()).or_default() += 1;
                                    }
                                    _ => {}
                                }
                            }
                            Ok(_) => {}
                            // This replica is gone: the load balancer's move, to the next.
                            Err(_) => at = (at + 1) % urls.len(),
                        }
                        i += 1;
                    }
                });
            })
        })
        .collect()
}

/// Makes `key`'s scheduled rotation due: its next rotation a minute ago, in the local
/// provider's key store (the home's `local.db`, or its schema of the database).
fn make_due(home: &Home, db: &Database, key: &str) {
    let past = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let nanos = i64::try_from(past.unix_timestamp_nanos()).unwrap();
    let changed = runtime().block_on(async {
        use sqlx::Connection as _;
        if let Some(local) = &db.local_schema {
            let base = std::env::var(PG_URL_VAR).unwrap();
            let mut pg = sqlx::PgConnection::connect(&base).await.unwrap();
            let done = sqlx::query(&format!(
                "UPDATE {local}.local_keys SET next_rotation = $1 WHERE id = $2"
            ))
            .bind(nanos)
            .bind(key)
            .execute(&mut pg)
            .await
            .unwrap();
            pg.close().await.unwrap();
            return done.rows_affected();
        }
        let path = home.path().join("local.db");
        let mut lite = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let done = sqlx::query("UPDATE local_keys SET next_rotation = ? WHERE id = ?")
            .bind(nanos)
            .bind(key)
            .execute(&mut lite)
            .await
            .unwrap();
        lite.close().await.unwrap();
        done.rows_affected()
    });
    assert_eq!(changed, 1, "no local key `{key}` (in {})", db.schema);
}

/// Version ids of `key`, as the embedded CLI lists them.
fn versions(home: &Home, env: &[(&str, String)], key: &str) -> Vec<String> {
    cli_json(home, env, &["keys", "versions", key, "--output", "json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Who leads, as replica `url` sees it.
fn leader(url: &str, admin: &str) -> Option<String> {
    let (status, body) = get(url, "/v1/status", admin);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scheduler"]["shared"], true, "{body}");
    body["scheduler"]["leader"].as_str().map(str::to_owned)
}

#[test]
fn three_replicas_survive_the_leader_killed_mid_load() {
    let Some(db) = fresh_database("three_replicas_survive_the_leader_killed_mid_load") else {
        return;
    };
    let home = Home::new();
    let env = shared_env(&db);
    cli(
        &home,
        &env,
        &["keys", "create", "base", "--spec", "AES_256"],
    );
    for w in 0..6 {
        cli(
            &home,
            &env,
            &["keys", "create", &format!("w{w}"), "--spec", "AES_256"],
        );
    }
    for key in ["sched-a", "sched-b"] {
        cli(
            &home,
            &env,
            &[
                "keys",
                "create",
                key,
                "--spec",
                "AES_256",
                "--rotate-every",
                "30",
            ],
        );
    }
    let admin = admin_token(&home, &env);

    let names = ["gw-0", "gw-1", "gw-2"];
    let mut replicas: Vec<Option<Server>> = names
        .iter()
        .map(|name| Some(replica(&home, &env, name)))
        .collect();
    let urls: Vec<String> = replicas
        .iter()
        .map(|r| r.as_ref().unwrap().url.clone())
        .collect();
    let first = wait_for("a leader", Duration::from_secs(30), || {
        leader(&urls[0], &admin)
    });
    let killed = names.iter().position(|n| *n == first).unwrap();
    // Every replica names the same leader; only it says it leads.
    for url in &urls {
        let (_, status) = get(url, "/v1/status", &admin);
        let leads = status["scheduler"]["replica"] == first.as_str();
        assert_eq!(status["scheduler"]["leading"], leads, "{status}");
        assert_eq!(status["scheduler"]["leader"], first.as_str(), "{status}");
    }

    // The leader rotates the first due key while the load runs.
    make_due(&home, &db, "sched-a");
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Acked::default()));
    let workers = load(&urls, &admin, 6, &stop, &acked);
    std::thread::sleep(Duration::from_secs(3));
    // SIGKILL mid-load: no shutdown, in-flight requests cut.
    drop(replicas[killed].take());
    let survivors: Vec<usize> = (0..3).filter(|&i| i != killed).collect();
    let second = wait_for("a new leader", Duration::from_secs(30), || {
        leader(&urls[survivors[0]], &admin).filter(|l| *l != first)
    });
    assert!(survivors.iter().any(|&i| names[i] == second), "{second}");
    make_due(&home, &db, "sched-b");
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().unwrap();
    }

    // Each scheduled rotation ran once: one new version, however many passes since.
    for key in ["sched-a", "sched-b"] {
        wait_for("a scheduled rotation", Duration::from_secs(30), || {
            (versions(&home, &env, key).len() > 1).then_some(())
        });
    }
    std::thread::sleep(Duration::from_secs(3));
    for key in ["sched-a", "sched-b"] {
        assert_eq!(versions(&home, &env, key), ["1", "2"], "{key}");
    }

    // The survivors keep serving.
    let plaintext = base64::engine::general_purpose::STANDARD.encode(b"after");
    for &i in &survivors {
        let (status, body) = post(
            &urls[i],
            "/v1/encrypt",
            &admin,
            json!({"key": "base", "plaintext": plaintext}),
        );
        assert_eq!(status, 200, "{body}");
    }

    let out = home
        .cmd(&["audit", "verify"])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "audit verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> =
        String::from_utf8(cli(&home, &env, &["audit", "export", "--format", "jsonl"]))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    let acked = acked.lock().unwrap();
    let mut actions = BTreeMap::<&str, usize>::new();
    for (_, action) in &acked.requests {
        *actions.entry(action).or_default() += 1;
    }
    eprintln!(
        "acknowledged through three replicas, {first} killed mid-load, {second} leads after: \
         {actions:?}; {} audit rows",
        rows.len()
    );
    assert_eq!(
        actions.len(),
        3,
        "every kind of call went through: {actions:?}"
    );

    // No acknowledged request without its outcome row.
    let succeeded: HashSet<(&str, &str)> = rows
        .iter()
        .filter(|r| r["outcome"] == "success")
        .map(|r| {
            (
                r["request_id"].as_str().unwrap(),
                r["action"].as_str().unwrap(),
            )
        })
        .collect();
    for (id, action) in &acked.requests {
        assert!(
            succeeded.contains(&(id.as_str(), *action)),
            "acknowledged {action} {id} has no success row"
        );
    }

    // No key lost or duplicated: every acknowledged creation listed once.
    let listed = cli_json(&home, &env, &["keys", "list", "--output", "json"]);
    let mut seen = HashMap::<String, usize>::new();
    for k in listed.as_array().unwrap() {
        *seen
            .entry(k["name"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert!(
        seen.values().all(|&n| n == 1),
        "a key listed twice: {seen:?}"
    );
    for name in &acked.created {
        assert!(seen.contains_key(name), "acknowledged key {name} is lost");
    }

    // No version lost or duplicated: each worker key's versions are 1..=n, n at least one
    // more than its acknowledged rotations, and no new version without its intent row (a
    // rotation cut by the kill may have happened unacknowledged, after its intent).
    for w in 0..6 {
        let key = format!("w{w}");
        let ids = versions(&home, &env, &key);
        let expected: Vec<String> = (1..=ids.len()).map(|n| n.to_string()).collect();
        let mut sorted = ids.clone();
        sorted.sort_by_key(|v| v.parse::<u32>().unwrap());
        assert_eq!(sorted, expected, "{key}");
        let rotations = acked.rotations.get(&key).copied().unwrap_or(0);
        assert!(
            ids.len() > rotations,
            "{key}: {ids:?} after {rotations} rotations"
        );
        let intents = rows
            .iter()
            .filter(|r| {
                r["action"] == "keys:rotate"
                    && r["outcome"] == "unknown"
                    && r["key"]
                        .as_str()
                        .is_some_and(|k| k.ends_with(&format!("/{key}")))
            })
            .count();
        assert!(
            intents >= ids.len() - 1,
            "{key}: {ids:?} but {intents} intents"
        );
    }

    // The scheduled rotations: one success row each, by the scheduler.
    for key in ["sched-a", "sched-b"] {
        let scheduled = rows
            .iter()
            .filter(|r| {
                r["source"] == "scheduler"
                    && r["action"] == "keys:rotate"
                    && r["outcome"] == "success"
                    && r["key"]
                        .as_str()
                        .is_some_and(|k| k.ends_with(&format!("/{key}")))
            })
            .count();
        assert_eq!(scheduled, 1, "{key}");
    }
    drop(replicas);
}
