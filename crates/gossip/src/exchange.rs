//! Dissemination: piggybacking queued broadcasts on every packet, the gossip round, push/pull
//! anti-entropy (both ends), join and graceful leave.

use crate::members::MemberState;
use crate::messages::{Dead, MessageType, NodeState, PushNodeState, vsn_array};
use crate::node::{Delegate, Node, Output};
use crate::packet::{
    COMPOUND_HEADER_OVERHEAD, COMPOUND_OVERHEAD, PacketOptions, frame_packet, label_overhead,
};
use crate::stream::{
    Direction, PushPull, StreamLimits, StreamMessage, StreamOptions, StreamRead, read_stream,
};
use crate::{AckResp, Inbound};
use rand::seq::SliceRandom;
use std::net::SocketAddr;
use std::time::Duration;

/// Push/pull runs less often above this many members, as memberlist's `pushPullScale` does.
const PUSH_PULL_SCALE_THRESHOLD: usize = 32;

impl<D: Delegate> Node<D> {
    /// Sends `parts` (each `[type][body]`) to `to` as one packet, filling the rest of the
    /// packet budget with queued broadcasts.
    pub(crate) fn send_msgs(&mut self, to: SocketAddr, mut parts: Vec<Vec<u8>>) {
        let used: usize = parts.iter().map(|p| p.len() + COMPOUND_OVERHEAD).sum();
        let avail = self
            .config
            .udp_buffer_size
            .saturating_sub(used + COMPOUND_HEADER_OVERHEAD + label_overhead(&self.config.label));
        parts.extend(self.take_broadcasts(COMPOUND_OVERHEAD, avail));
        self.send_packet(to, &parts);
    }

    pub(crate) fn send_packet(&mut self, to: SocketAddr, parts: &[Vec<u8>]) {
        let crc = self.members.iter().find(|m| m.addr == to).is_some_and(|m| m.wants_crc());
        let opts = PacketOptions {
            label: &self.config.label,
            crc,
            compress: self.config.compress,
            encrypt: None,
        };
        // Parts come from our own encoder and fit the budget, so framing cannot fail short of
        // a bad label, which makes every send fail alike.
        if let Ok(bytes) = frame_packet(parts, &opts) {
            self.emit(Output::SendPacket { to, bytes });
        }
    }

    /// Membership rumours first, then user broadcasts, then the delegate's, all within
    /// `limit` bytes at `overhead` per message.
    fn take_broadcasts(&mut self, overhead: usize, limit: usize) -> Vec<Vec<u8>> {
        let mut out = self.rumors.take(overhead, limit, self.members.len());
        let mut remaining = limit.saturating_sub(spent(&out, overhead));
        // User messages travel behind a type byte the queue does not store.
        let n = self.num_members();
        let mut user = self.user_queue.take(overhead + 1, remaining, n);
        remaining = remaining.saturating_sub(spent(&user, overhead + 1));
        user.extend(self.delegate.broadcasts(overhead + 1, remaining));
        out.extend(user.into_iter().map(|b| {
            let mut m = Vec::with_capacity(b.len() + 1);
            m.push(MessageType::User as u8);
            m.extend_from_slice(&b);
            m
        }));
        out
    }

    /// One gossip round: pending broadcasts to `gossip_nodes` random members, recently dead
    /// ones included so they learn of their death and can refute it.
    pub(crate) fn gossip(&mut self, now: Duration) {
        let keep_dead = self.config.gossip_to_the_dead_time;
        let mut targets: Vec<SocketAddr> = self
            .members
            .iter()
            .filter(|m| m.name != self.name)
            .filter(|m| match m.state {
                MemberState::Alive | MemberState::Suspect => true,
                MemberState::Dead => now.saturating_sub(m.state_change) <= keep_dead,
                MemberState::Left => false,
            })
            .map(|m| m.addr)
            .collect();
        targets.shuffle(&mut self.rng);
        targets.truncate(self.config.gossip_nodes);
        let avail = self
            .config
            .udp_buffer_size
            .saturating_sub(COMPOUND_HEADER_OVERHEAD + label_overhead(&self.config.label));
        for to in targets {
            let parts = self.take_broadcasts(COMPOUND_OVERHEAD, avail);
            if parts.is_empty() {
                return;
            }
            self.send_packet(to, &parts);
        }
    }

    /// Sends a user message at once, one packet to every alive or suspect peer, and also
    /// queues it for gossip like [`Node::broadcast_user`]. A gossip round reaches only
    /// `gossip_nodes` random members, dead ones included, and spends the message's
    /// retransmits doing so, so in larger clusters a live peer can miss a new entry until
    /// someone re-gossips it; sending to everyone first closes that gap.
    pub fn broadcast_user_to_all(&mut self, bytes: Vec<u8>) {
        let mut part = Vec::with_capacity(bytes.len() + 1);
        part.push(MessageType::User as u8);
        part.extend_from_slice(&bytes);
        let targets: Vec<SocketAddr> = self
            .members
            .iter()
            .filter(|m| m.name != self.name)
            .filter(|m| matches!(m.state, MemberState::Alive | MemberState::Suspect))
            .map(|m| m.addr)
            .collect();
        for to in targets {
            self.send_packet(to, std::slice::from_ref(&part));
        }
        self.user_queue.push(None, bytes);
    }

    /// Runs a gossip round at once instead of waiting for the gossip timer, so a broadcast
    /// queued just now reaches peers without the up-to-one-interval delay. The timer keeps
    /// its schedule; the remaining retransmits go out on it.
    pub fn gossip_now(&mut self, now: Duration) {
        self.gossip(now);
    }

    /// The push/pull period for the current cluster size.
    pub(crate) fn push_pull_interval(&self) -> Duration {
        let n = self.members.len();
        let base = self.config.push_pull_interval;
        if n <= PUSH_PULL_SCALE_THRESHOLD {
            return base;
        }
        let mult = ((n as f64).log2() - (PUSH_PULL_SCALE_THRESHOLD as f64).log2()).ceil() + 1.0;
        base * mult as u32
    }

    /// Periodic anti-entropy with one random alive member.
    pub(crate) fn push_pull(&mut self, _now: Duration) {
        let mut peers: Vec<SocketAddr> = self
            .members
            .iter()
            .filter(|m| m.name != self.name && m.state == MemberState::Alive)
            .map(|m| m.addr)
            .collect();
        peers.shuffle(&mut self.rng);
        if let Some(&to) = peers.first() {
            let bytes = self.push_pull_message(false, true);
            self.emit(Output::OpenStream { to, bytes });
        }
    }

    /// Our full view and delegate state as a push/pull stream message. Only the dialer
    /// writes the label header.
    fn push_pull_message(&mut self, join: bool, dialer: bool) -> Vec<u8> {
        let pp = PushPull {
            join,
            nodes: self.members.iter().map(|m| m.to_push_state()).collect(),
            user_state: self.delegate.local_state(join),
        };
        self.encode_stream(&StreamMessage::PushPull(pp), dialer)
    }

    pub(crate) fn encode_stream(&self, message: &StreamMessage, dialer: bool) -> Vec<u8> {
        let opts = StreamOptions {
            label: &self.config.label,
            label_header: dialer,
            compress: self.config.compress,
            encrypt: None,
        };
        // Only oversized user state or a label over 255 bytes fail; sending nothing then is
        // what a Go peer would see of a failed write too.
        message.encode(&opts).unwrap_or_default()
    }

    /// Starts a join: a push/pull with `join = true` to each address. Replies come back
    /// through [`Node::handle_stream_reply`].
    pub fn join(&mut self, _now: Duration, addrs: &[SocketAddr]) {
        for &to in addrs {
            let bytes = self.push_pull_message(true, true);
            self.emit(Output::OpenStream { to, bytes });
        }
    }

    /// Sends a user message over TCP (memberlist's `SendReliable`); Alertmanager uses it for
    /// parts too large for a packet, sent to every member. The stream has no reply.
    pub fn send_reliable(&mut self, to: SocketAddr, bytes: Vec<u8>) {
        let bytes = self.encode_stream(&StreamMessage::User(bytes), true);
        self.emit(Output::OpenStream { to, bytes });
    }

    /// Leaves gracefully: gossips a dead message about ourselves (`from == node`), which
    /// peers record as left. Keep ticking for a few gossip intervals so it spreads.
    pub fn leave(&mut self, now: Duration) {
        if self.leaving {
            return;
        }
        self.leaving = true;
        let d = Dead {
            incarnation: self.incarnation,
            node: self.name.clone(),
            from: self.name.clone(),
        };
        self.dead_node(now, &d);
    }

    /// Serves one inbound stream holding a complete request (label header included) and
    /// returns the reply to write, if the request has one.
    pub fn handle_stream(
        &mut self,
        now: Duration,
        _from: SocketAddr,
        bytes: &[u8],
    ) -> Option<Vec<u8>> {
        let message = self.read_stream(bytes, Direction::Request)?;
        match message {
            StreamMessage::PushPull(pp) => {
                // Reply with our view as it was before theirs is merged, as Go does.
                let reply = self.push_pull_message(pp.join, false);
                self.merge_push_pull(now, pp);
                Some(reply)
            }
            StreamMessage::User(bytes) => {
                self.emit(Output::UserMessage(bytes));
                None
            }
            StreamMessage::Ping(p) if p.node.is_empty() || p.node == self.name => {
                let ack = AckResp { seq_no: p.seq_no, payload: None };
                Some(self.encode_stream(&StreamMessage::Ack(ack), false))
            }
            StreamMessage::Ping(_) | StreamMessage::Ack(_) | StreamMessage::Error(_) => None,
        }
    }

    /// Processes the reply to a stream we opened ([`Output::OpenStream`]).
    pub fn handle_stream_reply(&mut self, now: Duration, _from: SocketAddr, bytes: &[u8]) {
        match self.read_stream(bytes, Direction::Reply) {
            Some(StreamMessage::PushPull(pp)) => self.merge_push_pull(now, pp),
            Some(StreamMessage::Ack(ack)) => self.handle_tcp_ack(ack.seq_no),
            _ => {}
        }
    }

    fn read_stream(&self, bytes: &[u8], direction: Direction) -> Option<StreamMessage> {
        let inbound = Inbound::plain(&self.config.label);
        match read_stream(bytes, direction, &inbound, &StreamLimits::default()) {
            Ok(StreamRead::Complete { message, .. }) => Some(message),
            _ => None,
        }
    }

    fn merge_push_pull(&mut self, now: Duration, pp: PushPull) {
        if !self.verify_protocol(&pp.nodes) {
            return;
        }
        self.merge_state(now, &pp.nodes);
        if !pp.user_state.is_empty() {
            self.emit(Output::MergeRemoteState { state: pp.user_state, join: pp.join });
        }
    }
}

/// The protocol and delegate version ranges every alive node understands, as
/// `(maxpmin, minpmax, maxdmin, mindmax)`.
type Ranges = (u8, u8, u8, u8);

fn narrow(r: Ranges, v: &[u8; 6]) -> Ranges {
    (r.0.max(v[0]), r.1.min(v[1]), r.2.max(v[3]), r.3.min(v[4]))
}

fn speaks(r: Ranges, pcur: u8, dcur: u8) -> bool {
    (r.0..=r.1).contains(&pcur) && (r.2..=r.3).contains(&dcur)
}

impl<D: Delegate> Node<D> {
    /// memberlist's `verifyProtocol`: every node, ours and theirs, must speak a version all
    /// alive nodes understand, or the whole remote state is refused.
    fn verify_protocol(&self, remote: &[PushNodeState]) -> bool {
        let mut r: Ranges = (0, u8::MAX, 0, u8::MAX);
        for n in remote.iter().filter(|n| n.state == NodeState::Alive) {
            // A node without versions speaks version zero; a short field counts as none.
            if let Some(v) = vsn_array(&n.vsn) {
                r = narrow(r, &v);
            }
        }
        for m in self.members.iter().filter(|m| m.state == MemberState::Alive) {
            r = narrow(r, &m.vsn);
        }
        let theirs = remote.iter().all(|n| {
            let v = vsn_array(&n.vsn).unwrap_or_default();
            speaks(r, v[2], v[5])
        });
        theirs && self.members.iter().all(|m| speaks(r, m.vsn[2], m.vsn[5]))
    }
}

fn spent(msgs: &[Vec<u8>], overhead: usize) -> usize {
    msgs.iter().map(|m| m.len() + overhead).sum()
}
