//! The alert generator: `check-rules` against `promtool check rules`, alerts delivered to a
//! real Alertmanager 0.25, and a differential test of rule evaluation against Prometheus 2.42.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{
    Implementation, PostgresSchema, ScratchDir, Server, request, require_program,
};

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
/// as `--alertmanager.url`; poll both `/api/v2/alerts` until the alert is there; the
/// generator's metrics then count evaluations and deliveries.
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
    // The generator's metrics count the evaluations and the delivery (the sent count moves
    // once Alertmanager's answer is read, which may be just after it lists the alert).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = request(&client, "GET", &format!("{}/metrics", klaxon.url), None).await.text;
        let value = |name: &str| -> f64 {
            metrics
                .lines()
                .find(|line| line.starts_with(name))
                .and_then(|line| line.rsplit(' ').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} missing:\n{metrics}"))
        };
        assert_eq!(value("klaxon_rule_notifications_dropped_total{"), 0.0);
        if value("klaxon_rule_group_iterations_total{") >= 1.0
            && value("klaxon_rule_notifications_sent_total{") >= 1.0
        {
            break;
        }
        assert!(Instant::now() < deadline, "metrics never counted the delivery:\n{metrics}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A process killed (by PID) on drop.
pub(crate) struct Process(pub(crate) Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The exporter the differential test's Prometheus scrapes: its series are set by the test.
pub(crate) async fn start_exporter(address: &str) -> Arc<Mutex<BTreeMap<String, f64>>> {
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
  - name: limited
    interval: 1s
    limit: 2
    rules:
      - alert: Crowded
        expr: klaxon_test_temperature > 0
        for: 10m
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

/// Each rule of `/api/v1/rules` as (group, rule) → (state, health, lastError).
async fn rules_view(
    client: &reqwest::Client,
    url: &str,
) -> BTreeMap<String, (Value, Value, Value)> {
    let body = get_json(client, &format!("{url}/api/v1/rules")).await;
    let mut view = BTreeMap::new();
    for group in body["data"]["groups"].as_array().into_iter().flatten() {
        for rule in group["rules"].as_array().into_iter().flatten() {
            view.insert(
                format!("{}/{}", group["name"], rule["name"]),
                (rule["state"].clone(), rule["health"].clone(), rule["lastError"].clone()),
            );
        }
    }
    view
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
/// ingestion latencies, which fall on either side of a tick); then `/api/v1/rules` of both
/// agree on every rule's state, health and last error (a group `limit` is exceeded in the
/// first phase and met later).
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
        // And the rules' state, health and last error (the group limit's error included).
        let theirs = rules_view(&client, &prometheus_url).await;
        assert_eq!(theirs.len(), 5, "{theirs:?}");
        assert_eq!(rules_view(&client, &klaxon.url).await, theirs, "phase {phase}: /api/v1/rules");
        compared += ours.len();
        previous = settled;
    }
    assert!(compared >= 15, "the timeline compared only {compared} alerts");
}

/// The JSON at `url`, or null while the server is not answering (it may be starting).
async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    let Ok(reply) = client.get(url).timeout(Duration::from_secs(5)).send().await else {
        return Value::Null;
    };
    reply.json().await.unwrap_or_default()
}

/// Goal: rule state survives a SIGKILL (a restarted instance neither re-enters pending nor
/// starts a new episode) and the state history records every transition with the id of the
/// instance that evaluated it.
/// Method: an instance fires a rule on the built-in datasource; once the history shows its
/// two transitions it is killed; a second instance on the same store has the alert in its
/// receiver at once (before any resend is due), evaluates the rule again, and its
/// `/api/v1/alerts` shows the same firing alert with the same activeAt; the history holds
/// no transition from it.
#[tokio::test]
async fn rule_state_survives_a_restart_and_history_names_the_instance() {
    let scratch = ScratchDir::new("rules-restart");
    let config =
        scratch.write("alertmanager.yml", "route: {receiver: r}\nreceivers: [{name: r}]\n");
    let rules =
        scratch.write("rules.yml", &BUILTIN_RULES.replace("labels: {team: ops}", "for: 2s"));
    let storage = scratch.0.join("data");
    let address = "127.0.0.99:19093";
    let url = format!("http://{address}");
    let client = reqwest::Client::new();
    // Started directly: both instances must share one `--storage.path`.
    let start = |instance: &str| {
        let log = std::fs::File::create(scratch.0.join(format!("{instance}.log"))).unwrap();
        Process(
            Command::new(klaxon_bin())
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.path={}", storage.display()))
                .arg(format!("--web.listen-address={address}"))
                .arg("--cluster.listen-address=")
                .arg(format!("--rules.file={}", rules.display()))
                .arg("--datasource.url=builtin:")
                .arg("--rules.tick-interval=1s")
                .arg(format!("--rules.instance-id={instance}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start klaxon"),
        )
    };
    let log = |instance: &str| {
        std::fs::read_to_string(scratch.0.join(format!("{instance}.log"))).unwrap_or_default()
    };
    let first = start("first");
    let history_url = format!("{url}/api/v1/rules/history?rule=Down");
    let deadline = Instant::now() + Duration::from_secs(20);
    let history = loop {
        let history = get_json(&client, &history_url).await;
        if history["data"].as_array().is_some_and(|h| h.len() >= 2) {
            break history;
        }
        assert!(Instant::now() < deadline, "no history: {history}\n{}", log("first"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let transitions: Vec<(String, String, String)> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["previous"].as_str().unwrap().into(),
                e["current"].as_str().unwrap().into(),
                e["instance"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        transitions,
        vec![
            ("inactive".into(), "pending".into(), "first".into()),
            ("pending".into(), "firing".into(), "first".into()),
        ]
    );
    assert_eq!(history["data"][0]["labels"]["instance"], "example-b");
    let before = get_json(&client, &format!("{url}/api/v1/alerts")).await;
    let active_at = before["data"]["alerts"][0]["activeAt"].clone();
    drop(first); // SIGKILL

    let restarted_at = chrono::Utc::now();
    let _second = start("second");
    // The restored alert is in the receiver at once, not only at the next resend (30 s).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alerts = get_json(&client, &format!("{url}/api/v2/alerts")).await;
        if let Some(alert) = alerts.as_array().and_then(|a| a.first()) {
            assert_eq!(alert["labels"]["alertname"], "Down");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "restored alert not in the receiver: {alerts}\n{}",
            log("second")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rules = get_json(&client, &format!("{url}/api/v1/rules")).await;
        let evaluated = rules["data"]["groups"][0]["rules"][0]["lastEvaluation"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| t > restarted_at + chrono::Duration::seconds(3));
        if evaluated {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not evaluated after restart: {rules}\n{}",
            log("second")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after = get_json(&client, &format!("{url}/api/v1/alerts")).await;
    assert_eq!(after["data"]["alerts"][0]["state"], "firing", "{after}");
    assert_eq!(after["data"]["alerts"][0]["activeAt"], active_at, "the same episode continues");
    let history = get_json(&client, &history_url).await;
    assert_eq!(
        history["data"].as_array().map(Vec::len),
        Some(2),
        "no transition after the restart: {history}"
    );
    let bad = request(&client, "GET", &format!("{url}/api/v1/rules/history?limit=0"), None).await;
    assert_eq!(bad.status, 400);
}

/// Goal: `POST /-/reload` re-reads rule files: a valid change applies and rules that kept
/// their place keep their alerts; an invalid file is rejected and the running rules stay.
/// Method: fire a rule, add a second rule and reload, then break the file and reload.
#[tokio::test]
async fn reload_applies_valid_rule_files_and_keeps_alerts() {
    let scratch = ScratchDir::new("rules-reload");
    let config =
        scratch.write("alertmanager.yml", "route: {receiver: r}\nreceivers: [{name: r}]\n");
    let rules = scratch.write("rules.yml", BUILTIN_RULES);
    let klaxon = Server::start(
        Implementation::Klaxon,
        "127.0.0.92:19093",
        &config,
        &[
            &format!("--rules.file={}", rules.display()),
            "--datasource.url=builtin:",
            "--rules.tick-interval=1s",
        ],
    );
    let client = reqwest::Client::new();
    let alerts_url = format!("{}/api/v1/alerts", klaxon.url);
    let deadline = Instant::now() + Duration::from_secs(20);
    let active_at = loop {
        let alerts = get_json(&client, &alerts_url).await;
        if alerts["data"]["alerts"][0]["state"] == "firing" {
            break alerts["data"]["alerts"][0]["activeAt"].clone();
        }
        assert!(Instant::now() < deadline, "never fired: {alerts}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let added = format!("{BUILTIN_RULES}      - alert: Up\n        expr: klaxon_example_up == 1\n");
    std::fs::write(&rules, added).unwrap();
    let reload = request(&client, "POST", &format!("{}/-/reload", klaxon.url), None).await;
    assert_eq!(reload.status, 200, "{}", reload.text);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let alerts = get_json(&client, &alerts_url).await;
        let names: Vec<&str> = alerts["data"]["alerts"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x["labels"]["alertname"].as_str()).collect())
            .unwrap_or_default();
        if names.contains(&"Up") {
            let down = alerts["data"]["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["labels"]["alertname"] == "Down")
                .unwrap();
            assert_eq!(down["activeAt"], active_at, "the kept rule keeps its alert");
            break;
        }
        assert!(Instant::now() < deadline, "the added rule never fired: {alerts}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    std::fs::write(
        &rules,
        "groups:\n  - name: broken\n    rules:\n      - alert: X\n        expr: up ==\n",
    )
    .unwrap();
    let reload = request(&client, "POST", &format!("{}/-/reload", klaxon.url), None).await;
    assert_eq!(reload.status, 500);
    assert!(reload.text.contains("could not parse expression"), "{}", reload.text);
    let rules_now = get_json(&client, &format!("{}/api/v1/rules", klaxon.url)).await;
    assert_eq!(rules_now["data"]["groups"][0]["name"], "builtin", "the running rules stay");
    assert_eq!(rules_now["data"]["groups"][0]["rules"].as_array().map(Vec::len), Some(2));
}

/// Goal: every instance evaluates every rule, and the state history shows it: with three
/// instances on one PostgreSQL, each transition of the one firing rule is recorded three
/// times, once per instance.
/// Method: three Klaxon instances share a PostgreSQL schema and a rule file on the built-in
/// datasource; poll the history (from any instance) until all three have recorded the
/// alert's inactive→pending and pending→firing transitions.
#[tokio::test]
async fn three_instances_each_record_the_transitions_in_one_postgres_history() {
    let schema = PostgresSchema::create("klaxon_rules_ha").await;
    let storage_url = schema.storage_url.clone();
    let scratch = ScratchDir::new("rules-ha");
    let config =
        scratch.write("alertmanager.yml", "route: {receiver: r}\nreceivers: [{name: r}]\n");
    let rules =
        scratch.write("rules.yml", &BUILTIN_RULES.replace("labels: {team: ops}", "for: 2s"));
    let instances: Vec<Server> = (1..=3)
        .map(|n| {
            Server::start(
                Implementation::Klaxon,
                &format!("127.0.0.90:19{n}93"),
                &config,
                &[
                    &format!("--rules.file={}", rules.display()),
                    "--datasource.url=builtin:",
                    "--rules.tick-interval=1s",
                    &format!("--rules.instance-id=ha-{n}"),
                    &format!("--storage.url={storage_url}"),
                ],
            )
        })
        .collect();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let recorded = loop {
        let history =
            get_json(&client, &format!("{}/api/v1/rules/history?rule=Down", instances[2].url))
                .await;
        let mut recorded: Vec<(String, String, String)> = history["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let field = |name: &str| e[name].as_str().unwrap_or_default().to_owned();
                (field("instance"), field("previous"), field("current"))
            })
            .collect();
        recorded.sort();
        if recorded.len() >= 6 {
            break recorded;
        }
        assert!(Instant::now() < deadline, "history incomplete: {history}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let expected: Vec<(String, String, String)> = (1..=3)
        .flat_map(|n| {
            [("inactive", "pending"), ("pending", "firing")]
                .map(|(p, c)| (format!("ha-{n}"), p.to_owned(), c.to_owned()))
        })
        .collect();
    assert_eq!(recorded, expected);
    drop(instances);
    schema.drop_schema().await;
}
