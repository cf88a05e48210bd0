//! The vault server and CLI, as a library (the `vault` binary is a thin `main`).
//!
//! Layers, outermost first: [`cli`] parses the command line; [`server`] turns a
//! [`config`] into running parts: the [`plugins`] registry, the [`storage`] backend, the
//! [`http`] listeners, all sharing one [`core::Core`]. ARCHITECTURE.md has the picture.

pub mod auth;
pub mod barrier;
pub mod cli;
pub mod config;
pub mod core;
pub mod http;
pub mod logging;
pub mod plugins;
pub mod policy;
pub mod seal;
pub mod secrets;
pub mod server;
pub mod storage;

/// The product version (independent of the plugin ABI version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
