//! A real gateway on 127.0.0.1:0 over a temporary home, with every dialect on.

use std::sync::Arc;

use keygate_core::api::{Gateway as _, TokenRequest};
use keygate_http as http;
use keygate_server::Home;
use keygate_server::config::Config;
use keygate_server::service::Service;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running gateway and the temporary home it owns.
pub struct TestGateway {
    /// `http://127.0.0.1:<port>`: the REST API and the AWS and GCP dialects.
    pub base: String,
    /// `https://127.0.0.1:<port>`: the Azure Key Vault dialect (its own TLS listener).
    pub azure_url: String,
    /// The CA that signed the Azure listener's certificate (clients trust it).
    pub azure_ca: std::path::PathBuf,
    /// The service behind it (for in-process admin calls).
    pub service: Arc<Service>,
    /// The home, kept alive (and deleted on drop) with the gateway.
    _home: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<keygate_core::Result<()>>>,
}

/// The test configuration: loopback port 0, no scheduler, every dialect on; `tweak` changes
/// the rest.
pub fn config(tweak: impl FnOnce(&mut Config)) -> Config {
    let mut config = Config::parse("", Vec::<(String, String)>::new(), "test").unwrap();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.scheduler.interval_secs = 0;
    config.server.shutdown_grace_secs = 2;
    config.dialects.aws.enabled = true;
    config.dialects.gcp.enabled = true;
    config.dialects.azure.listen = Some("127.0.0.1:0".parse().unwrap());
    tweak(&mut config);
    config
}

impl TestGateway {
    /// Starts a gateway over a fresh home with the default test configuration.
    pub async fn start() -> Self {
        Self::start_with(config(|_| {})).await
    }

    /// Starts a gateway over a fresh home with `config`.
    pub async fn start_with(config: Config) -> Self {
        Self::start_in(config, tempfile::tempdir().unwrap()).await
    }

    /// Starts a gateway over `home` (an empty directory it owns) with `config`.
    pub async fn start_in(mut config: Config, home: tempfile::TempDir) -> Self {
        config.dialects.azure.resolve_in_home(home.path());
        let service = keygate::compose::open(&config, &Home::new(home.path()))
            .await
            .unwrap();
        let bound = http::bind(service.clone(), &config).await.unwrap();
        let base = bound.base_url();
        let azure_url = bound.azure_url().unwrap_or_default();
        let azure_ca = bound.azure_ca_file().map(Into::into).unwrap_or_default();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(bound.run(async move {
            let _ = rx.await;
        }));
        Self {
            base,
            azure_url,
            azure_ca,
            service,
            _home: home,
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

    /// Issues a keygate bearer token through the in-process admin session.
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
}

/// A key reference as a caller would type it, parsed (test input is always well formed).
pub fn kl(text: impl AsRef<str>) -> keygate_core::KeyLocator {
    keygate_core::KeyLocator::parse(text.as_ref()).expect("a well-formed key reference")
}
