//! The member table: every node this one has heard of, in probe order, with its state and
//! incarnation. It holds data only; the rules for changing it live in `node`.

use crate::messages::{DEFAULT_VSN, NodeState, PushNodeState};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// A member's liveness as this node believes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberState {
    /// Answering probes, or recently vouched for.
    Alive,
    /// Missed a probe; dead unless it refutes before its suspicion timer fires.
    Suspect,
    /// Declared dead; kept for a while so the news spreads, then reaped.
    Dead,
    /// Left gracefully (a dead message sent by the node about itself).
    Left,
}

impl MemberState {
    /// Dead or left: not a member any more.
    pub fn is_gone(self) -> bool {
        matches!(self, Self::Dead | Self::Left)
    }

    /// The wire value carried in push/pull.
    pub fn to_wire(self) -> NodeState {
        match self {
            Self::Alive => NodeState::Alive,
            Self::Suspect => NodeState::Suspect,
            Self::Dead => NodeState::Dead,
            Self::Left => NodeState::Left,
        }
    }
}

/// One node as this node knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Unique name (Alertmanager uses a ULID or `--cluster.peer-name`).
    pub name: String,
    /// Gossip address.
    pub addr: SocketAddr,
    /// Delegate metadata (empty for Alertmanager).
    pub meta: Vec<u8>,
    /// Protocol versions `[pmin, pmax, pcur, dmin, dmax, dcur]`.
    pub vsn: [u8; 6],
    /// Highest incarnation seen; only the node itself raises it.
    pub incarnation: u32,
    /// Liveness.
    pub state: MemberState,
    /// When `state` last changed, on the caller's clock.
    pub state_change: Duration,
}

impl Member {
    /// The push/pull record for this member.
    pub fn to_push_state(&self) -> PushNodeState {
        PushNodeState {
            name: self.name.clone(),
            addr: ip_bytes(self.addr.ip()),
            port: self.addr.port(),
            meta: self.meta.clone(),
            incarnation: self.incarnation,
            state: self.state.to_wire(),
            vsn: self.vsn.to_vec(),
        }
    }

    /// memberlist only adds a CRC for peers that can check it (protocol 5 and up).
    pub fn wants_crc(&self) -> bool {
        self.vsn[1] >= 5
    }

    /// Indirect probes ask for a nack only from peers that know the message (protocol 4+).
    pub fn sends_nacks(&self) -> bool {
        self.vsn[1] >= 4
    }
}

/// IPv4 as 4 bytes, IPv6 as 16, as memberlist's `net.IP` travels.
pub fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// The inverse of [`ip_bytes`]; `None` for any other length.
pub fn socket_addr(ip: &[u8], port: u16) -> Option<SocketAddr> {
    let ip = match ip.len() {
        4 => IpAddr::from(<[u8; 4]>::try_from(ip).ok()?),
        16 => IpAddr::from(<[u8; 16]>::try_from(ip).ok()?),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Members in probe order with a name index.
#[derive(Debug, Clone, Default)]
pub struct MemberTable {
    nodes: Vec<Member>,
    index: HashMap<String, usize>,
}

impl MemberTable {
    /// Looks a member up by name.
    pub fn get(&self, name: &str) -> Option<&Member> {
        self.index.get(name).map(|&i| &self.nodes[i])
    }

    /// Mutable lookup by name.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Member> {
        self.index.get(name).map(|&i| &mut self.nodes[i])
    }

    /// Inserts a new member at probe position `offset` (the one there moves to the end), so
    /// newcomers are probed soon on average rather than after everyone else.
    pub fn insert_at(&mut self, member: Member, offset: usize) {
        let n = self.nodes.len();
        self.index.insert(member.name.clone(), n);
        self.nodes.push(member);
        let offset = offset.min(n);
        if offset != n {
            self.nodes.swap(offset, n);
            self.reindex(offset);
            self.reindex(n);
        }
    }

    fn reindex(&mut self, i: usize) {
        let name = self.nodes[i].name.clone();
        self.index.insert(name, i);
    }

    /// All members in probe order.
    pub fn iter(&self) -> impl Iterator<Item = &Member> {
        self.nodes.iter()
    }

    /// The member at probe position `i`.
    pub fn at(&self, i: usize) -> Option<&Member> {
        self.nodes.get(i)
    }

    /// Entries, including dead ones not reaped yet (memberlist's `numNodes`).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when the table is empty (never, once the node has started).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Drops members for which `reap` is true, then applies `order` (a shuffle) to the rest.
    pub fn reap_and_reorder(
        &mut self,
        mut reap: impl FnMut(&Member) -> bool,
        order: impl FnOnce(&mut [Member]),
    ) -> Vec<Member> {
        let (gone, kept): (Vec<Member>, Vec<Member>) =
            std::mem::take(&mut self.nodes).into_iter().partition(|m| reap(m));
        self.nodes = kept;
        order(&mut self.nodes);
        self.index = self.nodes.iter().enumerate().map(|(i, m)| (m.name.clone(), i)).collect();
        gone
    }
}

/// A fresh member record as memberlist creates one on first hearing of a node: dead at
/// incarnation 0, so the alive message that follows counts as a join.
pub fn unknown_member(name: &str, addr: SocketAddr, meta: Vec<u8>) -> Member {
    Member {
        name: name.to_owned(),
        addr,
        meta,
        vsn: DEFAULT_VSN,
        incarnation: 0,
        state: MemberState::Dead,
        state_change: Duration::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str) -> Member {
        unknown_member(name, "10.0.0.1:7946".parse().unwrap(), vec![])
    }

    #[test]
    fn insert_swaps_and_keeps_index() {
        let mut t = MemberTable::default();
        t.insert_at(member("a"), 0);
        t.insert_at(member("b"), 1);
        t.insert_at(member("c"), 0);
        let order: Vec<_> = t.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(order, ["c", "b", "a"]);
        assert_eq!(t.get("a").unwrap().name, "a");
        t.get_mut("b").unwrap().incarnation = 3;
        assert_eq!(t.at(1).unwrap().incarnation, 3);
        let gone = t.reap_and_reorder(|m| m.name == "b", |s| s.reverse());
        assert_eq!(gone.len(), 1);
        assert_eq!(t.at(0).unwrap().name, "a");
        assert!(t.get("b").is_none());
        assert_eq!(t.get("c").unwrap().name, "c");
    }

    #[test]
    fn addresses_round_trip() {
        let v4: SocketAddr = "10.1.2.3:9094".parse().unwrap();
        let v6: SocketAddr = "[fe80::1]:9094".parse().unwrap();
        for a in [v4, v6] {
            assert_eq!(socket_addr(&ip_bytes(a.ip()), a.port()), Some(a));
        }
        assert_eq!(socket_addr(&[1, 2, 3], 1), None);
    }
}
