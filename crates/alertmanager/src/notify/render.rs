//! What the templated integrations share: the template data of a notification (0.25's
//! `GetTemplateData`), rendering that keeps the first error (0.25's `TmplText`/`TmplHTML`),
//! the truncation helpers with their `…` marker, the group key hash used as dedup key, and
//! the status-code check (0.25's `Retrier`).

use chrono::{DateTime, FixedOffset};
use model::{Alert, LabelSet};
use sha2::Digest;

use super::webhook::quote_meta;
use super::{NotifyContext, NotifyError};
use crate::dispatch::aggregate::resolved_at;
use crate::template::{self, GoTime, Kv, Templates};

fn kv(labels: &LabelSet) -> Kv {
    Kv::new(labels.iter())
}

fn go_time(time: DateTime<FixedOffset>) -> GoTime {
    let utc = time.to_utc();
    if time.offset().local_minus_utc() == 0 {
        GoTime::from_chrono(utc)
    } else {
        GoTime::in_zone(
            utc.timestamp(),
            utc.timestamp_subsec_nanos(),
            time.offset().local_minus_utc(),
            "",
        )
    }
}

/// Labels (or annotations) with the same value in every set.
fn common<'a>(mut sets: impl Iterator<Item = &'a LabelSet>) -> LabelSet {
    let Some(first) = sets.next() else { return LabelSet::new() };
    sets.fold(first.clone(), |common, next| {
        common.filter(|name| common.get(name) == next.get(name))
    })
}

/// The template data of a notification, as 0.25's `template.Data` builds it.
pub fn template_data(
    context: &NotifyContext,
    external_url: &str,
    alerts: &[Alert],
) -> template::Data {
    let items: Vec<template::Alert> = alerts
        .iter()
        .map(|alert| template::Alert {
            status: status_of(alert, context).into(),
            labels: kv(&alert.labels),
            annotations: kv(&alert.annotations),
            starts_at: go_time(alert.starts_at),
            ends_at: go_time(alert.ends_at),
            generator_url: alert.generator_url.to_string(),
            fingerprint: alert.fingerprint().to_string(),
        })
        .collect();
    template::Data {
        receiver: quote_meta(&context.receiver),
        status: group_status(context, alerts).into(),
        alerts: template::Alerts::new(items),
        group_labels: kv(&context.group_labels),
        common_labels: kv(&common(alerts.iter().map(|a| &a.labels))),
        common_annotations: kv(&common(alerts.iter().map(|a| &a.annotations))),
        external_url: external_url.to_owned(),
    }
}

fn status_of(alert: &Alert, context: &NotifyContext) -> &'static str {
    if resolved_at(alert, context.now) { "resolved" } else { "firing" }
}

/// `firing` if any alert fires at the attempt's time, else `resolved` (0.25's
/// `types.Alerts(...).Status()`).
pub fn group_status(context: &NotifyContext, alerts: &[Alert]) -> &'static str {
    if alerts.iter().any(|a| status_of(a, context) == "firing") { "firing" } else { "resolved" }
}

/// The SHA-256 of the group key in hex (0.25's `Key.Hash`), the dedup key integrations send.
pub fn key_hash(group_key: &str) -> String {
    hex::encode(sha2::Sha256::digest(group_key.as_bytes()))
}

/// Renders templates against one notification's data, keeping the first error and rendering
/// nothing after it, as 0.25's `TmplText` does.
pub struct Render<'a> {
    templates: &'a Templates,
    data: gotemplate::Value,
    error: Option<gotemplate::Error>,
}

impl<'a> Render<'a> {
    /// A renderer for `data`.
    pub fn new(templates: &'a Templates, data: &template::Data) -> Render<'a> {
        Render { templates, data: data.to_value(), error: None }
    }

    /// `text` rendered with the text set.
    pub fn text(&mut self, text: &str) -> String {
        self.run(text, false)
    }

    /// `text` rendered with the HTML set.
    pub fn html(&mut self, text: &str) -> String {
        self.run(text, true)
    }

    fn run(&mut self, text: &str, html: bool) -> String {
        if self.error.is_some() {
            return String::new();
        }
        let result = if html {
            self.templates.execute_html_string(text, &self.data)
        } else {
            self.templates.execute_text_string(text, &self.data)
        };
        result.unwrap_or_else(|error| {
            self.error = Some(error);
            String::new()
        })
    }

    /// The first error, as a final (not retried) failure prefixed by `context`.
    pub fn check(&self, context: &str) -> Result<(), NotifyError> {
        match &self.error {
            None => Ok(()),
            Some(error) => Err(NotifyError {
                retryable: false,
                message: if context.is_empty() {
                    error.to_string()
                } else {
                    format!("{context}: {error}")
                },
            }),
        }
    }
}

/// The mark a truncated text ends with.
const TRUNCATION_MARKER: &str = "…";

/// Cuts `text` to `limit` characters, the last being `…` (0.25's `TruncateInRunes`); also
/// says whether it cut.
pub fn truncate_in_runes(text: &str, limit: usize) -> (String, bool) {
    if text.chars().count() <= limit {
        return (text.to_owned(), false);
    }
    if limit <= 3 {
        return (text.chars().take(limit).collect(), true);
    }
    let mut out: String = text.chars().take(limit - 1).collect();
    out.push_str(TRUNCATION_MARKER);
    (out, true)
}

/// Cuts `text` to `limit` bytes on a character boundary, ending in `…` (0.25's
/// `TruncateInBytes`).
pub fn truncate_in_bytes(text: &str, limit: usize) -> (String, bool) {
    if text.len() <= limit {
        return (text.to_owned(), false);
    }
    if limit <= 3 {
        let out = if limit == 3 { TRUNCATION_MARKER.to_owned() } else { ".".repeat(limit) };
        return (out, true);
    }
    let cut = text.floor_char_boundary(limit - 3);
    (format!("{}{TRUNCATION_MARKER}", &text[..cut]), true)
}

/// The status codes an integration retries besides 5xx, and how it words an error body.
#[derive(Clone, Default)]
pub struct Retrier {
    /// Extra retryable codes.
    pub retry_codes: Vec<u16>,
    /// Turns a status and body into the error details (default: the body).
    pub details: Option<fn(u16, &str) -> String>,
}

impl Retrier {
    /// Success for 2xx; otherwise an error, retryable for 5xx and the extra codes.
    pub fn check(&self, status: u16, body: &str) -> Result<(), NotifyError> {
        if status / 100 == 2 {
            return Ok(());
        }
        let retryable = status / 100 == 5 || self.retry_codes.contains(&status);
        let details = match &self.details {
            Some(details) => details(status, body),
            None => body.to_owned(),
        };
        let mut message = format!("unexpected status code {status}");
        if !details.is_empty() {
            message.push_str(": ");
            message.push_str(&details);
        }
        Err(NotifyError { retryable, message })
    }

    /// Reads the answer (a bounded part of its body) and checks it.
    pub async fn check_response(&self, response: reqwest::Response) -> Result<(), NotifyError> {
        let status = response.status().as_u16();
        if status / 100 == 2 {
            return Ok(());
        }
        let mut body = response.text().await.unwrap_or_default();
        body.truncate(body.floor_char_boundary(super::http::ERROR_BODY_MAX));
        self.check(status, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_matches_go() {
        assert_eq!(truncate_in_runes("abcdef", 4), ("abc…".into(), true));
        assert_eq!(truncate_in_runes("abcdef", 3), ("abc".into(), true));
        assert_eq!(truncate_in_runes("abc", 3), ("abc".into(), false));
        assert_eq!(truncate_in_bytes("aéééé", 6), ("aé…".into(), true));
        assert_eq!(truncate_in_bytes("abcdef", 3), ("…".into(), true));
        assert_eq!(truncate_in_bytes("abcdef", 2), ("..".into(), true));
    }

    #[test]
    fn retrier_classifies() {
        let retrier = Retrier { retry_codes: vec![429], details: None };
        assert!(retrier.check(204, "").is_ok());
        assert!(retrier.check(503, "x").unwrap_err().retryable);
        assert!(retrier.check(429, "").unwrap_err().retryable);
        let error = retrier.check(400, "bad").unwrap_err();
        assert!(!error.retryable);
        assert_eq!(error.message, "unexpected status code 400: bad");
    }

    #[test]
    fn key_hash_is_sha256_hex() {
        assert_eq!(
            key_hash(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
