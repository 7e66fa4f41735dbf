//! The webhook integration: 0.25's JSON message POSTed to a URL.
//!
//! The body is a wire contract, so it is rendered as Go's `encoding/json` renders
//! `webhook.Message`: fields in struct order, maps with sorted keys, `<`, `>`, `&`, U+2028 and
//! U+2029 escaped, times as RFC 3339 with trailing zeros of the fraction trimmed, and a final
//! newline. The receiver name goes through `regexp.QuoteMeta`, as 0.25's template data does.
//! A 2xx answer is success, 5xx or a transport error is retried, anything else is final (0.25's
//! webhook has no extra retry codes, so 429 is final too).

use chrono::{DateTime, FixedOffset, SecondsFormat};
use model::{Alert, LabelSet};
use serde::Serialize;

use super::http::{ERROR_BODY_MAX, HttpSender};
use super::{BoxFuture, Integration, NotifyContext, NotifyError};
use crate::dispatch::aggregate::resolved_at;

/// 0.25's webhook message (`template.Data` plus the version, group key and truncation count).
#[derive(Debug, Serialize)]
pub struct Message {
    /// Receiver name, regex-quoted.
    pub receiver: String,
    /// `firing` if any alert fires, else `resolved`.
    pub status: &'static str,
    /// The alerts sent.
    pub alerts: Vec<MessageAlert>,
    /// The group labels.
    #[serde(rename = "groupLabels")]
    pub group_labels: LabelSet,
    /// Labels every alert shares.
    #[serde(rename = "commonLabels")]
    pub common_labels: LabelSet,
    /// Annotations every alert shares.
    #[serde(rename = "commonAnnotations")]
    pub common_annotations: LabelSet,
    /// The external URL.
    #[serde(rename = "externalURL")]
    pub external_url: String,
    /// Always `"4"`.
    pub version: &'static str,
    /// The group key.
    #[serde(rename = "groupKey")]
    pub group_key: String,
    /// How many alerts `max_alerts` left out.
    #[serde(rename = "truncatedAlerts")]
    pub truncated_alerts: u64,
}

/// One alert of a [`Message`].
#[derive(Debug, Serialize)]
pub struct MessageAlert {
    /// `firing` or `resolved`.
    pub status: &'static str,
    /// Labels.
    pub labels: LabelSet,
    /// Annotations.
    pub annotations: LabelSet,
    /// Start, Go-formatted.
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    /// End, Go-formatted (`0001-01-01T00:00:00Z` while firing).
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    /// Source link.
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    /// Fingerprint, 16 hex digits.
    pub fingerprint: String,
}

/// Go's `time.Time` JSON form: RFC 3339 with nanoseconds, trailing zeros trimmed, `Z` for a
/// zero offset.
pub fn go_time(time: DateTime<FixedOffset>) -> String {
    let text = time.to_rfc3339_opts(SecondsFormat::Nanos, true);
    // Nanos always writes nine digits after the dot, followed by the offset.
    let Some(dot) = text.find('.') else { return text };
    let (head, rest) = text.split_at(dot);
    let (fraction, offset) = rest[1..].split_at(9);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!("{head}{offset}")
    } else {
        format!("{head}.{fraction}{offset}")
    }
}

/// Go's `regexp.QuoteMeta`.
pub fn quote_meta(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Labels (or annotations) with the same value in every set.
fn common(mut sets: impl Iterator<Item = LabelSet>) -> LabelSet {
    let Some(first) = sets.next() else { return LabelSet::new() };
    sets.fold(first, |common, next| common.filter(|name| common.get(name) == next.get(name)))
}

impl Message {
    /// The message for `alerts` (already truncated), `truncated` having been left out.
    pub fn new(
        context: &NotifyContext,
        external_url: &str,
        alerts: &[Alert],
        truncated: u64,
    ) -> Message {
        let rendered: Vec<MessageAlert> = alerts
            .iter()
            .map(|alert| MessageAlert {
                status: if resolved_at(alert, context.now) { "resolved" } else { "firing" },
                labels: alert.labels.clone(),
                annotations: alert.annotations.clone(),
                starts_at: go_time(alert.starts_at),
                ends_at: go_time(alert.ends_at),
                generator_url: alert.generator_url.to_string(),
                fingerprint: alert.fingerprint().to_string(),
            })
            .collect();
        let firing = rendered.iter().any(|a| a.status == "firing");
        Message {
            receiver: quote_meta(&context.receiver),
            status: if firing { "firing" } else { "resolved" },
            alerts: rendered,
            group_labels: context.group_labels.clone(),
            common_labels: common(alerts.iter().map(|a| a.labels.clone())),
            common_annotations: common(alerts.iter().map(|a| a.annotations.clone())),
            external_url: external_url.to_owned(),
            version: "4",
            group_key: context.group_key.clone(),
            truncated_alerts: truncated,
        }
    }

    /// The body exactly as Go's `json.Encoder` writes it.
    pub fn to_go_json(&self) -> Vec<u8> {
        super::encode::go_json(self)
    }
}

/// A configured webhook.
pub struct Webhook {
    /// Index among the receiver's webhooks.
    pub index: u32,
    /// The endpoint.
    pub url: String,
    /// `send_resolved`.
    pub send_resolved: bool,
    /// `max_alerts` (0: no limit).
    pub max_alerts: u64,
    /// The external URL the message carries.
    pub external_url: String,
    /// The HTTP client and credentials of its `http_config`.
    pub http: HttpSender,
}

impl Webhook {
    async fn send(&self, context: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let limit = usize::try_from(self.max_alerts).unwrap_or(usize::MAX);
        let (sent, truncated) = if self.max_alerts != 0 && alerts.len() > limit {
            (&alerts[..limit], (alerts.len() - limit) as u64)
        } else {
            (alerts, 0)
        };
        let body = Message::new(context, &self.external_url, sent, truncated).to_go_json();
        let request = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        let response = self.http.send(request).await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let mut details = response.text().await.unwrap_or_default();
        details.truncate(details.floor_char_boundary(ERROR_BODY_MAX));
        Err(NotifyError {
            retryable: status.is_server_error(),
            message: format!("unexpected status code {}: {}: {details}", status.as_u16(), self.url),
        })
    }
}

impl Integration for Webhook {
    fn name(&self) -> &'static str {
        "webhook"
    }

    fn index(&self) -> u32 {
        self.index
    }

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn notify<'a>(
        &'a self,
        context: &'a NotifyContext,
        alerts: &'a [Alert],
    ) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.send(context, alerts))
    }
}

#[cfg(test)]
#[path = "webhook_tests.rs"]
mod tests;
