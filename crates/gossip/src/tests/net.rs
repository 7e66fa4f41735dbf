//! The tokio driver over real loopback sockets (127.0.0.68 and .69): two nodes join, see
//! each other, exchange delegate state on join, deliver a small broadcast by gossip and an
//! oversized one over TCP, and a graceful leave is seen as such.

use crate::members::MemberState;
use crate::net::{Cluster, Events, NetConfig};
use crate::node::{Config, Delegate, EventKind, MemberEvent, Node};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Recorder {
    user: Mutex<Vec<Vec<u8>>>,
    states: Mutex<Vec<Vec<u8>>>,
    events: Mutex<Vec<(EventKind, String)>>,
}

impl Events for Recorder {
    fn user_message(&self, bytes: Vec<u8>) {
        self.user.lock().unwrap().push(bytes);
    }
    fn remote_state(&self, state: Vec<u8>, _join: bool) {
        self.states.lock().unwrap().push(state);
    }
    fn member(&self, event: &MemberEvent) {
        self.events.lock().unwrap().push((event.kind, event.member.name.clone()));
    }
}

struct Named(&'static str);

impl Delegate for Named {
    fn local_state(&mut self, _join: bool) -> Vec<u8> {
        format!("state of {}", self.0).into_bytes()
    }
}

async fn start(
    name: &'static str,
    addr: &str,
    peers: Vec<String>,
) -> (Cluster<Named>, Arc<Recorder>) {
    let addr: SocketAddr = addr.parse().unwrap();
    let config = Config {
        probe_interval: Duration::from_millis(200),
        probe_timeout: Duration::from_millis(100),
        gossip_interval: Duration::from_millis(50),
        ..Config::default()
    };
    let mut net = NetConfig::new(addr, peers);
    net.reconnect_interval = Duration::from_millis(200);
    let recorder = Arc::new(Recorder::default());
    let make =
        move || Node::with_delegate(config, name, addr, SmallRng::seed_from_u64(1), Named(name));
    let cluster = Cluster::start(net, make, recorder.clone()).await.expect("bind loopback");
    (cluster, recorder)
}

async fn until(what: &str, check: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "not within 20s: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_drivers_join_gossip_send_reliably_and_leave() {
    // a starts first and keeps retrying its seed b, which is not up yet: the reconnect
    // timer's work.
    let (a, a_seen) = start("a", "127.0.0.68:7946", vec!["127.0.0.69:7946".into()]).await;
    let (b, b_seen) = start("b", "127.0.0.69:7946", vec![]).await;
    until("both list both", || a.members().len() == 2 && b.members().len() == 2).await;
    assert_eq!((a.position(), b.position()), (0, 1));
    until("join exchanged state", || {
        a_seen.states.lock().unwrap().contains(&b"state of b".to_vec())
            && b_seen.states.lock().unwrap().contains(&b"state of a".to_vec())
    })
    .await;

    a.broadcast(b"small".to_vec(), true);
    let big = vec![7u8; crate::net::MAX_GOSSIP_MESSAGE + 1];
    a.broadcast(big.clone(), true);
    until("b got both messages", || {
        let got = b_seen.user.lock().unwrap();
        got.contains(&b"small".to_vec()) && got.contains(&big)
    })
    .await;

    a.leave(Duration::from_secs(5)).await;
    until("b saw a leave", || {
        b.with_node(|node, _| {
            node.all_members().any(|m| m.name == "a" && m.state == MemberState::Left)
        })
    })
    .await;
    assert!(b_seen.events.lock().unwrap().contains(&(EventKind::Leave, "a".to_owned())));
    drop(a);

    // A new node at a's address, with no seeds: b re-joins it because a is on its list of
    // failed peers (Alertmanager's reconnect), although a was never b's seed.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let (a2, _) = loop {
        // The old node's sockets close once its last task has wound down.
        let attempt = tokio::time::timeout(Duration::from_secs(1), async {
            let addr: SocketAddr = "127.0.0.68:7946".parse().unwrap();
            tokio::net::UdpSocket::bind(addr).await.is_ok()
        });
        if attempt.await.unwrap_or(false) {
            break start("a2", "127.0.0.68:7946", vec![]).await;
        }
        assert!(tokio::time::Instant::now() < deadline, "a's sockets never closed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    until("b reconnected to the failed peer's address", || {
        b.members().iter().any(|m| m.name == "a2") && a2.members().len() == 2
    })
    .await;
    a2.stop();
    b.stop();
}
