//! The wire format of silences: protobuf messages byte-compatible with Alertmanager 0.25's
//! `silencepb` package, and the uvarint-length-delimited stream that gossip messages, the
//! push/pull full state and the snapshot file all share.
//!
//! 0.25 generates its code with gogoproto and marks every timestamp `nullable=false`, so a
//! timestamp field is written even when it holds Go's zero time. Encoding always sets the
//! `Option<Timestamp>` fields to reproduce that; a missing timestamp decodes as Go's zero time.
//! gogoproto also keeps unknown fields and writes them back after the known ones; [`Silence`]
//! does the same, so fields added by newer peers (`annotations`, `matcher_sets`) survive a
//! round trip through a Klaxon snapshot.

use chrono::{DateTime, Utc};
use prost::Message;
use prost::bytes::{Buf, BufMut};
use prost::encoding::{self, DecodeContext, WireType};

/// Seconds from the Unix epoch to Go's zero `time.Time` (0001-01-01T00:00:00Z).
const GO_ZERO_SECONDS: i64 = -62_135_596_800;

/// Go's zero `time.Time`, which 0.25 treats as "unset".
pub fn go_zero_time() -> DateTime<Utc> {
    DateTime::from_timestamp(GO_ZERO_SECONDS, 0).expect("Go's zero time is within chrono's range")
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds within the second, 0..=999_999_999.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Timestamp {
    /// The timestamp of an instant.
    pub fn from_time(time: DateTime<Utc>) -> Timestamp {
        // timestamp_subsec_nanos stays below 2e9 even for leap seconds, so it fits in i32.
        Timestamp { seconds: time.timestamp(), nanos: time.timestamp_subsec_nanos() as i32 }
    }

    /// The instant, clamped to chrono's range: Go can represent years chrono cannot, and a
    /// peer's timestamp should degrade rather than make the whole message undecodable.
    pub fn to_time(self) -> DateTime<Utc> {
        let nanos = self.nanos.clamp(0, 999_999_999) as u32;
        DateTime::from_timestamp(self.seconds, nanos).unwrap_or(if self.seconds < 0 {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        })
    }
}

/// A timestamp field as gogoproto's non-nullable `stdtime` writes it.
pub fn timestamp_field(time: DateTime<Utc>) -> Option<Timestamp> {
    Some(Timestamp::from_time(time))
}

/// Reads a non-nullable timestamp field: absent means Go's zero time.
pub fn time_of(field: Option<Timestamp>) -> DateTime<Utc> {
    field.map_or_else(go_zero_time, Timestamp::to_time)
}

/// `silencepb.Matcher.Type`. Note the order differs from the matcher operators elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MatcherType {
    /// `=`
    Equal = 0,
    /// `=~`
    Regexp = 1,
    /// `!=`
    NotEqual = 2,
    /// `!~`
    NotRegexp = 3,
}

/// `silencepb.Matcher`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Matcher {
    /// A [`MatcherType`] value; kept as `i32` so unknown values from peers survive.
    #[prost(enumeration = "MatcherType", tag = "1")]
    pub r#type: i32,
    /// The label name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// The value, or the (unanchored) regular expression.
    #[prost(string, tag = "3")]
    pub pattern: String,
}

/// `silencepb.Comment`: deprecated, upgraded into `Silence.comment`/`created_by` on receipt.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Comment {
    /// Who wrote the comment.
    #[prost(string, tag = "1")]
    pub author: String,
    /// The text.
    #[prost(string, tag = "2")]
    pub comment: String,
    /// When it was written.
    #[prost(message, optional, tag = "3")]
    pub timestamp: Option<Timestamp>,
}

/// `silencepb.Silence` as of 0.25, plus the raw bytes of any field 0.25 does not know.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Silence {
    /// A UUIDv4 string.
    pub id: String,
    /// The matchers, AND-ed.
    pub matchers: Vec<Matcher>,
    /// Start of the silence.
    pub starts_at: Option<Timestamp>,
    /// End of the silence.
    pub ends_at: Option<Timestamp>,
    /// Last modification; the merge rule compares it.
    pub updated_at: Option<Timestamp>,
    /// Deprecated comment list.
    pub comments: Vec<Comment>,
    /// Author.
    pub created_by: String,
    /// Free-text comment.
    pub comment: String,
    /// Unknown fields, already encoded (key and value), written after the known ones.
    pub unknown_fields: Vec<u8>,
}

impl std::fmt::Debug for Silence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Silence")
            .field("id", &self.id)
            .field("matchers", &self.matchers)
            .field("starts_at", &self.starts_at)
            .field("ends_at", &self.ends_at)
            .field("updated_at", &self.updated_at)
            .field("comments", &self.comments)
            .field("created_by", &self.created_by)
            .field("comment", &self.comment)
            .field("unknown_fields", &self.unknown_fields.len())
            .finish()
    }
}

impl Message for Silence {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        if !self.id.is_empty() {
            encoding::string::encode(1, &self.id, buf);
        }
        encoding::message::encode_repeated(2, &self.matchers, buf);
        for (tag, field) in self.timestamps() {
            if let Some(ts) = field {
                encoding::message::encode(tag, ts, buf);
            }
        }
        encoding::message::encode_repeated(7, &self.comments, buf);
        if !self.created_by.is_empty() {
            encoding::string::encode(8, &self.created_by, buf);
        }
        if !self.comment.is_empty() {
            encoding::string::encode(9, &self.comment, buf);
        }
        buf.put_slice(&self.unknown_fields);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        use encoding::{message, string};
        match tag {
            1 => string::merge(wire_type, &mut self.id, buf, ctx),
            2 => message::merge_repeated(wire_type, &mut self.matchers, buf, ctx),
            3 => message::merge(wire_type, self.starts_at.get_or_insert_default(), buf, ctx),
            4 => message::merge(wire_type, self.ends_at.get_or_insert_default(), buf, ctx),
            5 => message::merge(wire_type, self.updated_at.get_or_insert_default(), buf, ctx),
            7 => message::merge_repeated(wire_type, &mut self.comments, buf, ctx),
            8 => string::merge(wire_type, &mut self.created_by, buf, ctx),
            9 => string::merge(wire_type, &mut self.comment, buf, ctx),
            _ => keep_unknown_field(tag, wire_type, buf, ctx, &mut self.unknown_fields),
        }
    }

    fn encoded_len(&self) -> usize {
        let mut len = 0;
        if !self.id.is_empty() {
            len += encoding::string::encoded_len(1, &self.id);
        }
        len += encoding::message::encoded_len_repeated(2, &self.matchers);
        for (tag, field) in self.timestamps() {
            if let Some(ts) = field {
                len += encoding::message::encoded_len(tag, ts);
            }
        }
        len += encoding::message::encoded_len_repeated(7, &self.comments);
        if !self.created_by.is_empty() {
            len += encoding::string::encoded_len(8, &self.created_by);
        }
        if !self.comment.is_empty() {
            len += encoding::string::encoded_len(9, &self.comment);
        }
        len + self.unknown_fields.len()
    }

    fn clear(&mut self) {
        *self = Silence::default();
    }
}

impl Silence {
    fn timestamps(&self) -> [(u32, &Option<Timestamp>); 3] {
        [(3, &self.starts_at), (4, &self.ends_at), (5, &self.updated_at)]
    }

    /// Moves the deprecated first comment into `comment` and `created_by`, as 0.25 does for
    /// every silence it loads or merges.
    pub fn upgrade_comments(&mut self) {
        if let Some(first) = self.comments.first() {
            self.comment = first.comment.clone();
            self.created_by = first.author.clone();
            self.comments.clear();
        }
    }
}

/// Re-encodes an unknown field into `out` so it can be written back unchanged. Groups do not
/// exist in proto3 and are skipped rather than kept.
pub(crate) fn keep_unknown_field(
    tag: u32,
    wire_type: WireType,
    buf: &mut impl Buf,
    ctx: DecodeContext,
    out: &mut Vec<u8>,
) -> Result<(), prost::DecodeError> {
    match wire_type {
        WireType::Varint => {
            let mut value = 0u64;
            encoding::uint64::merge(wire_type, &mut value, buf, ctx)?;
            encoding::uint64::encode(tag, &value, out);
        }
        WireType::ThirtyTwoBit => {
            let mut value = 0u32;
            encoding::fixed32::merge(wire_type, &mut value, buf, ctx)?;
            encoding::fixed32::encode(tag, &value, out);
        }
        WireType::SixtyFourBit => {
            let mut value = 0u64;
            encoding::fixed64::merge(wire_type, &mut value, buf, ctx)?;
            encoding::fixed64::encode(tag, &value, out);
        }
        WireType::LengthDelimited => {
            let mut value: Vec<u8> = Vec::new();
            encoding::bytes::merge(wire_type, &mut value, buf, ctx)?;
            encoding::bytes::encode(tag, &value, out);
        }
        WireType::StartGroup | WireType::EndGroup => {
            encoding::skip_field(wire_type, tag, buf, ctx)?;
        }
    }
    Ok(())
}

/// `silencepb.MeshSilence`: the canonical stored, gossiped and snapshotted form.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MeshSilence {
    /// The silence.
    #[prost(message, optional, tag = "1")]
    pub silence: Option<Silence>,
    /// When the entry may be garbage collected: `ends_at + retention`.
    #[prost(message, optional, tag = "2")]
    pub expires_at: Option<Timestamp>,
}

/// Why a delimited stream could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// A length prefix or a message body was malformed or truncated.
    #[error("decoding silence state: {0}")]
    Decode(String),
    /// A `MeshSilence` without its silence (0.25's `ErrInvalidState`).
    #[error("invalid state")]
    MissingSilence,
}

pub use crate::delimited::{append as append_delimited, encode as encode_delimited};

/// Decodes a concatenation of length-prefixed `MeshSilence` messages. As in 0.25, a message
/// without a silence invalidates the whole stream, and so does a truncated one.
pub fn decode_stream(bytes: &[u8]) -> Result<Vec<MeshSilence>, StreamError> {
    let mut messages = Vec::new();
    for message in crate::delimited::messages::<MeshSilence>(bytes) {
        let message = message.map_err(StreamError::Decode)?;
        if message.silence.is_none() {
            return Err(StreamError::MissingSilence);
        }
        messages.push(message);
    }
    Ok(messages)
}
