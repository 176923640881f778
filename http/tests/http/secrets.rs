//! No secret reaches the logs: plaintexts, data keys and tokens, also on failures.

use std::io::Write;
use std::sync::{Arc, Mutex};

use keygate_core::api::Gateway as _;
use keygate_core::wire::b64;
use keygate_core::{CreateKeyRequest, DataKeySpec, EncryptionContext, KeySpec};
use reqwest::Client;
use serde_json::json;

use crate::support::{TestGateway, send};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_carry_plaintexts_data_keys_or_tokens() {
    let capture = Capture::default();
    let writer = capture.clone();
    // The only subscriber of this test binary: every test's logs land here, which only
    // widens what is scanned.
    tracing_subscriber::fmt()
        .with_env_filter("trace,hyper=info,h2=info,reqwest=info,rustls=info")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let home = tempfile::tempdir().unwrap();
    let gw = TestGateway::start(home.path()).await;
    let admin = gw.token("root", "admin").await;
    let c = gw.client(&admin);
    c.create_key(None, CreateKeyRequest::new("logged", KeySpec::Aes256))
        .await
        .unwrap();
    let plaintext = b"PLAINTEXT-MARKER-5521 do not log";
    let ctx = EncryptionContext::new().with("t", "1");
    let sealed = c
        .encrypt(&crate::support::kl("logged"), plaintext, &ctx)
        .await
        .unwrap();
    c.decrypt(&sealed, &ctx).await.unwrap();
    // Failures log their error chain: still nothing secret in it.
    assert!(
        c.decrypt(&sealed, &EncryptionContext::new().with("t", "2"))
            .await
            .is_err()
    );
    let dk = c
        .generate_data_key(&crate::support::kl("logged"), DataKeySpec::Aes256, &ctx)
        .await
        .unwrap();
    let http = Client::new();
    let bad_token = "kgt_abcdef.TOKEN-SECRET-MARKER-9917";
    let refused = send(
        http.post(gw.url("/v1/encrypt"))
            .bearer_auth(bad_token)
            .json(&json!({"key": "logged", "plaintext": b64(plaintext)})),
    )
    .await;
    assert_eq!(refused.status, 401);
    gw.stop().await;

    let logs = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    assert!(
        logs.contains("keygate gateway listening"),
        "capture works: {logs}"
    );
    for secret in [
        "PLAINTEXT-MARKER-5521".to_owned(),
        b64(plaintext),
        b64(&dk.value.plaintext),
        admin.clone(),
        admin.split('.').nth(1).unwrap().to_owned(),
        "TOKEN-SECRET-MARKER-9917".to_owned(),
    ] {
        assert!(!logs.contains(&secret), "a secret is in the logs");
    }
}
