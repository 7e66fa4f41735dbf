//! The `alertmanager_tls_transport_*` series 0.25 registers when it gossips over its TLS
//! transport (`--cluster.tls-config`), fed by the driver's [`TransportEvent`]s.

use gossip::TransportEvent;
use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

/// The TLS transport's counters.
pub(super) struct TlsTransportMetrics {
    packet_bytes_sent: IntCounter,
    packet_bytes_received: IntCounter,
    streams_sent: IntCounter,
    streams_received: IntCounter,
    read_errors: IntCounter,
    write_errors: IntCounterVec,
}

impl TlsTransportMetrics {
    /// Registers the series in `registry`.
    pub(super) fn new(registry: &Registry) -> TlsTransportMetrics {
        let counter = |name: &str, help: &str| {
            IntCounter::new(format!("alertmanager_tls_transport_{name}"), help)
                .expect("valid metric")
        };
        let metrics = TlsTransportMetrics {
            packet_bytes_sent: counter(
                "packet_bytes_sent_total",
                "The number of packet bytes sent to outgoing connections (excluding internal metadata).",
            ),
            packet_bytes_received: counter(
                "packet_bytes_received_total",
                "The number of packet bytes received from incoming connections (excluding internal metadata).",
            ),
            streams_sent: counter(
                "stream_connections_sent_total",
                "The number of stream connections sent.",
            ),
            streams_received: counter(
                "stream_connections_received_total",
                "The number of stream connections received.",
            ),
            read_errors: counter(
                "read_errors_total",
                "The number of errors encountered while reading from incoming connections.",
            ),
            write_errors: IntCounterVec::new(
                Opts::new(
                    "alertmanager_tls_transport_write_errors_total",
                    "The number of errors encountered while writing to outgoing connections.",
                ),
                &["connection_type"],
            )
            .expect("valid metric"),
        };
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(metrics.packet_bytes_sent.clone()),
            Box::new(metrics.packet_bytes_received.clone()),
            Box::new(metrics.streams_sent.clone()),
            Box::new(metrics.streams_received.clone()),
            Box::new(metrics.read_errors.clone()),
            Box::new(metrics.write_errors.clone()),
        ];
        for collector in collectors {
            registry.register(collector).expect("metric registered once");
        }
        metrics
    }

    /// Counts one event.
    pub(super) fn record(&self, event: TransportEvent) {
        let bytes = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        match event {
            TransportEvent::PacketSent(n) => self.packet_bytes_sent.inc_by(bytes(n)),
            TransportEvent::PacketReceived(n) => self.packet_bytes_received.inc_by(bytes(n)),
            TransportEvent::StreamSent => self.streams_sent.inc(),
            TransportEvent::StreamReceived => self.streams_received.inc(),
            TransportEvent::ReadError => self.read_errors.inc(),
            TransportEvent::WriteError { stream } => {
                let kind = if stream { "stream" } else { "packet" };
                self.write_errors.with_label_values(&[kind]).inc();
            }
        }
    }
}
