//! `/api/v2/status`, `/api/v2/receivers`, health, readiness, reload and metrics.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde_json::{Value, json};

use alertmanager::silence::SilenceState;

use super::types::{ReceiverJson, format_time};
use crate::app::App;

/// The Alertmanager release whose API Klaxon serves.
const ALERTMANAGER_API_VERSION: &str = "0.25.0";

/// `GET /api/v2/status`; the cluster is `disabled` without `--cluster.listen-address`.
pub(crate) async fn get_status(State(app): State<Arc<App>>) -> Json<Value> {
    let config = app.config.load();
    let cluster = match app.cluster.get() {
        Some(peer) => {
            let peers: Vec<Value> = peer
                .peers()
                .into_iter()
                .map(|(name, address)| json!({ "address": address.to_string(), "name": name }))
                .collect();
            json!({ "name": peer.name(), "peers": peers, "status": peer.status() })
        }
        None => json!({ "peers": [], "status": "disabled" }),
    };
    Json(json!({
        "cluster": cluster,
        "config": { "original": config.config.original_yaml() },
        "uptime": format_time(app.started_at),
        // amtool compares `version` with its own and warns on a difference: report the
        // Alertmanager API level Klaxon implements, and Klaxon's own version beside it.
        "versionInfo": {
            "branch": "klaxon",
            "buildDate": "",
            "buildUser": "klaxon",
            "goVersion": "none (Rust)",
            "revision": concat!("klaxon-", env!("CARGO_PKG_VERSION")),
            "version": ALERTMANAGER_API_VERSION,
        },
    }))
}

/// `GET /api/v2/receivers`: every receiver in configuration order.
pub(crate) async fn get_receivers(State(app): State<Arc<App>>) -> Json<Vec<ReceiverJson>> {
    let config = app.config.load();
    Json(config.config.receivers.iter().map(|r| ReceiverJson { name: r.name.clone() }).collect())
}

/// `/-/healthy`.
pub(crate) async fn ok() -> &'static str {
    "OK"
}

/// `/-/ready`: unlike 0.25 (which always answers 200, its #4315), a clustered node is not
/// ready until gossip has settled, so a load balancer does not send it traffic before it has
/// the cluster's silences.
pub(crate) async fn ready(State(app): State<Arc<App>>) -> Response {
    match app.cluster.get() {
        Some(peer) if !peer.ready() => {
            (StatusCode::SERVICE_UNAVAILABLE, "Cluster not settled yet\n").into_response()
        }
        _ => "OK".into_response(),
    }
}

/// `POST /-/reload`: 200 when the file loaded, 500 with the reason when it did not (the
/// running configuration stays).
pub(crate) async fn reload(State(app): State<Arc<App>>) -> Response {
    match app.reload() {
        Ok(()) => StatusCode::OK.into_response(),
        Err(reason) => {
            (StatusCode::INTERNAL_SERVER_ERROR, format!("failed to reload config: {reason}\n"))
                .into_response()
        }
    }
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(app): State<Arc<App>>) -> Response {
    let now = app.now();
    let (mut active, mut suppressed) = (0u64, 0u64);
    let (mut marked_active, mut marked_suppressed) = (0u64, 0u64);
    {
        let silences = app.silences();
        for state in [SilenceState::Active, SilenceState::Pending, SilenceState::Expired] {
            app.metrics
                .silences
                .with_label_values(&[state.as_str()])
                .set(silences.count(state, now) as f64);
        }
        app.alerts.for_each(|alert| {
            let muted = !silences.mutes(&alert.labels, now).is_empty()
                || !app.inhibited_by(&alert.labels, now).is_empty();
            // Marked alerts count resolved ones too, until the alert GC drops them.
            if muted {
                marked_suppressed += 1;
            } else {
                marked_active += 1;
            }
            if alert.ends_at < now {
                return;
            }
            if !muted {
                active += 1;
            } else {
                suppressed += 1;
            }
        });
    }
    let marked = &app.metrics.pipeline.marked_alerts;
    marked.with_label_values(&["active"]).set(marked_active as f64);
    marked.with_label_values(&["suppressed"]).set(marked_suppressed as f64);
    marked.with_label_values(&["unprocessed"]).set(0.0);
    app.metrics.alerts.with_label_values(&["active"]).set(active as f64);
    app.metrics.alerts.with_label_values(&["suppressed"]).set(suppressed as f64);
    app.metrics.alerts.with_label_values(&["unprocessed"]).set(0.0);
    app.metrics.aggregation_groups.set(app.dispatch.with(|dispatcher| dispatcher.len()) as f64);
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        app.metrics.render(),
    )
        .into_response()
}

/// The removed v1 API: 410 Gone, as newer Alertmanagers answer.
pub(crate) async fn gone() -> Response {
    (
        StatusCode::GONE,
        Json(json!({
            "status": "deprecated",
            "error": "The Alertmanager v1 API is not served: use the equivalent route in the v2 API"
        })),
    )
        .into_response()
}
