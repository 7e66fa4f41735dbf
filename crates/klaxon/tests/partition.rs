//! A 3-node Klaxon cluster cut by a network partition, then healed.
//!
//! Each node runs in a network namespace of its own (`klx-ct-n0`..`klx-ct-n2`, addresses
//! 10.199.180.1-3), its veth on a bridge in a fourth namespace (`klx-ct-hub`, 10.199.180.254)
//! where this test's HTTP client and webhook sink run: the test thread enters it with
//! setns(2). The partition is blackhole routes inside the node namespaces (node 0 drops what
//! it sends to nodes 1 and 2, they drop what they send to node 0) while every node still
//! reaches the hub. The namespaces, and with them the routes, are deleted when the test ends,
//! pass or fail, and any left by a crashed run are deleted first. Needs root and iproute2;
//! fails (never skips) without them.
//!
//! During the partition a silence is created on each side, and the same alert posted to every
//! node must be notified by both sides (each side sees nobody ahead of it that could still
//! send: a duplicate is allowed, a miss is not). After healing, every silence must be on every
//! node within two push/pull intervals.

use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use serde_json::{Value, json};

use crate::support::{Implementation, ScratchDir, Server, eventually, request, require_program};

const HUB: &str = "klx-ct-hub";
const BRIDGE: &str = "klx-ct-br";
const HUB_IP: &str = "10.199.180.254";
const NODE_NETNS: [&str; 3] = ["klx-ct-n0", "klx-ct-n1", "klx-ct-n2"];
const NODE_IPS: [&str; 3] = ["10.199.180.1", "10.199.180.2", "10.199.180.3"];
const PREFIX_LEN: &str = "24";

/// Short so that healing is quick to check; the bound after healing is two of these.
const PUSH_PULL: Duration = Duration::from_secs(5);
/// Bound on anything else converging (membership, a notification).
const CONVERGE: Duration = Duration::from_secs(30);

/// Runs `ip ARGS`; the error names the command and what it printed.
fn ip(args: &[&str]) -> Result<(), String> {
    let output = std::process::Command::new(require_program("ip"))
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim()))
    }
}

fn must_ip(args: &[&str]) {
    ip(args).unwrap_or_else(|e| {
        panic!(
            "the partition mechanism is unavailable (root and iproute2's `ip netns` needed): {e}"
        )
    });
}

/// The test's namespaces: created by [`Namespaces::create`], deleted on drop.
struct Namespaces;

impl Namespaces {
    fn create() -> Namespaces {
        Namespaces::delete_all();
        let namespaces = Namespaces;
        must_ip(&["netns", "add", HUB]);
        must_ip(&["-n", HUB, "link", "set", "lo", "up"]);
        must_ip(&["-n", HUB, "link", "add", BRIDGE, "type", "bridge"]);
        must_ip(&["-n", HUB, "addr", "add", &format!("{HUB_IP}/{PREFIX_LEN}"), "dev", BRIDGE]);
        must_ip(&["-n", HUB, "link", "set", BRIDGE, "up"]);
        for (i, (netns, node_ip)) in NODE_NETNS.iter().zip(NODE_IPS).enumerate() {
            let hub_end = format!("klx-ct-v{i}");
            must_ip(&["netns", "add", netns]);
            must_ip(&["-n", netns, "link", "set", "lo", "up"]);
            must_ip(&[
                "-n", HUB, "link", "add", &hub_end, "type", "veth", "peer", "name", "eth0",
                "netns", netns,
            ]);
            must_ip(&["-n", HUB, "link", "set", &hub_end, "master", BRIDGE, "up"]);
            must_ip(&[
                "-n",
                netns,
                "addr",
                "add",
                &format!("{node_ip}/{PREFIX_LEN}"),
                "dev",
                "eth0",
            ]);
            must_ip(&["-n", netns, "link", "set", "eth0", "up"]);
        }
        namespaces
    }

    fn delete_all() {
        for netns in NODE_NETNS.iter().chain([&HUB]) {
            let _ = ip(&["netns", "del", netns]);
        }
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        Namespaces::delete_all();
    }
}

/// The blackhole routes that separate node 0 from nodes 1 and 2, as (namespace, address).
fn partition_routes() -> Vec<(&'static str, &'static str)> {
    vec![
        (NODE_NETNS[0], NODE_IPS[1]),
        (NODE_NETNS[0], NODE_IPS[2]),
        (NODE_NETNS[1], NODE_IPS[0]),
        (NODE_NETNS[2], NODE_IPS[0]),
    ]
}

fn set_partition(cut: bool) {
    let verb = if cut { "add" } else { "del" };
    for (netns, address) in partition_routes() {
        must_ip(&["-n", netns, "route", verb, "blackhole", &format!("{address}/32")]);
    }
}

/// A webhook sink recording, per notification, who sent it (`externalURL`) and its group.
#[derive(Clone, Default)]
struct Sink {
    received: Arc<Mutex<Vec<(String, String)>>>,
}

impl Sink {
    async fn start(address: &str) -> Sink {
        let sink = Sink::default();
        let record = sink.received.clone();
        let router = axum::Router::new().fallback(move |body: Bytes| {
            let record = record.clone();
            async move {
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let field = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
                record.lock().unwrap().push((field("externalURL"), field("groupKey")));
                "ok"
            }
        });
        let listener = tokio::net::TcpListener::bind(address).await.expect("bind sink");
        // Lives as long as the test's runtime.
        tokio::spawn(async move { axum::serve(listener, router).await });
        sink
    }

    /// Whether some node in `senders` (base URLs) notified `alertname`.
    fn notified_by_any(&self, alertname: &str, senders: &[&Server]) -> bool {
        let needle = format!("alertname=\"{alertname}\"");
        self.received.lock().unwrap().iter().any(|(sender, key)| {
            key.contains(&needle) && senders.iter().any(|s| s.url.trim_end_matches('/') == sender)
        })
    }
}

fn config(sink: &str) -> String {
    format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 1m\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: 'http://{sink}/hook'\n"
    )
}

fn cluster_flags(index: usize) -> Vec<String> {
    let own = NODE_IPS[index];
    let mut flags = vec![
        format!("--cluster.listen-address={own}:9094"),
        format!("--cluster.advertise-address={own}:9094"),
        "--cluster.gossip-interval=100ms".to_owned(),
        format!("--cluster.pushpull-interval={}s", PUSH_PULL.as_secs()),
        "--cluster.probe-interval=500ms".to_owned(),
        "--cluster.probe-timeout=200ms".to_owned(),
        "--cluster.reconnect-interval=1s".to_owned(),
        "--cluster.settle-timeout=3s".to_owned(),
        "--cluster.peer-timeout=2s".to_owned(),
    ];
    flags.extend(
        NODE_IPS.iter().filter(|ip| **ip != own).map(|ip| format!("--cluster.peer={ip}:9094")),
    );
    flags
}

async fn member_count(client: &reqwest::Client, node: &Server) -> usize {
    let reply = request(client, "GET", &format!("{}/api/v2/status", node.url), None).await;
    let status = reply.json().unwrap_or(Value::Null);
    status["cluster"]["peers"].as_array().map_or(0, Vec::len)
}

async fn create_silence(client: &reqwest::Client, node: &Server, side: &str) -> String {
    let now = chrono::Utc::now();
    let body = json!({
        "matchers": [{"name": "side", "value": side, "isRegex": false, "isEqual": true}],
        "startsAt": now.to_rfc3339(),
        "endsAt": (now + chrono::Duration::hours(1)).to_rfc3339(),
        "createdBy": "partition-test",
        "comment": format!("created on the {side} side of a partition"),
    })
    .to_string();
    let reply =
        request(client, "POST", &format!("{}/api/v2/silences", node.url), Some(&body)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json().unwrap()["silenceID"].as_str().unwrap().to_owned()
}

async fn silence_active(client: &reqwest::Client, node: &Server, id: &str) -> bool {
    let reply = request(client, "GET", &format!("{}/api/v2/silence/{id}", node.url), None).await;
    reply.status == 200 && reply.json().is_some_and(|s| s["status"]["state"] == "active")
}

async fn scenario() {
    let sink_address = format!("{HUB_IP}:9095");
    let sink = Sink::start(&sink_address).await;
    let dir = ScratchDir::new("partition");
    let config = dir.write("alertmanager.yml", &config(&sink_address));
    let nodes: Vec<Server> = (0..NODE_IPS.len())
        .map(|i| {
            let flags = cluster_flags(i);
            let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
            let address = format!("{}:9093", NODE_IPS[i]);
            Server::start_in_netns(NODE_NETNS[i], Implementation::Klaxon, &address, &config, &flags)
        })
        .collect();
    let client = reqwest::Client::new();
    for node in &nodes {
        eventually(&format!("{} lists all 3 members", node.url), CONVERGE, || async {
            member_count(&client, node).await == 3
        })
        .await;
    }

    set_partition(true);
    let (minority, majority) = (&nodes[..1], &nodes[1..]);
    for (side, expected) in [(minority, 1), (majority, 2)] {
        for node in side {
            eventually(
                &format!("{} sees only its side ({expected} members)", node.url),
                CONVERGE,
                || async { member_count(&client, node).await == expected },
            )
            .await;
        }
    }

    let silences = [
        create_silence(&client, &minority[0], "minority").await,
        create_silence(&client, &majority[0], "majority").await,
    ];
    let alert = json!([{ "labels": { "alertname": "SplitBrain" } }]).to_string();
    for node in &nodes {
        let reply =
            request(&client, "POST", &format!("{}/api/v2/alerts", node.url), Some(&alert)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    for (name, side) in [("minority", minority), ("majority", majority)] {
        let senders: Vec<&Server> = side.iter().collect();
        eventually(&format!("the {name} side notifies SplitBrain"), CONVERGE, || async {
            sink.notified_by_any("SplitBrain", &senders)
        })
        .await;
    }

    set_partition(false);
    let bound = PUSH_PULL * 2;
    for id in &silences {
        for node in &nodes {
            eventually(
                &format!("silence {id} active on {} after healing", node.url),
                bound,
                || silence_active(&client, node, id),
            )
            .await;
        }
    }
    for node in &nodes {
        eventually(&format!("{} lists all 3 members again", node.url), CONVERGE, || async {
            member_count(&client, node).await == 3
        })
        .await;
    }
}

#[test]
fn partitioned_cluster_notifies_on_both_sides_and_merges_silences_after_healing() {
    let namespaces = Namespaces::create();
    let hub = std::fs::File::open(format!("/run/netns/{HUB}")).expect("open the hub namespace");
    let outcome = std::thread::spawn(move || {
        // Only this thread (and what it spawns) moves: the sink, the client and the readiness
        // polls then reach the nodes over the bridge.
        rustix::thread::move_into_link_name_space(
            hub.as_fd(),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .expect("enter the hub namespace");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("build a runtime");
        runtime.block_on(scenario());
    })
    .join();
    drop(namespaces);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
