//! A key the caller may not use looks missing on the REST API.
//!
//! A 403 for another team's key and a 404 for a missing one would tell a caller which keys
//! exist. So on every route about an existing key, a refusal and a missing key get one
//! answer: 404 `not_found` with [`NO_SUCH_KEY`] (on the decrypt routes, the one decryption
//! failure, [`ApiError::decrypt_failed`]). The audit row still says `denied`, with the
//! policy's reason; the caller never sees it.

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use keygate_core::ErrorKind;
use keygate_core::access::Action;

use super::RestState;
use super::error::{ApiError, PendingError};

/// The one message of a key that is missing or that the caller may not use.
pub const NO_SUCH_KEY: &str = "no such key (or key version)";

/// How a refused or missing key is answered on a route doing `action`; `None` for routes
/// not about an existing key (listing, creating, aliases, tokens, the policy), which keep
/// their 403.
pub fn concealed(action: Action) -> Option<ApiError> {
    if !action.is_key_scoped() || matches!(action, Action::KeysList | Action::KeysCreate) {
        return None;
    }
    Some(if action == Action::CryptoDecrypt {
        ApiError::decrypt_failed()
    } else {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorKind::NotFound.as_str(),
            NO_SUCH_KEY,
        )
    })
}

/// Middleware on the matched REST routes: rewrites a `permission_denied` or `not_found`
/// answer of a route about an existing key into [`concealed`]'s answer, so both read the
/// same to the byte (modulo the request id).
pub async fn hide_forbidden_keys(
    State(state): State<RestState>,
    request: Request,
    next: Next,
) -> Response {
    let action = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|p| state.route_action(request.method(), p.as_str()));
    let response = next.run(request).await;
    let Some(answer) = action.and_then(concealed) else {
        return response;
    };
    let hidden = response
        .extensions()
        .get::<PendingError>()
        .is_some_and(|p| {
            p.kind == ErrorKind::PermissionDenied.as_str() || p.kind == ErrorKind::NotFound.as_str()
        });
    if hidden {
        answer.into_response()
    } else {
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_routes_about_an_existing_key_conceal() {
        assert_eq!(
            concealed(Action::KeysDescribe).map(|e| e.status),
            Some(StatusCode::NOT_FOUND)
        );
        assert_eq!(
            concealed(Action::CryptoDecrypt),
            Some(ApiError::decrypt_failed())
        );
        for open in [
            Action::KeysList,
            Action::KeysCreate,
            Action::AliasesWrite,
            Action::TokensCreate,
        ] {
            assert_eq!(concealed(open), None, "{open}");
        }
    }
}
