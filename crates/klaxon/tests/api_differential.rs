//! Differential API test: the same scripted sequence of requests goes to a real Alertmanager
//! 0.25 and to Klaxon, started with the same configuration; status codes must be equal and
//! bodies equal after normalising what is legitimately different (silence ids, server-side
//! timestamps, and the wording of Go's JSON parser errors).

use std::collections::HashMap;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::support::{Implementation, Reply, ScratchDir, Server, request};

const CONFIG: &str = r#"
global:
  resolve_timeout: 5m
route:
  receiver: default
  group_by: ['alertname']
  routes:
    - receiver: ops-webhook
      matchers: ['team="ops"']
      continue: true
    - receiver: catch-ops
      matchers: ['team=~"op.*"']
receivers:
  - name: default
  - name: ops-webhook
    webhook_configs:
      - url: 'http://127.0.0.1:5001/hook'
  - name: catch-ops
"#;

/// One step of the scenario: a request, sent to both servers. `$ID<n>` in the path or body is
/// replaced by each server's own id for the n-th silence it created.
struct Step {
    method: &'static str,
    path: String,
    body: Option<String>,
}

fn step(method: &'static str, path: &str, body: Option<Value>) -> Step {
    Step { method, path: path.to_owned(), body: body.map(|b| b.to_string()) }
}

fn raw(method: &'static str, path: &str, body: &str) -> Step {
    Step { method, path: path.to_owned(), body: Some(body.to_owned()) }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn silence(matchers: Value, starts: DateTime<Utc>, ends: DateTime<Utc>) -> Value {
    json!({"matchers": matchers, "startsAt": time(starts), "endsAt": time(ends),
           "createdBy": "tester", "comment": "differential"})
}

/// The scenario: alert batches (valid, invalid, partially valid, overlapping, resolving),
/// listings with filters, and silences created, updated, replaced, expired and rejected.
fn scenario(t: DateTime<Utc>) -> Vec<Step> {
    let hour = Duration::hours(1);
    let mut steps = vec![
        step(
            "POST",
            "/api/v2/alerts",
            Some(json!([{"labels": {"alertname": "A", "team": "ops"},
            "annotations": {"summary": "first"}, "startsAt": time(t - hour), "endsAt": time(t + hour),
            "generatorURL": "http://prometheus/graph"}])),
        ),
        step(
            "POST",
            "/api/v2/alerts",
            Some(json!([
            {"labels": {"1bad": "x"}},
            {"labels": {"alertname": "B", "team": "dev"}, "startsAt": time(t - hour / 2), "endsAt": time(t + hour / 2)},
            {"labels": {"alertname": "C"}, "startsAt": time(t + hour * 2), "endsAt": time(t + hour)},
            {"labels": {}},
            {"labels": {"alertname": "D"}, "annotations": {"bad-name": "x"}},
            {"labels": {"alertname": "D2", "empty": ""}, "annotations": {"keep": ""},
             "startsAt": time(t - hour), "endsAt": time(t + hour)}])),
        ),
        step(
            "POST",
            "/api/v2/alerts",
            Some(json!([{"labels": {"alertname": "E", "team": "operations"}}])),
        ),
        step(
            "POST",
            "/api/v2/alerts",
            Some(json!([{"labels": {"alertname": "A", "team": "ops"},
            "annotations": {"summary": "second"}, "startsAt": time(t - hour / 2), "endsAt": time(t + hour * 2)}])),
        ),
        step(
            "POST",
            "/api/v2/alerts",
            Some(json!([{"labels": {"alertname": "B", "team": "dev"},
            "startsAt": time(t - hour / 2), "endsAt": time(t - Duration::minutes(1))}])),
        ),
        raw(
            "POST",
            "/api/v2/alerts",
            r#"[{"labels":{"alertname":"Z"},"startsAt":"2031-01-01T00:00:00+02:00","endsAt":"2031-01-01T01:00:00.123456789+02:00"}]"#,
        ),
        raw("POST", "/api/v2/alerts", "notjson"),
        raw("POST", "/api/v2/alerts", r#"{"labels":{"a":"b"}}"#),
        raw("POST", "/api/v2/alerts", r#"[{"labels":{"a":1}}]"#),
        raw("POST", "/api/v2/alerts", r#"[{"labels":{"a":"b"}},{"annotations":{}}]"#),
        raw("POST", "/api/v2/alerts", r#"[{"labels":{"a":"b"},"generatorURL":"not a url"}]"#),
        raw("POST", "/api/v2/alerts", "[]"),
        step("GET", "/api/v2/alerts", None),
        step("GET", "/api/v2/alerts?filter=alertname%3D%22A%22", None),
        step(
            "GET",
            "/api/v2/alerts?filter=alertname%3D~%22A%7CE%22&filter=team%21%3D%22dev%22",
            None,
        ),
        step("GET", "/api/v2/alerts?filter=team%3D%22%22", None),
        step("GET", "/api/v2/alerts?filter=team%21~%22%22", None),
        step("GET", "/api/v2/alerts?filter=%7Bteam%3D%22ops%22%7D", None),
        step("GET", "/api/v2/alerts?filter=notamatcher", None),
        step("GET", "/api/v2/alerts?filter=a%3D~%22(%22", None),
        step("GET", "/api/v2/alerts?active=false", None),
        step("GET", "/api/v2/alerts?active=maybe", None),
        step("GET", "/api/v2/alerts?receiver=ops-webhook", None),
        step("GET", "/api/v2/alerts?receiver=catch.*", None),
        step("GET", "/api/v2/alerts?receiver=(", None),
        step("GET", "/api/v2/receivers", None),
    ];
    steps.extend(silence_steps(t));
    steps
}

fn silence_steps(t: DateTime<Utc>) -> Vec<Step> {
    let hour = Duration::hours(1);
    let ops = json!([{"name": "team", "value": "ops", "isRegex": false}]);
    vec![
        // $ID1: active now (start in the past is clamped to now).
        step("POST", "/api/v2/silences", Some(silence(ops.clone(), t - hour, t + hour))),
        // $ID2: pending.
        step(
            "POST",
            "/api/v2/silences",
            Some(silence(
                json!([{"name": "alertname", "value": "E|Z", "isRegex": true}]),
                t + hour,
                t + hour * 3,
            )),
        ),
        step("GET", "/api/v2/alerts", None),
        step("GET", "/api/v2/alerts?silenced=false", None),
        step("GET", "/api/v2/silences", None),
        // Update the pending silence in place (same matchers, new end): same id.
        step(
            "POST",
            "/api/v2/silences",
            Some({
                let mut s = silence(
                    json!([{"name": "alertname", "value": "E|Z", "isRegex": true}]),
                    t + hour,
                    t + hour * 4,
                );
                s["id"] = json!("$ID2");
                s
            }),
        ),
        // Change the matchers of the active one: a new silence $ID3 replaces it.
        step(
            "POST",
            "/api/v2/silences",
            Some({
                let mut s = silence(
                    json!([{"name": "team", "value": "op.*", "isRegex": true}]),
                    t - hour,
                    t + hour,
                );
                s["id"] = json!("$ID1");
                s
            }),
        ),
        step("GET", "/api/v2/silences", None),
        step("GET", "/api/v2/silence/$ID1", None),
        step("GET", "/api/v2/silence/00000000-0000-0000-0000-000000000000", None),
        step("GET", "/api/v2/silence/notauuid", None),
        step("DELETE", "/api/v2/silence/$ID2", None),
        step("DELETE", "/api/v2/silence/00000000-0000-0000-0000-000000000000", None),
        step("DELETE", "/api/v2/silence/notauuid", None),
        step("GET", "/api/v2/silences?filter=team%3D%22op.%2A%22", None),
        step("GET", "/api/v2/silences?filter=bad", None),
        step("GET", "/api/v2/silences", None),
        step(
            "POST",
            "/api/v2/silences",
            Some(
                json!({"matchers": ops, "startsAt": time(t), "endsAt": time(t + hour), "createdBy": "x"}),
            ),
        ),
        step("POST", "/api/v2/silences", Some(silence(json!([]), t, t + hour))),
        step(
            "POST",
            "/api/v2/silences",
            Some(silence(json!([{"name": "a", "value": "b"}]), t, t + hour)),
        ),
        step(
            "POST",
            "/api/v2/silences",
            Some(silence(json!([{"name": "a", "value": "", "isRegex": false}]), t, t + hour)),
        ),
        step(
            "POST",
            "/api/v2/silences",
            Some(silence(json!([{"name": "a", "value": ".*", "isRegex": true}]), t, t + hour)),
        ),
        step(
            "POST",
            "/api/v2/silences",
            Some(silence(json!([{"name": "a", "value": "(", "isRegex": true}]), t, t + hour)),
        ),
        step(
            "POST",
            "/api/v2/silences",
            Some(silence(json!([{"name": "1a", "value": "b", "isRegex": false}]), t, t + hour)),
        ),
        step("POST", "/api/v2/silences", Some(silence(ops.clone(), t + hour, t))),
        step("POST", "/api/v2/silences", Some(silence(ops.clone(), t - hour * 3, t - hour * 2))),
        step(
            "POST",
            "/api/v2/silences",
            Some({
                let mut s = silence(ops.clone(), t, t + hour);
                s["id"] = json!("11111111-2222-3333-4444-555555555555");
                s
            }),
        ),
        raw("POST", "/api/v2/silences", "nope"),
        step("GET", "/api/v2/alerts", None),
    ]
}

/// Per-server state: the ids of the silences it created, in order.
#[derive(Default)]
struct Ids(Vec<String>);

impl Ids {
    fn substitute(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (index, id) in self.0.iter().enumerate().rev() {
            out = out.replace(&format!("$ID{}", index + 1), id);
        }
        out
    }

    fn learn(&mut self, reply: &Reply) {
        if let Some(id) =
            reply.json().and_then(|v| v.get("silenceID").and_then(Value::as_str).map(str::to_owned))
            && !self.0.contains(&id)
        {
            self.0.push(id);
        }
    }
}

/// Normalises a reply for comparison.
fn normalise(reply: &Reply, ids: &Ids, now: DateTime<Utc>) -> (u16, Value) {
    let mut value = reply.json().unwrap_or_else(|| Value::String(reply.text.trim().to_owned()));
    normalise_value(&mut value, ids, now);
    (reply.status, value)
}

fn normalise_value(value: &mut Value, ids: &Ids, now: DateTime<Utc>) {
    match value {
        Value::Object(map) => {
            if map.contains_key("updatedAt") {
                map.insert("updatedAt".into(), json!("<server time>"));
            }
            // go-swagger's 400 for an unparseable body words Go's JSON error; keep the frame.
            if let Some(Value::String(message)) = map.get_mut("message")
                && let Some(index) = message.find("failed, because ")
            {
                message.truncate(index + "failed, because ".len());
                message.push_str("<parser error>");
            }
            for child in map.values_mut() {
                normalise_value(child, ids, now);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| normalise_value(item, ids, now)),
        Value::String(text) => {
            if let Some(index) = ids.0.iter().position(|id| id == text) {
                *text = format!("<silence {}>", index + 1);
            } else if let Ok(time) = DateTime::parse_from_rfc3339(text) {
                // Times the server derived from its own clock (defaults, clamping).
                let time = time.with_timezone(&Utc);
                if (time - now).num_seconds().abs() < 120 {
                    *text = "<now>".into();
                } else if (time - (now + Duration::minutes(5))).num_seconds().abs() < 120 {
                    *text = "<now + resolve_timeout>".into();
                }
            }
        }
        _ => {}
    }
}

/// Goal: every API v2 answer Klaxon gives for this scenario equals Alertmanager 0.25's.
/// Method: both servers get each request in turn; the first difference fails the test with
/// both answers.
#[tokio::test]
async fn api_v2_answers_match_alertmanager() {
    let scratch = ScratchDir::new("api-diff");
    let config = scratch.write("alertmanager.yml", CONFIG);
    let alertmanager =
        Server::start(Implementation::Alertmanager, "127.0.0.31:19093", &config, &[]);
    let klaxon = Server::start(Implementation::Klaxon, "127.0.0.32:19093", &config, &[]);
    let client = reqwest::Client::new();
    let now = Utc::now();
    let t = DateTime::from_timestamp(now.timestamp(), 0).expect("whole seconds");
    let mut ids: HashMap<&str, Ids> =
        HashMap::from([("am", Ids::default()), ("kx", Ids::default())]);
    let mut differences = Vec::new();
    for (index, step) in scenario(t).into_iter().enumerate() {
        let mut replies = Vec::new();
        for (key, server) in [("am", &alertmanager), ("kx", &klaxon)] {
            let server_ids = ids.get_mut(key).expect("known server");
            let path = server_ids.substitute(&step.path);
            let body = step.body.as_deref().map(|b| server_ids.substitute(b));
            let reply =
                request(&client, step.method, &format!("{}{path}", server.url), body.as_deref())
                    .await;
            server_ids.learn(&reply);
            replies.push(normalise(&reply, server_ids, now));
        }
        if replies[0] != replies[1] {
            differences.push(format!(
                "step {index}: {} {} {}\n  alertmanager: {} {}\n  klaxon:       {} {}",
                step.method,
                step.path,
                step.body.as_deref().unwrap_or(""),
                replies[0].0,
                replies[0].1,
                replies[1].0,
                replies[1].1
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
}
