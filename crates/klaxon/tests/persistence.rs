//! Persistence end to end: silences created through the API, and accepted alerts (appended
//! to the alert log, and folded into the alerts table by the maintenance snapshot), survive
//! SIGKILL and SIGTERM restarts with the SQLite default and with PostgreSQL
//! (`--storage.url`). Addresses 127.0.0.50-59.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{ScratchDir, request};

const CONFIG: &str = "route:\n  receiver: default\nreceivers:\n  - name: default\n";
const SILENCES: usize = 20;
const READY_DEADLINE: Duration = Duration::from_secs(20);
const EXIT_DEADLINE: Duration = Duration::from_secs(15);

/// A Klaxon (or Alertmanager) process on a data directory that outlives it, killed by PID
/// on drop. Its configuration is `<data>/alertmanager.yml`, a minimal one unless the test
/// wrote its own there first.
pub(crate) struct Klaxon {
    child: Child,
    pub(crate) url: String,
}

impl Klaxon {
    pub(crate) fn start(address: &str, data: &Path, extra: &[String]) -> Klaxon {
        Klaxon::start_program(Path::new(env!("CARGO_BIN_EXE_klaxon")), address, data, extra)
    }

    fn start_program(program: &Path, address: &str, data: &Path, extra: &[String]) -> Klaxon {
        let config = data.join("alertmanager.yml");
        if !config.exists() {
            std::fs::write(&config, CONFIG).expect("write config");
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data.join("server.log"))
            .expect("open log");
        let child = Command::new(program)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", data.display()))
            .arg(format!("--web.listen-address={address}"))
            .arg("--cluster.listen-address=")
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start klaxon");
        let klaxon = Klaxon { child, url: format!("http://{address}") };
        klaxon.wait_ready(data);
        klaxon
    }

    fn wait_ready(&self, data: &Path) {
        let started = Instant::now();
        let address = self.url.trim_start_matches("http://");
        while started.elapsed() < READY_DEADLINE {
            if std::net::TcpStream::connect(address).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let log = std::fs::read_to_string(data.join("server.log")).unwrap_or_default();
        panic!("klaxon at {address} not listening within {READY_DEADLINE:?}; log:\n{log}");
    }

    /// Sends `signal` and waits (bounded) for the process to end.
    pub(crate) fn stop(mut self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
        let started = Instant::now();
        while started.elapsed() < EXIT_DEADLINE {
            if self.child.try_wait().expect("wait for klaxon").is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("klaxon did not exit within {EXIT_DEADLINE:?} after SIG{signal}");
    }
}

impl Drop for Klaxon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn silence_body(index: usize) -> String {
    serde_json::json!({
        "matchers": [
            {"name": "alertname", "value": format!("Alert{index}"), "isRegex": false, "isEqual": true},
            {"name": "job", "value": "node.*", "isRegex": true, "isEqual": index.is_multiple_of(2)},
        ],
        "startsAt": "2030-01-01T00:00:00.000Z",
        "endsAt": format!("2030-01-02T00:00:{:02}.000Z", index),
        "createdBy": format!("tester{index}"),
        "comment": format!("persistence test silence {index} ✓"),
    })
    .to_string()
}

/// All silences, sorted by id, as the API lists them.
pub(crate) async fn listing(client: &reqwest::Client, url: &str) -> Vec<serde_json::Value> {
    let reply = request(client, "GET", &format!("{url}/api/v2/silences"), None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let mut silences = reply.json().and_then(|v| v.as_array().cloned()).expect("a JSON array");
    silences.sort_by_key(|s| s["id"].as_str().unwrap_or_default().to_owned());
    silences
}

/// Creates the silences (and expires one, which is also a change to keep), stops Klaxon
/// with `signal`, restarts it on the same data and compares the listings.
async fn survives_restart(address: &str, signal: &str, extra: &[String]) {
    let data = ScratchDir::new("persistence");
    let client = reqwest::Client::new();
    let klaxon = Klaxon::start(address, &data.0, extra);
    let mut ids = Vec::new();
    for index in 0..SILENCES {
        let url = format!("{}/api/v2/silences", klaxon.url);
        let reply = request(&client, "POST", &url, Some(&silence_body(index))).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        ids.push(reply.json().unwrap()["silenceID"].as_str().unwrap().to_owned());
    }
    let expire = format!("{}/api/v2/silence/{}", klaxon.url, ids[3]);
    assert_eq!(request(&client, "DELETE", &expire, None).await.status, 200);
    let before = listing(&client, &klaxon.url).await;
    assert_eq!(before.len(), SILENCES);
    klaxon.stop(signal);

    let klaxon = Klaxon::start(address, &data.0, extra);
    // A new client: the old one's pooled connections went with the old process.
    let after = listing(&reqwest::Client::new(), &klaxon.url).await;
    assert_eq!(after, before, "silences differ after SIG{signal} and restart");
    klaxon.stop("TERM");
}

#[tokio::test]
async fn sqlite_silences_survive_sigkill() {
    survives_restart("127.0.0.50:19093", "KILL", &[]).await;
}

#[tokio::test]
async fn sqlite_silences_survive_sigterm() {
    survives_restart("127.0.0.51:19093", "TERM", &[]).await;
}

/// A fresh PostgreSQL database, dropped on drop.
pub(crate) struct Database {
    pub(crate) name: String,
}

impl Database {
    pub(crate) fn create() -> Database {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("klaxon_persistence_{}_{n}", std::process::id());
        psql("test", &format!("CREATE DATABASE {name}"));
        Database { name }
    }

    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        psql("test", &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

/// Runs one statement on the test server; fails loudly when PostgreSQL is not there.
pub(crate) fn psql(database: &str, statement: &str) {
    let output = Command::new(crate::support::require_program("psql"))
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1"])
        .arg("-c")
        .arg(statement)
        .output()
        .expect("run psql");
    assert!(
        output.status.success(),
        "psql {statement:?} failed (PostgreSQL on 127.0.0.1:5432 is required; run scripts/setup.sh): {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn postgres_silences_survive_sigkill() {
    let database = Database::create();
    survives_restart("127.0.0.52:19093", "KILL", &[format!("--storage.url={}", database.url())])
        .await;
}

#[tokio::test]
async fn postgres_silences_survive_sigterm() {
    let database = Database::create();
    survives_restart("127.0.0.53:19093", "TERM", &[format!("--storage.url={}", database.url())])
        .await;
}

/// Silences made on a real Alertmanager 0.25, snapshotted by its graceful shutdown, imported
/// with `klaxon import-alertmanager` and served by Klaxon exactly as Alertmanager served them.
#[tokio::test]
async fn imports_alertmanager_snapshots() {
    let alertmanager = crate::support::require_program("prometheus-alertmanager");
    let am_data = ScratchDir::new("persistence-am");
    let klaxon_data = ScratchDir::new("persistence-import");
    let client = reqwest::Client::new();
    let am = Klaxon::start_program(&alertmanager, "127.0.0.58:19093", &am_data.0, &[]);
    for index in 0..5 {
        let url = format!("{}/api/v2/silences", am.url);
        let reply = request(&client, "POST", &url, Some(&silence_body(index))).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let before = listing(&client, &am.url).await;
    am.stop("TERM");
    assert!(am_data.0.join("silences").is_file(), "Alertmanager wrote no snapshot");

    let output = Command::new(env!("CARGO_BIN_EXE_klaxon"))
        .arg("import-alertmanager")
        .arg(&am_data.0)
        .arg(format!("--storage.path={}", klaxon_data.0.display()))
        .output()
        .expect("run import");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("silences: 5 imported"), "{stdout}");

    let klaxon = Klaxon::start("127.0.0.59:19093", &klaxon_data.0, &[]);
    assert_eq!(listing(&client, &klaxon.url).await, before);
    klaxon.stop("TERM");

    // Klaxon started in Alertmanager's place, on its data directory, imports by itself.
    let klaxon = Klaxon::start("127.0.0.59:19093", &am_data.0, &[]);
    assert_eq!(listing(&reqwest::Client::new(), &klaxon.url).await, before);
    klaxon.stop("TERM");
}

/// A write the store refuses is answered with 500, never acknowledged; once the store is back
/// the next change is stored and survives a restart.
#[tokio::test]
async fn failed_writes_answer_500() {
    let database = Database::create();
    let extra = [format!("--storage.url={}", database.url())];
    let data = ScratchDir::new("persistence-fail");
    let client = reqwest::Client::new();
    let klaxon = Klaxon::start("127.0.0.54:19093", &data.0, &extra);
    let url = format!("{}/api/v2/silences", klaxon.url);
    psql(&database.name, "ALTER TABLE silences RENAME TO silences_away");
    let reply = request(&client, "POST", &url, Some(&silence_body(0))).await;
    assert_eq!(reply.status, 500, "{}", reply.text);
    assert!(reply.text.contains("storing the silence change failed"), "{}", reply.text);
    psql(&database.name, "ALTER TABLE silences_away RENAME TO silences");
    let reply = request(&client, "POST", &url, Some(&silence_body(1))).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let id = reply.json().unwrap()["silenceID"].as_str().unwrap().to_owned();
    klaxon.stop("KILL");
    let klaxon = Klaxon::start("127.0.0.54:19093", &data.0, &extra);
    let after = listing(&reqwest::Client::new(), &klaxon.url).await;
    assert!(after.iter().any(|s| s["id"] == id.as_str()), "{after:?}");
    klaxon.stop("TERM");
}

/// Firing alerts as `GET /api/v2/alerts` lists them, by fingerprint, without the fields a
/// restart legitimately changes (`updatedAt`, the receivers' status).
async fn firing_alerts(client: &reqwest::Client, url: &str) -> Vec<serde_json::Value> {
    let reply = request(client, "GET", &format!("{url}/api/v2/alerts"), None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let mut alerts = reply.json().and_then(|v| v.as_array().cloned()).expect("a JSON array");
    for alert in &mut alerts {
        let alert = alert.as_object_mut().expect("an alert object");
        alert.retain(|field, _| {
            ["fingerprint", "labels", "annotations", "startsAt", "endsAt", "generatorURL"]
                .contains(&field.as_str())
        });
    }
    alerts.sort_by_key(|a| a["fingerprint"].as_str().unwrap_or_default().to_owned());
    alerts
}

fn alert_batch(first: usize, count: usize, ends_at: &str) -> String {
    let alerts: Vec<serde_json::Value> = (first..first + count)
        .map(|index| {
            serde_json::json!({
                "labels": {"alertname": "Stored", "instance": format!("host-{index}")},
                "annotations": {"summary": format!("alert {index} ✓")},
                "startsAt": "2026-01-01T00:00:00.000+02:00",
                "endsAt": ends_at,
                "generatorURL": "http://prometheus/graph",
            })
        })
        .collect();
    serde_json::Value::Array(alerts).to_string()
}

/// The number of segments the alert journal of a SQLite store holds.
fn journal_segments(data: &Path) -> usize {
    std::fs::read_dir(data.join("klaxon.db-alert-journal"))
        .expect("the alert journal directory")
        .count()
}

/// Alerts posted before and after a maintenance snapshot (which folds the alert log into the
/// alerts table), some of them re-posted with a later end, are all listed as they were
/// after `signal` and a restart. On SQLite the test also sees the journal emptied by the fold.
async fn alerts_survive_restart(address: &str, signal: &str, extra: &[String], sqlite: bool) {
    let data = ScratchDir::new("persistence-alerts");
    let client = reqwest::Client::new();
    let mut extra = extra.to_vec();
    extra.push("--data.maintenance-interval=1s".to_owned());
    let klaxon = Klaxon::start(address, &data.0, &extra);
    let post = |body: String| {
        let url = format!("{}/api/v2/alerts", klaxon.url);
        let client = client.clone();
        async move {
            let reply = request(&client, "POST", &url, Some(&body)).await;
            assert_eq!(reply.status, 200, "{}", reply.text);
        }
    };
    post(alert_batch(0, 150, "2030-01-01T00:00:00.000Z")).await;
    if sqlite {
        let started = Instant::now();
        while journal_segments(&data.0) > 0 {
            assert!(started.elapsed() < READY_DEADLINE, "the alert journal was never folded");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // After the fold: new alerts, and alerts of the table kept alive by a later end.
    post(alert_batch(100, 100, "2031-06-01T12:00:00.000-03:00")).await;
    let before = firing_alerts(&client, &klaxon.url).await;
    assert_eq!(before.len(), 200);
    klaxon.stop(signal);

    let klaxon = Klaxon::start(address, &data.0, &extra);
    let after = firing_alerts(&reqwest::Client::new(), &klaxon.url).await;
    assert_eq!(after, before, "alerts differ after SIG{signal} and restart");
    klaxon.stop("TERM");
}

#[tokio::test]
async fn sqlite_alerts_survive_sigkill() {
    alerts_survive_restart("127.0.0.55:19093", "KILL", &[], true).await;
}

#[tokio::test]
async fn postgres_alerts_survive_sigkill() {
    let database = Database::create();
    let extra = [format!("--storage.url={}", database.url())];
    alerts_survive_restart("127.0.0.56:19093", "KILL", &extra, false).await;
}

/// The number of rows of the alerts table of a SQLite store.
fn alert_table_rows(data: &Path) -> usize {
    let output = Command::new(crate::support::require_program("python3"))
        .arg("-c")
        .arg(
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); \
             print(c.execute('SELECT count(*) FROM alerts').fetchone()[0])",
        )
        .arg(data.join("klaxon.db"))
        .output()
        .expect("count alert rows");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().parse().expect("a count")
}

/// A journal grown past `--storage.alert-journal-fold-bytes` is folded into the alerts table
/// long before the next maintenance (15 minutes here), and what it held survives a SIGKILL.
#[tokio::test]
async fn sqlite_alert_journal_folds_early_when_it_grows() {
    let data = ScratchDir::new("persistence-early-fold");
    let extra = ["--storage.alert-journal-fold-bytes=1000".to_owned()];
    let klaxon = Klaxon::start("127.0.0.57:19093", &data.0, &extra);
    let client = reqwest::Client::new();
    let url = format!("{}/api/v2/alerts", klaxon.url);
    let reply =
        request(&client, "POST", &url, Some(&alert_batch(0, 50, "2030-01-01T00:00:00.000Z"))).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let started = Instant::now();
    while alert_table_rows(&data.0) < 50 || journal_segments(&data.0) > 0 {
        assert!(started.elapsed() < READY_DEADLINE, "the alert journal was not folded early");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = firing_alerts(&client, &klaxon.url).await;
    klaxon.stop("KILL");
    let klaxon = Klaxon::start("127.0.0.57:19093", &data.0, &extra);
    // A new client: the old one's pooled connection went with the killed process.
    assert_eq!(firing_alerts(&reqwest::Client::new(), &klaxon.url).await, before);
    klaxon.stop("TERM");
}
