//! A real gateway on 127.0.0.1:0 over a temporary home, and raw HTTP helpers.

use std::path::Path;
use std::sync::Arc;

use keygate_client::HttpGateway;
use keygate_core::api::{Gateway as _, TokenRequest};
use keygate_http as http;
use keygate_providers::local::LocalProvider;
use keygate_server::Home;
use keygate_server::config::Config;
use keygate_server::service::Service;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running gateway.
pub struct TestGateway {
    pub base: String,
    pub service: Arc<Service>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<keygate_core::Result<()>>>,
}

/// The test configuration: loopback port 0, no scheduler; `tweak` changes the rest.
pub fn config(tweak: impl FnOnce(&mut Config)) -> Config {
    let mut config = Config::parse("", Vec::<(String, String)>::new(), "test").unwrap();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.scheduler.interval_secs = 0;
    config.server.shutdown_grace_secs = 2;
    tweak(&mut config);
    config
}

/// The embedded default over `home`: one local provider named `local` (keys in
/// `local.db`, root key in `root.key`), and the server over it.
pub async fn open(config: &Config, home: &Path) -> Arc<Service> {
    let root = keygate_core::root_key::read_or_create(&home.join("root.key")).unwrap();
    let local = LocalProvider::builder()
        .with_name("local")
        .with_path(home.join("local.db"))
        .with_root_key(root.clone())
        .build()
        .await
        .unwrap();
    Service::open(vec![Arc::new(local)], config, &Home::new(home), Some(&root))
        .await
        .unwrap()
}

impl TestGateway {
    /// Starts a gateway over `home` with the default test configuration.
    pub async fn start(home: &Path) -> Self {
        Self::start_with(home, config(|_| {})).await
    }

    /// Starts a gateway over `home` with `config`.
    pub async fn start_with(home: &Path, config: Config) -> Self {
        let service = open(&config, home).await;
        let bound = http::bind(service.clone(), &config).await.unwrap();
        let base = bound.base_url();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(bound.run(async move {
            let _ = rx.await;
        }));
        Self {
            base,
            service,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    /// Issues a token through the in-process admin session.
    pub async fn token(&self, principal: &str, role: &str) -> String {
        let issued = self
            .service
            .local_admin()
            .create_token(TokenRequest {
                principal: principal.into(),
                role: role.into(),
                expires_in_days: None,
                kind: Default::default(),
            })
            .await
            .unwrap();
        issued.token.to_string()
    }

    /// An [`HttpGateway`] for `token`.
    pub fn client(&self, token: &str) -> HttpGateway {
        HttpGateway::new(&self.base, token, None).unwrap()
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// A raw answer: status, headers, JSON (or `Null`) and the text.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
    pub text: String,
}

impl Answer {
    /// `error.kind` of a typed error body.
    pub fn kind(&self) -> &str {
        self.json["error"]["kind"]
            .as_str()
            .unwrap_or("<no typed error>")
    }

    /// `error.message` of a typed error body.
    pub fn message(&self) -> &str {
        self.json["error"]["message"].as_str().unwrap_or("")
    }
}

/// Sends `req` and reads the whole answer.
pub async fn send(req: reqwest::RequestBuilder) -> Answer {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        json,
        text,
    }
}

/// A key reference as a caller would type it, parsed (test input is always well formed).
pub fn kl(text: impl AsRef<str>) -> keygate_core::KeyLocator {
    keygate_core::KeyLocator::parse(text.as_ref()).expect("a well-formed key reference")
}
