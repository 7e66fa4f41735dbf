//! The state machine of one expression rule's instances, sans-IO, with Grafana's states and
//! rules: Normal, Pending, Alerting, Recovering, NoData and Error, with a reason
//! (`Alerting (NoData)`). A firing result makes an instance Pending and, once `for` has
//! passed, Alerting (at once when `for` is 0); a normal result resolves it, through
//! Recovering while `keep_firing_for` runs. NoData and Error results follow the rule's
//! handling: their own state (sent as `DatasourceNoData` / `DatasourceError` alerts with
//! `rulename`), Alerting, OK (Normal) or KeepLast. When a whole evaluation is NoData or
//! Error and the handling is not NoData/Error, the handling applies to every existing
//! instance instead of creating a new one. Instances missing from a result resolve after
//! `missing_series_evals_to_resolve` intervals (one for NoData and Error instances).
//!
//! Sending: Pending is never sent; a firing instance is sent when last sent at least the
//! resend delay ago, valid until `eval + 4 × max(resend delay, interval)`; a resolved one
//! at once, then again every resend delay for 15 minutes (`state/send.rs`).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use model::{Fingerprint, LabelSet};
use serde::{Deserialize, Serialize};

use super::model::{ExecErrState, NoDataState};
use super::pipeline::{Outcome, ResultState};

mod send;

/// An instance's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum GrafanaState {
    /// Not firing.
    Normal,
    /// Firing result, waiting for `for`.
    Pending,
    /// Firing.
    Alerting,
    /// The condition cleared; still firing while `keep_firing_for` runs.
    Recovering,
    /// No data (sent as `DatasourceNoData`).
    NoData,
    /// The evaluation failed (sent as `DatasourceError`).
    Error,
}

impl GrafanaState {
    /// Grafana's name.
    pub fn as_str(self) -> &'static str {
        match self {
            GrafanaState::Normal => "Normal",
            GrafanaState::Pending => "Pending",
            GrafanaState::Alerting => "Alerting",
            GrafanaState::Recovering => "Recovering",
            GrafanaState::NoData => "NoData",
            GrafanaState::Error => "Error",
        }
    }

    /// Whether the receivers see it firing.
    pub fn is_firing(self) -> bool {
        matches!(
            self,
            GrafanaState::Alerting
                | GrafanaState::Recovering
                | GrafanaState::NoData
                | GrafanaState::Error
        )
    }

    /// The state as Prometheus' API names it.
    pub fn prometheus_name(self) -> &'static str {
        match self {
            GrafanaState::Normal => "inactive",
            GrafanaState::Pending => "pending",
            _ => "firing",
        }
    }
}

/// One instance (also the persisted form of rule state).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// Identity: result labels, rule labels, `alertname` and the reserved labels.
    pub labels: LabelSet,
    /// The labels of the condition's value (what recovery thresholds match).
    pub result_labels: LabelSet,
    /// Expanded annotations.
    pub annotations: LabelSet,
    /// State.
    pub state: GrafanaState,
    /// Why the state differs from the raw result (`NoData`, `Error`, `MissingSeries`, …).
    #[serde(default)]
    pub reason: String,
    /// When the current state began.
    pub starts_at: DateTime<Utc>,
    /// Until when the current state is valid.
    pub ends_at: DateTime<Utc>,
    /// When the current firing episode began.
    #[serde(default)]
    pub fired_at: Option<DateTime<Utc>>,
    /// The last evaluation that saw it.
    pub last_evaluation: DateTime<Utc>,
    /// When it last resolved.
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
    /// When it was last handed to the senders.
    #[serde(default)]
    pub last_sent_at: Option<DateTime<Utc>>,
    /// The alert name it was last sent firing under (`DatasourceNoData` …), so that its
    /// resolution reaches the same alert.
    #[serde(default)]
    pub sent_alertname: Option<String>,
    /// The condition's value.
    #[serde(default)]
    pub value: Option<f64>,
    /// Values of the reduced nodes, by refId.
    #[serde(default)]
    pub values: BTreeMap<String, f64>,
    /// The evaluation error, in the Error state.
    #[serde(default)]
    pub error: Option<String>,
    /// Gone from results long enough: sent resolved once more, then forgotten.
    #[serde(default)]
    pub stale: bool,
}

impl Instance {
    /// `Alerting (NoData)`, or the bare state without a reason.
    pub fn display_state(&self) -> String {
        if self.reason.is_empty() {
            self.state.as_str().to_owned()
        } else {
            format!("{} ({})", self.state.as_str(), self.reason)
        }
    }
}

/// A state change, for the history.
#[derive(Clone, Debug, PartialEq)]
pub struct StateChange {
    /// The instance.
    pub labels: LabelSet,
    /// `Normal`, `Alerting (NoData)`, …
    pub previous: String,
    /// After.
    pub current: String,
    /// The condition's value (NaN when none).
    pub value: f64,
}

/// The rule settings the state machine needs.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Evaluation interval.
    pub interval: Duration,
    /// Pending period.
    pub for_: Duration,
    /// Keep-firing period.
    pub keep_firing_for: Duration,
    /// NoData handling.
    pub no_data: NoDataState,
    /// Error handling.
    pub exec_err: ExecErrState,
    /// Intervals a missing series waits before resolving.
    pub missing_evals_to_resolve: u32,
    /// Minimum time between two sends of a firing instance.
    pub resend_delay: Duration,
}

impl Settings {
    fn ends_at(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        at + chrono::Duration::from_std(self.resend_delay.max(self.interval) * 4)
            .unwrap_or_default()
    }
}

/// Builds an instance's labels and annotations from result labels and a value.
pub type Labeller<'a> =
    &'a dyn Fn(&LabelSet, Option<f64>, &BTreeMap<String, f64>) -> (LabelSet, LabelSet);

/// What to do with one instance.
#[derive(Clone, Copy)]
enum Input {
    Normal,
    Alerting,
    NoData,
    Error,
}

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// The instances of one rule.
#[derive(Debug, Default)]
pub struct Instances {
    by_labels: HashMap<Fingerprint, Instance>,
}

impl Instances {
    /// Every instance (what is persisted), sorted by labels.
    pub fn snapshot(&self) -> Vec<Instance> {
        let mut all: Vec<Instance> = self.by_labels.values().cloned().collect();
        all.sort_by(|a, b| a.labels.cmp(&b.labels));
        all
    }

    /// Takes over persisted instances.
    pub fn restore(&mut self, instances: Vec<Instance>) {
        self.by_labels = instances.into_iter().map(|i| (i.labels.fingerprint(), i)).collect();
    }

    /// The instances that are not Normal, sorted by labels.
    pub fn active(&self) -> Vec<&Instance> {
        let mut all: Vec<&Instance> =
            self.by_labels.values().filter(|i| i.state != GrafanaState::Normal).collect();
        all.sort_by(|a, b| a.labels.cmp(&b.labels));
        all
    }

    /// Fingerprints of the result labels of the instances a recovery threshold applies to:
    /// as in Grafana, Alerting and Pending ones whose state has no reason.
    pub fn firing_results(&self) -> std::collections::HashSet<Fingerprint> {
        self.by_labels
            .values()
            .filter(|i| {
                matches!(i.state, GrafanaState::Alerting | GrafanaState::Pending)
                    && i.reason.is_empty()
            })
            .map(|i| i.result_labels.fingerprint())
            .collect()
    }

    /// The most severe state, as Prometheus' API reports a rule's state.
    pub fn rule_state(&self) -> &'static str {
        let states = self.by_labels.values().map(|i| i.state);
        if states.clone().any(GrafanaState::is_firing) {
            "firing"
        } else if states.clone().any(|s| s == GrafanaState::Pending) {
            "pending"
        } else {
            "inactive"
        }
    }

    /// Applies one evaluation's outcome; returns the state changes.
    pub fn process(
        &mut self,
        at: DateTime<Utc>,
        outcome: &Outcome,
        settings: &Settings,
        labeller: Labeller<'_>,
    ) -> Vec<StateChange> {
        let before: HashMap<Fingerprint, String> =
            self.by_labels.iter().map(|(f, i)| (*f, i.display_state())).collect();
        let mut seen = std::collections::HashSet::new();
        match outcome {
            Outcome::Instances(results) => {
                for result in results {
                    let input = match result.state {
                        ResultState::Normal => Input::Normal,
                        ResultState::Alerting => Input::Alerting,
                        ResultState::NoData => Input::NoData,
                    };
                    let values = result
                        .values
                        .iter()
                        .filter(|(_, v)| v.is_finite())
                        .map(|(k, v)| (k.clone(), *v))
                        .collect();
                    let fingerprint =
                        self.upsert(at, &result.labels, result.value, values, None, labeller);
                    seen.insert(fingerprint);
                    self.apply(fingerprint, at, input, settings);
                }
            }
            Outcome::NoData(label_sets) => {
                let everywhere = settings.no_data != NoDataState::NoData;
                self.whole(
                    at,
                    label_sets,
                    Input::NoData,
                    everywhere,
                    None,
                    settings,
                    labeller,
                    &mut seen,
                );
            }
            Outcome::Error { message, labels } => {
                let everywhere = settings.exec_err != ExecErrState::Error;
                self.whole(
                    at,
                    std::slice::from_ref(labels),
                    Input::Error,
                    everywhere,
                    Some(message),
                    settings,
                    labeller,
                    &mut seen,
                );
            }
        }
        self.missing_series(at, &seen, settings);
        let mut changes = Vec::new();
        for (fingerprint, instance) in &self.by_labels {
            let current = instance.display_state();
            let previous = before.get(fingerprint).cloned().unwrap_or_else(|| "Normal".to_owned());
            if previous != current {
                changes.push(StateChange {
                    labels: instance.labels.clone(),
                    previous,
                    current,
                    value: instance.value.unwrap_or(f64::NAN),
                });
            }
        }
        changes.sort_by(|a, b| a.labels.cmp(&b.labels));
        changes
    }

    /// A whole-evaluation NoData or Error: to every existing instance when the handling
    /// says so and there are some, else to one instance labelled by the result.
    #[allow(clippy::too_many_arguments)]
    fn whole(
        &mut self,
        at: DateTime<Utc>,
        label_sets: &[LabelSet],
        input: Input,
        everywhere: bool,
        error: Option<&str>,
        settings: &Settings,
        labeller: Labeller<'_>,
        seen: &mut std::collections::HashSet<Fingerprint>,
    ) {
        let existing: Vec<Fingerprint> =
            self.by_labels.iter().filter(|(_, i)| !i.stale).map(|(f, _)| *f).collect();
        if everywhere && !existing.is_empty() {
            for fingerprint in existing {
                if let Some(instance) = self.by_labels.get_mut(&fingerprint) {
                    instance.last_evaluation = at;
                    instance.error = error.map(str::to_owned);
                }
                seen.insert(fingerprint);
                self.apply(fingerprint, at, input, settings);
            }
            return;
        }
        for labels in label_sets {
            let fingerprint = self.upsert(at, labels, None, BTreeMap::new(), error, labeller);
            seen.insert(fingerprint);
            self.apply(fingerprint, at, input, settings);
        }
    }

    fn upsert(
        &mut self,
        at: DateTime<Utc>,
        result_labels: &LabelSet,
        value: Option<f64>,
        values: BTreeMap<String, f64>,
        error: Option<&str>,
        labeller: Labeller<'_>,
    ) -> Fingerprint {
        let (labels, mut annotations) = labeller(result_labels, value, &values);
        if let Some(error) = error {
            annotations = annotations.merged_with(&LabelSet::from_pairs([("Error", error)]));
        }
        let fingerprint = labels.fingerprint();
        let instance = self.by_labels.entry(fingerprint).or_insert_with(|| Instance {
            labels,
            result_labels: result_labels.clone(),
            annotations: LabelSet::new(),
            state: GrafanaState::Normal,
            reason: String::new(),
            starts_at: at,
            ends_at: at,
            fired_at: None,
            last_evaluation: at,
            resolved_at: None,
            last_sent_at: None,
            sent_alertname: None,
            value: None,
            values: BTreeMap::new(),
            error: None,
            stale: false,
        });
        instance.annotations = annotations;
        instance.value = value;
        instance.values = values;
        instance.error = error.map(str::to_owned);
        instance.last_evaluation = at;
        instance.stale = false;
        fingerprint
    }

    fn apply(&mut self, fingerprint: Fingerprint, at: DateTime<Utc>, input: Input, s: &Settings) {
        let Some(i) = self.by_labels.get_mut(&fingerprint) else { return };
        match input {
            Input::Normal => normal(i, at, s, ""),
            Input::Alerting => alerting(i, at, s, ""),
            Input::NoData => match s.no_data {
                NoDataState::Alerting => alerting(i, at, s, "NoData"),
                NoDataState::NoData => own_state(i, at, s, GrafanaState::NoData),
                NoDataState::OK => normal(i, at, s, "NoData"),
                NoDataState::KeepLast => keep_last(i, at, s, "NoData"),
            },
            Input::Error => match s.exec_err {
                ExecErrState::Alerting => alerting(i, at, s, "Error"),
                ExecErrState::Error => own_state(i, at, s, GrafanaState::Error),
                ExecErrState::OK => normal(i, at, s, "Error"),
                ExecErrState::KeepLast => keep_last(i, at, s, "Error"),
            },
        }
    }

    fn missing_series(
        &mut self,
        at: DateTime<Utc>,
        seen: &std::collections::HashSet<Fingerprint>,
        s: &Settings,
    ) {
        for (fingerprint, i) in &mut self.by_labels {
            if seen.contains(fingerprint) || i.stale {
                continue;
            }
            let evals = if matches!(i.state, GrafanaState::NoData | GrafanaState::Error) {
                1
            } else {
                s.missing_evals_to_resolve.max(1)
            };
            if at - i.last_evaluation >= chrono(s.interval * evals) {
                if i.state.is_firing() {
                    i.resolved_at = Some(at);
                }
                i.state = GrafanaState::Normal;
                i.reason = "MissingSeries".to_owned();
                i.starts_at = at;
                i.ends_at = at;
                i.stale = true;
            } else if i.state.is_firing() {
                // Not stale yet: keep it valid in the receivers.
                i.ends_at = s.ends_at(at);
            }
        }
    }

    /// Resolves every firing instance and forgets the rest (rule paused, changed or
    /// deleted); returns the changes. The resolved ones are sent by the next
    /// [`Instances::alerts_to_send`], then forgotten.
    pub fn reset(&mut self, at: DateTime<Utc>, reason: &str) -> Vec<StateChange> {
        let mut changes = Vec::new();
        self.by_labels.retain(|_, i| {
            if i.state == GrafanaState::Normal {
                return false;
            }
            let previous = i.display_state();
            if i.state.is_firing() {
                i.resolved_at = Some(at);
            }
            i.state = GrafanaState::Normal;
            i.reason = reason.to_owned();
            i.starts_at = at;
            i.ends_at = at;
            i.stale = true;
            changes.push(StateChange {
                labels: i.labels.clone(),
                previous,
                current: i.display_state(),
                value: i.value.unwrap_or(f64::NAN),
            });
            i.resolved_at.is_some()
        });
        changes.sort_by(|a, b| a.labels.cmp(&b.labels));
        changes
    }
}

fn enter(i: &mut Instance, at: DateTime<Utc>, s: &Settings, state: GrafanaState, reason: &str) {
    if state.is_firing() && !i.state.is_firing() {
        i.fired_at = Some(at);
        i.resolved_at = None;
    }
    i.state = state;
    i.reason = reason.to_owned();
    i.starts_at = at;
    i.ends_at = s.ends_at(at);
}

fn normal(i: &mut Instance, at: DateTime<Utc>, s: &Settings, reason: &str) {
    match i.state {
        GrafanaState::Normal => i.reason = reason.to_owned(),
        GrafanaState::Alerting if !s.keep_firing_for.is_zero() => {
            enter(i, at, s, GrafanaState::Recovering, reason);
        }
        GrafanaState::Recovering if at - i.starts_at < chrono(s.keep_firing_for) => {
            i.ends_at = s.ends_at(at);
        }
        state => {
            if state.is_firing() {
                i.resolved_at = Some(at);
            }
            i.state = GrafanaState::Normal;
            i.reason = reason.to_owned();
            i.starts_at = at;
            i.ends_at = at;
        }
    }
}

fn alerting(i: &mut Instance, at: DateTime<Utc>, s: &Settings, reason: &str) {
    match i.state {
        GrafanaState::Alerting => {
            i.reason = reason.to_owned();
            i.ends_at = s.ends_at(at);
        }
        GrafanaState::Pending => {
            i.reason = reason.to_owned();
            if at - i.starts_at >= chrono(s.for_) {
                enter(i, at, s, GrafanaState::Alerting, reason);
            }
        }
        // Recovering skips Pending: the alert never stopped firing.
        GrafanaState::Recovering => enter(i, at, s, GrafanaState::Alerting, reason),
        _ if s.for_.is_zero() => enter(i, at, s, GrafanaState::Alerting, reason),
        _ => enter(i, at, s, GrafanaState::Pending, reason),
    }
}

fn own_state(i: &mut Instance, at: DateTime<Utc>, s: &Settings, state: GrafanaState) {
    if i.state == state {
        i.ends_at = s.ends_at(at);
    } else {
        enter(i, at, s, state, "");
    }
}

fn keep_last(i: &mut Instance, at: DateTime<Utc>, s: &Settings, reason: &str) {
    let reason = format!("{reason}, KeepLast");
    match i.state {
        GrafanaState::Alerting | GrafanaState::Recovering => {
            i.reason = reason;
            i.ends_at = s.ends_at(at);
        }
        GrafanaState::Pending => alerting(i, at, s, &reason),
        _ => normal(i, at, s, &reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::pipeline::InstanceResult;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    fn settings(for_: u64, keep: u64, no_data: NoDataState, exec_err: ExecErrState) -> Settings {
        Settings {
            interval: Duration::from_secs(10),
            for_: Duration::from_secs(for_),
            keep_firing_for: Duration::from_secs(keep),
            no_data,
            exec_err,
            missing_evals_to_resolve: 2,
            resend_delay: Duration::from_secs(30),
        }
    }

    fn labeller(
        labels: &LabelSet,
        _value: Option<f64>,
        _values: &BTreeMap<String, f64>,
    ) -> (LabelSet, LabelSet) {
        (labels.merged_with(&LabelSet::from_pairs([("alertname", "High")])), LabelSet::new())
    }

    fn result(host: &str, state: ResultState) -> Outcome {
        Outcome::Instances(vec![InstanceResult {
            labels: LabelSet::from_pairs([("host", host)]),
            state,
            value: Some(if state == ResultState::Alerting { 1.0 } else { 0.0 }),
            values: BTreeMap::new(),
        }])
    }

    fn states(i: &Instances) -> Vec<String> {
        i.snapshot().iter().map(Instance::display_state).collect()
    }

    fn no_data() -> Outcome {
        Outcome::NoData(vec![LabelSet::from_pairs([
            ("datasource_uid", "builtin"),
            ("ref_id", "A"),
        ])])
    }

    fn failed() -> Outcome {
        Outcome::Error {
            message: "query A: refused".into(),
            labels: LabelSet::from_pairs([("datasource_uid", "builtin"), ("ref_id", "A")]),
        }
    }

    #[test]
    fn pending_alerting_recovering_normal() {
        let s = settings(20, 20, NoDataState::NoData, ExecErrState::Error);
        let mut i = Instances::default();
        let mut seen = Vec::new();
        for (t, state) in [
            (0, ResultState::Alerting),
            (10, ResultState::Alerting),
            (20, ResultState::Alerting),
            (30, ResultState::Normal),
            (40, ResultState::Normal),
            (50, ResultState::Normal),
        ] {
            let changes = i.process(at(t), &result("a", state), &s, &labeller);
            seen.push((states(&i)[0].clone(), changes.len()));
        }
        let names: Vec<&str> = seen.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(
            names,
            vec!["Pending", "Pending", "Alerting", "Recovering", "Recovering", "Normal"]
        );
        let sent = i.alerts_to_send(at(50), &s, "High", "");
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].ends_at, at(50), "resolved at once");
        assert_eq!(sent[0].starts_at, at(20), "when it started firing");
    }

    #[test]
    fn recovery_thresholds_apply_to_alerting_and_pending_instances_without_a_reason() {
        let s = settings(30, 0, NoDataState::Alerting, ExecErrState::Error);
        let mut i = Instances::default();
        i.process(at(0), &result("a", ResultState::Alerting), &s, &labeller);
        let pending = LabelSet::from_pairs([("host", "a")]).fingerprint();
        assert_eq!(i.firing_results(), std::collections::HashSet::from([pending]));
        i.process(at(10), &no_data(), &s, &labeller);
        assert_eq!(states(&i), vec!["Pending (NoData)"]);
        assert!(i.firing_results().is_empty(), "a state with a reason is not loaded");
    }

    #[test]
    fn recovering_goes_straight_back_to_alerting() {
        let s = settings(30, 60, NoDataState::NoData, ExecErrState::Error);
        let mut i = Instances::default();
        i.process(at(0), &result("a", ResultState::Alerting), &s, &labeller);
        i.process(at(30), &result("a", ResultState::Alerting), &s, &labeller);
        i.process(at(40), &result("a", ResultState::Normal), &s, &labeller);
        assert_eq!(states(&i), vec!["Recovering"]);
        i.process(at(50), &result("a", ResultState::Alerting), &s, &labeller);
        assert_eq!(states(&i), vec!["Alerting"], "no second pending period");
    }

    /// The NoData decision table: handling × previous state.
    #[test]
    fn no_data_handling() {
        let cases = [
            (NoDataState::NoData, None, vec!["NoData"]),
            (NoDataState::Alerting, None, vec!["Alerting (NoData)"]),
            (NoDataState::OK, None, vec!["Normal (NoData)"]),
            (NoDataState::KeepLast, None, vec!["Normal (NoData, KeepLast)"]),
            (NoDataState::NoData, Some(ResultState::Alerting), vec!["NoData", "Alerting"]),
            (NoDataState::Alerting, Some(ResultState::Alerting), vec!["Alerting (NoData)"]),
            (NoDataState::OK, Some(ResultState::Alerting), vec!["Normal (NoData)"]),
            (
                NoDataState::KeepLast,
                Some(ResultState::Alerting),
                vec!["Alerting (NoData, KeepLast)"],
            ),
            (NoDataState::KeepLast, Some(ResultState::Normal), vec!["Normal (NoData, KeepLast)"]),
        ];
        for (handling, before, expected) in cases {
            let s = settings(0, 0, handling, ExecErrState::Error);
            let mut i = Instances::default();
            if let Some(state) = before {
                i.process(at(0), &result("a", state), &s, &labeller);
            }
            i.process(at(10), &no_data(), &s, &labeller);
            assert_eq!(states(&i), expected, "{handling:?} after {before:?}");
        }
    }

    /// The Error decision table, and the error annotation.
    #[test]
    fn error_handling() {
        let cases = [
            (ExecErrState::Error, None, vec!["Error"]),
            (ExecErrState::Alerting, None, vec!["Alerting (Error)"]),
            (ExecErrState::OK, None, vec!["Normal (Error)"]),
            (ExecErrState::KeepLast, None, vec!["Normal (Error, KeepLast)"]),
            (ExecErrState::Error, Some(ResultState::Alerting), vec!["Error", "Alerting"]),
            (ExecErrState::Alerting, Some(ResultState::Alerting), vec!["Alerting (Error)"]),
            (ExecErrState::OK, Some(ResultState::Alerting), vec!["Normal (Error)"]),
            (
                ExecErrState::KeepLast,
                Some(ResultState::Alerting),
                vec!["Alerting (Error, KeepLast)"],
            ),
        ];
        for (handling, before, expected) in cases {
            let s = settings(0, 0, NoDataState::NoData, handling);
            let mut i = Instances::default();
            if let Some(state) = before {
                i.process(at(0), &result("a", state), &s, &labeller);
            }
            i.process(at(10), &failed(), &s, &labeller);
            assert_eq!(states(&i), expected, "{handling:?} after {before:?}");
        }
        let s = settings(0, 0, NoDataState::NoData, ExecErrState::Error);
        let mut i = Instances::default();
        i.process(at(0), &failed(), &s, &labeller);
        let error = &i.snapshot()[0];
        assert_eq!(error.labels.get("ref_id"), Some("A"));
        assert_eq!(error.annotations.get("Error"), Some("query A: refused"));
    }

    #[test]
    fn no_data_and_error_alerts_are_sent_under_their_own_names_and_resolve_as_such() {
        let s = settings(0, 0, NoDataState::NoData, ExecErrState::Error);
        let mut i = Instances::default();
        i.process(at(0), &no_data(), &s, &labeller);
        let sent = i.alerts_to_send(at(0), &s, "High", "");
        assert_eq!(sent[0].labels.get("alertname"), Some("DatasourceNoData"));
        assert_eq!(sent[0].labels.get("rulename"), Some("High"));
        assert_eq!(sent[0].labels.get("datasource_uid"), Some("builtin"));
        // Data comes back: the NoData instance goes missing and resolves after one interval.
        i.process(at(10), &result("a", ResultState::Normal), &s, &labeller);
        let resolved = i.alerts_to_send(at(10), &s, "High", "");
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].labels.get("alertname"), Some("DatasourceNoData"));
        assert_eq!(resolved[0].ends_at, at(10));
        assert_eq!(i.snapshot().len(), 1, "the stale instance is forgotten once sent");
        let mut e = Instances::default();
        e.process(at(0), &failed(), &s, &labeller);
        let sent = e.alerts_to_send(at(0), &s, "High", "");
        assert_eq!(sent[0].labels.get("alertname"), Some("DatasourceError"));
    }

    #[test]
    fn missing_series_resolve_after_two_intervals_and_resends_follow_the_delay() {
        let s = settings(0, 0, NoDataState::NoData, ExecErrState::Error);
        let mut i = Instances::default();
        let mut sends = Vec::new();
        for t in (0..=40).step_by(10) {
            i.process(at(t), &result("a", ResultState::Alerting), &s, &labeller);
            if !i.alerts_to_send(at(t), &s, "High", "").is_empty() {
                sends.push(t);
            }
        }
        assert_eq!(sends, vec![0, 30], "again once 30 s have passed");
        let sent_ends = i.snapshot()[0].ends_at;
        assert_eq!(sent_ends, at(40 + 120));
        i.process(at(50), &result("b", ResultState::Normal), &s, &labeller);
        assert_eq!(states(&i), vec!["Alerting", "Normal"], "missing for one interval: kept");
        i.process(at(60), &result("b", ResultState::Normal), &s, &labeller);
        assert_eq!(states(&i), vec!["Normal (MissingSeries)", "Normal"]);
        let resolved = i.alerts_to_send(at(60), &s, "High", "");
        assert_eq!((resolved.len(), resolved[0].ends_at), (1, at(60)));
    }

    #[test]
    fn whole_evaluation_no_data_applies_to_existing_instances_when_not_no_data() {
        let s = settings(0, 0, NoDataState::Alerting, ExecErrState::Error);
        let mut i = Instances::default();
        i.process(at(0), &result("a", ResultState::Normal), &s, &labeller);
        i.process(at(10), &no_data(), &s, &labeller);
        let snapshot = i.snapshot();
        assert_eq!(snapshot.len(), 1, "no new label-less instance");
        assert_eq!(snapshot[0].labels.get("host"), Some("a"));
        assert_eq!(snapshot[0].display_state(), "Alerting (NoData)");
    }

    #[test]
    fn reset_resolves_firing_instances_and_state_survives_a_restart() {
        let s = settings(0, 0, NoDataState::NoData, ExecErrState::Error);
        let mut i = Instances::default();
        i.process(at(0), &result("a", ResultState::Alerting), &s, &labeller);
        i.alerts_to_send(at(0), &s, "High", "");
        let saved = serde_json::to_string(&i.snapshot()).unwrap();
        let mut restarted = Instances::default();
        restarted.restore(serde_json::from_str(&saved).unwrap());
        let changes = restarted.process(at(10), &result("a", ResultState::Alerting), &s, &labeller);
        assert!(changes.is_empty());
        assert!(restarted.alerts_to_send(at(10), &s, "High", "").is_empty(), "sent 10 s ago");
        let last = restarted.alerts_last_sent(&s, "High");
        assert_eq!((last.len(), last[0].ends_at), (1, at(120)), "as sent at 0");
        let changes = restarted.reset(at(20), "Paused");
        assert_eq!(changes[0].current, "Normal (Paused)");
        let sent = restarted.alerts_to_send(at(20), &s, "High", "");
        assert_eq!(sent[0].ends_at, at(20));
        assert!(restarted.snapshot().is_empty());
    }
}
