//! What an expression rule's instances send: the alerts due after an evaluation (Pending
//! never; firing ones every resend delay, valid until `eval + 4 × max(resend delay,
//! interval)`; resolved ones at once, then every resend delay for 15 minutes) and the
//! alerts as last sent, for a receiver that lost them. NoData and Error instances are sent
//! under their own alert names with the rule's title as `rulename`.

use chrono::{DateTime, Utc};
use model::LabelSet;

use super::{GrafanaState, Instance, Instances, Settings, chrono};
use crate::alerting::{OutgoingAlert, RESOLVED_RETENTION};

impl Instances {
    /// The alerts as they were last sent, for a receiver that lost them (this process's own,
    /// after a restart). Nothing is marked sent.
    pub fn alerts_last_sent(&self, settings: &Settings, title: &str) -> Vec<OutgoingAlert> {
        let mut out: Vec<OutgoingAlert> = self
            .by_labels
            .values()
            .filter(|i| i.state != GrafanaState::Pending)
            .filter_map(|i| Some(outgoing(i, i.last_sent_at?, settings, title, String::new())))
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out
    }

    /// The alerts due to be sent after the evaluation at `at`, marked sent; stale
    /// instances are forgotten once sent.
    pub fn alerts_to_send(
        &mut self,
        at: DateTime<Utc>,
        settings: &Settings,
        title: &str,
        generator_url: &str,
    ) -> Vec<OutgoingAlert> {
        let resend = chrono(settings.resend_delay);
        let retention = chrono(RESOLVED_RETENTION);
        let mut out = Vec::new();
        for i in self.by_labels.values_mut() {
            let newly_resolved =
                i.resolved_at.is_some_and(|r| i.last_sent_at.is_none_or(|sent| r > sent));
            let resend_due = i.last_sent_at.is_none_or(|sent| sent + resend <= at);
            let needed = match i.state {
                GrafanaState::Pending => false,
                GrafanaState::Normal => {
                    newly_resolved
                        || (resend_due && i.resolved_at.is_some_and(|r| at - r <= retention))
                }
                _ => resend_due,
            };
            if !needed {
                continue;
            }
            if i.state.is_firing() {
                // A resolution later goes out under the name the firing alert had.
                i.sent_alertname = sent_name(i.state);
            }
            i.last_sent_at = Some(at);
            out.push(outgoing(i, at, settings, title, generator_url.to_owned()));
        }
        self.by_labels.retain(|_, i| !i.stale);
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out
    }
}

/// The alert an instance sends at `sent`: firing ones valid for four resend periods,
/// resolved ones ending when they resolved, under the name they fired with.
fn outgoing(
    i: &Instance,
    sent: DateTime<Utc>,
    settings: &Settings,
    title: &str,
    generator_url: String,
) -> OutgoingAlert {
    let firing = i.state.is_firing();
    let alertname = if firing { sent_name(i.state) } else { i.sent_alertname.clone() };
    OutgoingAlert {
        labels: outgoing_labels(i, alertname.as_deref(), title),
        annotations: outgoing_annotations(i),
        starts_at: if firing { i.starts_at } else { i.fired_at.unwrap_or(i.starts_at) },
        ends_at: if firing { settings.ends_at(sent) } else { i.resolved_at.unwrap_or(sent) },
        generator_url,
    }
}

/// The alert name a firing state is sent under, when not the rule's title.
fn sent_name(state: GrafanaState) -> Option<String> {
    match state {
        GrafanaState::NoData => Some("DatasourceNoData".to_owned()),
        GrafanaState::Error => Some("DatasourceError".to_owned()),
        _ => None,
    }
}

/// The instance's labels, renamed (with the title as `rulename`) when sent under `alertname`.
fn outgoing_labels(i: &Instance, alertname: Option<&str>, title: &str) -> LabelSet {
    match alertname {
        Some(name) => {
            i.labels.merged_with(&LabelSet::from_pairs([("alertname", name), ("rulename", title)]))
        }
        None => i.labels.clone(),
    }
}

/// The instance's annotations, with `grafana_state_reason` when there is a reason.
fn outgoing_annotations(i: &Instance) -> LabelSet {
    if i.reason.is_empty() {
        return i.annotations.clone();
    }
    i.annotations.merged_with(&LabelSet::from_pairs([("grafana_state_reason", i.reason.as_str())]))
}
