//! Prometheus' rules API, as Prometheus 2.42 shapes it: `GET /api/v1/rules` (groups, rules,
//! their health and alerts; `?type=alert|record`) and `GET /api/v1/alerts` (every pending
//! and firing alert). Grafana and other Prometheus clients read them unchanged. Expression
//! rules appear as alerting rules (their `query` is the JSON of their queries and
//! expressions), with Grafana's instance state alongside the Prometheus one. Each group
//! also says whether this instance evaluates it (`owned`, `ownedSince`) and, when rule
//! groups are sharded, which cluster members do (`owners`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Json, Response};
use chrono::{DateTime, Utc};
use ruler::alerting::{Alert, AlertingRule};
use ruler::engine::RuleState;
use ruler::expr::rule::ExpressionRule;
use ruler::expr::state::{GrafanaState, Instance};
use serde_json::{Value, json};

use crate::app::App;

/// `GET /api/v1/alerts`.
pub(crate) async fn get_alerts(State(app): State<Arc<App>>) -> Response {
    let mut alerts = Vec::new();
    if let Some(engine) = app.rules.get().map(|generator| generator.engine()) {
        for group in engine.groups() {
            for rule in &group.state().rules {
                match rule {
                    RuleState::Alerting(rule) => {
                        alerts.extend(rule.active_alerts().into_iter().map(alert_json));
                    }
                    RuleState::Expression(rule) => {
                        alerts.extend(rule.instances.active().into_iter().map(instance_json));
                    }
                    RuleState::Recording(_) => {}
                }
            }
        }
    }
    success(json!({"alerts": alerts}))
}

/// `GET /api/v1/rules`.
pub(crate) async fn get_rules(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let kind = query.get("type").map(String::as_str).unwrap_or("");
    if !matches!(kind, "" | "alert" | "record") {
        let body = json!({"status": "error", "errorType": "bad_data", "error": format!("invalid query parameter type='{kind}', must be one of 'alert' or 'record'")});
        return (axum::http::StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    let mut groups = Vec::new();
    if let Some(engine) = app.rules.get().map(|generator| generator.engine()) {
        for group in engine.groups() {
            let state = group.state();
            let rules: Vec<Value> = state
                .rules
                .iter()
                .filter_map(|rule| match rule {
                    RuleState::Alerting(rule) if kind != "record" => Some(alerting_rule_json(rule)),
                    RuleState::Expression(rule) if kind != "record" => {
                        Some(expression_rule_json(rule))
                    }
                    RuleState::Recording(rule) if kind != "alert" => Some(json!({
                        "name": rule.record,
                        "query": rule.expr,
                        "labels": rule.labels.iter().cloned().collect::<HashMap<_, _>>(),
                        "health": "unknown",
                        "evaluationTime": 0.0,
                        "lastEvaluation": go_time(None),
                        "type": "recording",
                    })),
                    _ => None,
                })
                .collect();
            let mut body = json!({
                "name": group.spec.name,
                "file": group.spec.file.display().to_string(),
                "rules": rules,
                "interval": group.interval.as_secs_f64(),
                "limit": group.spec.limit,
                "evaluationTime": state.evaluation_duration.as_secs_f64(),
                "lastEvaluation": go_time(state.last_evaluation),
                "owned": state.owned,
                "owners": state.owners,
            });
            if let Some(since) = state.owned_since {
                body["ownedSince"] = Value::from(go_time(Some(since)));
            }
            groups.push(body);
        }
    }
    success(json!({"groups": groups}))
}

fn alerting_rule_json(rule: &AlertingRule) -> Value {
    let mut body = json!({
        "state": rule.state().as_str(),
        "name": rule.spec.name,
        "query": rule.spec.expr,
        "duration": rule.spec.for_.as_secs_f64(),
        "keepFiringFor": rule.spec.keep_firing_for.as_secs_f64(),
        "labels": rule.spec.labels.iter().cloned().collect::<HashMap<_, _>>(),
        "annotations": rule.spec.annotations.iter().cloned().collect::<HashMap<_, _>>(),
        "alerts": rule.active_alerts().into_iter().map(alert_json).collect::<Vec<_>>(),
        "health": rule.health.as_str(),
        "evaluationTime": rule.evaluation_duration.as_secs_f64(),
        "lastEvaluation": go_time(rule.last_evaluation),
        "type": "alerting",
    });
    if let Some(error) = &rule.last_error {
        body["lastError"] = Value::from(error.as_str());
    }
    body
}

fn expression_rule_json(rule: &ExpressionRule) -> Value {
    let spec = &rule.rule.spec;
    let mut body = json!({
        "state": rule.instances.rule_state(),
        "name": spec.title,
        "uid": spec.uid,
        "folderUid": rule.folder,
        "query": serde_json::to_string(&spec.data).unwrap_or_default(),
        "duration": rule.rule.for_.as_secs_f64(),
        "keepFiringFor": rule.rule.keep_firing_for.as_secs_f64(),
        "labels": spec.labels,
        "annotations": spec.annotations,
        "alerts": rule.instances.active().into_iter().map(instance_json).collect::<Vec<_>>(),
        "health": rule.health,
        "evaluationTime": rule.evaluation_duration.as_secs_f64(),
        "lastEvaluation": go_time(rule.last_evaluation),
        "isPaused": spec.is_paused,
        "type": "alerting",
    });
    if let Some(error) = &rule.last_error {
        body["lastError"] = Value::from(error.as_str());
    }
    body
}

fn instance_json(instance: &Instance) -> Value {
    let map = |labels: &model::LabelSet| {
        Value::Object(labels.iter().map(|(k, v)| (k.to_owned(), Value::from(v))).collect())
    };
    json!({
        "labels": map(&instance.labels),
        "annotations": map(&instance.annotations),
        "state": instance.state.prometheus_name(),
        "grafanaState": instance.display_state(),
        "activeAt": go_time(Some(match instance.state {
            GrafanaState::Pending => instance.starts_at,
            _ => instance.fired_at.unwrap_or(instance.starts_at),
        })),
        "value": go_float_e(instance.value.unwrap_or(f64::NAN)),
    })
}

fn alert_json(alert: &Alert) -> Value {
    let map = |labels: &model::LabelSet| {
        Value::Object(labels.iter().map(|(k, v)| (k.to_owned(), Value::from(v))).collect())
    };
    json!({
        "labels": map(&alert.labels),
        "annotations": map(&alert.annotations),
        "state": alert.state.as_str(),
        "activeAt": go_time(Some(alert.active_at)),
        "value": go_float_e(alert.value),
    })
}

pub(super) fn success(data: Value) -> Response {
    Json(json!({"status": "success", "data": data})).into_response()
}

/// A time as Go's JSON encoding writes `time.Time` (the zero time when unset).
pub(super) fn go_time(time: Option<DateTime<Utc>>) -> String {
    match time {
        Some(time) => time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        None => "0001-01-01T00:00:00Z".to_owned(),
    }
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`, which Prometheus uses for alert values.
pub(super) fn go_float_e(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let text = format!("{v:e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.abs())
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_are_printed_as_go_prints_them() {
        assert_eq!(super::go_float_e(1.0), "1e+00");
        assert_eq!(super::go_float_e(42.5), "4.25e+01");
        assert_eq!(super::go_float_e(0.000_012_5), "1.25e-05");
        assert_eq!(super::go_float_e(-3e120), "-3e+120");
    }
}
