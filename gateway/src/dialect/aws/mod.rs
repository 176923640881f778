//! AWS KMS JSON 1.1 dialect (being built: see issue 5).

use axum::Router;
use serde::Deserialize;

use crate::http::AppState;

/// `[dialects.aws]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AwsDialectConfig {
    /// Serve `POST /` with `X-Amz-Target: TrentService.*` on the main listener.
    pub enabled: bool,
}

impl Default for AwsDialectConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// The dialect's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
