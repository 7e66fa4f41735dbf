//! JSON shapes of Alertmanager's API v2 (field names and nesting as its OpenAPI spec has them),
//! and the time format its go-openapi layer writes.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, FixedOffset, SecondsFormat, TimeZone, Utc};
use model::LabelSet;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// Formats a time as go-openapi's `strfmt.DateTime` does: RFC 3339 with milliseconds, in the
/// time's own offset (`Z` for UTC).
pub(crate) fn format_time<Tz: TimeZone>(time: DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Go's zero time, which clients send to mean "unset".
fn is_go_zero<Tz: TimeZone>(time: &DateTime<Tz>) -> bool {
    time.timestamp() == -62135596800 && time.timestamp_subsec_nanos() == 0
}

/// Reads an optional time, keeping the sender's offset; Go's zero time counts as absent.
pub(crate) fn optional_time<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
    /// A time read by [`super::rfc3339`] (chrono's rules, faster on the usual shape).
    struct Time(DateTime<FixedOffset>);
    impl<'de> Deserialize<'de> for Time {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            super::rfc3339::deserialize(deserializer).map(Time)
        }
    }
    let time: Option<Time> = Option::deserialize(deserializer)?;
    Ok(time.map(|Time(time)| time).filter(|t| !is_go_zero(t)))
}

/// Reads an optional time as UTC; Go's zero time counts as absent.
pub(crate) fn optional_utc_time<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(optional_time(deserializer)?.map(|t| t.with_timezone(&Utc)))
}

/// A string decoded without a copy when the JSON holds it without escapes.
#[derive(Debug)]
pub(crate) struct BorrowedStr<'a>(pub(crate) Cow<'a, str>);

impl AsRef<str> for BorrowedStr<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for BorrowedStr<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = BorrowedStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                text: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Borrowed(text)))
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Owned(text.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Owned(text)))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

/// Label pairs as posted, in the order given; ingestion builds the `LabelSet` from them, so the
/// JSON is read without an allocation per name and value.
#[derive(Debug, Default)]
pub(crate) struct LabelPairs<'a>(pub(crate) Vec<(BorrowedStr<'a>, BorrowedStr<'a>)>);

impl<'de: 'a, 'a> Deserialize<'de> for LabelPairs<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = LabelPairs<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of label names to string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::with_capacity(access.size_hint().unwrap_or(8));
                while let Some(pair) = access.next_entry::<BorrowedStr<'de>, BorrowedStr<'de>>()? {
                    pairs.push(pair);
                }
                Ok(LabelPairs(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor)
    }
}

/// `postableAlert`.
#[derive(Debug, Deserialize)]
pub(crate) struct PostableAlert<'a> {
    /// Labels (required).
    #[serde(borrow)]
    pub(crate) labels: Option<LabelPairs<'a>>,
    /// Annotations.
    #[serde(default, borrow)]
    pub(crate) annotations: Option<LabelPairs<'a>>,
    /// Start.
    #[serde(rename = "startsAt", default, deserialize_with = "optional_time")]
    pub(crate) starts_at: Option<DateTime<FixedOffset>>,
    /// End.
    #[serde(rename = "endsAt", default, deserialize_with = "optional_time")]
    pub(crate) ends_at: Option<DateTime<FixedOffset>>,
    /// Source link.
    #[serde(rename = "generatorURL", default, borrow)]
    pub(crate) generator_url: Option<BorrowedStr<'a>>,
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

/// `matcher` in silences, as the API returns it.
#[derive(Debug, Serialize)]
pub(crate) struct MatcherJson {
    /// Positive operator (`=`/`=~`).
    #[serde(rename = "isEqual")]
    pub(crate) is_equal: bool,
    /// Regex operator.
    #[serde(rename = "isRegex")]
    pub(crate) is_regex: bool,
    /// Label name.
    pub(crate) name: String,
    /// Value or pattern.
    pub(crate) value: String,
}

/// `matcher` in a posted silence; required fields are checked after decoding, as go-swagger
/// does, so their absence gets its 422 answer.
#[derive(Debug, Deserialize)]
pub(crate) struct PostableMatcher {
    /// Label name (required).
    pub(crate) name: Option<String>,
    /// Value or pattern (required).
    pub(crate) value: Option<String>,
    /// Regex operator (required).
    #[serde(rename = "isRegex")]
    pub(crate) is_regex: Option<bool>,
    /// Positive operator; defaults to true.
    #[serde(rename = "isEqual")]
    pub(crate) is_equal: Option<bool>,
}

/// `postableSilence`.
#[derive(Debug, Deserialize)]
pub(crate) struct PostableSilence {
    /// Set to update an existing silence.
    #[serde(default)]
    pub(crate) id: Option<String>,
    /// Matchers.
    pub(crate) matchers: Option<Vec<PostableMatcher>>,
    /// Start.
    #[serde(rename = "startsAt", default, deserialize_with = "optional_utc_time")]
    pub(crate) starts_at: Option<DateTime<Utc>>,
    /// End.
    #[serde(rename = "endsAt", default, deserialize_with = "optional_utc_time")]
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
