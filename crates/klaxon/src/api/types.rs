//! JSON shapes of Alertmanager's API v2 (field names and nesting as its OpenAPI spec has them),
//! and the time format its go-openapi layer writes.

use chrono::{DateTime, SecondsFormat, Utc};
use model::LabelSet;
use serde::{Deserialize, Deserializer, Serialize};

/// Formats a time as go-openapi's `strfmt.DateTime` does: RFC 3339 with milliseconds.
pub(crate) fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Go's zero time, which clients send to mean "unset".
fn is_go_zero(time: &DateTime<Utc>) -> bool {
    time.timestamp() == -62135596800 && time.timestamp_subsec_nanos() == 0
}

/// Reads an optional time; Go's zero time counts as absent.
pub(crate) fn optional_time<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    let time: Option<DateTime<Utc>> = Option::deserialize(deserializer)?;
    Ok(time.filter(|t| !is_go_zero(t)))
}

/// `postableAlert`.
#[derive(Debug, Deserialize)]
pub(crate) struct PostableAlert {
    /// Labels (required).
    pub(crate) labels: Option<LabelSet>,
    /// Annotations.
    #[serde(default)]
    pub(crate) annotations: Option<LabelSet>,
    /// Start.
    #[serde(rename = "startsAt", default, deserialize_with = "optional_time")]
    pub(crate) starts_at: Option<DateTime<Utc>>,
    /// End.
    #[serde(rename = "endsAt", default, deserialize_with = "optional_time")]
    pub(crate) ends_at: Option<DateTime<Utc>>,
    /// Source link.
    #[serde(rename = "generatorURL", default)]
    pub(crate) generator_url: Option<String>,
}

/// `receiver`.
#[derive(Debug, Serialize)]
pub(crate) struct ReceiverJson {
    /// Receiver name.
    pub(crate) name: String,
}

/// `alertStatus`.
#[derive(Debug, Serialize)]
pub(crate) struct AlertStatusJson {
    /// Inhibiting alerts' fingerprints.
    #[serde(rename = "inhibitedBy")]
    pub(crate) inhibited_by: Vec<String>,
    /// Silence ids.
    #[serde(rename = "silencedBy")]
    pub(crate) silenced_by: Vec<String>,
    /// `active`, `suppressed` or `unprocessed`.
    pub(crate) state: &'static str,
}

/// `gettableAlert`.
#[derive(Debug, Serialize)]
pub(crate) struct GettableAlert {
    /// Annotations.
    pub(crate) annotations: LabelSet,
    /// End.
    #[serde(rename = "endsAt")]
    pub(crate) ends_at: String,
    /// Fingerprint, 16 hex digits.
    pub(crate) fingerprint: String,
    /// Receivers the alert routes to.
    pub(crate) receivers: Vec<ReceiverJson>,
    /// Start.
    #[serde(rename = "startsAt")]
    pub(crate) starts_at: String,
    /// Status.
    pub(crate) status: AlertStatusJson,
    /// Last update.
    #[serde(rename = "updatedAt")]
    pub(crate) updated_at: String,
    /// Source link.
    #[serde(rename = "generatorURL", skip_serializing_if = "str::is_empty")]
    pub(crate) generator_url: String,
    /// Labels.
    pub(crate) labels: LabelSet,
}

/// `matcher` in silences.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct MatcherJson {
    /// Label name.
    pub(crate) name: String,
    /// Value or pattern.
    pub(crate) value: String,
    /// Regex operator.
    #[serde(rename = "isRegex")]
    pub(crate) is_regex: bool,
    /// Positive operator (`=`/`=~`); defaults to true.
    #[serde(rename = "isEqual", default = "default_true")]
    pub(crate) is_equal: bool,
}

fn default_true() -> bool {
    true
}

/// `postableSilence`.
#[derive(Debug, Deserialize)]
pub(crate) struct PostableSilence {
    /// Set to update an existing silence.
    #[serde(default)]
    pub(crate) id: Option<String>,
    /// Matchers.
    pub(crate) matchers: Option<Vec<MatcherJson>>,
    /// Start.
    #[serde(rename = "startsAt", default, deserialize_with = "optional_time")]
    pub(crate) starts_at: Option<DateTime<Utc>>,
    /// End.
    #[serde(rename = "endsAt", default, deserialize_with = "optional_time")]
    pub(crate) ends_at: Option<DateTime<Utc>>,
    /// Author.
    #[serde(rename = "createdBy")]
    pub(crate) created_by: Option<String>,
    /// Comment.
    pub(crate) comment: Option<String>,
}

/// `silenceStatus`.
#[derive(Debug, Serialize)]
pub(crate) struct SilenceStatusJson {
    /// `pending`, `active` or `expired`.
    pub(crate) state: &'static str,
}

/// `gettableSilence`.
#[derive(Debug, Serialize)]
pub(crate) struct GettableSilence {
    /// Id.
    pub(crate) id: String,
    /// Status.
    pub(crate) status: SilenceStatusJson,
    /// Last update.
    #[serde(rename = "updatedAt")]
    pub(crate) updated_at: String,
    /// Comment.
    pub(crate) comment: String,
    /// Author.
    #[serde(rename = "createdBy")]
    pub(crate) created_by: String,
    /// End.
    #[serde(rename = "endsAt")]
    pub(crate) ends_at: String,
    /// Matchers.
    pub(crate) matchers: Vec<MatcherJson>,
    /// Start.
    #[serde(rename = "startsAt")]
    pub(crate) starts_at: String,
}
