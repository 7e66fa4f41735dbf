//! The mapping between delimited protobuf streams (the canonical encoding that gossip and
//! snapshots use) and table rows: which columns each message yields, and how rows become a
//! stream again. No I/O here.

use std::collections::HashMap;

use alertmanager::nflog::nflogpb::{self, MeshEntry};
use alertmanager::nflog::state_key;
use alertmanager::silence::silencepb::{self, MeshSilence};
use chrono::{DateTime, Utc};
use prost::Message;

use crate::StoreError;

/// One `silences` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SilenceRow {
    pub(crate) id: String,
    pub(crate) updated_at_ns: i64,
    pub(crate) expires_at_ns: i64,
    pub(crate) mesh: Vec<u8>,
}

/// One `nflog` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NflogRow {
    pub(crate) key: String,
    pub(crate) timestamp_ns: i64,
    pub(crate) expires_at_ns: i64,
    pub(crate) mesh: Vec<u8>,
}

/// Prefix of a key stored in hex because its bytes are not UTF-8 (a peer's group key need
/// not be).
const HEX_KEY_PREFIX: &str = "hex:";

/// Nanoseconds since the Unix epoch, saturating outside the years 1677..2262 that an i64
/// can hold. Go's zero time (year 1, "unset") thus sorts first and is collected at once,
/// as 0.25 collects it.
pub fn unix_nanos(time: DateTime<Utc>) -> i64 {
    time.timestamp_nanos_opt().unwrap_or(if time.timestamp() < 0 { i64::MIN } else { i64::MAX })
}

/// Rows for a delimited `MeshSilence` stream; a repeated id keeps the newest `updated_at`.
pub(crate) fn silence_rows(stream: &[u8]) -> Result<Vec<SilenceRow>, StoreError> {
    let messages = silencepb::decode_stream(stream)
        .map_err(|error| StoreError::Decode { what: "silence", message: error.to_string() })?;
    let mut rows = Newest::with_capacity(messages.len());
    for mesh in messages {
        let silence = mesh.silence.as_ref().expect("decode_stream checked the silence");
        let row = SilenceRow {
            id: silence.id.clone(),
            updated_at_ns: unix_nanos(silencepb::time_of(silence.updated_at)),
            expires_at_ns: unix_nanos(silencepb::time_of(mesh.expires_at)),
            mesh: mesh.encode_to_vec(),
        };
        rows.offer(&row.id.clone(), |r: &SilenceRow| r.updated_at_ns, row);
    }
    Ok(rows.rows)
}

/// Rows for a delimited `MeshEntry` stream; a repeated key keeps the newest timestamp.
pub(crate) fn nflog_rows(stream: &[u8]) -> Result<Vec<NflogRow>, StoreError> {
    let messages = nflogpb::decode_stream(stream).map_err(|error| StoreError::Decode {
        what: "notification log",
        message: error.to_string(),
    })?;
    let mut rows = Newest::with_capacity(messages.len());
    for mesh in messages {
        let entry = mesh.entry.as_ref().expect("decode_stream checked the entry");
        let receiver = entry.receiver.as_ref().expect("decode_stream checked the receiver");
        let row = NflogRow {
            key: key_text(state_key(&entry.group_key, receiver)),
            timestamp_ns: unix_nanos(entry.time()),
            expires_at_ns: unix_nanos(mesh.expires()),
            mesh: mesh.encode_to_vec(),
        };
        rows.offer(&row.key.clone(), |r: &NflogRow| r.timestamp_ns, row);
    }
    Ok(rows.rows)
}

/// Two rows for one key in a batch would make a single upsert statement touch the row twice
/// (an error in PostgreSQL), so the batch is reduced first with the same rule as the table.
struct Newest<R> {
    rows: Vec<R>,
    position: HashMap<String, usize>,
}

impl<R> Newest<R> {
    fn with_capacity(capacity: usize) -> Self {
        Newest { rows: Vec::with_capacity(capacity), position: HashMap::with_capacity(capacity) }
    }

    fn offer(&mut self, key: &str, time: impl Fn(&R) -> i64, row: R) {
        match self.position.get(key) {
            Some(&index) if time(&self.rows[index]) < time(&row) => self.rows[index] = row,
            Some(_) => {}
            None => {
                self.position.insert(key.to_owned(), self.rows.len());
                self.rows.push(row);
            }
        }
    }
}

/// The key as text: itself when it is UTF-8 (and cannot be mistaken for an escaped one),
/// else hex behind a prefix, so distinct keys stay distinct.
fn key_text(key: Vec<u8>) -> String {
    match String::from_utf8(key) {
        Ok(text) if !text.starts_with(HEX_KEY_PREFIX) => text,
        Ok(text) => hex_key(text.as_bytes()),
        Err(error) => hex_key(error.as_bytes()),
    }
}

fn hex_key(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(HEX_KEY_PREFIX.len() + bytes.len() * 2);
    out.push_str(HEX_KEY_PREFIX);
    for byte in bytes {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Concatenates stored messages, each behind its uvarint length, into the delimited stream
/// that `Silences::load_snapshot` and `NotificationLog::load_snapshot` read.
pub(crate) fn delimited(messages: &[Vec<u8>]) -> Vec<u8> {
    let total: usize = messages.iter().map(|m| m.len() + 10).sum();
    let mut out = Vec::with_capacity(total);
    for message in messages {
        prost::encoding::encode_varint(message.len() as u64, &mut out);
        out.extend_from_slice(message);
    }
    out
}

/// Checks that a stored message still decodes, so one corrupt row is reported by key
/// instead of failing the whole load later without saying which.
pub(crate) fn check_silence(id: &str, mesh: &[u8]) -> Result<(), StoreError> {
    match MeshSilence::decode(mesh) {
        Ok(message) if message.silence.is_some() => Ok(()),
        _ => Err(StoreError::CorruptRow { table: "silences", key: id.to_owned() }),
    }
}

/// Like [`check_silence`], for the notification log.
pub(crate) fn check_nflog(key: &str, mesh: &[u8]) -> Result<(), StoreError> {
    match MeshEntry::decode(mesh) {
        Ok(message) if message.entry.is_some() => Ok(()),
        _ => Err(StoreError::CorruptRow { table: "nflog", key: key.to_owned() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_and_prefixed_keys_stay_distinct() {
        assert_eq!(key_text(b"{}:r/webhook/0".to_vec()), "{}:r/webhook/0");
        assert_eq!(key_text(vec![0xff, 0x01]), "hex:ff01");
        assert_eq!(key_text(b"hex:ff01".to_vec()), "hex:6865783a66663031");
    }

    #[test]
    fn nanos_saturate() {
        assert_eq!(unix_nanos(silencepb::go_zero_time()), i64::MIN);
        assert_eq!(unix_nanos(DateTime::<Utc>::MAX_UTC), i64::MAX);
        assert_eq!(unix_nanos(DateTime::from_timestamp(1, 5).unwrap()), 1_000_000_005);
    }
}
