//! The notification log: which alerts each (group, receiver integration) was last notified
//! about, and when. Dedup consults it, successful sends write it, peers gossip it, and it is
//! snapshotted to `<storage.path>/nflog`.
//!
//! This module owns the state and its rules, with no I/O and no clock: every operation takes
//! `now`, and what should be gossiped collects in an outbox ([`NotificationLog::take_broadcasts`])
//! for the cluster layer to send. The rules are Alertmanager 0.25's:
//! - one entry per `group_key:receiver/integration/idx`, the latest only;
//! - a local write is skipped when the stored entry is newer than `now` (clock drift);
//! - an entry expires at `timestamp + min(retention, 2 × repeat_interval)`;
//! - merging drops expired entries and keeps the strictly newer `Entry.timestamp`.

pub mod nflogpb;

#[cfg(test)]
mod differential;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use nflogpb::{Entry, MeshEntry, Receiver, StreamError, Timestamp};

use crate::silence::silencepb::go_zero_time;

/// Alertmanager's default `--data.retention`.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(120 * 60 * 60);

/// memberlist's UDP packet budget in 0.25 is 1400 bytes; a buffer over half of it was sent to
/// every peer directly over TCP, so receivers do not gossip it on.
const OVERSIZED_MESSAGE_BYTES: usize = 1400 / 2;

/// A GC failure: 0.25 refuses to guess when an entry without an expiry should go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unexpected zero expiration timestamp")]
pub struct ZeroExpiration;

/// The state key: `group_key:name/integration/idx`. Bytes, because the group key is bytes on
/// the wire and a peer's key need not be UTF-8.
pub fn state_key(group_key: &[u8], receiver: &Receiver) -> Vec<u8> {
    let mut key = Vec::with_capacity(group_key.len() + receiver.group_name.len() + 16);
    key.extend_from_slice(group_key);
    key.push(b':');
    key.extend_from_slice(receiver.key().as_bytes());
    key
}

/// `time + duration`, saturating at chrono's limits rather than failing.
fn add_saturating(time: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(duration)
        .ok()
        .and_then(|duration| time.checked_add_signed(duration))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The notification log of one instance.
#[derive(Debug, Clone)]
pub struct NotificationLog {
    retention: Duration,
    state: HashMap<Vec<u8>, MeshEntry>,
    outbox: Vec<Vec<u8>>,
}

impl Default for NotificationLog {
    fn default() -> Self {
        Self::new(DEFAULT_RETENTION)
    }
}

impl NotificationLog {
    /// An empty log keeping entries at most `retention` (`--data.retention`).
    pub fn new(retention: Duration) -> Self {
        NotificationLog { retention, state: HashMap::new(), outbox: Vec::new() }
    }

    /// The configured retention.
    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// How long an entry written now lives: the retention, shortened to `expiry` when that is
    /// positive and shorter. The pipeline passes `2 × repeat_interval` as `expiry`.
    pub fn lifetime(&self, expiry: Duration) -> Duration {
        if !expiry.is_zero() && self.retention > expiry { expiry } else { self.retention }
    }

    /// Records a successful notification of `group_key` to `receiver` at `now` and queues it
    /// for gossip. Returns false, writing and sending nothing, when the stored entry is newer
    /// than `now`: a peer with a clock ahead of ours already notified.
    pub fn log(
        &mut self,
        receiver: &Receiver,
        group_key: &str,
        firing: Vec<u64>,
        resolved: Vec<u64>,
        now: DateTime<Utc>,
        expiry: Duration,
    ) -> bool {
        let key = state_key(group_key.as_bytes(), receiver);
        if let Some(previous) = self.state.get(&key)
            && entry_time(previous) > now
        {
            return false;
        }
        let mesh_entry = MeshEntry {
            entry: Some(Entry {
                group_key: group_key.as_bytes().to_vec(),
                receiver: Some(receiver.clone()),
                timestamp: Some(Timestamp::from_time(now)),
                firing_alerts: firing,
                resolved_alerts: resolved,
                ..Entry::default()
            }),
            expires_at: Some(Timestamp::from_time(add_saturating(now, self.lifetime(expiry)))),
        };
        // 0.25 broadcasts even when the merge keeps an entry with the same timestamp.
        self.outbox.push(nflogpb::encode_delimited(&mesh_entry));
        self.merge_entry(key, mesh_entry, now);
        true
    }

    /// The latest notification of `group_key` to `receiver`, if any.
    pub fn query(&self, receiver: &Receiver, group_key: &str) -> Option<&Entry> {
        self.state.get(&state_key(group_key.as_bytes(), receiver))?.entry.as_ref()
    }

    /// The stored entry of `group_key` and `receiver` with its expiry, as gossip and the store
    /// carry it.
    pub fn mesh_entry(&self, receiver: &Receiver, group_key: &str) -> Option<&MeshEntry> {
        self.state.get(&state_key(group_key.as_bytes(), receiver))
    }

    /// Merges a peer's gossip or full state. Entries already expired at `now` are ignored; an
    /// entry replaces ours only if its timestamp is strictly newer. A malformed buffer is
    /// rejected whole and changes nothing.
    ///
    /// Returns whether `bytes` should be gossiped on. As in 0.25, that is when some entry was
    /// new to us and the buffer is small enough to have come by gossip rather than to every
    /// peer directly; the buffer is then queued in the outbox once per new entry, as 0.25
    /// does.
    pub fn merge(&mut self, bytes: &[u8], now: DateTime<Utc>) -> Result<bool, StreamError> {
        let oversized = bytes.len() > OVERSIZED_MESSAGE_BYTES;
        let mut regossip = false;
        for mesh_entry in nflogpb::decode_stream(bytes)? {
            let key = mesh_key(&mesh_entry);
            if self.merge_entry(key, mesh_entry, now) && !oversized {
                self.outbox.push(bytes.to_vec());
                regossip = true;
            }
        }
        Ok(regossip)
    }

    fn merge_entry(&mut self, key: Vec<u8>, mesh_entry: MeshEntry, now: DateTime<Utc>) -> bool {
        if mesh_entry.expires() < now {
            return false;
        }
        match self.state.get(&key) {
            Some(previous) if entry_time(previous) >= entry_time(&mesh_entry) => false,
            _ => {
                self.state.insert(key, mesh_entry);
                true
            }
        }
    }

    /// Deletes entries whose expiry is at or before `now`; returns how many. As in 0.25, an
    /// entry with Go's zero expiry stops the sweep with an error, leaving the rest in place.
    pub fn gc(&mut self, now: DateTime<Utc>) -> Result<usize, ZeroExpiration> {
        let zero = go_zero_time();
        let mut expired = Vec::new();
        let mut result = Ok(());
        for (key, mesh_entry) in &self.state {
            let expires = mesh_entry.expires();
            if expires == zero {
                result = Err(ZeroExpiration);
                break;
            }
            if expires <= now {
                expired.push(key.clone());
            }
        }
        for key in &expired {
            self.state.remove(key);
        }
        result.map(|()| expired.len())
    }

    /// The whole state as a delimited stream: the snapshot file's content and the push/pull
    /// full state. Sorted by key so equal states give equal bytes (0.25 uses map order, which
    /// any reader accepts).
    pub fn snapshot(&self) -> Vec<u8> {
        let mut keys: Vec<&Vec<u8>> = self.state.keys().collect();
        keys.sort();
        nflogpb::encode_stream(keys.into_iter().map(|key| &self.state[key]))
    }

    /// Replaces the state with a snapshot. Like 0.25 at startup, expired entries are kept
    /// (the next GC removes them) and a later duplicate key overwrites an earlier one. On
    /// error the state is left unchanged.
    pub fn load_snapshot(&mut self, bytes: &[u8]) -> Result<(), StreamError> {
        let entries = nflogpb::decode_stream(bytes)?;
        self.state = entries.into_iter().map(|entry| (mesh_key(&entry), entry)).collect();
        Ok(())
    }

    /// Drains the buffers waiting to be gossiped, oldest first. Each is a delimited stream.
    pub fn take_broadcasts(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.outbox)
    }

    /// All entries with their expiry, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = &MeshEntry> {
        self.state.values()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.state.len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.state.is_empty()
    }
}

/// The key of a decoded entry; [`nflogpb::decode_stream`] guarantees entry and receiver.
fn mesh_key(mesh_entry: &MeshEntry) -> Vec<u8> {
    let entry = mesh_entry.entry.as_ref().expect("decode_stream checked the entry");
    let receiver = entry.receiver.as_ref().expect("decode_stream checked the receiver");
    state_key(&entry.group_key, receiver)
}

fn entry_time(mesh_entry: &MeshEntry) -> DateTime<Utc> {
    mesh_entry.entry.as_ref().map_or_else(go_zero_time, Entry::time)
}
