//! Extractors: the authenticated caller, and JSON/query/path extractors whose rejections are
//! the typed JSON error instead of axum's plain text.

use axum::extract::{FromRequest, FromRequestParts, MatchedPath};
use axum::http::HeaderValue;
use axum::http::request::Parts;
use keygate_core::api::Resolved;
use keygate_core::wire::{KEY_ID_HEADER, KEY_PROVIDER_HEADER, KEY_URI_HEADER, header_value};
use keygate_core::{Error, KeyLocator};
use keygate_server::service::{Session, Source};

use super::RestState;
use super::error::ApiError;
use crate::edge::bearer;

/// `Json<T>` whose rejection is an [`ApiError`] (400, 413 or 415 with the typed body).
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// `Query<T>` whose rejection is an [`ApiError`].
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// `Path<T>` whose rejection is an [`ApiError`].
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// The authenticated, rate-limited caller: a service [`Session`] bound to its identity and to
/// this request's id. Handlers that take it require a bearer token.
#[derive(Debug, Clone)]
pub struct Caller(pub Session);

impl FromRequestParts<RestState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &RestState,
    ) -> Result<Self, Self::Rejection> {
        // What the request would have done, so a refused attempt is findable by action.
        let action = parts
            .extensions
            .get::<MatchedPath>()
            .and_then(|p| state.route_action(&parts.method, p.as_str()));
        let identity = match bearer(parts) {
            Some(token) => state.edge.service.authenticate(token).await,
            None => Err(Error::Unauthenticated("no bearer token".into())),
        };
        state
            .edge
            .admit(parts, Source::Rest, action, identity)
            .await
            .map(Caller)
            .map_err(ApiError::from)
    }
}

/// A key named in the path (`/v1/keys/{key}`), parsed once into the [`KeyLocator`] every
/// call takes; a malformed reference is a typed 400.
#[derive(Debug, Clone)]
pub struct KeyPath(pub KeyLocator);

impl<S: Send + Sync> FromRequestParts<S> for KeyPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(key) = Path::<String>::from_request_parts(parts, state).await?;
        Ok(Self(locator(&key)?))
    }
}

/// A key named in a request body, parsed into a [`KeyLocator`].
///
/// # Errors
/// A typed 400 for a malformed reference.
pub fn locator(key: &str) -> Result<KeyLocator, ApiError> {
    KeyLocator::parse(key).map_err(ApiError::from)
}

/// The answer of a call about one key: its JSON body, and the key the service resolved in
/// the `x-keygate-key-uri`, `-provider` and `-id` headers (how a client learns it without
/// asking again).
#[derive(Debug)]
pub struct Keyed<T>(pub Resolved<T>);

impl<T: serde::Serialize> axum::response::IntoResponse for Keyed<T> {
    fn into_response(self) -> axum::response::Response {
        let Resolved { key, uri, value } = self.0;
        let mut response = axum::Json(value).into_response();
        let headers = response.headers_mut();
        for (name, text) in [
            (KEY_URI_HEADER, uri.as_str()),
            (KEY_PROVIDER_HEADER, key.provider.as_str()),
            (KEY_ID_HEADER, key.id.as_str()),
        ] {
            if let Ok(value) = HeaderValue::from_str(&header_value(text)) {
                headers.insert(name, value);
            }
        }
        response
    }
}
