//! The index behind [`Silences::mutes`](super::Silences::mutes), which the server runs for every
//! alert it lists: scanning every silence per alert costs tens of microseconds with a few
//! hundred silences, so each silence is filed under one of its `name="value"` matchers and
//! only the silences filed under one of the alert's own labels are checked.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use model::{LabelSet, MatchType, Matcher};

use super::Silence;

/// Candidate silences per label: a silence is filed under its first `=` matcher with a
/// non-empty value, because only alerts carrying exactly that label can match it. Silences
/// without such a matcher are always candidates.
#[derive(Debug, Default)]
pub(crate) struct MuteIndex {
    /// label name -> label value -> silences.
    anchored: HashMap<String, HashMap<String, Vec<Candidate>>>,
    unanchored: Vec<Candidate>,
}

/// What muting needs of a silence, copied here so a check needs no lookup in the store.
/// Cloning compiled matchers is cheap: the regex program is shared.
#[derive(Debug)]
struct Candidate {
    id: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    matchers: Vec<Matcher>,
}

impl Candidate {
    fn mutes(&self, labels: &LabelSet, now: DateTime<Utc>) -> bool {
        // Both ends inclusive, as 0.25's silencer decides "active".
        self.starts_at <= now
            && now <= self.ends_at
            && self.matchers.iter().all(|matcher| matcher.matches_labels(labels))
    }
}

impl MuteIndex {
    pub(crate) fn insert(&mut self, id: &str, silence: &Silence) {
        let candidate = Candidate {
            id: id.to_owned(),
            starts_at: silence.starts_at,
            ends_at: silence.ends_at,
            matchers: silence.matchers.clone(),
        };
        match anchor(silence) {
            Some((name, value)) => self
                .anchored
                .entry(name.to_owned())
                .or_default()
                .entry(value.to_owned())
                .or_default()
                .push(candidate),
            None => self.unanchored.push(candidate),
        }
    }

    pub(crate) fn remove(&mut self, id: &str, silence: &Silence) {
        let Some((name, value)) = anchor(silence) else {
            self.unanchored.retain(|other| other.id != id);
            return;
        };
        let Some(values) = self.anchored.get_mut(name) else { return };
        if let Some(ids) = values.get_mut(value) {
            ids.retain(|other| other.id != id);
            if ids.is_empty() {
                values.remove(value);
            }
        }
        if values.is_empty() {
            self.anchored.remove(name);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.anchored.clear();
        self.unanchored.clear();
    }

    /// Ids of the silences that mute `labels` at `now`, sorted.
    pub(crate) fn mutes(&self, labels: &LabelSet, now: DateTime<Utc>) -> Vec<String> {
        let mut found = Vec::new();
        let mut visit = |candidates: &[Candidate]| {
            for candidate in candidates {
                if candidate.mutes(labels, now) {
                    found.push(candidate.id.clone());
                }
            }
        };
        visit(&self.unanchored);
        if !self.anchored.is_empty() {
            for (name, value) in labels.iter() {
                if let Some(filed) = self.anchored.get(name).and_then(|values| values.get(value)) {
                    visit(filed);
                }
            }
        }
        found.sort_unstable();
        found
    }
}

fn anchor(silence: &Silence) -> Option<(&str, &str)> {
    silence
        .matchers
        .iter()
        .find(|m| m.match_type == MatchType::Equal && !m.value.is_empty())
        .map(|m| (m.name.as_str(), m.value.as_str()))
}
