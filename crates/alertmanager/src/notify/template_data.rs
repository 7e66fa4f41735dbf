//! The template data of one notification (Alertmanager's `GetTemplateData`): the receiver
//! name regex-quoted, each alert's status at the attempt's time, the group labels, and the
//! labels and annotations every alert shares.

use model::{Alert, LabelSet};

use super::NotifyContext;
use super::webhook::{go_time, quote_meta};
use crate::dispatch::aggregate::resolved_at;
use crate::template::{self, Alerts, Data, GoTime, Kv};

fn kv(labels: &LabelSet) -> Kv {
    Kv::new(labels.iter())
}

/// Labels (or annotations) with the same value in every set.
fn common<'a>(mut sets: impl Iterator<Item = &'a LabelSet>) -> Kv {
    let Some(first) = sets.next() else { return Kv::default() };
    let shared = sets.fold(first.clone(), |shared, next| {
        shared.filter(|name| shared.get(name) == next.get(name))
    });
    kv(&shared)
}

/// Times as the alert carries them, through their RFC 3339 form (so zones read as Go's do).
fn time(t: chrono::DateTime<chrono::FixedOffset>) -> GoTime {
    GoTime::parse_rfc3339(&go_time(t)).unwrap_or_else(|_| GoTime::zero())
}

/// The data templates see for `alerts`, sent by `context`.
pub fn template_data(context: &NotifyContext, external_url: &str, alerts: &[Alert]) -> Data {
    let rendered: Vec<template::Alert> = alerts
        .iter()
        .map(|alert| template::Alert {
            status: if resolved_at(alert, context.now) { "resolved" } else { "firing" }.into(),
            labels: kv(&alert.labels),
            annotations: kv(&alert.annotations),
            starts_at: time(alert.starts_at),
            ends_at: time(alert.ends_at),
            generator_url: alert.generator_url.to_string(),
            fingerprint: alert.fingerprint().to_string(),
        })
        .collect();
    let firing = rendered.iter().any(|a| a.status == "firing");
    Data {
        receiver: quote_meta(&context.receiver),
        status: if firing { "firing" } else { "resolved" }.into(),
        alerts: Alerts::new(rendered),
        group_labels: kv(&context.group_labels),
        common_labels: common(alerts.iter().map(|a| &a.labels)),
        common_annotations: common(alerts.iter().map(|a| &a.annotations)),
        external_url: external_url.to_owned(),
    }
}
