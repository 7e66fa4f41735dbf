//! memberlist's rules for alive, suspect and dead rumours (`aliveNode`, `suspectNode`,
//! `deadNode`, `refute`, `mergeState`): which incarnation wins, when to re-gossip, and how a
//! node clears its own name.

use crate::members::{MemberState, socket_addr, unknown_member};
use crate::messages::{Alive, Dead, NodeState, PushNodeState, Suspect, Typed, vsn_array};
use crate::node::{Delegate, EventKind, MemberEvent, Node, Output};
use crate::suspicion::{Suspicion, suspicion_timeout};
use rand::Rng;
use std::time::Duration;

impl<D: Delegate> Node<D> {
    /// Applies an alive rumour. `bootstrap` is our own first announcement, the only alive
    /// about ourselves we accept without refuting.
    pub(crate) fn alive_node(&mut self, now: Duration, a: &Alive, bootstrap: bool) {
        let is_local = a.node == self.name;
        if self.leaving && is_local {
            return;
        }
        // Alertmanager sets an Alive delegate, which makes memberlist drop short Vsn fields.
        let (Some(vsn), Some(addr)) = (vsn_array(&a.vsn), socket_addr(&a.addr, a.port)) else {
            return;
        };
        *self.alive_messages.entry(a.node.clone()).or_default() += 1;
        if self.members.get(&a.node).is_none() {
            let offset = self.rng.random_range(0..=self.members.len());
            self.members.insert_at(unknown_member(&a.node, addr, a.meta.clone()), offset);
        }
        let Some(m) = self.members.get_mut(&a.node) else { return };
        let mut reclaimed = false;
        if m.addr != addr {
            // A node that left may come back elsewhere; a live one claiming a second
            // address is a name conflict and the newcomer is ignored.
            if m.state != MemberState::Left {
                let existing = m.clone();
                self.emit(Output::Conflict { existing, claimed: addr });
                return;
            }
            m.addr = addr;
            reclaimed = true;
        }
        if a.incarnation <= m.incarnation && !is_local && !reclaimed {
            return;
        }
        if a.incarnation < m.incarnation && is_local {
            return;
        }
        self.suspicions.remove(&a.node);
        if is_local && !bootstrap {
            if a.incarnation == m.incarnation && a.meta == m.meta && vsn == m.vsn {
                return;
            }
            self.refute(a.incarnation);
            return;
        }
        self.rumors.push(Some(&a.node), a.encode());
        let (old_state, meta_changed) = (m.state, m.meta != a.meta);
        m.incarnation = a.incarnation;
        m.meta = a.meta.clone();
        m.vsn = vsn;
        if m.state != MemberState::Alive {
            m.state = MemberState::Alive;
            m.state_change = now;
        }
        let member = m.clone();
        if old_state.is_gone() {
            self.emit(Output::Event(MemberEvent { kind: EventKind::Join, member }));
        } else if meta_changed {
            self.emit(Output::Event(MemberEvent { kind: EventKind::Update, member }));
        }
    }

    /// Applies a suspect rumour: starts or confirms a suspicion timer, or refutes it when it
    /// is about us.
    pub(crate) fn suspect_node(&mut self, now: Duration, s: &Suspect) {
        let Some(m) = self.members.get(&s.node) else { return };
        if s.incarnation < m.incarnation {
            return;
        }
        if let Some(timer) = self.suspicions.get_mut(&s.node) {
            if timer.confirm(&s.from) {
                self.rumors.push(Some(&s.node), s.encode());
            }
            return;
        }
        if m.state != MemberState::Alive {
            return;
        }
        if s.node == self.name {
            self.refute(s.incarnation);
            return;
        }
        self.rumors.push(Some(&s.node), s.encode());
        let n = self.members.len();
        let mut k = self.config.suspicion_mult.saturating_sub(2);
        if n.saturating_sub(2) < k as usize {
            k = 0;
        }
        let min = suspicion_timeout(self.config.suspicion_mult, n, self.config.probe_interval);
        let max = min * self.config.suspicion_max_timeout_mult;
        let timer = Suspicion::new(&s.from, s.incarnation, k, min, max, now);
        self.suspicions.insert(s.node.clone(), timer);
        if let Some(m) = self.members.get_mut(&s.node) {
            m.incarnation = s.incarnation;
            m.state = MemberState::Suspect;
            m.state_change = now;
        }
    }

    /// Applies a dead rumour; `from == node` marks a graceful leave.
    pub(crate) fn dead_node(&mut self, now: Duration, d: &Dead) {
        let Some(m) = self.members.get(&d.node) else { return };
        if d.incarnation < m.incarnation {
            return;
        }
        self.suspicions.remove(&d.node);
        if m.state.is_gone() {
            return;
        }
        if d.node == self.name && !self.leaving {
            self.refute(d.incarnation);
            return;
        }
        self.rumors.push(Some(&d.node), d.encode());
        let Some(m) = self.members.get_mut(&d.node) else { return };
        m.incarnation = d.incarnation;
        m.state = if d.node == d.from { MemberState::Left } else { MemberState::Dead };
        m.state_change = now;
        let member = m.clone();
        self.emit(Output::Event(MemberEvent { kind: EventKind::Leave, member }));
    }

    /// Clears our name: re-announces ourselves above the accused incarnation. Being accused
    /// also means our view may be the stale one, so awareness rises.
    pub(crate) fn refute(&mut self, accused: u32) {
        self.incarnation = self.incarnation.wrapping_add(1).max(accused.wrapping_add(1));
        self.awareness.apply_delta(1);
        let a = self.self_alive(self.incarnation);
        if let Some(me) = self.members.get_mut(&self.name) {
            me.incarnation = a.incarnation;
        }
        self.rumors.push(Some(&a.node), a.encode());
    }

    /// Folds a peer's push/pull view into ours. Remote dead claims only make a node suspect:
    /// the peer may be on the wrong side of a partition, and the node deserves a chance to
    /// refute.
    pub(crate) fn merge_state(&mut self, now: Duration, remote: &[PushNodeState]) {
        let me = self.name.clone();
        for r in remote {
            match r.state {
                NodeState::Alive => {
                    let a = Alive {
                        incarnation: r.incarnation,
                        node: r.name.clone(),
                        addr: r.addr.clone(),
                        port: r.port,
                        meta: r.meta.clone(),
                        vsn: r.vsn.clone(),
                    };
                    self.alive_node(now, &a, false);
                }
                NodeState::Left => {
                    let d = Dead {
                        incarnation: r.incarnation,
                        node: r.name.clone(),
                        from: r.name.clone(),
                    };
                    self.dead_node(now, &d);
                }
                NodeState::Dead | NodeState::Suspect => {
                    let s = Suspect {
                        incarnation: r.incarnation,
                        node: r.name.clone(),
                        from: me.clone(),
                    };
                    self.suspect_node(now, &s);
                }
                NodeState::Other(_) => {}
            }
        }
    }
}
