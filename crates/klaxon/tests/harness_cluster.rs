//! The shared black-box harness's HA scenarios against Klaxon clusters of 3 and 5 nodes on
//! loopback: `silence-propagation` (a silence created, then expired, on node 1 must show on
//! every other node) and `dedup` (the same alerts POSTed to every node give exactly one
//! notification per group: all nodes up, the position-0 node SIGKILLed during group_wait, and
//! that node down). Only correctness is asserted (0 duplicates, 0 misses, nothing left
//! unpropagated); the timings of the same scenarios are in `bench/cluster_ha.sh`.
//!
//! The peer timeout is 3s (the default 15s would make every dedup phase wait a minute for
//! the last node's turn); the other cluster flags keep their defaults. The harness's config
//! has group_wait 2s, so each dedup phase watches the sink for group_wait + (n - 1) × peer
//! timeout, after which no node may send any more, plus a margin.
//! Addresses 127.0.0.180 (3 nodes) and 127.0.0.181 (5 nodes).

use crate::support::harness::HarnessCluster;

const PEER_TIMEOUT_S: u64 = 3;
const GROUP_WAIT_S: u64 = 2;
/// Beyond the last node's turn: its send, and the machine being slow.
const WINDOW_MARGIN_S: u64 = 6;
const GROUPS: u64 = 10;
const SILENCE_TRIALS: u64 = 5;

/// Starts `nodes` Klaxon nodes on `host`, all peers of each other, and waits until every node
/// lists them all and is ready.
fn klaxon_cluster(nodes: u64, host: &str) -> HarnessCluster {
    let cluster = HarnessCluster::in_scratch_dir();
    let klaxon = env!("CARGO_BIN_EXE_klaxon");
    let template = format!(
        "{klaxon} --config.file={{config}} --storage.path={{data}} --web.listen-address={{http}} \
         --web.external-url={{url}} --cluster.listen-address={{gossip}} \
         --cluster.advertise-address={{gossip}} --cluster.peer={{peer}} \
         --cluster.peer-timeout={PEER_TIMEOUT_S}s --log.level=warn"
    );
    let up = cluster.run(
        "cluster-up",
        &[
            "--impl",
            "custom",
            "--cmd",
            &template,
            "--n",
            &nodes.to_string(),
            "--host",
            host,
            "--base-port",
            "19300",
            "--settle-timeout",
            "60",
        ],
    );
    assert!(up["cluster_ready_s"].is_number(), "the cluster never formed: {up}");
    cluster
}

fn silences_reach_every_node(cluster: &HarnessCluster) {
    let trials = SILENCE_TRIALS.to_string();
    let result = cluster.run(
        "silence-propagation",
        &["--trials", &trials, "--interval", "0.01", "--poll-timeout", "20"],
    );
    assert_eq!(result["misses"]["create"], 0, "a silence did not reach a node: {result}");
    assert_eq!(result["misses"]["expire"], 0, "an expiry did not reach a node: {result}");
    assert_eq!(result["create_visible_all_ms"]["n"], SILENCE_TRIALS, "{result}");
    assert_eq!(result["expire_visible_all_ms"]["n"], SILENCE_TRIALS, "{result}");
}

fn one_notification_per_group(cluster: &HarnessCluster, nodes: u64) {
    let window = GROUP_WAIT_S + (nodes - 1) * PEER_TIMEOUT_S + WINDOW_MARGIN_S;
    let result = cluster.run(
        "dedup",
        &[
            "--groups",
            &GROUPS.to_string(),
            "--window",
            &window.to_string(),
            "--phases",
            "healthy,kill,down",
        ],
    );
    for phase in ["healthy", "kill_during_group_wait", "node_down"] {
        let outcome = &result["phases"][phase];
        assert!(outcome.is_object(), "no {phase} phase in {result}");
        assert_eq!(outcome["misses"], 0, "{phase}: a group was never notified: {result}");
        assert_eq!(outcome["duplicates"], 0, "{phase}: a group was notified twice: {result}");
        assert_eq!(outcome["notified_groups"], GROUPS, "{phase}: {result}");
    }
    assert!(
        result["restored_cluster_ready_s"].is_number(),
        "the killed node did not rejoin: {result}"
    );
}

#[test]
fn harness_three_klaxon_nodes_propagate_silences_and_deduplicate() {
    let cluster = klaxon_cluster(3, "127.0.0.180");
    silences_reach_every_node(&cluster);
    one_notification_per_group(&cluster, 3);
}

#[test]
fn harness_five_klaxon_nodes_propagate_silences_and_deduplicate() {
    let cluster = klaxon_cluster(5, "127.0.0.181");
    silences_reach_every_node(&cluster);
    one_notification_per_group(&cluster, 5);
}
