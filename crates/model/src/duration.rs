//! Prometheus durations (`model.Duration`): `1h30m`, `1d`, `1w`, `500ms`, and their rendering.

use std::time::Duration;

/// A duration string that is not a Prometheus duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid duration string: {0:?}")]
pub struct DurationError(pub String);

const UNITS: [(&str, u64); 8] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
    ("", 0),
];

/// Parses a Prometheus duration: one or more `<int><unit>` terms in decreasing unit order,
/// units `y w d h m s ms`; `0` alone is allowed.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let error = || DurationError(text.to_owned());
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(error());
    }
    let bytes = text.as_bytes();
    let mut position = 0;
    let mut total_ms: u64 = 0;
    let mut last_unit_index: Option<usize> = None;
    while position < bytes.len() {
        let digits_start = position;
        while position < bytes.len() && bytes[position].is_ascii_digit() {
            position += 1;
        }
        if position == digits_start {
            return Err(error());
        }
        let number: u64 = text[digits_start..position].parse().map_err(|_| error())?;
        let unit_start = position;
        while position < bytes.len() && bytes[position].is_ascii_alphabetic() {
            position += 1;
        }
        let unit = &text[unit_start..position];
        let unit_index = UNITS[..7].iter().position(|(name, _)| *name == unit).ok_or_else(error)?;
        if last_unit_index.is_some_and(|last| unit_index <= last) {
            return Err(error());
        }
        last_unit_index = Some(unit_index);
        let term = number.checked_mul(UNITS[unit_index].1).ok_or_else(error)?;
        total_ms = total_ms.checked_add(term).ok_or_else(error)?;
    }
    if total_ms > i64::MAX as u64 / 1_000_000 {
        return Err(error());
    }
    Ok(Duration::from_millis(total_ms))
}

/// Renders a duration as Prometheus does (`1h30m`, `0s`, `1w`), with millisecond precision.
pub fn format_duration(duration: Duration) -> String {
    let mut ms = duration.as_millis() as u64;
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (name, size) in &UNITS[..7] {
        if ms >= *size {
            out.push_str(&format!("{}{}", ms / size, name));
            ms %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86400));
        assert_eq!(parse_duration("1w").unwrap(), Duration::from_secs(604800));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("1m1h").is_err());
        assert!(parse_duration("1.5h").is_err());
        assert!(parse_duration("").is_err());
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(14400)), "4h");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }
}
