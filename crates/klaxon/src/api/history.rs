//! `GET /api/v1/rules/history`: the alert generator's state history from the store.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Json, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::rules::{go_float_e, go_time, success};
use crate::app::App;

/// `GET /api/v1/rules/history`: the state history, oldest first. Parameters: `rule` (alert
/// name), `labels_<name>=<value>` (repeatable), `from` and `to` (RFC 3339 or Unix seconds),
/// `limit` (default 1000, at most 10000).
pub(crate) async fn get_history(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let bad = |reason: String| {
        let body = json!({"status": "error", "errorType": "bad_data", "error": reason});
        (axum::http::StatusCode::BAD_REQUEST, Json(body)).into_response()
    };
    let time = |name: &str| -> Result<Option<DateTime<Utc>>, String> {
        let Some(text) = query.get(name) else { return Ok(None) };
        if let Ok(time) = DateTime::parse_from_rfc3339(text) {
            return Ok(Some(time.to_utc()));
        }
        text.parse::<f64>()
            .ok()
            .and_then(|seconds| {
                #[allow(clippy::cast_possible_truncation)] // Unix nanoseconds fit an i64 until 2262
                DateTime::from_timestamp_nanos((seconds * 1e9) as i64).into()
            })
            .map(Some)
            .ok_or_else(|| {
                format!("invalid parameter {name:?}: {text:?} is neither RFC 3339 nor Unix seconds")
            })
    };
    let (from, to) = match (time("from"), time("to")) {
        (Ok(from), Ok(to)) => (from, to),
        (Err(reason), _) | (_, Err(reason)) => return bad(reason),
    };
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None => 1000,
        Some(Ok(limit)) if (1..=10_000).contains(&limit) => limit,
        Some(_) => return bad("invalid parameter \"limit\": expected 1 to 10000".to_owned()),
    };
    let Some(generator) = app.rules.get() else { return success(json!([])) };
    let history_query = store::HistoryQuery {
        rule_name: query.get("rule").cloned().unwrap_or_default(),
        labels: query
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("labels_").map(|name| (name.to_owned(), v.clone())))
            .collect(),
        from,
        to,
        limit,
    };
    match generator.store.query_history(&history_query).await {
        Ok(entries) => success(Value::Array(
            entries
                .into_iter()
                .map(|entry| {
                    json!({
                        "rule": entry.rule_name,
                        "ruleKey": entry.rule_key,
                        "labels": serde_json::from_str::<Value>(&entry.labels).unwrap_or(Value::Null),
                        "previous": entry.previous,
                        "current": entry.current,
                        "value": go_float_e(entry.value),
                        "time": go_time(Some(entry.at)),
                        "instance": entry.instance,
                    })
                })
                .collect(),
        )),
        Err(error) => {
            let body = json!({"status": "error", "errorType": "internal", "error": error.to_string()});
            (axum::http::StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
        }
    }
}
