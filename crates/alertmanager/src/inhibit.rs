//! Inhibition: a firing alert matching a rule's source side mutes alerts matching its target
//! side when the labels named by `equal` have the same values (a missing label counts as
//! the empty value).
//!
//! As in 0.25, each rule caches every accepted alert that matches its source side; a cached
//! alert inhibits only while it has not resolved, and an alert matching both sides cannot be
//! inhibited by another alert that also matches both (so two such alerts do not mute each
//! other). The first rule that mutes wins.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use model::{Alert, Fingerprint, LabelSet, Matchers};

use crate::config::InhibitRule;

struct Rule {
    source: Matchers,
    target: Matchers,
    equal: Vec<String>,
    /// Source-side alerts by fingerprint; ordered so the reported inhibitor is stable.
    sources: BTreeMap<Fingerprint, Alert>,
}

/// The inhibition rules of one configuration with their source caches.
pub struct Inhibitor {
    rules: Vec<Rule>,
}

impl Inhibitor {
    /// The inhibitor for `rules`, with empty caches.
    pub fn new(rules: &[InhibitRule]) -> Inhibitor {
        let rules = rules
            .iter()
            .map(|rule| Rule {
                source: Matchers(rule.source_matchers.clone()),
                target: Matchers(rule.target_matchers.clone()),
                equal: rule.equal.clone(),
                sources: BTreeMap::new(),
            })
            .collect();
        Inhibitor { rules }
    }

    /// Takes note of an accepted alert (the store's current copy).
    pub fn observe(&mut self, alert: &Alert) {
        for rule in &mut self.rules {
            if rule.source.matches(&alert.labels) {
                rule.sources.insert(alert.fingerprint(), alert.clone());
            }
        }
    }

    /// The fingerprint of an alert inhibiting `labels` at `now`, if any.
    pub fn inhibited_by(&self, labels: &LabelSet, now: DateTime<Utc>) -> Option<Fingerprint> {
        self.rules.iter().filter(|rule| rule.target.matches(labels)).find_map(|rule| {
            let both_sides = rule.source.matches(labels);
            rule.sources
                .values()
                .find(|source| {
                    !source.resolved_at(now)
                        && rule.equal.iter().all(|name| {
                            source.labels.value_or_empty(name) == labels.value_or_empty(name)
                        })
                        && !(both_sides && rule.target.matches(&source.labels))
                })
                .map(Alert::fingerprint)
        })
    }

    /// Forgets cached alerts resolved at `now`.
    pub fn gc(&mut self, now: DateTime<Utc>) {
        for rule in &mut self.rules {
            rule.sources.retain(|_, alert| !alert.resolved_at(now));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;

    use super::*;
    use crate::config::Config;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + seconds, 0).unwrap()
    }

    fn alert(pairs: &[(&str, &str)], ends: i64) -> Alert {
        Alert {
            labels: LabelSet::from_pairs(pairs.iter().copied()),
            annotations: LabelSet::new(),
            starts_at: at(0).fixed_offset(),
            ends_at: at(ends).fixed_offset(),
            generator_url: Arc::default(),
            updated_at: at(0),
            timeout: false,
        }
    }

    #[test]
    fn inhibit_source_mutes_target_with_equal_labels() {
        let yaml = r#"
route: {receiver: r}
receivers: [{name: r}]
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity=~"warning|critical"']
    equal: [cluster, zone]
"#;
        let config = Config::from_yaml(yaml, std::path::Path::new("t.yml")).unwrap();
        let mut inhibitor = Inhibitor::new(&config.inhibit_rules);
        let source = alert(&[("severity", "critical"), ("cluster", "a")], 100);
        inhibitor.observe(&source);
        let warning_a = LabelSet::from_pairs([("severity", "warning"), ("cluster", "a")]);
        let warning_b = LabelSet::from_pairs([("severity", "warning"), ("cluster", "b")]);
        assert_eq!(inhibitor.inhibited_by(&warning_a, at(10)), Some(source.fingerprint()));
        assert_eq!(inhibitor.inhibited_by(&warning_b, at(10)), None);
        // An alert matching both sides is not muted by another such alert.
        let critical_a = LabelSet::from_pairs([("severity", "critical"), ("cluster", "a")]);
        assert_eq!(inhibitor.inhibited_by(&critical_a, at(10)), None);
        // A resolved source no longer inhibits.
        assert_eq!(inhibitor.inhibited_by(&warning_a, at(100)), None);
        inhibitor.gc(at(100));
        assert!(inhibitor.rules[0].sources.is_empty());
    }
}
