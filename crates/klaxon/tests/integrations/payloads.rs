//! The payload oracle: one receiver per integration, every templated field set with user
//! templates (inline and from a template file, so no default template is involved), the
//! URLs pointing at a capture server per implementation that answers as each service would
//! (a Telegram message, a WeChat token, an SNS `PublishResponse`…). The same alerts fire and
//! then resolve on Alertmanager 0.25 and on Klaxon; per path, the requests must agree in
//! method, path and query, `Host` (for the intercepted services), `Content-Type`,
//! `Authorization` and body, byte for byte (JSON is also shown parsed, for readable diffs).
//!
//! Long texts (two-byte characters) in Slack, PagerDuty, Telegram, Webex, Pushover and an SNS
//! SMS check each integration's truncation, SNS's cut falling inside a character.
//!
//! Normalised, because they must differ: SNS's `X-Amz-Date` and signature (each signs at its
//! own clock). Instead, Alertmanager's signature is recomputed with Klaxon's signer from the
//! captured request and must match, and Klaxon's own signature must verify the same way.
//!
//! Pushover and PagerDuty v1 go to endpoints 0.25 hard-codes to the real services, so their
//! receivers use the capture as `proxy_url`: it accepts the `CONNECT` tunnel and terminates
//! TLS with a certificate for the service's name signed by a test CA (`tls_config.ca_file`).

use std::collections::BTreeMap;
use std::sync::Arc;

use alertmanager::notify::sigv4::{SignedRequest, SigningKey, sign};
use serde_json::{Value, json};

use super::capture::{Capture, Captured, Reply, TestPki};
use super::{firing, post_alerts, start};
use crate::support::{Implementation, ScratchDir};

const TEMPLATES: &str = r#"
{{ define "t.title" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }}{{ end }}
{{ define "t.text" }}{{ range .Alerts }}* {{ .Labels.alertname }} on {{ .Labels.instance }}: {{ .Annotations.summary }} <{{ .Status }}> & more
{{ end }}{{ end }}
"#;

const CONFIG: &str = r#"
templates: ['DIR/*.tmpl']
route:
  receiver: slack
  group_by: [alertname]
  # Alerts start now, so the first flush waits for the whole POSTed batch (0.25 flushes at
  # once when a group's first alert is older than group_wait).
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - {matchers: [alertname=Slack], receiver: slack}
    - {matchers: [alertname=PagerDuty], receiver: pagerduty}
    - {matchers: [alertname=OpsGenie], receiver: opsgenie}
    - {matchers: [alertname=WeChat], receiver: wechat}
    - {matchers: [alertname=VictorOps], receiver: victorops}
    - {matchers: [alertname=Sns], receiver: sns}
    - {matchers: [alertname=Telegram], receiver: telegram}
    - {matchers: [alertname=Discord], receiver: discord}
    - {matchers: [alertname=Webex], receiver: webex}
    - {matchers: [alertname=PagerDutyV1], receiver: pagerduty-v1}
    - {matchers: [alertname=Pushover], receiver: pushover}
receivers:
  - name: slack
    slack_configs:
      - api_url: CAP/slack
        send_resolved: true
        channel: '#alerts-{{ .CommonLabels.team }}'
        username: 'bot {{ .Receiver }}'
        color: '{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}'
        title: '{{ template "t.title" . }} LONG1100'
        title_link: 'http://link/{{ .GroupLabels.alertname }}'
        pretext: 'pre {{ .CommonAnnotations.summary }}'
        text: '{{ template "t.text" . }}'
        footer: 'foot'
        fallback: 'fallback {{ .Status }}'
        callback_id: 'cb-{{ .GroupLabels.alertname }}'
        icon_emoji: ':fire:'
        icon_url: ''
        image_url: 'http://img/{{ .Status }}.png'
        thumb_url: ''
        link_names: true
        short_fields: true
        fields:
          - {title: 'Team', value: '{{ .CommonLabels.team }}'}
          - {title: 'Count', value: '{{ len .Alerts }}', short: false}
        actions:
          - {type: button, text: 'Runbook {{ .GroupLabels.alertname }}', url: 'http://runbook/{{ .GroupLabels.alertname }}', style: primary}
          - {type: button, text: 'Ack', name: ack, value: '{{ .Status }}', confirm: {text: 'Sure?', title: 'Ack {{ .Status }}', ok_text: 'Yes', dismiss_text: 'No'}}
  - name: pagerduty
    pagerduty_configs:
      - routing_key: 'rk-{{ .CommonLabels.team }}'
        url: CAP/pagerduty/enqueue
        client: 'client {{ .Receiver }}'
        client_url: 'http://client/{{ .GroupLabels.alertname }}'
        description: '{{ template "t.title" . }} LONG1100'
        severity: '{{ if eq .Status "firing" }}critical{{ else }}info{{ end }}'
        class: 'class'
        component: '{{ .CommonLabels.team }}'
        group: 'grp'
        details:
          firing: '{{ .Alerts.Firing | len }} firing'
          resolved: '{{ .Alerts.Resolved | len }} resolved'
          num_firing: '{{ .Alerts.Firing | len }}'
          num_resolved: '{{ .Alerts.Resolved | len }}'
          text: '{{ template "t.text" . }}'
        images: [{src: 'http://img/{{ .Status }}', alt: 'alt', href: 'http://href'}, {src: '', alt: 'dropped'}]
        links: [{href: 'http://link/{{ .Status }}', text: 'link'}, {href: '', text: 'dropped'}]
  - name: opsgenie
    opsgenie_configs:
      - api_key: 'key-{{ .CommonLabels.team }}'
        api_url: CAP/opsgenie
        message: '{{ template "t.title" . }} with a long tail that goes on and on and on and on and on and on and on and on and on and on and on and on to be cut'
        description: '{{ template "t.text" . }}'
        source: 'src {{ .Receiver }}'
        details: {team: 'override {{ .CommonLabels.team }}', extra: 'x'}
        entity: 'ent'
        responders:
          - {name: 'alpha, beta,', type: teams}
          - {id: 'u-1', type: user}
          - {username: '{{ .CommonLabels.nobody }}', type: '{{ .CommonLabels.nobody }}'}
        actions: 'a1, a2'
        tags: 'tag1,tag2 , '
        note: 'note'
        priority: 'P2'
        update_alerts: true
  - name: wechat
    wechat_configs:
      - api_secret: 'secret'
        corp_id: 'corp'
        api_url: CAP/wechat
        send_resolved: true
        message: '{{ template "t.text" . }}'
        to_user: 'user'
        to_party: '{{ .CommonLabels.team }}'
        to_tag: ''
        agent_id: '1000002'
  - name: victorops
    victorops_configs:
      - api_key: 'vo-key'
        api_url: CAP/victorops
        routing_key: 'rk-{{ .GroupLabels.alertname }}'
        message_type: '{{ if eq .Status "firing" }}WARNING{{ else }}INFO{{ end }}'
        state_message: '{{ template "t.text" . }}'
        entity_display_name: '{{ template "t.title" . }}'
        monitoring_tool: 'tool'
        custom_fields: {field_a: '{{ .CommonLabels.team }}'}
  - name: sns
    sns_configs:
      - api_url: CAP/sns
        sigv4: {region: eu-west-1, access_key: AKIDTEST, secret_key: 'sk/secret+key'}
        topic_arn: 'arn:aws:sns:eu-west-1:123456789012:alerts.fifo'
        subject: '{{ template "t.title" . }}'
        message: '{{ template "t.text" . }}'
        attributes: {team: '{{ .CommonLabels.team }}', 'b key': 'v & w'}
      - api_url: CAP/sns-sms
        sigv4: {region: eu-west-1, access_key: AKIDTEST, secret_key: 'sk/secret+key'}
        phone_number: '+15555550100'
        subject: 'sms'
        message: 'xy LONG1100'
  - name: telegram
    telegram_configs:
      - api_url: CAP/telegram
        bot_token: 'bot:token'
        chat_id: -1001234
        message: '{{ template "t.text" . }}LONG4100'
        disable_notifications: true
  - name: discord
    discord_configs:
      - webhook_url: CAP/discord/hook
        title: '{{ template "t.title" . }}'
        message: '{{ template "t.text" . }}'
  - name: webex
    webex_configs:
      - api_url: CAP/webex/messages
        room_id: 'room-1'
        message: '{{ template "t.text" . }}WEBEXLONG'
        http_config: {authorization: {credentials: 'webex-token'}}
  - name: pagerduty-v1
    pagerduty_configs:
      - service_key: 'sk-{{ .CommonLabels.team }}'
        client: 'client {{ .Receiver }}'
        client_url: 'http://client/{{ .GroupLabels.alertname }}'
        description: '{{ template "t.title" . }}'
        details:
          firing: '{{ .Alerts.Firing | len }} firing'
          resolved: '{{ .Alerts.Resolved | len }} resolved'
          num_firing: '{{ .Alerts.Firing | len }}'
          num_resolved: '{{ .Alerts.Resolved | len }}'
        http_config: {proxy_url: CAP, tls_config: {ca_file: DIR/ca.pem}}
  - name: pushover
    pushover_configs:
      - user_key: 'user-{{ .CommonLabels.team }}'
        token: 'app token'
        title: '{{ template "t.title" . }} LONG300'
        message: '{{ template "t.text" . }}LONG1100'
        url: 'http://runbook/{{ .GroupLabels.alertname }}?a=1&b=2&c=LONG300'
        url_title: 'runbook'
        sound: 'siren'
        priority: '{{ if eq .Status "firing" }}1{{ else }}0{{ end }}'
        retry: 90s
        expire: 2h
        html: true
        http_config: {proxy_url: CAP, tls_config: {ca_file: DIR/ca.pem}}
"#;

const NAMES: [&str; 9] = [
    "Slack",
    "PagerDuty",
    "OpsGenie",
    "WeChat",
    "VictorOps",
    "Sns",
    "Telegram",
    "Discord",
    "Webex",
];

fn answer(captured: &Captured) -> Reply {
    let path = captured.path();
    if path.starts_with("/telegram/") {
        Reply::json(
            200,
            r#"{"ok":true,"result":{"message_id":7,"chat":{"id":-1001234,"type":"group"},"date":1700000000,"text":"x"}}"#,
        )
    } else if path == "/wechat/gettoken" {
        Reply::json(
            200,
            r#"{"errcode":0,"errmsg":"ok","access_token":"wx-token","expires_in":7200}"#,
        )
    } else if path.starts_with("/wechat/") {
        Reply::json(200, r#"{"code":0,"error":""}"#)
    } else if path.starts_with("/sns") {
        Reply {
            status: 200,
            headers: vec![("content-type", "text/xml".into())],
            body: "<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult><MessageId>m-1</MessageId><SequenceNumber>1</SequenceNumber></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>".into(),
        }
    } else if path.starts_with("/pagerduty") || path.starts_with("/generic/") {
        Reply::json(202, r#"{"status":"success","message":"Event processed","dedup_key":"x"}"#)
    } else {
        Reply::json(200, "{}")
    }
}

/// The parts of a request that must agree, with SNS's signature checked and set aside.
fn essentials(captured: &Captured) -> Value {
    let content_type = captured.header("content-type");
    let body = if content_type.is_some_and(|t| t.starts_with("application/json")) {
        json!({"parsed": captured.json(), "bytes": captured.text()})
    } else {
        json!(captured.text())
    };
    let mut authorization = captured.header("authorization").map(str::to_owned);
    if captured.path().starts_with("/sns") {
        authorization = Some(checked_sns_signature(captured));
    }
    json!({
        "method": captured.method,
        "target": captured.target,
        // The intercepted services' names; the rest are each implementation's own capture.
        "host": captured.header("host").filter(|h| !h.starts_with("127.")),
        "content-type": content_type,
        "authorization": authorization,
        "body": body,
    })
}

/// Recomputes the SNS request's signature from what was captured; returns the authorization
/// without its date-dependent parts.
fn checked_sns_signature(captured: &Captured) -> String {
    let authorization = captured.header("authorization").expect("SNS request signed");
    let date = captured.header("x-amz-date").expect("X-Amz-Date");
    let now = chrono::NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ")
        .expect("X-Amz-Date format")
        .and_utc();
    let content_type = captured.header("content-type").unwrap_or("");
    let key = SigningKey {
        access_key: "AKIDTEST",
        secret_key: "sk/secret+key",
        region: "eu-west-1",
        service: "sns",
    };
    let request = SignedRequest {
        method: &captured.method,
        host: captured.header("host").unwrap_or(""),
        path: captured.path(),
        query: "",
        headers: &[("Content-Type", content_type)],
        body: &captured.body,
    };
    let expected = sign(&key, &request, now);
    assert_eq!(authorization, expected.authorization, "SNS signature does not verify");
    let signed_headers = authorization.split(", ").nth(1).unwrap_or("").to_owned();
    format!("AWS4-HMAC-SHA256 SignedHeaders {signed_headers}")
}

fn labels(name: &str, instance: &str) -> Value {
    json!({"alertname": name, "instance": instance, "team": "ops"})
}

fn alerts(started: &str, ended: Option<&str>) -> Value {
    let mut list = Vec::new();
    for name in NAMES {
        for instance in ["i1", "i2"] {
            let annotations = json!({"summary": format!("{name} {instance} is <down>")});
            let mut alert = firing(labels(name, instance), annotations);
            alert["startsAt"] = json!(started);
            if let Some(ended) = ended {
                alert["endsAt"] = json!(ended);
            }
            list.push(alert);
        }
    }
    Value::Array(list)
}

/// The path prefix each integration's requests arrive under.
fn prefix(name: &str) -> String {
    match name {
        "PagerDutyV1" => "/generic/2010-04-15/create_event.json".into(),
        "Pushover" => "/1/messages.json".into(),
        _ => format!("/{}", name.to_ascii_lowercase()),
    }
}

/// Requests per integration prefix.
/// Each path's requests in arrival order, with a request that repeats the one before it on
/// the same path (a retry) kept once.
fn distinct_by_path(received: &[Captured]) -> BTreeMap<String, Vec<Value>> {
    let mut paths: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for captured in received {
        let requests = paths.entry(captured.path().to_owned()).or_default();
        let request = essentials(captured);
        if requests.last() != Some(&request) {
            requests.push(request);
        }
    }
    paths
}

/// The number of distinct requests (as [`distinct_by_path`] counts them) per integration.
fn distinct_per_integration(received: &[Captured]) -> BTreeMap<String, usize> {
    let paths = distinct_by_path(received);
    NAMES
        .iter()
        .map(|name| {
            let prefix = prefix(name);
            let count = paths
                .iter()
                .filter(|(path, _)| path.starts_with(&prefix))
                .map(|(_, requests)| requests.len())
                .sum();
            (prefix, count)
        })
        .collect()
}

fn per_integration(received: &[Captured]) -> BTreeMap<String, usize> {
    NAMES
        .iter()
        .map(|name| {
            let prefix = prefix(name);
            (prefix.clone(), received.iter().filter(|c| c.path().starts_with(&prefix)).count())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_of_every_integration_match_alertmanager() {
    let pki = TestPki::new(&["events.pagerduty.com", "api.pushover.net"]);
    let mut captures = Vec::new();
    let mut servers = Vec::new();
    let mut dirs = Vec::new();
    for (implementation, host) in
        [(Implementation::Alertmanager, "127.0.0.109"), (Implementation::Klaxon, "127.0.0.110")]
    {
        let capture = Capture::start_intercepting(
            &format!("{host}:19641"),
            pki.server.clone(),
            Arc::new(answer),
        )
        .await;
        let dir = ScratchDir::new("payloads");
        dir.write("user.tmpl", TEMPLATES);
        dir.write("ca.pem", &pki.ca_pem);
        // Long texts (two-byte characters) to cut at each integration's limit.
        let config = CONFIG
            .replace("CAP", &capture.base)
            .replace("DIR", &dir.0.display().to_string())
            .replace("LONG1100", &"é".repeat(1100))
            .replace("LONG4100", &"é".repeat(4100))
            .replace("LONG300", &"é".repeat(300))
            // 0.25's TruncateInBytes panics (and Alertmanager exits) when the text has fewer
            // characters than the byte limit, so Webex gets mostly one-byte characters.
            .replace("WEBEXLONG", &format!("{}{}", "x".repeat(7000), "é".repeat(500)));
        servers.push(start(implementation, &format!("{host}:19640"), &dir, &config));
        captures.push(capture);
        dirs.push(dir);
    }
    let server_refs: Vec<_> = servers.iter().collect();
    let now = || chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let started = now();
    post_alerts(&server_refs, &alerts(&started, None)).await;
    for (capture, server) in captures.iter().zip(&servers) {
        let what = format!(
            "{:?}: every integration's firing notification; log:\n{}",
            server.implementation,
            server.log_text()
        );
        capture
            .wait_for(&what, |received| per_integration(received).values().all(|n| *n >= 1))
            .await;
    }
    // Some integrations send several requests per notification (OpsGenie's create, then
    // message and description updates; SNS per target), and the wait above ends at the first
    // of them: poll until both sides have sent the same, as the final comparison does.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let after_firing = loop {
        let counts: Vec<_> =
            captures.iter().map(|c| distinct_per_integration(&c.received())).collect();
        if counts[0] == counts[1] || std::time::Instant::now() > deadline {
            break counts;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    // Alertmanager is the reference: Klaxon must have sent the same requests at each stage.
    // A request repeated with the same content (a retry after a slow answer on a loaded
    // machine) counts once on both sides.
    assert_eq!(after_firing[0], after_firing[1], "distinct requests per integration after firing");
    post_alerts(&server_refs, &alerts(&started, Some(&now()))).await;
    for (capture, server) in captures.iter().zip(&servers) {
        let before =
            &after_firing[if server.implementation == Implementation::Klaxon { 1 } else { 0 }];
        let what = format!(
            "{:?}: every integration's resolved notification; log:\n{}",
            server.implementation,
            server.log_text()
        );
        capture
            .wait_for(&what, |received| {
                distinct_per_integration(received).iter().all(|(prefix, n)| *n > before[prefix])
            })
            .await;
    }
    let reference = &captures[0];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let differences = loop {
        let expected = distinct_by_path(&reference.received());
        let got = distinct_by_path(&captures[1].received());
        let mut differences = Vec::new();
        for path in expected.keys().chain(got.keys().filter(|path| !expected.contains_key(*path))) {
            let want = expected.get(path).cloned().unwrap_or_default();
            let have = got.get(path).cloned().unwrap_or_default();
            if want != have {
                differences.push(format!(
                    "{path}:\n  Alertmanager: {}\n  Klaxon:       {}",
                    serde_json::to_string(&want).unwrap(),
                    serde_json::to_string(&have).unwrap()
                ));
            }
        }
        if differences.is_empty() || std::time::Instant::now() > deadline {
            break differences;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(
        differences.is_empty(),
        "{} paths differ:\n{}\nKlaxon log:\n{}",
        differences.len(),
        differences.join("\n"),
        servers[1].log_text()
    );
}
