//! Time zones of `time_intervals[].location`, resolved as Alertmanager 0.25 resolves them: Go's
//! `time.LoadLocation` over the system zone database.
//!
//! Go accepts `""` and `UTC` (UTC), `Local` (the process's zone: `TZ`, else `/etc/localtime`),
//! and otherwise reads the TZif file named by the location from `$ZONEINFO` and then from the
//! system directories, rejecting names with `..` or a leading slash. A file that exists but is
//! not TZif data is an error (not a fall-through to "unknown"). Reading the same files as Go,
//! rather than a zone database compiled into the binary, keeps the rules in step with the
//! tzdata that Alertmanager on the same machine uses.

use std::fmt;
use std::io::ErrorKind;
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use tz::TimeZone;

/// The directories Go 1.19 (Alertmanager 0.25's toolchain) searches on Unix, in order.
const ZONE_DIRECTORIES: [&str; 3] =
    ["/usr/share/zoneinfo", "/usr/share/lib/zoneinfo", "/usr/lib/locale/TZ"];

/// Go refuses to read zone files larger than this.
const MAX_ZONE_FILE_BYTES: u64 = 10 << 20;

/// A loaded location: its configured name and its rules.
#[derive(Clone)]
pub struct Location {
    name: String,
    zone: Arc<TimeZone>,
}

impl Location {
    /// Loads `name` as Go's `time.LoadLocation` does; the error says why it is not a zone.
    pub fn load(name: &str) -> Result<Location, String> {
        let zone = match name {
            "" | "UTC" => TimeZone::utc(),
            "Local" => local_zone(),
            _ => load_named(name)?,
        };
        // Go names the empty location after what it loads.
        let name = if name.is_empty() { "UTC" } else { name };
        Ok(Location { name: name.to_owned(), zone: Arc::new(zone) })
    }

    /// The name as configured (`UTC` for the empty name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The wall-clock time in this location at `instant`.
    pub fn local_time(&self, instant: DateTime<Utc>) -> NaiveDateTime {
        let offset = self
            .zone
            .find_local_time_type(instant.timestamp())
            .map(|t| i64::from(t.ut_offset()))
            .unwrap_or(0);
        instant.naive_utc() + chrono::Duration::seconds(offset)
    }
}

impl PartialEq for Location {
    fn eq(&self, other: &Location) -> bool {
        self.name == other.name
    }
}

impl Eq for Location {}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Location").field(&self.name).finish()
    }
}

/// Go's `Local`: the `TZ` variable (empty means UTC), else `/etc/localtime`; whatever fails
/// to load is UTC.
fn local_zone() -> TimeZone {
    match std::env::var("TZ") {
        Ok(tz) if tz.is_empty() => TimeZone::utc(),
        Ok(tz) => {
            let name = tz.strip_prefix(':').unwrap_or(&tz);
            let loaded = if name.starts_with('/') {
                read_zone_file(std::path::Path::new(name)).ok().flatten()
            } else {
                load_named(name).ok()
            };
            loaded.unwrap_or_else(TimeZone::utc)
        }
        Err(_) => read_zone_file(std::path::Path::new("/etc/localtime"))
            .ok()
            .flatten()
            .unwrap_or_else(TimeZone::utc),
    }
}

fn load_named(name: &str) -> Result<TimeZone, String> {
    if name.contains("..") || name.starts_with('/') || name.starts_with('\\') {
        return Err(format!("invalid location name {name}"));
    }
    let mut first_error = None;
    let zoneinfo = std::env::var("ZONEINFO").unwrap_or_default();
    let directories =
        (!zoneinfo.is_empty()).then_some(zoneinfo.as_str()).into_iter().chain(ZONE_DIRECTORIES);
    for directory in directories {
        match read_zone_file(&std::path::Path::new(directory).join(name)) {
            Ok(Some(zone)) => return Ok(zone),
            Ok(None) => {}
            Err(error) => {
                first_error.get_or_insert(format!("time zone {name}: {error}"));
            }
        }
    }
    Err(first_error.unwrap_or_else(|| format!("unknown time zone {name}")))
}

/// The zone in `path`: `None` if there is no such file, an error if it cannot be read or is
/// not TZif data.
fn read_zone_file(path: &std::path::Path) -> Result<Option<TimeZone>, String> {
    let too_large = std::fs::metadata(path).is_ok_and(|m| m.len() > MAX_ZONE_FILE_BYTES);
    if too_large {
        return Err("file is too large".to_owned());
    }
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
        Err(error) if error.kind() == ErrorKind::IsADirectory => {
            return Err("is a directory".to_owned());
        }
        Err(error) => return Err(error.to_string()),
    };
    TimeZone::from_tz_data(&bytes)
        .map(Some)
        .map_err(|_| "malformed time zone information".to_owned())
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone as _, Utc};

    use super::Location;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn wall(y: i32, m: u32, d: u32, h: u32, min: u32) -> chrono::NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, min, 0).unwrap()
    }

    #[test]
    fn berlin_across_both_dst_changes() {
        let berlin = Location::load("Europe/Berlin").unwrap();
        // Spring 2024: 02:00 CET jumps to 03:00 CEST at 01:00 UTC.
        assert_eq!(berlin.local_time(utc(2024, 3, 31, 0, 59)), wall(2024, 3, 31, 1, 59));
        assert_eq!(berlin.local_time(utc(2024, 3, 31, 1, 0)), wall(2024, 3, 31, 3, 0));
        // Autumn 2024: 03:00 CEST falls back to 02:00 CET at 01:00 UTC; 02:30 happens twice.
        assert_eq!(berlin.local_time(utc(2024, 10, 27, 0, 30)), wall(2024, 10, 27, 2, 30));
        assert_eq!(berlin.local_time(utc(2024, 10, 27, 0, 59)), wall(2024, 10, 27, 2, 59));
        assert_eq!(berlin.local_time(utc(2024, 10, 27, 1, 0)), wall(2024, 10, 27, 2, 0));
        assert_eq!(berlin.local_time(utc(2024, 10, 27, 1, 30)), wall(2024, 10, 27, 2, 30));
    }

    #[test]
    fn rules_beyond_the_transition_table() {
        // Zone files list transitions to 2037 at most; later times follow the footer rule.
        let new_york = Location::load("America/New_York").unwrap();
        assert_eq!(new_york.local_time(utc(2045, 7, 1, 12, 0)), wall(2045, 7, 1, 8, 0));
        assert_eq!(new_york.local_time(utc(2045, 12, 1, 12, 0)), wall(2045, 12, 1, 7, 0));
        // Second Sunday of March 2045 is the 12th: 02:00 EST is 07:00 UTC.
        assert_eq!(new_york.local_time(utc(2045, 3, 12, 6, 59)), wall(2045, 3, 12, 1, 59));
        assert_eq!(new_york.local_time(utc(2045, 3, 12, 7, 0)), wall(2045, 3, 12, 3, 0));
    }

    #[test]
    fn southern_hemisphere_and_quarter_hour_offsets() {
        // Chatham: +13:45 in (southern) summer, +12:45 in winter.
        let chatham = Location::load("Pacific/Chatham").unwrap();
        assert_eq!(chatham.local_time(utc(2024, 1, 15, 0, 0)), wall(2024, 1, 15, 13, 45));
        assert_eq!(chatham.local_time(utc(2024, 7, 15, 0, 0)), wall(2024, 7, 15, 12, 45));
    }

    #[test]
    fn names_go_accepts_and_rejects() {
        assert_eq!(Location::load("").unwrap().name(), "UTC");
        assert_eq!(
            Location::load("UTC").unwrap().local_time(utc(2024, 1, 1, 5, 0)),
            wall(2024, 1, 1, 5, 0)
        );
        assert!(Location::load("Local").is_ok());
        // Go reads the path as given, doubled slashes included.
        assert!(Location::load("Europe//Berlin").is_ok());
        let error = |name: &str| Location::load(name).unwrap_err();
        assert_eq!(error("Europe/Nowhere"), "unknown time zone Europe/Nowhere");
        assert_eq!(error("europe/berlin"), "unknown time zone europe/berlin");
        assert_eq!(error("zone.tab"), "time zone zone.tab: malformed time zone information");
        assert_eq!(error("Europe"), "time zone Europe: is a directory");
        assert_eq!(error("../zoneinfo/UTC"), "invalid location name ../zoneinfo/UTC");
        assert_eq!(error("/etc/localtime"), "invalid location name /etc/localtime");
    }
}
