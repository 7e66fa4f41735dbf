//! Reading API timestamps: a fast path for the form senders write
//! (`2006-01-02T15:04:05[.fraction](Z|±07:00)`), and chrono's general parser for anything
//! else, so what is accepted and every error message stay chrono's. Two timestamps per alert
//! made chrono's item-driven parser a visible share of ingest.

use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};
use serde::Deserializer;
use serde::de::{self, Visitor};

/// Deserializes a time as chrono's `DateTime<FixedOffset>` does.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<DateTime<FixedOffset>, D::Error> {
    deserializer.deserialize_str(TimeVisitor)
}

struct TimeVisitor;

impl Visitor<'_> for TimeVisitor {
    type Value = DateTime<FixedOffset>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // chrono's wording, so that type errors read the same as before.
        f.write_str("an RFC 3339 formatted date and time string")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        match canonical(value) {
            Some(time) => Ok(time),
            None => value.parse().map_err(E::custom),
        }
    }
}

/// The time `text` names when it has exactly the canonical shape; `None` sends it to
/// chrono (other shapes, leap seconds, more than 9 fraction digits, out-of-range fields).
fn canonical(text: &str) -> Option<DateTime<FixedOffset>> {
    let bytes = text.as_bytes();
    if bytes.len() < 20
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || bytes[10] != b'T'
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let year = digits(&bytes[0..4])?;
    let month = digits(&bytes[5..7])?;
    let day = digits(&bytes[8..10])?;
    let hour = digits(&bytes[11..13])?;
    let minute = digits(&bytes[14..16])?;
    let second = digits(&bytes[17..19])?;
    let mut rest = &bytes[19..];
    let mut nanos = 0;
    if let Some((b'.', fraction)) = rest.split_first() {
        let count = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if count == 0 || count > 9 {
            return None;
        }
        nanos = digits(&fraction[..count])? * 10u32.pow(9 - count as u32);
        rest = &fraction[count..];
    }
    let offset_seconds = match rest {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = digits(&[*h1, *h2])?;
            let minutes = digits(&[*m1, *m2])?;
            if minutes > 59 {
                return None;
            }
            let seconds = i32::try_from(hours * 3600 + minutes * 60).ok()?;
            if *sign == b'-' { -seconds } else { seconds }
        }
        _ => return None,
    };
    if second > 59 {
        return None;
    }
    let local = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?
        .and_hms_nano_opt(hour, minute, second, nanos)?;
    FixedOffset::east_opt(offset_seconds)?.from_local_datetime(&local).single()
}

/// The number ASCII digits spell; `None` if any byte is not a digit.
fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |number, &byte| {
        byte.is_ascii_digit().then(|| number * 10 + u32::from(byte - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_chrono_on_canonical_and_odd_times() {
        let cases = [
            "2026-11-24T05:00:00Z",
            "2026-11-24T05:00:00.1Z",
            "2026-11-24T05:00:00.123456789Z",
            "2026-11-24T05:00:00.000+02:00",
            "2026-11-24T05:00:00.5-05:30",
            "2026-11-24T05:00:00-00:00",
            "0001-01-01T00:00:00Z",
            "2024-02-29T23:59:59.999Z",
            "9999-12-31T23:59:59+23:59",
        ];
        for text in cases {
            let expected: DateTime<FixedOffset> = text.parse().unwrap();
            let fast = canonical(text).unwrap_or_else(|| panic!("{text} takes the fast path"));
            assert_eq!(fast, expected, "{text}");
            assert_eq!(fast.offset(), expected.offset(), "{text}");
        }
    }

    #[test]
    fn leaves_other_shapes_to_chrono() {
        let cases = [
            "2026-11-24t05:00:00Z",
            "2026-11-24 05:00:00Z",
            "2026-11-24T05:00:00z",
            "2026-11-24T05:00:60Z",
            "2026-11-24T05:00:00.Z",
            "2026-11-24T05:00:00.1234567891Z",
            "2026-11-24T05:00:00+0200",
            "2026-11-24T05:00:00+02:60",
            "2026-02-30T05:00:00Z",
            "2026-11-24T24:00:00Z",
            "+2026-11-24T05:00:00Z",
            "2026-11-24T05:00:00",
            "2026-11-24T05:00:00Z ",
            "2026-11-24T05:00:00+24:00",
        ];
        for text in cases {
            assert_eq!(canonical(text), None, "{text}");
        }
    }
}
