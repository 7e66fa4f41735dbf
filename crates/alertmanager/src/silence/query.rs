//! What `GET /api/v2/silences` lists: 0.25's `CheckSilenceMatchesFilterLabels` filter and
//! `SortSilences` order.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use model::Matcher;

use super::{Silence, SilenceState};

/// 0.25's filter is structural, not a label match: every filter matcher needs a silence matcher
/// with the same name, operator and value text. `alertname=~"Foo.*"` therefore finds only
/// silences that contain exactly that matcher.
pub(crate) fn matches_filter(silence: &Silence, filter: &[Matcher]) -> bool {
    filter.iter().all(|wanted| silence.matchers.iter().any(|have| have == wanted))
}

/// Sorts for listing: active first (soonest end first), then pending (soonest start first),
/// then expired (most recently ended first). 0.25 leaves ties in Go map order, which is random;
/// ties here go by id so the listing is stable.
pub(crate) fn sort_for_listing(silences: &mut [Silence], now: DateTime<Utc>) {
    silences.sort_by_cached_key(|silence| {
        let state = silence.state(now);
        let (rank, key) = match state {
            SilenceState::Active => (0, SortTime::Ascending(silence.ends_at)),
            SilenceState::Pending => (1, SortTime::Ascending(silence.starts_at)),
            SilenceState::Expired => (2, SortTime::Descending(silence.ends_at)),
        };
        (rank, key, silence.id.clone())
    });
}

/// A time compared in either direction, so one sort key serves all three states.
#[derive(PartialEq, Eq)]
enum SortTime {
    Ascending(DateTime<Utc>),
    Descending(DateTime<Utc>),
}

impl Ord for SortTime {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (SortTime::Ascending(a), SortTime::Ascending(b)) => a.cmp(b),
            (SortTime::Descending(a), SortTime::Descending(b)) => b.cmp(a),
            // Keys of different kinds never meet: the rank before them differs.
            (SortTime::Ascending(_), SortTime::Descending(_)) => Ordering::Less,
            (SortTime::Descending(_), SortTime::Ascending(_)) => Ordering::Greater,
        }
    }
}

impl PartialOrd for SortTime {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
