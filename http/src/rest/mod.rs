//! The REST API under `/v1`: keys, crypto, aliases, audit (query and a live SSE stream),
//! tokens and the access policy, plus health, readiness, Prometheus metrics and the OpenAPI
//! document.
//!
//! Handlers are thin: they parse the request, call the caller's service [`Session`] (the
//! [`keygate_core::api::Gateway`] trait, where authorization and audit live) and render the
//! answer. Around them: bearer-token authentication and a per-principal rate limit
//! ([`Edge::admit`], called by the `Caller` extractor) and one error mapping ([`error`]).
//! On the routes about an existing key, a key the caller may not use answers exactly as a
//! missing one (`conceal`).
//!
//! Every route is registered through one helper (`Routes::add`), which also records it in
//! the table [`route_table`] returns; the OpenAPI document is checked against that table in
//! tests, so the two cannot drift.
//!
//! [`Session`]: keygate_server::service::Session

mod conceal;
pub mod error;
mod extract;
mod handlers;
pub mod openapi;
mod openapi_schemas;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodFilter, on};
use keygate_core::access::Action;

use crate::edge::Edge;

pub use error::render_errors;
pub use handlers::{method_not_allowed, no_route};

/// What the REST handlers share: the edge, and the gateway action of each route (to audit
/// requests refused before a session with what they would have done).
#[derive(Debug, Clone)]
pub struct RestState {
    /// The edge every door shares.
    pub edge: Edge,
    actions: Arc<HashMap<&'static str, Vec<(Verb, Action)>>>,
}

impl RestState {
    /// The REST API's state over `edge`.
    pub fn new(edge: Edge) -> Self {
        let mut actions: HashMap<&'static str, Vec<(Verb, Action)>> = HashMap::new();
        for route in route_table() {
            if let Some(action) = route.action {
                actions
                    .entry(route.path)
                    .or_default()
                    .push((route.verb, action));
            }
        }
        Self {
            edge,
            actions: Arc::new(actions),
        }
    }

    /// The gateway action of the route `method path` (a route template), if it has one.
    pub fn route_action(&self, method: &axum::http::Method, path: &str) -> Option<Action> {
        let verb = Verb::of(method)?;
        self.actions
            .get(path)?
            .iter()
            .find(|(v, _)| *v == verb)
            .map(|(_, a)| *a)
    }
}

/// An HTTP method of a registered route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verb {
    /// GET (axum also answers HEAD).
    Get,
    /// POST: creations, state changes (`/v1/keys/{key}/enable`) and every cryptographic
    /// operation.
    Post,
    /// PUT: replaces a whole setting (a rotation schedule, a policy, an alias's target).
    Put,
    /// PATCH: a key's description and labels.
    Patch,
    /// DELETE: deletes an alias, revokes a token.
    Delete,
}

impl Verb {
    /// The method name, upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    /// The verb of `method`, for the methods routes use.
    pub fn of(method: &axum::http::Method) -> Option<Self> {
        Some(match method.as_str() {
            "GET" | "HEAD" => Self::Get,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "PATCH" => Self::Patch,
            "DELETE" => Self::Delete,
            _ => return None,
        })
    }

    fn filter(self) -> MethodFilter {
        match self {
            Self::Get => MethodFilter::GET,
            Self::Post => MethodFilter::POST,
            Self::Put => MethodFilter::PUT,
            Self::Patch => MethodFilter::PATCH,
            Self::Delete => MethodFilter::DELETE,
        }
    }
}

/// One registered route: method and path template (`/v1/keys/{key}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteSpec {
    /// The method it answers.
    pub verb: Verb,
    /// The path template, in the syntax axum and OpenAPI share.
    pub path: &'static str,
    /// The gateway action it performs (`None`: public, or not an audited action).
    pub action: Option<Action>,
}

/// A router under construction that records every route it registers.
#[derive(Debug)]
pub(crate) struct Routes {
    router: Router<RestState>,
    specs: Vec<RouteSpec>,
}

impl Routes {
    fn new() -> Self {
        Self {
            router: Router::new(),
            specs: Vec::new(),
        }
    }

    /// Registers `handler` for `verb path` and records the route with its action.
    pub(crate) fn add<H, T>(
        mut self,
        verb: Verb,
        path: &'static str,
        action: Option<Action>,
        handler: H,
    ) -> Self
    where
        H: Handler<T, RestState>,
        T: 'static,
    {
        self.router = self.router.route(path, on(verb.filter(), handler));
        self.specs.push(RouteSpec { verb, path, action });
        self
    }
}

/// Every route the router serves, as registered.
pub fn route_table() -> Vec<RouteSpec> {
    handlers::routes(Routes::new()).specs
}

/// The REST routes over `state`, without fallbacks (the server adds the typed 404 and 405
/// once every door's routes are merged, so they answer for all of them).
pub fn router(state: RestState) -> Router {
    handlers::routes(Routes::new())
        .router
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            conceal::hide_forbidden_keys,
        ))
        .with_state(state)
}
