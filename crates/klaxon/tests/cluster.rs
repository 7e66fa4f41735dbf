//! Mixed clusters of real Alertmanager 0.25 and Klaxon nodes gossiping on loopback
//! (127.0.0.60–69): (a) two Alertmanagers and one Klaxon, (b) one Alertmanager and two
//! Klaxons. In each, every node must list every member (`/api/v2/status`, and
//! `amtool cluster show` against a Klaxon), a silence created on any node must reach every
//! node and so must its expiry, the same alert posted to every node must give exactly one
//! webhook notification, and so must it when the position-0 node is SIGKILLed during
//! group_wait.
//!
//! Timers are short (gossip 50ms, push/pull 2s, peer timeout 3s, group_wait 3s). Waiting for
//! something to happen polls with a deadline; checking that a second notification does not
//! happen watches the sink until the last node that could send has had its turn
//! (group_wait + (nodes - 1) × peer_timeout, plus a margin).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::support::{self, Implementation, ScratchDir, Server, request, require_program};

const GROUP_WAIT: Duration = Duration::from_secs(3);
const PEER_TIMEOUT: Duration = Duration::from_secs(3);
/// Bound on any one thing converging (membership, a silence, a notification).
const CONVERGE: Duration = Duration::from_secs(30);

pub(crate) fn config(sink: &str) -> String {
    format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 3s\n  group_interval: 1m\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: 'http://{sink}/hook'\n"
    )
}

/// The `--cluster.*` flags every node gets: short timers both implementations accept.
fn cluster_flags(ip: &str, peers: &[&str]) -> Vec<String> {
    let mut flags = vec![
        format!("--cluster.listen-address={ip}:9094"),
        format!("--cluster.advertise-address={ip}:9094"),
        "--cluster.gossip-interval=50ms".to_owned(),
        "--cluster.pushpull-interval=2s".to_owned(),
        "--cluster.probe-interval=200ms".to_owned(),
        "--cluster.probe-timeout=100ms".to_owned(),
        "--cluster.reconnect-interval=1s".to_owned(),
        "--cluster.settle-timeout=5s".to_owned(),
        format!("--cluster.peer-timeout={}s", PEER_TIMEOUT.as_secs()),
    ];
    flags.extend(peers.iter().filter(|p| **p != ip).map(|p| format!("--cluster.peer={p}:9094")));
    flags
}

/// A webhook sink that records the `groupKey` of every notification.
#[derive(Clone, Default)]
pub(crate) struct Sink {
    received: Arc<Mutex<Vec<String>>>,
}

impl Sink {
    pub(crate) async fn start(address: &str) -> Sink {
        let sink = Sink::default();
        let record = sink.received.clone();
        let router = axum::Router::new().fallback(move |body: Bytes| {
            let record = record.clone();
            async move {
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let key = body["groupKey"].as_str().unwrap_or_default().to_owned();
                record.lock().unwrap().push(key);
                "ok"
            }
        });
        let listener = tokio::net::TcpListener::bind(address).await.expect("bind sink");
        // Lives as long as the test's runtime.
        tokio::spawn(async move { axum::serve(listener, router).await });
        sink
    }

    pub(crate) fn count(&self, alertname: &str) -> usize {
        let needle = format!("alertname=\"{alertname}\"");
        self.received.lock().unwrap().iter().filter(|k| k.contains(&needle)).count()
    }
}

pub(crate) struct Node {
    pub(crate) server: Server,
    pub(crate) ip: &'static str,
}

async fn status(client: &reqwest::Client, node: &Node) -> Value {
    let reply = request(client, "GET", &format!("{}/api/v2/status", node.server.url), None).await;
    reply.json().unwrap_or(Value::Null)
}

/// Polls until `check` holds or [`CONVERGE`] passes; then panics with `what`.
pub(crate) async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    support::eventually(what, CONVERGE, check).await
}

/// Starts the nodes in order, each listing all the others as peers.
fn start_cluster(
    implementations: &[Implementation],
    ips: &'static [&'static str],
    config: &std::path::Path,
) -> Vec<Node> {
    start_cluster_with(implementations, ips, config, |_| Vec::new())
}

/// [`start_cluster`], node `i` also getting the flags `extra(i)`.
pub(crate) fn start_cluster_with(
    implementations: &[Implementation],
    ips: &'static [&'static str],
    config: &std::path::Path,
    extra: impl Fn(usize) -> Vec<String>,
) -> Vec<Node> {
    implementations
        .iter()
        .zip(ips)
        .enumerate()
        .map(|(i, (implementation, ip))| {
            let mut flags = cluster_flags(ip, ips);
            flags.extend(extra(i));
            let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
            let server = Server::start(*implementation, &format!("{ip}:9093"), config, &flags);
            Node { server, ip }
        })
        .collect()
}

pub(crate) async fn member_names(client: &reqwest::Client, node: &Node) -> BTreeSet<String> {
    let status = status(client, node).await;
    let peers = status["cluster"]["peers"].as_array().cloned().unwrap_or_default();
    peers.iter().filter_map(|p| p["name"].as_str().map(str::to_owned)).collect()
}

pub(crate) async fn own_name(client: &reqwest::Client, node: &Node) -> String {
    status(client, node).await["cluster"]["name"].as_str().unwrap_or_default().to_owned()
}

pub(crate) async fn every_node_lists_every_member(client: &reqwest::Client, nodes: &[Node]) {
    let mut names = BTreeSet::new();
    for node in nodes {
        names.insert(own_name(client, node).await);
    }
    assert_eq!(names.len(), nodes.len(), "every node has a distinct name: {names:?}");
    for node in nodes {
        let expected = names.clone();
        eventually(&format!("{} lists {expected:?}", node.server.url), || {
            let expected = expected.clone();
            async move { member_names(client, node).await == expected }
        })
        .await;
        // Each member's address is the one it advertises.
        let status = status(client, node).await;
        for peer in status["cluster"]["peers"].as_array().unwrap() {
            let address = peer["address"].as_str().unwrap();
            assert!(nodes.iter().any(|n| address == format!("{}:9094", n.ip)), "{peer}");
        }
    }
    for node in nodes.iter().filter(|n| n.server.implementation == Implementation::Klaxon) {
        let name = own_name(client, node).await;
        let amtool = require_program("amtool");
        let url = format!("--alertmanager.url={}", node.server.url);
        let output = std::process::Command::new(amtool)
            .args([url.as_str(), "cluster", "show"])
            .output()
            .expect("run amtool");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "amtool cluster show: {text}");
        assert!(text.contains(&name), "amtool cluster show names the node: {text}");
        assert!(text.contains("ready"), "amtool cluster show says ready: {text}");
        // The cluster metrics, under 0.25's names.
        let members = format!("alertmanager_cluster_members {}", nodes.len());
        eventually(&format!("{} exports {members}", node.server.url), || async {
            let url = format!("{}/metrics", node.server.url);
            let text = request(client, "GET", &url, None).await.text;
            text.lines().any(|l| l == members)
                && text.lines().any(|l| l == "alertmanager_cluster_enabled 1")
        })
        .await;
    }
}

async fn silence_state(client: &reqwest::Client, node: &Node, id: &str) -> Option<String> {
    let url = format!("{}/api/v2/silence/{id}", node.server.url);
    let reply = request(client, "GET", &url, None).await;
    (reply.status == 200).then(|| reply.json()?["status"]["state"].as_str().map(str::to_owned))?
}

/// A silence created on each node in turn reaches every node; its expiry, done on the next
/// node, does too. The first silence is small enough for gossip packets; the others carry a
/// long comment, which makes them oversized (over 700 bytes), so they travel as reliable TCP
/// user messages to every member instead.
pub(crate) async fn silences_replicate(client: &reqwest::Client, nodes: &[Node]) {
    for (i, origin) in nodes.iter().enumerate() {
        let now = chrono::Utc::now();
        let comment = if i == 0 { "replication".to_owned() } else { "long ".repeat(200) };
        let body = json!({
            "matchers": [{"name": "origin", "value": origin.ip, "isRegex": false, "isEqual": true}],
            "startsAt": now.to_rfc3339(),
            "endsAt": (now + chrono::Duration::hours(1)).to_rfc3339(),
            "createdBy": "cluster-test",
            "comment": comment,
        })
        .to_string();
        let url = format!("{}/api/v2/silences", origin.server.url);
        let reply = request(client, "POST", &url, Some(&body)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let id = reply.json().unwrap()["silenceID"].as_str().unwrap().to_owned();
        for node in nodes {
            eventually(
                &format!("silence {id} from {} active on {}", origin.ip, node.ip),
                || async { silence_state(client, node, &id).await.as_deref() == Some("active") },
            )
            .await;
        }
        let expirer = &nodes[(i + 1) % nodes.len()];
        let url = format!("{}/api/v2/silence/{id}", expirer.server.url);
        let reply = request(client, "DELETE", &url, None).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        for node in nodes {
            eventually(&format!("silence {id} expired on {}", node.ip), || async {
                silence_state(client, node, &id).await.as_deref() == Some("expired")
            })
            .await;
        }
    }
}

pub(crate) async fn post_alert_everywhere(
    client: &reqwest::Client,
    nodes: &[&Node],
    alertname: &str,
) {
    let body = json!([{ "labels": { "alertname": alertname } }]).to_string();
    for node in nodes {
        let url = format!("{}/api/v2/alerts", node.server.url);
        let reply = request(client, "POST", &url, Some(&body)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
}

/// Waits for the first notification of `alertname`, then watches until every node that could
/// still send has had its turn, and returns the count.
pub(crate) async fn notifications_after_every_turn(
    sink: &Sink,
    alertname: &str,
    nodes: usize,
) -> usize {
    eventually(&format!("a notification for {alertname}"), || async { sink.count(alertname) > 0 })
        .await;
    let last_turn = GROUP_WAIT + PEER_TIMEOUT * u32::try_from(nodes).unwrap() + PEER_TIMEOUT;
    tokio::time::sleep(last_turn).await;
    sink.count(alertname)
}

async fn kill_position_zero(client: &reqwest::Client, nodes: &mut Vec<Node>) -> Node {
    let mut named = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        named.push((own_name(client, node).await, i));
    }
    named.sort();
    let victim = nodes.remove(named[0].1);
    let status = std::process::Command::new("kill")
        .args(["-KILL", &victim.server.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    victim
}

async fn mixed_cluster(
    implementations: &[Implementation],
    ips: &'static [&'static str],
    sink_address: &str,
) {
    let sink = Sink::start(sink_address).await;
    let dir = ScratchDir::new("cluster");
    let config = dir.write("alertmanager.yml", &config(sink_address));
    let mut nodes = start_cluster(implementations, ips, &config);
    let client = reqwest::Client::new();

    every_node_lists_every_member(&client, &nodes).await;
    silences_replicate(&client, &nodes).await;

    let all: Vec<&Node> = nodes.iter().collect();
    post_alert_everywhere(&client, &all, "dedup").await;
    assert_eq!(notifications_after_every_turn(&sink, "dedup", nodes.len()).await, 1);

    let all: Vec<&Node> = nodes.iter().collect();
    post_alert_everywhere(&client, &all, "failover").await;
    let victim = kill_position_zero(&client, &mut nodes).await;
    let survivors = nodes.len();
    let count = notifications_after_every_turn(&sink, "failover", survivors + 1).await;
    assert_eq!(count, 1, "after killing {} ({:?})", victim.ip, victim.server.implementation);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_alertmanagers_and_one_klaxon() {
    use Implementation::{Alertmanager, Klaxon};
    const IPS: &[&str] = &["127.0.0.60", "127.0.0.61", "127.0.0.62"];
    mixed_cluster(&[Alertmanager, Alertmanager, Klaxon], IPS, "127.0.0.63:19099").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_alertmanager_and_two_klaxons() {
    use Implementation::{Alertmanager, Klaxon};
    const IPS: &[&str] = &["127.0.0.64", "127.0.0.65", "127.0.0.66"];
    mixed_cluster(&[Klaxon, Alertmanager, Klaxon], IPS, "127.0.0.67:19099").await;
}

/// Kills the child on drop.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Beyond 0.25 (which always answers 200, its #4315): `/-/ready` answers 503 while the node
/// settles and 200 after, in step with the status the API reports.
#[tokio::test(flavor = "multi_thread")]
async fn ready_waits_for_gossip_to_settle() {
    let dir = ScratchDir::new("cluster-ready");
    let config = dir.write("alertmanager.yml", &config("127.0.0.70:19099"));
    let data = dir.0.join("data");
    let log = std::fs::File::create(dir.0.join("klaxon.log")).unwrap();
    // Settling polls every 10 × gossip interval and needs five polls: 10s here, long after
    // the HTTP API answers.
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_klaxon"))
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.path={}", data.display()))
        .args(["--web.listen-address=127.0.0.70:9093", "--cluster.listen-address=127.0.0.70:9094"])
        .args(["--cluster.gossip-interval=200ms", "--cluster.settle-timeout=1m"])
        .stderr(log)
        .spawn()
        .expect("start klaxon");
    let _child = Child(child);
    let client = reqwest::Client::new();
    let url = "http://127.0.0.70:9093";
    let deadline = Instant::now() + CONVERGE;
    let first = loop {
        assert!(Instant::now() < deadline, "klaxon did not answer HTTP");
        if let Ok(response) = client.get(format!("{url}/-/ready")).send().await {
            break response.status().as_u16();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(first, 503, "not ready while settling");
    let status = request(&client, "GET", &format!("{url}/api/v2/status"), None).await;
    assert_eq!(status.json().unwrap()["cluster"]["status"], "settling");
    eventually("ready after settling", || async {
        request(&client, "GET", &format!("{url}/-/ready"), None).await.status == 200
    })
    .await;
    let status = request(&client, "GET", &format!("{url}/api/v2/status"), None).await;
    assert_eq!(status.json().unwrap()["cluster"]["status"], "ready");
}
