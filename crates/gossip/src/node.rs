//! The sans-IO SWIM node: memberlist's membership protocol as a state machine. It owns the
//! member table, the timers and the broadcast queues; the caller owns sockets and the clock.
//!
//! Inputs are method calls carrying `now` (a [`Duration`] since the node was created; any
//! other fixed origin works, at the cost of one catch-up tick): [`Node::handle_packet`], [`Node::handle_stream`], [`Node::handle_stream_reply`],
//! [`Node::tick`], [`Node::join`], [`Node::leave`], [`Node::broadcast_user`]. Outputs queue
//! up as [`Output`]s for [`Node::drain_outputs`]; [`Node::next_deadline`] says when to tick.
//!
//! The rules for rumours live in `rumors.rs`, probing in `probe.rs`, gossip, push/pull and
//! join in `exchange.rs`.
//!
//! ```
//! use gossip::{Config, Node, Output};
//! use rand::{SeedableRng, rngs::SmallRng};
//! use std::time::Duration;
//!
//! let (a_addr, b_addr) = ("10.0.0.1:9094".parse().unwrap(), "10.0.0.2:9094".parse().unwrap());
//! let mut a = Node::new(Config::default(), "a", a_addr, SmallRng::seed_from_u64(1));
//! let mut b = Node::new(Config::default(), "b", b_addr, SmallRng::seed_from_u64(2));
//! let now = Duration::ZERO;
//! b.join(now, &[a_addr]);
//! for out in b.drain_outputs().collect::<Vec<_>>() {
//!     if let Output::OpenStream { to, bytes } = out {
//!         // The caller dials `to`, writes `bytes` and hands back the reply.
//!         let reply = a.handle_stream(now, b_addr, &bytes).unwrap();
//!         b.handle_stream_reply(now, to, &reply);
//!     }
//! }
//! assert_eq!(a.members().len(), 2);
//! assert_eq!(b.position(), 1);
//! assert!(b.next_deadline() < Duration::from_secs(1));
//! ```

use crate::awareness::Awareness;
use crate::broadcast::{BroadcastQueue, MAX_QUEUED_BROADCASTS};
use crate::members::{Member, MemberState, MemberTable, ip_bytes};
use crate::messages::{Alive, DEFAULT_VSN};
use crate::packet::{UDP_BUFFER_SIZE, decode_packet_lenient};
use crate::probe::{Probe, Relay};
use crate::suspicion::Suspicion;
use rand::{Rng, RngCore};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

/// Most outputs held before the oldest are dropped, so a caller that stops draining cannot
/// make the node grow without bound.
pub const MAX_OUTBOX: usize = 65_536;
/// Most indirect probes relayed for others at once.
pub const MAX_RELAYS: usize = 1024;

/// Protocol settings; [`Config::default`] is memberlist's LAN profile as Alertmanager uses it.
#[derive(Debug, Clone)]
pub struct Config {
    /// Cluster label (`""` for none); packets and streams under another label are dropped.
    pub label: String,
    /// Time between probes (1s).
    pub probe_interval: Duration,
    /// How long to wait for a direct ack before asking peers to probe (500ms).
    pub probe_timeout: Duration,
    /// Time between gossip rounds (200ms).
    pub gossip_interval: Duration,
    /// Peers gossiped to per round (Alertmanager: `max(peers/2, 3)`).
    pub gossip_nodes: usize,
    /// Time between anti-entropy push/pulls (60s); zero disables them.
    pub push_pull_interval: Duration,
    /// Peers asked to probe on our behalf (3).
    pub indirect_checks: usize,
    /// Skip the TCP ping memberlist sends alongside indirect probes (false).
    pub disable_tcp_pings: bool,
    /// Retransmit multiplier for membership rumours (4).
    pub retransmit_mult: u32,
    /// Retransmit multiplier for user broadcasts (Alertmanager: `max(peers/2, 3)`).
    pub user_retransmit_mult: u32,
    /// Suspicion timeout multiplier (4).
    pub suspicion_mult: u32,
    /// Longest suspicion as a multiple of the shortest (6).
    pub suspicion_max_timeout_mult: u32,
    /// How long dead nodes are still gossiped to and kept before reaping (30s).
    pub gossip_to_the_dead_time: Duration,
    /// Cap on the awareness multiplier (8).
    pub awareness_max_multiplier: u32,
    /// Largest packet sent; broadcasts are fitted into it (1400).
    pub udp_buffer_size: usize,
    /// LZW-compress packets when it helps, and stream messages always (true).
    pub compress: bool,
    /// Our metadata (empty for Alertmanager).
    pub meta: Vec<u8>,
    /// Bound on each broadcast queue (4096).
    pub max_queued_broadcasts: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            label: String::new(),
            probe_interval: Duration::from_secs(1),
            probe_timeout: Duration::from_millis(500),
            gossip_interval: Duration::from_millis(200),
            gossip_nodes: 3,
            push_pull_interval: Duration::from_secs(60),
            indirect_checks: 3,
            disable_tcp_pings: false,
            retransmit_mult: 4,
            user_retransmit_mult: 3,
            suspicion_mult: 4,
            suspicion_max_timeout_mult: 6,
            gossip_to_the_dead_time: Duration::from_secs(30),
            awareness_max_multiplier: 8,
            udp_buffer_size: UDP_BUFFER_SIZE,
            compress: true,
            meta: Vec::new(),
            max_queued_broadcasts: MAX_QUEUED_BROADCASTS,
        }
    }
}

/// What happened to a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Became alive after being unknown, dead or left.
    Join,
    /// Declared dead or left.
    Leave,
    /// Alive with new metadata.
    Update,
}

/// A membership change, with the member as it is after the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberEvent {
    /// What changed.
    pub kind: EventKind,
    /// The member.
    pub member: Member,
}

/// Work for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send one UDP datagram.
    SendPacket {
        /// Destination.
        to: SocketAddr,
        /// Fully framed packet.
        bytes: Vec<u8>,
    },
    /// Dial `to`, write `bytes`, read one reply and pass it to [`Node::handle_stream_reply`]
    /// (a push/pull, or a TCP ping during a probe; a failure needs no report). A TCP ping's
    /// reply only counts if it arrives before the probe's deadline.
    OpenStream {
        /// Destination.
        to: SocketAddr,
        /// Fully framed request, label header included.
        bytes: Vec<u8>,
    },
    /// A membership change.
    Event(MemberEvent),
    /// A user message from a peer (Alertmanager: a `clusterpb.Part`).
    UserMessage(Vec<u8>),
    /// A peer's delegate state from a push/pull (Alertmanager: a `clusterpb.FullState`).
    MergeRemoteState {
        /// The state bytes.
        state: Vec<u8>,
        /// Whether the exchange was a join.
        join: bool,
    },
    /// A probe was acked, directly or through a peer (Alertmanager's
    /// `alertmanager_cluster_pings_seconds`).
    PingComplete {
        /// The probed member.
        node: String,
        /// Time from our ping to the ack.
        rtt: Duration,
    },
    /// Another node announced itself under a member's name from a different address; the
    /// announcement was ignored (Alertmanager counts these as name conflicts).
    Conflict {
        /// The member as we know it.
        existing: Member,
        /// The address the newcomer claimed.
        claimed: SocketAddr,
    },
}

/// The application's side of push/pull and gossip.
pub trait Delegate {
    /// State sent in every push/pull (Alertmanager: `FullState`); empty for none.
    fn local_state(&mut self, _join: bool) -> Vec<u8> {
        Vec::new()
    }

    /// Extra user messages for a packet, each costing `overhead` plus its length, all within
    /// `limit` bytes. Called after [`Node::broadcast_user`]'s own queue has had its turn.
    fn broadcasts(&mut self, _overhead: usize, _limit: usize) -> Vec<Vec<u8>> {
        Vec::new()
    }
}

/// A delegate with no state and no broadcasts of its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDelegate;

impl Delegate for NoDelegate {}

/// One memberlist node. See the module docs for the flow of inputs and outputs.
pub struct Node<D: Delegate = NoDelegate> {
    pub(crate) config: Config,
    pub(crate) name: String,
    pub(crate) addr: SocketAddr,
    pub(crate) rng: Box<dyn RngCore + Send>,
    pub(crate) delegate: D,
    pub(crate) members: MemberTable,
    pub(crate) incarnation: u32,
    pub(crate) seq_no: u32,
    pub(crate) leaving: bool,
    pub(crate) awareness: Awareness,
    pub(crate) suspicions: BTreeMap<String, Suspicion>,
    pub(crate) rumors: BroadcastQueue,
    pub(crate) user_queue: BroadcastQueue,
    pub(crate) outbox: VecDeque<Output>,
    pub(crate) probe: Option<Probe>,
    /// Alive messages processed, by the member they announce (Alertmanager counts them in
    /// its alive delegate).
    pub(crate) alive_messages: BTreeMap<String, u64>,
    /// Members to probe next, ahead of the round-robin order ([`Node::probe_soon`]).
    pub(crate) urgent_probes: VecDeque<String>,
    pub(crate) probe_index: usize,
    pub(crate) relays: BTreeMap<u32, Relay>,
    pub(crate) next_probe: Duration,
    pub(crate) next_gossip: Duration,
    pub(crate) next_push_pull: Option<Duration>,
}

impl Node<NoDelegate> {
    /// A node without delegate state, alive in its own table at `now = 0`.
    pub fn new(
        config: Config,
        name: &str,
        addr: SocketAddr,
        rng: impl RngCore + Send + 'static,
    ) -> Self {
        Self::with_delegate(config, name, addr, rng, NoDelegate)
    }
}

impl<D: Delegate> Node<D> {
    /// A node with a delegate, alive in its own table at `now = 0`. Timers start staggered
    /// by `rng` so nodes started together do not probe in lockstep.
    pub fn with_delegate(
        config: Config,
        name: &str,
        addr: SocketAddr,
        rng: impl RngCore + Send + 'static,
        delegate: D,
    ) -> Self {
        let mut rng: Box<dyn RngCore + Send> = Box::new(rng);
        let stagger = |rng: &mut Box<dyn RngCore + Send>, d: Duration| {
            if d.is_zero() { d } else { rng.random_range(Duration::ZERO..d) }
        };
        let next_probe = stagger(&mut rng, config.probe_interval);
        let next_gossip = stagger(&mut rng, config.gossip_interval);
        let next_push_pull = (!config.push_pull_interval.is_zero())
            .then(|| stagger(&mut rng, config.push_pull_interval));
        let mut node = Self {
            rumors: BroadcastQueue::new(config.retransmit_mult, config.max_queued_broadcasts),
            user_queue: BroadcastQueue::new(
                config.user_retransmit_mult,
                config.max_queued_broadcasts,
            ),
            awareness: Awareness::new(config.awareness_max_multiplier),
            config,
            name: name.to_owned(),
            addr,
            rng,
            delegate,
            members: MemberTable::default(),
            incarnation: 0,
            seq_no: 0,
            leaving: false,
            suspicions: BTreeMap::new(),
            outbox: VecDeque::new(),
            probe: None,
            alive_messages: BTreeMap::new(),
            urgent_probes: VecDeque::new(),
            probe_index: 0,
            relays: BTreeMap::new(),
            next_probe,
            next_gossip,
            next_push_pull,
        };
        node.set_alive();
        node
    }

    /// Announces ourselves at the next incarnation, as memberlist does on start.
    fn set_alive(&mut self) {
        self.incarnation += 1;
        let a = self.self_alive(self.incarnation);
        self.alive_node(Duration::ZERO, &a, true);
    }

    /// Our alive message at incarnation `inc`.
    pub(crate) fn self_alive(&self, inc: u32) -> Alive {
        Alive {
            incarnation: inc,
            node: self.name.clone(),
            addr: ip_bytes(self.addr.ip()),
            port: self.addr.port(),
            meta: self.config.meta.clone(),
            vsn: DEFAULT_VSN.to_vec(),
        }
    }

    /// Processes one received UDP datagram. Malformed parts are dropped, like memberlist
    /// drops them, and the rest of the packet still counts.
    pub fn handle_packet(&mut self, now: Duration, from: SocketAddr, bytes: &[u8]) {
        let Ok(messages) = decode_packet_lenient(bytes, &self.config.label) else {
            return;
        };
        for message in messages.into_iter().flatten() {
            self.handle_message(now, from, message);
        }
    }

    /// Fires every timer due at `now`.
    pub fn tick(&mut self, now: Duration) {
        self.expire_suspicions(now);
        self.tick_relays(now);
        self.tick_probe(now);
        if now >= self.next_gossip {
            self.gossip(now);
            self.next_gossip = advance(self.next_gossip, self.config.gossip_interval, now);
        }
        if let Some(at) = self.next_push_pull.filter(|&at| now >= at) {
            self.push_pull(now);
            let interval = self.push_pull_interval();
            self.next_push_pull = Some(advance(at, interval, now));
        }
    }

    /// The earliest time [`Node::tick`] has something to do.
    pub fn next_deadline(&self) -> Duration {
        // A probe in flight holds back the next one, so its own deadlines stand in for the
        // probe timer then.
        let probe = match &self.probe {
            Some(p) => p.next_deadline(),
            // Due at once; `tick` drains queued names that are no longer members.
            None if !self.urgent_probes.is_empty() => Duration::ZERO,
            None => self.next_probe,
        };
        let mut next = self.next_gossip.min(probe);
        let mut consider = |t: Duration| next = next.min(t);
        self.next_push_pull.into_iter().for_each(&mut consider);
        self.suspicions.values().for_each(|s| consider(s.deadline()));
        self.relays.values().for_each(|r| consider(r.deadline));
        next
    }

    /// After [`Node::leave`]: true once the news has gone out at least once, or there was
    /// nobody to tell, so the caller may shut down (Alertmanager waits up to 10s for this).
    pub fn leave_sent(&self) -> bool {
        self.leaving && (self.num_alive_peers() == 0 || self.rumors.sent_once(&self.name))
    }

    /// User messages waiting in the gossip queue (Alertmanager's `NumQueued`).
    pub fn queued_user_messages(&self) -> usize {
        self.user_queue.len()
    }

    /// User messages dropped from the full gossip queue so far, oldest first (Alertmanager
    /// prunes its queue to the same bound).
    pub fn pruned_user_messages(&self) -> u64 {
        self.user_queue.dropped()
    }

    /// How many alive messages were processed about each member, ourselves included.
    pub fn alive_messages(&self) -> &BTreeMap<String, u64> {
        &self.alive_messages
    }

    /// Queues a user message for gossip (Alertmanager: an encoded `clusterpb.Part`).
    pub fn broadcast_user(&mut self, bytes: Vec<u8>) {
        self.user_queue.push(None, bytes);
    }

    /// Takes every pending output, oldest first.
    pub fn drain_outputs(&mut self) -> impl Iterator<Item = Output> + '_ {
        self.outbox.drain(..)
    }

    /// Alive and suspect members, ourselves included, sorted by name (memberlist's
    /// `Members()` in Alertmanager's order).
    pub fn members(&self) -> Vec<&Member> {
        let mut out: Vec<&Member> = self.members.iter().filter(|m| !m.state.is_gone()).collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Our index in [`Node::members`] (Alertmanager's `Position()`); 0 if we have left.
    pub fn position(&self) -> usize {
        self.members().iter().position(|m| m.name == self.name).unwrap_or(0)
    }

    /// Every entry in the table, dead and left included, in probe order.
    pub fn all_members(&self) -> impl Iterator<Item = &Member> {
        self.members.iter()
    }

    /// Our name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Our current incarnation.
    pub fn incarnation(&self) -> u32 {
        self.incarnation
    }

    /// The awareness score (0 is healthy).
    pub fn health_score(&self) -> u32 {
        self.awareness.score()
    }

    /// Alive members other than us (Alertmanager's `ClusterSize` minus one).
    pub fn num_alive_peers(&self) -> usize {
        self.members.iter().filter(|m| m.name != self.name && m.state == MemberState::Alive).count()
    }

    /// The delegate.
    pub fn delegate(&self) -> &D {
        &self.delegate
    }

    /// The delegate, mutably.
    pub fn delegate_mut(&mut self) -> &mut D {
        &mut self.delegate
    }

    pub(crate) fn emit(&mut self, output: Output) {
        if self.outbox.len() >= MAX_OUTBOX {
            self.outbox.pop_front();
        }
        self.outbox.push_back(output);
    }

    pub(crate) fn next_seq(&mut self) -> u32 {
        self.seq_no = self.seq_no.wrapping_add(1);
        self.seq_no
    }

    /// Non-dead members, us included (memberlist's `NumMembers`); sizes the retransmits of
    /// user broadcasts as Alertmanager's `ClusterSize` does.
    pub(crate) fn num_members(&self) -> usize {
        self.members.iter().filter(|m| !m.state.is_gone()).count()
    }

    fn expire_suspicions(&mut self, now: Duration) {
        let due: Vec<(String, u32)> = self
            .suspicions
            .iter()
            .filter(|(_, s)| s.deadline() <= now)
            .map(|(n, s)| (n.clone(), s.incarnation()))
            .collect();
        for (node, incarnation) in due {
            self.suspicions.remove(&node);
            if self.members.get(&node).is_some_and(|m| m.state == MemberState::Suspect) {
                let from = self.name.clone();
                self.dead_node(now, &crate::messages::Dead { incarnation, node, from });
            }
        }
    }
}

/// The next firing of a periodic timer due at `at`, skipping missed periods like Go's ticker.
pub(crate) fn advance(at: Duration, interval: Duration, now: Duration) -> Duration {
    if interval.is_zero() {
        return now;
    }
    let next = at + interval;
    if next > now {
        return next;
    }
    let periods = (now - at).as_nanos() / interval.as_nanos() + 1;
    let skip = u64::try_from(periods * interval.as_nanos()).unwrap_or(u64::MAX);
    at.saturating_add(Duration::from_nanos(skip))
}

#[cfg(test)]
mod tests {
    use super::advance;
    use std::time::Duration;

    #[test]
    fn periodic_timers_skip_missed_periods() {
        let ms = Duration::from_millis;
        assert_eq!(advance(ms(100), ms(200), ms(100)), ms(300));
        assert_eq!(advance(ms(100), ms(200), ms(750)), ms(900));
        assert_eq!(advance(ms(100), ms(200), ms(900)), ms(1100));
        // A caller whose clock starts far from zero gets one catch-up tick, not a panic.
        let far = Duration::from_secs(1_700_000_000);
        assert_eq!(advance(ms(5), ms(200), far), far + ms(5));
    }
}
