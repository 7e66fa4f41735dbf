//! Expression rules in Grafana's model, end to end against the binary: groups created,
//! updated (versioned, with optimistic concurrency) and deleted through the rules API on the
//! built-in datasource, firing in `/api/v1/alerts` and `/api/v2/alerts`, the NoData path,
//! and provisioning files (loaded at start; errors name file, line and field).

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Implementation, PostgresSchema, ScratchDir, Server, request, wait_for_json};

const RECEIVER_CONFIG: &str = "route: {receiver: r}\nreceivers: [{name: r}]\n";

/// A group whose rule fires for `klaxon_example_up{instance="example-b"}` (always 0):
/// a range query, reduced to its last value, below 1.
fn availability_group(severity: &str, reducer: &str) -> Value {
    json!({
        "name": "availability",
        "interval": "1s",
        "rules": [{
            "uid": "instance-down",
            "title": "InstanceDown",
            "condition": "C",
            "data": [
                {"refId": "A", "datasourceUid": "builtin", "relativeTimeRange": {"from": 30, "to": 0},
                 "model": {"expr": "klaxon_example_up", "intervalMs": 5000}},
                {"refId": "B", "datasourceUid": "__expr__",
                 "model": {"type": "reduce", "expression": "A", "reducer": reducer}},
                {"refId": "C", "datasourceUid": "__expr__",
                 "model": {"type": "threshold", "expression": "B",
                           "conditions": [{"evaluator": {"type": "lt", "params": [1]}}]}}
            ],
            "labels": {"severity": severity},
            "annotations": {
                "summary": "{{ $labels.instance }} is down",
                "description": "last {{ $values.B.Value }}, condition {{ $values.C }}"
            }
        }]
    })
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
    if_match: Option<&str>,
) -> (u16, Value) {
    let mut builder = client
        .post(url)
        .timeout(Duration::from_secs(10))
        .header("Content-Type", "application/json")
        .body(body.to_string());
    if let Some(version) = if_match {
        builder = builder.header("If-Match", version);
    }
    let response = builder.send().await.expect("POST");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn v2_alert<'a>(alerts: &'a Value, name: &str) -> Option<&'a Value> {
    alerts.as_array()?.iter().find(|a| a["labels"]["alertname"] == name)
}

/// Goal: the rules API manages expression rules that fire, update and go away, and a query
/// that returns nothing raises a `DatasourceNoData` alert.
/// Method: Klaxon with `--rules.api` and the built-in datasource; create a group, see its
/// alert in both alert APIs, replace it (version 2; a stale `If-Match` gets 409), add a
/// group whose query selects nothing, delete the first group and see its alert resolved.
#[tokio::test]
async fn expression_rules_through_the_api_fire_update_and_delete() {
    let scratch = ScratchDir::new("expression-api");
    let config = scratch.write("alertmanager.yml", RECEIVER_CONFIG);
    let klaxon = Server::start(
        Implementation::Klaxon,
        "127.0.0.210:19093",
        &config,
        &["--rules.api", "--rules.tick-interval=1s"],
    );
    let client = reqwest::Client::new();
    let rules = format!("{}/api/ruler/grafana/api/v1/rules", klaxon.url);
    // The listener opens before the generator has started.
    wait_for_json(&client, &klaxon, &rules, "the rules API", |b| {
        b.is_object() && b.get("message").is_none()
    })
    .await;

    let (status, body) =
        post(&client, &format!("{rules}/ops"), &availability_group("page", "median7"), None).await;
    assert_eq!(status, 400, "{body}");
    let reason = body["message"].as_str().unwrap();
    assert!(
        reason.contains("rules[0].data[1].model.reducer: unknown reducer \"median7\""),
        "{reason}"
    );

    let (status, body) =
        post(&client, &format!("{rules}/ops"), &availability_group("page", "last"), Some("0"))
            .await;
    assert_eq!((status, &body["version"]), (202, &json!(1)), "{body}");

    let v1 = wait_for_json(
        &client,
        &klaxon,
        &format!("{}/api/v1/alerts", klaxon.url),
        "firing in /api/v1/alerts",
        |b| {
            b["data"]["alerts"].as_array().is_some_and(|a| {
                a.iter().any(|alert| {
                    alert["labels"]["alertname"] == "InstanceDown" && alert["state"] == "firing"
                })
            })
        },
    )
    .await;
    let alert = &v1["data"]["alerts"][0];
    assert_eq!(alert["labels"]["instance"], "example-b");
    assert_eq!(alert["labels"]["grafana_folder"], "ops");
    assert_eq!(alert["labels"]["__alert_rule_uid__"], "instance-down");
    assert_eq!(alert["grafanaState"], "Alerting");
    assert_eq!(alert["annotations"]["summary"], "example-b is down");
    assert_eq!(alert["annotations"]["description"], "last 0, condition 1");
    let v2 = wait_for_json(
        &client,
        &klaxon,
        &format!("{}/api/v2/alerts", klaxon.url),
        "firing in /api/v2/alerts",
        |b| v2_alert(b, "InstanceDown").is_some(),
    )
    .await;
    let alert = v2_alert(&v2, "InstanceDown").unwrap();
    assert_eq!(alert["labels"]["severity"], "page");
    assert_eq!(alert["status"]["state"], "active");
    let listed = request(&client, "GET", &format!("{}/api/v1/rules", klaxon.url), None)
        .await
        .json()
        .unwrap();
    let group = &listed["data"]["groups"][0];
    assert_eq!((&group["name"], &group["file"]), (&json!("availability"), &json!("ops")));
    assert_eq!(
        (&group["rules"][0]["state"], &group["rules"][0]["health"]),
        (&json!("firing"), &json!("ok"))
    );

    let (status, body) =
        post(&client, &format!("{rules}/ops"), &availability_group("ticket", "last"), Some("1"))
            .await;
    assert_eq!((status, &body["version"]), (202, &json!(2)), "{body}");
    let (status, body) =
        post(&client, &format!("{rules}/ops"), &availability_group("page", "last"), Some("1"))
            .await;
    assert_eq!(status, 409, "a write based on version 1 after version 2: {body}");
    let group =
        request(&client, "GET", &format!("{rules}/ops/availability"), None).await.json().unwrap();
    assert_eq!(
        (&group["version"], &group["rules"][0]["labels"]["severity"]),
        (&json!(2), &json!("ticket"))
    );
    let versions = request(&client, "GET", &format!("{rules}/ops/availability/versions"), None)
        .await
        .json()
        .unwrap();
    assert_eq!(versions.as_array().map(Vec::len), Some(2));
    wait_for_json(
        &client,
        &klaxon,
        &format!("{}/api/v2/alerts", klaxon.url),
        "the updated rule's alert",
        |b| {
            b.as_array().is_some_and(|a| {
                a.iter().any(|x| {
                    x["labels"]["alertname"] == "InstanceDown"
                        && x["labels"]["severity"] == "ticket"
                })
            })
        },
    )
    .await;

    let nothing = json!({"name": "gone", "interval": "1s", "rules": [{
        "uid": "gone", "title": "Gone", "condition": "B",
        "data": [
            {"refId": "A", "datasourceUid": "builtin", "relativeTimeRange": {"from": 0, "to": 0},
             "model": {"expr": "klaxon_example_up{instance=\"nowhere\"}", "instant": true}},
            {"refId": "B", "datasourceUid": "__expr__", "model": {"type": "math", "expression": "$A == 0"}}
        ]
    }]});
    let (status, body) = post(&client, &format!("{rules}/ops"), &nothing, None).await;
    assert_eq!(status, 202, "{body}");
    let v2 = wait_for_json(
        &client,
        &klaxon,
        &format!("{}/api/v2/alerts", klaxon.url),
        "DatasourceNoData",
        |b| v2_alert(b, "DatasourceNoData").is_some(),
    )
    .await;
    let alert = v2_alert(&v2, "DatasourceNoData").unwrap();
    assert_eq!(alert["labels"]["rulename"], "Gone");
    assert_eq!(alert["labels"]["datasource_uid"], "builtin");
    assert_eq!(alert["labels"]["ref_id"], "A");

    let reply = request(&client, "DELETE", &format!("{rules}/ops/availability"), None).await;
    assert_eq!(reply.status, 202, "{}", reply.text);
    wait_for_json(
        &client,
        &klaxon,
        &format!("{}/api/v2/alerts", klaxon.url),
        "the deleted rule's alert resolved",
        |b| b.as_array().is_some() && v2_alert(b, "InstanceDown").is_none(),
    )
    .await;
    let reply = request(&client, "GET", &format!("{rules}/ops/availability"), None).await;
    assert_eq!(reply.status, 404);
    let versions = request(&client, "GET", &format!("{rules}/ops/availability/versions"), None)
        .await
        .json()
        .unwrap();
    assert_eq!(versions[2]["deleted"], true, "{versions}");
}

const PROVISIONED: &str = r#"apiVersion: 1
groups:
  - orgId: 1
    name: lab
    folder: sensors
    interval: 1s
    rules:
      - uid: example-down
        title: ExampleDown
        condition: B
        data:
          - refId: A
            datasourceUid: builtin
            relativeTimeRange: {from: 0, to: 0}
            model: {expr: klaxon_example_up, instant: true}
          - refId: B
            datasourceUid: __expr__
            model: {type: math, expression: $A == 0}
        for: 0s
        labels: {team: lab}
"#;

/// Goal: Grafana provisioning files load at start and on reload, and a bad one is refused
/// with its file, line and field.
/// Method: start Klaxon with a provisioning file and wait for its alert; change the file and
/// reload; start it again with the file broken and read the error it exits with.
#[tokio::test]
async fn provisioning_files_load_and_errors_name_file_line_and_field() {
    let scratch = ScratchDir::new("expression-provisioning");
    let config = scratch.write("alertmanager.yml", RECEIVER_CONFIG);
    let good = scratch.write("alerting.yaml", PROVISIONED);
    let klaxon = Server::start(
        Implementation::Klaxon,
        "127.0.0.211:19093",
        &config,
        &[&format!("--rules.provisioning={}", good.display()), "--rules.tick-interval=1s"],
    );
    let client = reqwest::Client::new();
    let v2 = wait_for_json(
        &client,
        &klaxon,
        &format!("{}/api/v2/alerts", klaxon.url),
        "provisioned alert",
        |b| v2_alert(b, "ExampleDown").is_some(),
    )
    .await;
    let alert = v2_alert(&v2, "ExampleDown").unwrap();
    assert_eq!(
        (&alert["labels"]["team"], &alert["labels"]["instance"]),
        (&json!("lab"), &json!("example-b"))
    );
    // A reload re-reads the file: the rule, renamed, fires under its new title.
    std::fs::write(&good, PROVISIONED.replace("title: ExampleDown", "title: ExampleStillDown"))
        .unwrap();
    let reply = request(&client, "POST", &format!("{}/-/reload", klaxon.url), None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    wait_for_json(
        &client,
        &klaxon,
        &format!("{}/api/v1/alerts", klaxon.url),
        "the renamed rule",
        |b| {
            b["data"]["alerts"]
                .as_array()
                .is_some_and(|a| a.len() == 1 && a[0]["labels"]["alertname"] == "ExampleStillDown")
        },
    )
    .await;
    drop(klaxon);

    let bad =
        scratch.write("bad.yaml", &PROVISIONED.replace("expression: $A == 0", "expression: $A =="));
    let data = ScratchDir::new("expression-provisioning-data");
    let output = Command::new(env!("CARGO_BIN_EXE_klaxon"))
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.path={}", data.0.display()))
        .arg("--web.listen-address=127.0.0.212:19093")
        .arg("--cluster.listen-address=")
        .arg(format!("--rules.provisioning={}", bad.display()))
        .output()
        .expect("run klaxon");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!("{}: 18:", bad.display());
    assert!(
        stderr.contains(&expected)
            && stderr.contains(
                "groups[0].rules[0].data[1].model.expression: unexpected end of expression"
            ),
        "{stderr}"
    );
}

/// Goal: expression rules run range queries on a real Prometheus 2.42, and a recovery
/// threshold keeps a firing instance firing until the value passes it.
/// Method: Prometheus scrapes a test exporter every second; Klaxon's provisioned rule takes
/// the mean over 5 s of each room's temperature (a range query on `--datasource.url`) and
/// fires above 30, recovering only below 25. Room `a` goes to 40 (fires) then 28; room `b` is
/// at 28 throughout. Once Prometheus holds 28 for both over the whole window, `a` is still
/// firing and `b` is not: same value, different state. Then `a` goes to 20 and resolves.
#[tokio::test]
async fn range_queries_on_prometheus_and_a_recovery_threshold() {
    let prometheus_bin = crate::support::require_program("prometheus");
    let scratch = ScratchDir::new("expression-prometheus");
    let exporter_address = "127.0.0.213:19100";
    let prometheus_address = "127.0.0.214:19090";
    let series = crate::rules::start_exporter(exporter_address).await;
    series.lock().unwrap().extend([("a".to_owned(), 40.0), ("b".to_owned(), 28.0)]);
    let config = scratch.write(
        "prometheus.yml",
        &format!("global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: exporter\n    static_configs: [{{targets: ['{exporter_address}']}}]\n"),
    );
    let log = std::fs::File::create(scratch.0.join("prometheus.log")).unwrap();
    let _prometheus = crate::rules::Process(
        Command::new(prometheus_bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", scratch.0.join("tsdb").display()))
            .arg(format!("--web.listen-address={prometheus_address}"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus"),
    );
    let provisioning = scratch.write(
        "alerting.yaml",
        r#"apiVersion: 1
groups:
  - name: rooms
    folder: building
    interval: 1s
    rules:
      - uid: warm-room
        title: WarmRoom
        condition: C
        data:
          - refId: A
            datasourceUid: default
            relativeTimeRange: {from: 5, to: 0}
            model: {expr: klaxon_test_temperature, intervalMs: 1000}
          - refId: B
            datasourceUid: __expr__
            model: {type: reduce, expression: A, reducer: mean}
          - refId: C
            datasourceUid: __expr__
            model:
              type: threshold
              expression: B
              conditions:
                - evaluator: {type: gt, params: [30]}
                  unloadEvaluator: {type: lt, params: [25]}
"#,
    );
    let am_config = scratch.write("alertmanager.yml", RECEIVER_CONFIG);
    let klaxon = Server::start(
        Implementation::Klaxon,
        "127.0.0.215:19093",
        &am_config,
        &[
            &format!("--rules.provisioning={}", provisioning.display()),
            &format!("--datasource.url=http://{prometheus_address}"),
            "--rules.tick-interval=1s",
        ],
    );
    let client = reqwest::Client::new();
    let alerts = format!("{}/api/v1/alerts", klaxon.url);
    let state_of = |body: &Value, room: &str| -> Option<String> {
        body["data"]["alerts"]
            .as_array()?
            .iter()
            .find(|a| a["labels"]["room"] == room)
            .and_then(|a| a["grafanaState"].as_str().map(str::to_owned))
    };
    wait_for_json(&client, &klaxon, &alerts, "room a firing", |b| {
        state_of(b, "a").as_deref() == Some("Alerting")
    })
    .await;
    series.lock().unwrap().insert("a".to_owned(), 28.0);
    // Prometheus holds 28 for room a over the rule's whole window.
    let settled = format!(
        "http://{prometheus_address}/api/v1/query?query=max_over_time(klaxon_test_temperature%7Broom%3D%22a%22%7D%5B6s%5D)"
    );
    wait_for_json(&client, &klaxon, &settled, "Prometheus at 28 for 6 s", |b| {
        b["data"]["result"][0]["value"][1] == "28"
    })
    .await;
    // Two more evaluations see only 28 (the query of the first may predate the check).
    let evaluated =
        |body: &Value| body["data"]["groups"][0]["lastEvaluation"].as_str().map(str::to_owned);
    let rules = format!("{}/api/v1/rules", klaxon.url);
    let mut seen = Vec::new();
    wait_for_json(&client, &klaxon, &rules, "two evaluations", |b| {
        if let Some(at) = evaluated(b)
            && !seen.contains(&at)
        {
            seen.push(at);
        }
        seen.len() >= 3
    })
    .await;
    let body = request(&client, "GET", &alerts, None).await.json().unwrap();
    assert_eq!(
        state_of(&body, "a").as_deref(),
        Some("Alerting"),
        "28 is above the recovery threshold: {body}"
    );
    assert_eq!(state_of(&body, "b"), None, "28 is below the threshold: {body}");
    series.lock().unwrap().insert("a".to_owned(), 20.0);
    wait_for_json(&client, &klaxon, &alerts, "room a resolved", |b| {
        b["data"]["alerts"].as_array().is_some_and(Vec::is_empty)
    })
    .await;
}

/// Goal: a group written through one instance's rules API is evaluated by every instance
/// sharing the database, without a restart, and each records Grafana's state names in the
/// shared history; a deletion reaches them all too.
/// Method: two Klaxon instances with `--rules.api` on one PostgreSQL schema; create a group
/// on the first; wait for the second to fire its alert and for the history to hold both
/// instances' `Normal → Alerting`; delete the group on the first and wait for the second's
/// alert to go.
#[tokio::test]
async fn api_groups_reach_every_instance_on_shared_postgres() {
    let schema = PostgresSchema::create("klaxon_expression_ha").await;
    let storage_url = schema.storage_url.clone();
    let scratch = ScratchDir::new("expression-ha");
    let config = scratch.write("alertmanager.yml", RECEIVER_CONFIG);
    let start = |n: u32| {
        Server::start(
            Implementation::Klaxon,
            &format!("127.0.0.21{}:19093", 5 + n),
            &config,
            &[
                "--rules.api",
                "--rules.tick-interval=1s",
                &format!("--rules.instance-id=node-{n}"),
                &format!("--storage.url={storage_url}"),
            ],
        )
    };
    let mut instances: Vec<Server> = (1..=2).map(start).collect();
    let client = reqwest::Client::new();
    let first = format!("{}/api/ruler/grafana/api/v1/rules", instances[0].url);
    wait_for_json(&client, &instances[0], &first, "the rules API", |b| {
        b.is_object() && b.get("message").is_none()
    })
    .await;
    let (status, body) =
        post(&client, &format!("{first}/ops"), &availability_group("page", "last"), None).await;
    assert_eq!(status, 202, "{body}");
    let mut second = &instances[1];
    wait_for_json(
        &client,
        second,
        &format!("{}/api/v1/alerts", second.url),
        "firing on the second instance",
        |b| {
            b["data"]["alerts"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x["labels"]["alertname"] == "InstanceDown"))
        },
    )
    .await;
    let history = format!("{}/api/v1/rules/history?rule=InstanceDown", second.url);
    wait_for_json(&client, second, &history, "both instances in the history", |b| {
        let mut entries: Vec<(String, String, String)> = b["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let field = |name: &str| e[name].as_str().unwrap_or_default().to_owned();
                (field("instance"), field("previous"), field("current"))
            })
            .collect();
        entries.sort();
        entries
            == vec![
                ("node-1".to_owned(), "Normal".to_owned(), "Alerting".to_owned()),
                ("node-2".to_owned(), "Normal".to_owned(), "Alerting".to_owned()),
            ]
    })
    .await;
    // A restart of the second instance continues from the stored state: its alert is back at
    // once and nothing re-enters a state (the history keeps one entry per instance).
    drop(instances.pop());
    instances.push(start(2));
    second = &instances[1];
    // Pooled connections to the killed process would fail.
    let client = reqwest::Client::new();
    let alerts = wait_for_json(
        &client,
        second,
        &format!("{}/api/v1/alerts", second.url),
        "firing after the restart",
        |b| b["data"]["alerts"].as_array().is_some_and(|a| !a.is_empty()),
    )
    .await;
    assert_eq!(alerts["data"]["alerts"][0]["grafanaState"], "Alerting");
    let rules = format!("{}/api/v1/rules", second.url);
    let mut seen = Vec::new();
    wait_for_json(&client, second, &rules, "two evaluations after the restart", |b| {
        if let Some(at) = b["data"]["groups"][0]["lastEvaluation"].as_str()
            && !seen.iter().any(|s| s == at)
        {
            seen.push(at.to_owned());
        }
        seen.len() >= 3
    })
    .await;
    let entries = request(&client, "GET", &history, None).await.json().unwrap();
    assert_eq!(entries["data"].as_array().map(Vec::len), Some(2), "{entries}");
    let reply = request(&client, "DELETE", &format!("{first}/ops/availability"), None).await;
    assert_eq!(reply.status, 202, "{}", reply.text);
    wait_for_json(
        &client,
        second,
        &format!("{}/api/v1/alerts", second.url),
        "gone from the second instance",
        |b| b["data"]["alerts"].as_array().is_some_and(Vec::is_empty),
    )
    .await;
    drop(instances);
    schema.drop_schema().await;
}
