//! The dedup decision: given what the notification log says was last sent for a group and
//! integration, whether the group's current alerts need a notification.
//!
//! The rules are Alertmanager 0.25's `DedupStage.needsUpdate`, first match wins. Because dedup
//! compares against the last successful send by any peer, every instance must decide exactly
//! alike or an HA pair pages twice (or not at all).

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::nflog::nflogpb::Entry;

/// Why a notification is needed; the names follow the situations the rules cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Nothing was sent before, or the last send had no firing alerts.
    FirstNotification,
    /// Some firing alert was not firing at the last send.
    NewAlertsFiring,
    /// Everything resolved since a send that had firing alerts. Sent even without
    /// `send_resolved`, so that the log's firing set is cleared.
    AllResolved,
    /// `send_resolved` is on and some alert resolved since the last send.
    SomeResolved,
    /// Nothing changed, but the repeat interval has passed.
    RepeatIntervalElapsed,
}

/// The decision with its reason: `None` means do not notify.
pub fn decide(
    entry: Option<&Entry>,
    firing: &HashSet<u64>,
    resolved: &HashSet<u64>,
    repeat_interval: Duration,
    send_resolved: bool,
    now: DateTime<Utc>,
) -> Option<Reason> {
    let Some(entry) = entry else {
        // A group whose alerts all resolved before its first send is never announced.
        return (!firing.is_empty()).then_some(Reason::FirstNotification);
    };
    if !entry.is_firing_subset(firing) {
        return Some(if entry.firing_alerts.is_empty() {
            Reason::FirstNotification
        } else {
            Reason::NewAlertsFiring
        });
    }
    if firing.is_empty() {
        // Alerts that fired and resolved between two sends were never announced, so their
        // resolution is not either.
        return (!entry.firing_alerts.is_empty()).then_some(Reason::AllResolved);
    }
    if send_resolved && !entry.is_resolved_subset(resolved) {
        return Some(Reason::SomeResolved);
    }
    let repeat_due = chrono::Duration::from_std(repeat_interval)
        .ok()
        .and_then(|repeat| now.checked_sub_signed(repeat))
        .is_some_and(|threshold| entry.time() < threshold);
    repeat_due.then_some(Reason::RepeatIntervalElapsed)
}

/// Whether a notification is needed: 0.25's `needsUpdate`.
///
/// `firing` and `resolved` are the alert hashes of the group's alerts after muting, an alert
/// counting as resolved when its `EndsAt` has passed. `now` is the clock the caller decides
/// by: 0.25 reads the wall clock inside the dedup stage (later versions use the flush tick).
pub fn needs_update(
    entry: Option<&Entry>,
    firing: &HashSet<u64>,
    resolved: &HashSet<u64>,
    repeat_interval: Duration,
    send_resolved: bool,
    now: DateTime<Utc>,
) -> bool {
    decide(entry, firing, resolved, repeat_interval, send_resolved, now).is_some()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::nflog::nflogpb::Timestamp;

    const HOUR: Duration = Duration::from_secs(3600);

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000, 0).unwrap()
    }

    fn entry(firing: &[u64], resolved: &[u64], age: Duration) -> Entry {
        let sent = now() - chrono::Duration::from_std(age).unwrap();
        Entry {
            firing_alerts: firing.to_vec(),
            resolved_alerts: resolved.to_vec(),
            timestamp: Some(Timestamp::from_time(sent)),
            ..Entry::default()
        }
    }

    fn set(hashes: &[u64]) -> HashSet<u64> {
        hashes.iter().copied().collect()
    }

    struct Row {
        name: &'static str,
        entry: Option<Entry>,
        firing: &'static [u64],
        resolved: &'static [u64],
        send_resolved: bool,
        expected: Option<Reason>,
    }

    fn row(
        name: &'static str,
        entry: Option<Entry>,
        firing: &'static [u64],
        resolved: &'static [u64],
        send_resolved: bool,
        expected: Option<Reason>,
    ) -> Row {
        Row { name, entry, firing, resolved, send_resolved, expected }
    }

    #[test]
    fn dispatch_dedup_decision_table_in_order() {
        use Reason::*;
        let fresh = Duration::from_secs(60);
        let old = 5 * HOUR;
        let exactly = 4 * HOUR;
        // Columns: name, stored entry (firing, resolved, age), firing now, resolved now,
        // send_resolved, expected decision.
        #[rustfmt::skip]
        let rows = [
            // 1: no entry.
            row("1 no entry, firing",     None,                            &[1],    &[],  false, Some(FirstNotification)),
            row("1 only resolved",        None,                            &[],     &[2], true,  None),
            row("1 nothing",              None,                            &[],     &[],  true,  None),
            // 2: firing is not a subset of what was sent.
            row("2 empty entry",          Some(entry(&[], &[1], fresh)),   &[1],    &[],  false, Some(FirstNotification)),
            row("2 new alert",            Some(entry(&[1], &[], fresh)),   &[1, 2], &[],  false, Some(NewAlertsFiring)),
            row("2 beats 3-5",            Some(entry(&[1], &[], old)),     &[2],    &[1], true,  Some(NewAlertsFiring)),
            // 3: nothing firing now; regardless of send_resolved.
            row("3 all resolved",         Some(entry(&[1], &[], fresh)),   &[],     &[1], false, Some(AllResolved)),
            row("3 resolved unseen",      Some(entry(&[], &[], old)),      &[],     &[1], true,  None),
            row("3 beats 5",              Some(entry(&[], &[9], old)),     &[],     &[],  true,  None),
            // 4: send_resolved and something newly resolved.
            row("4 newly resolved",       Some(entry(&[1, 2], &[], fresh)), &[1],   &[2], true,  Some(SomeResolved)),
            row("4 no send_resolved",     Some(entry(&[1, 2], &[], fresh)), &[1],   &[2], false, None),
            row("4 resolved already sent", Some(entry(&[1], &[2], fresh)), &[1],    &[2], true,  None),
            // 5: the repeat interval has strictly elapsed.
            row("5 elapsed",              Some(entry(&[1], &[], old)),     &[1],    &[],  false, Some(RepeatIntervalElapsed)),
            row("5 exactly at boundary",  Some(entry(&[1], &[], exactly)), &[1],    &[],  false, None),
            // 6: otherwise nothing.
            row("6 unchanged",            Some(entry(&[1, 2], &[3], fresh)), &[2],  &[3], true,  None),
        ];
        for row in rows {
            let got = decide(
                row.entry.as_ref(),
                &set(row.firing),
                &set(row.resolved),
                4 * HOUR,
                row.send_resolved,
                now(),
            );
            assert_eq!(got, row.expected, "{}", row.name);
            let update = needs_update(
                row.entry.as_ref(),
                &set(row.firing),
                &set(row.resolved),
                4 * HOUR,
                row.send_resolved,
                now(),
            );
            assert_eq!(update, row.expected.is_some(), "{}", row.name);
        }
    }
}
