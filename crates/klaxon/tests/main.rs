//! Klaxon's integration tests: black-box tests that start the `klaxon` binary, and differential
//! tests that send the same input to a real Alertmanager 0.25 and compare.

mod amtool;
mod api_differential;
mod cli;
mod cluster;
mod notify_differential;
mod persistence;
mod readme;
mod server;
mod support;
mod templates;
