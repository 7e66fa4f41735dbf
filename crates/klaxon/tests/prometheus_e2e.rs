//! Prometheus end to end: a real Prometheus 2.42 evaluates an always-firing rule and sends the
//! alert through `alerting.alertmanagers` to Klaxon and, as the reference, to Alertmanager 0.25;
//! each routes it to a webhook sink on loopback. The test checks Klaxon's webhook body carries
//! what Prometheus produced (the rule's labels plus the external labels, its annotation, a
//! generator URL pointing at that Prometheus) and equals Alertmanager's apart from
//! `externalURL`.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{StatusCode, Uri};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::support::{Implementation, ScratchDir, Server, require_program};

const PROMETHEUS_ADDRESS: &str = "127.0.0.120:19090";
const KLAXON_ADDRESS: &str = "127.0.0.121:19093";
const SINK_ADDRESS: &str = "127.0.0.122:19095";
const ALERTMANAGER_ADDRESS: &str = "127.0.0.123:19093";

/// Prometheus's first rule evaluation, its notifier, Klaxon's group wait and the webhook all
/// fit well inside this; the deadline only bounds a failing run.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(60);

const RULES: &str = r#"
groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        labels:
          severity: page
        annotations:
          summary: "value is {{ $value }}"
"#;

fn prometheus_config(rules_path: &str) -> String {
    format!(
        r#"
global:
  evaluation_interval: 1s
  external_labels:
    monitor: e2e
rule_files: ['{rules_path}']
alerting:
  alertmanagers:
    - api_version: v2
      static_configs:
        - targets: ['{KLAXON_ADDRESS}', '{ALERTMANAGER_ADDRESS}']
"#
    )
}

/// The receiving configuration; `path` tells the two servers' webhooks apart at the sink.
fn receiver_config(path: &str) -> String {
    format!(
        r#"
route:
  receiver: sink
  group_by: [alertname]
  group_wait: 1s
  group_interval: 5s
  repeat_interval: 1h
receivers:
  - name: sink
    webhook_configs: [{{url: 'http://{SINK_ADDRESS}/{path}'}}]
"#
    )
}

/// Prometheus, killed by PID on drop.
struct Prometheus {
    child: Child,
    log: std::path::PathBuf,
}

impl Prometheus {
    fn start(scratch: &ScratchDir) -> Prometheus {
        let program = require_program("prometheus");
        let rules = scratch.write("rules.yml", RULES);
        let config = scratch.write("prometheus.yml", &prometheus_config(&rules.to_string_lossy()));
        let log = scratch.0.join("prometheus.log");
        let child = Command::new(program)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", scratch.0.join("tsdb").display()))
            .arg(format!("--web.listen-address={PROMETHEUS_ADDRESS}"))
            .arg(format!("--web.external-url=http://{PROMETHEUS_ADDRESS}"))
            // Prometheus learns its Alertmanagers from discovery a few seconds after start and
            // drops what it sent before; a short resend delay sends the alert again soon.
            .arg("--rules.alert.resend-delay=1s")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("create prometheus log"))
            .spawn()
            .expect("start prometheus");
        Prometheus { child, log }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_sink(address: &str) -> Arc<Mutex<Vec<(String, Value)>>> {
    let received: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let record = received.clone();
    let router = axum::Router::new().fallback(move |uri: Uri, body: Bytes| {
        let record = record.clone();
        async move {
            let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
            record.lock().unwrap().push((uri.path().to_owned(), body));
            StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind(address).await.expect("bind sink");
    tokio::spawn(async move { axum::serve(listener, router).await });
    received
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_alert_reaches_webhook_through_klaxon() {
    let scratch = ScratchDir::new("prometheus-e2e");
    let received = start_sink(SINK_ADDRESS).await;
    let klaxon = Server::start(
        Implementation::Klaxon,
        KLAXON_ADDRESS,
        &scratch.write("klaxon.yml", &receiver_config("klaxon")),
        &[],
    );
    let alertmanager = Server::start(
        Implementation::Alertmanager,
        ALERTMANAGER_ADDRESS,
        &scratch.write("alertmanager.yml", &receiver_config("alertmanager")),
        &[],
    );
    let prometheus = Prometheus::start(&scratch);

    let started = Instant::now();
    let first_at = |path: &str| {
        received.lock().unwrap().iter().find(|(p, _)| p == path).map(|(_, body)| body.clone())
    };
    let (body, reference) = loop {
        if let (Some(body), Some(reference)) = (first_at("/klaxon"), first_at("/alertmanager")) {
            break (body, reference);
        }
        assert!(
            started.elapsed() < DELIVERY_DEADLINE,
            "no webhook from both within {DELIVERY_DEADLINE:?}\nprometheus log:\n{}\n\
             klaxon log:\n{}\nalertmanager log:\n{}",
            prometheus.log_text(),
            klaxon.log_text(),
            alertmanager.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let without_external_url = |mut body: Value| {
        body.as_object_mut().expect("object body").remove("externalURL");
        body
    };
    assert_eq!(
        without_external_url(body.clone()),
        without_external_url(reference),
        "Klaxon's body differs from Alertmanager's"
    );
    assert_eq!(body["externalURL"], format!("http://{KLAXON_ADDRESS}"));
    assert_eq!(body["version"], "4");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["receiver"], "sink");
    assert_eq!(body["groupKey"], r#"{}:{alertname="AlwaysFiring"}"#);
    assert_eq!(body["groupLabels"], json!({"alertname": "AlwaysFiring"}));
    let alerts = body["alerts"].as_array().expect("alerts array");
    assert_eq!(alerts.len(), 1, "one alert in {body:#}");
    let alert = &alerts[0];
    assert_eq!(alert["status"], "firing");
    assert_eq!(
        alert["labels"],
        json!({"alertname": "AlwaysFiring", "severity": "page", "monitor": "e2e"})
    );
    assert_eq!(alert["annotations"], json!({"summary": "value is 1"}));
    let generator = alert["generatorURL"].as_str().expect("generatorURL");
    assert!(
        generator.starts_with(&format!("http://{PROMETHEUS_ADDRESS}/graph?g0.expr=vector%281%29")),
        "generatorURL {generator}"
    );
    assert_eq!(alert["fingerprint"].as_str().map(str::len), Some(16));
}
