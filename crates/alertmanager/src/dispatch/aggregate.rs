//! Aggregation groups and their timers: the sans-IO core of the dispatcher.
//!
//! Every alert the store accepts is routed; each matching route puts it in the group named by
//! (route, group labels). A group's first flush comes `group_wait` after it was created (at once
//! when an alert had already started more than `group_wait` ago and the group never flushed),
//! then every `group_interval`, measured tick to tick. A flush hands a sorted copy of the
//! group's alerts to the pipeline; after a successful one, the resolved alerts that were not
//! updated meanwhile leave the group, and maintenance drops empty groups.
//!
//! Nothing here reads a clock or sleeps: the driver passes `now` in, asks for
//! [`Dispatcher::next_deadline`], and reports each flush's outcome back.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use model::{Alert, Fingerprint, FingerprintHashing, LabelSet};

use super::route::{Route, RouteOptions};
use crate::silence::silencepb::go_zero_time;

/// Names one aggregation group: its route's index in the tree and its group labels'
/// fingerprint (0.25 keys its per-route group maps the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupId {
    /// [`Route::index`].
    pub route: usize,
    /// Fingerprint of the group labels.
    pub labels: Fingerprint,
}

/// What a route contributes to each of its groups, copied so a group outlives no borrow.
#[derive(Debug, Clone)]
pub struct GroupRoute {
    /// The route's effective options.
    pub options: RouteOptions,
    /// `mute_time_intervals` of the route itself.
    pub mute_time_intervals: Vec<String>,
    /// `active_time_intervals` of the route itself.
    pub active_time_intervals: Vec<String>,
}

/// One aggregation group.
#[derive(Debug, Clone)]
pub struct AggregationGroup {
    /// The group labels.
    pub labels: LabelSet,
    /// The group key, as the nflog and the webhook payload name it.
    pub key: String,
    /// The route's options.
    pub route: GroupRoute,
    /// The group's alerts, the latest copy of each, shared with the alert store (a group
    /// holds a pointer, not a second copy, so memory per alert does not grow with routes).
    pub alerts: HashMap<Fingerprint, Arc<Alert>, FingerprintHashing>,
    next_flush: DateTime<Utc>,
    has_flushed: bool,
    in_flight: bool,
}

/// A flush handed to the notification pipeline.
#[derive(Debug, Clone)]
pub struct Flush {
    /// The group flushed.
    pub id: GroupId,
    /// The group key.
    pub group_key: String,
    /// The group labels.
    pub group_labels: LabelSet,
    /// The route's options (receiver, repeat interval, group interval…).
    pub route: GroupRoute,
    /// The tick time: the pipeline's notion of now for muting and dedup.
    pub now: DateTime<Utc>,
    /// Sorted copies of the alerts. An alert still firing at `now` has Go's zero `EndsAt`, as
    /// 0.25 sends it, so that it cannot resolve while the flush is under way.
    pub alerts: Vec<Alert>,
}

/// The aggregation groups of one routing tree.
#[derive(Debug)]
pub struct Dispatcher {
    route: Route,
    groups: BTreeMap<GroupId, AggregationGroup>,
}

/// How late a timer may be served and still count as on time.
pub const LATE_TICK: Duration = Duration::from_millis(100);

/// True when `time` is Go's zero time, which marks an unset `EndsAt`.
pub fn is_zero_time(time: DateTime<Utc>) -> bool {
    time == go_zero_time()
}

/// Go's `Alert.ResolvedAt`: an unset end never resolves; otherwise the end is not after `now`.
pub fn resolved_at(alert: &Alert, now: DateTime<Utc>) -> bool {
    let ends_at = alert.ends_at.to_utc();
    !is_zero_time(ends_at) && ends_at <= now
}

fn add(time: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(duration)
        .ok()
        .and_then(|d| time.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl Dispatcher {
    /// A dispatcher with no groups for the routing tree `route`.
    pub fn new(route: Route) -> Dispatcher {
        Dispatcher { route, groups: BTreeMap::new() }
    }

    /// The routing tree.
    pub fn route(&self) -> &Route {
        &self.route
    }

    /// Puts an alert (the store's current copy) in every group its routes give it.
    pub fn insert(&mut self, alert: &Arc<Alert>, now: DateTime<Utc>) {
        self.insert_fingerprinted(alert, alert.fingerprint(), now);
    }

    /// [`Dispatcher::insert`] for an alert whose fingerprint the caller already has.
    pub fn insert_fingerprinted(
        &mut self,
        alert: &Arc<Alert>,
        fingerprint: Fingerprint,
        now: DateTime<Utc>,
    ) {
        debug_assert_eq!(fingerprint, alert.fingerprint());
        for route in self.route.matching(&alert.labels) {
            let id = GroupId { route: route.index, labels: route.group_fingerprint(&alert.labels) };
            let group = self.groups.entry(id).or_insert_with(|| {
                let labels = route.group_labels(&alert.labels);
                AggregationGroup {
                    key: route.group_key(&labels),
                    labels,
                    route: GroupRoute {
                        options: route.options.clone(),
                        mute_time_intervals: route.mute_time_intervals.clone(),
                        active_time_intervals: route.active_time_intervals.clone(),
                    },
                    alerts: HashMap::default(),
                    next_flush: add(now, route.options.group_wait),
                    has_flushed: false,
                    in_flight: false,
                }
            });
            group.alerts.insert(fingerprint, Arc::clone(alert));
            // An alert that started long enough ago is flushed at once, which is what makes a
            // restart or reload announce old alerts without waiting again.
            let waited = add(alert.starts_at.to_utc(), group.route.options.group_wait);
            if !group.has_flushed && waited < now {
                group.next_flush = now;
            }
        }
    }

    /// When the earliest timer fires, if any group is waiting for one.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        self.groups.values().filter(|g| !g.in_flight).map(|g| g.next_flush).min()
    }

    /// Fires every timer due at `now`. The flush's tick is the time the timer was due, and the
    /// timer is re-armed for `group_interval` from that tick before the flush, so the cadence
    /// depends neither on how long a flush takes nor on how late the driver woke (0.25's timers
    /// fire within microseconds, and repeat decisions sit exactly on multiples of the
    /// interval). A group still busy with its previous flush fires when that one is reported;
    /// a timer served later than [`LATE_TICK`] is re-armed from `now`, as 0.25's group loop
    /// re-arms when it reads a timer that fired during a long flush. Empty groups tick without
    /// a flush.
    pub fn due(&mut self, now: DateTime<Utc>) -> Vec<Flush> {
        let mut flushes = Vec::new();
        for (id, group) in &mut self.groups {
            if group.in_flight || group.next_flush > now {
                continue;
            }
            let tick = group.next_flush;
            let late = (now - tick).to_std().is_ok_and(|lateness| lateness > LATE_TICK);
            let base = if late { now } else { tick };
            group.next_flush = add(base, group.route.options.group_interval);
            group.has_flushed = true;
            if group.alerts.is_empty() {
                continue;
            }
            group.in_flight = true;
            flushes.push(Flush {
                id: *id,
                group_key: group.key.clone(),
                group_labels: group.labels.clone(),
                route: group.route.clone(),
                now: tick,
                alerts: flush_copies(group.alerts.values().map(|alert| &**alert), tick),
            });
        }
        flushes
    }

    /// Records a flush's outcome. After a success, each resolved alert the flush carried leaves
    /// the group unless a newer copy arrived meanwhile; after a failure nothing changes and the
    /// next tick tries again.
    pub fn flush_done(&mut self, flush: &Flush, success: bool, now: DateTime<Utc>) {
        let Some(group) = self.groups.get_mut(&flush.id) else { return };
        group.in_flight = false;
        if !success {
            return;
        }
        for sent in &flush.alerts {
            let fingerprint = sent.fingerprint();
            let unchanged =
                group.alerts.get(&fingerprint).is_some_and(|a| a.updated_at == sent.updated_at);
            if resolved_at(sent, now) && unchanged {
                group.alerts.remove(&fingerprint);
            }
        }
    }

    /// Drops empty groups that are not flushing; returns how many (0.25 does this every 30s).
    pub fn maintenance(&mut self) -> usize {
        let before = self.groups.len();
        self.groups.retain(|_, group| group.in_flight || !group.alerts.is_empty());
        before - self.groups.len()
    }

    /// The groups, in no particular order.
    pub fn groups(&self) -> impl Iterator<Item = (&GroupId, &AggregationGroup)> {
        self.groups.iter()
    }

    /// The number of groups.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether there are no groups.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

/// The flush's copies: firing alerts lose their end, then everything is sorted as 0.25 sorts.
fn flush_copies<'a>(alerts: impl Iterator<Item = &'a Alert>, now: DateTime<Utc>) -> Vec<Alert> {
    let mut copies: Vec<Alert> = alerts
        .map(|alert| {
            let mut copy = alert.clone();
            if !resolved_at(&copy, now) {
                copy.ends_at = go_zero_time().fixed_offset();
            }
            copy
        })
        .collect();
    copies.sort_by(compare_alerts);
    copies
}

/// 0.25's alert order: by `job`, then `instance` (an alert with the label first), then by
/// label set.
pub fn compare_alerts(a: &Alert, b: &Alert) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    for name in ["job", "instance"] {
        match (a.labels.get(name), b.labels.get(name)) {
            (None, None) => continue,
            (None, Some(_)) => return Ordering::Greater,
            (Some(_), None) => return Ordering::Less,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    compare_label_sets(&a.labels, &b.labels)
}

/// prometheus/common's `LabelSet.Before` as an ordering: fewer labels first, then the first
/// differing label in name order, a missing label counting as smaller.
pub fn compare_label_sets(a: &LabelSet, b: &LabelSet) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match a.len().cmp(&b.len()) {
        Ordering::Equal => {}
        other => return other,
    }
    let mut names: Vec<&str> = a.names().chain(b.names()).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        match (a.get(name), b.get(name)) {
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    Ordering::Equal
}

#[cfg(test)]
#[path = "aggregate_tests.rs"]
mod tests;
