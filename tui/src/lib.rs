//! keygate console: the ratatui terminal console over keys, rotations, policies, audit and
//! compliance, driven through a backend trait from `keygate-core`.
//!
//! The console is not built yet; this crate holds its place in the workspace so that the
//! dependency direction (tui depends on core only) is fixed from the start. Nothing here is
//! reachable by users.
