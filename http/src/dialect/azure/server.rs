//! The vault's own HTTPS listener, bound beside the main one and stopped with it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use axum::Router;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use keygate_core::{Error, Result};
use time::OffsetDateTime;

use super::{AzureDialectConfig, resolve_retention, tls};
use keygate_server::service::Service;

/// The Azure dialect's listener, bound but not yet serving.
#[derive(Debug)]
pub struct AzureListener {
    listener: std::net::TcpListener,
    addr: SocketAddr,
    tls: RustlsConfig,
    ca_file: Option<PathBuf>,
}

/// Binds `[dialects.azure] listen` with its certificate (configured, or generated in
/// `tls_dir`), after checking the provider and retention settings. `None` when the dialect
/// is off.
///
/// # Errors
/// [`Error::InvalidArgument`] for inconsistent settings or an unusable certificate;
/// [`Error::Unavailable`] when the address cannot be bound or the TLS directory written.
pub async fn bind(config: &AzureDialectConfig, service: &Service) -> Result<Option<AzureListener>> {
    let Some(listen) = config.listen else {
        return Ok(None);
    };
    resolve_retention(config, service).await?;
    let material = match (&config.tls_cert, &config.tls_key, &config.tls_dir) {
        (Some(cert), Some(key), _) => tls::TlsMaterial {
            cert_chain: read(cert)?,
            key: read(key)?,
            ca_file: None,
        },
        (None, None, Some(dir)) => {
            let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"]
                .into_iter()
                .map(str::to_owned)
                .collect();
            if !listen.ip().is_unspecified() {
                names.push(listen.ip().to_string());
            }
            for n in &config.tls_names {
                if !names.contains(n) {
                    names.push(n.clone());
                }
            }
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || {
                tls::generated(&dir, &names, OffsetDateTime::now_utc())
            })
            .await
            .map_err(|e| Error::unavailable_because("azure TLS", e))??
        }
        (Some(_), None, _) | (None, Some(_), _) => {
            return Err(Error::invalid(
                "dialects.azure.tls_cert and dialects.azure.tls_key must be set together",
            ));
        }
        (None, None, None) => {
            return Err(Error::invalid(
                "dialects.azure: set tls_cert and tls_key, or tls_dir for a certificate keygate generates",
            ));
        }
    };
    let tls = RustlsConfig::from_pem(material.cert_chain, material.key.clone())
        .await
        .map_err(|e| Error::invalid(format!("dialects.azure TLS certificate/key: {e}")))?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .and_then(|l| l.into_std())
        .map_err(|e| Error::unavailable(format!("cannot listen on {listen}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::unavailable_because("listener address", e))?;
    if let Some(ca) = &material.ca_file {
        tracing::info!(ca = %ca.display(), "azure dialect: clients trust this CA");
    }
    Ok(Some(AzureListener {
        listener,
        addr,
        tls,
        ca_file: material.ca_file,
    }))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Error::invalid(format!(
            "dialects.azure: cannot read {}: {e}",
            path.display()
        ))
    })
}

impl AzureListener {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://addr`: the vault URL.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The CA clients trust, when keygate generated the certificate.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// Serves `app` until `handle` shuts it down.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the server fails.
    pub async fn serve(
        self,
        app: Router,
        handle: Handle<SocketAddr>,
        timeouts: crate::hygiene::ConnectionTimeouts,
    ) -> Result<()> {
        let addr = self.addr;
        tracing::info!(%addr, "keygate azure dialect listening");
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        let served = match axum_server::tls_rustls::from_tcp_rustls(self.listener, self.tls) {
            Ok(server) => {
                timeouts
                    .apply(server, crate::shape::Doors::Azure)
                    .handle(handle)
                    .serve(app)
                    .await
            }
            Err(e) => Err(e),
        };
        served.map_err(|e| Error::unavailable(format!("azure dialect on {addr}: {e}")))
    }
}
