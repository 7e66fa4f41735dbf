//! The `alertmanager_cluster_*` series 0.25 exports, fed by the cluster layer's events and
//! refreshed from the member table once a second. The driver reports how its joins and
//! oversized sends ended; as in 0.25, a join counts once it has ended, as a success or a
//! failure, and an oversized send's duration is observed only when it succeeded.

use std::collections::BTreeMap;
use std::sync::Weak;
use std::time::Duration;

use gossip::EventKind;
use prometheus::{
    Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
};

use super::ClusterPeer;
use super::tls_metrics::TlsTransportMetrics;

/// The cluster's metrics.
pub struct ClusterMetrics {
    members: Gauge,
    position: Gauge,
    health_score: Gauge,
    peer_info: GaugeVec,
    failed_peers: Gauge,
    received: IntCounterVec,
    received_size: IntCounterVec,
    sent: IntCounterVec,
    sent_size: IntCounterVec,
    joined: IntCounter,
    left: IntCounter,
    updated: IntCounter,
    conflicts: IntCounter,
    reconnections: IntCounter,
    reconnections_failed: IntCounter,
    refresh_joins: IntCounter,
    refresh_joins_failed: IntCounter,
    pings: HistogramVec,
    alive_messages: IntCounterVec,
    queued: Gauge,
    pruned: IntCounter,
    oversized_sent: IntCounterVec,
    tls_transport: Option<TlsTransportMetrics>,
    oversized_dropped: IntCounterVec,
    oversized_failed: IntCounterVec,
    oversized_duration: HistogramVec,
}

fn counter(name: &str, help: &str) -> IntCounter {
    IntCounter::new(name, help).expect("valid metric")
}

fn by_key(name: &str, help: &str) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), &["key"]).expect("valid metric")
}

fn by_type(name: &str, help: &str) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), &["msg_type"]).expect("valid metric")
}

impl ClusterMetrics {
    /// Registers the series in `registry`, and the TLS transport's with `tls_transport`.
    pub fn new(registry: &Registry, tls_transport: bool) -> ClusterMetrics {
        let gauge = |name: &str, help: &str| Gauge::new(name, help).expect("valid metric");
        let metrics = ClusterMetrics {
            members: gauge(
                "alertmanager_cluster_members",
                "Number indicating current number of members in cluster.",
            ),
            position: gauge(
                "alertmanager_peer_position",
                "Position the Alertmanager instance believes it is in. The position determines a peer's behavior in the cluster.",
            ),
            health_score: gauge(
                "alertmanager_cluster_health_score",
                "Health score of the cluster. Lower values are better and zero means 'totally healthy'.",
            ),
            peer_info: GaugeVec::new(
                Opts::new(
                    "alertmanager_cluster_peer_info",
                    "A metric with a constant '1' value labeled by peer name.",
                ),
                &["peer"],
            )
            .expect("valid metric"),
            failed_peers: gauge(
                "alertmanager_cluster_failed_peers",
                "Number indicating the current number of failed peers in the cluster.",
            ),
            received: by_type(
                "alertmanager_cluster_messages_received_total",
                "Total number of cluster messages received.",
            ),
            received_size: by_type(
                "alertmanager_cluster_messages_received_size_total",
                "Total size of cluster messages received.",
            ),
            sent: by_type(
                "alertmanager_cluster_messages_sent_total",
                "Total number of cluster messages sent.",
            ),
            sent_size: by_type(
                "alertmanager_cluster_messages_sent_size_total",
                "Total size of cluster messages sent.",
            ),
            joined: counter(
                "alertmanager_cluster_peers_joined_total",
                "A counter of the number of peers that have joined.",
            ),
            left: counter(
                "alertmanager_cluster_peers_left_total",
                "A counter of the number of peers that have left.",
            ),
            updated: counter(
                "alertmanager_cluster_peers_update_total",
                "A counter of the number of peers that have updated metadata.",
            ),
            conflicts: counter(
                "alertmanager_cluster_peer_name_conflicts_total",
                "Total number of times memberlist has noticed conflicting peer names.",
            ),
            reconnections: counter(
                "alertmanager_cluster_reconnections_total",
                "A counter of the number of cluster peer reconnections.",
            ),
            reconnections_failed: counter(
                "alertmanager_cluster_reconnections_failed_total",
                "A counter of the number of failed cluster peer reconnection attempts.",
            ),
            refresh_joins: counter(
                "alertmanager_cluster_refresh_join_total",
                "A counter of the number of cluster peer joined via refresh.",
            ),
            refresh_joins_failed: counter(
                "alertmanager_cluster_refresh_join_failed_total",
                "A counter of the number of failed cluster peer joined attempts via refresh.",
            ),
            pings: HistogramVec::new(
                HistogramOpts::new(
                    "alertmanager_cluster_pings_seconds",
                    "Histogram of latencies for ping messages.",
                )
                .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
                &["peer"],
            )
            .expect("valid metric"),
            alive_messages: IntCounterVec::new(
                Opts::new(
                    "alertmanager_cluster_alive_messages_total",
                    "Total number of received alive messages.",
                ),
                &["peer"],
            )
            .expect("valid metric"),
            tls_transport: tls_transport.then(|| TlsTransportMetrics::new(registry)),
            queued: gauge(
                "alertmanager_cluster_messages_queued",
                "Number of cluster messages which are queued.",
            ),
            pruned: counter(
                "alertmanager_cluster_messages_pruned_total",
                "Total number of cluster messages pruned.",
            ),
            oversized_sent: by_key(
                "alertmanager_oversized_gossip_message_sent_total",
                "Number of oversized gossip message sent.",
            ),
            // Always 0: oversized messages go straight to the driver's TCP sends, with no
            // bounded hand-off queue to overflow (0.25 drops them beyond 200 waiting).
            oversized_dropped: by_key(
                "alertmanager_oversized_gossip_message_dropped_total",
                "Number of oversized gossip message drops due to a full message queue.",
            ),
            oversized_failed: by_key(
                "alertmanager_oversized_gossip_message_failure_total",
                "Number of oversized gossip message sends that failed.",
            ),
            // Go's default buckets, which 0.25 uses here.
            oversized_duration: HistogramVec::new(
                HistogramOpts::new(
                    "alertmanager_oversize_gossip_message_duration_seconds",
                    "Duration of oversized gossip message requests.",
                )
                .buckets(prometheus::DEFAULT_BUCKETS.to_vec()),
                &["key"],
            )
            .expect("valid metric"),
        };
        // 0.25 creates these per state as it registers the state.
        for key in [super::NFLOG_KEY, super::SILENCES_KEY] {
            metrics.oversized_sent.with_label_values(&[key]);
            metrics.oversized_dropped.with_label_values(&[key]);
            metrics.oversized_failed.with_label_values(&[key]);
            metrics.oversized_duration.with_label_values(&[key]);
        }
        for msg_type in ["full_state", "update"] {
            for vec in
                [&metrics.received, &metrics.received_size, &metrics.sent, &metrics.sent_size]
            {
                vec.with_label_values(&[msg_type]);
            }
        }
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(metrics.members.clone()),
            Box::new(metrics.position.clone()),
            Box::new(metrics.health_score.clone()),
            Box::new(metrics.peer_info.clone()),
            Box::new(metrics.failed_peers.clone()),
            Box::new(metrics.received.clone()),
            Box::new(metrics.received_size.clone()),
            Box::new(metrics.sent.clone()),
            Box::new(metrics.sent_size.clone()),
            Box::new(metrics.joined.clone()),
            Box::new(metrics.left.clone()),
            Box::new(metrics.updated.clone()),
            Box::new(metrics.conflicts.clone()),
            Box::new(metrics.reconnections.clone()),
            Box::new(metrics.reconnections_failed.clone()),
            Box::new(metrics.refresh_joins.clone()),
            Box::new(metrics.refresh_joins_failed.clone()),
            Box::new(metrics.pings.clone()),
            Box::new(metrics.alive_messages.clone()),
            Box::new(metrics.queued.clone()),
            Box::new(metrics.pruned.clone()),
            Box::new(metrics.oversized_sent.clone()),
            Box::new(metrics.oversized_dropped.clone()),
            Box::new(metrics.oversized_failed.clone()),
            Box::new(metrics.oversized_duration.clone()),
        ];
        for collector in collectors {
            registry.register(collector).expect("metric registered once");
        }
        metrics
    }

    pub(crate) fn sent(&self, size: usize, msg_type: &str) {
        self.sent.with_label_values(&[msg_type]).inc();
        self.sent_size.with_label_values(&[msg_type]).inc_by(size as u64);
    }

    pub(crate) fn received(&self, size: usize, msg_type: &str) {
        self.received.with_label_values(&[msg_type]).inc();
        self.received_size.with_label_values(&[msg_type]).inc_by(size as u64);
    }

    pub(crate) fn oversized_sent(&self, key: &str) {
        self.oversized_sent.with_label_values(&[key]).inc();
    }

    pub(crate) fn member_event(&self, kind: EventKind, name: &str) {
        match kind {
            EventKind::Join => {
                self.joined.inc();
                self.peer_info.with_label_values(&[name]).set(1.0);
            }
            EventKind::Leave => {
                self.left.inc();
                let _ = self.peer_info.remove_label_values(&[name]);
            }
            EventKind::Update => self.updated.inc(),
        }
    }

    pub(crate) fn ping(&self, peer: &str, rtt: Duration) {
        self.pings.with_label_values(&[peer]).observe(rtt.as_secs_f64());
    }

    pub(crate) fn conflict(&self) {
        self.conflicts.inc();
    }

    pub(crate) fn join_outcome(&self, refresh: bool, joined: bool) {
        let counter = match (refresh, joined) {
            (true, true) => &self.refresh_joins,
            (true, false) => &self.refresh_joins_failed,
            (false, true) => &self.reconnections,
            (false, false) => &self.reconnections_failed,
        };
        counter.inc();
    }

    /// One oversized message's TCP send to one peer: how long it took, `None` if it failed.
    pub(crate) fn oversized_outcome(&self, key: &str, took: Option<Duration>) {
        match took {
            Some(took) => {
                self.oversized_duration.with_label_values(&[key]).observe(took.as_secs_f64())
            }
            None => self.oversized_failed.with_label_values(&[key]).inc(),
        }
    }

    pub(crate) fn transport(&self, event: gossip::TransportEvent) {
        if let Some(tls) = &self.tls_transport {
            tls.record(event);
        }
    }
}

/// Keeps the gauges read from the member table current, once a second, while the peer lives.
pub(crate) async fn refresh(peer: Weak<ClusterPeer>) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    // The node's running totals as last copied, so the counters advance by the difference.
    let mut counted = Totals::default();
    loop {
        ticker.tick().await;
        let Some(peer) = peer.upgrade() else { return };
        let (members, position, health, failed, totals) = peer.gossip().with_node(|node, _| {
            let failed =
                node.all_members().filter(|m| m.state == gossip::MemberState::Dead).count();
            let totals = Totals {
                queued: node.queued_user_messages(),
                pruned: node.pruned_user_messages(),
                alive: node.alive_messages().clone(),
            };
            (node.members().len(), node.position(), node.health_score(), failed, totals)
        });
        let metrics = &peer.metrics;
        metrics.members.set(members as f64);
        metrics.position.set(position as f64);
        metrics.health_score.set(f64::from(health));
        metrics.failed_peers.set(failed as f64);
        metrics.queued.set(totals.queued as f64);
        metrics.pruned.inc_by(totals.pruned.saturating_sub(counted.pruned));
        for (name, &count) in &totals.alive {
            let before = counted.alive.get(name).copied().unwrap_or(0);
            metrics.alive_messages.with_label_values(&[name]).inc_by(count.saturating_sub(before));
        }
        counted = totals;
    }
}

/// What the refresh copies from the gossip node each second.
#[derive(Default)]
struct Totals {
    queued: usize,
    pruned: u64,
    alive: BTreeMap<String, u64>,
}
