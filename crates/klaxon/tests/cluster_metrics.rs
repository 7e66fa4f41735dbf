//! The cluster metrics that count how the gossip driver's joins and oversized sends ended,
//! moved by real failures and checked against Alertmanager 0.25 doing the same
//! (127.0.0.244–249): a seed that refuses connections counts failed reconnections and
//! failed refresh joins; an oversized silence is timed per peer it reaches, and one sent to
//! a peer just SIGKILLed counts a failure.

use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use crate::support::{Implementation, ScratchDir, Server, request};

/// Alertmanager's refresh runs every 15s, with no flag to shorten it.
const REFRESH_DEADLINE: Duration = Duration::from_secs(45);
const CONVERGE: Duration = Duration::from_secs(30);

fn config() -> String {
    "route:\n  receiver: none\nreceivers:\n  - name: none\n".to_owned()
}

/// The first sample whose line starts with `series` (0 when absent).
async fn sample(client: &reqwest::Client, server: &Server, series: &str) -> f64 {
    let text = request(client, "GET", &format!("{}/metrics", server.url), None).await.text;
    text.lines()
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Polls until `series` on `server` is above zero, within `deadline`.
async fn moves(client: &reqwest::Client, server: &Server, series: &str, deadline: Duration) {
    let started = Instant::now();
    while sample(client, server, series).await <= 0.0 {
        assert!(
            started.elapsed() < deadline,
            "{:?} at {}: {series} still 0 after {deadline:?}",
            server.implementation,
            server.url
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One node whose only seed refuses connections: both the reconnect timer's and the
/// refresh timer's joins fail and are counted as failures, and no join as a success.
async fn refused_seed(implementation: Implementation, ip: &str, seed: &str) {
    let scratch = ScratchDir::new("cluster-metrics-refused");
    let config = scratch.write("alertmanager.yml", &config());
    let flags = [
        format!("--cluster.listen-address={ip}:9094"),
        format!("--cluster.advertise-address={ip}:9094"),
        format!("--cluster.peer={seed}:9094"),
        "--cluster.reconnect-interval=200ms".to_owned(),
        "--cluster.settle-timeout=1s".to_owned(),
    ];
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = Server::start(implementation, &format!("{ip}:9093"), &config, &flags);
    let client = reqwest::Client::new();
    moves(&client, &server, "alertmanager_cluster_reconnections_failed_total ", CONVERGE).await;
    moves(&client, &server, "alertmanager_cluster_refresh_join_failed_total ", REFRESH_DEADLINE)
        .await;
    for series in
        ["alertmanager_cluster_reconnections_total ", "alertmanager_cluster_refresh_join_total "]
    {
        assert_eq!(sample(&client, &server, series).await, 0.0, "{implementation:?}: {series}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_to_a_refusing_seed_count_as_failures() {
    // Nothing listens at .245 and .247.
    tokio::join!(
        refused_seed(Implementation::Klaxon, "127.0.0.244", "127.0.0.245"),
        refused_seed(Implementation::Alertmanager, "127.0.0.246", "127.0.0.247"),
    );
}

/// Creates a silence on `server` whose comment makes it an oversized gossip message.
async fn oversized_silence(client: &reqwest::Client, server: &Server) {
    let now = chrono::Utc::now();
    let body = json!({
        "matchers": [{"name": "team", "value": "metrics", "isRegex": false, "isEqual": true}],
        "startsAt": now.to_rfc3339(),
        "endsAt": (now + chrono::Duration::hours(1)).to_rfc3339(),
        "createdBy": "cluster-metrics-test",
        "comment": "oversized ".repeat(100),
    })
    .to_string();
    let reply =
        request(client, "POST", &format!("{}/api/v2/silences", server.url), Some(&body)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

/// Two nodes of `implementation` on `ips` (ports `port` for gossip, `port - 1` for HTTP):
/// an oversized silence sent to the live peer is timed; after the peer is SIGKILLed, and
/// while the protocol's default 1s probes still list it, the next one counts a failure.
async fn oversized_sends(implementation: Implementation, ips: [&str; 2], port: u16) {
    let scratch = ScratchDir::new("cluster-metrics-oversized");
    let config = scratch.write("alertmanager.yml", &config());
    let mut servers: Vec<Server> = (0..2)
        .map(|i| {
            let flags = [
                format!("--cluster.listen-address={}:{port}", ips[i]),
                format!("--cluster.advertise-address={}:{port}", ips[i]),
                format!("--cluster.peer={}:{port}", ips[1 - i]),
                "--cluster.gossip-interval=50ms".to_owned(),
                "--cluster.settle-timeout=2s".to_owned(),
            ];
            let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
            Server::start(implementation, &format!("{}:{}", ips[i], port - 1), &config, &flags)
        })
        .collect();
    let client = reqwest::Client::new();
    let started = Instant::now();
    while sample(&client, &servers[0], "alertmanager_cluster_members ").await < 2.0 {
        assert!(started.elapsed() < CONVERGE, "{implementation:?}: the pair never formed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    oversized_silence(&client, &servers[0]).await;
    let timed = "alertmanager_oversize_gossip_message_duration_seconds_count{key=\"sil\"}";
    moves(&client, &servers[0], timed, CONVERGE).await;
    let failed = "alertmanager_oversized_gossip_message_failure_total{key=\"sil\"}";
    assert_eq!(sample(&client, &servers[0], failed).await, 0.0, "{implementation:?}");

    let victim = servers.remove(1);
    let status = std::process::Command::new("kill")
        .args(["-KILL", &victim.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let gossip = format!("{}:{port}", ips[1]);
    let started = Instant::now();
    while tokio::net::TcpStream::connect(&gossip).await.is_ok() {
        assert!(started.elapsed() < CONVERGE, "{implementation:?}: {gossip} still accepts");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let timed_before = sample(&client, &servers[0], timed).await;
    oversized_silence(&client, &servers[0]).await;
    moves(&client, &servers[0], failed, CONVERGE).await;
    // A failed send is not observed in the histogram.
    assert_eq!(sample(&client, &servers[0], timed).await, timed_before, "{implementation:?}");
    drop(victim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_sends_are_timed_and_failures_counted() {
    tokio::join!(
        oversized_sends(Implementation::Klaxon, ["127.0.0.248", "127.0.0.249"], 9094),
        oversized_sends(Implementation::Alertmanager, ["127.0.0.248", "127.0.0.249"], 19094),
    );
}
