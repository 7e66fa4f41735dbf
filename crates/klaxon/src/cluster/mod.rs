//! Alertmanager's cluster layer on top of the [`gossip`] driver: the node's name and
//! addresses from the `--cluster.*` flags, the `nfl` and `sil` states as `clusterpb` parts,
//! the broadcast rule for local changes, settle (a stable member count) gating the
//! notification pipeline, the position the wait stage reads, and the cluster's part of
//! `/api/v2/status` and `/metrics`. With `--cluster.tls-config`, the driver gossips over
//! Alertmanager's TLS transport instead of UDP and TCP.
//!
//! - `state.rs`: the delegate (full state for push/pull) and the events (merging peers'
//!   parts into the silences and the notification log, re-gossip, persistence hand-off).
//! - `settle.rs`: Alertmanager's settle loop.
//! - `ulid.rs`: the default peer name.
//! - `metrics.rs`: the `alertmanager_cluster_*` series.
//! - `tls_metrics.rs`: the `alertmanager_tls_transport_*` series.

mod metrics;
mod settle;
mod state;
mod tls_metrics;
mod ulid;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use alertmanager::config::cluster_tls::ClusterTlsConfig;
use gossip::clusterpb::Part;
use gossip::{Cluster, NetConfig, Node, TlsTransport};
use prost::Message;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::{mpsc, watch};

use crate::app::App;
use crate::flags::ClusterFlags;

pub use metrics::ClusterMetrics;
use state::{AppEvents, StateDelegate};

/// The state keys Alertmanager registers, in its registration order.
pub const NFLOG_KEY: &str = "nfl";
/// The silences' state key.
pub const SILENCES_KEY: &str = "sil";

/// Alertmanager's `--cluster.*` flags turned into what the driver needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Our member name.
    pub name: String,
    /// Where the sockets bind.
    pub bind: SocketAddr,
    /// What peers are told to reach us at.
    pub advertise: SocketAddr,
    /// The protocol settings.
    pub gossip: gossip::Config,
    /// The driver's settings.
    pub net: NetConfig,
    /// The wait per position.
    pub peer_timeout: Duration,
    /// Upper bound on settling.
    pub settle_timeout: Duration,
}

impl Settings {
    /// `None` when `--cluster.listen-address` is empty (HA disabled); an error names the bad
    /// flag.
    pub fn from_flags(flags: &ClusterFlags) -> Result<Option<Settings>, String> {
        if flags.listen_address.is_empty() {
            return Ok(None);
        }
        let bind: SocketAddr = flags.listen_address.parse().map_err(|e| {
            format!("invalid --cluster.listen-address {:?}: {e}", flags.listen_address)
        })?;
        let advertise = advertise_address(flags, bind)?;
        let name = if flags.peer_name.is_empty() {
            ulid::generate(std::time::SystemTime::now(), &mut rand::rng())
        } else {
            flags.peer_name.clone()
        };
        // Alertmanager's `retransmit`: max(len(--cluster.peer)/2, 3), for both the gossip
        // fan-out and the user broadcasts' retransmit multiplier.
        let retransmit = (flags.peer.len() / 2).max(3);
        let gossip = gossip::Config {
            label: flags.label.clone(),
            probe_interval: flags.probe_interval,
            probe_timeout: flags.probe_timeout,
            gossip_interval: flags.gossip_interval,
            gossip_nodes: retransmit,
            push_pull_interval: flags.pushpull_interval,
            user_retransmit_mult: u32::try_from(retransmit).unwrap_or(u32::MAX),
            ..gossip::Config::default()
        };
        let mut net = NetConfig::new(bind, flags.peer.clone());
        net.tcp_timeout = flags.tcp_timeout;
        net.resolve_timeout = flags.peers_resolve_timeout;
        net.reconnect_interval = flags.reconnect_interval;
        net.reconnect_timeout = flags.reconnect_timeout;
        if let Some(path) = &flags.tls_config {
            let tls = ClusterTlsConfig::load_file(path)
                .map_err(|e| format!("invalid --cluster.tls-config: {e}"))?;
            net.tls =
                Some(TlsTransport { server: Arc::new(tls.server), client: Arc::new(tls.client) });
        }
        Ok(Some(Settings {
            name,
            bind,
            advertise,
            gossip,
            net,
            peer_timeout: flags.peer_timeout,
            settle_timeout: flags.settle_timeout,
        }))
    }
}

/// The advertised address: the flag (an IP literal with a port), or the bind address; a
/// wildcard bind advertises the first private IPv4 address of the host, as Alertmanager
/// does, falling back to a public one only when the insecure flag allows it.
fn advertise_address(flags: &ClusterFlags, bind: SocketAddr) -> Result<SocketAddr, String> {
    if let Some(text) = flags.advertise_address.as_deref().filter(|t| !t.is_empty()) {
        return text.parse().map_err(|e| {
            format!("invalid --cluster.advertise-address {text:?} (must be ip:port): {e}")
        });
    }
    if !bind.ip().is_unspecified() {
        return Ok(bind);
    }
    let ip = host_ip(flags.allow_insecure_public_advertise_address_discovery).ok_or_else(|| {
        "no private IP address found, and explicit IP not provided (set --cluster.advertise-address)"
            .to_owned()
    })?;
    Ok(SocketAddr::new(ip, bind.port()))
}

/// The address the host uses for outbound traffic, which is what a wildcard bind is reached
/// at; only private addresses unless `allow_public`.
fn host_ip(allow_public: bool) -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // Connecting a UDP socket sends nothing; it only picks the route and source address.
    socket.connect("10.255.255.255:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    let private = match ip {
        std::net::IpAddr::V4(v4) => v4.is_private() || v4.is_loopback(),
        std::net::IpAddr::V6(_) => false,
    };
    (private || allow_public).then_some(ip)
}

/// The running cluster peer: what the rest of Klaxon sees of the cluster.
pub struct ClusterPeer {
    gossip: Cluster<StateDelegate>,
    name: String,
    advertise: SocketAddr,
    peer_timeout: Duration,
    ready: watch::Receiver<bool>,
    metrics: Arc<ClusterMetrics>,
    probe_interval: Duration,
    /// When [`ClusterPeer::probe_soon`] last reached the gossip layer.
    last_probe_request: std::sync::Mutex<Option<std::time::Instant>>,
}

impl ClusterPeer {
    /// Starts the driver for `app` (whose silences and notification log are already
    /// restored, so the first push/pull carries them), joins the seeds and starts settling.
    /// Merged silences go to `persist` for the store.
    pub async fn start(
        settings: Settings,
        app: &Arc<App>,
        persist: mpsc::Sender<Vec<u8>>,
    ) -> Result<Arc<ClusterPeer>, String> {
        let tls = settings.net.tls.is_some();
        let metrics = Arc::new(ClusterMetrics::new(&app.metrics.registry, tls));
        let events = Arc::new(AppEvents::new(Arc::downgrade(app), persist, metrics.clone()));
        let delegate = StateDelegate::new(Arc::downgrade(app), metrics.clone());
        let (name, advertise, config) =
            (settings.name.clone(), settings.advertise, settings.gossip.clone());
        let make_node =
            move || Node::with_delegate(config, &name, advertise, StdRng::from_os_rng(), delegate);
        let gossip = Cluster::start(settings.net.clone(), make_node, events.clone())
            .await
            .map_err(|e| format!("cluster listen on {}: {e}", settings.bind))?;
        let (ready_sender, ready) = watch::channel(false);
        let peer = Arc::new(ClusterPeer {
            gossip: gossip.clone(),
            name: settings.name.clone(),
            advertise,
            peer_timeout: settings.peer_timeout,
            ready,
            metrics,
            probe_interval: settings.gossip.probe_interval,
            last_probe_request: std::sync::Mutex::new(None),
        });
        events.attach(Arc::downgrade(&peer));
        let interval = settings.gossip.gossip_interval * 10;
        tokio::spawn(settle::settle(
            Arc::downgrade(&peer),
            interval,
            settings.settle_timeout,
            ready_sender,
        ));
        tokio::spawn(metrics::refresh(Arc::downgrade(&peer)));
        tracing::info!(name = %peer.name, addr = %advertise, "Cluster peer started");
        Ok(peer)
    }

    /// Our member name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether settling is over (0.25's `Ready()`).
    pub fn ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// The settle flag, for the pipeline's gate.
    pub fn ready_receiver(&self) -> watch::Receiver<bool> {
        self.ready.clone()
    }

    /// `ready` or `settling`, as `/api/v2/status` reports it.
    pub fn status(&self) -> &'static str {
        if self.ready() { "ready" } else { "settling" }
    }

    /// Alive and suspect members sorted by name, as `(name, address)`.
    pub fn peers(&self) -> Vec<(String, SocketAddr)> {
        self.gossip.members().into_iter().map(|m| (m.name, m.addr)).collect()
    }

    /// Names of the members sorted before us.
    pub fn peers_ahead(&self) -> Vec<String> {
        let members = self.gossip.members();
        members.into_iter().map(|m| m.name).take_while(|name| *name != self.name).collect()
    }

    /// Has the gossip layer probe `names` next, out of its round-robin order, at most once
    /// per probe interval (every flush's wait stage asks, and the probes must not starve
    /// the round-robin ones). The wait stage ends early once the members ahead are declared
    /// dead; without this, a crashed one is first probed whenever some member's round-robin
    /// reaches it, which in a 5-node cluster took up to 4 s of the failover.
    pub fn probe_soon(&self, names: &[String]) {
        let now = std::time::Instant::now();
        {
            let mut last = self.last_probe_request.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|at| now.duration_since(at) < self.probe_interval) {
                return;
            }
            *last = Some(now);
        }
        self.gossip.with_node(|node, _| names.iter().for_each(|name| node.probe_soon(name)));
    }

    /// `--cluster.peer-timeout`.
    pub fn peer_timeout(&self) -> Duration {
        self.peer_timeout
    }

    /// Our index among the members (0.25's `Position()`).
    pub fn position(&self) -> usize {
        self.gossip.position()
    }

    /// 0.25's `clusterWait`: position × peer timeout.
    pub fn wait(&self) -> Duration {
        self.peer_timeout * u32::try_from(self.position()).unwrap_or(u32::MAX)
    }

    /// The address we advertise.
    pub fn advertise(&self) -> SocketAddr {
        self.advertise
    }

    /// Broadcasts local changes of one state (each buffer a delimited stream of entries),
    /// pushing them to peers at once rather than on the next gossip tick.
    pub fn broadcast(&self, key: &str, buffers: Vec<Vec<u8>>) {
        for data in buffers {
            self.send_part(key, data, true);
        }
    }

    /// Passes a merged buffer on (0.25's re-gossip), on the gossip timer as 0.25 does.
    fn regossip(&self, key: &str, data: Vec<u8>) {
        self.send_part(key, data, false);
    }

    fn send_part(&self, key: &str, data: Vec<u8>, push_now: bool) {
        let part = Part { key: key.to_owned(), data }.encode_to_vec();
        self.metrics.sent(part.len(), "update");
        if part.len() > gossip::MAX_GOSSIP_MESSAGE {
            self.metrics.oversized_sent(key);
        }
        self.gossip.broadcast_tagged(key, part, push_now);
    }

    /// Leaves the cluster, waiting up to 10s for the news to go out (0.25's `Leave(10s)`).
    pub async fn leave(&self) {
        self.gossip.leave(Duration::from_secs(10)).await;
    }

    fn gossip(&self) -> &Cluster<StateDelegate> {
        &self.gossip
    }
}

#[cfg(test)]
mod tests {
    use super::Settings;
    use crate::flags::Cli;
    use clap::Parser;
    use std::time::Duration;

    fn settings(args: &[&str]) -> Result<Option<Settings>, String> {
        let mut argv = vec!["klaxon"];
        argv.extend_from_slice(args);
        Settings::from_flags(&Cli::try_parse_from(argv).unwrap().server.cluster)
    }

    #[test]
    fn alertmanager_defaults() {
        let s = settings(&["--cluster.listen-address=127.0.0.1:9094"]).unwrap().unwrap();
        assert_eq!(s.name.len(), 26, "a ULID");
        assert_eq!(s.advertise, s.bind);
        assert_eq!(s.gossip.gossip_interval, Duration::from_millis(200));
        assert_eq!(s.gossip.push_pull_interval, Duration::from_secs(60));
        assert_eq!(s.gossip.probe_interval, Duration::from_secs(1));
        assert_eq!(s.gossip.probe_timeout, Duration::from_millis(500));
        assert_eq!((s.gossip.gossip_nodes, s.gossip.user_retransmit_mult), (3, 3));
        assert_eq!(s.gossip.label, "");
        assert_eq!(s.peer_timeout, Duration::from_secs(15));
        assert_eq!(s.settle_timeout, Duration::from_secs(60));
        assert_eq!(s.net.tcp_timeout, Duration::from_secs(10));
        assert_eq!(s.net.reconnect_interval, Duration::from_secs(10));
        assert_eq!(s.net.reconnect_timeout, Duration::from_secs(6 * 3600));
        assert_eq!(s.net.resolve_timeout, Duration::from_secs(15));
    }

    #[test]
    fn flags_are_honoured() {
        let peers: Vec<String> =
            (0..8).map(|i| format!("--cluster.peer=10.0.0.{i}:9094")).collect();
        let mut args = vec![
            "--cluster.listen-address=0.0.0.0:9094",
            "--cluster.advertise-address=10.1.2.3:9000",
            "--cluster.peer-name=am-a",
            "--cluster.label=prod",
            "--cluster.gossip-interval=50ms",
            "--cluster.peer-timeout=3s",
        ];
        args.extend(peers.iter().map(String::as_str));
        let s = settings(&args).unwrap().unwrap();
        assert_eq!(s.name, "am-a");
        assert_eq!(s.advertise, "10.1.2.3:9000".parse().unwrap());
        assert_eq!(s.gossip.label, "prod");
        assert_eq!(s.gossip.gossip_interval, Duration::from_millis(50));
        assert_eq!(s.peer_timeout, Duration::from_secs(3));
        // Alertmanager's retransmit: max(len(peers) / 2, 3).
        assert_eq!((s.gossip.gossip_nodes, s.gossip.user_retransmit_mult), (4, 4));
        assert_eq!(s.net.peers.len(), 8);
    }

    #[test]
    fn disabled_and_bad_values() {
        assert!(settings(&["--cluster.listen-address="]).unwrap().is_none());
        let error = settings(&["--cluster.advertise-address=host:9094"]).unwrap_err();
        assert!(error.contains("--cluster.advertise-address"), "{error}");
        let error = settings(&["--cluster.listen-address=nope"]).unwrap_err();
        assert!(error.contains("--cluster.listen-address"), "{error}");
    }
}
