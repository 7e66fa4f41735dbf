//! Prometheus durations (`model.Duration` of the prometheus/common version Alertmanager 0.25
//! ships): parsing `1h30m`, `1d`, `1w`, `500ms`, rendering them back, and a serde adapter
//! for configuration structs.
//!
//! The grammar is `[Ny][Nw][Nd][Nh][Nm][Ns][Nms]` (each part optional, in that order, at
//! least one present) or a bare `0`; a year is 365 days. Values are nanoseconds in an
//! `int64` in Go, so anything above about 292 years is out of range.

use std::time::Duration;

use crate::quote::go_quote;

/// A string Prometheus would not accept as a duration; `Display` gives Go's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The empty string.
    #[error("empty duration string")]
    Empty,
    /// Not of the `1h30m` form; carries the input.
    #[error("not a valid duration string: {}", go_quote(.0))]
    Invalid(String),
    /// Larger than Go's `time.Duration` can hold.
    #[error("duration out of range")]
    OutOfRange,
}

/// The units in the only order Prometheus allows, with their size in milliseconds.
const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

const NANOS_PER_MILLI: u64 = 1_000_000;
const MAX_NANOS: u64 = i64::MAX as u64;

/// Parses a Prometheus duration (see the module documentation).
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    match text {
        "0" => return Ok(Duration::ZERO),
        "" => return Err(DurationError::Empty),
        _ => {}
    }
    let terms = split_terms(text).ok_or_else(|| DurationError::Invalid(text.to_owned()))?;
    // The grammar is checked first (Go matches a regexp), then each term and the running sum
    // against the int64 nanosecond range, as Go does.
    let mut total: u64 = 0;
    for (digits, unit_ms) in terms {
        // Go's Atoi saturates on overflow, which then fails the range check.
        let count: u64 = digits.parse().unwrap_or(u64::MAX);
        if count > MAX_NANOS / unit_ms / NANOS_PER_MILLI {
            return Err(DurationError::OutOfRange);
        }
        total += count * unit_ms * NANOS_PER_MILLI;
        if total > MAX_NANOS {
            return Err(DurationError::OutOfRange);
        }
    }
    Ok(Duration::from_nanos(total))
}

/// Splits `text` into `(digits, unit size in ms)` terms, or `None` if it breaks the grammar.
fn split_terms(text: &str) -> Option<Vec<(&str, u64)>> {
    let mut terms = Vec::new();
    let mut rest = text;
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits_len == 0 {
            return None;
        }
        let (digits, after) = rest.split_at(digits_len);
        // "ms" must win over "m" followed by garbage.
        let index = UNITS[next_unit..]
            .iter()
            .enumerate()
            .filter(|(_, (name, _))| after.starts_with(name))
            .max_by_key(|(_, (name, _))| name.len())
            .map(|(offset, _)| next_unit + offset)?;
        let (name, size) = UNITS[index];
        terms.push((digits, size));
        rest = &after[name.len()..];
        next_unit = index + 1;
    }
    Some(terms)
}

/// Renders a duration as Prometheus does (`1h30m`, `0s`, `1w`, `1y2d`), truncated to
/// milliseconds.
pub fn format_duration(duration: Duration) -> String {
    let mut ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (name, size) in UNITS {
        if ms >= size {
            out.push_str(&format!("{}{}", ms / size, name));
            ms %= size;
        }
    }
    out
}

/// Serde adapter for `Duration` fields written as Prometheus durations:
/// `#[serde(with = "model::duration::serde_duration")]`.
pub mod serde_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the duration as [`format_duration`](super::format_duration) renders it.
    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_duration(*value))
    }

    /// Reads a Prometheus duration string.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_duration(&text).map_err(serde::de::Error::custom)
    }

    /// The same for `Option<Duration>` fields: `#[serde(default, with = "…::option")]`.
    pub mod option {
        use std::time::Duration;

        use serde::{Deserialize, Deserializer, Serializer};

        /// Writes `Some` as a duration string and `None` as a unit/null.
        pub fn serialize<S: Serializer>(
            value: &Option<Duration>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match value {
                Some(value) => super::serialize(value, serializer),
                None => serializer.serialize_none(),
            }
        }

        /// Reads an optional Prometheus duration string.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Duration>, D::Error> {
            let text = Option::<String>::deserialize(deserializer)?;
            text.map(|text| super::super::parse_duration(&text).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Duration {
        parse_duration(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn err(text: &str) -> String {
        parse_duration(text).unwrap_err().to_string()
    }

    #[test]
    fn parses_what_alertmanager_accepts() {
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("0s"), Duration::ZERO);
        assert_eq!(ok("0ms"), Duration::ZERO);
        assert_eq!(ok("0h0m"), Duration::ZERO);
        assert_eq!(ok("1h30m"), Duration::from_secs(5400));
        assert_eq!(ok("01h"), Duration::from_secs(3600));
        assert_eq!(ok("1d"), Duration::from_secs(86400));
        assert_eq!(ok("1w"), Duration::from_secs(604800));
        assert_eq!(ok("1y"), Duration::from_secs(365 * 86400));
        assert_eq!(ok("1y0w"), Duration::from_secs(365 * 86400));
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("1s500ms"), Duration::from_millis(1500));
        assert_eq!(ok("1m5ms"), Duration::from_millis(60005));
        assert_eq!(ok("5y1ms"), Duration::from_millis(5 * 365 * 86400 * 1000 + 1));
        assert_eq!(ok("106751d"), Duration::from_secs(106751 * 86400));
        assert_eq!(ok("292y20w"), Duration::from_secs((292 * 365 + 140) * 86400));
        assert_eq!(ok("106751d23h47m16s854ms").as_millis(), 9_223_372_036_854);
    }

    #[test]
    fn rejects_what_alertmanager_rejects_with_its_messages() {
        assert_eq!(err(""), "empty duration string");
        for bad in [
            "1m1h", "1.5h", "1hh", "1h1h", "1ms1s", "1H", "1m30", "00", "1ns", "1us", " 1h", "-1h",
            "h",
        ] {
            assert_eq!(err(bad), format!("not a valid duration string: {bad:?}"), "{bad:?}");
        }
        for huge in [
            "106752d",
            "293y",
            "9223372036854775807ms",
            "99999999999999999999s",
            "292y52w",
            "106751d23h47m16s855ms",
        ] {
            assert_eq!(err(huge), "duration out of range", "{huge:?}");
        }
    }

    #[test]
    fn formats_like_prometheus() {
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(14400)), "4h");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_micros(999)), "0s");
        assert_eq!(format_duration(Duration::from_secs(604800)), "1w");
        assert_eq!(format_duration(Duration::from_secs(8 * 86400)), "1w1d");
        assert_eq!(format_duration(Duration::from_secs(366 * 86400)), "1y1d");
        assert_eq!(format_duration(Duration::from_millis(90_061_001)), "1d1h1m1s1ms");
        for text in ["1y2w3d4h5m6s7ms", "5m", "500ms", "2w"] {
            assert_eq!(format_duration(ok(text)), text);
        }
    }

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Config {
        #[serde(with = "serde_duration")]
        wait: Duration,
        #[serde(default, with = "serde_duration::option")]
        repeat: Option<Duration>,
    }

    #[test]
    fn serde_adapter_round_trips() {
        let config: Config = serde_json::from_str(r#"{"wait":"1m30s","repeat":"4h"}"#).unwrap();
        assert_eq!(
            config,
            Config { wait: Duration::from_secs(90), repeat: Some(Duration::from_secs(14400)) }
        );
        assert_eq!(serde_json::to_string(&config).unwrap(), r#"{"wait":"1m30s","repeat":"4h"}"#);
        let config: Config = serde_json::from_str(r#"{"wait":"0"}"#).unwrap();
        assert_eq!(config.repeat, None);
        let error = serde_json::from_str::<Config>(r#"{"wait":"1x"}"#).unwrap_err();
        assert!(error.to_string().contains(r#"not a valid duration string: "1x""#), "{error}");
    }
}
