//! The wire format of the notification log: protobuf messages byte-compatible with
//! Alertmanager 0.25's `nflogpb` package, and the uvarint-length-delimited stream that gossip
//! updates, the push/pull full state and the `nflog` snapshot file all share.
//!
//! 0.25 marks both timestamps `nullable=false`, so they are written even when they hold Go's
//! zero time; encoding here always fills them for the same reason. Its generated code also
//! keeps unknown fields and writes them after the known ones. [`Entry`] does the same, so
//! fields newer peers add (`receiver_data`, field 8) survive a round trip through Klaxon.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use prost::Message;
use prost::bytes::{Buf, BufMut};
use prost::encoding::{self, DecodeContext, WireType};

pub use crate::silence::silencepb::Timestamp;
use crate::silence::silencepb::{keep_unknown_field, time_of};

/// `nflogpb.Receiver`: which integration of which receiver was notified.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct Receiver {
    /// The receiver's configured name (0.25 calls it the "group name").
    #[prost(string, tag = "1")]
    pub group_name: String,
    /// The integration type, e.g. `webhook` or `email`.
    #[prost(string, tag = "2")]
    pub integration: String,
    /// The index of this integration among the receiver's integrations of the same type.
    #[prost(uint32, tag = "3")]
    pub idx: u32,
}

impl Receiver {
    /// The receiver tuple `(name, integration type, index within that type)`.
    pub fn new(group_name: impl Into<String>, integration: impl Into<String>, idx: u32) -> Self {
        Receiver { group_name: group_name.into(), integration: integration.into(), idx }
    }

    /// `name/integration/idx`, the receiver half of a state key.
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.group_name, self.integration, self.idx)
    }
}

/// `nflogpb.Entry`: one successful notification of a group to one integration.
#[derive(Clone, PartialEq, Eq, Default, Debug)]
pub struct Entry {
    /// The aggregation group's key; bytes on the wire, though Alertmanager only writes UTF-8.
    pub group_key: Vec<u8>,
    /// The integration that was notified; 0.25 rejects a stream whose entry lacks it.
    pub receiver: Option<Receiver>,
    /// Deprecated and unused since 0.15; carried so foreign entries re-encode unchanged.
    pub group_hash: Vec<u8>,
    /// Deprecated and unused since 0.15; carried for the same reason.
    pub resolved: bool,
    /// When the notification succeeded, on the sender's clock; the merge rule compares it.
    pub timestamp: Option<Timestamp>,
    /// Alert hashes of the firing alerts at that notification.
    pub firing_alerts: Vec<u64>,
    /// Alert hashes of the resolved alerts at that notification.
    pub resolved_alerts: Vec<u64>,
    /// Unknown fields, already encoded (key and value), written after the known ones.
    pub unknown_fields: Vec<u8>,
}

impl Entry {
    /// The notification time; an absent timestamp reads as Go's zero time, as in 0.25.
    pub fn time(&self) -> DateTime<Utc> {
        time_of(self.timestamp)
    }

    /// Whether every hash in `subset` was firing at this notification.
    pub fn is_firing_subset<'a>(&self, subset: impl IntoIterator<Item = &'a u64>) -> bool {
        is_subset(&self.firing_alerts, subset)
    }

    /// Whether every hash in `subset` was resolved at this notification.
    pub fn is_resolved_subset<'a>(&self, subset: impl IntoIterator<Item = &'a u64>) -> bool {
        is_subset(&self.resolved_alerts, subset)
    }
}

/// Groups can hold thousands of alerts, so the stored list is indexed rather than scanned.
fn is_subset<'a>(set: &[u64], subset: impl IntoIterator<Item = &'a u64>) -> bool {
    let set: HashSet<u64> = set.iter().copied().collect();
    subset.into_iter().all(|hash| set.contains(hash))
}

/// gogoproto's `stdtime` rejects timestamps outside years 1..=9999 or with nanos outside a
/// second, and with them the whole message.
fn is_valid_timestamp(timestamp: Option<&Timestamp>) -> bool {
    const MIN_SECONDS: i64 = -62_135_596_800;
    const MAX_SECONDS_EXCLUSIVE: i64 = 253_402_300_800;
    timestamp.is_none_or(|ts| {
        (MIN_SECONDS..MAX_SECONDS_EXCLUSIVE).contains(&ts.seconds)
            && (0..1_000_000_000).contains(&ts.nanos)
    })
}

impl Message for Entry {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        if !self.group_key.is_empty() {
            encoding::bytes::encode(1, &self.group_key, buf);
        }
        if let Some(receiver) = &self.receiver {
            encoding::message::encode(2, receiver, buf);
        }
        if !self.group_hash.is_empty() {
            encoding::bytes::encode(3, &self.group_hash, buf);
        }
        if self.resolved {
            encoding::bool::encode(4, &self.resolved, buf);
        }
        if let Some(timestamp) = &self.timestamp {
            encoding::message::encode(5, timestamp, buf);
        }
        encoding::uint64::encode_packed(6, &self.firing_alerts, buf);
        encoding::uint64::encode_packed(7, &self.resolved_alerts, buf);
        buf.put_slice(&self.unknown_fields);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        use encoding::{bool, bytes, message, uint64};
        match tag {
            1 => bytes::merge(wire_type, &mut self.group_key, buf, ctx),
            2 => message::merge(wire_type, self.receiver.get_or_insert_default(), buf, ctx),
            3 => bytes::merge(wire_type, &mut self.group_hash, buf, ctx),
            4 => bool::merge(wire_type, &mut self.resolved, buf, ctx),
            5 => message::merge(wire_type, self.timestamp.get_or_insert_default(), buf, ctx),
            // merge_repeated accepts both the packed form and one varint per element.
            6 => uint64::merge_repeated(wire_type, &mut self.firing_alerts, buf, ctx),
            7 => uint64::merge_repeated(wire_type, &mut self.resolved_alerts, buf, ctx),
            _ => keep_unknown_field(tag, wire_type, buf, ctx, &mut self.unknown_fields),
        }
    }

    fn encoded_len(&self) -> usize {
        let mut len = 0;
        if !self.group_key.is_empty() {
            len += encoding::bytes::encoded_len(1, &self.group_key);
        }
        if let Some(receiver) = &self.receiver {
            len += encoding::message::encoded_len(2, receiver);
        }
        if !self.group_hash.is_empty() {
            len += encoding::bytes::encoded_len(3, &self.group_hash);
        }
        if self.resolved {
            len += encoding::bool::encoded_len(4, &self.resolved);
        }
        if let Some(timestamp) = &self.timestamp {
            len += encoding::message::encoded_len(5, timestamp);
        }
        len += encoding::uint64::encoded_len_packed(6, &self.firing_alerts);
        len += encoding::uint64::encoded_len_packed(7, &self.resolved_alerts);
        len + self.unknown_fields.len()
    }

    fn clear(&mut self) {
        *self = Entry::default();
    }
}

/// `nflogpb.MeshEntry`: the unit of gossip, full state and snapshot.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MeshEntry {
    /// The entry; 0.25 rejects a stream containing a `MeshEntry` without one.
    #[prost(message, optional, tag = "1")]
    pub entry: Option<Entry>,
    /// When peers may forget the entry: `timestamp + min(retention, 2 × repeat_interval)`.
    #[prost(message, optional, tag = "2")]
    pub expires_at: Option<Timestamp>,
}

impl MeshEntry {
    /// The expiry; an absent timestamp reads as Go's zero time, as in 0.25.
    pub fn expires(&self) -> DateTime<Utc> {
        time_of(self.expires_at)
    }
}

/// Why a delimited stream could not be decoded. Either way the whole buffer is rejected, as
/// 0.25 rejects it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// A length prefix or a message body was malformed or truncated.
    #[error("decoding notification log state: {0}")]
    Decode(String),
    /// A `MeshEntry` without its entry, or an entry without its receiver (0.25's
    /// `ErrInvalidState`).
    #[error("invalid state")]
    InvalidState,
}

pub use crate::delimited::{
    append as append_delimited, encode as encode_delimited, encode_all as encode_stream,
};

/// Decodes a concatenation of length-prefixed `MeshEntry` messages. A truncated or malformed
/// message, or one missing its entry or receiver, invalidates the whole stream.
pub fn decode_stream(bytes: &[u8]) -> Result<Vec<MeshEntry>, StreamError> {
    let mut messages = Vec::new();
    for message in crate::delimited::messages::<MeshEntry>(bytes) {
        let message = message.map_err(StreamError::Decode)?;
        let entry = message.entry.as_ref();
        // Go fails the unmarshal itself on a bad timestamp, before looking for missing parts.
        if !is_valid_timestamp(entry.and_then(|entry| entry.timestamp.as_ref()))
            || !is_valid_timestamp(message.expires_at.as_ref())
        {
            return Err(StreamError::Decode("timestamp out of range".to_owned()));
        }
        if entry.is_none_or(|entry| entry.receiver.is_none()) {
            return Err(StreamError::InvalidState);
        }
        messages.push(message);
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> MeshEntry {
        MeshEntry {
            entry: Some(Entry {
                group_key: b"{}/{a=\"b\"}:{c=\"d\"}".to_vec(),
                receiver: Some(Receiver::new("team", "webhook", 1)),
                timestamp: Some(Timestamp { seconds: 1_700_000_000, nanos: 5 }),
                firing_alerts: vec![1, u64::MAX],
                resolved_alerts: vec![300],
                ..Entry::default()
            }),
            expires_at: Some(Timestamp { seconds: 1_700_007_200, nanos: 5 }),
        }
    }

    #[test]
    fn nflog_entry_layout_matches_gogoproto() {
        let entry = Entry {
            group_key: b"k".to_vec(),
            receiver: Some(Receiver::new("r", "webhook", 2)),
            timestamp: Some(Timestamp { seconds: 1, nanos: 0 }),
            firing_alerts: vec![1, 300],
            ..Entry::default()
        };
        let expected: &[u8] = &[
            0x0a, 1, b'k', // group_key
            0x12, 14, 0x0a, 1, b'r', 0x12, 7, b'w', b'e', b'b', b'h', b'o', b'o', b'k', 0x18, 2,
            0x2a, 2, 0x08, 1, // timestamp {seconds: 1}
            0x32, 3, 1, 0xac, 0x02, // packed firing_alerts
        ];
        assert_eq!(entry.encode_to_vec(), expected);
    }

    #[test]
    fn nflog_unpacked_hashes_and_unknown_fields_decode() {
        // firing_alerts as two unpacked varints, then field 8 (receiver_data in newer peers).
        let bytes: &[u8] = &[0x30, 7, 0x30, 9, 0x42, 2, 0x0a, 0];
        let entry = Entry::decode(bytes).unwrap();
        assert_eq!(entry.firing_alerts, vec![7, 9]);
        assert_eq!(entry.unknown_fields, vec![0x42, 2, 0x0a, 0]);
        assert_eq!(entry.encode_to_vec(), [0x32, 2, 7, 9, 0x42, 2, 0x0a, 0]);
    }

    #[test]
    fn nflog_stream_round_trips_and_rejects_invalid_entries() {
        let stream = encode_stream([&sample(), &sample()]);
        let decoded = decode_stream(&stream).unwrap();
        assert_eq!(decoded, vec![sample(), sample()]);
        assert_eq!(encode_stream(&decoded), stream);
        assert!(matches!(decode_stream(&stream[..stream.len() - 1]), Err(StreamError::Decode(_))));

        let mut no_receiver = sample();
        no_receiver.entry.as_mut().unwrap().receiver = None;
        let stream = encode_stream([&sample(), &no_receiver]);
        assert_eq!(decode_stream(&stream), Err(StreamError::InvalidState));
        let no_entry = MeshEntry { entry: None, expires_at: None };
        assert_eq!(decode_stream(&encode_delimited(&no_entry)), Err(StreamError::InvalidState));

        for bad in
            [Timestamp { seconds: 253_402_300_800, nanos: 0 }, Timestamp { seconds: 0, nanos: -1 }]
        {
            let mut out_of_range = sample();
            out_of_range.expires_at = Some(bad);
            let stream = encode_stream([&sample(), &out_of_range]);
            assert!(matches!(decode_stream(&stream), Err(StreamError::Decode(_))), "{bad:?}");
        }
    }
}
