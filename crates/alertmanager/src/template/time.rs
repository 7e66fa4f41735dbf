//! Go's `time.Time` as templates see it: an instant with a zone (name and offset) and an
//! optional monotonic reading, its methods (`Format`, `Unix`, `UTC`, `Local`, `Add`, `Sub`,
//! `Before`, ...), Go's layout formatter and its default print form.

use std::sync::Arc;

use chrono::{Datelike, NaiveDateTime, Offset, TimeZone, Timelike};
use gotemplate::{TemplateObject, Value};

use super::newer_funcs::GoDuration;

/// Seconds from 0001-01-01 (Go's zero time) to the Unix epoch.
const ZERO_TIME_UNIX: i64 = -62_135_596_800;

/// The layout Go's `Time.String` uses.
const STRING_LAYOUT: &str = "2006-01-02 15:04:05.999999999 -0700 MST";

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const DAYS: [&str; 7] =
    ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/// An instant as Go's `time.Time` holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoTime {
    /// Seconds since the Unix epoch.
    secs: i64,
    /// Nanoseconds within the second.
    nanos: u32,
    /// Offset of the zone east of UTC, in seconds.
    offset: i32,
    /// The zone abbreviation; empty for a fixed zone without a name (printed as `+0200`).
    zone: Arc<str>,
    /// Go's monotonic clock reading in nanoseconds, which `String` appends as `m=±s.ns`
    /// (times from `time.Now()` carry one).
    mono: Option<i64>,
}

impl GoTime {
    /// Go's zero `time.Time` (0001-01-01 00:00:00 UTC).
    pub fn zero() -> GoTime {
        GoTime::utc(ZERO_TIME_UNIX, 0)
    }

    /// The instant `secs`.`nanos` after the epoch, in UTC.
    pub fn utc(secs: i64, nanos: u32) -> GoTime {
        GoTime { secs, nanos, offset: 0, zone: Arc::from("UTC"), mono: None }
    }

    /// The instant in a zone with the given offset and abbreviation.
    pub fn in_zone(secs: i64, nanos: u32, offset: i32, zone: &str) -> GoTime {
        GoTime { secs, nanos, offset, zone: Arc::from(zone), mono: None }
    }

    /// The same instant with a monotonic clock reading, as `time.Now()` returns.
    pub fn with_monotonic(mut self, mono_nanos: i64) -> GoTime {
        self.mono = Some(mono_nanos);
        self
    }

    /// From a chrono time, in UTC.
    pub fn from_chrono(t: chrono::DateTime<chrono::Utc>) -> GoTime {
        GoTime::utc(t.timestamp(), t.timestamp_subsec_nanos())
    }

    /// Parses RFC 3339 as Go's `Time.UnmarshalJSON` does: `Z` and offsets that match the
    /// local zone take the local zone, other offsets a nameless fixed zone.
    pub fn parse_rfc3339(text: &str) -> Result<GoTime, String> {
        let t = chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|e| format!("parsing time {}: {e}", gotemplate::quote(text)))?;
        let offset = t.offset().local_minus_utc();
        let (secs, nanos) = (t.timestamp(), t.timestamp_subsec_nanos());
        if text.ends_with(['Z', 'z']) {
            return Ok(GoTime::utc(secs, nanos));
        }
        let local = GoTime::utc(secs, nanos).local();
        if local.offset == offset {
            return Ok(local);
        }
        Ok(GoTime::in_zone(secs, nanos, offset, ""))
    }

    /// Unix seconds.
    pub fn unix(&self) -> i64 {
        self.secs
    }

    /// Nanoseconds within the second.
    pub fn nanos(&self) -> u32 {
        self.nanos
    }

    /// Go's `UTC()`: same instant in UTC, without the monotonic reading.
    pub fn to_utc(&self) -> GoTime {
        GoTime::utc(self.secs, self.nanos)
    }

    /// Go's `Local()`: same instant in the local zone. The zone is named `UTC` when the
    /// local offset is zero and left nameless otherwise (the abbreviation would need the
    /// zone database).
    pub fn local(&self) -> GoTime {
        let offset = chrono::DateTime::from_timestamp(self.secs, self.nanos)
            .map(|t| chrono::Local.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc())
            .unwrap_or(0);
        let zone = if offset == 0 { "UTC" } else { "" };
        GoTime::in_zone(self.secs, self.nanos, offset, zone)
    }

    /// Go's `Add(d)`, keeping zone and monotonic reading.
    pub fn add_nanos(&self, d: i64) -> GoTime {
        let total = i128::from(self.nanos) + i128::from(d);
        let secs =
            self.secs.saturating_add(i64::try_from(total.div_euclid(1_000_000_000)).unwrap_or(0));
        let nanos = u32::try_from(total.rem_euclid(1_000_000_000)).unwrap_or(0);
        GoTime { secs, nanos, mono: self.mono.map(|m| m.saturating_add(d)), ..self.clone() }
    }

    fn civil(&self) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(self.secs + i64::from(self.offset), self.nanos)
            .map(|t| t.naive_utc())
            .unwrap_or_default()
    }

    /// Go's `String()`: the default layout plus the monotonic reading if any.
    pub fn go_string(&self) -> String {
        let mut s = self.format(STRING_LAYOUT);
        if let Some(m) = self.mono {
            let sign = if m < 0 { '-' } else { '+' };
            let m = m.unsigned_abs();
            let (whole, frac) = (m / 1_000_000_000, m % 1_000_000_000);
            s.push_str(&format!(" m={sign}{whole}.{frac:09}"));
        }
        s
    }

    /// Go's `Format(layout)`.
    pub fn format(&self, layout: &str) -> String {
        let c = self.civil();
        let mut out = String::new();
        let mut rest = layout;
        while !rest.is_empty() {
            let (prefix, std, suffix) = next_chunk(rest);
            out.push_str(prefix);
            if let Some(std) = std {
                self.append(&mut out, &c, std);
            }
            rest = suffix;
        }
        out
    }

    fn append(&self, out: &mut String, c: &NaiveDateTime, std: Std) {
        let hour = c.hour();
        match std {
            Std::LongMonth => out.push_str(MONTHS[c.month0() as usize]),
            Std::Month => out.push_str(&MONTHS[c.month0() as usize][..3]),
            Std::NumMonth => num(out, c.month().into(), 0),
            Std::ZeroMonth => num(out, c.month().into(), 2),
            Std::LongWeekDay => out.push_str(DAYS[c.weekday().num_days_from_sunday() as usize]),
            Std::WeekDay => out.push_str(&DAYS[c.weekday().num_days_from_sunday() as usize][..3]),
            Std::Day => num(out, c.day().into(), 0),
            Std::UnderDay => {
                if c.day() < 10 {
                    out.push(' ');
                }
                num(out, c.day().into(), 0);
            }
            Std::ZeroDay => num(out, c.day().into(), 2),
            Std::UnderYearDay => out.push_str(&format!("{:>3}", c.ordinal())),
            Std::ZeroYearDay => num(out, c.ordinal().into(), 3),
            Std::Hour => num(out, hour.into(), 2),
            Std::Hour12 | Std::ZeroHour12 => {
                let h = if hour.is_multiple_of(12) { 12 } else { hour % 12 };
                num(out, h.into(), if std == Std::Hour12 { 0 } else { 2 });
            }
            Std::Minute => num(out, c.minute().into(), 0),
            Std::ZeroMinute => num(out, c.minute().into(), 2),
            Std::Second => num(out, c.second().into(), 0),
            Std::ZeroSecond => num(out, c.second().into(), 2),
            Std::LongYear => num(out, c.year().into(), 4),
            Std::Year => num(out, i64::from(c.year()).rem_euclid(100), 2),
            Std::Pm => out.push_str(if hour >= 12 { "PM" } else { "AM" }),
            Std::LowerPm => out.push_str(if hour >= 12 { "pm" } else { "am" }),
            Std::Tz => self.append_zone_name(out),
            Std::Offset { iso, colon, minutes, seconds } => {
                self.append_offset(out, iso, colon, minutes, seconds)
            }
            Std::Frac { sep, digits, trim } => append_frac(out, self.nanos, sep, digits, trim),
        }
    }

    fn append_zone_name(&self, out: &mut String) {
        if !self.zone.is_empty() {
            out.push_str(&self.zone);
            return;
        }
        let minutes = self.offset / 60;
        out.push(if minutes < 0 { '-' } else { '+' });
        num(out, i64::from(minutes.abs() / 60), 2);
        num(out, i64::from(minutes.abs() % 60), 2);
    }

    fn append_offset(
        &self,
        out: &mut String,
        iso: bool,
        colon: bool,
        minutes: bool,
        seconds: bool,
    ) {
        if iso && self.offset == 0 {
            out.push('Z');
            return;
        }
        let abs = self.offset.abs();
        out.push(if self.offset < 0 { '-' } else { '+' });
        num(out, i64::from(abs / 3600), 2);
        if minutes {
            if colon {
                out.push(':');
            }
            num(out, i64::from(abs / 60 % 60), 2);
        }
        if seconds {
            if colon {
                out.push(':');
            }
            num(out, i64::from(abs % 60), 2);
        }
    }
}

/// Appends `n`, zero-padded to `width` digits (after the sign), as Go's `appendInt`.
fn num(out: &mut String, n: i64, width: usize) {
    if n < 0 {
        out.push('-');
    }
    out.push_str(&format!("{:0width$}", n.unsigned_abs()));
}

fn append_frac(out: &mut String, nanos: u32, sep: char, digits: usize, trim: bool) {
    let all = format!("{nanos:09}");
    let mut n = digits.min(9);
    if trim {
        while n > 0 && all.as_bytes()[n - 1] == b'0' {
            n -= 1;
        }
        if n == 0 {
            return;
        }
    }
    out.push(sep);
    out.push_str(&all[..n]);
}

/// One element of a Go layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    Pm,
    LowerPm,
    Tz,
    /// `-0700` and friends; `iso` is the `Z` form that prints `Z` for UTC.
    Offset {
        iso: bool,
        colon: bool,
        minutes: bool,
        seconds: bool,
    },
    /// `.000` (kept zeros) or `.999` (trimmed), with `.` or `,`.
    Frac {
        sep: char,
        digits: usize,
        trim: bool,
    },
}

/// The offset forms, longest first so that prefixes do not win.
const OFFSETS: [(&str, bool, bool, bool); 5] = [
    ("070000", false, true, true),
    ("07:00:00", true, true, true),
    ("0700", false, true, false),
    ("07:00", true, true, false),
    ("07", false, false, false),
];

/// Splits off the literal text before the first layout element: Go's `nextStdChunk`.
fn next_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let b = layout.as_bytes();
    for i in 0..b.len() {
        let at = &layout[i..];
        let hit = |std: Std, len: usize| Some((&layout[..i], Some(std), &layout[i + len..]));
        let found = match b[i] {
            b'J' if at.starts_with("January") => hit(Std::LongMonth, 7),
            b'J' if at.starts_with("Jan") && !starts_lower(&at[3..]) => hit(Std::Month, 3),
            b'M' if at.starts_with("Monday") => hit(Std::LongWeekDay, 6),
            b'M' if at.starts_with("Mon") && !starts_lower(&at[3..]) => hit(Std::WeekDay, 3),
            b'M' if at.starts_with("MST") => hit(Std::Tz, 3),
            b'0' if at.len() >= 2 && (b'1'..=b'6').contains(&b[i + 1]) => {
                let std = [
                    Std::ZeroMonth,
                    Std::ZeroDay,
                    Std::ZeroHour12,
                    Std::ZeroMinute,
                    Std::ZeroSecond,
                    Std::Year,
                ][usize::from(b[i + 1] - b'1')];
                hit(std, 2)
            }
            b'0' if at.starts_with("002") => hit(Std::ZeroYearDay, 3),
            b'1' if at.starts_with("15") => hit(Std::Hour, 2),
            b'1' => hit(Std::NumMonth, 1),
            b'2' if at.starts_with("2006") => hit(Std::LongYear, 4),
            b'2' => hit(Std::Day, 1),
            b'_' if at.starts_with("_2006") => {
                Some((&layout[..=i], Some(Std::LongYear), &layout[i + 5..]))
            }
            b'_' if at.starts_with("_2") => hit(Std::UnderDay, 2),
            b'_' if at.starts_with("__2") => hit(Std::UnderYearDay, 3),
            b'3' => hit(Std::Hour12, 1),
            b'4' => hit(Std::Minute, 1),
            b'5' => hit(Std::Second, 1),
            b'P' if at.starts_with("PM") => hit(Std::Pm, 2),
            b'p' if at.starts_with("pm") => hit(Std::LowerPm, 2),
            b'-' | b'Z' => offset_chunk(&at[1..], b[i] == b'Z')
                .map(|(std, len)| (&layout[..i], Some(std), &layout[i + 1 + len..])),
            b'.' | b',' => {
                frac_chunk(at).map(|(std, len)| (&layout[..i], Some(std), &layout[i + len..]))
            }
            _ => None,
        };
        if let Some(found) = found {
            return found;
        }
    }
    (layout, None, "")
}

fn starts_lower(s: &str) -> bool {
    s.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
}

fn offset_chunk(after: &str, iso: bool) -> Option<(Std, usize)> {
    OFFSETS.iter().find(|(form, ..)| after.starts_with(form)).map(
        |&(form, colon, minutes, seconds)| {
            (Std::Offset { iso, colon, minutes, seconds }, form.len())
        },
    )
}

/// `.000`/`.999` (or with `,`): a run of one digit that is not followed by another digit.
fn frac_chunk(at: &str) -> Option<(Std, usize)> {
    let b = at.as_bytes();
    let digit = *b.get(1).filter(|d| matches!(d, b'0' | b'9'))?;
    let run = b[1..].iter().take_while(|&&d| d == digit).count();
    if b.get(1 + run).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let std = Std::Frac { sep: char::from(b[0]), digits: run, trim: digit == b'9' };
    Some((std, 1 + run))
}

/// Go's `time.Month` and `time.Weekday`: integers that print as English names.
#[derive(Debug, Clone, Copy)]
struct Calendar {
    type_name: &'static str,
    number: i64,
    name: &'static str,
}

impl Calendar {
    const MONTHS: [&'static str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DAYS: [&'static str; 7] =
        ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

    fn month(month: u32) -> Calendar {
        let index = usize::try_from(month.clamp(1, 12) - 1).unwrap_or(0);
        Calendar { type_name: "time.Month", number: month.into(), name: Calendar::MONTHS[index] }
    }

    fn weekday(day: chrono::Weekday) -> Calendar {
        let number = day.num_days_from_sunday();
        let name = Calendar::DAYS[usize::try_from(number).unwrap_or(0)];
        Calendar { type_name: "time.Weekday", number: number.into(), name }
    }
}

impl TemplateObject for Calendar {
    fn type_name(&self) -> String {
        self.type_name.into()
    }

    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        (name == "String").then(|| {
            if args.is_empty() {
                Ok(Value::from(self.name))
            } else {
                Err(format!("wrong number of args for String: want 0 got {}", args.len()))
            }
        })
    }

    fn basic(&self) -> Option<Value> {
        Some(Value::Int(self.number))
    }

    fn display(&self) -> String {
        self.name.into()
    }
}

impl TemplateObject for GoTime {
    fn type_name(&self) -> String {
        "time.Time".into()
    }

    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let no_args = |v: Value| {
            if args.is_empty() {
                Ok(v)
            } else {
                Err(format!("wrong number of args for {name}: want 0 got {}", args.len()))
            }
        };
        let c = self.civil();
        Some(match name {
            "Format" => one_arg(name, args).and_then(|a| match a {
                Value::String(layout) => Ok(Value::from(self.format(layout))),
                other => {
                    Err(format!("wrong type for value; expected string; got {}", other.type_name()))
                }
            }),
            "Add" => one_arg(name, args).and_then(|a| match a {
                Value::Int(d) => Ok(Value::object(self.add_nanos(*d))),
                other => Err(format!(
                    "wrong type for value; expected time.Duration; got {}",
                    other.type_name()
                )),
            }),
            "Sub" | "Before" | "After" | "Equal" => self.compare(name, args),
            "String" => no_args(Value::from(self.go_string())),
            "Unix" => no_args(Value::Int(self.secs)),
            "UnixMilli" => {
                no_args(Value::Int(self.secs * 1000 + i64::from(self.nanos / 1_000_000)))
            }
            "UnixNano" => {
                no_args(Value::Int(self.secs.wrapping_mul(1_000_000_000) + i64::from(self.nanos)))
            }
            "UTC" => no_args(Value::object(self.to_utc())),
            "Local" => no_args(Value::object(self.local())),
            "IsZero" => no_args(Value::Bool(self.secs == ZERO_TIME_UNIX && self.nanos == 0)),
            "Year" => no_args(Value::Int(c.year().into())),
            "YearDay" => no_args(Value::Int(c.ordinal().into())),
            "Day" => no_args(Value::Int(c.day().into())),
            "Hour" => no_args(Value::Int(c.hour().into())),
            "Minute" => no_args(Value::Int(c.minute().into())),
            "Second" => no_args(Value::Int(c.second().into())),
            "Nanosecond" => no_args(Value::Int(self.nanos.into())),
            "Month" => no_args(Value::object(Calendar::month(c.month()))),
            "Weekday" => no_args(Value::object(Calendar::weekday(c.weekday()))),
            _ => return None,
        })
    }

    fn display(&self) -> String {
        self.go_string()
    }
}

impl GoTime {
    /// Nanoseconds from `other` to `self` (Go's `Sub`, saturating like Go's).
    fn nanos_since(&self, other: &GoTime) -> i64 {
        let d = i128::from(self.secs - other.secs) * 1_000_000_000 + i128::from(self.nanos)
            - i128::from(other.nanos);
        i64::try_from(d).unwrap_or(if d < 0 { i64::MIN } else { i64::MAX })
    }

    /// `Sub`, `Before`, `After` and `Equal`, whose argument is another time.
    fn compare(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        let other = one_arg(name, args).and_then(|a| match a {
            Value::Object(o) if o.type_name() == "time.Time" => time_of(o.as_ref()),
            other => {
                Err(format!("wrong type for value; expected time.Time; got {}", other.type_name()))
            }
        })?;
        let d = self.nanos_since(&other);
        Ok(match name {
            "Sub" => Value::object(GoDuration(d)),
            "Before" => Value::Bool(d < 0),
            "After" => Value::Bool(d > 0),
            _ => Value::Bool(d == 0),
        })
    }
}

/// Rebuilds the instant of a `time.Time` object through its methods (objects are opaque).
fn time_of(o: &dyn TemplateObject) -> Result<GoTime, String> {
    let int = |m: &str| match o.method(m, &[]) {
        Some(Ok(Value::Int(i))) => Ok(i),
        _ => Err(format!("wrong type for value; expected time.Time; got {}", o.type_name())),
    };
    Ok(GoTime::utc(int("Unix")?, u32::try_from(int("Nanosecond")?).unwrap_or(0)))
}

fn one_arg<'a>(name: &str, args: &'a [Value]) -> Result<&'a Value, String> {
    match args {
        [a] => Ok(a),
        _ => Err(format!("wrong number of args for {name}: want 1 got {}", args.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_go_layouts() {
        // 2024-02-29T13:04:05.123456789+02:00
        let t = GoTime::in_zone(1_709_204_645, 123_456_789, 7200, "");
        assert_eq!(t.go_string(), "2024-02-29 13:04:05.123456789 +0200 +0200");
        assert_eq!(
            t.format("Mon Jan _2 03:04:05.000 PM MST -07:00 Z07:00"),
            "Thu Feb 29 01:04:05.123 PM +0200 +02:00 +02:00"
        );
        assert_eq!(
            t.format("Monday January 2 2006 06 002 __2 pm ,99"),
            "Thursday February 29 2024 24 060  60 pm ,12"
        );
        assert_eq!(t.format("Janitor Month"), "Janitor Month");
        assert_eq!(GoTime::zero().go_string(), "0001-01-01 00:00:00 +0000 UTC");
        assert_eq!(GoTime::utc(0, 0).format("Z07:00 -07 _2006"), "Z +00 _1970");
    }

    #[test]
    fn prints_the_monotonic_reading() {
        let t = GoTime::utc(0, 5).with_monotonic(-299_952_521_831);
        assert_eq!(t.go_string(), "1970-01-01 00:00:00.000000005 +0000 UTC m=-299.952521831");
        assert_eq!(t.to_utc().go_string(), "1970-01-01 00:00:00.000000005 +0000 UTC");
    }
}
