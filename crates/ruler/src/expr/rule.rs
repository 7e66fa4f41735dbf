//! One expression rule at run time: its validated definition, its instances and its health,
//! and how an evaluation's outcome becomes instance labels (result labels without
//! `__name__`, the templated rule labels, `alertname`, `__alert_rule_uid__` and
//! `grafana_folder`) and annotations.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use model::LabelSet;

use super::model::ValidRule;
use super::pipeline::Outcome;
use super::state::{Instance, Instances, Settings, StateChange};
use crate::alerting::{OutgoingAlert, TemplateEnv};
use crate::template;

/// The persisted form: the instances and the definition they were computed for, so that a
/// changed definition starts afresh, as Grafana resets state when a rule is edited.
#[derive(serde::Serialize, serde::Deserialize)]
struct Persisted {
    definition: u64,
    instances: Vec<Instance>,
}

/// An expression rule and its instances.
#[derive(Debug)]
pub struct ExpressionRule {
    /// The definition.
    pub rule: ValidRule,
    /// The folder (`grafana_folder` label).
    pub folder: String,
    /// The instances.
    pub instances: Instances,
    /// `ok`, `error` or `nodata` after the last evaluation; `unknown` before.
    pub health: &'static str,
    /// The last evaluation's error.
    pub last_error: Option<String>,
    /// When it was last evaluated.
    pub last_evaluation: Option<DateTime<Utc>>,
    /// How long that took.
    pub evaluation_duration: Duration,
    /// The state changes of the last evaluation.
    pub last_changes: Vec<StateChange>,
    /// Changes made by a restore, reported with the next evaluation's.
    carried_changes: Vec<StateChange>,
}

fn definition_hash(rule: &ValidRule) -> u64 {
    let text = serde_json::to_string(&rule.spec).unwrap_or_default();
    xxhash_rust::xxh64::xxh64(text.as_bytes(), 0)
}

impl ExpressionRule {
    /// A rule with no instances.
    pub fn new(rule: ValidRule, folder: String) -> ExpressionRule {
        ExpressionRule {
            rule,
            folder,
            instances: Instances::default(),
            health: "unknown",
            last_error: None,
            last_evaluation: None,
            evaluation_duration: Duration::ZERO,
            last_changes: Vec::new(),
            carried_changes: Vec::new(),
        }
    }

    /// The state to persist, as JSON.
    pub fn persisted(&self) -> String {
        let persisted = Persisted {
            definition: definition_hash(&self.rule),
            instances: self.instances.snapshot(),
        };
        serde_json::to_string(&persisted).unwrap_or_default()
    }

    /// Takes over persisted state. State of another definition is resolved (reason
    /// `Updated`): the next send delivers the resolutions.
    pub fn restore(&mut self, json: &str, at: DateTime<Utc>) -> Result<(), String> {
        let persisted: Persisted = serde_json::from_str(json).map_err(|e| e.to_string())?;
        self.instances.restore(persisted.instances);
        if persisted.definition != definition_hash(&self.rule) {
            self.carried_changes = self.instances.reset(at, "Updated");
        }
        Ok(())
    }

    /// The state machine's settings for this rule.
    pub fn settings(&self, interval: Duration, resend_delay: Duration) -> Settings {
        Settings {
            interval,
            for_: self.rule.for_,
            keep_firing_for: self.rule.keep_firing_for,
            no_data: self.rule.spec.no_data_state,
            exec_err: self.rule.spec.exec_err_state,
            missing_evals_to_resolve: self.rule.spec.missing_series_evals_to_resolve.unwrap_or(2),
            resend_delay,
        }
    }

    /// Applies an evaluation's outcome at `at`.
    pub fn evaluate(
        &mut self,
        at: DateTime<Utc>,
        outcome: &Outcome,
        settings: &Settings,
        env: &TemplateEnv,
    ) {
        self.last_evaluation = Some(at);
        let (health, error) = match outcome {
            Outcome::Instances(_) => ("ok", None),
            Outcome::NoData(_) => ("nodata", None),
            Outcome::Error { message, .. } => ("error", Some(message.clone())),
        };
        self.health = health;
        self.last_error = error;
        let spec = &self.rule.spec;
        let template_name = format!("__alert_{}", spec.title);
        let labeller = |result: &LabelSet, value: Option<f64>, values: &BTreeMap<String, f64>| {
            let result = result.filter(|name| name != "__name__");
            let context = template::Context {
                labels: &result,
                value: value.unwrap_or(f64::NAN),
                external_labels: &env.external_labels,
                external_url: &env.external_url,
            };
            let mut pairs: Vec<(String, String)> =
                result.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
            for (name, text) in &spec.labels {
                let value = template::expand_with_values(&template_name, text, &context, values);
                pairs.retain(|(k, _)| k != name);
                if !value.is_empty() {
                    pairs.push((name.clone(), value));
                }
            }
            let reserved = [
                ("alertname", spec.title.as_str()),
                ("__alert_rule_uid__", spec.uid.as_str()),
                ("grafana_folder", self.folder.as_str()),
            ];
            pairs.retain(|(k, _)| !reserved.iter().any(|(r, _)| r == k));
            pairs.extend(reserved.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
            let annotations = LabelSet::from_pairs(spec.annotations.iter().map(|(name, text)| {
                (name.clone(), template::expand_with_values(&template_name, text, &context, values))
            }));
            (LabelSet::from_pairs(pairs), annotations)
        };
        let mut changes = std::mem::take(&mut self.carried_changes);
        changes.extend(self.instances.process(at, outcome, settings, &labeller));
        self.last_changes = changes;
    }

    /// Pauses the rule: firing instances resolve (reason `Paused`), the rest is forgotten.
    pub fn pause(&mut self, at: DateTime<Utc>) {
        self.last_evaluation = Some(at);
        self.last_changes = self.instances.reset(at, "Paused");
    }

    /// The alerts as they were last sent (see [`Instances::alerts_last_sent`]).
    pub fn alerts_last_sent(&self, settings: &Settings) -> Vec<OutgoingAlert> {
        self.instances.alerts_last_sent(settings, &self.rule.spec.title)
    }

    /// The alerts due to be sent after the evaluation at `at`.
    pub fn alerts_to_send(&mut self, at: DateTime<Utc>, settings: &Settings) -> Vec<OutgoingAlert> {
        let title = self.rule.spec.title.clone();
        self.instances.alerts_to_send(at, settings, &title, "")
    }
}
