//! The pure stages of the pipeline: time intervals, muting, and the dedup inputs.
//!
//! Muting removes alerts before dedup, so muted alerts never enter the nflog's sets; a route
//! outside its active intervals or inside a mute interval sends nothing at all.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use model::Alert;

use crate::config::TimeInterval;
use crate::dispatch::aggregate::{GroupRoute, resolved_at};
use crate::dispatch::dedup;
use crate::nflog::nflogpb::Entry;

/// A route names a time interval the configuration does not define (0.25 fails the flush).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("time interval {0} doesn't exist in config")]
pub struct UnknownInterval(pub String);

/// Whether `now` is inside any interval of any of `names`, each read in its own `location`.
pub fn in_time_intervals(
    now: DateTime<Utc>,
    intervals: &BTreeMap<String, Vec<TimeInterval>>,
    names: &[String],
) -> Result<bool, UnknownInterval> {
    for name in names {
        let list = intervals.get(name).ok_or_else(|| UnknownInterval(name.clone()))?;
        for interval in list {
            if interval.contains(now) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Whether the route sends at `now`: inside its active intervals (if it has any) and outside
/// its mute intervals.
pub fn route_sends_at(
    route: &GroupRoute,
    intervals: &BTreeMap<String, Vec<TimeInterval>>,
    now: DateTime<Utc>,
) -> Result<bool, UnknownInterval> {
    if !route.active_time_intervals.is_empty()
        && !in_time_intervals(now, intervals, &route.active_time_intervals)?
    {
        return Ok(false);
    }
    Ok(!in_time_intervals(now, intervals, &route.mute_time_intervals)?)
}

/// The alert hashes the dedup stage computes and the nflog records: every alert that
/// survived muting, split by whether it has resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DedupHashes {
    /// Hashes of firing alerts, in alert order.
    pub firing: Vec<u64>,
    /// Hashes of resolved alerts, in alert order.
    pub resolved: Vec<u64>,
}

impl DedupHashes {
    /// The hashes of `alerts` at `now`.
    pub fn of(alerts: &[Alert], now: DateTime<Utc>) -> DedupHashes {
        let mut hashes = DedupHashes::default();
        for alert in alerts {
            let hash = alert.labels.alert_hash();
            if resolved_at(alert, now) {
                hashes.resolved.push(hash);
            } else {
                hashes.firing.push(hash);
            }
        }
        hashes
    }

    /// Whether, given the last logged `entry`, a notification is due (0.25's `needsUpdate`).
    pub fn needs_update(
        &self,
        entry: Option<&Entry>,
        repeat_interval: Duration,
        send_resolved: bool,
        now: DateTime<Utc>,
    ) -> bool {
        let firing: HashSet<u64> = self.firing.iter().copied().collect();
        let resolved: HashSet<u64> = self.resolved.iter().copied().collect();
        dedup::needs_update(entry, &firing, &resolved, repeat_interval, send_resolved, now)
    }
}

/// What an integration sends: everything, or only the firing alerts without `send_resolved`.
/// `None` means nothing is sent but the flush counts as delivered, so that the nflog still
/// learns the resolution.
pub fn alerts_to_send(
    alerts: &[Alert],
    send_resolved: bool,
    hashes: &DedupHashes,
    now: DateTime<Utc>,
) -> Option<Vec<Alert>> {
    if send_resolved {
        return Some(alerts.to_vec());
    }
    if hashes.firing.is_empty() {
        return None;
    }
    Some(alerts.iter().filter(|a| !resolved_at(a, now)).cloned().collect())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::config::Config;

    fn config_with_intervals() -> Config {
        let yaml = r#"
route: {receiver: r}
receivers: [{name: r}]
time_intervals:
  - name: office
    time_intervals:
      - times: [{start_time: "09:00", end_time: "17:00"}]
        weekdays: ["monday:friday"]
  - name: night
    time_intervals:
      - times: [{start_time: "00:00", end_time: "06:00"}]
"#;
        Config::from_yaml(yaml, std::path::Path::new("t.yml")).unwrap()
    }

    fn route(active: &[&str], mute: &[&str]) -> GroupRoute {
        let config = config_with_intervals();
        let route = crate::dispatch::route::Route::from_config(&config.route);
        GroupRoute {
            options: route.options,
            active_time_intervals: active.iter().map(|s| s.to_string()).collect(),
            mute_time_intervals: mute.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn notify_time_intervals_gate_the_route() {
        let intervals = config_with_intervals().time_intervals;
        // 2023-11-14 is a Tuesday.
        let tuesday_noon = Utc.with_ymd_and_hms(2023, 11, 14, 12, 0, 0).unwrap();
        let tuesday_night = Utc.with_ymd_and_hms(2023, 11, 14, 3, 0, 0).unwrap();
        let office = route(&["office"], &[]);
        assert!(route_sends_at(&office, &intervals, tuesday_noon).unwrap());
        assert!(!route_sends_at(&office, &intervals, tuesday_night).unwrap());
        let quiet_nights = route(&[], &["night"]);
        assert!(route_sends_at(&quiet_nights, &intervals, tuesday_noon).unwrap());
        assert!(!route_sends_at(&quiet_nights, &intervals, tuesday_night).unwrap());
        let missing = route(&["nope"], &[]);
        assert_eq!(
            route_sends_at(&missing, &intervals, tuesday_noon),
            Err(UnknownInterval("nope".into()))
        );
    }
}
