//! Differential notification test: Alertmanager 0.25 and Klaxon get the same configuration
//! (their webhooks pointing at one loopback sink each) and the same alerts, fired, changed and
//! resolved on a scripted timeline with short timers. Per webhook path and group key, the
//! sequences of notifications must match: count, status, alerts and the whole body apart from
//! `externalURL`; each notification must arrive within one group interval of its twin.
//! `GET /api/v2/alerts/groups` is compared on the way.
//!
//! The repeat interval (5s) is deliberately not a multiple of the group interval (2s): with
//! 6s, 0.25 itself repeats on the third tick or the fourth depending on whether its timer
//! drift beats the previous send's latency, a race no second implementation can mirror.
//! Every scripted change lands at least half a second away from every group's ticks.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{StatusCode, Uri};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::support::{Implementation, ScratchDir, Server, request};

const GROUP_INTERVAL: Duration = Duration::from_secs(2);

const CONFIG: &str = r#"
route:
  receiver: default
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 5s
  routes:
    - matchers: ['team="ops"']
      receiver: ops
      group_by: [alertname, instance]
      continue: true
    - matchers: ['team=~"ops|db"']
      receiver: all-labels
      group_by: ['...']
      routes:
        - matchers: ['severity="critical"']
          receiver: critical
          group_by: [severity]
          group_wait: 2s
    - matchers: ['team="web"']
      receiver: web
    - matchers: ['team="flaky"']
      receiver: flaky
    - matchers: ['team="limited"']
      receiver: limited
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [instance]
receivers:
  - name: default
    webhook_configs: [{url: 'SINK/default'}]
  - name: ops
    webhook_configs: [{url: 'SINK/ops', max_alerts: 1}]
  - name: all-labels
    webhook_configs: [{url: 'SINK/all'}]
  - name: critical
    webhook_configs: [{url: 'SINK/critical'}, {url: 'SINK/critical-firing', send_resolved: false}]
  - name: web
    webhook_configs: [{url: 'SINK/web', send_resolved: false}]
  - name: flaky
    webhook_configs: [{url: 'SINK/flaky'}]
  - name: limited
    webhook_configs: [{url: 'SINK/limited'}]
"#;

/// One received notification.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    at: Duration,
    body: Value,
}

/// How the sink answers: `/flaky` fails its first request with 500 (retried within the
/// flush after 0.25–0.75s; a second failure would put the logged send time on either side of
/// the next repeat boundary, by jitter, in 0.25 as here), `/limited` always answers 429 (final in 0.25, so each tick tries once), the rest
/// 200.
fn answer(path: &str, earlier_requests: usize) -> StatusCode {
    match path {
        "/flaky" if earlier_requests < 1 => StatusCode::INTERNAL_SERVER_ERROR,
        "/limited" => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::OK,
    }
}

/// A webhook sink: records every POST with its arrival time and answers per [`answer`].
struct Sink {
    received: Arc<Mutex<Vec<Received>>>,
}

async fn start_sink(address: &str, started: Instant) -> Sink {
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let record = received.clone();
    let router = axum::Router::new().fallback(move |uri: Uri, body: Bytes| {
        let record = record.clone();
        async move {
            let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let path = uri.path().to_owned();
            let mut record = record.lock().unwrap();
            let earlier = record.iter().filter(|r| r.path == path).count();
            let status = answer(&path, earlier);
            record.push(Received { path, at: started.elapsed(), body });
            status
        }
    });
    let listener = tokio::net::TcpListener::bind(address).await.expect("bind sink");
    // Lives as long as the test's runtime.
    tokio::spawn(async move { axum::serve(listener, router).await });
    Sink { received }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn alert(labels: Value, starts: DateTime<Utc>, ends: Option<DateTime<Utc>>, note: &str) -> Value {
    let mut alert = json!({"labels": labels, "annotations": {"note": note},
                           "startsAt": time(starts), "generatorURL": "http://gen/x?a=1&b=2"});
    if let Some(ends) = ends {
        alert["endsAt"] = json!(time(ends));
    }
    alert
}

/// The scripted alerts: at each offset, one batch.
fn timeline(t0: DateTime<Utc>) -> Vec<(Duration, Value)> {
    let later = |s: f64| t0 + chrono::Duration::milliseconds((s * 1000.0) as i64);
    let a1 = json!({"alertname": "A", "team": "ops", "instance": "i1"});
    let a2 = json!({"alertname": "A", "team": "ops", "instance": "i2", "job": "j"});
    let a3 = json!({"alertname": "A", "team": "ops", "instance": "i3", "severity": "critical"});
    let a4 = json!({"alertname": "A", "team": "db", "instance": "i1", "severity": "critical"});
    let w1 = json!({"alertname": "W", "team": "web"});
    let w2 = json!({"alertname": "W", "team": "web", "instance": "w2"});
    let d1 = json!({"alertname": "D", "x": "<&>"});
    let d2 = json!({"alertname": "D", "x": "2"});
    let f1 = json!({"alertname": "F", "team": "flaky"});
    let l1 = json!({"alertname": "L", "team": "limited"});
    // Inhibited by a3 until a3 resolves.
    let a5 = json!({"alertname": "A", "team": "ops", "instance": "i3", "severity": "warning"});
    vec![
        (
            Duration::ZERO,
            json!([
                alert(a1.clone(), t0, None, "one"),
                alert(a2.clone(), t0, None, "two"),
                alert(a3.clone(), t0, None, "three"),
                alert(w1.clone(), t0, None, "web"),
                alert(d1.clone(), t0, None, "d"),
                alert(f1.clone(), t0, None, "flaky"),
                alert(l1.clone(), t0, None, "limited"),
            ]),
        ),
        (
            Duration::from_millis(3500),
            json!([
                alert(a1.clone(), t0, None, "one changed"),
                alert(a4.clone(), t0, None, "db"),
                alert(w2.clone(), t0, None, "web 2"),
                alert(d2.clone(), t0, None, "d2"),
            ]),
        ),
        // Its new group ticks on whole seconds, clear of every later change.
        (Duration::from_millis(4000), json!([alert(a5.clone(), t0, None, "inhibited")])),
        (
            Duration::from_millis(7500),
            json!([
                alert(a2.clone(), t0, Some(later(7.5)), "two"),
                alert(w1.clone(), t0, Some(later(7.5)), "web"),
                alert(d1.clone(), t0, Some(later(7.5)), "d"),
            ]),
        ),
        (
            Duration::from_millis(11500),
            json!([
                alert(a1, t0, Some(later(11.5)), "one changed"),
                alert(a3, t0, Some(later(11.5)), "three"),
                alert(a4, t0, Some(later(11.5)), "db"),
                alert(w2, t0, Some(later(11.5)), "web 2"),
                alert(d2, t0, Some(later(11.5)), "d2"),
                alert(f1, t0, Some(later(11.5)), "flaky"),
                alert(l1, t0, Some(later(11.5)), "limited"),
            ]),
        ),
        (Duration::from_millis(15500), json!([alert(a5, t0, Some(later(15.5)), "inhibited")])),
    ]
}

/// Notifications per (path, group key), in arrival order.
type ByGroup = BTreeMap<(String, String), Vec<Received>>;

fn by_group(sink: &Sink) -> ByGroup {
    let mut groups = ByGroup::new();
    for received in sink.received.lock().unwrap().iter() {
        let key = received.body["groupKey"].as_str().unwrap_or("").to_owned();
        groups.entry((received.path.clone(), key)).or_default().push(received.clone());
    }
    groups
}

/// The body with each server's own external URL (its `--web.external-url`, which both must
/// report unchanged) replaced.
fn normalised(body: &Value, server: &Server) -> Value {
    let mut body = body.clone();
    assert_eq!(body["externalURL"], json!(server.url));
    body["externalURL"] = Value::Null;
    body
}

/// Both sinks hold the same notifications and every group that can announce a resolution
/// has done so.
fn settled(reference: &ByGroup, klaxon: &ByGroup) -> bool {
    let same_shape = reference.len() == klaxon.len()
        && reference
            .iter()
            .all(|(key, list)| klaxon.get(key).is_some_and(|other| other.len() == list.len()));
    let resolved = reference.iter().all(|((path, _), list)| {
        path.contains("web")
            || path.contains("firing")
            || path.contains("limited")
            || list.last().is_some_and(|last| last.body["status"] == "resolved")
    });
    same_shape && resolved
}

async fn post_alerts(client: &reqwest::Client, servers: &[&Server], batch: &Value) {
    let body = batch.to_string();
    let posts = servers.iter().map(|server| {
        let url = format!("{}/api/v2/alerts", server.url);
        let client = client.clone();
        let body = body.clone();
        async move { request(&client, "POST", &url, Some(&body)).await }
    });
    for reply in futures_join(posts).await {
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
}

/// Runs the futures concurrently so both servers see each batch at the same moment.
async fn futures_join<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.expect("request task"));
    }
    outputs
}

/// When both servers reload their (unchanged) configuration. 0.25 rebuilds its dispatcher
/// and replays every stored alert, so every group flushes at once (its alerts started long
/// ago) and ticks from then on; dedup keeps that from re-sending. The moment keeps half a
/// second from every scripted change and clears the latest retried send's repeat boundary.
///
/// 0.25 rebuilds its inhibitor the same way, concurrently with the dispatcher, so an alert
/// that is inhibited across a reload can leak out in the reload's first flush (seen in this
/// test); the inhibited alert therefore only fires after the reload.
const RELOAD_AT: Duration = Duration::from_millis(2900);

/// Reloads both servers' configuration.
async fn reload(client: &reqwest::Client, servers: &[&Server]) {
    for server in servers {
        let reply = request(client, "POST", &format!("{}/-/reload", server.url), None).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
}

/// The query strings the groups listing is compared with.
const LISTING_QUERIES: [&str; 6] = [
    "",
    "?receiver=ops|web",
    "?filter=team%3D~%22ops%7Cdb%22&filter=instance!%3D%22i2%22",
    "?active=false",
    "?silenced=false&inhibited=false",
    "?receiver=%5B",
];

/// The groups listing without what legitimately differs: update times, the ends the servers
/// derived from `resolve_timeout` at their own clocks, and silence ids (each server made its
/// own).
async fn groups_listing(client: &reqwest::Client, server: &Server, query: &str) -> Value {
    let url = format!("{}/api/v2/alerts/groups{query}", server.url);
    let reply = request(client, "GET", &url, None).await;
    let Some(mut listing) = reply.json().filter(Value::is_array) else {
        return json!({"status": reply.status, "text": reply.text});
    };
    for group in listing.as_array_mut().expect("array") {
        for alert in group["alerts"].as_array_mut().expect("alerts") {
            alert["updatedAt"] = Value::Null;
            alert["endsAt"] = Value::Null;
            let silences = alert["status"]["silencedBy"].as_array().map_or(0, Vec::len);
            alert["status"]["silencedBy"] = json!(silences);
        }
    }
    listing
}

/// Creates the same silence on both servers: `instance="w2"` until `ends`.
async fn silence(
    client: &reqwest::Client,
    servers: &[&Server],
    starts: DateTime<Utc>,
    ends: DateTime<Utc>,
) {
    let body = json!({"matchers": [{"name": "instance", "value": "w2", "isRegex": false}],
                      "startsAt": time(starts), "endsAt": time(ends),
                      "createdBy": "test", "comment": "mute w2 for a while"})
    .to_string();
    for server in servers {
        let url = format!("{}/api/v2/silences", server.url);
        let reply = request(client, "POST", &url, Some(&body)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
}

fn start(
    implementation: Implementation,
    address: &str,
    sink: &str,
    scratch: &ScratchDir,
) -> Server {
    let config = CONFIG.replace("SINK", &format!("http://{sink}"));
    let name = format!("{implementation:?}.yml");
    Server::start(implementation, address, &scratch.write(&name, &config), &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_webhooks_match_alertmanager_025() {
    let scratch = ScratchDir::new("notify");
    let reference =
        start(Implementation::Alertmanager, "127.0.0.41:19093", "127.0.0.41:19095", &scratch);
    let klaxon = start(Implementation::Klaxon, "127.0.0.42:19093", "127.0.0.42:19095", &scratch);
    let started = Instant::now();
    let reference_sink = start_sink("127.0.0.41:19095", started).await;
    let klaxon_sink = start_sink("127.0.0.42:19095", started).await;
    let client = reqwest::Client::new();
    let t0 = Utc::now();
    let mut listings = Vec::new();
    // w2 (added at 3.5s) stays silenced until 9.5s, so its group announces it at 11s.
    silence(&client, &[&reference, &klaxon], t0, t0 + chrono::Duration::milliseconds(9500)).await;
    let mut reloaded = false;
    for (offset, batch) in timeline(t0) {
        if offset > RELOAD_AT && !reloaded {
            tokio::time::sleep_until(started + RELOAD_AT).await;
            reload(&client, &[&reference, &klaxon]).await;
            reloaded = true;
        }
        // Waiting for the scripted moment is the test's timeline, not synchronisation.
        tokio::time::sleep_until(started + offset).await;
        post_alerts(&client, &[&reference, &klaxon], &batch).await;
        if offset == Duration::from_millis(4000) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            for query in LISTING_QUERIES {
                listings.push((
                    query,
                    groups_listing(&client, &reference, query).await,
                    groups_listing(&client, &klaxon, query).await,
                ));
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline && !settled(&by_group(&reference_sink), &by_group(&klaxon_sink))
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (query, expected, got) in &listings {
        assert_eq!(got, expected, "alert groups listing differs for {query:?}");
    }
    let everything = listings[0].1.to_string();
    assert!(
        everything.contains(r#""inhibitedBy":["1"#) && everything.contains(r#""silencedBy":1"#)
    );
    compare(&by_group(&reference_sink), &by_group(&klaxon_sink), [&reference, &klaxon]);
    let counters = [
        "alertmanager_dispatcher_aggregation_groups",
        "alertmanager_alerts",
        "alertmanager_notifications_total",
        "alertmanager_notifications_failed_total",
        "alertmanager_notification_requests_total",
        "alertmanager_notification_requests_failed_total",
    ];
    let expected = webhook_counters(&client, &reference, &counters).await;
    assert_eq!(webhook_counters(&client, &klaxon, &counters).await, expected);
    assert!(expected.iter().all(|(_, value)| !value.is_nan()), "{expected:?}");
    assert!(expected.iter().skip(2).all(|(_, value)| *value > 0.0), "{expected:?}");
}

/// The values of `names` from `/metrics`: the webhook series of per-integration metrics, the
/// suppressed series of `alertmanager_alerts`, or the plain series.
async fn webhook_counters(
    client: &reqwest::Client,
    server: &Server,
    names: &[&str],
) -> Vec<(String, f64)> {
    let text = request(client, "GET", &format!("{}/metrics", server.url), None).await.text;
    names
        .iter()
        .map(|name| {
            let series = [
                format!("{name}{{integration=\"webhook\"}} "),
                format!("{name}{{state=\"suppressed\"}} "),
                format!("{name} "),
            ];
            let value = text
                .lines()
                .find_map(|line| {
                    series.iter().find_map(|prefix| line.strip_prefix(prefix.as_str()))
                })
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(f64::NAN);
            (name.to_string(), value)
        })
        .collect()
}

fn compare(reference: &ByGroup, klaxon: &ByGroup, [reference_server, klaxon_server]: [&Server; 2]) {
    let keys = |groups: &ByGroup| groups.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(klaxon), keys(reference), "different (path, group key) pairs notified");
    for (key, expected) in reference {
        let got = &klaxon[key];
        let summary = |list: &[Received]| {
            list.iter()
                .map(|r| format!("{:.1}s {}", r.at.as_secs_f64(), r.body["status"]))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            got.len(),
            expected.len(),
            "{key:?}: {:?} vs 0.25 {:?}",
            summary(got),
            summary(expected)
        );
        for (index, (got, expected)) in got.iter().zip(expected).enumerate() {
            assert_eq!(
                normalised(&got.body, klaxon_server),
                normalised(&expected.body, reference_server),
                "{key:?} notification {index}"
            );
            let skew = got.at.abs_diff(expected.at);
            assert!(
                skew <= GROUP_INTERVAL,
                "{key:?} notification {index}: {:?} vs 0.25 {:?}",
                got.at,
                expected.at
            );
        }
    }
    assert!(!reference.is_empty());
}
