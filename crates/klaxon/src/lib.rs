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
//! - [`rules`]: the alert generator's wiring (rule engine, destinations, state store).
//! - [`rules_metrics`]: the alert generator's metrics.
//! - [`durable`]: the queue of alerts and notification-log entries waiting for the store.
//! - [`silence_poll`]: convergence of instances sharing a PostgreSQL without gossip.
//! - [`check_config`]: `klaxon check-config`.
//! - [`template_render`]: `klaxon template render`.

pub mod api;
pub mod app;
pub mod check_config;
pub mod cluster;
pub mod dispatch;
pub mod durable;
pub mod flags;
pub mod metrics;
pub mod persistence;
pub mod pipeline_metrics;
pub mod rules;
pub mod rules_metrics;
pub mod silence_poll;
pub mod template_render;
