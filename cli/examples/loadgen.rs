//! Load benchmark of the REST API: the real server in process on 127.0.0.1:0 over a temporary
//! home, driven by N concurrent HTTP clients for a fixed time per phase:
//!
//! 1. `GET /v1/noop`: authentication, rate-limit check, routing and JSON, nothing else;
//! 2. `POST /v1/encrypt` of 1 KiB (an envelope, one audit row);
//! 3. `POST /v1/decrypt` of that envelope (one audit row).
//!
//! Prints requests per second, p50 and p99 latency per phase, and encrypt/noop and
//! decrypt/noop throughput ratios: how much of the cost is cryptography and audit rather than
//! the HTTP stack. Client and server share the machine, so absolute figures are a floor.
//!
//! ```text
//! cargo run --release -p keygate --example loadgen -- [--seconds 10] [--clients 32]
//! ```
//! (`scripts/bench-gateway.sh` runs exactly that.)

// A measurement program: its report is its standard output.
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use keygate_core::api::{Gateway as _, TokenRequest};
use keygate_core::wire::{EncryptedBody, b64};
use keygate_core::{CreateKeyRequest, KeySpec};
use keygate_http as http;
use keygate_server::Home;
use keygate_server::config::Config;
use serde_json::json;

struct Options {
    seconds: u64,
    clients: usize,
    payload: usize,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        seconds: 10,
        clients: 32,
        payload: 1024,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--seconds" => o.seconds = value.parse()?,
            "--clients" => o.clients = value.parse()?,
            "--payload" => o.payload = value.parse()?,
            other => bail!("unknown option {other} (--seconds, --clients, --payload)"),
        }
    }
    if o.seconds == 0 || o.clients == 0 {
        bail!("--seconds and --clients must be at least 1");
    }
    Ok(o)
}

/// What one phase measured.
struct Phase {
    name: &'static str,
    requests: usize,
    errors: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

#[derive(Clone)]
enum Call {
    Get(String),
    Post(String, Arc<serde_json::Value>),
}

async fn phase(
    name: &'static str,
    http: &reqwest::Client,
    token: &str,
    call: Call,
    o: &Options,
) -> anyhow::Result<Phase> {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(o.seconds);
    let tasks: Vec<_> = (0..o.clients)
        .map(|_| {
            let http = http.clone();
            let token = token.to_owned();
            let call = call.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0usize;
                while Instant::now() < deadline {
                    let req = match &call {
                        Call::Get(url) => http.get(url),
                        Call::Post(url, body) => http.post(url).json(body.as_ref()),
                    };
                    let sent = Instant::now();
                    let ok = match req.bearer_auth(&token).send().await {
                        // Read the whole body: a response is done when the client has it.
                        Ok(resp) => resp.status().is_success() && resp.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    if ok {
                        latencies.push(sent.elapsed());
                    } else {
                        errors += 1;
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (lat, err) = task.await?;
        all.extend(lat);
        errors += err;
    }
    let elapsed = start.elapsed();
    all.sort_unstable();
    let pick = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Ok(Phase {
        name,
        requests: all.len(),
        errors,
        elapsed,
        p50: pick(0.50),
        p99: pick(0.99),
    })
}

#[tokio::main]
pub(crate) async fn main() -> anyhow::Result<()> {
    let o = options()?;
    let home = tempfile::tempdir()?;
    let mut config = Config::parse("", Vec::<(String, String)>::new(), "loadgen")?;
    config.server.listen = "127.0.0.1:0".parse()?;
    // The limiter would cap the measurement itself; the scheduler would only add noise.
    config.server.rate_limit.per_second = 0;
    config.scheduler.interval_secs = 0;
    let service = keygate::compose::open(&config, &Home::new(home.path())).await?;
    let admin = service.local_admin();
    let mut req = CreateKeyRequest::new("bench", KeySpec::Aes256);
    req.labels.insert("app".into(), "bench".into());
    admin.create_key(None, req).await?;
    let token = admin
        .create_token(TokenRequest {
            principal: "bench".into(),
            role: "app".into(),
            expires_in_days: Some(1),
            kind: Default::default(),
        })
        .await?
        .token;

    let bound = http::bind(service.clone(), &config).await?;
    let base = bound.base_url();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(bound.run(async move {
        let _ = stopped.await;
    }));

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(o.clients)
        .build()?;
    let plaintext = vec![0x5a_u8; o.payload];
    let encrypt = Arc::new(json!({"key": "bench", "plaintext": b64(&plaintext)}));
    let sealed: EncryptedBody = http
        .post(format!("{base}/v1/encrypt"))
        .bearer_auth(token.as_str())
        .json(encrypt.as_ref())
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let decrypt = Arc::new(json!({"ciphertext": sealed.ciphertext}));

    println!(
        "keygate loadgen: {} clients, {} s per phase, {} B payload, server at {base}, {} CPUs",
        o.clients,
        o.seconds,
        o.payload,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let phases = [
        phase(
            "noop",
            &http,
            &token,
            Call::Get(format!("{base}/v1/noop")),
            &o,
        )
        .await?,
        phase(
            "encrypt",
            &http,
            &token,
            Call::Post(format!("{base}/v1/encrypt"), encrypt),
            &o,
        )
        .await?,
        phase(
            "decrypt",
            &http,
            &token,
            Call::Post(format!("{base}/v1/decrypt"), decrypt),
            &o,
        )
        .await?,
    ];
    println!(
        "{:<8} {:>10} {:>8} {:>10} {:>10} {:>10}",
        "phase", "requests", "errors", "req/s", "p50 ms", "p99 ms"
    );
    for p in &phases {
        println!(
            "{:<8} {:>10} {:>8} {:>10.0} {:>10.2} {:>10.2}",
            p.name,
            p.requests,
            p.errors,
            p.rate(),
            p.p50.as_secs_f64() * 1000.0,
            p.p99.as_secs_f64() * 1000.0
        );
    }
    let noop = phases[0].rate();
    if noop > 0.0 {
        println!(
            "ratio encrypt/noop {:.2}, decrypt/noop {:.2} (throughput)",
            phases[1].rate() / noop,
            phases[2].rate() / noop
        );
    }
    let audit = service.audit().stats();
    println!(
        "audit: {} rows in {} batches (average {:.1} rows per commit)",
        audit.rows,
        audit.batches,
        audit.average_batch()
    );
    let _ = stop.send(());
    server.await??;
    Ok(())
}
