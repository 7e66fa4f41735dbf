//! The HTTP API: Alertmanager's API v2 with its paths, JSON shapes and status codes, the
//! `/-/` management endpoints and `/metrics`, all under the route prefix; plus Prometheus'
//! `GET /api/v1/rules` and `GET /api/v1/alerts` for the alert generator, and the rules API
//! for expression-rule groups on Grafana's ruler paths.

use std::sync::Arc;

use axum::Router;
use axum::routing::{any, get, post};

use crate::app::App;

mod alerts;
mod error;
mod groups;
mod history;
mod query;
mod rfc3339;
mod ruler;
mod rules;
mod silences;
mod status;
mod types;

/// Largest request body accepted (Alertmanager has no limit; a bound keeps one client from
/// exhausting memory).
const REQUEST_BODY_BYTES_MAX: usize = 64 * 1024 * 1024;

/// The whole router, mounted under `prefix` ("" for the root).
pub fn router(app: Arc<App>, prefix: &str) -> Router {
    let api = Router::new()
        .route("/api/v2/status", get(status::get_status))
        .route("/api/v2/receivers", get(status::get_receivers))
        .route("/api/v2/alerts", get(alerts::get_alerts).post(alerts::post_alerts))
        .route("/api/v2/alerts/groups", get(groups::get_alert_groups))
        .route("/api/v2/silences", get(silences::get_silences).post(silences::post_silences))
        .route("/api/v2/silence/{id}", get(silences::get_silence).delete(silences::delete_silence))
        // Prometheus' rules API shares the /api/v1 prefix with Alertmanager's removed v1 API:
        // these two GETs are Prometheus', everything else under /api/v1 stays 410.
        .route("/api/v1/rules", get(rules::get_rules).fallback(status::gone))
        .route("/api/v1/rules/history", get(history::get_history).fallback(status::gone))
        .route("/api/v1/alerts", get(rules::get_alerts).fallback(status::gone))
        .route("/api/v1/{*rest}", any(status::gone))
        .route("/api/ruler/grafana/api/v1/rules", get(ruler::get_all))
        .route(
            "/api/ruler/grafana/api/v1/rules/{folder}",
            get(ruler::get_folder).post(ruler::post_group).delete(ruler::delete_folder),
        )
        .route(
            "/api/ruler/grafana/api/v1/rules/{folder}/{group}",
            get(ruler::get_group).delete(ruler::delete_group),
        )
        .route(
            "/api/ruler/grafana/api/v1/rules/{folder}/{group}/versions",
            get(ruler::get_versions),
        )
        .route("/-/healthy", get(status::ok).head(status::ok))
        .route("/-/ready", get(status::ready).head(status::ready))
        .route("/-/reload", post(status::reload))
        .route("/metrics", get(status::metrics))
        .layer(axum::extract::DefaultBodyLimit::max(REQUEST_BODY_BYTES_MAX))
        .with_state(app);
    if prefix.is_empty() { api } else { Router::new().nest(prefix, api) }
}
