//! Failure detection: the probe cycle (direct ping, then indirect pings through
//! `indirect_checks` peers), answering pings, relaying indirect probes for others, and the
//! dispatch of every packet message.

use crate::members::{MemberState, ip_bytes, socket_addr};
use crate::messages::{AckResp, IndirectPingReq, Message, NackResp, Ping, Suspect, Typed};
use crate::node::{Delegate, MAX_RELAYS, Node, Output, advance};
use crate::stream::StreamMessage;
use rand::seq::SliceRandom;
use std::net::SocketAddr;
use std::time::Duration;

/// The probe in flight; memberlist runs at most one at a time.
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    target: String,
    addr: SocketAddr,
    /// Incarnation when the probe started; a suspicion names this one, so a refutation
    /// that arrived meanwhile wins.
    incarnation: u32,
    seq: u32,
    sent: Duration,
    ack_timeout_at: Duration,
    deadline: Duration,
    indirect_sent: bool,
    /// The TCP ping sent with the indirect probes was answered.
    tcp_acked: bool,
    expected_nacks: i32,
    nacks: i32,
}

impl Probe {
    pub(crate) fn next_deadline(&self) -> Duration {
        if self.indirect_sent { self.deadline } else { self.ack_timeout_at.min(self.deadline) }
    }
}

/// An indirect probe we run for another node.
#[derive(Debug, Clone)]
pub(crate) struct Relay {
    requester: SocketAddr,
    /// The requester's sequence number, echoed in our ack or nack.
    seq: u32,
    nack: bool,
    pub(crate) deadline: Duration,
}

impl<D: Delegate> Node<D> {
    /// Dispatches one message from a packet.
    pub(crate) fn handle_message(&mut self, now: Duration, from: SocketAddr, message: Message) {
        match message {
            Message::Ping(p) => self.handle_ping(from, &p),
            Message::IndirectPing(req) => self.handle_indirect(now, from, &req),
            Message::Ack(ack) => self.handle_ack(now, ack.seq_no),
            Message::Nack(nack) => {
                if let Some(p) = self.probe.as_mut().filter(|p| p.seq == nack.seq_no) {
                    p.nacks += 1;
                }
            }
            Message::Suspect(s) => self.suspect_node(now, &s),
            Message::Alive(a) => self.alive_node(now, &a, false),
            Message::Dead(d) => self.dead_node(now, &d),
            Message::User(bytes) => self.emit(Output::UserMessage(bytes)),
            Message::Err(_) => {}
        }
    }

    /// Runs the probe state machine: escalates or concludes the probe in flight, or starts
    /// the next one when the probe timer is due.
    pub(crate) fn tick_probe(&mut self, now: Duration) {
        if let Some(p) = &self.probe {
            if !p.indirect_sent && now >= p.ack_timeout_at {
                self.send_indirect();
            }
            match &self.probe {
                Some(p) if now >= p.deadline => self.probe_failed(now),
                _ => return,
            }
        }
        if let Some(target) = self.take_urgent_target() {
            self.probe_target(now, target);
            return;
        }
        if now >= self.next_probe {
            if let Some(target) = self.next_target(now) {
                self.probe_target(now, target);
            }
            self.next_probe = advance(self.next_probe, self.config.probe_interval, now);
        }
    }

    /// Probes `name` as soon as no probe is in flight, ahead of the round-robin order and
    /// without disturbing it. The probe is an ordinary one: if the member does not answer
    /// it is suspected, as memberlist would on its own turn. Used when the caller's own
    /// decision depends on `name` being alive (the wait stage of a notification), so that a
    /// crashed member is suspected within one probe rather than whenever some member's
    /// round-robin next reaches it (up to two rounds, `2 × (n-1)` probe intervals).
    pub fn probe_soon(&mut self, name: &str) {
        let in_flight = self.probe.as_ref().is_some_and(|p| p.target == name);
        if name == self.name || in_flight || self.urgent_probes.iter().any(|n| n == name) {
            return;
        }
        if self.members.get(name).is_some_and(|m| !m.state.is_gone()) {
            self.urgent_probes.push_back(name.to_owned());
        }
    }

    /// The next queued urgent probe whose target is still a live member.
    fn take_urgent_target(&mut self) -> Option<(String, SocketAddr, u32, MemberState)> {
        while let Some(name) = self.urgent_probes.pop_front() {
            if let Some(m) = self.members.get(&name).filter(|m| !m.state.is_gone()) {
                return Some((m.name.clone(), m.addr, m.incarnation, m.state));
            }
        }
        None
    }

    /// Picks the next member in probe order, reshuffling and reaping at the end of a round.
    fn next_target(&mut self, now: Duration) -> Option<(String, SocketAddr, u32, MemberState)> {
        for _ in 0..=2 * self.members.len() {
            if self.probe_index >= self.members.len() {
                self.reset_members(now);
                self.probe_index = 0;
            }
            let m = self.members.at(self.probe_index)?;
            self.probe_index += 1;
            if m.name != self.name && !m.state.is_gone() {
                return Some((m.name.clone(), m.addr, m.incarnation, m.state));
            }
        }
        None
    }

    /// Reaps dead members whose news has had time to spread, then shuffles the probe order.
    fn reset_members(&mut self, now: Duration) {
        let keep_dead = self.config.gossip_to_the_dead_time;
        let rng = &mut self.rng;
        self.members.reap_and_reorder(
            |m| m.state.is_gone() && now.saturating_sub(m.state_change) > keep_dead,
            |nodes| nodes.shuffle(rng),
        );
    }

    fn probe_target(&mut self, now: Duration, target: (String, SocketAddr, u32, MemberState)) {
        let (target, addr, incarnation, state) = target;
        let seq = self.next_seq();
        let ping = self.ping(seq, &target).encode();
        if state == MemberState::Alive {
            self.send_msgs(addr, vec![ping]);
        } else {
            // Tell a suspect node it is suspected, so it can refute even if gossip missed it.
            // memberlist sends this pair without piggybacked broadcasts.
            let s = Suspect { incarnation, node: target.clone(), from: self.name.clone() };
            self.send_packet(addr, &[ping, s.encode()]);
        }
        self.probe = Some(Probe {
            target,
            addr,
            incarnation,
            seq,
            sent: now,
            ack_timeout_at: now + self.config.probe_timeout,
            deadline: now + self.awareness.scale(self.config.probe_interval),
            indirect_sent: false,
            tcp_acked: false,
            expected_nacks: 0,
            nacks: 0,
        });
    }

    fn ping(&self, seq: u32, target: &str) -> Ping {
        Ping {
            seq_no: seq,
            node: target.to_owned(),
            source_addr: ip_bytes(self.addr.ip()),
            source_port: self.addr.port(),
            source_node: self.name.clone(),
        }
    }

    /// The direct ping timed out: ask up to `indirect_checks` other alive members, and try
    /// the target over TCP in case only UDP is broken.
    fn send_indirect(&mut self) {
        let Some(p) = &self.probe else { return };
        let (target, addr, seq) = (p.target.clone(), p.addr, p.seq);
        let tcp = self.members.get(&target).is_some_and(|m| m.vsn[1] >= 3);
        if tcp && !self.config.disable_tcp_pings {
            let bytes = self.encode_stream(&StreamMessage::Ping(self.ping(seq, &target)), true);
            self.emit(Output::OpenStream { to: addr, bytes });
        }
        let mut peers: Vec<(SocketAddr, bool)> = self
            .members
            .iter()
            .filter(|m| m.name != self.name && m.name != target && m.state == MemberState::Alive)
            .map(|m| (m.addr, m.sends_nacks()))
            .collect();
        peers.shuffle(&mut self.rng);
        peers.truncate(self.config.indirect_checks);
        for &(peer, nack) in &peers {
            let req = IndirectPingReq {
                seq_no: seq,
                target: ip_bytes(addr.ip()),
                port: addr.port(),
                node: target.clone(),
                nack,
                source_addr: ip_bytes(self.addr.ip()),
                source_port: self.addr.port(),
                source_node: self.name.clone(),
            };
            self.send_msgs(peer, vec![req.encode()]);
        }
        if let Some(p) = &mut self.probe {
            p.indirect_sent = true;
            p.expected_nacks = peers.iter().filter(|(_, nack)| *nack).count() as i32;
        }
    }

    /// Nobody reached the target before the deadline: suspect it. Missing nacks mean our
    /// own links may be the problem, which awareness records.
    fn probe_failed(&mut self, now: Duration) {
        let Some(p) = self.probe.take() else { return };
        if p.tcp_acked {
            // Reachable after all; memberlist only warns that UDP may be misconfigured.
            self.awareness.apply_delta(-1);
            return;
        }
        let delta = if p.expected_nacks > 0 { (p.expected_nacks - p.nacks).max(0) } else { 1 };
        self.awareness.apply_delta(delta);
        let s = Suspect { incarnation: p.incarnation, node: p.target, from: self.name.clone() };
        self.suspect_node(now, &s);
    }

    /// A TCP ping was answered; it settles the probe at its deadline, after the UDP paths
    /// had their chance, as memberlist checks it last.
    pub(crate) fn handle_tcp_ack(&mut self, seq: u32) {
        if let Some(p) = self.probe.as_mut().filter(|p| p.seq == seq) {
            p.tcp_acked = true;
        }
    }

    fn handle_ack(&mut self, now: Duration, seq: u32) {
        if let Some(p) = self.probe.take_if(|p| p.seq == seq) {
            self.awareness.apply_delta(-1);
            let rtt = now.saturating_sub(p.sent);
            self.emit(Output::PingComplete { node: p.target, rtt });
            return;
        }
        if let Some(r) = self.relays.remove(&seq) {
            let ack = AckResp { seq_no: r.seq, payload: Some(Vec::new()) };
            self.send_msgs(r.requester, vec![ack.encode()]);
        }
    }

    /// Answers a ping meant for us; one naming another node reached a stale address.
    fn handle_ping(&mut self, from: SocketAddr, p: &Ping) {
        if !p.node.is_empty() && p.node != self.name {
            return;
        }
        let to = reply_addr(from, &p.source_addr, p.source_port);
        // Alertmanager's AckPayload is an empty slice, which encodes as empty bytes.
        let ack = AckResp { seq_no: p.seq_no, payload: Some(Vec::new()) };
        self.send_msgs(to, vec![ack.encode()]);
    }

    fn handle_indirect(&mut self, now: Duration, from: SocketAddr, req: &IndirectPingReq) {
        let Some(target) = socket_addr(&req.target, req.port) else { return };
        if self.relays.len() >= MAX_RELAYS {
            return;
        }
        let seq = self.next_seq();
        let ping = self.ping(seq, &req.node);
        self.send_msgs(target, vec![ping.encode()]);
        let relay = Relay {
            requester: reply_addr(from, &req.source_addr, req.source_port),
            seq: req.seq_no,
            nack: req.nack,
            deadline: now + self.config.probe_timeout,
        };
        self.relays.insert(seq, relay);
    }

    /// Gives up on relays whose target stayed silent, nacking where asked.
    pub(crate) fn tick_relays(&mut self, now: Duration) {
        let due: Vec<u32> =
            self.relays.iter().filter(|(_, r)| r.deadline <= now).map(|(&s, _)| s).collect();
        for seq in due {
            let Some(r) = self.relays.remove(&seq) else { continue };
            if r.nack {
                self.send_msgs(r.requester, vec![NackResp { seq_no: r.seq }.encode()]);
            }
        }
    }
}

/// Where to answer: the advertised source when the sender gave one (it may sit behind NAT),
/// else the packet's origin.
fn reply_addr(from: SocketAddr, source_addr: &[u8], source_port: u16) -> SocketAddr {
    match socket_addr(source_addr, source_port) {
        Some(a) if source_port != 0 => a,
        _ => from,
    }
}
