//! The alert generator: `check-rules` against `promtool check rules`, alerts delivered to a
//! real Alertmanager 0.25, and a differential test of rule evaluation against Prometheus 2.42.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Implementation, ScratchDir, Server, request, require_program};

fn klaxon_bin() -> &'static str {
    env!("CARGO_BIN_EXE_klaxon")
}

/// The line numbers an error report mentions (`12:5:` or `line 12:`), and the rules it
/// names (`group "g", rule 2`).
fn error_summary(stderr: &str) -> (Vec<u64>, Vec<String>) {
    let position = regex::Regex::new(r"(?m)(?:^\S+: (\d+):\d+: )|(?:line (\d+):)").unwrap();
    let rule = regex::Regex::new(r#"group "[^"]*", rule \d+"#).unwrap();
    let mut lines: Vec<u64> = position
        .captures_iter(stderr)
        .filter_map(|c| c.get(1).or(c.get(2)).and_then(|m| m.as_str().parse().ok()))
        .collect();
    lines.sort_unstable();
    lines.dedup();
    let mut rules: Vec<String> = rule.find_iter(stderr).map(|m| m.as_str().to_owned()).collect();
    rules.sort();
    (lines, rules)
}

/// Goal: `klaxon check-rules` judges rule files as `promtool check rules` does.
/// Method: run both on valid and invalid files; compare exit status, standard output, and
/// the lines and rules the errors point at (the wording of PromQL parse errors differs).
#[test]
fn check_rules_agrees_with_promtool() {
    let promtool = require_program("promtool");
    let scratch = ScratchDir::new("check-rules");
    let files = [
        (
            "good.yml",
            "groups:\n  - name: g\n    interval: 5s\n    rules:\n      - alert: A\n        expr: up == 0\n        for: 1m\n        keep_firing_for: 5m\n        labels: {severity: page}\n        annotations: {summary: '{{ $labels.instance }} {{ $value | humanize }}'}\n      - record: job:up:sum\n        expr: sum by (job) (up)\n",
        ),
        (
            "bad-expr.yml",
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up ==\n      - alert: B\n        expr: sum(rate(x[5m])\n",
        ),
        (
            "bad-template.yml",
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations:\n          summary: '{{ $labels.instance'\n",
        ),
        (
            "bad-record.yml",
            "groups:\n  - name: g\n    rules:\n      - record: 'not a name'\n        expr: up\n        for: 1m\n  - name: g\n    rules: []\n",
        ),
        (
            "unknown-field.yml",
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        severity: high\n",
        ),
        (
            "both.yml",
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        record: b\n        expr: up\n",
        ),
    ];
    for (name, text) in files {
        let path = scratch.write(name, text);
        let expected =
            Command::new(&promtool).args(["check", "rules"]).arg(&path).output().unwrap();
        let actual = Command::new(klaxon_bin()).arg("check-rules").arg(&path).output().unwrap();
        assert_eq!(actual.status.code(), expected.status.code(), "{name}");
        assert_eq!(
            String::from_utf8_lossy(&actual.stdout),
            String::from_utf8_lossy(&expected.stdout),
            "{name}"
        );
        let expected_err = String::from_utf8_lossy(&expected.stderr);
        let actual_err = String::from_utf8_lossy(&actual.stderr);
        assert_eq!(
            error_summary(&actual_err),
            error_summary(&expected_err),
            "{name}:\npromtool:\n{expected_err}\nklaxon:\n{actual_err}"
        );
    }
}

/// A rule file with one rule that fires at once on the built-in datasource.
const BUILTIN_RULES: &str = "groups:\n  - name: builtin\n    interval: 1s\n    rules:\n      - alert: Down\n        expr: klaxon_example_up == 0\n        labels: {team: ops}\n        annotations: {summary: '{{ $labels.instance }} is down'}\n";

/// Goal: generated alerts reach this instance's receiver and every external Alertmanager.
/// Method: Klaxon evaluates a rule on the built-in datasource with a real Alertmanager 0.25
/// as `--alertmanager.url`; poll both `/api/v2/alerts` until the alert is there.
#[tokio::test]
async fn alerts_reach_the_own_receiver_and_an_external_alertmanager() {
    let scratch = ScratchDir::new("rules-send");
    let config =
        scratch.write("alertmanager.yml", "route: {receiver: r}\nreceivers: [{name: r}]\n");
    let rules = scratch.write("rules.yml", BUILTIN_RULES);
    let alertmanager =
        Server::start(Implementation::Alertmanager, "127.0.0.93:19093", &config, &[]);
    let klaxon = Server::start(
        Implementation::Klaxon,
        "127.0.0.94:19093",
        &config,
        &[
            &format!("--rules.file={}", rules.display()),
            "--datasource.url=builtin:",
            "--rules.tick-interval=1s",
            &format!("--alertmanager.url={}", alertmanager.url),
        ],
    );
    let client = reqwest::Client::new();
    for server in [&klaxon, &alertmanager] {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let alerts =
                request(&client, "GET", &format!("{}/api/v2/alerts", server.url), None).await;
            let alerts = alerts.json().unwrap_or_default();
            if let Some(alert) = alerts.as_array().and_then(|a| a.first()) {
                assert_eq!(alert["labels"]["alertname"], "Down");
                assert_eq!(alert["labels"]["instance"], "example-b");
                assert_eq!(alert["annotations"]["summary"], "example-b is down");
                assert_eq!(alert["status"]["state"], "active");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no alert in {:?}; klaxon log:\n{}",
                server.implementation,
                klaxon.log_text()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A process killed (by PID) on drop.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The exporter the differential test's Prometheus scrapes: its series are set by the test.
async fn start_exporter(address: &str) -> Arc<Mutex<BTreeMap<String, f64>>> {
    let series: Arc<Mutex<BTreeMap<String, f64>>> = Arc::default();
    let shared = series.clone();
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let shared = shared.clone();
            async move {
                let series = shared.lock().unwrap();
                let mut body = String::from("# TYPE klaxon_test_temperature gauge\n");
                for (room, value) in series.iter() {
                    body.push_str(&format!("klaxon_test_temperature{{room=\"{room}\"}} {value}\n"));
                }
                body
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(address).await.expect("bind exporter");
    tokio::spawn(async move { axum::serve(listener, app).await });
    series
}

/// The rules both evaluate: `for`, `keep_firing_for`, templated labels and annotations.
const DIFFERENTIAL_RULES: &str = r#"groups:
  - name: differential
    interval: 1s
    rules:
      - alert: Warm
        expr: klaxon_test_temperature > 20
        for: 2s
        labels:
          severity: '{{ if gt $value 40.0 }}critical{{ else }}warning{{ end }}'
        annotations:
          summary: 'Room {{ $labels.room }} is at {{ $value | humanize }}'
          description: '{{ $labels.job }} {{ $labels.instance | stripPort }} {{ $value | humanizePercentage }}'
      - alert: Lingering
        expr: klaxon_test_temperature > 0
        for: 10m
        annotations:
          summary: '{{ toUpper $labels.room }}'
      - alert: Sticky
        expr: klaxon_test_temperature > 35
        keep_firing_for: 10m
        labels:
          room_title: '{{ title $labels.room }}'
        annotations:
          summary: '{{ $value | humanizeDuration }}'
      - alert: Cold
        expr: klaxon_test_temperature < 20
        annotations:
          summary: '{{ $labels.room }}: {{ printf "%.1f" $value }}'
"#;

/// One alert of `/api/v1/alerts`: (labels, annotations, state, value) and activeAt.
type View = BTreeMap<String, (String, String, String, f64)>;

async fn alerts_view(client: &reqwest::Client, url: &str) -> Option<View> {
    let reply = client
        .get(format!("{url}/api/v1/alerts"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    let body: Value = reply.json().await.ok()?;
    let mut view = View::new();
    for alert in body["data"]["alerts"].as_array()? {
        let active_at = chrono::DateTime::parse_from_rfc3339(alert["activeAt"].as_str()?).ok()?;
        #[allow(clippy::cast_precision_loss)]
        let active_at = active_at.timestamp_millis() as f64 / 1000.0;
        view.insert(
            alert["labels"].to_string(),
            (
                alert["annotations"].to_string(),
                alert["state"].as_str()?.to_owned(),
                alert["value"].as_str()?.to_owned(),
                active_at,
            ),
        );
    }
    Some(view)
}

/// Everything but activeAt, which may differ by up to an evaluation interval.
fn comparable(view: &View) -> BTreeMap<String, (String, String, String)> {
    view.iter().map(|(k, (a, s, v, _))| (k.clone(), (a.clone(), s.clone(), v.clone()))).collect()
}

/// Goal: Klaxon's rule evaluation agrees with Prometheus' own rule manager.
/// Method: Prometheus 2.42 scrapes a test exporter every second and evaluates a rule file
/// every second; Klaxon evaluates the same file every second by querying that Prometheus.
/// The test walks the exporter through a timeline (series appear, change, disappear); in
/// each phase it waits until Prometheus' `/api/v1/alerts` has changed and then stayed the
/// same for 5 s (longer than every `for` that can complete), then until Klaxon shows the
/// same alerts (labels, annotations, state, value), and checks each activeAt is within one
/// evaluation interval of Prometheus' (plus 250 ms for the two evaluators' query and
/// ingestion latencies, which fall on either side of a tick).
#[tokio::test]
async fn rule_evaluation_agrees_with_prometheus() {
    let prometheus_bin = require_program("prometheus");
    let scratch = ScratchDir::new("rules-differential");
    let rules = scratch.write("rules.yml", DIFFERENTIAL_RULES);
    let exporter_address = "127.0.0.95:19100";
    let prometheus_address = "127.0.0.96:19090";
    let series = start_exporter(exporter_address).await;
    let config = scratch.write(
        "prometheus.yml",
        &format!("global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nrule_files: ['{}']\nscrape_configs:\n  - job_name: exporter\n    static_configs: [{{targets: ['{exporter_address}']}}]\n", rules.display()),
    );
    let log = std::fs::File::create(scratch.0.join("prometheus.log")).unwrap();
    let _prometheus = Process(
        Command::new(prometheus_bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", scratch.0.join("tsdb").display()))
            .arg(format!("--web.listen-address={prometheus_address}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus"),
    );
    let prometheus_url = format!("http://{prometheus_address}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while alerts_view(&client, &prometheus_url).await.is_none() {
        assert!(
            Instant::now() < deadline,
            "Prometheus not up: {}",
            std::fs::read_to_string(scratch.0.join("prometheus.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let am_config =
        scratch.write("alertmanager.yml", "route: {receiver: r}\nreceivers: [{name: r}]\n");
    let klaxon = Server::start(
        Implementation::Klaxon,
        "127.0.0.97:19093",
        &am_config,
        &[
            &format!("--rules.file={}", rules.display()),
            &format!("--datasource.url={prometheus_url}"),
            "--rules.tick-interval=1s",
        ],
    );
    let timeline: [&[(&str, f64)]; 3] =
        [&[("a", 30.0), ("b", 10.0), ("c", 50.0)], &[("a", 5.0), ("b", 40.0)], &[("a", 45.0)]];
    let mut previous = View::new();
    let mut compared = 0;
    for (phase, values) in timeline.iter().enumerate() {
        *series.lock().unwrap() = values.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
        // Prometheus settles: changed from the previous phase, then stable for 5 s.
        let deadline = Instant::now() + Duration::from_secs(40);
        let mut stable_since = Instant::now();
        let mut last = comparable(&previous);
        let settled = loop {
            assert!(
                Instant::now() < deadline,
                "phase {phase}: Prometheus never settled; last view {last:#?}"
            );
            let view = alerts_view(&client, &prometheus_url).await.expect("Prometheus answers");
            let now_comparable = comparable(&view);
            if now_comparable != last {
                last = now_comparable;
                stable_since = Instant::now();
            } else if last != comparable(&previous)
                && stable_since.elapsed() >= Duration::from_secs(5)
            {
                break view;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        // Klaxon shows the same alerts.
        let deadline = Instant::now() + Duration::from_secs(20);
        let ours = loop {
            let view = alerts_view(&client, &klaxon.url).await.expect("Klaxon answers");
            if comparable(&view) == comparable(&settled) {
                break view;
            }
            assert!(
                Instant::now() < deadline,
                "phase {phase}: Klaxon differs.\nPrometheus: {:#?}\nKlaxon: {:#?}\nlog:\n{}",
                comparable(&settled),
                comparable(&view),
                klaxon.log_text()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        for (labels, (.., active_at)) in &ours {
            let theirs = settled[labels].3;
            assert!(
                (active_at - theirs).abs() <= 1.25,
                "phase {phase}: {labels}: activeAt {active_at} vs Prometheus {theirs}"
            );
        }
        compared += ours.len();
        previous = settled;
    }
    assert!(compared >= 15, "the timeline compared only {compared} alerts");
}
