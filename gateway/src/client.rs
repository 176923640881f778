//! A client of a running gateway over HTTP, implementing the same API as the service.
