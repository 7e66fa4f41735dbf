//! Klaxon's integration tests: black-box tests that start the `klaxon` binary, and differential
//! tests that send the same input to a real Alertmanager 0.25 and compare.

mod amtool;
mod api_differential;
mod cli;
mod cluster;
mod cluster_metrics;
mod cluster_tls;
mod datasources;
mod email;
mod expression_rules;
mod harness_cluster;
mod harness_restart;
mod integrations;
mod metrics_parity;
mod notify_differential;
mod partition;
mod persistence;
mod prometheus_e2e;
mod readme;
mod restart_notifications;
mod rules;
mod rules_ha;
mod server;
mod shared_postgres;
mod support;
mod templates;
mod time_zone_config;
mod time_zone_mute;
