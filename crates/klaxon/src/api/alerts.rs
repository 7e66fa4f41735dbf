//! `/api/v2/alerts`: ingestion with Alertmanager's defaults and validation, and the filtered
//! listing with each alert's receivers and silencing status.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use chrono::{DateTime, Utc};
use model::{Alert, LabelSet, Matcher};

use super::error::ApiError;
use super::query::QueryParams;
use super::types::{AlertStatusJson, GettableAlert, PostableAlert, ReceiverJson, format_time};
use crate::app::App;

/// `POST /api/v2/alerts`: stores every valid alert; any invalid one makes the answer a 400
/// listing every reason, but the valid ones are kept.
pub(crate) async fn post_alerts(
    State(app): State<Arc<App>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    // Checking the body's UTF-8 once lets the parser take every string as is; it would
    // otherwise validate each one. A body that is not UTF-8 goes the checking way, for the
    // same error.
    let parsed = match std::str::from_utf8(&body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(&body),
    };
    let postable: Vec<PostableAlert<'_>> =
        parsed.map_err(|error| ApiError::unparseable("alerts", error))?;
    check_schema(&postable)?;
    let now = app.now();
    let resolve_timeout = app.config.load().config.global.resolve_timeout;
    let mut valid = Vec::with_capacity(postable.len());
    let mut reasons = Vec::new();
    let (mut firing, mut resolved) = (0, 0);
    let mut generator_urls = GeneratorUrls::default();
    for alert in postable {
        let alert = with_defaults(&app, &mut generator_urls, alert, now, resolve_timeout);
        if alert.ends_at > now {
            firing += 1;
        } else {
            resolved += 1;
        }
        match validate(&alert) {
            Ok(()) => valid.push(alert),
            Err(reason) => reasons.push(reason),
        }
    }
    app.metrics.alerts_received.with_label_values(&["firing", "v2"]).inc_by(firing);
    app.metrics.alerts_received.with_label_values(&["resolved", "v2"]).inc_by(resolved);
    app.metrics.alerts_invalid.with_label_values(&["v2"]).inc_by(reasons.len() as u64);
    let stored = app.alerts.put_fingerprinted(valid, now);
    app.alerts_accepted(&stored, now);
    if !reasons.is_empty() {
        return Err(ApiError::BadRequest(reasons.join("; ")));
    }
    Ok(StatusCode::OK.into_response())
}

/// The OpenAPI schema checks go-swagger makes before Alertmanager sees the batch: a
/// `generatorURL` must be a URI and `labels` is required. The first violation rejects the
/// whole batch with 422.
fn check_schema(alerts: &[PostableAlert<'_>]) -> Result<(), ApiError> {
    for (index, alert) in alerts.iter().enumerate() {
        if let Some(url) =
            alert.generator_url.as_ref().map(AsRef::as_ref).filter(|url: &&str| !url.is_empty())
            && !is_request_uri(url)
        {
            return Err(ApiError::invalid_format(
                &format!("{index}.generatorURL"),
                "body",
                "uri",
                url,
            ));
        }
        if alert.labels.is_none() {
            return Err(ApiError::required(&format!("{index}.labels")));
        }
    }
    Ok(())
}

/// Go's `url.ParseRequestURI` acceptance, which the `uri` format uses: an absolute URI
/// (`scheme:...`) or an absolute path.
fn is_request_uri(text: &str) -> bool {
    if text.starts_with('/') {
        return !text.contains(char::is_whitespace);
    }
    let Some((scheme, _)) = text.split_once(':') else { return false };
    let mut chars = scheme.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !text.contains(char::is_whitespace)
}

/// Applies Alertmanager's ingestion defaults: a missing start is the end (or now), a missing
/// end is now plus `resolve_timeout` and marks the alert as timing out; empty labels go.
fn with_defaults(
    app: &App,
    generator_urls: &mut GeneratorUrls,
    alert: PostableAlert<'_>,
    now: DateTime<Utc>,
    resolve_timeout: std::time::Duration,
) -> Alert {
    let starts_at = alert.starts_at.or(alert.ends_at).unwrap_or(now.fixed_offset());
    let (ends_at, timeout) = match alert.ends_at {
        Some(ends_at) => (ends_at, false),
        None => (
            (now + chrono::Duration::from_std(resolve_timeout).unwrap_or_default()).fixed_offset(),
            true,
        ),
    };
    let generator_url = alert.generator_url.as_ref().map(AsRef::as_ref).unwrap_or("");
    let generator_url = generator_urls.shared(app, generator_url);
    Alert {
        labels: LabelSet::from_pairs_without_empty_values(alert.labels.unwrap_or_default().0),
        annotations: LabelSet::from_pairs(alert.annotations.unwrap_or_default().0),
        starts_at,
        ends_at,
        generator_url,
        updated_at: now,
        timeout,
    }
}

/// The shared copy of the last generator URL a batch used: alerts of one batch mostly come
/// from one source, and asking the store's interner takes a lock and a hash per alert.
#[derive(Default)]
struct GeneratorUrls {
    last: Option<Arc<String>>,
}

impl GeneratorUrls {
    fn shared(&mut self, app: &App, url: &str) -> Arc<String> {
        match &self.last {
            Some(shared) if **shared == *url => shared.clone(),
            _ => self.last.insert(app.alerts.intern_generator_url(url)).clone(),
        }
    }
}

/// Alertmanager's `Alert.Validate`, with its messages.
fn validate(alert: &Alert) -> Result<(), String> {
    if alert.ends_at < alert.starts_at {
        return Err("start time must be before end time".to_owned());
    }
    if let Some(name) = alert.labels.names().find(|name| !is_valid_label_name(name)) {
        return Err(format!("invalid label set: invalid name {}", model::quote::go_quote(name)));
    }
    if alert.labels.is_empty() {
        return Err("at least one label pair required".to_owned());
    }
    if let Some(name) = alert.annotations.names().find(|name| !is_valid_label_name(name)) {
        return Err(format!("invalid annotations: invalid name {}", model::quote::go_quote(name)));
    }
    Ok(())
}

/// Prometheus's classic label name rule, which Alertmanager 0.25 enforces.
fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Which alerts `GET /api/v2/alerts` keeps.
pub(crate) struct AlertFilter {
    pub(crate) active: bool,
    pub(crate) silenced: bool,
    pub(crate) inhibited: bool,
    pub(crate) unprocessed: bool,
    pub(crate) matchers: Vec<Matcher>,
    pub(crate) receiver: Option<model::goregex::GoRegex>,
}

impl AlertFilter {
    pub(crate) fn from_query(query: &QueryParams) -> Result<AlertFilter, ApiError> {
        let receiver = match query.first("receiver") {
            Some(pattern) => {
                Some(model::goregex::GoRegex::new_anchored(pattern).map_err(|error| {
                    ApiError::BadRequest(format!("failed to parse receiver param: {error}"))
                })?)
            }
            None => None,
        };
        Ok(AlertFilter {
            active: query.boolean("active", true),
            silenced: query.boolean("silenced", true),
            inhibited: query.boolean("inhibited", true),
            unprocessed: query.boolean("unprocessed", true),
            matchers: query.matchers()?,
            receiver,
        })
    }
}

/// `GET /api/v2/alerts`.
pub(crate) async fn get_alerts(
    State(app): State<Arc<App>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<GettableAlert>>, ApiError> {
    let filter = AlertFilter::from_query(&QueryParams::parse(raw.as_deref()))?;
    let now = app.now();
    let config = app.config.load();
    let silences = app.silences();
    let mut result = Vec::new();
    app.alerts.for_each(|alert| {
        if alert.ends_at < now {
            return;
        }
        let silenced_by = silences.mutes(&alert.labels, now);
        let inhibited_by = app.inhibited_by(&alert.labels, now);
        let state =
            if silenced_by.is_empty() && inhibited_by.is_empty() { "active" } else { "suppressed" };
        if (!filter.active && state == "active")
            || (!filter.unprocessed && state == "unprocessed")
            || (!filter.silenced && !silenced_by.is_empty())
            || (!filter.inhibited && !inhibited_by.is_empty())
            || !matches_filter_labels(&filter.matchers, &alert.labels)
        {
            return;
        }
        let receivers: Vec<ReceiverJson> = config
            .route
            .matching(&alert.labels)
            .into_iter()
            .map(|route| ReceiverJson { name: route.options.receiver.clone() })
            .collect();
        if let Some(regex) = &filter.receiver
            && !receivers.iter().any(|r| regex.is_match(&r.name))
        {
            return;
        }
        result.push(gettable_alert(alert, receivers, silenced_by, inhibited_by, state));
    });
    drop(silences);
    result.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
    Ok(Json(result))
}

pub(crate) fn gettable_alert(
    alert: &Alert,
    receivers: Vec<ReceiverJson>,
    silenced_by: Vec<String>,
    inhibited_by: Vec<String>,
    state: &'static str,
) -> GettableAlert {
    GettableAlert {
        annotations: alert.annotations.clone(),
        ends_at: format_time(alert.ends_at),
        fingerprint: alert.fingerprint().to_string(),
        receivers,
        starts_at: format_time(alert.starts_at),
        status: AlertStatusJson { inhibited_by, silenced_by, state },
        updated_at: format_time(alert.updated_at),
        generator_url: alert.generator_url.to_string(),
        labels: alert.labels.clone(),
    }
}

/// The API's filter semantics: a matcher with an empty value is satisfied by an absent label
/// (for `=`/`=~`) or a present one (for `!=`/`!~`); otherwise the label's value must match.
pub(crate) fn matches_filter_labels(matchers: &[Matcher], labels: &LabelSet) -> bool {
    matchers.iter().all(|matcher| {
        let value = labels.get(&matcher.name);
        if matcher.value.is_empty() && (value.is_some() != matcher.match_type.is_positive()) {
            return true;
        }
        matcher.matches(value.unwrap_or(""))
    })
}
