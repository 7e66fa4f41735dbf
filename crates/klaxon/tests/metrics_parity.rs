//! `/metrics` parity with Alertmanager 0.25: both servers get the same traffic (firing and
//! resolved alerts, an invalid alert, a silence, a notification to a loopback webhook), then
//! every metric family the running Alertmanager exposes must be exposed by Klaxon with the
//! same type and the same label names, apart from the documented [`EXCLUDED`] families. A
//! second test does the same for the cluster families, with clustering on.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{StatusCode, Uri};
use serde_json::json;
use tokio::time::Instant;

use crate::support::{Implementation, ScratchDir, Server, request};

const ALERTMANAGER_ADDRESS: &str = "127.0.0.126:19093";
const KLAXON_ADDRESS: &str = "127.0.0.127:19093";
const SINK_ADDRESS: &str = "127.0.0.128:19095";
const DELIVERY_DEADLINE: Duration = Duration::from_secs(30);

/// Family-name prefixes Alertmanager exposes that are not Klaxon's to mirror, and why.
const EXCLUDED: &[(&str, &str)] = &[
    ("go_", "Go runtime"),
    ("promhttp_", "Go client library's instrumentation of its own /metrics handler"),
    ("net_conntrack_", "Go dialer instrumentation library"),
    ("process_virtual_memory_max_bytes", "Go client library's process collector only"),
    // The servers here run without clustering; these are compared with clustering on by
    // `cluster_metric_families_cover_alertmanager_025`.
    ("alertmanager_cluster_", "cluster (gossip) layer"),
    ("alertmanager_peer_position", "cluster (gossip) layer"),
    ("alertmanager_oversize_gossip_message", "cluster (gossip) layer"),
    (
        "alertmanager_http_",
        "API server concurrency limit (--web.get-concurrency), not part of the pipeline",
    ),
];

fn config(path: &str) -> String {
    format!(
        r#"
route:
  receiver: sink
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  routes:
    - matchers: ['team="none"']
      receiver: sink
receivers:
  - name: sink
    webhook_configs: [{{url: 'http://{SINK_ADDRESS}/{path}'}}, {{url: 'http://{SINK_ADDRESS}/{path}'}}]
  - name: unused
    webhook_configs: [{{url: 'http://{SINK_ADDRESS}/unused'}}]
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
"#
    )
}

/// One family: its type and the label names its samples carry (bucket and quantile labels
/// aside).
#[derive(Debug, PartialEq, Eq)]
struct Family {
    kind: String,
    labels: BTreeSet<String>,
}

fn families(text: &str) -> BTreeMap<String, Family> {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE line");
            families
                .insert(name.to_owned(), Family { kind: kind.to_owned(), labels: BTreeSet::new() });
        } else if !line.starts_with('#') && !line.is_empty() {
            let (series, _) = line.rsplit_once(' ').expect("sample line");
            let (name, labels) = series.split_once('{').unwrap_or((series, ""));
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| {
                    name.strip_suffix(suffix).filter(|base| families.contains_key(*base))
                })
                .unwrap_or(name);
            let Some(family) = families.get_mut(family) else { continue };
            for pair in labels.trim_end_matches('}').split(',').filter(|p| !p.is_empty()) {
                let label = pair.split_once('=').expect("label pair").0;
                if label != "le" && label != "quantile" {
                    family.labels.insert(label.to_owned());
                }
            }
        }
    }
    families
}

async fn start_sink(address: &str) -> Arc<Mutex<Vec<String>>> {
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = received.clone();
    let router = axum::Router::new().fallback(move |uri: Uri| {
        let record = record.clone();
        async move {
            record.lock().unwrap().push(uri.path().to_owned());
            StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind(address).await.expect("bind sink");
    tokio::spawn(async move { axum::serve(listener, router).await });
    received
}

/// The same requests to either server; the answers' status codes, to check they agree.
async fn traffic(client: &reqwest::Client, server: &Server) -> Vec<u16> {
    let now = chrono::Utc::now();
    let alerts = json!([
        {"labels": {"alertname": "Firing", "severity": "warning"}},
        {"labels": {"alertname": "Source", "severity": "critical"}},
        {"labels": {"alertname": "Silenced"}},
        {"labels": {"alertname": "Resolved"},
         "startsAt": (now - chrono::Duration::minutes(10)).to_rfc3339(),
         "endsAt": (now - chrono::Duration::minutes(1)).to_rfc3339()},
    ]);
    let silence = json!({
        "matchers": [{"name": "alertname", "value": "Silenced", "isRegex": false}],
        "startsAt": now.to_rfc3339(),
        "endsAt": (now + chrono::Duration::hours(1)).to_rfc3339(),
        "createdBy": "metrics test",
        "comment": "parity",
    });
    let mut statuses = Vec::new();
    let url = |path: &str| format!("{}{path}", server.url);
    let silence_text = silence.to_string();
    let alerts_text = alerts.to_string();
    for (method, path, body) in [
        ("POST", "/api/v2/silences", Some(silence_text.as_str())),
        ("POST", "/api/v2/alerts", Some(alerts_text.as_str())),
        ("POST", "/api/v2/alerts", Some(r#"[{"labels": {}}]"#)),
        ("GET", "/api/v2/alerts", None),
        ("GET", "/api/v2/silences", None),
    ] {
        statuses.push(request(client, method, &url(path), body).await.status);
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_families_cover_alertmanager_025() {
    let scratch = ScratchDir::new("metrics-parity");
    let received = start_sink(SINK_ADDRESS).await;
    let alertmanager = Server::start(
        Implementation::Alertmanager,
        ALERTMANAGER_ADDRESS,
        &scratch.write("alertmanager.yml", &config("alertmanager")),
        &[],
    );
    let klaxon = Server::start(
        Implementation::Klaxon,
        KLAXON_ADDRESS,
        &scratch.write("klaxon.yml", &config("klaxon")),
        &[],
    );
    let client = reqwest::Client::new();
    let reference_statuses = traffic(&client, &alertmanager).await;
    assert_eq!(traffic(&client, &klaxon).await, reference_statuses, "answers differ");

    let started = Instant::now();
    loop {
        let paths = received.lock().unwrap().clone();
        if ["/alertmanager", "/klaxon"].iter().all(|p| paths.iter().any(|q| q == p)) {
            break;
        }
        assert!(
            started.elapsed() < DELIVERY_DEADLINE,
            "notifications so far: {paths:?}\nalertmanager log:\n{}",
            alertmanager.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let metrics = |server: &Server| {
        let url = format!("{}/metrics", server.url);
        let client = client.clone();
        async move { request(&client, "GET", &url, None).await.text }
    };
    let (reference_text, klaxon_text) = (metrics(&alertmanager).await, metrics(&klaxon).await);
    let expected = families(&reference_text);
    let actual = families(&klaxon_text);
    let compared: Vec<&String> = expected
        .keys()
        .filter(|name| !EXCLUDED.iter().any(|(prefix, _)| name.starts_with(prefix)))
        .collect();
    assert!(
        compared.iter().any(|name| name.starts_with("alertmanager_nflog_")),
        "the reference exposes the families under test: {compared:?}"
    );
    let mut problems = Vec::new();
    for name in compared {
        match actual.get(name) {
            None => problems.push(format!("{name}: missing")),
            Some(family) if family != &expected[name] => {
                problems.push(format!("{name}: {family:?}, Alertmanager {:?}", expected[name]))
            }
            Some(_) => {}
        }
    }
    assert!(problems.is_empty(), "metric families differ:\n{}", problems.join("\n"));

    // Families whose values the traffic fixes (no timings, no process figures) must agree.
    for name in DETERMINISTIC {
        assert_eq!(
            samples(&klaxon_text, name),
            samples(&reference_text, name),
            "{name} differs from Alertmanager's"
        );
    }
}

/// Families whose values follow from the traffic alone.
const DETERMINISTIC: &[&str] = &[
    "alertmanager_alerts",
    "alertmanager_alerts_received_total",
    "alertmanager_alerts_invalid_total",
    "alertmanager_marked_alerts",
    "alertmanager_silences",
    "alertmanager_dispatcher_aggregation_groups",
    "alertmanager_receivers",
    "alertmanager_integrations",
];

/// The samples of family `name` (exact name, no suffixes) as `series value` lines, sorted.
fn samples(text: &str, name: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

/// Family-name prefixes of the cluster layer, compared with clustering on.
const CLUSTER_FAMILIES: &[&str] =
    &["alertmanager_cluster_", "alertmanager_peer_position", "alertmanager_oversize"];

/// Cluster families Alertmanager 0.25 exposes that Klaxon does not yet, and why.
const CLUSTER_NOT_YET: &[(&str, &str)] = &[];

/// Starts a two-node cluster of `implementation` on `ips`; returns the servers.
fn start_pair(
    implementation: Implementation,
    ips: [&str; 2],
    config: &std::path::Path,
) -> Vec<Server> {
    let mut servers = Vec::new();
    for (i, ip) in ips.iter().enumerate() {
        let other = ips[1 - i];
        let flags = [
            format!("--cluster.listen-address={ip}:19094"),
            format!("--cluster.advertise-address={ip}:19094"),
            format!("--cluster.peer={other}:19094"),
            "--cluster.probe-interval=200ms".to_owned(),
            "--cluster.probe-timeout=100ms".to_owned(),
            "--cluster.gossip-interval=50ms".to_owned(),
            "--cluster.settle-timeout=2s".to_owned(),
        ];
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        servers.push(Server::start(implementation, &format!("{ip}:19093"), config, &flags));
    }
    servers
}

/// With clustering on (two Alertmanagers gossiping with each other, two Klaxons with each
/// other), every cluster family a running Alertmanager exposes, per-peer ones included once
/// the peers have pinged each other, must be exposed by Klaxon with the same type and label
/// names, apart from [`CLUSTER_NOT_YET`]. Addresses 127.0.0.187-190.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_metric_families_cover_alertmanager_025() {
    let scratch = ScratchDir::new("metrics-parity-cluster");
    let config = scratch.write("alertmanager.yml", &config("cluster"));
    let alertmanagers =
        start_pair(Implementation::Alertmanager, ["127.0.0.187", "127.0.0.188"], &config);
    let klaxons = start_pair(Implementation::Klaxon, ["127.0.0.189", "127.0.0.190"], &config);
    let client = reqwest::Client::new();
    let metrics = |server: &Server| {
        let url = format!("{}/metrics", server.url);
        let client = client.clone();
        async move { request(&client, "GET", &url, None).await.text }
    };
    // Both see their peer and have pinged it, so the per-peer families have samples.
    let started = Instant::now();
    let (reference_text, klaxon_text) = loop {
        let texts = (metrics(&alertmanagers[0]).await, metrics(&klaxons[0]).await);
        let formed = |text: &str| {
            text.lines().any(|l| l == "alertmanager_cluster_members 2")
                && text.contains("alertmanager_cluster_pings_seconds_count{")
                && text.contains("alertmanager_cluster_alive_messages_total{")
        };
        if formed(&texts.0) && formed(&texts.1) {
            break texts;
        }
        assert!(
            started.elapsed() < DELIVERY_DEADLINE,
            "clusters not formed:\nAlertmanager:\n{}\nKlaxon:\n{}",
            texts.0,
            texts.1
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let expected = families(&reference_text);
    let actual = families(&klaxon_text);
    let compared: Vec<&String> = expected
        .keys()
        .filter(|name| CLUSTER_FAMILIES.iter().any(|prefix| name.starts_with(prefix)))
        .filter(|name| !CLUSTER_NOT_YET.iter().any(|(missing, _)| name == missing))
        .collect();
    let mut problems = Vec::new();
    for name in &compared {
        match actual.get(*name) {
            None => problems.push(format!("{name}: missing")),
            Some(family) if family != &expected[*name] => {
                problems.push(format!("{name}: {family:?}, Alertmanager {:?}", expected[*name]))
            }
            Some(_) => {}
        }
    }
    assert!(problems.is_empty(), "cluster metric families differ:\n{}", problems.join("\n"));
    assert!(compared.len() >= 15, "the reference exposes the cluster families: {compared:?}");
}
