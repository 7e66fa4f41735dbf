//! Silences: a stand-in with the API the server uses. The full implementation replaces it.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use model::{LabelSet, Matcher};

/// Limits and retention.
#[derive(Debug, Clone, Default)]
pub struct SilencesOptions {
    /// How long expired silences are kept.
    pub retention: Duration,
    /// Maximum number of silences (0 = unlimited).
    pub max_silences: usize,
    /// Maximum encoded size of one silence (0 = unlimited).
    pub max_silence_size_bytes: usize,
}

/// A silence.
#[derive(Debug, Clone)]
pub struct Silence {
    /// UUIDv4, empty for a new silence.
    pub id: String,
    /// What it silences.
    pub matchers: Vec<Matcher>,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Author.
    pub created_by: String,
    /// Comment.
    pub comment: String,
}

/// A silence's state at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SilenceState {
    /// Not started yet.
    Pending,
    /// In effect.
    Active,
    /// Over.
    Expired,
}

impl SilenceState {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Pending => "pending",
            SilenceState::Active => "active",
            SilenceState::Expired => "expired",
        }
    }
}

/// Why a silence operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SilenceError {
    /// No silence with that id.
    #[error("silence not found")]
    NotFound,
    /// The silence is invalid.
    #[error("{0}")]
    Invalid(String),
    /// A limit was hit.
    #[error("{0}")]
    LimitExceeded(String),
}

/// The set of silences.
#[derive(Default)]
pub struct Silences {
    silences: HashMap<String, Silence>,
}

/// The API's state rule.
pub fn state(silence: &Silence, now: DateTime<Utc>) -> SilenceState {
    if now < silence.starts_at {
        SilenceState::Pending
    } else if now >= silence.ends_at {
        SilenceState::Expired
    } else {
        SilenceState::Active
    }
}

impl Silences {
    /// Empty.
    pub fn new(_options: SilencesOptions) -> Self {
        Self::default()
    }

    /// Creates or updates.
    pub fn set(
        &mut self,
        mut silence: Silence,
        now: DateTime<Utc>,
    ) -> Result<String, SilenceError> {
        if !silence.id.is_empty() && !self.silences.contains_key(&silence.id) {
            return Err(SilenceError::NotFound);
        }
        if silence.id.is_empty() {
            silence.id = uuid::Uuid::new_v4().to_string();
        }
        silence.updated_at = now;
        let id = silence.id.clone();
        self.silences.insert(id.clone(), silence);
        Ok(id)
    }

    /// Expires.
    pub fn expire(&mut self, id: &str, now: DateTime<Utc>) -> Result<(), SilenceError> {
        let silence = self.silences.get_mut(id).ok_or(SilenceError::NotFound)?;
        silence.ends_at = now;
        silence.updated_at = now;
        Ok(())
    }

    /// One silence.
    pub fn get(&self, id: &str) -> Option<&Silence> {
        self.silences.get(id)
    }

    /// All silences.
    pub fn query(&self, _filter: &[Matcher], _now: DateTime<Utc>) -> Vec<Silence> {
        self.silences.values().cloned().collect()
    }

    /// Ids of active silences matching `labels`.
    pub fn mutes(&self, labels: &LabelSet, now: DateTime<Utc>) -> Vec<String> {
        let mut ids: Vec<String> = self
            .silences
            .values()
            .filter(|s| state(s, now) == SilenceState::Active)
            .filter(|s| s.matchers.iter().all(|m| m.matches_labels(labels)))
            .map(|s| s.id.clone())
            .collect();
        ids.sort();
        ids
    }
}
