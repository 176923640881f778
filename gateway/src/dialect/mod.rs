//! Cloud dialects: keygate speaking AWS KMS, GCP Cloud KMS and Azure Key Vault on the wire.
//!
//! Applications written against a cloud's SDK use keygate by changing only the endpoint, and
//! their keys may then live in any provider. Each dialect is a thin translation between its
//! cloud's wire format and the service layer ([`Session`]): every request is authorized
//! against the gateway access policy and audited exactly like the REST API, with its own
//! audit source (`aws`, `gcp`, `azure`). The dialects share nothing but that layer and
//! [`admit`](crate::http::extract::admit).
//!
//! - [`aws`]: AWS KMS JSON 1.1 (`POST /` with `X-Amz-Target: TrentService.<Op>`), SigV4
//!   signed with access keys keygate issues. On the main listener.
//! - [`gcp`]: GCP Cloud KMS v1 REST (`/v1/projects/...`), keygate bearer tokens. On the main
//!   listener.
//! - [`azure`]: Azure Key Vault keys REST over TLS, keygate bearer tokens. On its own
//!   listener (`[dialects.azure] listen`).
//!
//! [`Session`]: crate::service::Session

pub mod aws;
pub mod azure;
pub mod gcp;

use axum::Router;
use keygate_core::access::Identity;
use serde::Deserialize;

use crate::http::AppState;

/// `[dialects]`: which cloud wire protocols keygate serves, and how.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DialectsConfig {
    /// `[dialects.aws]`.
    pub aws: aws::AwsDialectConfig,
    /// `[dialects.gcp]`.
    pub gcp: gcp::GcpDialectConfig,
    /// `[dialects.azure]`.
    pub azure: azure::AzureDialectConfig,
    /// DEVELOPMENT ONLY: callers of the GCP and Azure dialects that present no token act as
    /// this identity. Off unless set; logged as a warning at every start when on.
    pub insecure_anonymous: Option<AnonymousIdentity>,
}

/// `[dialects.insecure_anonymous]`: who an anonymous caller becomes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnonymousIdentity {
    /// The principal anonymous callers act as.
    pub principal: String,
    /// Its role.
    pub role: String,
}

impl AnonymousIdentity {
    /// The identity anonymous callers get.
    pub fn identity(&self) -> Identity {
        Identity {
            principal: self.principal.clone(),
            role: self.role.clone(),
        }
    }
}

impl DialectsConfig {
    /// Logs, loudly, every setting that weakens security.
    pub fn warn_if_insecure(&self) {
        if let Some(anon) = &self.insecure_anonymous {
            tracing::warn!(
                principal = %anon.principal,
                role = %anon.role,
                "DEVELOPMENT SWITCH ON: [dialects.insecure_anonymous] lets callers of the GCP and \
                 Azure dialects without a token act as this principal; never use it in production"
            );
        }
    }
}

/// The dialect routes served on the main listener (AWS and GCP, each when enabled).
pub fn routes(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    if state.dialects.aws.enabled {
        router = router.merge(aws::routes());
    }
    if state.dialects.gcp.enabled {
        router = router.merge(gcp::routes());
    }
    router
}
