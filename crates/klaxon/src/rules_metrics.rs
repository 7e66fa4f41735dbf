//! The alert generator's metrics, read from the engine and the senders at scrape time:
//! `klaxon_rule_group_iterations_total`, `klaxon_rule_group_iterations_missed_total`,
//! `klaxon_rule_evaluation_failures_total`, `klaxon_rule_group_last_duration_seconds`,
//! `klaxon_rule_group_owned` (per `rule_group`, as `file;name` like Prometheus labels it),
//! `klaxon_rule_groups_owned` and `klaxon_rule_notifications_{sent,errors,dropped}_total`
//! (per `alertmanager`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use arc_swap::ArcSwap;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Gauge, GaugeVec, IntCounterVec, Opts};
use ruler::engine::Engine;
use ruler::notifier::Alertmanagers;

/// A collector that copies the engine's counters into its metrics when scraped.
pub struct RuleMetrics {
    engine: Arc<ArcSwap<Engine>>,
    alertmanagers: Arc<Alertmanagers>,
    iterations: IntCounterVec,
    missed: IntCounterVec,
    failures: IntCounterVec,
    duration: GaugeVec,
    owned: GaugeVec,
    owned_total: Gauge,
    sent: IntCounterVec,
    errors: IntCounterVec,
    dropped: IntCounterVec,
}

fn counter(name: &str, help: &str, label: &str) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), &[label]).expect("valid metric")
}

impl RuleMetrics {
    /// Metrics over `engine` and `alertmanagers`.
    pub fn new(engine: Arc<ArcSwap<Engine>>, alertmanagers: Arc<Alertmanagers>) -> RuleMetrics {
        RuleMetrics {
            engine,
            alertmanagers,
            iterations: counter(
                "klaxon_rule_group_iterations_total",
                "Rule group evaluations.",
                "rule_group",
            ),
            missed: counter(
                "klaxon_rule_group_iterations_missed_total",
                "Rule group ticks dropped because the previous evaluation was still running.",
                "rule_group",
            ),
            failures: counter(
                "klaxon_rule_evaluation_failures_total",
                "Rule evaluations whose query failed.",
                "rule_group",
            ),
            duration: GaugeVec::new(
                Opts::new(
                    "klaxon_rule_group_last_duration_seconds",
                    "Duration of the last rule group evaluation.",
                ),
                &["rule_group"],
            )
            .expect("valid metric"),
            owned: GaugeVec::new(
                Opts::new(
                    "klaxon_rule_group_owned",
                    "Whether this instance evaluates the rule group (1) or leaves it to other cluster members (0).",
                ),
                &["rule_group"],
            )
            .expect("valid metric"),
            owned_total: Gauge::new(
                "klaxon_rule_groups_owned",
                "Rule groups this instance evaluates.",
            )
            .expect("valid metric"),
            sent: counter(
                "klaxon_rule_notifications_sent_total",
                "Alerts delivered to an external Alertmanager.",
                "alertmanager",
            ),
            errors: counter(
                "klaxon_rule_notifications_errors_total",
                "Alerts whose delivery to an external Alertmanager failed.",
                "alertmanager",
            ),
            dropped: counter(
                "klaxon_rule_notifications_dropped_total",
                "Alerts dropped because an external Alertmanager's queue was full.",
                "alertmanager",
            ),
        }
    }

    fn sync(&self) {
        let set = |vec: &IntCounterVec, label: &str, value: u64| {
            let counter = vec.with_label_values(&[label]);
            counter.inc_by(value.saturating_sub(counter.get()));
        };
        let engine = self.engine.load_full();
        // Groups of an engine replaced by a reload must not linger.
        self.owned.reset();
        let mut owned_total = 0;
        for group in engine.groups() {
            let label = format!("{};{}", group.spec.file.display(), group.spec.name);
            let state = group.state();
            set(&self.iterations, &label, state.iterations);
            set(&self.missed, &label, state.missed);
            set(&self.failures, &label, state.failures);
            self.duration.with_label_values(&[&label]).set(state.evaluation_duration.as_secs_f64());
            self.owned.with_label_values(&[&label]).set(if state.owned { 1.0 } else { 0.0 });
            owned_total += usize::from(state.owned);
        }
        #[allow(clippy::cast_precision_loss)] // group counts are far below 2^52
        self.owned_total.set(owned_total as f64);
        for destination in self.alertmanagers.destinations() {
            let url = destination.url();
            set(&self.sent, url, destination.sent.load(Ordering::Relaxed));
            set(&self.errors, url, destination.errors.load(Ordering::Relaxed));
            set(&self.dropped, url, destination.dropped.load(Ordering::Relaxed));
        }
    }
}

impl Collector for RuleMetrics {
    fn desc(&self) -> Vec<&Desc> {
        [&self.iterations, &self.missed, &self.failures, &self.sent, &self.errors, &self.dropped]
            .into_iter()
            .flat_map(Collector::desc)
            .chain(self.duration.desc())
            .chain(self.owned.desc())
            .chain(self.owned_total.desc())
            .collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.sync();
        [&self.iterations, &self.missed, &self.failures, &self.sent, &self.errors, &self.dropped]
            .into_iter()
            .flat_map(Collector::collect)
            .chain(self.duration.collect())
            .chain(self.owned.collect())
            .chain(self.owned_total.collect())
            .collect()
    }
}
