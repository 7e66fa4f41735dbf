//! `time_intervals` and the deprecated `mute_time_intervals`: named sets of times of day,
//! weekdays, days of the month, months and years, in a time zone.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::types::scalar_with;
use super::zone::Location;

/// A named list of time intervals.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NamedTimeInterval {
    /// The name routes refer to.
    #[serde(default)]
    pub name: String,
    /// The intervals; a time is inside if it is inside any of them.
    #[serde(default)]
    pub time_intervals: Vec<TimeInterval>,
}

/// One interval: a time is inside if every given constraint holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeInterval {
    /// Times of day, in minutes since midnight (end exclusive).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub times: Vec<TimeRange>,
    /// Weekday ranges, 0 = Sunday.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weekdays: Vec<WeekdayRange>,
    /// Day-of-month ranges; negative days count from the end of the month.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub days_of_month: Vec<DayOfMonthRange>,
    /// Month ranges, 1 = January.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub months: Vec<MonthRange>,
    /// Year ranges.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub years: Vec<YearRange>,
    /// The time zone the other fields are read in (UTC when absent).
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "location",
        serialize_with = "serialize_location"
    )]
    pub location: Option<Location>,
}

/// A time-of-day range in minutes since midnight, `start` inclusive, `end` exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    /// Start minute.
    pub start_minute: u32,
    /// End minute (up to 1440).
    pub end_minute: u32,
}

/// An inclusive range of integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InclusiveRange {
    /// First member.
    pub begin: i32,
    /// Last member.
    pub end: i32,
}

macro_rules! range_type {
    ($name:ident, $doc:literal, $check:ident) => {
        #[doc = $doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name(pub InclusiveRange);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                scalar_with(d, |text| $check(&text).map($name))
            }
        }
    };
}

range_type!(WeekdayRange, "A range of weekdays (`monday:friday`).", parse_weekdays);
range_type!(DayOfMonthRange, "A range of days of the month (`1:5`, `-3:-1`).", parse_days);
range_type!(MonthRange, "A range of months (`january:march`, `1:3`).", parse_months);
range_type!(YearRange, "A range of years (`2024:2025`).", parse_years);

const WEEKDAYS: [&str; 7] =
    ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn split_range(
    text: &str,
    member: impl Fn(&str) -> Result<i32, String>,
) -> Result<InclusiveRange, String> {
    let lower = text.to_lowercase();
    match lower.split_once(':') {
        Some((a, b)) => {
            if b.contains(':') {
                return Err(format!("couldn't parse range {lower}, invalid format"));
            }
            Ok(InclusiveRange { begin: member(a)?, end: member(b)? })
        }
        None => member(&lower).map(|v| InclusiveRange { begin: v, end: v }),
    }
}

fn number(text: &str) -> Result<i32, String> {
    text.parse().map_err(|_| format!("strconv.Atoi: parsing {text:?}: invalid syntax"))
}

fn parse_weekdays(text: &str) -> Result<InclusiveRange, String> {
    let r = split_range(text, |m| {
        WEEKDAYS
            .iter()
            .position(|d| *d == m)
            .map(|i| i as i32)
            .ok_or_else(|| format!("{m} is not a valid weekday"))
    })?;
    if r.begin > r.end {
        return Err("start day cannot be before end day".into());
    }
    Ok(r)
}

fn parse_days(text: &str) -> Result<InclusiveRange, String> {
    let r = split_range(text, number)?;
    for v in [r.begin, r.end] {
        if v == 0 || !(-31..=31).contains(&v) {
            return Err(format!("{v} is not a valid day of the month: out of range"));
        }
    }
    if r.begin < 0 && r.end > 0 {
        return Err("end day must be negative if start day is negative".into());
    }
    let normalize = |v: i32| if v < 0 { 28 + v } else { v };
    if normalize(r.begin) > normalize(r.end) {
        return Err(format!("end day {} is always before start day {}", r.end, r.begin));
    }
    Ok(r)
}

fn parse_months(text: &str) -> Result<InclusiveRange, String> {
    let r = split_range(text, |m| match MONTHS.iter().position(|n| *n == m) {
        Some(i) => Ok(i as i32 + 1),
        None => m.parse().map_err(|_| format!("{m} is not a valid month")),
    })?;
    if r.begin > r.end {
        return Err(format!(
            "end month {} is before start month {}",
            month_name(r.end),
            month_name(r.begin)
        ));
    }
    Ok(r)
}

fn month_name(m: i32) -> &'static str {
    usize::try_from(m - 1).ok().and_then(|i| MONTHS.get(i)).copied().unwrap_or("")
}

fn parse_years(text: &str) -> Result<InclusiveRange, String> {
    let r = split_range(text, number)?;
    if r.begin > r.end {
        return Err(format!("end year {} is before start year {}", r.end, r.begin));
    }
    Ok(r)
}

impl fmt::Display for InclusiveRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.begin == self.end {
            write!(f, "{}", self.begin)
        } else {
            write!(f, "{}:{}", self.begin, self.end)
        }
    }
}

impl Serialize for WeekdayRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let name = |i: i32| WEEKDAYS[i as usize];
        if self.0.begin == self.0.end {
            s.serialize_str(name(self.0.begin))
        } else {
            s.serialize_str(&format!("{}:{}", name(self.0.begin), name(self.0.end)))
        }
    }
}

// Alertmanager renders day, month and year ranges as numbers, month names included.
macro_rules! numeric_serialize {
    ($($name:ident),*) => {$(
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0.to_string())
            }
        }
    )*};
}
numeric_serialize!(DayOfMonthRange, MonthRange, YearRange);

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawTimeRange {
    #[serde(default)]
    start_time: String,
    #[serde(default)]
    end_time: String,
}

impl<'de> Deserialize<'de> for TimeRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawTimeRange::deserialize(d)?;
        if raw.start_time.is_empty() || raw.end_time.is_empty() {
            return Err(serde::de::Error::custom("both start and end times must be provided"));
        }
        let start = parse_time(&raw.start_time).map_err(serde::de::Error::custom)?;
        let end = parse_time(&raw.end_time).map_err(serde::de::Error::custom)?;
        if start >= end {
            return Err(serde::de::Error::custom(
                "start time cannot be equal or greater than end time",
            ));
        }
        Ok(TimeRange { start_minute: start, end_minute: end })
    }
}

impl Serialize for TimeRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
        RawTimeRange { start_time: text(self.start_minute), end_time: text(self.end_minute) }
            .serialize(s)
    }
}

/// Parses `HH:MM` (00:00 to 24:00).
fn parse_time(text: &str) -> Result<u32, String> {
    let invalid = || format!("couldn't parse timestamp {text}, invalid format");
    let (h, m) = text.split_once(':').ok_or_else(invalid)?;
    let digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !digits(m) {
        return Err(invalid());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| invalid())?, m.parse().map_err(|_| invalid())?);
    if (h > 23 || m > 59) && !(h == 24 && m == 0) {
        return Err(invalid());
    }
    Ok(h * 60 + m)
}

fn location<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Location>, D::Error> {
    scalar_with(d, |name| Location::load(&name).map(Some))
}

fn serialize_location<S: Serializer>(location: &Option<Location>, s: S) -> Result<S::Ok, S::Error> {
    match location {
        Some(location) => s.serialize_str(location.name()),
        None => s.serialize_none(),
    }
}

impl TimeInterval {
    /// True if `instant`, read as wall-clock time in the interval's `location`, is inside.
    pub fn contains(&self, instant: DateTime<Utc>) -> bool {
        let local = match &self.location {
            Some(location) => location.local_time(instant),
            None => instant.naive_utc(),
        };
        self.contains_local(local)
    }

    /// True if `local`, a wall-clock time already converted to the interval's `location`
    /// (the caller owns time zones and the clock), is inside the interval.
    pub fn contains_local(&self, local: NaiveDateTime) -> bool {
        let minute = local.hour() * 60 + local.minute();
        let in_times = self.times.is_empty()
            || self.times.iter().any(|r| minute >= r.start_minute && minute < r.end_minute);
        let days = days_in_month(local.date());
        let in_days = self.days_of_month.is_empty()
            || self.days_of_month.iter().any(|r| day_range_contains(r.0, days, local.day() as i32));
        let in_range = |ranges: &[InclusiveRange], v: i32| {
            ranges.is_empty() || ranges.iter().any(|r| v >= r.begin && v <= r.end)
        };
        let months: Vec<InclusiveRange> = self.months.iter().map(|r| r.0).collect();
        let weekdays: Vec<InclusiveRange> = self.weekdays.iter().map(|r| r.0).collect();
        let years: Vec<InclusiveRange> = self.years.iter().map(|r| r.0).collect();
        in_times
            && in_days
            && in_range(&months, local.month() as i32)
            && in_range(&weekdays, local.weekday().num_days_from_sunday() as i32)
            && in_range(&years, local.year())
    }
}

/// Alertmanager's day-of-month test: negative days count from the month's end, ranges
/// starting after the month's last day never match, and ends are clamped to the month.
fn day_range_contains(range: InclusiveRange, days: i32, day: i32) -> bool {
    let resolve = |d: i32| if d < 0 { days + d + 1 } else { d };
    let (begin, end) = (resolve(range.begin), resolve(range.end));
    if begin > days {
        return false;
    }
    let clamp = |v: i32| v.clamp(-days, days);
    day >= clamp(begin) && day <= clamp(end)
}

fn days_in_month(date: NaiveDate) -> i32 {
    let (year, month) =
        if date.month() == 12 { (date.year() + 1, 1) } else { (date.year(), date.month() + 1) };
    let first_of_next = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(date);
    let first = date.with_day(1).unwrap_or(date);
    (first_of_next - first).num_days() as i32
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::TimeInterval;

    fn interval(yaml: &str) -> TimeInterval {
        yaml_serde::from_str(yaml).unwrap()
    }

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> chrono::NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, min, 0).unwrap()
    }

    #[test]
    fn office_hours() {
        let office = interval(
            "times: [{start_time: '09:00', end_time: '17:00'}]\nweekdays: ['monday:friday']",
        );
        assert!(office.contains_local(at(2024, 5, 6, 9, 0)));
        assert!(!office.contains_local(at(2024, 5, 6, 17, 0)));
        assert!(!office.contains_local(at(2024, 5, 5, 12, 0)));
    }

    #[test]
    fn negative_days_and_months() {
        let end_of_month = interval("days_of_month: ['-3:-1']\nmonths: ['february']");
        assert!(end_of_month.contains_local(at(2024, 2, 27, 0, 0)));
        assert!(!end_of_month.contains_local(at(2024, 2, 26, 0, 0)));
        assert!(!end_of_month.contains_local(at(2024, 3, 30, 0, 0)));
        let thirty_first = interval("days_of_month: ['31']");
        assert!(!thirty_first.contains_local(at(2024, 4, 30, 0, 0)));
        assert!(interval("years: ['2024:2025']").contains_local(at(2025, 1, 1, 0, 0)));
    }

    #[test]
    fn hours_in_a_named_location_across_dst() {
        use chrono::{TimeZone as _, Utc};
        let night =
            interval("times: [{start_time: '02:00', end_time: '03:00'}]\nlocation: Europe/Berlin");
        let utc =
            |m: u32, d: u32, h: u32, min: u32| Utc.with_ymd_and_hms(2024, m, d, h, min, 0).unwrap();
        // 31 March 2024 has no 02:xx in Berlin: 00:59 UTC is 01:59 CET, 01:00 UTC is 03:00 CEST.
        assert!(
            !(0..24 * 60).any(|m| night.contains(utc(3, 30, 22, 0) + chrono::Duration::minutes(m)))
        );
        // 27 October 2024 has two: 00:00–00:59 UTC (CEST) and 01:00–01:59 UTC (CET).
        assert!(night.contains(utc(10, 27, 0, 0)));
        assert!(night.contains(utc(10, 27, 1, 59)));
        assert!(!night.contains(utc(10, 27, 2, 0)));
        assert!(!night.contains(utc(10, 26, 23, 59)));
        // Without a location the same hours are UTC.
        let utc_night = interval("times: [{start_time: '02:00', end_time: '03:00'}]");
        assert!(utc_night.contains(utc(3, 31, 2, 30)));
    }
}
