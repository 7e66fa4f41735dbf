//! The state machine of one alerting rule, sans-IO and with Prometheus' semantics: each
//! series of the query result is an alert identified by its labels (series labels without
//! `__name__`, plus the templated rule labels, plus `alertname`); a new alert is pending
//! and fires once it has been active for `for`; an alert missing from a result resolves,
//! unless it is firing and `keep_firing_for` has not elapsed since it first went missing; a
//! missing pending alert is forgotten. Resolved alerts are kept (and re-sent) for 15 minutes.
//!
//! Sending follows Prometheus' notifier: pending alerts are never sent; a firing alert is
//! sent when it was last sent more than the resend delay ago, with
//! `endsAt = eval + 4 × max(resend delay, interval)`; a resolved alert is sent once right
//! after resolving and then again every resend delay while retained.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use model::{Fingerprint, LabelSet};

use crate::datasource::QueryOutput;
use crate::rulefile::AlertingRuleSpec;
use crate::template;

/// How long a resolved alert is kept and re-sent.
pub const RESOLVED_RETENTION: Duration = Duration::from_secs(15 * 60);

/// The state of one alert (and, as the most severe of its alerts, of a rule).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Not active (resolved, or a rule with no alerts).
    Inactive,
    /// Active, waiting for `for` to pass.
    Pending,
    /// Firing.
    Firing,
}

impl AlertState {
    /// The name Prometheus' API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One alert of a rule (also the persisted form of rule state).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Alert {
    /// Identity.
    pub labels: LabelSet,
    /// Expanded annotations.
    pub annotations: LabelSet,
    /// State.
    pub state: AlertState,
    /// The value of the series at the last evaluation that saw it.
    pub value: f64,
    /// When the condition was first seen true (this episode).
    pub active_at: DateTime<Utc>,
    /// When it started firing.
    pub fired_at: Option<DateTime<Utc>>,
    /// When it resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// When it was last handed to the senders.
    pub last_sent_at: Option<DateTime<Utc>>,
    /// When the condition went missing while `keep_firing_for` holds it firing.
    pub keep_firing_since: Option<DateTime<Utc>>,
}

/// The rule's health after its last evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Not evaluated yet.
    Unknown,
    /// The last evaluation succeeded.
    Ok,
    /// The last evaluation failed.
    Err,
}

impl Health {
    /// The name Prometheus' API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Ok => "ok",
            Health::Err => "err",
        }
    }
}

/// A change of one alert's state at an evaluation (for the state history).
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    /// The alert.
    pub labels: LabelSet,
    /// Its state before the evaluation.
    pub previous: AlertState,
    /// Its state after.
    pub current: AlertState,
    /// The value seen (the last one known when the alert went away).
    pub value: f64,
}

/// An alert as it is sent to Alertmanagers.
#[derive(Clone, Debug, PartialEq)]
pub struct OutgoingAlert {
    /// Labels.
    pub labels: LabelSet,
    /// Annotations.
    pub annotations: LabelSet,
    /// When it started firing.
    pub starts_at: DateTime<Utc>,
    /// When it resolved, or until when it is valid.
    pub ends_at: DateTime<Utc>,
    /// A link to the expression.
    pub generator_url: String,
}

/// Server-wide values the templates see.
#[derive(Clone, Debug, Default)]
pub struct TemplateEnv {
    /// `$externalLabels`.
    pub external_labels: LabelSet,
    /// `$externalURL`.
    pub external_url: String,
}

/// One alerting rule and its alerts.
#[derive(Debug)]
pub struct AlertingRule {
    /// The rule as written (group labels merged in).
    pub spec: AlertingRuleSpec,
    /// The group's limit (0: none).
    pub limit: u64,
    active: HashMap<Fingerprint, Alert>,
    /// Health of the last evaluation.
    pub health: Health,
    /// The last evaluation's error.
    pub last_error: Option<String>,
    /// Warnings the datasource returned at the last evaluation.
    pub last_warnings: Vec<String>,
    /// When it was last evaluated.
    pub last_evaluation: Option<DateTime<Utc>>,
    /// How long that took.
    pub evaluation_duration: Duration,
    /// The transitions of the last evaluation.
    pub last_transitions: Vec<Transition>,
}

impl AlertingRule {
    /// A rule with no alerts.
    pub fn new(spec: AlertingRuleSpec, limit: u64) -> AlertingRule {
        AlertingRule {
            spec,
            limit,
            active: HashMap::new(),
            health: Health::Unknown,
            last_error: None,
            last_warnings: Vec::new(),
            last_evaluation: None,
            evaluation_duration: Duration::ZERO,
            last_transitions: Vec::new(),
        }
    }

    /// Every alert, resolved ones included: what is persisted.
    pub fn snapshot(&self) -> Vec<Alert> {
        let mut alerts: Vec<Alert> = self.active.values().cloned().collect();
        alerts.sort_by(|a, b| a.labels.cmp(&b.labels));
        alerts
    }

    /// Takes over persisted alerts (at start-up, before the first evaluation), so a restart
    /// keeps `activeAt`, firing state and the last send time.
    pub fn restore(&mut self, alerts: Vec<Alert>) {
        self.active = alerts.into_iter().map(|a| (a.labels.fingerprint(), a)).collect();
    }

    /// Applies the result of the evaluation at `at`. A failed query changes no alert.
    pub fn evaluate(
        &mut self,
        at: DateTime<Utc>,
        result: Result<QueryOutput, String>,
        env: &TemplateEnv,
    ) {
        self.last_evaluation = Some(at);
        let before: HashMap<Fingerprint, (AlertState, LabelSet, f64)> =
            self.active.iter().map(|(f, a)| (*f, (a.state, a.labels.clone(), a.value))).collect();
        let outcome = result.and_then(|output| self.apply(at, output, env));
        self.last_transitions = self.transitions_since(&before);
        match outcome {
            Ok(()) => {
                self.health = Health::Ok;
                self.last_error = None;
            }
            Err(error) => {
                self.health = Health::Err;
                self.last_error = Some(error);
            }
        }
    }

    fn apply(
        &mut self,
        at: DateTime<Utc>,
        output: QueryOutput,
        env: &TemplateEnv,
    ) -> Result<(), String> {
        self.last_warnings = output.warnings;
        let template_name = format!("__alert_{}", self.spec.name);
        let mut seen: HashMap<Fingerprint, Alert> = HashMap::with_capacity(output.samples.len());
        for sample in output.samples {
            let context = template::Context {
                labels: &sample.labels,
                value: sample.value,
                external_labels: &env.external_labels,
                external_url: &env.external_url,
            };
            let mut pairs: Vec<(String, String)> = sample
                .labels
                .iter()
                .filter(|(name, _)| *name != "__name__")
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            for (name, text) in &self.spec.labels {
                let value = template::expand(&template_name, text, &context);
                pairs.retain(|(k, _)| k != name);
                // An empty value removes the label, as Prometheus' label builder does.
                if !value.is_empty() {
                    pairs.push((name.clone(), value));
                }
            }
            pairs.retain(|(k, _)| k != "alertname");
            pairs.push(("alertname".to_owned(), self.spec.name.clone()));
            let labels = LabelSet::from_pairs(pairs);
            let annotations =
                LabelSet::from_pairs(self.spec.annotations.iter().map(|(name, text)| {
                    (name.clone(), template::expand(&template_name, text, &context))
                }));
            let fingerprint = labels.fingerprint();
            if seen.contains_key(&fingerprint) {
                return Err(
                    "vector contains metrics with the same labelset after applying alert labels"
                        .to_owned(),
                );
            }
            seen.insert(
                fingerprint,
                Alert {
                    labels,
                    annotations,
                    state: AlertState::Pending,
                    value: sample.value,
                    active_at: at,
                    fired_at: None,
                    resolved_at: None,
                    last_sent_at: None,
                    keep_firing_since: None,
                },
            );
        }
        let present: std::collections::HashSet<Fingerprint> = seen.keys().copied().collect();
        for (fingerprint, new) in seen {
            match self.active.get_mut(&fingerprint) {
                Some(alert) if alert.state != AlertState::Inactive => {
                    alert.value = new.value;
                    alert.annotations = new.annotations;
                }
                _ => {
                    self.active.insert(fingerprint, new);
                }
            }
        }
        let for_ = chrono::Duration::from_std(self.spec.for_).unwrap_or(chrono::Duration::MAX);
        let keep_firing_for =
            chrono::Duration::from_std(self.spec.keep_firing_for).unwrap_or(chrono::Duration::MAX);
        let retention = chrono::Duration::from_std(RESOLVED_RETENTION).unwrap_or_default();
        let mut active_or_pending = 0_u64;
        self.active.retain(|fingerprint, alert| {
            if present.contains(fingerprint) {
                alert.keep_firing_since = None;
            } else {
                let mut keep_firing = false;
                if alert.state == AlertState::Firing && !keep_firing_for.is_zero() {
                    let since = *alert.keep_firing_since.get_or_insert(at);
                    keep_firing = at - since < keep_firing_for;
                }
                if alert.state == AlertState::Pending
                    || alert.resolved_at.is_some_and(|resolved| at - resolved > retention)
                {
                    return false;
                }
                if !keep_firing {
                    if alert.state != AlertState::Inactive {
                        alert.state = AlertState::Inactive;
                        alert.resolved_at = Some(at);
                    }
                    return true;
                }
            }
            active_or_pending += 1;
            if alert.state == AlertState::Pending && at - alert.active_at >= for_ {
                alert.state = AlertState::Firing;
                alert.fired_at = Some(at);
            }
            true
        });
        if self.limit > 0 && active_or_pending > self.limit {
            self.active.clear();
            return Err(format!(
                "exceeded limit of {} with {active_or_pending} alerts",
                self.limit
            ));
        }
        Ok(())
    }

    fn transitions_since(
        &self,
        before: &HashMap<Fingerprint, (AlertState, LabelSet, f64)>,
    ) -> Vec<Transition> {
        let mut transitions = Vec::new();
        for (fingerprint, alert) in &self.active {
            let previous = before.get(fingerprint).map_or(AlertState::Inactive, |b| b.0);
            if previous != alert.state {
                transitions.push(Transition {
                    labels: alert.labels.clone(),
                    previous,
                    current: alert.state,
                    value: alert.value,
                });
            }
        }
        for (fingerprint, (state, labels, value)) in before {
            if *state != AlertState::Inactive && !self.active.contains_key(fingerprint) {
                transitions.push(Transition {
                    labels: labels.clone(),
                    previous: *state,
                    current: AlertState::Inactive,
                    value: *value,
                });
            }
        }
        transitions.sort_by(|a, b| a.labels.cmp(&b.labels));
        transitions
    }

    /// The alerts due to be sent after the evaluation at `at`, marking them sent.
    pub fn alerts_to_send(
        &mut self,
        at: DateTime<Utc>,
        resend_delay: Duration,
        interval: Duration,
        generator_url: &str,
    ) -> Vec<OutgoingAlert> {
        let resend = chrono::Duration::from_std(resend_delay).unwrap_or_default();
        let valid_for =
            chrono::Duration::from_std(resend_delay.max(interval) * 4).unwrap_or_default();
        let mut out = Vec::new();
        for alert in self.active.values_mut() {
            let needs_sending = match alert.state {
                AlertState::Pending => false,
                _ if alert
                    .resolved_at
                    .is_some_and(|r| alert.last_sent_at.is_none_or(|s| r > s)) =>
                {
                    true
                }
                _ => alert.last_sent_at.is_none_or(|sent| sent + resend < at),
            };
            if !needs_sending {
                continue;
            }
            alert.last_sent_at = Some(at);
            out.push(OutgoingAlert {
                labels: alert.labels.clone(),
                annotations: alert.annotations.clone(),
                starts_at: alert.fired_at.unwrap_or(alert.active_at),
                ends_at: alert.resolved_at.unwrap_or(at + valid_for),
                generator_url: generator_url.to_owned(),
            });
        }
        out
    }

    /// The alerts as they were last sent (firing, or resolved and still retained), for a
    /// receiver that lost them, such as this process's own after a restart. Nothing is
    /// marked sent.
    pub fn alerts_last_sent(
        &self,
        resend_delay: Duration,
        interval: Duration,
        generator_url: &str,
    ) -> Vec<OutgoingAlert> {
        let valid_for =
            chrono::Duration::from_std(resend_delay.max(interval) * 4).unwrap_or_default();
        let mut alerts: Vec<OutgoingAlert> = self
            .active
            .values()
            .filter_map(|alert| {
                let sent = alert.last_sent_at?;
                Some(OutgoingAlert {
                    labels: alert.labels.clone(),
                    annotations: alert.annotations.clone(),
                    starts_at: alert.fired_at.unwrap_or(alert.active_at),
                    ends_at: alert.resolved_at.unwrap_or(sent + valid_for),
                    generator_url: generator_url.to_owned(),
                })
            })
            .collect();
        alerts.sort_by(|a, b| a.labels.cmp(&b.labels));
        alerts
    }

    /// The pending and firing alerts (resolved ones are not listed), sorted by labels.
    pub fn active_alerts(&self) -> Vec<&Alert> {
        let mut alerts: Vec<&Alert> =
            self.active.values().filter(|a| a.resolved_at.is_none()).collect();
        alerts.sort_by(|a, b| a.labels.cmp(&b.labels));
        alerts
    }

    /// The most severe state of the rule's alerts.
    pub fn state(&self) -> AlertState {
        self.active.values().map(|a| a.state).max().unwrap_or(AlertState::Inactive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasource::Sample;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    fn rule(for_: u64, keep_firing_for: u64) -> AlertingRule {
        AlertingRule::new(
            AlertingRuleSpec {
                name: "High".into(),
                expr: "x > 1".into(),
                for_: Duration::from_secs(for_),
                keep_firing_for: Duration::from_secs(keep_firing_for),
                labels: vec![(
                    "severity".into(),
                    "{{ if gt $value 5.0 }}page{{ else }}ticket{{ end }}".into(),
                )],
                annotations: vec![(
                    "summary".into(),
                    "{{ $labels.instance }} is {{ $value }}".into(),
                )],
            },
            0,
        )
    }

    fn result(series: &[(&str, f64)]) -> Result<QueryOutput, String> {
        Ok(QueryOutput {
            samples: series
                .iter()
                .map(|(instance, value)| Sample {
                    labels: LabelSet::from_pairs([("__name__", "x"), ("instance", *instance)]),
                    value: *value,
                })
                .collect(),
            warnings: Vec::new(),
        })
    }

    fn states(rule: &AlertingRule) -> Vec<(String, AlertState)> {
        rule.active_alerts()
            .iter()
            .map(|a| (a.labels.get("instance").unwrap().to_owned(), a.state))
            .collect()
    }

    #[test]
    fn pending_then_firing_after_for_with_templated_labels_and_annotations() {
        let env = TemplateEnv::default();
        let mut r = rule(30, 0);
        r.evaluate(at(0), result(&[("a", 2.0)]), &env);
        assert_eq!(states(&r), vec![("a".into(), AlertState::Pending)]);
        let alert = r.active_alerts()[0].clone();
        assert_eq!(
            alert.labels,
            LabelSet::from_pairs([
                ("alertname", "High"),
                ("instance", "a"),
                ("severity", "ticket")
            ])
        );
        assert_eq!(alert.annotations.get("summary"), Some("a is 2"));
        assert!(
            r.alerts_to_send(at(0), Duration::from_secs(30), Duration::from_secs(10), "")
                .is_empty()
        );
        r.evaluate(at(20), result(&[("a", 3.0)]), &env);
        assert_eq!(r.state(), AlertState::Pending);
        assert_eq!(r.active_alerts()[0].annotations.get("summary"), Some("a is 3"));
        r.evaluate(at(30), result(&[("a", 3.0)]), &env);
        assert_eq!(r.state(), AlertState::Firing);
        assert_eq!(r.active_alerts()[0].active_at, at(0));
        let sent = r.alerts_to_send(at(30), Duration::from_secs(30), Duration::from_secs(10), "u");
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].starts_at, at(30));
        assert_eq!(sent[0].ends_at, at(30 + 120), "4 × max(30 s, 10 s)");
    }

    #[test]
    fn a_pending_alert_that_goes_missing_is_forgotten_without_notification() {
        let env = TemplateEnv::default();
        let mut r = rule(30, 0);
        r.evaluate(at(0), result(&[("a", 2.0)]), &env);
        r.evaluate(at(10), result(&[]), &env);
        assert!(r.active_alerts().is_empty());
        assert!(
            r.alerts_to_send(at(10), Duration::from_secs(30), Duration::from_secs(10), "")
                .is_empty()
        );
        r.evaluate(at(20), result(&[("a", 2.0)]), &env);
        assert_eq!(r.active_alerts()[0].active_at, at(20), "a new episode");
    }

    #[test]
    fn firing_alerts_resend_every_delay_and_resolved_ones_for_fifteen_minutes() {
        let env = TemplateEnv::default();
        let mut r = rule(0, 0);
        let resend = Duration::from_secs(30);
        let interval = Duration::from_secs(10);
        let mut sent_at = Vec::new();
        for t in (0..=60).step_by(10) {
            r.evaluate(at(t), result(&[("a", 2.0)]), &env);
            if !r.alerts_to_send(at(t), resend, interval, "").is_empty() {
                sent_at.push(t);
            }
        }
        assert_eq!(sent_at, vec![0, 40], "sent when last sent more than 30 s ago");
        r.evaluate(at(70), result(&[]), &env);
        let resolved = r.alerts_to_send(at(70), resend, interval, "");
        assert_eq!(resolved[0].ends_at, at(70), "resolved at once");
        assert!(r.active_alerts().is_empty());
        let mut resent = 0;
        for t in (80..=70 + 15 * 60 + 20).step_by(10) {
            r.evaluate(at(t), result(&[]), &env);
            resent += r.alerts_to_send(at(t), resend, interval, "").len();
        }
        assert_eq!(resent, 22, "every 40 s (more than 30 s) for 15 minutes, then dropped");
        assert!(r.alerts_to_send(at(2000), resend, interval, "").is_empty());
    }

    #[test]
    fn keep_firing_for_holds_a_firing_alert_after_the_condition_clears() {
        let env = TemplateEnv::default();
        let mut r = rule(0, 30);
        r.evaluate(at(0), result(&[("a", 2.0)]), &env);
        assert_eq!(r.state(), AlertState::Firing);
        for t in [10, 20, 30] {
            r.evaluate(at(t), result(&[]), &env);
            assert_eq!(states(&r), vec![("a".into(), AlertState::Firing)], "at {t}");
        }
        r.evaluate(at(40), result(&[]), &env);
        assert!(r.active_alerts().is_empty(), "30 s after it first went missing at 10");
        let mut r = rule(0, 30);
        r.evaluate(at(0), result(&[("a", 2.0)]), &env);
        r.evaluate(at(10), result(&[]), &env);
        r.evaluate(at(20), result(&[("a", 2.0)]), &env);
        r.evaluate(at(30), result(&[]), &env);
        r.evaluate(at(50), result(&[]), &env);
        assert_eq!(r.state(), AlertState::Firing, "the clock restarted when it came back");
    }

    #[test]
    fn errors_keep_alerts_and_duplicate_label_sets_are_an_error() {
        let env = TemplateEnv::default();
        let mut r = rule(0, 0);
        r.evaluate(at(0), result(&[("a", 2.0)]), &env);
        r.evaluate(at(10), Err("down".into()), &env);
        assert_eq!((r.health, r.last_error.as_deref()), (Health::Err, Some("down")));
        assert_eq!(r.state(), AlertState::Firing);
        let duplicate = Ok(QueryOutput {
            samples: vec![
                Sample {
                    labels: LabelSet::from_pairs([("__name__", "x"), ("instance", "a")]),
                    value: 2.0,
                },
                Sample {
                    labels: LabelSet::from_pairs([("__name__", "y"), ("instance", "a")]),
                    value: 2.0,
                },
            ],
            warnings: Vec::new(),
        });
        r.evaluate(at(20), duplicate, &env);
        assert_eq!(r.health, Health::Err);
        assert!(r.last_error.as_deref().unwrap().contains("same labelset"));
    }

    #[test]
    fn transitions_are_reported_and_a_restored_rule_continues_where_it_was() {
        let env = TemplateEnv::default();
        let mut r = rule(10, 0);
        r.evaluate(at(0), result(&[("a", 2.0)]), &env);
        let changes = |r: &AlertingRule| -> Vec<(AlertState, AlertState)> {
            r.last_transitions.iter().map(|t| (t.previous, t.current)).collect()
        };
        assert_eq!(changes(&r), vec![(AlertState::Inactive, AlertState::Pending)]);
        r.evaluate(at(10), result(&[("a", 2.0)]), &env);
        assert_eq!(changes(&r), vec![(AlertState::Pending, AlertState::Firing)]);
        r.alerts_to_send(at(10), Duration::from_secs(30), Duration::from_secs(10), "");
        let saved = serde_json::to_string(&r.snapshot()).unwrap();
        let mut restarted = rule(10, 0);
        restarted.restore(serde_json::from_str(&saved).unwrap());
        restarted.evaluate(at(20), result(&[("a", 2.0)]), &env);
        assert!(restarted.last_transitions.is_empty(), "no new pending episode");
        assert_eq!(restarted.active_alerts()[0].active_at, at(0));
        let resent =
            restarted.alerts_to_send(at(20), Duration::from_secs(30), Duration::from_secs(10), "");
        assert!(resent.is_empty(), "sent 10 s before the restart: not again yet");
        restarted.evaluate(at(30), result(&[]), &env);
        assert_eq!(changes(&restarted), vec![(AlertState::Firing, AlertState::Inactive)]);
    }

    #[test]
    fn the_limit_clears_all_alerts() {
        let env = TemplateEnv::default();
        let mut r = rule(0, 0);
        r.limit = 1;
        r.evaluate(at(0), result(&[("a", 2.0), ("b", 2.0)]), &env);
        assert_eq!(r.last_error.as_deref(), Some("exceeded limit of 1 with 2 alerts"));
        assert!(r.active_alerts().is_empty());
    }
}
