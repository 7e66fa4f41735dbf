//! Silences as Alertmanager 0.25 keeps them: the domain type, its protobuf form, the state
//! machine behind `POST`/`DELETE /api/v2/silence(s)`, the query the API lists, the muting check
//! the pipeline asks, garbage collection, snapshots and the gossip merge.
//!
//! Layout:
//! - [`silencepb`]: wire messages and the length-delimited stream (snapshot, gossip, full state).
//! - `validate`: 0.25's validation rules and error texts, plus the API's own pre-checks.
//! - `query`: the `GET /api/v2/silences` filter and order.
//! - `index`: which silences could mute a label set, so muting checks stay cheap.
//! - `state`: [`Silences`], the store itself.
//!
//! The stored form of every silence is its [`silencepb::MeshSilence`]: it is what is gossiped
//! and snapshotted, and it keeps whatever a peer sent even when Klaxon cannot interpret it.
//! Next to it sits a [`Silence`] with compiled matchers, used for listing and muting.

pub mod silencepb;

mod index;
mod query;
mod state;
mod validate;

#[cfg(test)]
mod differential;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use model::{MatchType, Matcher};

pub use state::Silences;
pub use validate::{build_matcher, check_postable};

/// A silence with compiled matchers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Silence {
    /// The UUIDv4 id; empty when asking [`Silences::set`] to create a new silence.
    pub id: String,
    /// Matchers that must all match an alert's labels.
    pub matchers: Vec<Matcher>,
    /// Start of the silence.
    pub starts_at: DateTime<Utc>,
    /// End of the silence.
    pub ends_at: DateTime<Utc>,
    /// Last modification; [`Silences::set`] overwrites it.
    pub updated_at: DateTime<Utc>,
    /// Author.
    pub created_by: String,
    /// Free-text comment.
    pub comment: String,
}

/// A silence's status as the API reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SilenceState {
    /// Starts in the future.
    Pending,
    /// In effect.
    Active,
    /// Over.
    Expired,
}

impl SilenceState {
    /// The API's spelling: `pending`, `active` or `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Pending => "pending",
            SilenceState::Active => "active",
            SilenceState::Expired => "expired",
        }
    }
}

/// Settings of a [`Silences`] store.
#[derive(Clone, Copy, Debug)]
pub struct SilencesOptions {
    /// How long a silence is kept after it ends (`--data.retention`): `expires_at = ends_at +
    /// retention`.
    pub retention: chrono::Duration,
    /// `--silences.max-silences`: how many silences, expired ones included, the store accepts
    /// from local writes; 0 means unlimited.
    pub max_silences: usize,
    /// `--silences.max-silence-size-bytes`: largest encoded `MeshSilence` a local write may
    /// produce; 0 means unlimited.
    pub max_silence_size_bytes: usize,
}

/// Why a write was refused. `Display` gives the text 0.25 puts in the HTTP body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    /// The id is unknown. `POST` answers 404; 0.25's `DELETE` answers **500** with this text.
    #[error("silence not found")]
    NotFound,
    /// `validateSilence` failed (HTTP 400); the payload is the reason without the prefix.
    #[error("silence invalid: {0}")]
    Invalid(String),
    /// The API handler's own check on the posted times failed (HTTP 400); shown verbatim.
    #[error("{0}")]
    Rejected(String),
    /// `--silences.max-silences` or `--silences.max-silence-size-bytes` (HTTP 400).
    #[error("{0}")]
    LimitExceeded(String),
}

/// What a [`Silences::merge`] changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MergeOutcome {
    /// Ids whose stored silence was added or replaced, in the order they were merged.
    pub changed: Vec<String>,
    /// True when the received buffer must be broadcast again unchanged: something changed and
    /// the buffer is not oversized (at most 700 bytes). 0.25 queues it once per changed id.
    pub regossip: bool,
}

impl Silence {
    /// The state the API reports at `now`: pending before `starts_at`, expired from `ends_at`
    /// on, active in between.
    pub fn state(&self, now: DateTime<Utc>) -> SilenceState {
        api_state(self.starts_at, self.ends_at, now)
    }

    /// The protobuf form (no unknown fields, no deprecated comments).
    pub fn to_proto(&self) -> silencepb::Silence {
        silencepb::Silence {
            id: self.id.clone(),
            matchers: self.matchers.iter().map(matcher_to_proto).collect(),
            starts_at: silencepb::timestamp_field(self.starts_at),
            ends_at: silencepb::timestamp_field(self.ends_at),
            updated_at: silencepb::timestamp_field(self.updated_at),
            comments: Vec::new(),
            created_by: self.created_by.clone(),
            comment: self.comment.clone(),
            unknown_fields: Vec::new(),
        }
    }

    /// Interprets a protobuf silence. Fails on an unknown matcher type or a pattern that does
    /// not compile; the deprecated comment list is read as 0.25 upgrades it.
    pub fn from_proto(pb: &silencepb::Silence) -> Result<Silence, String> {
        let matchers = pb.matchers.iter().map(matcher_from_proto).collect::<Result<Vec<_>, _>>()?;
        let (created_by, comment) = match pb.comments.first() {
            Some(first) => (first.author.clone(), first.comment.clone()),
            None => (pb.created_by.clone(), pb.comment.clone()),
        };
        Ok(Silence {
            id: pb.id.clone(),
            matchers,
            starts_at: silencepb::time_of(pb.starts_at),
            ends_at: silencepb::time_of(pb.ends_at),
            updated_at: silencepb::time_of(pb.updated_at),
            created_by,
            comment,
        })
    }
}

/// The API's state rule (`types.CalcSilenceState`): `ends_at` itself already counts as expired.
pub(crate) fn api_state(
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> SilenceState {
    if now < starts_at {
        SilenceState::Pending
    } else if now < ends_at {
        SilenceState::Active
    } else {
        SilenceState::Expired
    }
}

/// The store's own rule (`getState`): both ends inclusive. It decides muting, `canUpdate` and
/// what expiring does, so a silence mutes at the very instant of its `ends_at`.
pub(crate) fn internal_state(
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> SilenceState {
    if now < starts_at {
        SilenceState::Pending
    } else if now > ends_at {
        SilenceState::Expired
    } else {
        SilenceState::Active
    }
}

/// The silencepb type number of a matcher operator.
pub fn proto_match_type(match_type: MatchType) -> silencepb::MatcherType {
    match match_type {
        MatchType::Equal => silencepb::MatcherType::Equal,
        MatchType::NotEqual => silencepb::MatcherType::NotEqual,
        MatchType::Regexp => silencepb::MatcherType::Regexp,
        MatchType::NotRegexp => silencepb::MatcherType::NotRegexp,
    }
}

fn matcher_to_proto(matcher: &Matcher) -> silencepb::Matcher {
    silencepb::Matcher {
        r#type: proto_match_type(matcher.match_type) as i32,
        name: matcher.name.clone(),
        pattern: matcher.value.clone(),
    }
}

fn matcher_from_proto(pb: &silencepb::Matcher) -> Result<Matcher, String> {
    let match_type = match silencepb::MatcherType::try_from(pb.r#type) {
        Ok(silencepb::MatcherType::Equal) => MatchType::Equal,
        Ok(silencepb::MatcherType::NotEqual) => MatchType::NotEqual,
        Ok(silencepb::MatcherType::Regexp) => MatchType::Regexp,
        Ok(silencepb::MatcherType::NotRegexp) => MatchType::NotRegexp,
        Err(_) => return Err(format!("unknown matcher type \"{}\"", pb.r#type)),
    };
    Matcher::new(match_type, pb.name.clone(), pb.pattern.clone()).map_err(|error| error.to_string())
}
