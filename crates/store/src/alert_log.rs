//! The compact binary encoding of a batch of accepted alerts: one `alert_log` row per group
//! commit. Appending one blob per commit costs the database a few sequential page writes,
//! where an upsert per alert paid for a random-key index update and a JSON body each. The
//! maintenance snapshot folds the log into the `alerts` table. No I/O here.
//!
//! Layout: a version byte, then per alert: labels and annotations (count, then every name
//! and value, each behind its length), `startsAt` and `endsAt` (seconds, nanoseconds and the
//! sender's UTC offset in seconds), the generator URL, `updated_at` (seconds, nanoseconds) and
//! the timeout flag. Numbers are protobuf varints (signed ones zigzag-encoded).

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use model::{Alert, LabelSet};
use prost::encoding::decode_varint;

/// The layout this module writes; a log row with another first byte is refused as corrupt.
const VERSION: u8 = 1;

/// The blob for `alerts`, in order.
#[cfg(test)]
fn encode(alerts: &[Arc<Alert>]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(alerts, &mut out);
    out
}

/// Replaces `out`'s contents with the blob for `alerts`, in order; a buffer kept from one
/// commit to the next is allocated once, not per commit.
pub(crate) fn encode_into(alerts: &[Arc<Alert>], out: &mut Vec<u8>) {
    out.clear();
    append_encoded(alerts, out);
}

/// Appends the blob for `alerts` to `out` (the journal writes its record header first).
pub(crate) fn append_encoded(alerts: &[Arc<Alert>], out: &mut Vec<u8>) {
    out.reserve(1 + alerts.iter().map(|a| estimated_len(a)).sum::<usize>());
    out.push(VERSION);
    for alert in alerts {
        put_labels(out, &alert.labels);
        put_labels(out, &alert.annotations);
        put_time(out, alert.starts_at);
        put_time(out, alert.ends_at);
        put_bytes(out, alert.generator_url.as_bytes());
        put_signed(out, alert.updated_at.timestamp());
        put_varint(u64::from(alert.updated_at.timestamp_subsec_nanos()), out);
        out.push(u8::from(alert.timeout));
    }
}

/// The alerts a blob holds, in order; `None` when it is not one [`encode`] wrote.
pub(crate) fn decode(mut blob: &[u8]) -> Option<Vec<Alert>> {
    let (&version, rest) = blob.split_first()?;
    if version != VERSION {
        return None;
    }
    blob = rest;
    let mut alerts = Vec::new();
    while !blob.is_empty() {
        let labels = take_labels(&mut blob)?;
        let annotations = take_labels(&mut blob)?;
        let starts_at = take_time(&mut blob)?;
        let ends_at = take_time(&mut blob)?;
        let generator_url = Arc::new(take_str(&mut blob)?.to_owned());
        let seconds = take_signed(&mut blob)?;
        let nanos = u32::try_from(decode_varint(&mut blob).ok()?).ok()?;
        let updated_at = Utc.timestamp_opt(seconds, nanos).single()?;
        let (&timeout, rest) = blob.split_first()?;
        blob = rest;
        let timeout = match timeout {
            0 => false,
            1 => true,
            _ => return None,
        };
        alerts.push(Alert {
            labels,
            annotations,
            starts_at,
            ends_at,
            generator_url,
            updated_at,
            timeout,
        });
    }
    Some(alerts)
}

/// About what [`encode`] writes for `alert`, so the buffer grows once per batch.
fn estimated_len(alert: &Alert) -> usize {
    let text = |set: &LabelSet| set.iter().map(|(n, v)| n.len() + v.len() + 2).sum::<usize>();
    text(&alert.labels) + text(&alert.annotations) + alert.generator_url.len() + 40
}

/// A protobuf varint. Most numbers here (lengths, counts) are below 128 and take one byte;
/// prost's general encoder loops even for those.
fn put_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

fn put_signed(out: &mut Vec<u8>, value: i64) {
    put_varint(((value << 1) ^ (value >> 63)) as u64, out);
}

fn put_labels(out: &mut Vec<u8>, set: &LabelSet) {
    put_varint(set.len() as u64, out);
    for (name, value) in set.iter() {
        put_bytes(out, name.as_bytes());
        put_bytes(out, value.as_bytes());
    }
}

fn put_time(out: &mut Vec<u8>, time: DateTime<FixedOffset>) {
    put_signed(out, time.timestamp());
    put_varint(u64::from(time.timestamp_subsec_nanos()), out);
    put_signed(out, i64::from(time.offset().local_minus_utc()));
}

fn take_signed(blob: &mut &[u8]) -> Option<i64> {
    let raw = decode_varint(blob).ok()?;
    Some(((raw >> 1) as i64) ^ -((raw & 1) as i64))
}

fn take_str<'a>(blob: &mut &'a [u8]) -> Option<&'a str> {
    let len = usize::try_from(decode_varint(blob).ok()?).ok()?;
    if len > blob.len() {
        return None;
    }
    let (bytes, rest) = blob.split_at(len);
    *blob = rest;
    std::str::from_utf8(bytes).ok()
}

fn take_labels(blob: &mut &[u8]) -> Option<LabelSet> {
    let count = usize::try_from(decode_varint(blob).ok()?).ok()?;
    // Every label takes at least two bytes, which bounds what a corrupt count can allocate.
    if count > blob.len() / 2 {
        return None;
    }
    let mut pairs = Vec::with_capacity(count);
    for _ in 0..count {
        pairs.push((take_str(blob)?, take_str(blob)?));
    }
    Some(LabelSet::from_pairs(pairs))
}

fn take_time(blob: &mut &[u8]) -> Option<DateTime<FixedOffset>> {
    let seconds = take_signed(blob)?;
    let nanos = u32::try_from(decode_varint(blob).ok()?).ok()?;
    let offset = i32::try_from(take_signed(blob)?).ok()?;
    let offset = FixedOffset::east_opt(offset)?;
    let utc = DateTime::from_timestamp(seconds, nanos)?;
    Some(utc.with_timezone(&offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(name: &str, offset_hours: i32, timeout: bool) -> Arc<Alert> {
        let offset = FixedOffset::east_opt(offset_hours * 3600).unwrap();
        let starts_at = DateTime::parse_from_rfc3339("2026-11-24T01:02:03.456789+00:00")
            .unwrap()
            .with_timezone(&offset);
        Arc::new(Alert {
            labels: LabelSet::from_pairs([("alertname", name), ("job", "node ✓")]),
            annotations: LabelSet::from_pairs([("summary", "it is down")]),
            starts_at,
            ends_at: starts_at + chrono::Duration::minutes(5),
            generator_url: Arc::new("http://prometheus/graph?g0.expr=up".to_owned()),
            updated_at: starts_at.to_utc() + chrono::Duration::nanoseconds(1_000_000_007),
            timeout,
        })
    }

    #[test]
    fn round_trips_every_field_in_order() {
        let batch = vec![alert("Down", 2, true), alert("Up", -5, false), {
            let mut empty = (*alert("X", 0, false)).clone();
            empty.annotations = LabelSet::new();
            empty.generator_url = Arc::default();
            // Go's zero time, as a sender may leave it.
            empty.starts_at = DateTime::parse_from_rfc3339("0001-01-01T00:00:00Z").unwrap();
            Arc::new(empty)
        }];
        let back = decode(&encode(&batch)).expect("decodes");
        assert_eq!(back.len(), 3);
        for (back, sent) in back.iter().zip(&batch) {
            assert_eq!(back, sent.as_ref());
            assert_eq!(back.starts_at.offset(), sent.starts_at.offset());
            assert_eq!(back.ends_at.offset(), sent.ends_at.offset());
        }
        assert_eq!(decode(&encode(&[])), Some(Vec::new()));
    }

    #[test]
    fn varints_are_protobufs() {
        for value in [0, 1, 127, 128, 300, 16_383, 16_384, u64::from(u32::MAX), u64::MAX] {
            let (mut ours, mut prosts) = (Vec::new(), Vec::new());
            put_varint(value, &mut ours);
            prost::encoding::encode_varint(value, &mut prosts);
            assert_eq!(ours, prosts, "{value}");
        }
    }

    #[test]
    fn refuses_truncated_or_foreign_blobs() {
        let blob = encode(&[alert("Down", 1, false)]);
        // A lone version byte is a valid empty batch; every longer cut ends inside the alert.
        for cut in 2..blob.len() {
            assert_eq!(decode(&blob[..cut]), None, "cut at {cut}");
        }
        assert_eq!(decode(b""), None);
        assert_eq!(decode(b"{\"labels\":{}}"), None);
        let mut bad_flag = blob.clone();
        *bad_flag.last_mut().unwrap() = 7;
        assert_eq!(decode(&bad_flag), None);
    }
}
