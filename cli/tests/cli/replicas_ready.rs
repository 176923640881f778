//! Readiness that follows the database: a `keygate serve` on PostgreSQL through a relay this
//! test cuts and restores (`KEYGATE_TEST_PG_URL`, skipped with a printed reason without it).

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use super::Home;
use super::replicas::{admin_token, cli, fresh_database, get, post, replica, shared_env, wait_for};

/// A TCP relay to the database that can be cut (every connection closed, new ones refused)
/// and restored: the database going away and coming back, as the gateway sees it.
struct Relay {
    port: u16,
    down: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn to(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::<TcpStream>::new()));
        let (d, o) = (Arc::clone(&down), Arc::clone(&open));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if d.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let mut o = o.lock().unwrap();
                o.push(client.try_clone().unwrap());
                o.push(server.try_clone().unwrap());
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Self { port, down, open }
    }

    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

#[test]
fn readiness_follows_the_database_and_crypto_fails_closed_while_it_is_away() {
    let Some(db) = fresh_database("readiness_follows_the_database") else {
        return;
    };
    // The same database, through a relay this test can cut.
    let parsed = reqwest::Url::parse(&db.url).unwrap();
    let target = format!(
        "{}:{}",
        parsed.host_str().unwrap(),
        parsed.port().unwrap_or(5432)
    );
    let relay = Relay::to(target);
    let mut relayed = parsed.clone();
    relayed.set_host(Some("127.0.0.1")).unwrap();
    relayed.set_port(Some(relay.port)).unwrap();
    let home = Home::new();
    let mut env = shared_env(&db);
    env[0].1 = relayed.to_string();
    env.push(("KEYGATE_STORE__ACQUIRE_TIMEOUT_SECS", "2".to_owned()));
    cli(
        &home,
        &env,
        &["keys", "create", "demo", "--spec", "AES_256"],
    );
    let admin = admin_token(&home, &env);
    let server = replica(&home, &env, "gw-ready");
    let encrypt = || {
        post(
            &server.url,
            "/v1/encrypt",
            &admin,
            json!({"key": "demo", "plaintext": "aGVsbG8="}),
        )
    };
    let ready = || get(&server.url, "/v1/ready", "").0;
    assert_eq!(ready(), 200);
    assert_eq!(encrypt().0, 200);

    relay.cut();
    wait_for("not ready", Duration::from_secs(60), || {
        (ready() == 503).then_some(())
    });
    let (status, body) = encrypt();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["kind"], "unavailable", "{body}");

    relay.restore();
    wait_for("ready again", Duration::from_secs(60), || {
        (ready() == 200).then_some(())
    });
    wait_for("encrypting again", Duration::from_secs(60), || {
        (encrypt().0 == 200).then_some(())
    });
}
