//! Klaxon's server: command line, wiring and the HTTP API. Protocol and domain logic live in
//! the `model` and `alertmanager` crates; this crate only connects them to the outside world.
//!
//! Layout:
//! - [`flags`]: Alertmanager-compatible flags and subcommands.
//! - [`app`]: shared state, reload, maintenance, signals and shutdown.
//! - [`api`]: the HTTP API.
//! - [`cluster`]: Alertmanager's cluster layer over the `gossip` crate.
//! - [`dispatch`]: the dispatcher's driver and the pipeline's view of the process.
//! - [`metrics`]: the metrics that `/metrics` serves.
//! - [`persistence`]: loading from and writing through to the store.
//! - [`check_config`]: `klaxon check-config`.
//! - [`template_render`]: `klaxon template render`.

pub mod api;
pub mod app;
pub mod check_config;
pub mod cluster;
pub mod dispatch;
pub mod flags;
pub mod metrics;
pub mod persistence;
pub mod template_render;
