//! [`Silences`]: the silence store with 0.25's write path (`Set`, `canUpdate`, `Expire`),
//! queries, muting, GC, snapshots and the gossip merge.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use model::LabelSet;
use model::Matcher;

use super::index::MuteIndex;
use super::silencepb::{self, MeshSilence, StreamError, Timestamp};
use super::validate::validate;
use super::{
    MergeOutcome, Silence, SilenceError, SilenceState, SilencesOptions, internal_state, query,
};

/// Largest received buffer that is passed on again after a merge (`cluster.OversizedMessage`:
/// half of the 1400-byte gossip packet). Bigger ones were sent to every peer directly.
const MAX_REGOSSIP_BYTES: usize = 700;

/// The silence store. Not thread-safe; the server wraps it in a mutex. Every time-dependent
/// method takes `now`.
#[derive(Debug)]
pub struct Silences {
    options: SilencesOptions,
    /// Keyed by id; ordered so snapshots are deterministic (0.25 writes them in map order).
    entries: BTreeMap<String, Entry>,
    /// Which silences could mute a given label set; kept in step with `entries`.
    index: MuteIndex,
    /// Bumped whenever a write, merge or load changes what is stored, like 0.25's
    /// `Version()`. GC does not bump it: it only removes silences that no longer mute.
    version: u64,
    /// Delimited `MeshSilence` of each local change, for the cluster layer to gossip.
    outbox: Vec<Vec<u8>>,
}

/// One stored silence: the canonical protobuf plus what is derived from it.
#[derive(Debug)]
struct Entry {
    /// Always holds a silence: streams without one are rejected before they are stored.
    mesh: MeshSilence,
    /// `None` when a peer's matchers cannot be compiled here. Such a silence is still kept,
    /// snapshotted and expirable, but it never mutes and is not listed.
    view: Option<Silence>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl Entry {
    fn new(mesh: MeshSilence) -> Entry {
        let pb = mesh.silence.as_ref().expect("stored mesh silences carry a silence");
        Entry {
            view: Silence::from_proto(pb).ok(),
            starts_at: silencepb::time_of(pb.starts_at),
            ends_at: silencepb::time_of(pb.ends_at),
            updated_at: silencepb::time_of(pb.updated_at),
            expires_at: silencepb::time_of(mesh.expires_at),
            mesh,
        }
    }

    fn pb(&self) -> &silencepb::Silence {
        self.mesh.silence.as_ref().expect("stored mesh silences carry a silence")
    }

    fn internal_state(&self, now: DateTime<Utc>) -> SilenceState {
        internal_state(self.starts_at, self.ends_at, now)
    }

    /// 0.25's `canUpdate`: whether `next` may overwrite this silence in place without
    /// rewriting what it has already silenced.
    fn can_update_to(&self, next: &Silence, now: DateTime<Utc>) -> bool {
        let prev = self.pb();
        let same_matchers = prev.matchers.len() == next.matchers.len()
            && prev.matchers.iter().zip(&next.matchers).all(|(a, b)| {
                a.r#type == super::proto_match_type(b.match_type) as i32
                    && a.name == b.name
                    && a.pattern == b.value
            });
        if !same_matchers {
            return false;
        }
        match self.internal_state(now) {
            SilenceState::Active => {
                next.starts_at.timestamp() == self.starts_at.timestamp() && next.ends_at >= now
            }
            SilenceState::Pending => next.starts_at >= now,
            SilenceState::Expired => false,
        }
    }
}

impl Silences {
    /// An empty store.
    pub fn new(options: SilencesOptions) -> Silences {
        Silences {
            options,
            entries: BTreeMap::new(),
            index: MuteIndex::default(),
            version: 0,
            outbox: Vec::new(),
        }
    }

    /// Changes whenever merging or loading altered the stored silences; callers can use it to
    /// invalidate cached muting results.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// How many silences are stored, expired ones included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Creates or changes a silence and returns its id (0.25's `Set`).
    ///
    /// With an empty id a new silence is created. With a known id the silence is updated in
    /// place when `canUpdate` allows it; otherwise the old one is expired (unless it already
    /// is) and a new one with a fresh id replaces it. As in 0.25, validation runs only after
    /// that expiry, so a rejected replacement still ends the old silence. The limits come
    /// from newer Alertmanager and are checked before anything changes.
    ///
    /// Like every local write, the result is stored through the merge rule: if the stored
    /// copy's `updated_at` is not older than `now` (a peer's clock ahead of ours, or two writes
    /// at the same instant) it is gossiped but not applied, as in 0.25.
    pub fn set(
        &mut self,
        mut silence: Silence,
        now: DateTime<Utc>,
    ) -> Result<String, SilenceError> {
        let prev = if silence.id.is_empty() {
            None
        } else {
            let entry = self.entries.get(&silence.id).ok_or(SilenceError::NotFound)?;
            if entry.can_update_to(&silence, now) {
                silence.updated_at = now;
                validate(&silence)?;
                let mesh = self.mesh_of(&silence);
                self.check_size(&mesh)?;
                self.store_local(mesh, now);
                return Ok(silence.id);
            }
            Some(entry.internal_state(now))
        };
        self.check_count()?;
        let old_id = std::mem::replace(&mut silence.id, uuid::Uuid::new_v4().to_string());
        if silence.starts_at < now {
            silence.starts_at = now;
        }
        silence.updated_at = now;
        let mesh = self.mesh_of(&silence);
        self.check_size(&mesh)?;
        if prev.is_some_and(|state| state != SilenceState::Expired) {
            self.expire(&old_id, now)?;
        }
        validate(&silence)?;
        self.store_local(mesh, now);
        Ok(silence.id)
    }

    /// Ends a silence now (0.25's `Expire`): an active one gets `ends_at = now`, a pending one
    /// `starts_at = ends_at = now`. Expiring an expired silence succeeds without a change, as
    /// in 0.25, whose `DELETE` then answers 200.
    pub fn expire(&mut self, id: &str, now: DateTime<Utc>) -> Result<(), SilenceError> {
        let entry = self.entries.get(id).ok_or(SilenceError::NotFound)?;
        let mut pb = entry.pb().clone();
        match entry.internal_state(now) {
            SilenceState::Expired => return Ok(()),
            SilenceState::Active => pb.ends_at = silencepb::timestamp_field(now),
            SilenceState::Pending => {
                pb.starts_at = silencepb::timestamp_field(now);
                pb.ends_at = silencepb::timestamp_field(now);
            }
        }
        pb.updated_at = silencepb::timestamp_field(now);
        // 0.25 validates here too. A peer's silence that cannot be compiled here is expired
        // anyway: refusing would leave it silencing on the peers with no way to end it.
        if let Ok(view) = Silence::from_proto(&pb) {
            validate(&view)?;
        }
        let mesh = MeshSilence {
            expires_at: silencepb::timestamp_field(self.expiry_of(now)),
            silence: Some(pb),
        };
        self.store_local(mesh, now);
        Ok(())
    }

    /// The silence with this id, expired or not.
    pub fn get(&self, id: &str) -> Option<&Silence> {
        self.entries.get(id).and_then(|entry| entry.view.as_ref())
    }

    /// A silence's state as the API reports it at `now`.
    pub fn state(silence: &Silence, now: DateTime<Utc>) -> SilenceState {
        silence.state(now)
    }

    /// The listing of `GET /api/v2/silences?filter=...`: silences that contain every filter
    /// matcher verbatim, in 0.25's order (see `query::sort_for_listing`).
    pub fn query(&self, filter: &[Matcher], now: DateTime<Utc>) -> Vec<Silence> {
        let mut found: Vec<Silence> = self
            .entries
            .values()
            .filter_map(|entry| entry.view.as_ref())
            .filter(|silence| query::matches_filter(silence, filter))
            .cloned()
            .collect();
        query::sort_for_listing(&mut found, now);
        found
    }

    /// Ids of the silences that mute `labels` at `now`, sorted. Active here includes both
    /// ends, as in 0.25's silencer.
    pub fn mutes(&self, labels: &LabelSet, now: DateTime<Utc>) -> Vec<String> {
        self.index.mutes(labels, now)
    }

    /// How many stored silences are in `state` at `now`, by the store's inclusive rule (what
    /// 0.25's `alertmanager_silences{state}` gauge counts).
    pub fn count(&self, state: SilenceState, now: DateTime<Utc>) -> usize {
        self.entries.values().filter(|entry| entry.internal_state(now) == state).count()
    }

    /// Deletes silences whose `expires_at` is not after `now`; returns how many. A missing
    /// `expires_at` reads as Go's zero time and is deleted too: 0.25 would abort the whole GC
    /// with an error on such an entry, newer releases delete it.
    pub fn gc(&mut self, now: DateTime<Utc>) -> usize {
        let before = self.entries.len();
        let index = &mut self.index;
        self.entries.retain(|id, entry| {
            let keep = entry.expires_at > now;
            if let (false, Some(silence)) = (keep, &entry.view) {
                index.remove(id, silence);
            }
            keep
        });
        before - self.entries.len()
    }

    /// The whole state as delimited `MeshSilence` messages: the snapshot file's content and
    /// the push/pull full state.
    pub fn snapshot(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for entry in self.entries.values() {
            silencepb::append_delimited(&mut out, &entry.mesh);
        }
        out
    }

    /// Replaces the whole state with a snapshot. Nothing is filtered: expired entries stay
    /// until the next GC, as in 0.25. On error the state is unchanged.
    pub fn load_snapshot(&mut self, bytes: &[u8]) -> Result<(), StreamError> {
        let messages = last_per_id(silencepb::decode_stream(bytes)?);
        self.entries.clear();
        self.index.clear();
        for mut mesh in messages {
            upgrade(&mut mesh);
            self.put(mesh);
        }
        self.version += 1;
        Ok(())
    }

    /// Merges a gossip message or a peer's full state: entries whose `expires_at` has passed
    /// are dropped, and an entry replaces the stored one only with a strictly newer
    /// `updated_at`. Nothing is validated or limited. A malformed buffer changes nothing.
    pub fn merge(&mut self, bytes: &[u8], now: DateTime<Utc>) -> Result<MergeOutcome, StreamError> {
        let messages = last_per_id(silencepb::decode_stream(bytes)?);
        let mut changed = Vec::new();
        for mesh in messages {
            let id = mesh_id(&mesh).to_owned();
            if self.merge_one(mesh, now) {
                changed.push(id);
            }
        }
        let regossip = !changed.is_empty() && bytes.len() <= MAX_REGOSSIP_BYTES;
        Ok(MergeOutcome { changed, regossip })
    }

    /// Drains the delimited `MeshSilence` of every local change since the last call, oldest
    /// first; each is one gossip broadcast.
    pub fn take_broadcasts(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.outbox)
    }

    /// 0.25's `state.merge`, shared by local writes and gossip.
    fn merge_one(&mut self, mut mesh: MeshSilence, now: DateTime<Utc>) -> bool {
        if silencepb::time_of(mesh.expires_at) < now {
            return false;
        }
        upgrade(&mut mesh);
        let incoming = silencepb::time_of(mesh.silence.as_ref().and_then(|s| s.updated_at));
        let id = mesh_id(&mesh);
        if self.entries.get(id).is_some_and(|prev| prev.updated_at >= incoming) {
            return false;
        }
        self.put(mesh);
        self.version += 1;
        true
    }

    /// Stores an entry, replacing any with its id, and keeps the index in step.
    fn put(&mut self, mesh: MeshSilence) {
        let id = mesh_id(&mesh).to_owned();
        let entry = Entry::new(mesh);
        // The old entry leaves the index first: removal goes by id and would take the new
        // entry along if both sat under the same label.
        if let Some(old) = self.entries.remove(&id)
            && let Some(silence) = &old.view
        {
            self.index.remove(&id, silence);
        }
        if let Some(silence) = &entry.view {
            self.index.insert(&id, silence);
        }
        self.entries.insert(id, entry);
    }

    /// A local write: stored through the merge rule like 0.25's `setSilence` (so a stored
    /// copy with a later `updated_at` wins), and broadcast either way.
    fn store_local(&mut self, mesh: MeshSilence, now: DateTime<Utc>) {
        self.outbox.push(silencepb::encode_delimited(&mesh));
        self.merge_one(mesh, now);
    }

    fn mesh_of(&self, silence: &Silence) -> MeshSilence {
        MeshSilence {
            silence: Some(silence.to_proto()),
            expires_at: Some(Timestamp::from_time(self.expiry_of(silence.ends_at))),
        }
    }

    fn expiry_of(&self, ends_at: DateTime<Utc>) -> DateTime<Utc> {
        ends_at.checked_add_signed(self.options.retention).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    fn check_count(&self) -> Result<(), SilenceError> {
        let max = self.options.max_silences;
        if max > 0 && self.entries.len() + 1 > max {
            return Err(SilenceError::LimitExceeded(format!(
                "exceeded maximum number of silences: {} (limit: {max})",
                self.entries.len()
            )));
        }
        Ok(())
    }

    fn check_size(&self, mesh: &MeshSilence) -> Result<(), SilenceError> {
        let max = self.options.max_silence_size_bytes;
        let size = prost::Message::encoded_len(mesh);
        if max > 0 && size > max {
            return Err(SilenceError::LimitExceeded(format!(
                "silence exceeded maximum size: {size} bytes (limit: {max} bytes)"
            )));
        }
        Ok(())
    }
}

fn mesh_id(mesh: &MeshSilence) -> &str {
    mesh.silence.as_ref().map_or("", |silence| silence.id.as_str())
}

fn upgrade(mesh: &mut MeshSilence) {
    if let Some(silence) = mesh.silence.as_mut() {
        silence.upgrade_comments();
    }
}

/// 0.25 decodes a stream into a map by id before using it, so a repeated id keeps its last
/// occurrence. First-seen order is kept for determinism.
fn last_per_id(messages: Vec<MeshSilence>) -> Vec<MeshSilence> {
    let mut position: HashMap<String, usize> = HashMap::with_capacity(messages.len());
    let mut out: Vec<MeshSilence> = Vec::with_capacity(messages.len());
    for mesh in messages {
        match position.get(mesh_id(&mesh)) {
            Some(&index) => out[index] = mesh,
            None => {
                position.insert(mesh_id(&mesh).to_owned(), out.len());
                out.push(mesh);
            }
        }
    }
    out
}
