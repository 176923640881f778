//! keygate console: a ratatui terminal console over keys, rotations, policies, audit,
//! compliance and cost.
//!
//! The console is a library driven through [`keygate_core::api::Gateway`]: the binary hands
//! it either an in-process session of the gateway's service layer (the embedded default) or
//! an HTTP client of a remote gateway, so every action the console takes is authorized and
//! audited like any other call. This crate depends on `keygate-core` only.
//!
//! It follows The Elm Architecture:
//! - [`app::Model`] is plain state; [`app::update`] turns an [`app::Action`] into state
//!   changes and [`app::Command`]s, with no I/O; [`view::view`] draws the model.
//! - [`runtime`] runs the terminal loop and executes each command against the gateway on a
//!   task, which answers with an `Action` (`Loaded`-style messages).
//! - Each screen lives in [`screens`] with the same shape: `State`, `Msg`, `Cmd`,
//!   `State::update`, `State::on_key`, `State::view` and an async `run` for its commands.

#![warn(missing_docs)]

pub mod app;
pub mod fixtures;
pub(crate) mod fmt;
pub(crate) mod help;
pub mod keymap;
pub(crate) mod palette;
pub mod runtime;
pub mod screens;
pub mod theme;
pub mod view;

pub use runtime::{ConsoleOptions, run};
