//! The receiver pipeline's metric families beyond the notification counters: the state
//! (notification log and silences) query, GC and snapshot figures, dispatcher processing time,
//! marked alerts, and the configured receivers and integrations, under Alertmanager 0.25's
//! names, types and label sets.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use alertmanager::config::{Config, Route};
use prometheus::core::{Collector, Desc};
use prometheus::proto::{Metric, MetricFamily, MetricType, Summary};
use prometheus::{Gauge, GaugeVec, Histogram, HistogramOpts, IntCounter, Opts, Registry};

/// A summary without quantiles (`_sum` and `_count`), which is what Alertmanager's summaries
/// expose; the `prometheus` crate has no summary type.
#[derive(Clone)]
pub struct SumCount {
    desc: Desc,
    totals: Arc<Mutex<(f64, u64)>>,
}

impl SumCount {
    fn new(name: &str, help: &str) -> SumCount {
        let desc = Desc::new(name.to_owned(), help.to_owned(), Vec::new(), Default::default())
            .expect("valid metric");
        SumCount { desc, totals: Arc::default() }
    }

    /// Adds one observation.
    pub fn observe(&self, value: Duration) {
        self.observe_many(value, 1);
    }

    /// Adds `count` observations that took `total` together: one lock for a batch instead of
    /// one per item, with the same sum and count.
    pub fn observe_many(&self, total: Duration, count: u64) {
        let mut totals = self.totals.lock().expect("summary lock poisoned");
        totals.0 += total.as_secs_f64();
        totals.1 += count;
    }
}

impl Collector for SumCount {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let (sum, count) = *self.totals.lock().expect("summary lock poisoned");
        let mut summary = Summary::default();
        summary.set_sample_sum(sum);
        summary.set_sample_count(count);
        let mut metric = Metric::default();
        metric.set_summary(summary);
        let mut family = MetricFamily::default();
        family.set_name(self.desc.fq_name.clone());
        family.set_help(self.desc.help.clone());
        family.set_field_type(MetricType::SUMMARY);
        family.set_metric(vec![metric]);
        vec![family]
    }
}

/// Query, GC and snapshot figures of a replicated state (`nflog` or `silences`).
#[derive(Clone)]
pub struct StateMetrics {
    /// `…_queries_total`.
    pub queries: IntCounter,
    /// `…_query_errors_total`.
    pub query_errors: IntCounter,
    /// `…_query_duration_seconds`.
    pub query_duration: Histogram,
    /// `…_gc_duration_seconds`.
    pub gc_duration: SumCount,
    /// `…_snapshot_duration_seconds`.
    pub snapshot_duration: SumCount,
    /// `…_snapshot_size_bytes`.
    pub snapshot_size: Gauge,
    /// `…_gossip_messages_propagated_total` (stays 0 until the cluster layer gossips).
    pub gossip_propagated: IntCounter,
}

impl StateMetrics {
    fn new(prefix: &str, what: &str) -> StateMetrics {
        let name = |suffix: &str| format!("alertmanager_{prefix}_{suffix}");
        let counter =
            |suffix: &str, help: String| IntCounter::new(name(suffix), help).expect("valid metric");
        StateMetrics {
            queries: counter("queries_total", format!("Number of {what} queries received.")),
            query_errors: counter(
                "query_errors_total",
                format!("Number of {what} queries that failed."),
            ),
            query_duration: Histogram::with_opts(HistogramOpts::new(
                name("query_duration_seconds"),
                format!("Time taken to evaluate {what} queries."),
            ))
            .expect("valid metric"),
            gc_duration: SumCount::new(
                &name("gc_duration_seconds"),
                &format!("Time taken by {what} garbage collection runs."),
            ),
            snapshot_duration: SumCount::new(
                &name("snapshot_duration_seconds"),
                &format!("Time taken to write {what} snapshots."),
            ),
            snapshot_size: Gauge::new(
                name("snapshot_size_bytes"),
                format!("Size in bytes of the latest {what} snapshot."),
            )
            .expect("valid metric"),
            gossip_propagated: counter(
                "gossip_messages_propagated_total",
                format!("Number of {what} gossip messages received and passed on to peers."),
            ),
        }
    }

    /// Records one query that took `took`; `failed` for a query that found nothing the
    /// caller asked for (Alertmanager counts a notification log miss as an error).
    pub fn queried(&self, took: Duration, failed: bool) {
        self.queries.inc();
        if failed {
            self.query_errors.inc();
        }
        self.query_duration.observe(took.as_secs_f64());
    }

    /// Records one snapshot of `size` bytes that took `took`.
    pub fn snapshotted(&self, took: Duration, size: usize) {
        self.snapshot_duration.observe(took);
        self.snapshot_size.set(size as f64);
    }

    fn collectors(&self) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.queries.clone()),
            Box::new(self.query_errors.clone()),
            Box::new(self.query_duration.clone()),
            Box::new(self.gc_duration.clone()),
            Box::new(self.snapshot_duration.clone()),
            Box::new(self.snapshot_size.clone()),
            Box::new(self.gossip_propagated.clone()),
        ]
    }
}

/// Every pipeline family this module owns.
pub struct PipelineMetrics {
    /// The notification log.
    pub nflog: StateMetrics,
    /// The silences.
    pub silences: StateMetrics,
    /// `alertmanager_dispatcher_alert_processing_duration_seconds`: routing one alert into
    /// its aggregation groups.
    pub alert_processing: SumCount,
    /// `alertmanager_marked_alerts{state}`, set at scrape time.
    pub marked_alerts: GaugeVec,
    receivers: Gauge,
    integrations: Gauge,
}

impl PipelineMetrics {
    /// Creates the families and registers them in `registry`.
    pub fn register(registry: &Registry) -> PipelineMetrics {
        let metrics = PipelineMetrics {
            nflog: StateMetrics::new("nflog", "notification log"),
            silences: StateMetrics::new("silences", "silence"),
            alert_processing: SumCount::new(
                "alertmanager_dispatcher_alert_processing_duration_seconds",
                "Time taken to route alerts into their aggregation groups.",
            ),
            marked_alerts: GaugeVec::new(
                Opts::new(
                    "alertmanager_marked_alerts",
                    "Alerts held by the server by marked state, resolved ones included.",
                ),
                &["state"],
            )
            .expect("valid metric"),
            receivers: Gauge::new(
                "alertmanager_receivers",
                "Number of receivers some route refers to.",
            )
            .expect("valid metric"),
            integrations: Gauge::new(
                "alertmanager_integrations",
                "Number of integrations of the receivers some route refers to.",
            )
            .expect("valid metric"),
        };
        let mut collectors = metrics.nflog.collectors();
        collectors.extend(metrics.silences.collectors());
        collectors.push(Box::new(metrics.alert_processing.clone()));
        collectors.push(Box::new(metrics.marked_alerts.clone()));
        collectors.push(Box::new(metrics.receivers.clone()));
        collectors.push(Box::new(metrics.integrations.clone()));
        for collector in collectors {
            registry.register(collector).expect("metric registered once");
        }
        metrics
    }

    /// Counts what a newly loaded configuration sends to. Like 0.25, receivers no route
    /// refers to are not built and so not counted.
    pub fn configured(&self, config: &Config) {
        let mut used = std::collections::BTreeSet::new();
        collect_receivers(&config.route, &mut used);
        let integrations: usize = config
            .receivers
            .iter()
            .filter(|receiver| used.contains(receiver.name.as_str()))
            .map(|receiver| receiver.integrations().len())
            .sum();
        self.receivers.set(used.len() as f64);
        self.integrations.set(integrations as f64);
    }
}

fn collect_receivers<'a>(route: &'a Route, used: &mut std::collections::BTreeSet<&'a str>) {
    if let Some(receiver) = &route.receiver {
        used.insert(receiver.as_str());
    }
    for child in &route.routes {
        collect_receivers(child, used);
    }
}
