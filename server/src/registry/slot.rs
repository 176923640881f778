//! A registered provider before and after it is opened.

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use keygate_core::{DynProvider, Error, KeyProvider as _, ProviderKind, Result};

use crate::isolation::{Guarded, Isolation};

/// Opens one provider: called the first time the registry needs it (and again after a
/// failed attempt).
pub type OpenProvider = Box<dyn Fn() -> BoxFuture<'static, Result<DynProvider>> + Send + Sync>;

/// A provider the registry opens on first use, with what is known of it before: its name,
/// its kind and the URI prefix its configuration sets (if any).
pub struct LazyProvider {
    /// The name it registers under.
    pub name: String,
    /// Its backend kind.
    pub kind: ProviderKind,
    /// The URI prefix its configuration sets; `None` for its kind's default, known once it
    /// is open.
    pub uri_prefix: Option<String>,
    /// Opens it.
    pub open: OpenProvider,
}

impl fmt::Debug for LazyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LazyProvider")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("uri_prefix", &self.uri_prefix)
            .finish_non_exhaustive()
    }
}

/// One registered provider: open, or to be opened on first use.
pub(super) struct Slot {
    pub(super) name: String,
    pub(super) kind: ProviderKind,
    /// The configured URI prefix of a provider not yet open.
    pub(super) prefix: Option<String>,
    pub(super) isolation: Isolation,
    /// `None` for a provider registered open.
    pub(super) open: Option<OpenProvider>,
    pub(super) cell: tokio::sync::OnceCell<Arc<Guarded>>,
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("open", &self.cell.initialized())
            .finish_non_exhaustive()
    }
}

impl Slot {
    /// Whether this provider may own `uri`: by its prefix once open, else by the prefix its
    /// configuration sets, else by its kind's scheme (every default prefix starts with it).
    pub(super) fn may_own(&self, uri: &str) -> bool {
        if let Some(open) = self.cell.get() {
            return open.info().id_from_uri(uri).is_some();
        }
        match &self.prefix {
            Some(prefix) => uri.len() > prefix.len() && uri.starts_with(prefix.as_str()),
            None => uri
                .strip_prefix(self.kind.scheme())
                .is_some_and(|rest| rest.starts_with("://")),
        }
    }
}

pub(super) fn shared_prefix(name: &str, prefix: &str) -> Error {
    Error::invalid(format!(
        "provider `{name}` has the URI prefix `{prefix}` of another provider; give it its own `uri_prefix`"
    ))
}
