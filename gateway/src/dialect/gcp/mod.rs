//! GCP Cloud KMS v1 REST dialect (being built: see issue 5).

use axum::Router;
use serde::Deserialize;

use crate::http::AppState;

/// `[dialects.gcp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GcpDialectConfig {
    /// Serve `/v1/projects/...` on the main listener.
    pub enabled: bool,
}

impl Default for GcpDialectConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// The dialect's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
