//! Unit tests for the silence store, with injected times.

use chrono::{DateTime, Duration, Utc};
use model::{LabelSet, MatchType, Matcher};
use prost::Message;

use super::silencepb::{self, MeshSilence, StreamError, Timestamp};
use super::*;

const BASE: i64 = 1_700_000_000;

fn t(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(BASE + seconds, 0).unwrap()
}

fn options() -> SilencesOptions {
    SilencesOptions { retention: Duration::hours(120), max_silences: 0, max_silence_size_bytes: 0 }
}

fn eq(name: &str, value: &str) -> Matcher {
    Matcher::new(MatchType::Equal, name, value).unwrap()
}

fn re(name: &str, value: &str) -> Matcher {
    Matcher::new(MatchType::Regexp, name, value).unwrap()
}

fn silence(matchers: Vec<Matcher>, starts: i64, ends: i64) -> Silence {
    Silence {
        id: String::new(),
        matchers,
        starts_at: t(starts),
        ends_at: t(ends),
        updated_at: t(0),
        created_by: "me".to_owned(),
        comment: "why".to_owned(),
    }
}

fn store() -> Silences {
    Silences::new(options())
}

fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    LabelSet::from_pairs(pairs.iter().copied())
}

fn invalid(reason: &str) -> SilenceError {
    SilenceError::Invalid(reason.to_owned())
}

#[test]
fn golden_bytes_of_a_mesh_silence() {
    let mesh = MeshSilence {
        silence: Some(silencepb::Silence {
            id: "a".to_owned(),
            matchers: vec![silencepb::Matcher {
                r#type: 0,
                name: "n".to_owned(),
                pattern: "v".to_owned(),
            }],
            starts_at: Some(Timestamp { seconds: 1, nanos: 0 }),
            ends_at: Some(Timestamp { seconds: 2, nanos: 0 }),
            updated_at: Some(Timestamp { seconds: 1, nanos: 5 }),
            created_by: "c".to_owned(),
            comment: "x".to_owned(),
            ..Default::default()
        }),
        expires_at: Some(Timestamp { seconds: 3, nanos: 0 }),
    };
    #[rustfmt::skip]
    let expected: Vec<u8> = vec![
        0x25,                                   // length prefix: 37
        0x0a, 0x1f,                             // MeshSilence.silence, 31 bytes
        0x0a, 0x01, b'a',                       //   id
        0x12, 0x06, 0x12, 0x01, b'n', 0x1a, 0x01, b'v', // matcher (EQUAL is the default: omitted)
        0x1a, 0x02, 0x08, 0x01,                 //   starts_at {seconds: 1}
        0x22, 0x02, 0x08, 0x02,                 //   ends_at {seconds: 2}
        0x2a, 0x04, 0x08, 0x01, 0x10, 0x05,     //   updated_at {1, 5}
        0x42, 0x01, b'c',                       //   created_by
        0x4a, 0x01, b'x',                       //   comment
        0x12, 0x02, 0x08, 0x03,                 // expires_at {seconds: 3}
    ];
    assert_eq!(silencepb::encode_delimited(&mesh), expected);
    assert_eq!(silencepb::decode_stream(&expected).unwrap(), vec![mesh]);
}

#[test]
fn regex_type_epoch_and_go_zero_times_are_encoded_like_gogoproto() {
    let mut pb = silence(vec![re("job", "a.*")], 0, 10).to_proto();
    assert_eq!(pb.matchers[0].encode_to_vec(), b"\x08\x01\x12\x03job\x1a\x03a.*");
    // Non-nullable timestamps are written even when empty (the Unix epoch)...
    pb.starts_at = silencepb::timestamp_field(DateTime::UNIX_EPOCH);
    assert!(pb.encode_to_vec().windows(2).any(|w| w == [0x1a, 0x00]));
    // ...and Go's zero time is a negative number of seconds, not an absent field.
    let zero = Timestamp::from_time(silencepb::go_zero_time());
    assert_eq!(zero, Timestamp { seconds: -62_135_596_800, nanos: 0 });
    assert_eq!(silencepb::time_of(None), silencepb::go_zero_time());
}

#[test]
fn unknown_fields_survive_and_comments_are_upgraded() {
    let mut pb = silence(vec![eq("a", "b")], 0, 10).to_proto();
    pb.id = "x".to_owned();
    let mut bytes = pb.encode_to_vec();
    // Field 10 (a newer `annotations` entry) and field 11 (a newer matcher set).
    let unknown = b"\x52\x06\x0a\x01k\x12\x01v\x5a\x02\x0a\x00";
    bytes.extend_from_slice(unknown);
    let decoded = silencepb::Silence::decode(bytes.as_slice()).unwrap();
    assert_eq!(decoded.unknown_fields, unknown);
    assert_eq!(decoded.encode_to_vec(), bytes);

    let mut legacy = decoded.clone();
    legacy.comments = vec![silencepb::Comment {
        author: "old-author".to_owned(),
        comment: "old text".to_owned(),
        timestamp: Some(Timestamp::default()),
    }];
    let view = Silence::from_proto(&legacy).unwrap();
    assert_eq!((view.created_by.as_str(), view.comment.as_str()), ("old-author", "old text"));
    legacy.upgrade_comments();
    assert!(legacy.comments.is_empty());
    assert_eq!(legacy.created_by, "old-author");
}

#[test]
fn stream_errors() {
    assert_eq!(silencepb::decode_stream(&[]).unwrap(), vec![]);
    assert!(matches!(silencepb::decode_stream(&[0x05, 0x0a]), Err(StreamError::Decode(_))));
    // A message without a silence invalidates the stream (0.25's ErrInvalidState).
    assert_eq!(silencepb::decode_stream(&[0x00]), Err(StreamError::MissingSilence));
}

#[test]
fn api_state_and_store_state_differ_only_at_ends_at() {
    let s = silence(vec![eq("a", "b")], 10, 20);
    assert_eq!(s.state(t(9)), SilenceState::Pending);
    assert_eq!(s.state(t(10)), SilenceState::Active);
    assert_eq!(Silences::state(&s, t(20)), SilenceState::Expired);
    assert_eq!(internal_state(s.starts_at, s.ends_at, t(20)), SilenceState::Active);
    assert_eq!(internal_state(s.starts_at, s.ends_at, t(21)), SilenceState::Expired);
    assert_eq!(SilenceState::Pending.as_str(), "pending");
}

#[test]
fn create_assigns_id_clamps_start_and_broadcasts() {
    let mut st = store();
    let id = st.set(silence(vec![eq("a", "b")], -50, 100), t(0)).unwrap();
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 4);
    let got = st.get(&id).unwrap();
    assert_eq!((got.starts_at, got.ends_at, got.updated_at), (t(0), t(100), t(0)));
    let broadcasts = st.take_broadcasts();
    assert_eq!(broadcasts.len(), 1);
    let mesh = &silencepb::decode_stream(&broadcasts[0]).unwrap()[0];
    assert_eq!(silencepb::time_of(mesh.expires_at), t(100) + Duration::hours(120));
    assert!(st.take_broadcasts().is_empty());
}

#[test]
fn set_with_unknown_id_is_not_found() {
    let mut st = store();
    let mut s = silence(vec![eq("a", "b")], 0, 100);
    s.id = "nope".to_owned();
    assert_eq!(st.set(s, t(0)), Err(SilenceError::NotFound));
    assert_eq!(SilenceError::NotFound.to_string(), "silence not found");
}

/// Creates one silence and returns the store, its id and the silence as stored.
fn with_one(starts: i64, ends: i64, now: i64) -> (Silences, String, Silence) {
    let mut st = store();
    let id = st.set(silence(vec![eq("a", "b")], starts, ends), t(now)).unwrap();
    let stored = st.get(&id).unwrap().clone();
    st.take_broadcasts();
    (st, id, stored)
}

#[test]
fn active_silence_updates_in_place_when_start_kept_and_end_not_past() {
    let (mut st, id, mut s) = with_one(0, 100, 0);
    s.ends_at = t(200);
    s.comment = "longer".to_owned();
    // Same second, different nanoseconds: still "unchanged" for canUpdate.
    s.starts_at += Duration::nanoseconds(500);
    assert_eq!(st.set(s, t(10)).unwrap(), id);
    assert_eq!(st.len(), 1);
    let got = st.get(&id).unwrap();
    assert_eq!((got.ends_at, got.updated_at, got.comment.as_str()), (t(200), t(10), "longer"));
    assert_eq!(st.take_broadcasts().len(), 1);
}

#[test]
fn active_silence_with_moved_start_is_replaced_and_old_expired() {
    let (mut st, id, mut s) = with_one(0, 100, 0);
    s.starts_at = t(5);
    let new_id = st.set(s, t(10)).unwrap();
    assert_ne!(new_id, id);
    assert_eq!(st.get(&id).unwrap().ends_at, t(10));
    assert_eq!(st.get(&id).unwrap().state(t(10)), SilenceState::Expired);
    // The replacement starts now: its requested start is in the past.
    assert_eq!(st.get(&new_id).unwrap().starts_at, t(10));
    assert_eq!(st.take_broadcasts().len(), 2);
}

#[test]
fn active_silence_with_end_in_the_past_is_replaced_and_rejected_after_expiring_old() {
    let (mut st, id, mut s) = with_one(0, 100, 0);
    s.ends_at = t(5);
    // 0.25 expires the old silence before validating the replacement.
    assert_eq!(st.set(s, t(10)), Err(invalid("end time must not be before start time")));
    assert_eq!(st.get(&id).unwrap().ends_at, t(10));
    assert_eq!(st.len(), 1);
}

#[test]
fn changed_matchers_always_replace() {
    let (mut st, id, mut s) = with_one(0, 100, 0);
    s.matchers = vec![eq("a", "c")];
    let new_id = st.set(s, t(10)).unwrap();
    assert_ne!(new_id, id);
    assert_eq!(st.len(), 2);
}

#[test]
fn pending_silence_updates_in_place_unless_start_moves_into_the_past() {
    let (mut st, id, mut s) = with_one(100, 200, 0);
    s.starts_at = t(50);
    assert_eq!(st.set(s.clone(), t(10)).unwrap(), id);
    assert_eq!(st.get(&id).unwrap().starts_at, t(50));

    // A later instant: a write with the same updated_at as the stored copy would lose.
    s.starts_at = t(5);
    let new_id = st.set(s, t(11)).unwrap();
    assert_ne!(new_id, id);
    // The pending original is expired by collapsing it to now.
    let old = st.get(&id).unwrap();
    assert_eq!((old.starts_at, old.ends_at), (t(11), t(11)));
    assert_eq!(st.get(&new_id).unwrap().starts_at, t(11));
}

#[test]
fn expired_silence_is_replaced_without_touching_it() {
    let (mut st, id, mut s) = with_one(0, 100, 0);
    s.ends_at = t(300);
    let new_id = st.set(s, t(200)).unwrap();
    assert_ne!(new_id, id);
    let old = st.get(&id).unwrap();
    assert_eq!((old.ends_at, old.updated_at), (t(100), t(0)));
    assert_eq!(st.take_broadcasts().len(), 1);
}

#[test]
fn expire_cases() {
    let (mut st, id, _) = with_one(0, 100, 0);
    st.expire(&id, t(10)).unwrap();
    let got = st.get(&id).unwrap();
    assert_eq!((got.ends_at, got.updated_at), (t(10), t(10)));
    assert_eq!(st.take_broadcasts().len(), 1);
    // Already expired: success, no change, nothing to gossip.
    st.expire(&id, t(20)).unwrap();
    assert_eq!(st.get(&id).unwrap().updated_at, t(10));
    assert!(st.take_broadcasts().is_empty());
    assert_eq!(st.expire("missing", t(20)), Err(SilenceError::NotFound));

    let (mut st, id, _) = with_one(100, 200, 0);
    st.expire(&id, t(10)).unwrap();
    let got = st.get(&id).unwrap();
    assert_eq!((got.starts_at, got.ends_at), (t(10), t(10)));
    assert_eq!(got.state(t(10)), SilenceState::Expired);
}

#[test]
fn validation_errors_use_025_wording() {
    let mut st = store();
    let cases = [
        (vec![], "at least one matcher required"),
        (vec![eq("a", "")], "at least one matcher must not match the empty string"),
        (vec![re("a", ".*"), eq("b", "")], "at least one matcher must not match the empty string"),
        (vec![re("a", "x|")], "at least one matcher must not match the empty string"),
        (
            vec![eq("a", "b"), eq("0bad", "v")],
            "invalid label matcher 1: invalid label name \"0bad\"",
        ),
    ];
    for (matchers, reason) in cases {
        let err = st.set(silence(matchers, 0, 10), t(0)).unwrap_err();
        assert_eq!(err, invalid(reason));
    }
    // Negative matchers never count as matching the empty string.
    let negative = Matcher::new(MatchType::NotEqual, "a", "").unwrap();
    st.set(silence(vec![negative], 0, 10), t(0)).unwrap();
    assert_eq!(
        invalid("at least one matcher required").to_string(),
        "silence invalid: at least one matcher required"
    );
}

#[test]
fn build_matcher_and_api_checks() {
    assert!(build_matcher(0, MatchType::Regexp, "job", "a+").is_ok());
    let err = build_matcher(2, MatchType::Regexp, "job", "(").unwrap_err();
    assert!(
        err.to_string().starts_with(
            "silence invalid: invalid label matcher 2: invalid regular expression \"(\": "
        ),
        "{err}"
    );
    let err = build_matcher(0, MatchType::Equal, "a-b", "x").unwrap_err();
    assert_eq!(err, invalid("invalid label matcher 0: invalid label name \"a-b\""));

    assert_eq!(
        check_postable(t(5), t(5), t(0)).unwrap_err().to_string(),
        "Failed to create silence: start time must be before end time"
    );
    assert_eq!(
        check_postable(t(0), t(5), t(6)).unwrap_err().to_string(),
        "Failed to create silence: end time can't be in the past"
    );
    assert!(check_postable(t(0), t(5), t(5)).is_ok());
}

#[test]
fn max_silences_counts_expired_ones_and_spares_in_place_updates() {
    let mut st = Silences::new(SilencesOptions { max_silences: 2, ..options() });
    let first = st.set(silence(vec![eq("a", "1")], 0, 10), t(0)).unwrap();
    st.set(silence(vec![eq("a", "2")], 0, 100), t(0)).unwrap();
    // The first is expired by now but still counts until GC.
    let err = st.set(silence(vec![eq("a", "3")], 0, 100), t(50)).unwrap_err();
    assert_eq!(
        err,
        SilenceError::LimitExceeded("exceeded maximum number of silences: 2 (limit: 2)".into())
    );
    let mut update = st.query(&[eq("a", "2")], t(50)).remove(0);
    update.ends_at = t(200);
    st.set(update, t(50)).unwrap();
    assert_eq!(st.gc(t(10) + Duration::hours(120)), 1);
    assert!(st.get(&first).is_none());
    st.set(silence(vec![eq("a", "3")], 0, 100), t(50)).unwrap();
}

#[test]
fn max_size_is_the_encoded_mesh_silence() {
    let s = silence(vec![eq("a", "b")], 0, 100);
    let mut probe = store();
    let id = probe.set(s.clone(), t(0)).unwrap();
    let size = probe.take_broadcasts()[0].len() - 1; // minus the one-byte length prefix
    assert_eq!(id.len(), 36);

    let mut st = Silences::new(SilencesOptions { max_silence_size_bytes: size, ..options() });
    st.set(s.clone(), t(0)).unwrap();
    let mut big = s;
    big.comment.push('!');
    assert_eq!(
        st.set(big, t(0)).unwrap_err().to_string(),
        format!("silence exceeded maximum size: {} bytes (limit: {size} bytes)", size + 1)
    );
}

#[test]
fn query_orders_like_sort_silences_and_filters_verbatim() {
    let mut st = store();
    let ids: Vec<String> = [(0, 300), (0, 200), (500, 600), (400, 600), (0, 50), (0, 80)]
        .iter()
        .enumerate()
        .map(|(i, &(s, e))| {
            st.set(silence(vec![eq("n", &i.to_string()), eq("job", "x")], s, e), t(0)).unwrap()
        })
        .collect();
    let listed = st.query(&[], t(100));
    let order: Vec<&str> = listed.iter().map(|s| s.id.as_str()).collect();
    let expected: Vec<&str> = [1, 0, 3, 2, 5, 4].iter().map(|&i| ids[i].as_str()).collect();
    assert_eq!(order, expected);

    assert_eq!(st.query(&[eq("n", "3")], t(100))[0].id, ids[3]);
    assert_eq!(st.query(&[eq("job", "x"), eq("n", "3")], t(100)).len(), 1);
    // The filter compares matchers structurally: a regex that would match is not enough.
    assert!(st.query(&[re("n", "3")], t(100)).is_empty());
    assert!(st.query(&[eq("n", "9")], t(100)).is_empty());
}

#[test]
fn mutes_returns_sorted_active_ids_including_the_end_instant() {
    let mut st = store();
    let a = st.set(silence(vec![eq("job", "x")], 0, 100), t(0)).unwrap();
    let b = st.set(silence(vec![re("job", "x|y"), eq("env", "")], 0, 100), t(0)).unwrap();
    st.set(silence(vec![eq("job", "x")], 50, 100), t(0)).unwrap(); // pending at 10
    st.set(silence(vec![eq("job", "y")], 0, 100), t(0)).unwrap();
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert_eq!(st.mutes(&labels(&[("job", "x")]), t(10)), expected);
    assert_eq!(st.mutes(&labels(&[("job", "x"), ("env", "prod")]), t(10)), vec![a.clone()]);
    assert_eq!(st.mutes(&labels(&[("job", "x"), ("env", "")]), t(100)).len(), 3);
    assert!(st.mutes(&labels(&[("job", "x")]), t(101)).is_empty());
    assert!(st.mutes(&labels(&[("job", "z")]), t(10)).is_empty());
    assert_eq!(st.count(SilenceState::Active, t(10)), 3);
    assert_eq!(st.count(SilenceState::Pending, t(10)), 1);
}

#[test]
fn gc_deletes_at_expires_at() {
    let (mut st, id, _) = with_one(0, 100, 0);
    let expires = t(100) + Duration::hours(120);
    assert_eq!(st.gc(expires - Duration::nanoseconds(1)), 0);
    assert_eq!(st.gc(expires), 1);
    assert!(st.get(&id).is_none() && st.is_empty());
}

#[test]
fn snapshot_round_trip_and_failed_load_keeps_state() {
    let mut st = store();
    st.set(silence(vec![eq("a", "1")], 0, 100), t(0)).unwrap();
    let id = st.set(silence(vec![eq("a", "2")], 50, 100), t(0)).unwrap();
    st.expire(&id, t(10)).unwrap();
    let snap = st.snapshot();

    let mut other = store();
    let version = other.version();
    other.load_snapshot(&snap).unwrap();
    assert!(other.version() > version);
    assert_eq!(other.snapshot(), snap);
    assert_eq!(other.query(&[], t(20)), st.query(&[], t(20)));

    assert!(other.load_snapshot(&[0x7f, 0x01]).is_err());
    assert_eq!(other.snapshot(), snap);
    other.load_snapshot(&[]).unwrap();
    assert!(other.is_empty());
}

fn mesh_bytes(id: &str, ends: i64, updated: i64, comment: &str) -> Vec<u8> {
    let mut s = silence(vec![eq("a", "b")], 0, ends);
    s.id = id.to_owned();
    s.updated_at = t(updated);
    s.comment = comment.to_owned();
    let mesh = MeshSilence {
        silence: Some(s.to_proto()),
        expires_at: silencepb::timestamp_field(t(ends) + Duration::hours(120)),
    };
    silencepb::encode_delimited(&mesh)
}

#[test]
fn merge_is_strict_last_writer_wins_on_updated_at() {
    let mut st = store();
    let outcome = st.merge(&mesh_bytes("x", 100, 5, "first"), t(10)).unwrap();
    assert_eq!(outcome, MergeOutcome { changed: vec!["x".to_owned()], regossip: true });
    // Equal timestamp: the local copy stays.
    let outcome = st.merge(&mesh_bytes("x", 100, 5, "tie"), t(10)).unwrap();
    assert_eq!(outcome, MergeOutcome::default());
    assert_eq!(st.get("x").unwrap().comment, "first");
    // Older: ignored. Newer: wins.
    st.merge(&mesh_bytes("x", 100, 4, "older"), t(10)).unwrap();
    assert_eq!(st.get("x").unwrap().comment, "first");
    st.merge(&mesh_bytes("x", 100, 6, "newer"), t(10)).unwrap();
    assert_eq!(st.get("x").unwrap().comment, "newer");
    // Merges are never gossiped from the outbox; that is the caller's job.
    assert!(st.take_broadcasts().is_empty());
}

#[test]
fn merge_drops_expired_entries_and_skips_validation() {
    let mut st = store();
    let gone = mesh_bytes("old", 0, 1, "");
    let outcome = st.merge(&gone, t(0) + Duration::hours(121)).unwrap();
    assert!(outcome.changed.is_empty() && st.is_empty());

    // No matchers at all would never pass Set, but a peer's silence is taken as is.
    let mut s = silence(vec![], 0, 100);
    s.id = "bare".to_owned();
    let mesh = MeshSilence {
        silence: Some(s.to_proto()),
        expires_at: silencepb::timestamp_field(t(1000)),
    };
    st.merge(&silencepb::encode_delimited(&mesh), t(0)).unwrap();
    assert!(st.get("bare").is_some());
}

#[test]
fn merge_of_large_buffers_is_not_regossiped_and_bad_buffers_change_nothing() {
    let mut st = store();
    let mut full = Vec::new();
    for i in 0..20 {
        full.extend(mesh_bytes(&format!("id-{i:02}"), 100, 1, "a comment to pad things out"));
    }
    assert!(full.len() > 700);
    let outcome = st.merge(&full, t(0)).unwrap();
    assert_eq!(outcome.changed.len(), 20);
    assert!(!outcome.regossip);

    let mut bad = mesh_bytes("new", 100, 1, "");
    bad.push(0x09);
    assert!(st.merge(&bad, t(0)).is_err());
    assert!(st.get("new").is_none());
}

#[test]
fn repeated_ids_in_one_buffer_keep_the_last() {
    let mut st = store();
    let mut both = mesh_bytes("x", 100, 9, "first in buffer");
    both.extend(mesh_bytes("x", 100, 2, "last in buffer"));
    st.merge(&both, t(0)).unwrap();
    assert_eq!(st.get("x").unwrap().comment, "last in buffer");
}

#[test]
fn local_write_loses_to_a_stored_future_updated_at_but_is_still_gossiped() {
    let mut st = store();
    st.merge(&mesh_bytes("x", 100, 50, "peer"), t(0)).unwrap();
    st.expire("x", t(10)).unwrap();
    assert_eq!(st.get("x").unwrap().ends_at, t(100));
    assert_eq!(st.take_broadcasts().len(), 1);
}

#[test]
fn peer_silence_with_uncompilable_matcher_is_kept_but_inert() {
    let mut st = store();
    let mut pb = silence(vec![eq("a", "b")], 0, 100).to_proto();
    pb.id = "weird".to_owned();
    pb.matchers[0].r#type = 9;
    let mesh = MeshSilence { silence: Some(pb), expires_at: silencepb::timestamp_field(t(999)) };
    st.merge(&silencepb::encode_delimited(&mesh), t(0)).unwrap();
    assert!(st.get("weird").is_none());
    assert!(st.mutes(&labels(&[("a", "b")]), t(10)).is_empty());
    assert_eq!(st.snapshot(), silencepb::encode_delimited(&mesh));
    st.expire("weird", t(10)).unwrap();
    assert_eq!(st.count(SilenceState::Expired, t(11)), 1);
}

#[test]
fn mute_index_follows_updates_replacements_merges_gc_and_loads() {
    let mut st = store();
    let x = labels(&[("job", "x"), ("env", "prod")]);
    let id = st.set(silence(vec![eq("job", "x"), eq("env", "prod")], 0, 100), t(0)).unwrap();
    let unanchored = st.set(silence(vec![re("job", "x|y")], 0, 100), t(0)).unwrap();
    let mut both = vec![id.clone(), unanchored.clone()];
    both.sort();
    assert_eq!(st.mutes(&x, t(1)), both);

    // In place, same anchor: still found exactly once.
    let mut s = st.get(&id).unwrap().clone();
    s.ends_at = t(200);
    st.set(s.clone(), t(1)).unwrap();
    assert_eq!(st.mutes(&x, t(2)), both);

    // Replaced by one anchored elsewhere: the old one ends, the new one is found by env.
    s.matchers = vec![eq("env", "prod"), eq("job", "x")];
    let moved = st.set(s, t(2)).unwrap();
    assert!(st.mutes(&x, t(3)).contains(&moved));
    assert!(!st.mutes(&x, t(3)).contains(&id));

    // A snapshot load and a GC rebuild and prune the index.
    let snap = st.snapshot();
    let mut other = store();
    other.load_snapshot(&snap).unwrap();
    assert_eq!(other.mutes(&x, t(3)), st.mutes(&x, t(3)));
    other.gc(t(100) + Duration::hours(120));
    assert_eq!(other.mutes(&x, t(3)), vec![moved.clone()]);

    // A merged newer version with different matchers is re-filed.
    let mut newer = other.get(&moved).unwrap().clone();
    newer.matchers = vec![eq("job", "z")];
    newer.updated_at = t(10);
    let mesh = MeshSilence {
        silence: Some(newer.to_proto()),
        expires_at: silencepb::timestamp_field(t(10_000_000)),
    };
    other.merge(&silencepb::encode_delimited(&mesh), t(10)).unwrap();
    assert!(other.mutes(&x, t(11)).is_empty());
    assert_eq!(other.mutes(&labels(&[("job", "z")]), t(11)), vec![moved]);
}

/// Bytes from the network (gossip merges) and from disk (snapshots): random and mutated
/// inputs never panic, and whatever a merge accepts leaves the store queryable.
#[test]
fn merge_and_load_survive_random_and_mutated_bytes() {
    let mut valid = store();
    for i in 0..4 {
        let mut s = silence(vec![eq("job", &format!("j{i}")), re("instance", "h.*")], 0, 3600);
        s.comment = "x".repeat(i * 50);
        valid.set(s, t(1)).unwrap();
    }
    let corpus = valid.snapshot();
    for bytes in crate::mutated_bytes::mutated_inputs(&corpus, 4000) {
        let mut merged = store();
        let _ = merged.merge(&bytes, t(2));
        let _ = merged.query(&[], t(2));
        let mut loaded = store();
        let _ = loaded.load_snapshot(&bytes);
        assert!(loaded.len() <= bytes.len(), "more silences than input bytes");
    }
}
