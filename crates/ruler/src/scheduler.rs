//! When rule groups are evaluated, sans-IO: a base tick aligned to the wall clock (multiples
//! of the tick since the Unix epoch), each group due every `interval / tick` ticks at an
//! offset derived from the group's file and name only — so every instance evaluates a group
//! at the same instants — with the tick time as the evaluation time. A group has at most one
//! evaluation in flight and one pending; a tick that finds one pending replaces it and the
//! older one is counted as missed. The driver enforces each evaluation's deadline.
//!
//! The unit is the group, as in Prometheus: a group's rules run in file order within one
//! evaluation, so "one in flight per group" also bounds each rule to one.
//!
//! A group another instance evaluates (see [`crate::sharding`]) is disabled here: it is
//! never due and its dropped ticks are not counted.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// One evaluation to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Due {
    /// Index of the group (in the order given to [`Scheduler::new`]).
    pub group: usize,
    /// The evaluation time: the tick that scheduled it.
    pub at: DateTime<Utc>,
    /// When the evaluation must be abandoned.
    pub deadline: DateTime<Utc>,
}

#[derive(Debug)]
struct Slot {
    every: u64,
    offset: u64,
    timeout: Duration,
    in_flight: bool,
    pending: Option<DateTime<Utc>>,
    missed: u64,
    enabled: bool,
}

/// The schedule of every group.
#[derive(Debug)]
pub struct Scheduler {
    tick: Duration,
    slots: Vec<Slot>,
}

/// A group as the scheduler needs it.
pub struct GroupTiming<'a> {
    /// Identity used for the offset: file path and group name.
    pub key: (&'a str, &'a str),
    /// Evaluation interval.
    pub interval: Duration,
    /// Evaluation timeout (capped at the interval).
    pub timeout: Duration,
}

impl Scheduler {
    /// A schedule with base `tick`. Every interval must be a positive multiple of the tick.
    pub fn new(tick: Duration, groups: &[GroupTiming<'_>]) -> Result<Scheduler, String> {
        let tick_ms = tick.as_millis();
        if tick_ms == 0 {
            return Err("the rule tick interval must be at least 1ms".to_owned());
        }
        let mut slots = Vec::with_capacity(groups.len());
        for group in groups {
            let interval_ms = group.interval.as_millis();
            if interval_ms == 0 || interval_ms % tick_ms != 0 {
                return Err(format!(
                    "group {:?} in {}: interval {} is not a multiple of the rule tick {}",
                    group.key.1,
                    group.key.0,
                    model::format_duration(group.interval),
                    model::format_duration(tick)
                ));
            }
            let every = u64::try_from(interval_ms / tick_ms).unwrap_or(u64::MAX);
            slots.push(Slot {
                every,
                offset: group_offset(group.key.0, group.key.1, every),
                timeout: group.timeout.min(group.interval),
                in_flight: false,
                pending: None,
                missed: 0,
                enabled: true,
            });
        }
        Ok(Scheduler { tick, slots })
    }

    /// The first tick strictly after `now`.
    pub fn next_tick(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let tick_ms = i64::try_from(self.tick.as_millis()).unwrap_or(i64::MAX);
        let now_ms = now.timestamp_millis();
        let next = (now_ms.div_euclid(tick_ms) + 1) * tick_ms;
        DateTime::from_timestamp_millis(next).unwrap_or(now)
    }

    /// Handles the tick at `at` (a multiple of the tick): the evaluations to start now.
    pub fn tick(&mut self, at: DateTime<Utc>) -> Vec<Due> {
        let number = self.tick_number(at);
        let mut due = Vec::new();
        for (group, slot) in self.slots.iter_mut().enumerate() {
            if !slot.enabled || number % slot.every != slot.offset {
                continue;
            }
            if slot.in_flight {
                if slot.pending.replace(at).is_some() {
                    slot.missed += 1;
                }
            } else {
                slot.in_flight = true;
                due.push(Due { group, at, deadline: deadline(at, slot.timeout) });
            }
        }
        due
    }

    /// Handles a tick the driver could not deliver in time (the process was stalled): groups
    /// due on it count it as missed and nothing starts.
    pub fn skip(&mut self, at: DateTime<Utc>) {
        let number = self.tick_number(at);
        for slot in &mut self.slots {
            if slot.enabled && number % slot.every == slot.offset {
                slot.missed += 1;
            }
        }
    }

    /// The tick after `at`.
    pub fn tick_after(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        at + chrono::Duration::from_std(self.tick).unwrap_or(chrono::Duration::MAX)
    }

    fn tick_number(&self, at: DateTime<Utc>) -> u64 {
        let tick_ms = i64::try_from(self.tick.as_millis()).unwrap_or(i64::MAX);
        u64::try_from(at.timestamp_millis().div_euclid(tick_ms)).unwrap_or(0)
    }

    /// Records that `group`'s evaluation ended (at `now`); returns the pending one to start.
    pub fn finished(&mut self, group: usize, now: DateTime<Utc>) -> Option<Due> {
        let slot = &mut self.slots[group];
        match slot.pending.take().filter(|_| slot.enabled) {
            Some(at) => Some(Due { group, at, deadline: deadline(now, slot.timeout) }),
            None => {
                slot.in_flight = false;
                None
            }
        }
    }

    /// Enables or disables `group`. A disabled group is never due; an evaluation already
    /// running finishes, but the one pending behind it is dropped.
    pub fn set_enabled(&mut self, group: usize, enabled: bool) {
        self.slots[group].enabled = enabled;
    }

    /// How many ticks of `group` were dropped because it was too slow.
    pub fn missed(&self, group: usize) -> u64 {
        self.slots[group].missed
    }

    /// The tick offset of `group` within its interval.
    pub fn offset(&self, group: usize) -> u64 {
        self.slots[group].offset
    }
}

fn deadline(from: DateTime<Utc>, timeout: Duration) -> DateTime<Utc> {
    from + chrono::Duration::from_std(timeout).unwrap_or(chrono::Duration::MAX)
}

/// A deterministic offset in `0..every` from the group's identity: a hash of stable bytes,
/// never of process state, so all instances agree.
fn group_offset(file: &str, name: &str, every: u64) -> u64 {
    let mut bytes = Vec::with_capacity(file.len() + name.len() + 1);
    bytes.extend_from_slice(file.as_bytes());
    bytes.push(0xff);
    bytes.extend_from_slice(name.as_bytes());
    xxhash_rust::xxh64::xxh64(&bytes, 0) % every
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).unwrap()
    }

    fn scheduler(intervals: &[u64]) -> Scheduler {
        let names: Vec<String> = (0..intervals.len()).map(|i| format!("g{i}")).collect();
        let groups: Vec<GroupTiming<'_>> = intervals
            .iter()
            .zip(&names)
            .map(|(s, name)| GroupTiming {
                key: ("rules.yml", name),
                interval: Duration::from_secs(*s),
                timeout: Duration::from_secs(30),
            })
            .collect();
        Scheduler::new(Duration::from_secs(10), &groups).unwrap()
    }

    #[test]
    fn ticks_are_aligned_to_the_wall_clock() {
        let s = scheduler(&[10]);
        assert_eq!(s.next_tick(at(12_345)), at(20_000));
        assert_eq!(s.next_tick(at(20_000)), at(30_000));
    }

    #[test]
    fn each_group_runs_once_per_interval_at_its_offset_and_at_the_tick_time() {
        let mut s = scheduler(&[60, 60, 60, 10]);
        let mut runs: Vec<Vec<DateTime<Utc>>> = vec![Vec::new(); 4];
        for n in 0..12 {
            for due in s.tick(at(n * 10_000)) {
                runs[due.group].push(due.at);
                assert!(s.finished(due.group, due.at).is_none());
            }
        }
        for (group, times) in runs.iter().enumerate() {
            let expected = if group == 3 { 12 } else { 2 };
            assert_eq!(times.len(), expected, "group {group}: {times:?}");
            let offset = i64::try_from(s.offset(group)).unwrap();
            assert!(
                times
                    .iter()
                    .all(|t| t.timestamp() / 10 % (if group == 3 { 1 } else { 6 }) == offset)
            );
        }
    }

    #[test]
    fn the_offset_is_the_same_for_every_instance() {
        let a = scheduler(&[60, 60, 60]);
        let b = scheduler(&[60, 60, 60]);
        for group in 0..3 {
            assert_eq!(a.offset(group), b.offset(group));
        }
    }

    #[test]
    fn a_slow_group_keeps_one_pending_and_counts_dropped_ticks() {
        let mut s = scheduler(&[10]);
        assert_eq!(s.tick(at(0)).len(), 1);
        assert!(s.tick(at(10_000)).is_empty());
        assert!(s.tick(at(20_000)).is_empty());
        assert!(s.tick(at(30_000)).is_empty());
        assert_eq!(s.missed(0), 2);
        let next = s.finished(0, at(31_000)).unwrap();
        assert_eq!(next.at, at(30_000), "the newest tick runs, with its own time");
        assert_eq!(next.deadline, at(41_000), "timeout capped at the interval");
        assert!(s.finished(0, at(32_000)).is_none());
        assert_eq!(s.tick(at(40_000)).len(), 1);
    }

    #[test]
    fn ticks_the_driver_could_not_deliver_count_as_missed_for_the_groups_due() {
        let mut s = scheduler(&[10, 20]);
        s.skip(at(0));
        s.skip(at(10_000));
        assert_eq!(s.missed(0), 2);
        assert_eq!(s.missed(1), 1, "due on one of the two ticks");
        assert_eq!(s.tick_after(at(10_000)), at(20_000));
    }

    #[test]
    fn a_disabled_group_is_never_due_and_drops_what_was_pending() {
        let mut s = scheduler(&[10, 10]);
        s.set_enabled(1, false);
        let due: Vec<usize> = s.tick(at(0)).iter().map(|d| d.group).collect();
        assert_eq!(due, vec![0]);
        assert!(s.tick(at(10_000)).is_empty(), "group 0 still running");
        s.skip(at(20_000));
        assert_eq!((s.missed(0), s.missed(1)), (1, 0), "a disabled group misses nothing");
        s.set_enabled(0, false);
        assert!(s.finished(0, at(21_000)).is_none(), "the pending tick is dropped");
        s.set_enabled(0, true);
        s.set_enabled(1, true);
        assert_eq!(s.tick(at(30_000)).len(), 2);
    }

    #[test]
    fn intervals_must_be_multiples_of_the_tick() {
        let groups = [GroupTiming {
            key: ("f", "g"),
            interval: Duration::from_secs(15),
            timeout: Duration::from_secs(1),
        }];
        let error = Scheduler::new(Duration::from_secs(10), &groups).unwrap_err();
        assert_eq!(error, "group \"g\" in f: interval 15s is not a multiple of the rule tick 10s");
    }
}
