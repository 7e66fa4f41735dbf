use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::nflogpb::{self, MeshEntry, Receiver, StreamError, Timestamp};
use super::*;

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + seconds, 0).unwrap()
}

fn webhook() -> Receiver {
    Receiver::new("team", "webhook", 0)
}

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn nflog_state_key_joins_group_and_receiver_tuple() {
    let key = state_key(b"{}:{a=\"b\"}", &Receiver::new("r", "email", 3));
    assert_eq!(key, b"{}:{a=\"b\"}:r/email/3");
}

#[test]
fn nflog_log_then_query_and_expiry_is_min_of_retention_and_expiry() {
    let mut log = NotificationLog::new(10 * HOUR);
    assert!(log.log(&webhook(), "g", vec![1, 2], vec![3], at(0), 8 * HOUR));
    let entry = log.query(&webhook(), "g").unwrap();
    assert_eq!(entry.firing_alerts, vec![1, 2]);
    assert_eq!(entry.resolved_alerts, vec![3]);
    assert_eq!(entry.time(), at(0));
    let expires = |log: &NotificationLog| log.entries().next().unwrap().expires();
    assert_eq!(expires(&log), at(8 * 3600));
    assert!(log.query(&Receiver::new("team", "webhook", 1), "g").is_none());
    assert!(log.query(&webhook(), "other").is_none());

    // Expiry longer than retention, and zero expiry, both fall back to retention.
    log.log(&webhook(), "g", vec![], vec![], at(1), 20 * HOUR);
    assert_eq!(expires(&log), at(1 + 10 * 3600));
    log.log(&webhook(), "g", vec![], vec![], at(2), Duration::ZERO);
    assert_eq!(expires(&log), at(2 + 10 * 3600));
    assert_eq!(log.len(), 1);
}

#[test]
fn nflog_log_skips_when_stored_entry_is_newer_than_now() {
    let mut log = NotificationLog::default();
    log.log(&webhook(), "g", vec![1], vec![], at(100), HOUR);
    log.take_broadcasts();
    assert!(!log.log(&webhook(), "g", vec![2], vec![], at(50), HOUR));
    assert_eq!(log.query(&webhook(), "g").unwrap().firing_alerts, vec![1]);
    assert!(log.take_broadcasts().is_empty());
    // Equal time is not "after now": the write is broadcast, though the merge keeps the old.
    assert!(log.log(&webhook(), "g", vec![3], vec![], at(100), HOUR));
    assert_eq!(log.take_broadcasts().len(), 1);
    assert_eq!(log.query(&webhook(), "g").unwrap().firing_alerts, vec![1]);
}

#[test]
fn nflog_log_broadcasts_one_delimited_entry() {
    let mut log = NotificationLog::default();
    log.log(&webhook(), "g", vec![7], vec![], at(0), HOUR);
    let sent = log.take_broadcasts();
    assert_eq!(sent.len(), 1);
    let decoded = nflogpb::decode_stream(&sent[0]).unwrap();
    assert_eq!(decoded.len(), 1);
    assert_eq!(decoded[0].entry.as_ref(), log.query(&webhook(), "g"));
    assert!(log.take_broadcasts().is_empty());
}

fn mesh(group_key: &str, timestamp: DateTime<Utc>, expires: DateTime<Utc>) -> MeshEntry {
    MeshEntry {
        entry: Some(nflogpb::Entry {
            group_key: group_key.as_bytes().to_vec(),
            receiver: Some(webhook()),
            timestamp: Some(Timestamp::from_time(timestamp)),
            firing_alerts: vec![timestamp.timestamp() as u64],
            ..nflogpb::Entry::default()
        }),
        expires_at: Some(Timestamp::from_time(expires)),
    }
}

#[test]
fn nflog_merge_is_last_writer_wins_on_entry_timestamp() {
    let mut log = NotificationLog::default();
    let first = nflogpb::encode_delimited(&mesh("g", at(10), at(1000)));
    assert_eq!(log.merge(&first, at(20)), Ok(true));
    assert_eq!(log.take_broadcasts(), vec![first.clone()]);
    // Same timestamp again, and an older one with a later expiry: no change, no re-gossip.
    assert_eq!(log.merge(&first, at(20)), Ok(false));
    let older = nflogpb::encode_delimited(&mesh("g", at(5), at(9000)));
    assert_eq!(log.merge(&older, at(20)), Ok(false));
    assert!(log.take_broadcasts().is_empty());
    let newer = nflogpb::encode_delimited(&mesh("g", at(11), at(12)));
    assert_eq!(log.merge(&newer, at(12)), Ok(true));
    assert_eq!(log.query(&webhook(), "g").unwrap().time(), at(11));
}

#[test]
fn nflog_merge_drops_expired_and_rejects_malformed_buffers_whole() {
    let mut log = NotificationLog::default();
    let expired = nflogpb::encode_delimited(&mesh("g", at(10), at(19)));
    assert_eq!(log.merge(&expired, at(20)), Ok(false));
    // Expiring exactly now is still merged.
    let edge = nflogpb::encode_delimited(&mesh("g", at(10), at(20)));
    assert_eq!(log.merge(&edge, at(20)), Ok(true));

    let mut broken =
        nflogpb::encode_stream([&mesh("a", at(30), at(99)), &mesh("b", at(30), at(99))]);
    broken.pop();
    assert!(matches!(log.merge(&broken, at(20)), Err(StreamError::Decode(_))));
    assert!(log.query(&webhook(), "a").is_none());
}

#[test]
fn nflog_merge_of_oversized_buffer_does_not_regossip() {
    let mut log = NotificationLog::default();
    let long_key = "k".repeat(400);
    let entries = [mesh(&format!("{long_key}1"), at(1), at(99)), mesh(&long_key, at(1), at(99))];
    let bytes = nflogpb::encode_stream(&entries);
    assert!(bytes.len() > 700);
    assert_eq!(log.merge(&bytes, at(2)), Ok(false));
    assert_eq!(log.len(), 2);
    assert!(log.take_broadcasts().is_empty());

    // A small buffer with two new entries is queued once per entry, as 0.25 does.
    let small = nflogpb::encode_stream([&mesh("x", at(1), at(99)), &mesh("y", at(1), at(99))]);
    assert_eq!(log.merge(&small, at(2)), Ok(true));
    assert_eq!(log.take_broadcasts(), vec![small.clone(), small]);
}

#[test]
fn nflog_gc_removes_entries_expiring_at_or_before_now() {
    let mut log = NotificationLog::default();
    for (key, expires) in [("a", 10), ("b", 20), ("c", 30)] {
        log.merge(&nflogpb::encode_delimited(&mesh(key, at(0), at(expires))), at(0)).unwrap();
    }
    assert_eq!(log.gc(at(20)), Ok(2));
    assert_eq!(log.len(), 1);
    assert!(log.query(&webhook(), "c").is_some());

    let mut no_expiry = mesh("z", at(0), at(0));
    no_expiry.expires_at = None;
    log.load_snapshot(&nflogpb::encode_delimited(&no_expiry)).unwrap();
    assert_eq!(log.gc(at(20)), Err(ZeroExpiration));
}

#[test]
fn nflog_snapshot_round_trips_and_load_keeps_expired_entries() {
    let mut log = NotificationLog::default();
    log.log(&webhook(), "g1", vec![1], vec![2], at(0), HOUR);
    log.log(&Receiver::new("other", "email", 1), "g2", vec![3], vec![], at(5), HOUR);
    let snapshot = log.snapshot();

    let mut restored = NotificationLog::default();
    restored.load_snapshot(&snapshot).unwrap();
    assert_eq!(restored.snapshot(), snapshot);
    assert_eq!(restored.query(&webhook(), "g1"), log.query(&webhook(), "g1"));
    // Loading applies no expiry filter; GC does that later.
    restored.load_snapshot(&nflogpb::encode_delimited(&mesh("old", at(0), at(1)))).unwrap();
    assert_eq!(restored.len(), 1);
    assert!(restored.load_snapshot(&[5, 1]).is_err());
    assert_eq!(restored.len(), 1);
}

/// Bytes from the network (gossip merges) and from disk (snapshots): random and mutated
/// inputs never panic.
#[test]
fn nflog_merge_and_load_survive_random_and_mutated_bytes() {
    let mut valid = NotificationLog::new(Duration::from_secs(3600));
    for i in 0..4 {
        let key = format!("{{}}:{{alertname=\"a{i}\"}}");
        valid.log(&webhook(), &key, vec![1, 2, i], vec![3], at(1), Duration::from_secs(600));
    }
    let corpus = valid.snapshot();
    for bytes in crate::mutated_bytes::mutated_inputs(&corpus, 4000) {
        let mut merged = NotificationLog::new(Duration::from_secs(3600));
        let _ = merged.merge(&bytes, at(2));
        let mut loaded = NotificationLog::new(Duration::from_secs(3600));
        let _ = loaded.load_snapshot(&bytes);
    }
}
