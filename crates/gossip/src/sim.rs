//! Deterministic simulation for the SWIM node (tests only): a virtual clock and network
//! driving several [`Node`]s with loss, latency jitter, partitions, crashes and restarts.
//! Everything random comes from one seed, so any failing run replays exactly.

use crate::node::{Config, Delegate, EventKind, MemberEvent, Node, Output};
use rand::rngs::SmallRng;
use rand::{Rng, RngCore, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

/// Deliveries kept in flight before new ones are dropped, bounding a runaway test.
const MAX_IN_FLIGHT: usize = 100_000;

/// Delegate state for the simulation: a grow-only set of user messages, gossiped as
/// broadcasts and reconciled through push/pull like Alertmanager's states.
#[derive(Debug, Default, Clone)]
pub(crate) struct SetDelegate {
    pub(crate) known: BTreeSet<Vec<u8>>,
}

impl SetDelegate {
    fn merge(&mut self, state: &[u8]) {
        let mut rest = state;
        while let [hi, lo, tail @ ..] = rest {
            let len = usize::from(u16::from_be_bytes([*hi, *lo]));
            let Some((item, tail)) = (tail.len() >= len).then(|| tail.split_at(len)) else {
                return;
            };
            self.known.insert(item.to_vec());
            rest = tail;
        }
    }
}

impl Delegate for SetDelegate {
    fn local_state(&mut self, _join: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for item in &self.known {
            out.extend_from_slice(&(item.len() as u16).to_be_bytes());
            out.extend_from_slice(item);
        }
        out
    }
}

/// Network behaviour.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NetConfig {
    /// Probability that a UDP packet is lost.
    pub(crate) loss: f64,
    /// Shortest one-way latency.
    pub(crate) min_latency: Duration,
    /// Longest one-way latency.
    pub(crate) max_latency: Duration,
    /// Alertmanager's reconnect loop: each node re-joins its configured peers that are
    /// missing from its member list this often.
    pub(crate) reconnect: Option<Duration>,
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            loss: 0.0,
            min_latency: Duration::from_millis(1),
            max_latency: Duration::from_millis(10),
            reconnect: Some(Duration::from_secs(10)),
        }
    }
}

#[derive(Debug)]
enum Delivery {
    Packet { from: usize, to: usize, bytes: Vec<u8> },
    Stream { from: usize, to: usize, bytes: Vec<u8> },
    Reply { from: usize, to: usize, bytes: Vec<u8> },
}

/// One simulated process.
pub(crate) struct Slot {
    pub(crate) name: String,
    pub(crate) addr: SocketAddr,
    /// `None` while crashed.
    pub(crate) node: Option<Node<SetDelegate>>,
    /// Every membership event, with the virtual time it was seen.
    pub(crate) events: Vec<(Duration, MemberEvent)>,
    /// Network group; packets only flow within a group.
    group: u8,
}

/// The virtual world.
pub(crate) struct Sim {
    pub(crate) now: Duration,
    pub(crate) slots: Vec<Slot>,
    pub(crate) net: NetConfig,
    config: Config,
    rng: SmallRng,
    in_flight: BTreeMap<(Duration, u64), Delivery>,
    next_id: u64,
    next_reconnect: Duration,
    /// Packets and streams delivered, for sanity checks and the determinism trace.
    pub(crate) delivered: u64,
    /// A running hash of everything delivered, to compare runs.
    pub(crate) trace: u64,
}

impl Sim {
    /// `n` nodes named `node-0…`, started at time zero, none joined yet.
    pub(crate) fn new(seed: u64, n: usize, config: Config, net: NetConfig) -> Self {
        let rng = SmallRng::seed_from_u64(seed);
        let mut sim = Self {
            now: Duration::ZERO,
            slots: Vec::new(),
            next_reconnect: net.reconnect.unwrap_or(Duration::MAX),
            net,
            config,
            rng,
            in_flight: BTreeMap::new(),
            next_id: 0,
            delivered: 0,
            trace: seed,
        };
        for i in 0..n {
            let addr: SocketAddr = format!("10.0.0.{}:9094", i + 1).parse().unwrap();
            let name = format!("node-{i}");
            sim.slots.push(Slot { name, addr, node: None, events: Vec::new(), group: 0 });
            sim.start(i);
        }
        sim
    }

    fn start(&mut self, i: usize) {
        let rng = SmallRng::seed_from_u64(self.rng.next_u64());
        let slot = &mut self.slots[i];
        let node = Node::with_delegate(
            self.config.clone(),
            &slot.name,
            slot.addr,
            rng,
            SetDelegate::default(),
        );
        slot.node = Some(node);
    }

    /// Node `i` joins through node 0 (memberlist's `Join` with one seed address).
    pub(crate) fn join(&mut self, i: usize, seeds: &[usize]) {
        let addrs: Vec<SocketAddr> = seeds.iter().map(|&s| self.slots[s].addr).collect();
        let now = self.now;
        if let Some(node) = self.slots[i].node.as_mut() {
            node.join(now, &addrs);
        }
        self.route(i);
    }

    /// Every node joins through node 0, 100ms apart, then the world runs until `until`.
    pub(crate) fn form_cluster(&mut self, until: Duration) {
        for i in 1..self.slots.len() {
            self.run_until(self.now + Duration::from_millis(100));
            self.join(i, &[0]);
        }
        self.run_until(until);
    }

    /// Stops node `i` without a word to anyone.
    pub(crate) fn crash(&mut self, i: usize) {
        self.slots[i].node = None;
    }

    /// Starts node `i` afresh under the same name and address and joins it through `seeds`.
    pub(crate) fn restart(&mut self, i: usize, seeds: &[usize]) {
        self.start(i);
        self.join(i, seeds);
    }

    /// Puts node `i` into network group `g`; groups cannot reach each other.
    pub(crate) fn set_group(&mut self, i: usize, g: u8) {
        self.slots[i].group = g;
    }

    /// Live node `i`, mutably.
    pub(crate) fn node_mut(&mut self, i: usize) -> &mut Node<SetDelegate> {
        self.slots[i].node.as_mut().expect("node is running")
    }

    /// Live node `i`.
    pub(crate) fn node(&self, i: usize) -> &Node<SetDelegate> {
        self.slots[i].node.as_ref().expect("node is running")
    }

    /// Indices of running nodes.
    pub(crate) fn live(&self) -> Vec<usize> {
        (0..self.slots.len()).filter(|&i| self.slots[i].node.is_some()).collect()
    }

    /// Names of the members node `i` sees.
    pub(crate) fn view(&self, i: usize) -> Vec<String> {
        self.node(i).members().iter().map(|m| m.name.clone()).collect()
    }

    /// Names of running nodes, sorted.
    pub(crate) fn live_names(&self) -> Vec<String> {
        let mut names: Vec<String> =
            self.live().iter().map(|&i| self.slots[i].name.clone()).collect();
        names.sort();
        names
    }

    /// True when every running node sees exactly the running nodes.
    pub(crate) fn converged(&self) -> bool {
        let want = self.live_names();
        self.live().iter().all(|&i| self.view(i) == want)
    }

    /// Leave events node `i` has seen about `name`.
    pub(crate) fn leaves_of(&self, i: usize, name: &str) -> Vec<Duration> {
        self.slots[i]
            .events
            .iter()
            .filter(|(_, e)| e.kind == EventKind::Leave && e.member.name == name)
            .map(|(t, _)| *t)
            .collect()
    }

    /// Advances virtual time to `until`, delivering and ticking in time order.
    pub(crate) fn run_until(&mut self, until: Duration) {
        loop {
            let next_net = self.in_flight.keys().next().map(|&(t, _)| t);
            let next_tick =
                self.slots.iter().filter_map(|s| s.node.as_ref()).map(|n| n.next_deadline()).min();
            let next = [next_net, next_tick, Some(self.next_reconnect)].into_iter().flatten().min();
            let Some(t) = next.filter(|&t| t <= until) else { break };
            self.now = self.now.max(t);
            if next_net == Some(t) {
                let (_, d) = self.in_flight.pop_first().expect("peeked");
                self.deliver(d);
            } else if next_tick == Some(t) {
                self.tick_due();
            } else {
                self.reconnect();
            }
        }
        self.now = self.now.max(until);
    }

    fn tick_due(&mut self) {
        let now = self.now;
        for i in 0..self.slots.len() {
            let due = self.slots[i].node.as_ref().is_some_and(|n| n.next_deadline() <= now);
            if due {
                self.node_mut(i).tick(now);
                self.route(i);
            }
        }
    }

    /// Alertmanager's reconnect and refresh loops, folded into one: re-join the seed (node 0,
    /// or node 1 for node 0) when it is missing from our view.
    fn reconnect(&mut self) {
        let interval = self.net.reconnect.expect("scheduled only when set");
        self.next_reconnect = self.now + interval;
        for i in self.live() {
            let seed = usize::from(i == 0);
            let seed_name = self.slots[seed].name.clone();
            if !self.view(i).contains(&seed_name) {
                self.join(i, &[seed]);
            }
        }
    }

    fn deliver(&mut self, d: Delivery) {
        let now = self.now;
        let (from, to) = match &d {
            Delivery::Packet { from, to, .. }
            | Delivery::Stream { from, to, .. }
            | Delivery::Reply { from, to, .. } => (*from, *to),
        };
        if self.slots[to].node.is_none() || self.slots[from].group != self.slots[to].group {
            return;
        }
        self.delivered += 1;
        let from_addr = self.slots[from].addr;
        match d {
            Delivery::Packet { bytes, .. } => {
                self.mix(&bytes);
                self.node_mut(to).handle_packet(now, from_addr, &bytes);
            }
            Delivery::Stream { bytes, .. } => {
                self.mix(&bytes);
                if let Some(reply) = self.node_mut(to).handle_stream(now, from_addr, &bytes) {
                    self.send(Delivery::Reply { from: to, to: from, bytes: reply });
                }
            }
            Delivery::Reply { bytes, .. } => {
                self.mix(&bytes);
                self.node_mut(to).handle_stream_reply(now, from_addr, &bytes);
            }
        }
        self.route(to);
    }

    fn mix(&mut self, bytes: &[u8]) {
        // FNV-1a over the bytes, chained: cheap, and any divergence changes the result.
        for &b in bytes {
            self.trace = (self.trace ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        self.trace = (self.trace ^ self.now.as_nanos() as u64).wrapping_mul(0x100_0000_01b3);
    }

    /// Moves node `i`'s outputs onto the network or into its record.
    fn route(&mut self, i: usize) {
        let Some(node) = self.slots[i].node.as_mut() else { return };
        let outputs: Vec<Output> = node.drain_outputs().collect();
        for out in outputs {
            match out {
                Output::SendPacket { to, bytes } => {
                    if !self.rng.random_bool(self.net.loss) {
                        let to = self.index_of(to);
                        self.send(Delivery::Packet { from: i, to, bytes });
                    }
                }
                Output::OpenStream { to, bytes } => {
                    let to = self.index_of(to);
                    self.send(Delivery::Stream { from: i, to, bytes });
                }
                Output::Event(e) => self.slots[i].events.push((self.now, e)),
                Output::PingComplete { .. } => {}
                Output::Conflict { existing, claimed } => {
                    // Every simulated name has one address, restarts included.
                    panic!("conflict for {existing:?} from {claimed}")
                }
                Output::UserMessage(b) => {
                    // Alertmanager's states re-gossip what was new to them, which is what
                    // carries a message past the few peers its sender reached.
                    let node = self.node_mut(i);
                    if node.delegate_mut().known.insert(b.clone()) {
                        node.broadcast_user(b);
                    }
                }
                Output::MergeRemoteState { state, .. } => {
                    self.node_mut(i).delegate_mut().merge(&state)
                }
            }
        }
    }

    fn index_of(&self, addr: SocketAddr) -> usize {
        self.slots.iter().position(|s| s.addr == addr).expect("known address")
    }

    fn send(&mut self, d: Delivery) {
        if self.in_flight.len() >= MAX_IN_FLIGHT {
            return;
        }
        let latency = self.rng.random_range(self.net.min_latency..=self.net.max_latency);
        self.next_id += 1;
        self.in_flight.insert((self.now + latency, self.next_id), d);
    }

    /// Node `i` broadcasts `msg` and records it as known, as Alertmanager merges its own
    /// updates before gossiping them.
    pub(crate) fn broadcast(&mut self, i: usize, msg: &[u8]) {
        let node = self.node_mut(i);
        node.delegate_mut().known.insert(msg.to_vec());
        node.broadcast_user(msg.to_vec());
    }
}
