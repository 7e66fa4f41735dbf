//! `GET /api/v2/alerts/groups`: the dispatcher's aggregation groups with their current
//! alerts, filtered as 0.25 filters them.
//!
//! The `receiver` filter applies to the group's route, the other filters to each alert; a
//! group left without alerts is not listed. An alert's receivers are those of the listed
//! groups that hold it, sorted. Groups are ordered by labels (prometheus/common's `Before`),
//! then receiver; alerts as the dispatcher orders them.

use std::collections::HashMap;
use std::sync::Arc;

use alertmanager::dispatch::aggregate::{compare_alerts, compare_label_sets};
use axum::extract::{RawQuery, State};
use axum::response::Json;
use model::{Alert, Fingerprint, LabelSet};
use serde::Serialize;

use super::alerts::{AlertFilter, gettable_alert, matches_filter_labels};
use super::error::ApiError;
use super::query::QueryParams;
use super::types::{GettableAlert, ReceiverJson};
use crate::app::App;

/// `alertGroup`.
#[derive(Debug, Serialize)]
pub(crate) struct AlertGroupJson {
    alerts: Vec<GettableAlert>,
    labels: LabelSet,
    receiver: ReceiverJson,
}

/// One alert kept by the filter, with its status.
struct Kept {
    alert: Alert,
    silenced_by: Vec<String>,
    inhibited_by: Vec<String>,
}

/// `GET /api/v2/alerts/groups`.
pub(crate) async fn get_alert_groups(
    State(app): State<Arc<App>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<AlertGroupJson>>, ApiError> {
    let filter = AlertFilter::from_query(&QueryParams::parse(raw.as_deref()))?;
    let now = app.now();
    let silences = app.silences();
    let mut receivers: HashMap<Fingerprint, Vec<String>> = HashMap::new();
    let mut groups: Vec<(LabelSet, String, Vec<Kept>)> = Vec::new();
    app.dispatch.with(|dispatcher| {
        for (_, group) in dispatcher.groups() {
            let receiver = &group.route.options.receiver;
            if filter.receiver.as_ref().is_some_and(|regex| !regex.is_match(receiver)) {
                continue;
            }
            let mut kept = Vec::new();
            for alert in group.alerts.values() {
                if alert.ends_at < now {
                    continue;
                }
                let silenced_by = silences.mutes(&alert.labels, now);
                let inhibited_by = app.inhibited_by(&alert.labels, now);
                let active = silenced_by.is_empty() && inhibited_by.is_empty();
                if (!filter.active && active)
                    || (!filter.silenced && !silenced_by.is_empty())
                    || (!filter.inhibited && !inhibited_by.is_empty())
                    || !matches_filter_labels(&filter.matchers, &alert.labels)
                {
                    continue;
                }
                receivers.entry(alert.fingerprint()).or_default().push(receiver.clone());
                kept.push(Kept { alert: (**alert).clone(), silenced_by, inhibited_by });
            }
            if !kept.is_empty() {
                groups.push((group.labels.clone(), receiver.clone(), kept));
            }
        }
    });
    drop(silences);
    groups.sort_by(|a, b| compare_label_sets(&a.0, &b.0).then_with(|| a.1.cmp(&b.1)));
    for names in receivers.values_mut() {
        names.sort();
    }
    let result = groups
        .into_iter()
        .map(|(labels, receiver, mut kept)| {
            kept.sort_by(|a, b| compare_alerts(&a.alert, &b.alert));
            let alerts = kept
                .into_iter()
                .map(|Kept { alert, silenced_by, inhibited_by }| {
                    let names = receivers.get(&alert.fingerprint()).cloned().unwrap_or_default();
                    let names = names.into_iter().map(|name| ReceiverJson { name }).collect();
                    let active = silenced_by.is_empty() && inhibited_by.is_empty();
                    let state = if active { "active" } else { "suppressed" };
                    gettable_alert(&alert, names, silenced_by, inhibited_by, state)
                })
                .collect();
            AlertGroupJson { alerts, labels, receiver: ReceiverJson { name: receiver } }
        })
        .collect();
    Ok(Json(result))
}
