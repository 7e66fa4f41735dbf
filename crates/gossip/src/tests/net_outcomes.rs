//! What the driver reports of its joins and oversized sends, over real loopback sockets
//! (127.0.0.240–243): a seed that refuses connections fails both the reconnect timer's and
//! the refresh timer's joins until it comes up, and then a join succeeds; an oversized
//! message reports how long it took to a live peer and a failure to one that is gone.

use crate::net::{Cluster, Events, MAX_GOSSIP_MESSAGE, NetConfig};
use crate::node::{Config, NoDelegate, Node};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A join's outcome: (target, from the refresh timer, joined).
type JoinOutcome = (SocketAddr, bool, bool);
/// An oversized send's outcome: (tag, target, succeeded).
type SendOutcome = (String, SocketAddr, bool);

#[derive(Default)]
struct Outcomes {
    joins: Mutex<Vec<JoinOutcome>>,
    sends: Mutex<Vec<SendOutcome>>,
}

impl Events for Outcomes {
    fn join_outcome(&self, to: SocketAddr, refresh: bool, joined: bool) {
        self.joins.lock().unwrap().push((to, refresh, joined));
    }
    fn reliable_sent(&self, tag: &str, to: SocketAddr, took: Option<Duration>) {
        self.sends.lock().unwrap().push((tag.to_owned(), to, took.is_some()));
    }
}

impl Outcomes {
    fn joined(&self, outcome: JoinOutcome) -> bool {
        self.joins.lock().unwrap().contains(&outcome)
    }
    fn sent(&self, tag: &str, to: SocketAddr, succeeded: bool) -> bool {
        self.sends.lock().unwrap().contains(&(tag.to_owned(), to, succeeded))
    }
}

/// Starts `name` at `addr` with seeds `peers`; `timers` sets both the reconnect and the
/// refresh interval, and `config` the protocol's.
async fn start(
    name: &'static str,
    addr: SocketAddr,
    peers: Vec<String>,
    timers: Duration,
    config: Config,
) -> (Cluster<NoDelegate>, Arc<Outcomes>) {
    let mut net = NetConfig::new(addr, peers);
    net.reconnect_interval = timers;
    net.refresh_interval = timers;
    let outcomes = Arc::new(Outcomes::default());
    let make =
        move || Node::with_delegate(config, name, addr, SmallRng::seed_from_u64(2), NoDelegate);
    let cluster = Cluster::start(net, make, outcomes.clone()).await.expect("bind loopback");
    (cluster, outcomes)
}

async fn until(what: &str, check: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "not within 20s: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn fast() -> Config {
    Config {
        probe_interval: Duration::from_millis(200),
        probe_timeout: Duration::from_millis(100),
        gossip_interval: Duration::from_millis(50),
        ..Config::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn joins_to_a_refusing_seed_fail_until_it_comes_up() {
    let a_addr: SocketAddr = "127.0.0.240:7946".parse().unwrap();
    let b_addr: SocketAddr = "127.0.0.241:7946".parse().unwrap();
    let timers = Duration::from_millis(100);
    // Nothing listens at b's address yet: every connection there is refused.
    let (a, outcomes) = start("a", a_addr, vec![b_addr.to_string()], timers, fast()).await;
    until("a reconnect join failed", || outcomes.joined((b_addr, false, false))).await;
    until("a refresh join failed", || outcomes.joined((b_addr, true, false))).await;
    assert!(!outcomes.joins.lock().unwrap().iter().any(|&(_, _, joined)| joined));

    let (b, _) = start("b", b_addr, vec![], timers, fast()).await;
    until("a join to b succeeded", || {
        outcomes.joined((b_addr, false, true)) || outcomes.joined((b_addr, true, true))
    })
    .await;
    until("a lists b", || a.members().len() == 2).await;
    a.stop();
    b.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_sends_report_their_duration_or_failure() {
    let a_addr: SocketAddr = "127.0.0.242:7946".parse().unwrap();
    let b_addr: SocketAddr = "127.0.0.243:7946".parse().unwrap();
    let timers = Duration::from_millis(200);
    // Protocol defaults (1s probes): after b stops, a keeps it as a member for seconds, long
    // enough to send to it once its sockets are closed.
    let (a, outcomes) = start("a", a_addr, vec![], timers, Config::default()).await;
    let (b, _) = start("b", b_addr, vec![a_addr.to_string()], timers, Config::default()).await;
    until("both list both", || a.members().len() == 2 && b.members().len() == 2).await;

    a.broadcast_tagged("sil", vec![1; MAX_GOSSIP_MESSAGE + 1], false);
    until("the send to b succeeded", || outcomes.sent("sil", b_addr, true)).await;
    a.broadcast_tagged("small", vec![1; MAX_GOSSIP_MESSAGE], true);
    a.broadcast(vec![2; MAX_GOSSIP_MESSAGE + 1], true);
    until("the untagged send to b succeeded", || outcomes.sent("", b_addr, true)).await;
    assert!(!outcomes.sends.lock().unwrap().iter().any(|(tag, _, _)| tag == "small"));

    b.stop();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(b_addr).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "b's listener never closed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(a.members().iter().any(|m| m.addr == b_addr), "a still lists b");
    a.broadcast_tagged("nfl", vec![3; MAX_GOSSIP_MESSAGE + 1], false);
    until("the send to the stopped b failed", || outcomes.sent("nfl", b_addr, false)).await;
    assert!(!outcomes.sent("nfl", b_addr, true));
    a.stop();
}
