//! Server behaviour beyond the API v2 contract: the route prefix, the removed v1 API, the
//! metric families, and the silence limits set by flags.

use serde_json::json;

use crate::support::{Implementation, ScratchDir, Server, request};

const CONFIG: &str = "route:\n  receiver: default\nreceivers:\n  - name: default\n";

fn silence_body(value: &str) -> String {
    json!({"matchers": [{"name": "job", "value": value, "isRegex": false}],
        "startsAt": "2030-01-01T00:00:00Z", "endsAt": "2030-01-02T00:00:00Z",
        "createdBy": "tester", "comment": "limits"})
    .to_string()
}

/// Goal: `--web.route-prefix` moves every endpoint under the prefix, as in Alertmanager.
/// Method: start with a prefix; the API answers under it and not at the root.
#[tokio::test]
async fn route_prefix_moves_the_api() {
    let scratch = ScratchDir::new("prefix");
    let config = scratch.write("alertmanager.yml", CONFIG);
    let server = Server::start(
        Implementation::Klaxon,
        "127.0.0.38:19093",
        &config,
        &["--web.route-prefix=/am"],
    );
    let client = reqwest::Client::new();
    let prefixed = request(&client, "GET", &format!("{}/am/api/v2/status", server.url), None).await;
    assert_eq!(prefixed.status, 200);
    let root = request(&client, "GET", &format!("{}/api/v2/status", server.url), None).await;
    assert_eq!(root.status, 404);
}

/// Goal: Alertmanager's v1 API is gone (410, as Alertmanager answers since 0.27) except for
/// the two GETs Prometheus' rules API owns, `/metrics` serves
/// Alertmanager's metric names with values that follow the state.
/// Method: post alerts (one invalid) and a silence, then read `/metrics`.
#[tokio::test]
async fn v1_is_gone_and_metrics_follow_the_state() {
    let scratch = ScratchDir::new("metrics");
    let config = scratch.write("alertmanager.yml", CONFIG);
    let server = Server::start(Implementation::Klaxon, "127.0.0.39:19093", &config, &[]);
    let client = reqwest::Client::new();
    for (method, path) in
        [("GET", "silences"), ("GET", "status"), ("GET", "receivers"), ("POST", "alerts")]
    {
        let v1 =
            request(&client, method, &format!("{}/api/v1/{path}", server.url), Some("[]")).await;
        assert_eq!(v1.status, 410, "{method} /api/v1/{path}");
    }
    let rules = request(&client, "GET", &format!("{}/api/v1/alerts", server.url), None).await;
    assert_eq!((rules.status, rules.json().unwrap()["data"]["alerts"].clone()), (200, json!([])));
    let alerts = json!([{"labels": {"alertname": "A"}}, {"labels": {"1bad": "x"}}]).to_string();
    let posted =
        request(&client, "POST", &format!("{}/api/v2/alerts", server.url), Some(&alerts)).await;
    assert_eq!(posted.status, 400);
    let created = request(
        &client,
        "POST",
        &format!("{}/api/v2/silences", server.url),
        Some(&silence_body("x")),
    )
    .await;
    assert_eq!(created.status, 200);
    let metrics = request(&client, "GET", &format!("{}/metrics", server.url), None).await.text;
    for line in [
        "alertmanager_alerts_received_total{status=\"firing\",version=\"v2\"} 2",
        "alertmanager_alerts_invalid_total{version=\"v2\"} 1",
        "alertmanager_alerts{state=\"active\"} 1",
        "alertmanager_silences{state=\"pending\"} 1",
        "alertmanager_config_last_reload_successful 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "missing {line:?} in:\n{metrics}");
    }
    assert!(metrics.contains("process_resident_memory_bytes"));
}

/// Goal: `--silences.max-silences` and `--silences.max-silence-size-bytes` reject what goes
/// over the limit with a 400 and keep what is already there.
/// Method: limit to one silence, create two; limit the size, create an oversized one.
#[tokio::test]
async fn silence_limits_reject_with_a_reason() {
    let scratch = ScratchDir::new("limits");
    let config = scratch.write("alertmanager.yml", CONFIG);
    let server = Server::start(
        Implementation::Klaxon,
        "127.0.0.40:19093",
        &config,
        &["--silences.max-silences=1", "--silences.max-silence-size-bytes=300"],
    );
    let client = reqwest::Client::new();
    let url = format!("{}/api/v2/silences", server.url);
    let first = request(&client, "POST", &url, Some(&silence_body("a"))).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let second = request(&client, "POST", &url, Some(&silence_body("b"))).await;
    assert_eq!(second.status, 400, "{}", second.text);
    assert!(second.text.contains("exceeded maximum number of silences"), "{}", second.text);
    let listed = request(&client, "GET", &url, None).await.json().unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
}
