//! Retry classification against Alertmanager 0.25: each receiver's capture path answers one
//! HTTP status; an implementation either gives up after one attempt ("unrecoverable error"
//! in its log, naming the receiver) or tries again (a second request arrives). Both must
//! decide the same for every (integration, status).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::capture::{Capture, Captured, Reply};
use super::{firing, post_alerts, start};
use crate::support::{Implementation, ScratchDir, Server};

/// (receiver name, receiver body with `CAP` for the capture base).
const CASES: [(&str, &str); 18] = [
    ("s500-slack", "slack_configs: [{api_url: CAP/s500-slack, SLACK}]"),
    ("s429-slack", "slack_configs: [{api_url: CAP/s429-slack, SLACK}]"),
    ("s400-slack", "slack_configs: [{api_url: CAP/s400-slack, SLACK}]"),
    (
        "s429-pagerduty",
        "pagerduty_configs: [{routing_key: k, url: CAP/s429-pagerduty, client: c, client_url: u, description: d, details: {firing: f, resolved: r, num_firing: '1', num_resolved: '0'}}]",
    ),
    (
        "s400-pagerduty",
        "pagerduty_configs: [{routing_key: k, url: CAP/s400-pagerduty, client: c, client_url: u, description: d, details: {firing: f, resolved: r, num_firing: '1', num_resolved: '0'}}]",
    ),
    (
        "s429-opsgenie",
        "opsgenie_configs: [{api_key: k, api_url: CAP/s429-opsgenie/, message: m, description: d, source: s}]",
    ),
    (
        "s422-opsgenie",
        "opsgenie_configs: [{api_key: k, api_url: CAP/s422-opsgenie/, message: m, description: d, source: s}]",
    ),
    (
        "s500-victorops",
        "victorops_configs: [{api_key: k, api_url: CAP/s500-victorops/, routing_key: r, state_message: s, entity_display_name: e, monitoring_tool: m}]",
    ),
    (
        "s404-victorops",
        "victorops_configs: [{api_key: k, api_url: CAP/s404-victorops/, routing_key: r, state_message: s, entity_display_name: e, monitoring_tool: m}]",
    ),
    ("s502-discord", "discord_configs: [{webhook_url: CAP/s502-discord, title: t, message: m}]"),
    ("s429-discord", "discord_configs: [{webhook_url: CAP/s429-discord, title: t, message: m}]"),
    (
        "s500-webex",
        "webex_configs: [{api_url: CAP/s500-webex, room_id: r, message: m, http_config: {authorization: {credentials: c}}}]",
    ),
    (
        "s401-webex",
        "webex_configs: [{api_url: CAP/s401-webex, room_id: r, message: m, http_config: {authorization: {credentials: c}}}]",
    ),
    (
        "s400-telegram",
        "telegram_configs: [{api_url: CAP/s400-telegram, bot_token: b, chat_id: 1, message: m}]",
    ),
    (
        "s400-sns",
        "sns_configs: [{api_url: CAP/s400-sns, sigv4: {region: r, access_key: a, secret_key: s}, topic_arn: t, subject: s, message: m}]",
    ),
    (
        "s500-sns",
        "sns_configs: [{api_url: CAP/s500-sns, sigv4: {region: r, access_key: a, secret_key: s}, topic_arn: t, subject: s, message: m}]",
    ),
    (
        "s500-wechat",
        "wechat_configs: [{api_secret: s, corp_id: c, api_url: CAP/s500-wechat/, message: m, to_user: u, to_party: p, to_tag: t, agent_id: '1'}]",
    ),
    ("s403-webhook", "webhook_configs: [{url: CAP/s403-webhook}]"),
];

/// Every templated Slack field, so no default template is involved.
const SLACK_FIELDS: &str = "username: u, color: c, title: t, title_link: l, pretext: p, text: t, footer: f, fallback: f, callback_id: i, icon_emoji: e, icon_url: ''";

fn answer(captured: &Captured) -> Reply {
    let path = captured.path();
    if path.ends_with("/gettoken") {
        return Reply::json(200, r#"{"access_token":"t"}"#);
    }
    let status: u16 = path.get(2..5).and_then(|code| code.parse().ok()).unwrap_or(200);
    if path.contains("-sns") {
        return Reply {
            status,
            headers: vec![("content-type", "text/xml".into())],
            body: "<ErrorResponse><Error><Type>Sender</Type><Code>Bad</Code><Message>bad request</Message></Error><RequestId>r</RequestId></ErrorResponse>".into(),
        };
    }
    if path.contains("-telegram") {
        return Reply::json(
            status,
            r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#,
        );
    }
    Reply::json(status, r#"{"message":"no","errors":["e"]}"#)
}

/// `retried` or `final`, as the implementation behaves for `receiver`.
async fn classify(server: &Server, capture: &Capture, receiver: &str) -> &'static str {
    let deadline = Instant::now() + Duration::from_secs(30);
    let prefix = format!("/{receiver}");
    loop {
        let gave_up = server
            .log_text()
            .lines()
            .any(|line| line.contains("unrecoverable error") && line.contains(receiver));
        if gave_up {
            return "final";
        }
        let attempts = capture
            .received()
            .iter()
            .filter(|c| c.path().starts_with(&prefix) && !c.path().ends_with("/gettoken"))
            .count();
        if attempts >= 2 {
            return "retried";
        }
        assert!(
            Instant::now() < deadline,
            "{:?}: {receiver} neither retried nor gave up; log:\n{}",
            server.implementation,
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_classification_matches_alertmanager() {
    let mut config = String::from(
        "route:\n  receiver: s500-slack\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1h\n  repeat_interval: 1h\n  routes:\n",
    );
    for (name, _) in CASES {
        config
            .push_str(&format!("    - {{matchers: ['alertname=\"{name}\"'], receiver: {name}}}\n"));
    }
    config.push_str("receivers:\n");
    for (name, body) in CASES {
        let body = body.replace("SLACK", SLACK_FIELDS);
        config.push_str(&format!("  - name: {name}\n    {body}\n"));
    }
    let mut runs = Vec::new();
    for (implementation, host) in
        [(Implementation::Alertmanager, "127.0.0.111"), (Implementation::Klaxon, "127.0.0.112")]
    {
        let capture = Capture::start(&format!("{host}:19651"), None, Arc::new(answer)).await;
        let dir = ScratchDir::new("retries");
        let server = start(
            implementation,
            &format!("{host}:19650"),
            &dir,
            &config.replace("CAP", &capture.base),
        );
        runs.push((server, capture, dir));
    }
    let alerts: Vec<_> =
        CASES.iter().map(|(name, _)| firing(json!({"alertname": name}), json!({}))).collect();
    post_alerts(&runs.iter().map(|(s, _, _)| s).collect::<Vec<_>>(), &json!(alerts)).await;
    let mut differences = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (name, _) in CASES {
        let reference = classify(&runs[0].0, &runs[0].1, name).await;
        seen.insert(reference);
        let klaxon = classify(&runs[1].0, &runs[1].1, name).await;
        if reference != klaxon {
            differences.push(format!("{name}: Alertmanager {reference}, Klaxon {klaxon}"));
        }
    }
    assert!(
        differences.is_empty(),
        "{}\nKlaxon log:\n{}",
        differences.join("\n"),
        runs[1].0.log_text()
    );
}
