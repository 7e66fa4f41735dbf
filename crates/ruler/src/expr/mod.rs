//! Expression rules in Grafana's model ("Grafana-managed" alert rules): several queries with
//! relative time ranges, server-side expressions (math, reduce, threshold with an optional
//! recovery threshold, resample), a condition, NoData and Error handling and a pause switch.
//!
//! Layout:
//! - [`model`]: the rule as written (API JSON, provisioning YAML) and its validation.
//! - [`math`]: math expressions.
//! - [`value`]: numbers and series flowing between nodes.
//! - [`pipeline`]: one evaluation, from query answers to instance results (sans-IO).
//! - [`rule`]: one rule at run time: definition, instances, health, labels.
//! - [`state`]: Grafana's instance states and sending rules (sans-IO).

pub mod math;
pub mod model;
pub mod pipeline;
pub mod rule;
pub mod state;
pub mod value;
