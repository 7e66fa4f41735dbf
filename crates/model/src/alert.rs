//! Alerts as the receiver stores them, and Alertmanager's rule for merging two copies of the
//! same alert.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};

use crate::labels::{Fingerprint, LabelSet};

/// One alert: its identity (labels), its description and its time range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// The identity of the alert.
    pub labels: LabelSet,
    /// Descriptive, non-identifying data.
    pub annotations: LabelSet,
    /// When the alert started firing, in the offset the sender used (the API echoes it).
    pub starts_at: DateTime<FixedOffset>,
    /// When the alert resolves (or resolved), in the sender's offset. Never unset once stored.
    pub ends_at: DateTime<FixedOffset>,
    /// Link back to the source of the alert (shared: most alerts of a source carry the same).
    /// An `Arc<String>` rather than an `Arc<str>`: a thin pointer keeps `Alert` (kept in an
    /// `Arc` per alert) in a smaller allocation, and the string itself is shared anyway.
    pub generator_url: Arc<String>,
    /// When the receiver last accepted this alert.
    pub updated_at: DateTime<Utc>,
    /// True when `ends_at` was not given and was derived from `resolve_timeout`.
    pub timeout: bool,
}

impl Alert {
    /// The alert's fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        self.labels.fingerprint()
    }

    /// True when the alert has resolved at `now` (`ends_at` is not after `now`).
    pub fn resolved_at(&self, now: DateTime<Utc>) -> bool {
        self.ends_at <= now
    }

    /// Merges a newer copy of the same alert into this one, as Alertmanager's `Alert.Merge`
    /// does: the later update wins the body, the earliest start is kept, and the end is the
    /// latest explicit one. `now` decides which copies count as resolved.
    pub fn merge(&self, other: &Alert, now: DateTime<Utc>) -> Alert {
        // Let `other` always be the more recently updated copy.
        if other.updated_at < self.updated_at {
            return other.merge(self, now);
        }
        let mut merged = other.clone();
        if self.starts_at < other.starts_at {
            merged.starts_at = self.starts_at;
        }
        if other.resolved_at(now) {
            // A resolved alert keeps the later of the two explicit resolution times.
            if self.resolved_at(now) && self.ends_at > other.ends_at {
                merged.ends_at = self.ends_at;
            }
        } else if self.ends_at > other.ends_at && !self.timeout {
            // A firing alert is kept alive by the later explicit end time.
            merged.ends_at = self.ends_at;
        }
        merged
    }
}
