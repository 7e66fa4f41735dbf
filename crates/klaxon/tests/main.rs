//! Klaxon's integration tests: black-box tests that start the `klaxon` binary, and differential
//! tests that send the same input to a real Alertmanager 0.25 and compare.

mod amtool;
mod api_differential;
mod cli;
mod harness_restart;
mod notify_differential;
mod persistence;
mod readme;
mod restart_notifications;
mod server;
mod shared_postgres;
mod support;
mod templates;
