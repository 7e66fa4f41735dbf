//! The shared black-box harness's `restart-persistence` run against a single Klaxon node with
//! no peers (gossiping alone, so its status settles to `ready`): 20 silences are created, the
//! node is stopped (SIGTERM, or SIGKILL), restarted alone on its data directory, and every
//! silence must be back and active.
//! Alertmanager 0.25 keeps 20/20 after SIGTERM and 0/20 after SIGKILL (bench/README.md).
//! Addresses 127.0.0.130-131.

use crate::support::harness::HarnessCluster;

const SILENCES: u64 = 20;

/// Runs one `restart-persistence` variant on a one-node Klaxon cluster on `host` and checks
/// that every silence survived both the restart alone on disk and the normal restart. The node
/// gossips (with no peers) so that its status reports `ready` once settled, which is what the
/// harness waits for after each restart.
fn keeps_every_silence(host: &str, variant: &str) {
    let cluster = HarnessCluster::in_scratch_dir();
    let klaxon = env!("CARGO_BIN_EXE_klaxon");
    let template = format!(
        "{klaxon} --config.file={{config}} --storage.path={{data}} --web.listen-address={{http}} \
         --web.external-url={{url}} --cluster.listen-address={{gossip}}"
    );
    cluster.run(
        "cluster-up",
        &[
            "--impl",
            "custom",
            "--cmd",
            &template,
            "--n",
            "1",
            "--host",
            host,
            "--base-port",
            "19093",
            "--settle-timeout",
            "30",
        ],
    );
    let silences = SILENCES.to_string();
    let result = cluster.run(
        "restart-persistence",
        &["--silences", &silences, "--variants", variant, "--recover-timeout", "20"],
    );
    let outcome = &result["variants"][variant];
    assert!(outcome.is_object(), "no {variant} result in {result}");
    assert_eq!(outcome["isolated_present"], SILENCES, "restarted alone on disk: {result}");
    assert_eq!(outcome["isolated_active"], SILENCES, "restarted alone on disk: {result}");
    assert_eq!(outcome["present_at_ready"], SILENCES, "restarted: {result}");
    assert_eq!(outcome["present_after_rejoin"], SILENCES, "restarted: {result}");
}

#[test]
fn harness_restart_persistence_graceful_keeps_all_silences() {
    keeps_every_silence("127.0.0.130", "graceful");
}

#[test]
fn harness_restart_persistence_sigkill_keeps_all_silences() {
    keeps_every_silence("127.0.0.131", "sigkill");
}
