//! The alert generator: Prometheus rule files, datasources, the rule scheduler and the alert
//! state machine. It knows nothing of gossip or of the receiver: alerts leave through an
//! [`engine::AlertSink`].
//!
//! Layout:
//! - [`rulefile`]: rule files (groups, alerting and recording rules) and their validation.
//! - [`template`]: label and annotation templates with Prometheus' variables and functions.
//! - [`datasource`]: the Prometheus HTTP API client and the built-in test datasource.
//! - [`scheduler`]: when groups run (sans-IO).
//! - [`sharding`]: which cluster members evaluate which groups (sans-IO).
//! - [`alerting`]: the alert state machine of one rule (sans-IO).
//! - [`engine`]: the tokio driver that ties them together.
//! - [`notifier`]: delivery to external Alertmanagers.
//! - [`expr`]: expression rules in Grafana's model.
//! - [`provisioning`]: Grafana's alerting provisioning files.
//! - [`check`]: `check-rules`, like `promtool check rules`.
//!
//! Recording rules are parsed and validated but not evaluated yet.

pub mod alerting;
pub mod check;
pub mod datasource;
pub mod engine;
pub mod expr;
pub mod notifier;
pub mod provisioning;
pub mod rulefile;
pub mod scheduler;
pub mod sharding;
pub mod template;
