//! The REST API under `/v1`: keys, crypto, aliases, audit (query and a live SSE stream),
//! tokens and the access policy, plus health, readiness, Prometheus metrics and the OpenAPI
//! document.
//!
//! Handlers are thin: they parse the request, call the caller's service [`Session`] (the
//! [`keygate_core::api::Gateway`] trait, where authorization and audit live) and render the
//! answer. Around them: a request id on every request (`x-request-id`, echoed or generated),
//! bearer-token authentication and a per-principal rate limit ([`extract::Caller`]), a body
//! limit, metrics per route template, and one error mapping ([`error`]).
//!
//! Every route is registered through one helper (`Routes::add`), which also records it in the table
//! [`route_table`] returns; the OpenAPI document is checked against that table in tests, so
//! the two cannot drift.
//!
//! [`Session`]: crate::service::Session

pub mod dto;
pub mod error;
pub mod extract;
mod handlers;
mod layers;
pub mod metrics;
pub mod openapi;
mod openapi_schemas;
pub mod ratelimit;
mod server;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::routing::{MethodFilter, on};
use keygate_core::access::Action;
use tokio::sync::watch;

use crate::config::ServerConfig;
use crate::service::Service;

pub use server::{BoundServer, bind, serve};

/// Everything the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The service layer.
    pub service: Arc<Service>,
    /// The `[server]` settings.
    pub server: ServerConfig,
    /// The per-principal rate limiter (`None`: off).
    pub limiter: Option<Arc<ratelimit::RateLimiter>>,
    /// Request metrics.
    pub metrics: Arc<metrics::Metrics>,
    /// Flips to `true` when the server shuts down, so long-lived streams end.
    pub shutdown: watch::Receiver<bool>,
    shutdown_tx: Arc<watch::Sender<bool>>,
    /// The `[dialects]` settings (which cloud wire protocols are served, and how).
    pub dialects: Arc<crate::dialect::DialectsConfig>,
    /// The gateway action of each route, to audit requests refused before a session.
    actions: Arc<HashMap<&'static str, Vec<(Verb, Action)>>>,
}

impl AppState {
    /// State for `service` with the `[server]` settings `server`.
    pub fn new(service: Arc<Service>, server: ServerConfig) -> Self {
        let (tx, rx) = watch::channel(false);
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
            actions: Arc::new(actions),
            limiter: ratelimit::RateLimiter::new(&server.rate_limit).map(Arc::new),
            service,
            server,
            dialects: Arc::new(crate::dialect::DialectsConfig::default()),
            metrics: Arc::new(metrics::Metrics::default()),
            shutdown: rx,
            shutdown_tx: Arc::new(tx),
        }
    }

    /// The same state serving the cloud dialects configured in `dialects`.
    #[must_use]
    pub fn with_dialects(mut self, dialects: crate::dialect::DialectsConfig) -> Self {
        self.dialects = Arc::new(dialects);
        self
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

    /// Tells long-lived responses (the audit stream) to finish: part of graceful shutdown.
    pub fn begin_shutdown(&self) {
        self.shutdown_tx.send_replace(true);
    }
}

/// An HTTP method of a registered route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verb {
    /// GET (axum also answers HEAD).
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
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
    /// The method.
    pub verb: Verb,
    /// The path template, in the syntax axum and OpenAPI share.
    pub path: &'static str,
    /// The gateway action it performs (`None`: public, or not an audited action).
    pub action: Option<Action>,
}

/// A router under construction that records every route it registers.
#[derive(Debug)]
pub(crate) struct Routes {
    router: Router<AppState>,
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
        H: Handler<T, AppState>,
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

/// The whole HTTP application for `state`: what [`serve`] runs and what tests call.
pub fn router(state: AppState) -> Router {
    let body_limit = state.server.body_limit_bytes;
    handlers::routes(Routes::new())
        .router
        .merge(crate::dialect::routes(&state))
        .fallback(handlers::no_route)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            layers::metrics,
        ))
        .layer(axum::middleware::from_fn(layers::request_id))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}
