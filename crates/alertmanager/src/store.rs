//! The alert store: every alert the receiver holds, keyed by fingerprint.
//!
//! It applies Alertmanager's rule for a re-sent alert (merge only when the time ranges overlap)
//! and drops resolved alerts on GC. Alerts are local to one instance and never gossiped. The
//! store keeps nothing but the alerts: silencing and inhibition status is computed by callers.

use std::borrow::Borrow;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use model::{Alert, Fingerprint, FingerprintHashing};

/// All alerts held by this instance.
#[derive(Default)]
pub struct AlertStore {
    /// Shared with the aggregation groups, which hold the same `Arc`s.
    alerts: RwLock<HashMap<Fingerprint, Arc<Alert>, FingerprintHashing>>,
    /// Generator URLs are mostly identical across alerts; one copy serves them all.
    generator_urls: Mutex<HashSet<SharedUrl>>,
}

/// A generator URL as the interner keeps it: found by its text, as [`Alert`] holds it.
#[derive(PartialEq, Eq, Hash)]
struct SharedUrl(Arc<String>);

impl Borrow<str> for SharedUrl {
    fn borrow(&self) -> &str {
        // `String` hashes and compares as its `str`, so lookups by text find it.
        &self.0
    }
}

impl AlertStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The shared copy of a generator URL. Callers building alerts use it so that alerts from
    /// one source share one string.
    pub fn intern_generator_url(&self, url: &str) -> Arc<String> {
        let mut urls = self.generator_urls.lock().expect("generator url lock poisoned");
        if let Some(shared) = urls.get(url) {
            return shared.0.clone();
        }
        let shared = Arc::new(url.to_owned());
        urls.insert(SharedUrl(shared.clone()));
        shared
    }

    /// Stores a batch of validated alerts, merging each with the stored alert of the same
    /// fingerprint when their time ranges overlap, as Alertmanager's memory provider does.
    /// Returns the stored copies, in input order: what the dispatcher must see.
    pub fn put(&self, alerts: Vec<Alert>, now: DateTime<Utc>) -> Vec<Arc<Alert>> {
        self.put_fingerprinted(alerts, now).0
    }

    /// [`AlertStore::put`], also returning each stored alert's fingerprint (same order), so
    /// that callers routing the alerts do not hash every label set again.
    pub fn put_fingerprinted(
        &self,
        alerts: Vec<Alert>,
        now: DateTime<Utc>,
    ) -> (Vec<Arc<Alert>>, Vec<Fingerprint>) {
        // Hashed before the lock is taken: hashing every label byte is most of the work, and
        // the other API worker may be waiting for the lock with its own batch.
        let fingerprints: Vec<Fingerprint> = alerts.iter().map(Alert::fingerprint).collect();
        let mut result = Vec::with_capacity(alerts.len());
        let mut stored = self.alerts.write().expect("alert store lock poisoned");
        stored.reserve(alerts.len());
        for (alert, &fingerprint) in alerts.into_iter().zip(&fingerprints) {
            match stored.entry(fingerprint) {
                Entry::Occupied(mut entry) => {
                    let replacement = if overlaps(entry.get(), &alert) {
                        Arc::new(entry.get().merge(&alert, now))
                    } else {
                        Arc::new(alert)
                    };
                    result.push(Arc::clone(&replacement));
                    entry.insert(replacement);
                }
                Entry::Vacant(entry) => {
                    let alert = Arc::new(alert);
                    result.push(Arc::clone(&alert));
                    entry.insert(alert);
                }
            }
        }
        (result, fingerprints)
    }

    /// The alert with this fingerprint, if stored.
    pub fn get(&self, fingerprint: Fingerprint) -> Option<Alert> {
        self.alerts
            .read()
            .expect("alert store lock poisoned")
            .get(&fingerprint)
            .map(|a| (**a).clone())
    }

    /// Calls `visit` for every stored alert while holding a read lock; `visit` must not call
    /// back into the store.
    pub fn for_each(&self, mut visit: impl FnMut(&Alert)) {
        for alert in self.alerts.read().expect("alert store lock poisoned").values() {
            visit(alert);
        }
    }

    /// Every stored alert, shared (for rebuilding the dispatcher on reload).
    pub fn shared(&self) -> Vec<Arc<Alert>> {
        self.alerts.read().expect("alert store lock poisoned").values().cloned().collect()
    }

    /// Number of stored alerts (resolved ones included until GC).
    pub fn len(&self) -> usize {
        self.alerts.read().expect("alert store lock poisoned").len()
    }

    /// True when no alert is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes alerts resolved at `now` and returns them.
    pub fn gc(&self, now: DateTime<Utc>) -> Vec<Alert> {
        let mut removed = Vec::new();
        self.alerts.write().expect("alert store lock poisoned").retain(|_, alert| {
            if alert.resolved_at(now) {
                removed.push((**alert).clone());
                false
            } else {
                true
            }
        });
        let mut urls = self.generator_urls.lock().expect("generator url lock poisoned");
        let still_used: HashSet<SharedUrl> = {
            let alerts = self.alerts.read().expect("alert store lock poisoned");
            alerts.values().map(|a| SharedUrl(a.generator_url.clone())).collect()
        };
        urls.retain(|url| still_used.contains(url));
        removed
    }
}

/// Alertmanager merges a re-sent alert into the stored one only when the new alert's end or
/// start falls strictly inside the stored alert's range; otherwise the new alert replaces it.
fn overlaps(old: &Alert, new: &Alert) -> bool {
    (new.ends_at > old.starts_at && new.ends_at < old.ends_at)
        || (new.starts_at > old.starts_at && new.starts_at < old.ends_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use model::LabelSet;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + seconds, 0).unwrap()
    }

    fn alert(starts: i64, ends: i64, updated: i64, summary: &str) -> Alert {
        Alert {
            labels: LabelSet::from_pairs([("alertname", "A")]),
            annotations: LabelSet::from_pairs([("summary", summary)]),
            starts_at: at(starts).fixed_offset(),
            ends_at: at(ends).fixed_offset(),
            generator_url: Arc::new("http://gen".to_owned()),
            updated_at: at(updated),
            timeout: false,
        }
    }

    #[test]
    fn overlapping_alert_merges_keeping_earliest_start() {
        let store = AlertStore::new();
        store.put(vec![alert(0, 100, 0, "first")], at(0));
        store.put(vec![alert(10, 200, 10, "second")], at(10));
        let merged = store.get(alert(0, 0, 0, "").fingerprint()).unwrap();
        assert_eq!(merged.starts_at, at(0).fixed_offset());
        assert_eq!(merged.ends_at, at(200).fixed_offset());
        assert_eq!(merged.annotations.get("summary"), Some("second"));
    }

    #[test]
    fn disjoint_alert_replaces() {
        let store = AlertStore::new();
        store.put(vec![alert(0, 100, 0, "first")], at(0));
        store.put(vec![alert(150, 200, 150, "later")], at(150));
        let stored = store.get(alert(0, 0, 0, "").fingerprint()).unwrap();
        assert_eq!(stored.starts_at, at(150).fixed_offset());
    }

    #[test]
    fn gc_removes_only_resolved_alerts_and_unused_urls() {
        let store = AlertStore::new();
        let mut firing = alert(0, 1000, 0, "x");
        firing.labels = LabelSet::from_pairs([("alertname", "B")]);
        firing.generator_url = store.intern_generator_url("http://other");
        let mut resolving = alert(0, 100, 0, "x");
        resolving.generator_url = store.intern_generator_url("http://gen");
        store.put(vec![resolving, firing], at(0));
        let removed = store.gc(at(100));
        assert_eq!(removed.len(), 1);
        assert_eq!(store.len(), 1);
        assert_eq!(store.generator_urls.lock().unwrap().len(), 1);
    }

    #[test]
    fn urls_are_shared() {
        let store = AlertStore::new();
        let first = store.intern_generator_url("http://gen");
        let second = store.intern_generator_url("http://gen");
        assert!(Arc::ptr_eq(&first, &second));
    }
}
