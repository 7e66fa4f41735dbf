//! A restart, graceful or SIGKILL, neither repeats a notification already delivered within
//! `repeat_interval` nor loses a resolved notification: the notification log and the alerts
//! are stored, so the restarted instance knows which groups it notified with which alerts.
//!
//! Each instance has its own receiver (`sink<n>`, a webhook to `/i<n>` on a loopback sink
//! in this test) and gets the same alerts: a group that stays firing (`Steady`) and one that
//! resolves (`Resolving`). Once both were notified, `Resolving` is resolved through the API
//! and the instances are stopped before their next group tick (`group_interval` is 30 s),
//! so the resolved notification is still owed; then they are restarted on their data.
//! Addresses 127.0.0.138-147.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::Uri;
use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::persistence::{Database, Klaxon, listing};
use crate::support::{ScratchDir, request, require_program};

const DEADLINE: Duration = Duration::from_secs(30);

/// Notifications received, by webhook path.
#[derive(Clone, Default)]
struct Sink {
    received: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Sink {
    async fn start(address: &str) -> Sink {
        let sink = Sink::default();
        let record = sink.received.clone();
        let router = axum::Router::new().fallback(move |uri: Uri, body: Bytes| {
            let record = record.clone();
            async move {
                let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                record.lock().unwrap().push((uri.path().to_owned(), body));
                "ok"
            }
        });
        let listener = tokio::net::TcpListener::bind(address).await.expect("bind sink");
        // Lives as long as the test's runtime.
        tokio::spawn(async move { axum::serve(listener, router).await });
        sink
    }

    /// How many notifications `path` got for the group of `alertname` with `status`.
    fn count(&self, path: &str, alertname: &str, status: &str) -> usize {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, body)| {
                p == path
                    && body["groupLabels"]["alertname"] == alertname
                    && body["status"] == status
            })
            .count()
    }

    async fn wait_for(&self, path: &str, alertname: &str, status: &str) {
        let started = Instant::now();
        while self.count(path, alertname, status) == 0 {
            assert!(
                started.elapsed() < DEADLINE,
                "{path} got no {status} notification for {alertname} within {DEADLINE:?}: {:?}",
                self.received.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn config(sink: &str, index: usize) -> String {
    format!(
        "route:\n  receiver: sink{index}\n  group_by: [alertname]\n  group_wait: 1s\n  \
         group_interval: 30s\n  repeat_interval: 1h\nreceivers:\n  - name: sink{index}\n    \
         webhook_configs: [{{url: 'http://{sink}/i{index}', send_resolved: true}}]\n"
    )
}

fn alert(name: &str, resolved: bool) -> Value {
    let now = Utc::now();
    let ends = if resolved { now } else { now + chrono::Duration::hours(1) };
    json!({
        "labels": {"alertname": name, "instance": "host-1"},
        "annotations": {"summary": format!("{name} on host-1")},
        "startsAt": (now - chrono::Duration::minutes(1)).to_rfc3339_opts(SecondsFormat::Millis, true),
        "endsAt": ends.to_rfc3339_opts(SecondsFormat::Millis, true),
    })
}

async fn post_alerts(client: &reqwest::Client, url: &str, alerts: Value) {
    let url = format!("{url}/api/v2/alerts");
    let reply = request(client, "POST", &url, Some(&alerts.to_string())).await;
    assert_eq!(reply.status, 200, "{url}: {}", reply.text);
}

/// Where the test reads how many notification-log entries are stored (each instance writes
/// one per group after a delivery; the test waits for them before stopping anything, since
/// a delivery whose log entry was not stored yet may be repeated: at least once, by design).
enum Backend<'a> {
    Sqlite(&'a Path),
    Postgres(&'a str),
}

impl Backend<'_> {
    fn stored_nflog_entries(&self) -> usize {
        let output = match self {
            Backend::Sqlite(data) => Command::new(require_program("python3"))
                .arg("-c")
                .arg(
                    "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); \
                     print(c.execute('SELECT count(*) FROM nflog').fetchone()[0])",
                )
                .arg(data.join("klaxon.db"))
                .output(),
            Backend::Postgres(database) => Command::new(require_program("psql"))
                .args(["-h", "127.0.0.1", "-U", "postgres", "-tA", "-d", database])
                .args(["-c", "SELECT count(*) FROM nflog"])
                .output(),
        }
        .expect("count stored nflog entries");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().parse().expect("a count")
    }

    async fn wait_nflog_entries(&self, expected: usize) {
        let started = Instant::now();
        while self.stored_nflog_entries() < expected {
            assert!(started.elapsed() < DEADLINE, "notification log not stored in time");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The scenario on `addresses` (one instance each, with its own data directory and the
/// store `extra` names), stopped with `signal` all at once.
async fn restart_keeps_notification_state(
    sink_address: &str,
    addresses: &[&str],
    extra: &[String],
    signal: &str,
    postgres_database: Option<&str>,
) {
    let sink = Sink::start(sink_address).await;
    let client = reqwest::Client::new();
    let dirs: Vec<ScratchDir> = addresses.iter().map(|_| ScratchDir::new("restart-nf")).collect();
    for (index, dir) in dirs.iter().enumerate() {
        dir.write("alertmanager.yml", &config(sink_address, index));
    }
    let start_all = || -> Vec<Klaxon> {
        addresses
            .iter()
            .zip(&dirs)
            .map(|(address, dir)| Klaxon::start(address, &dir.0, extra))
            .collect()
    };
    let instances = start_all();
    let mut silence_ids = Vec::new();
    for (index, instance) in instances.iter().enumerate() {
        let body = json!({
            "matchers": [{"name": "alertname", "value": format!("Quiet{index}"), "isRegex": false}],
            "startsAt": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            "endsAt": (Utc::now() + chrono::Duration::hours(2)).to_rfc3339_opts(SecondsFormat::Millis, true),
            "createdBy": "restart test",
            "comment": format!("made on instance {index}"),
        });
        let url = format!("{}/api/v2/silences", instance.url);
        let reply = request(&client, "POST", &url, Some(&body.to_string())).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        silence_ids.push(reply.json().unwrap()["silenceID"].as_str().unwrap().to_owned());
    }
    for instance in &instances {
        post_alerts(
            &client,
            &instance.url,
            json!([alert("Steady", false), alert("Resolving", false)]),
        )
        .await;
    }
    for index in 0..instances.len() {
        let path = format!("/i{index}");
        sink.wait_for(&path, "Steady", "firing").await;
        sink.wait_for(&path, "Resolving", "firing").await;
    }
    // Instances sharing a database store one entry per receiver and group.
    let backend = match postgres_database {
        Some(name) => Backend::Postgres(name),
        None => Backend::Sqlite(&dirs[0].0),
    };
    backend.wait_nflog_entries(2 * instances.len()).await;

    // Resolved before the stop; its notification is due at the next tick, 30 s away.
    for instance in &instances {
        post_alerts(&client, &instance.url, json!([alert("Resolving", true)])).await;
    }
    for instance in instances {
        instance.stop(signal);
    }
    for index in 0..dirs.len() {
        let path = format!("/i{index}");
        assert_eq!(
            sink.count(&path, "Resolving", "resolved"),
            0,
            "the resolved notification went out before the stop: the machine is too slow for \
             this test's 30 s group interval"
        );
    }

    let instances = start_all();
    // The restored groups flush at once, both in the same dispatcher turn: by the time the
    // resolved notification arrives, the Steady group has been checked against the log too.
    for index in 0..instances.len() {
        sink.wait_for(&format!("/i{index}"), "Resolving", "resolved").await;
    }
    let client = reqwest::Client::new();
    let first = listing(&client, &instances[0].url).await;
    for id in &silence_ids {
        assert!(first.iter().any(|s| s["id"] == id.as_str()), "silence {id} lost: {first:?}");
    }
    for instance in &instances {
        assert_eq!(listing(&client, &instance.url).await, first, "{}", instance.url);
    }
    for instance in instances {
        instance.stop("TERM");
    }
    for index in 0..dirs.len() {
        let path = format!("/i{index}");
        assert_eq!(sink.count(&path, "Steady", "firing"), 1, "{path}: Steady notified again");
        assert_eq!(sink.count(&path, "Resolving", "firing"), 1, "{path}: Resolving notified again");
        assert_eq!(sink.count(&path, "Resolving", "resolved"), 1, "{path}: resolved count");
    }
}

/// Three instances on one PostgreSQL, all SIGKILLed at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_cluster_sigkill_on_shared_postgres_keeps_silences_and_notification_state() {
    let database = Database::create();
    let extra = [format!("--storage.url={}", database.url())];
    restart_keeps_notification_state(
        "127.0.0.141:19099",
        &["127.0.0.138:19093", "127.0.0.139:19093", "127.0.0.140:19093"],
        &extra,
        "KILL",
        Some(&database.name),
    )
    .await;
}

/// One instance on its SQLite file, stopped gracefully.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nflog_survives_sigterm_no_renotification() {
    restart_keeps_notification_state(
        "127.0.0.145:19099",
        &["127.0.0.142:19093"],
        &[],
        "TERM",
        None,
    )
    .await;
}

/// One instance on its SQLite file, SIGKILLed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nflog_survives_sigkill_no_renotification() {
    restart_keeps_notification_state(
        "127.0.0.146:19099",
        &["127.0.0.143:19093"],
        &[],
        "KILL",
        None,
    )
    .await;
}
