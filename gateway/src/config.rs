//! `keygate.toml`: providers, listener, TLS, store, limits; `KEYGATE_` environment overrides.
