//! Who is calling: a keygate bearer token (what the SDK's `TokenCredential` returns after the
//! challenge), or the development switch's anonymous identity.

use axum::http::request::Parts;
use keygate_core::Error;

use keygate_server::service::{Session, Source};

use super::AzureState;
use super::error::AzureError;
use super::route::Route;
use crate::edge::bearer;

/// Admits the caller of `route` through [`Edge::admit`](crate::edge::Edge::admit) (rate limits, failed attempts audited as
/// denied), or answers 401 with the challenge.
///
/// Without a token, `[dialects.insecure_anonymous]` (when set) names the caller, except for a
/// request that needs a body and came without one: that is the SDK's discovery request, and
/// only the challenge lets the SDK go on (it then sends its body with a token).
///
/// # Errors
/// 401 with `WWW-Authenticate`, or 429 beyond the rate limit of failed attempts.
pub async fn authenticate(
    state: &AzureState,
    parts: &Parts,
    route: Option<&Route>,
    body_empty: bool,
) -> Result<Session, AzureError> {
    let action = route.and_then(Route::action);
    let token = bearer(parts);
    let identity = match (token, &state.anonymous) {
        (Some(token), _) => state.edge.service.authenticate(token).await,
        (None, Some(anon)) if !(body_empty && route.is_none_or(Route::takes_body)) => {
            Ok(anon.clone())
        }
        (None, _) => Err(Error::Unauthenticated("no bearer token".into())),
    };
    state
        .edge
        .admit(parts, Source::Azure, action, identity)
        .await
        .map_err(|e| match e {
            Error::Unauthenticated(_) => AzureError::unauthorized(token.is_some()),
            other => AzureError::from_core(
                other,
                super::error::Doing {
                    op: route.map_or("get", Route::permission),
                    key: None,
                    vault: &state.config.vault_name,
                },
            ),
        })
}
