//! `/metrics`: Alertmanager's metric names for what Klaxon has, plus the process collector.

use alertmanager::notify::NotifyEvent;

use crate::pipeline_metrics::PipelineMetrics;
use chrono::{DateTime, Utc};
use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry,
    TextEncoder,
};

/// The integrations 0.25 pre-creates notification series for (so they read 0, not absent).
const INTEGRATIONS: [&str; 10] = [
    "email",
    "pagerduty",
    "wechat",
    "pushover",
    "slack",
    "opsgenie",
    "webhook",
    "victorops",
    "sns",
    "telegram",
];

/// The notification counters and latency, by integration.
struct NotifyMetrics {
    notifications: IntCounterVec,
    notifications_failed: IntCounterVec,
    requests: IntCounterVec,
    requests_failed: IntCounterVec,
    latency: HistogramVec,
}

impl NotifyMetrics {
    fn new() -> NotifyMetrics {
        let counter = |name: &str, help: &str| {
            IntCounterVec::new(Opts::new(name, help), &["integration"]).expect("valid metric")
        };
        let metrics = NotifyMetrics {
            notifications: counter(
                "alertmanager_notifications_total",
                "The total number of attempted notifications.",
            ),
            notifications_failed: counter(
                "alertmanager_notifications_failed_total",
                "The total number of failed notifications.",
            ),
            requests: counter(
                "alertmanager_notification_requests_total",
                "The total number of attempted notification requests.",
            ),
            requests_failed: counter(
                "alertmanager_notification_requests_failed_total",
                "The total number of failed notification requests.",
            ),
            latency: HistogramVec::new(
                HistogramOpts::new(
                    "alertmanager_notification_latency_seconds",
                    "The latency of notifications in seconds.",
                )
                .buckets(vec![1.0, 5.0, 10.0, 15.0, 20.0]),
                &["integration"],
            )
            .expect("valid metric"),
        };
        for integration in INTEGRATIONS {
            metrics.notifications.with_label_values(&[integration]);
            metrics.notifications_failed.with_label_values(&[integration]);
            metrics.requests.with_label_values(&[integration]);
            metrics.requests_failed.with_label_values(&[integration]);
            metrics.latency.with_label_values(&[integration]);
        }
        metrics
    }

    fn register(&self, registry: &Registry) {
        for collector in [
            Box::new(self.notifications.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(self.notifications_failed.clone()),
            Box::new(self.requests.clone()),
            Box::new(self.requests_failed.clone()),
            Box::new(self.latency.clone()),
        ] {
            registry.register(collector).expect("metric registered once");
        }
    }
}

/// The registry and every metric Klaxon updates.
pub struct Metrics {
    /// The registry `/metrics` gathers; the cluster layer adds its series here.
    pub registry: Registry,
    /// `alertmanager_cluster_enabled`.
    pub cluster_enabled: Gauge,
    /// `alertmanager_alerts_received_total{status,version}` (API version `v2`; `v1` stays 0).
    pub alerts_received: IntCounterVec,
    /// `alertmanager_alerts_invalid_total{version}`.
    pub alerts_invalid: IntCounterVec,
    /// `alertmanager_alerts{state}`, set at scrape time.
    pub alerts: GaugeVec,
    /// `alertmanager_silences{state}`, set at scrape time.
    pub silences: GaugeVec,
    config_last_reload_successful: Gauge,
    config_last_reload_success_timestamp: Gauge,
    config_hash: Gauge,
    notify: NotifyMetrics,
    /// `alertmanager_dispatcher_aggregation_groups`, set at scrape time.
    pub aggregation_groups: Gauge,
    /// Notification log, silence, dispatcher and configuration families.
    pub pipeline: PipelineMetrics,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let alerts_received = IntCounterVec::new(
            Opts::new("alertmanager_alerts_received_total", "The total number of received alerts."),
            &["status", "version"],
        )
        .expect("valid metric");
        let alerts_invalid = IntCounterVec::new(
            Opts::new(
                "alertmanager_alerts_invalid_total",
                "The total number of received alerts that were invalid.",
            ),
            &["version"],
        )
        .expect("valid metric");
        // Alertmanager 0.25 still serves API v1 and exposes its series at 0.
        for version in ["v1", "v2"] {
            alerts_invalid.with_label_values(&[version]);
            for status in ["firing", "resolved"] {
                alerts_received.with_label_values(&[status, version]);
            }
        }
        let alerts = GaugeVec::new(
            Opts::new("alertmanager_alerts", "How many alerts by state."),
            &["state"],
        )
        .expect("valid metric");
        let silences = GaugeVec::new(
            Opts::new("alertmanager_silences", "How many silences by state."),
            &["state"],
        )
        .expect("valid metric");
        let config_last_reload_successful = Gauge::new(
            "alertmanager_config_last_reload_successful",
            "Whether the last configuration reload attempt was successful.",
        )
        .expect("valid metric");
        let config_last_reload_success_timestamp = Gauge::new(
            "alertmanager_config_last_reload_success_timestamp_seconds",
            "Timestamp of the last successful configuration reload.",
        )
        .expect("valid metric");
        let config_hash = Gauge::new(
            "alertmanager_config_hash",
            "Hash of the currently loaded alertmanager configuration.",
        )
        .expect("valid metric");
        let build_info = GaugeVec::new(
            Opts::new(
                "alertmanager_build_info",
                "A metric with a constant '1' value labeled by version.",
            ),
            &["version", "branch", "revision", "goversion", "goarch", "goos"],
        )
        .expect("valid metric");
        // Dashboards group by Go's platform names.
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            other => other,
        };
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION"), "", "", "", arch, std::env::consts::OS])
            .set(1.0);
        let cluster_enabled = Gauge::new(
            "alertmanager_cluster_enabled",
            "Indicates whether the clustering is enabled or not.",
        )
        .expect("valid metric");
        for collector in [
            Box::new(alerts_received.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(alerts_invalid.clone()),
            Box::new(alerts.clone()),
            Box::new(silences.clone()),
            Box::new(config_last_reload_successful.clone()),
            Box::new(config_last_reload_success_timestamp.clone()),
            Box::new(config_hash.clone()),
            Box::new(build_info),
            Box::new(cluster_enabled.clone()),
            Box::new(prometheus::process_collector::ProcessCollector::for_self()),
        ] {
            registry.register(collector).expect("metric registered once");
        }
        let notify = NotifyMetrics::new();
        notify.register(&registry);
        let aggregation_groups = Gauge::new(
            "alertmanager_dispatcher_aggregation_groups",
            "Number of active aggregation groups",
        )
        .expect("valid metric");
        registry.register(Box::new(aggregation_groups.clone())).expect("metric registered once");
        let pipeline = PipelineMetrics::register(&registry);
        Metrics {
            registry,
            cluster_enabled,
            alerts_received,
            alerts_invalid,
            alerts,
            silences,
            config_last_reload_successful,
            config_last_reload_success_timestamp,
            config_hash,
            notify,
            aggregation_groups,
            pipeline,
        }
    }

    /// Counts a notification pipeline event.
    pub fn notify_event(&self, event: NotifyEvent<'_>) {
        let notify = &self.notify;
        match event {
            NotifyEvent::Notification { integration } => {
                notify.notifications.with_label_values(&[integration]).inc();
            }
            NotifyEvent::NotificationFailed { integration } => {
                notify.notifications_failed.with_label_values(&[integration]).inc();
            }
            NotifyEvent::Request { integration, latency, failed } => {
                notify.requests.with_label_values(&[integration]).inc();
                if failed {
                    notify.requests_failed.with_label_values(&[integration]).inc();
                }
                notify.latency.with_label_values(&[integration]).observe(latency.as_secs_f64());
            }
        }
    }

    /// Records a reload attempt; `original` is the loaded configuration on success.
    pub fn config_reloaded(&self, success: bool, now: DateTime<Utc>, original: &str) {
        self.config_last_reload_successful.set(if success { 1.0 } else { 0.0 });
        if success {
            self.config_last_reload_success_timestamp.set(now.timestamp() as f64);
            let hash = fnv_hash_of(original);
            // A gauge holds an f64; keep the 53 bits it represents exactly.
            self.config_hash.set((hash >> 11) as f64);
        }
    }

    /// The registry, for collectors other modules own (the alert generator's).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer).expect("encode metrics");
        String::from_utf8(buffer).expect("metrics are UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// A stable 64-bit hash of the configuration text (FNV-1a; Alertmanager hashes the file with MD5).
fn fnv_hash_of(text: &str) -> u64 {
    let mut hash: u64 = 14695981039346656037;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(1099511628211);
    }
    hash
}
