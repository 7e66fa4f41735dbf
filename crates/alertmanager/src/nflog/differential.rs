//! Differential test against the real Alertmanager 0.25 binary: group keys, alert hashes,
//! receiver tuples and expiry as 0.25 writes them into its `nflog` snapshot, and the
//! `groupKey` its webhooks carry, must equal what Klaxon computes for the same routing tree and
//! alerts; and re-encoding the snapshot must give back its exact bytes. Group keys appear in no
//! API, so the test runs a webhook sink, waits for the notifications, stops the binary with
//! SIGTERM (which writes the snapshot) and decodes the file.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use model::{LabelSet, MatchType, Matcher, parse_matchers};
use serde_json::{Value, json};

use super::NotificationLog;
use super::nflogpb::{self, Receiver};
use crate::config;
use crate::dispatch::dedup::needs_update;
use crate::dispatch::group_key::aggregation_group_key;
use crate::dispatch::route::Route;

const BINARY: &str = "/usr/bin/prometheus-alertmanager";
/// Its own loopback address, so it never races other differential tests for ports.
const HOST: &str = "127.0.0.15";
/// Each test takes its own half of the range: a runner that puts tests in separate
/// processes (nextest) would otherwise let them race for the same free port.
type Ports = std::ops::RangeInclusive<u16>;
const PORTS_FORWARD: Ports = 25093..=25145;
const PORTS_REVERSE: Ports = 25146..=25199;
const RETENTION: Duration = Duration::from_secs(90 * 60);

/// The tests share the data directory name and the machine's two cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn sink_receiver() -> Receiver {
    Receiver::new("sink", "webhook", 0)
}

/// The routing tree under test. Route matchers need escaping (`"`, `\`, newline), a child
/// with `group_by: []` inherits, `...` groups by everything, and the root's `a`/`a1` grouping
/// exercises 0.25's whole-string sort of group labels.
const CONFIG: &str = r#"
route:
  receiver: sink
  group_by: ['a', 'a1', 'alertname']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: ['team=~"a\"b\\.c"', 'severity=~"crit|warn"']
      group_by: ['...']
      continue: true
    - match:
        service: 'x\y'
      match_re:
        env: 'prod.*'
      group_by: ['service', 'instance']
      repeat_interval: 10m
      routes:
        - matchers: ['zone!="eu\nwest"', 'zone=~".+"']
          group_by: []
    - matchers: ['alertname="Other"']
      group_by: []
receivers:
  - name: sink
    webhook_configs:
      - url: 'http://HOST:PORT/hook'
        send_resolved: true
"#;

/// The same tree, built the way Klaxon's configuration would give it.
fn our_routes() -> Route {
    let parsed = |lines: &[&str]| -> Vec<Matcher> {
        lines.iter().flat_map(|line| parse_matchers(line).unwrap()).collect()
    };
    let names = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<String>>();
    let minutes = |m: u64| Some(Duration::from_secs(m * 60));
    let by_all = config::Route {
        matchers: parsed(&[r#"team=~"a\"b\\.c""#, r#"severity=~"crit|warn""#]),
        group_by: names(&["..."]),
        continue_matching: true,
        ..config::Route::default()
    };
    let zone = config::Route {
        matchers: parsed(&[r#"zone!="eu\nwest""#, r#"zone=~".+""#]),
        group_by: names(&[]),
        ..config::Route::default()
    };
    let service = config::Route {
        matchers: vec![
            Matcher::new(MatchType::Equal, "service", "x\\y").unwrap(),
            config::match_re_matcher("env", "prod.*").unwrap(),
        ],
        group_by: names(&["service", "instance"]),
        repeat_interval: minutes(10),
        routes: vec![zone],
        ..config::Route::default()
    };
    let other = config::Route {
        matchers: parsed(&[r#"alertname="Other""#]),
        group_by: names(&[]),
        ..config::Route::default()
    };
    Route::from_config(&config::Route {
        receiver: Some("sink".to_owned()),
        group_by: names(&["a", "a1", "alertname"]),
        group_wait: Some(Duration::from_secs(1)),
        group_interval: Some(Duration::from_secs(1)),
        repeat_interval: minutes(60),
        routes: vec![by_all, service, other],
        ..config::Route::default()
    })
}

/// Alerts posted firing; see [`resolved_alert`] for the one posted resolved.
fn firing_alerts() -> Vec<LabelSet> {
    vec![
        // Both the `...` route (it continues) and the service route.
        LabelSet::from_pairs([
            ("alertname", "A"),
            ("team", "a\"b.c"),
            ("severity", "crit"),
            ("instance", "i1"),
            ("service", "x\\y"),
            ("env", "prod1"),
        ]),
        // Values Go quotes with escapes: a tab, a quote, non-ASCII, DEL.
        LabelSet::from_pairs([
            ("alertname", "A"),
            ("team", "a\"b.c"),
            ("severity", "warn"),
            ("text", "tab\there \"q\" ünï \u{7f}"),
        ]),
        LabelSet::from_pairs([
            ("alertname", "B"),
            ("service", "x\\y"),
            ("env", "prod2"),
            ("zone", "us"),
            ("instance", "i2"),
        ]),
        LabelSet::from_pairs([("alertname", "Other"), ("a", "1"), ("a1", "2")]),
        LabelSet::from_pairs([("alertname", "Root"), ("a", "x")]),
    ]
}

/// Joins the root group of `Root` after it exists, so that group's first flush (which a
/// long-started alert would trigger at once) carries both.
fn resolved_alert() -> LabelSet {
    LabelSet::from_pairs([("alertname", "Root"), ("a", "x"), ("b", "r")])
}

/// What one group's nflog entry should hold.
#[derive(Debug, Default, PartialEq, Eq)]
struct Expected {
    firing: BTreeSet<u64>,
    resolved: BTreeSet<u64>,
    lifetime: Duration,
}

/// Group key to expected entry, from Klaxon's routing, group keys and alert hashes.
fn expected_groups() -> BTreeMap<String, Expected> {
    let routes = our_routes();
    let retention = NotificationLog::new(RETENTION);
    let mut groups: BTreeMap<String, Expected> = BTreeMap::new();
    let all = firing_alerts().into_iter().map(|l| (l, false));
    for (labels, resolved) in all.chain([(resolved_alert(), true)]) {
        for route in routes.matching(&labels) {
            let group = groups.entry(route.group_key_for(&labels)).or_default();
            group.lifetime = retention.lifetime(2 * route.options.repeat_interval);
            let set = if resolved { &mut group.resolved } else { &mut group.firing };
            set.insert(labels.alert_hash());
        }
    }
    groups
}

/// A webhook endpoint recording request bodies; stopped and joined when dropped.
struct Sink {
    port: u16,
    bodies: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sink {
    fn start(mut ports: Ports) -> Sink {
        let (port, listener) = ports
            .find_map(|port| TcpListener::bind((HOST, port)).ok().map(|l| (port, l)))
            .expect("no free port for the webhook sink");
        listener.set_nonblocking(true).unwrap();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_bodies, thread_stop) = (bodies.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !thread_stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if let Some(body) = answer_request(stream) {
                            thread_bodies.lock().unwrap().push(body);
                        }
                    }
                    Err(error) if error.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(error) => panic!("webhook sink: {error}"),
                }
            }
        });
        Sink { port, bodies, stop, thread: Some(thread) }
    }

    fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one HTTP request with a `Content-Length` body, answers 200 and closes.
fn answer_request(mut stream: TcpStream) -> Option<String> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut raw = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head_len, body_len) = loop {
        let read = stream.read(&mut chunk).ok()?;
        if read == 0 {
            return None;
        }
        raw.extend_from_slice(&chunk[..read]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (end + 4, length);
        }
    };
    while raw.len() < head_len + body_len {
        let read = stream.read(&mut chunk).ok()?;
        if read == 0 {
            return None;
        }
        raw.extend_from_slice(&chunk[..read]);
    }
    let reply = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    stream.write_all(reply.as_bytes()).ok()?;
    Some(String::from_utf8_lossy(&raw[head_len..head_len + body_len]).into_owned())
}

/// The running binary; killed by PID and its data removed when dropped.
struct Alertmanager {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Alertmanager {
    /// Starts the binary with `nflog` as its notification log snapshot when given.
    fn start(mut ports: Ports, sink_port: u16, nflog: Option<&[u8]>) -> Alertmanager {
        assert!(
            std::path::Path::new(BINARY).exists(),
            "{BINARY} is missing: the nflog differential test needs Alertmanager 0.25"
        );
        let port = ports
            .find(|&port| port != sink_port && TcpListener::bind((HOST, port)).is_ok())
            .expect("no free port for alertmanager");
        let dir = std::env::temp_dir().join(format!("klaxon-nflog-diff-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        if let Some(nflog) = nflog {
            std::fs::write(dir.join("nflog"), nflog).unwrap();
        }
        let config_text = CONFIG.replace("HOST", HOST).replace("PORT", &sink_port.to_string());
        std::fs::write(dir.join("alertmanager.yml"), config_text).unwrap();
        let child = Command::new(BINARY)
            .arg(format!("--config.file={}", dir.join("alertmanager.yml").display()))
            .arg(format!("--storage.path={}", dir.display()))
            .arg(format!("--web.listen-address={HOST}:{port}"))
            .arg("--cluster.listen-address=")
            .arg("--data.retention=90m")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting alertmanager");
        let am = Alertmanager { child, dir, port };
        wait_for("alertmanager to become ready", Duration::from_secs(20), || {
            am.request("GET", "/-/ready", None).is_some_and(|(status, _)| status == 200)
        });
        am
    }

    /// One HTTP/1.1 request with `Connection: close`; returns status and body.
    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect((HOST, self.port)).ok()?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).ok()?;
        stream.write_all(body.as_bytes()).ok()?;
        let mut raw = String::new();
        stream.read_to_string(&mut raw).ok()?;
        let (head, body) = raw.split_once("\r\n\r\n")?;
        Some((head.split(' ').nth(1)?.parse().ok()?, body.to_owned()))
    }

    fn post_alerts(&self, alerts: &[Value]) {
        let (status, body) =
            self.request("POST", "/api/v2/alerts", Some(&Value::from(alerts.to_vec()))).unwrap();
        assert_eq!(status, 200, "posting alerts: {body}");
    }

    /// SIGTERM, on which 0.25 writes its final snapshot; returns the `nflog` file.
    fn stop_and_read_nflog(&mut self) -> Vec<u8> {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        wait_for("alertmanager to exit", Duration::from_secs(20), || {
            self.child.try_wait().unwrap().is_some()
        });
        std::fs::read(self.dir.join("nflog")).expect("alertmanager wrote no nflog snapshot")
    }
}

/// Polls `done` every 50ms; panics naming `what` once `limit` has passed.
fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn alert_json(labels: &LabelSet, resolved: bool) -> Value {
    let mut alert = json!({ "labels": labels });
    if resolved {
        let at = |minutes: i64| {
            (Utc::now() - chrono::Duration::minutes(minutes))
                .to_rfc3339_opts(SecondsFormat::Millis, true)
        };
        alert["startsAt"] = at(10).into();
        alert["endsAt"] = at(1).into();
    }
    alert
}

/// The `groupKey` of every webhook body received.
fn webhook_group_keys(sink: &Sink) -> BTreeSet<String> {
    let keys = sink.bodies().into_iter().map(|body| {
        let body: Value = serde_json::from_str(&body).expect("webhook body is JSON");
        assert_eq!(body["receiver"], "sink");
        body["groupKey"].as_str().expect("webhook body has a groupKey").to_owned()
    });
    keys.collect()
}

/// Posts the firing alerts, then the resolved one once its group exists.
fn post_all_alerts(am: &Alertmanager) {
    let firing: Vec<Value> = firing_alerts().iter().map(|l| alert_json(l, false)).collect();
    am.post_alerts(&firing);
    std::thread::sleep(Duration::from_millis(300));
    am.post_alerts(&[alert_json(&resolved_alert(), true)]);
}

/// The snapshot's entries by group key, in the shape of [`expected_groups`].
fn snapshot_groups(entries: &[nflogpb::MeshEntry]) -> BTreeMap<String, Expected> {
    let mut groups = BTreeMap::new();
    for mesh_entry in entries {
        let entry = mesh_entry.entry.as_ref().unwrap();
        assert_eq!(entry.receiver, Some(sink_receiver()));
        let key = String::from_utf8(entry.group_key.clone()).unwrap();
        let lifetime = (mesh_entry.expires() - entry.time()).to_std().unwrap();
        let firing = entry.firing_alerts.iter().copied().collect();
        let resolved = entry.resolved_alerts.iter().copied().collect();
        groups.insert(key, Expected { firing, resolved, lifetime });
    }
    groups
}

#[test]
fn nflog_snapshot_and_group_keys_agree_with_alertmanager_025() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let expected = expected_groups();
    assert_eq!(expected.len(), 6, "{expected:#?}");
    let sink = Sink::start(PORTS_FORWARD);
    let mut am = Alertmanager::start(PORTS_FORWARD, sink.port, None);
    post_all_alerts(&am);
    wait_for("a webhook per group", Duration::from_secs(30), || {
        webhook_group_keys(&sink).len() >= expected.len()
    });
    let expected_keys: BTreeSet<String> = expected.keys().cloned().collect();
    assert_eq!(webhook_group_keys(&sink), expected_keys);

    let snapshot = am.stop_and_read_nflog();
    let entries = nflogpb::decode_stream(&snapshot).expect("0.25's nflog decodes");
    assert_eq!(nflogpb::encode_stream(&entries), snapshot, "re-encoding changes the bytes");
    assert_eq!(snapshot_groups(&entries), expected);

    // Our dedup, fed 0.25's entries, agrees nothing more is due for the same alerts, and
    // that one more firing alert is.
    let mut log = NotificationLog::new(RETENTION);
    log.load_snapshot(&snapshot).unwrap();
    for (key, group) in &expected {
        let entry = log.query(&sink_receiver(), key).unwrap();
        let firing: HashSet<u64> = group.firing.iter().copied().collect();
        let resolved: HashSet<u64> = group.resolved.iter().copied().collect();
        let (repeat, now) = (Duration::from_secs(600), entry.time());
        assert!(!needs_update(Some(entry), &firing, &resolved, repeat, true, now), "{key}");
        let more: HashSet<u64> = firing.iter().copied().chain([42]).collect();
        assert!(needs_update(Some(entry), &more, &resolved, repeat, true, now), "{key}");
    }
}

/// The other direction: a snapshot Klaxon writes, keyed and hashed by Klaxon, makes 0.25
/// treat those groups as already notified. One group is left out as the control, which 0.25
/// must notify; the others must stay silent and keep our entries byte for byte.
#[test]
fn nflog_klaxon_snapshot_suppresses_alertmanager_025_notifications() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let expected = expected_groups();
    let control =
        aggregation_group_key("{}", &LabelSet::from_pairs([("a", "x"), ("alertname", "Root")]));
    assert!(expected.contains_key(&control), "{control}");
    let mut ours = NotificationLog::new(RETENTION);
    let now = Utc::now();
    for (key, group) in expected.iter().filter(|(key, _)| **key != control) {
        let firing = group.firing.iter().copied().collect();
        let resolved = group.resolved.iter().copied().collect();
        assert!(ours.log(&sink_receiver(), key, firing, resolved, now, group.lifetime));
    }
    let sink = Sink::start(PORTS_REVERSE);
    let mut am = Alertmanager::start(PORTS_REVERSE, sink.port, Some(&ours.snapshot()));
    post_all_alerts(&am);
    wait_for("the control group's webhook", Duration::from_secs(30), || {
        webhook_group_keys(&sink).contains(&control)
    });
    // Every group flushed together with the control; give the rest several more intervals.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(webhook_group_keys(&sink), BTreeSet::from([control.clone()]));

    let entries = nflogpb::decode_stream(&am.stop_and_read_nflog()).unwrap();
    assert_eq!(entries.len(), expected.len());
    for mesh_entry in entries {
        let entry = mesh_entry.entry.as_ref().unwrap();
        let key = std::str::from_utf8(&entry.group_key).unwrap();
        if key != control {
            let written = ours.entries().find(|ours| ours.entry.as_ref() == Some(entry));
            assert_eq!(written, Some(&mesh_entry), "{key}");
        }
    }
}
