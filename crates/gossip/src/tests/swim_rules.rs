//! memberlist's rumour and probe rules, driven through a single [`Node`]'s public inputs.

use crate::members::MemberState;
use crate::messages::{
    AckResp, Alive, DEFAULT_VSN, Dead, IndirectPingReq, Message, NackResp, Ping, PushNodeState,
    Suspect,
};
use crate::node::{Config, EventKind, Node, Output};
use crate::packet::{PacketOptions, decode_packet, encode_packet};
use crate::stream::{Direction, PushPull, StreamLimits, StreamMessage, StreamOptions, StreamRead};
use crate::{Inbound, read_stream};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use std::net::SocketAddr;
use std::time::Duration;

const MS: Duration = Duration::from_millis(1);

fn addr(i: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, i], 9094))
}

/// Node "a" at 10.0.0.1 with probing and gossip effectively off until a test asks.
fn node() -> Node {
    let config =
        Config { compress: false, push_pull_interval: Duration::ZERO, ..Config::default() };
    let mut n = Node::new(config, "a", addr(1), SmallRng::seed_from_u64(7));
    n.drain_outputs().for_each(drop);
    n
}

fn alive(name: &str, i: u8, inc: u32) -> Alive {
    Alive {
        incarnation: inc,
        node: name.into(),
        addr: vec![10, 0, 0, i],
        port: 9094,
        meta: vec![],
        vsn: DEFAULT_VSN.to_vec(),
    }
}

fn feed(n: &mut Node, now: Duration, from: u8, msgs: Vec<Message>) {
    let bytes = encode_packet(&msgs, &PacketOptions::default()).unwrap();
    n.handle_packet(now, addr(from), &bytes);
}

fn state(n: &Node, name: &str) -> Option<(MemberState, u32)> {
    n.all_members().find(|m| m.name == name).map(|m| (m.state, m.incarnation))
}

fn events(n: &mut Node) -> Vec<(EventKind, String)> {
    n.drain_outputs()
        .filter_map(|o| match o {
            Output::Event(e) => Some((e.kind, e.member.name)),
            _ => None,
        })
        .collect()
}

/// Every message sent, by destination, with piggybacked broadcasts split out.
fn sent(n: &mut Node) -> Vec<(SocketAddr, Message)> {
    let mut out = Vec::new();
    for o in n.drain_outputs() {
        if let Output::SendPacket { to, bytes } = o {
            out.extend(decode_packet(&bytes, "").unwrap().into_iter().map(|m| (to, m)));
        }
    }
    out
}

#[test]
fn alive_is_accepted_only_with_a_higher_incarnation() {
    let mut n = node();
    feed(&mut n, MS, 2, vec![Message::Alive(alive("b", 2, 1))]);
    assert_eq!(events(&mut n), [(EventKind::Join, "b".into())]);
    feed(&mut n, MS, 2, vec![Message::Alive(alive("b", 2, 1))]);
    assert!(events(&mut n).is_empty());
    let mut updated = alive("b", 2, 2);
    updated.meta = b"m".to_vec();
    feed(&mut n, MS, 2, vec![Message::Alive(updated)]);
    assert_eq!(events(&mut n), [(EventKind::Update, "b".into())]);
    // Another address for a live name is a conflict; short Vsn fields are ignored.
    feed(&mut n, MS, 3, vec![Message::Alive(alive("b", 3, 9))]);
    let conflict = n.drain_outputs().any(|o| {
        matches!(o, Output::Conflict { existing, claimed } if existing.name == "b" && claimed == addr(3))
    });
    assert!(conflict);
    let mut short = alive("c", 3, 1);
    short.vsn.truncate(3);
    feed(&mut n, MS, 3, vec![Message::Alive(short)]);
    assert_eq!(state(&n, "b"), Some((MemberState::Alive, 2)));
    assert_eq!(state(&n, "c"), None);
    assert_eq!(n.members().iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(n.position(), 0);
    // Every well-formed alive message counts, stale or not; the short-Vsn one does not.
    assert_eq!(n.alive_messages().get("b"), Some(&4));
    assert_eq!(n.alive_messages().get("c"), None);
}

#[test]
fn suspicion_times_out_into_death_unless_refuted() {
    let mut n = node();
    feed(&mut n, MS, 2, vec![Message::Alive(alive("b", 2, 1)), Message::Alive(alive("c", 3, 1))]);
    let s = |node: &str, inc| Suspect { incarnation: inc, node: node.into(), from: "x".into() };
    feed(&mut n, MS, 3, vec![Message::Suspect(s("b", 1)), Message::Suspect(s("c", 1))]);
    assert_eq!(state(&n, "b"), Some((MemberState::Suspect, 1)));
    // A refutation clears the suspicion; a stale suspect is ignored.
    feed(&mut n, MS, 2, vec![Message::Alive(alive("b", 2, 2)), Message::Suspect(s("b", 1))]);
    assert_eq!(state(&n, "b"), Some((MemberState::Alive, 2)));
    events(&mut n);
    // Three members: no confirmations expected, so the timeout is the 4s minimum.
    n.tick(4000 * MS);
    assert_eq!(state(&n, "c"), Some((MemberState::Suspect, 1)));
    n.tick(4001 * MS);
    assert_eq!(state(&n, "c"), Some((MemberState::Dead, 1)));
    assert!(events(&mut n).contains(&(EventKind::Leave, "c".into())));
    assert_eq!(state(&n, "b"), Some((MemberState::Alive, 2)));
}

#[test]
fn dead_rules_and_graceful_leave() {
    let mut n = node();
    feed(&mut n, MS, 2, vec![Message::Alive(alive("b", 2, 3)), Message::Alive(alive("c", 3, 1))]);
    let d = |node: &str, inc, from: &str| Dead {
        incarnation: inc,
        node: node.into(),
        from: from.into(),
    };
    feed(&mut n, MS, 3, vec![Message::Dead(d("b", 2, "c"))]);
    assert_eq!(state(&n, "b"), Some((MemberState::Alive, 3)), "stale dead ignored");
    feed(&mut n, MS, 3, vec![Message::Dead(d("b", 3, "c")), Message::Dead(d("c", 1, "c"))]);
    assert_eq!(state(&n, "b"), Some((MemberState::Dead, 3)));
    assert_eq!(state(&n, "c"), Some((MemberState::Left, 1)));
    // A left node may come back at a new address.
    feed(&mut n, MS, 4, vec![Message::Alive(alive("c", 4, 2))]);
    assert_eq!(n.all_members().find(|m| m.name == "c").unwrap().addr, addr(4));
}

#[test]
fn accusations_about_self_are_refuted() {
    let mut n = node();
    feed(&mut n, MS, 2, vec![Message::Alive(alive("b", 2, 1))]);
    sent(&mut n);
    let me = |inc| Suspect { incarnation: inc, node: "a".into(), from: "b".into() };
    feed(&mut n, MS, 2, vec![Message::Suspect(me(5))]);
    assert_eq!(n.incarnation(), 6);
    assert_eq!(n.health_score(), 1);
    feed(
        &mut n,
        MS,
        2,
        vec![Message::Dead(Dead { incarnation: 6, node: "a".into(), from: "b".into() })],
    );
    assert_eq!(n.incarnation(), 7);
    feed(&mut n, MS, 2, vec![Message::Alive(alive("a", 1, 9))]);
    assert_eq!(n.incarnation(), 10);
    feed(&mut n, MS, 2, vec![Message::Alive(alive("a", 1, 3))]);
    assert_eq!(n.incarnation(), 10, "older alive about us is ignored");
    assert_eq!(state(&n, "a"), Some((MemberState::Alive, 10)));
    // The newest refutation replaced the older ones in the queue.
    n.tick(Duration::from_millis(300));
    let alives: Vec<u32> = sent(&mut n)
        .into_iter()
        .filter_map(|(_, m)| match m {
            Message::Alive(a) if a.node == "a" => Some(a.incarnation),
            _ => None,
        })
        .collect();
    assert!(!alives.is_empty() && alives.iter().all(|&inc| inc == 10), "{alives:?}");
}

#[test]
fn leave_gossips_a_dead_message_from_ourselves() {
    let mut n = node();
    feed(&mut n, MS, 2, vec![Message::Alive(alive("b", 2, 1))]);
    events(&mut n);
    n.leave(MS);
    assert!(!n.leave_sent());
    assert_eq!(state(&n, "a"), Some((MemberState::Left, 1)));
    assert!(n.members().iter().all(|m| m.name != "a"));
    n.tick(Duration::from_millis(300));
    assert!(n.leave_sent());
    let msgs = sent(&mut n);
    let d = Dead { incarnation: 1, node: "a".into(), from: "a".into() };
    assert!(msgs.contains(&(addr(2), Message::Dead(d))), "{msgs:?}");
    // Accusations no longer trigger refutation.
    feed(
        &mut n,
        MS,
        2,
        vec![Message::Suspect(Suspect { incarnation: 1, node: "a".into(), from: "b".into() })],
    );
    assert_eq!(n.incarnation(), 1);
}

#[test]
fn pings_are_answered_and_indirect_probes_relayed() {
    let mut n = node();
    let ping = |node: &str| Ping { seq_no: 4, node: node.into(), ..Default::default() };
    feed(&mut n, MS, 2, vec![Message::Ping(ping("a")), Message::Ping(ping("z"))]);
    let acks: Vec<_> =
        sent(&mut n).into_iter().filter(|(_, m)| matches!(m, Message::Ack(_))).collect();
    assert_eq!(acks, [(addr(2), Message::Ack(AckResp { seq_no: 4, payload: Some(vec![]) }))]);

    let req = |seq| IndirectPingReq {
        seq_no: seq,
        target: vec![10, 0, 0, 3],
        port: 9094,
        node: "c".into(),
        nack: true,
        ..Default::default()
    };
    feed(&mut n, MS, 2, vec![Message::IndirectPing(req(70)), Message::IndirectPing(req(71))]);
    let pings: Vec<u32> = sent(&mut n)
        .into_iter()
        .filter_map(|(to, m)| match m {
            Message::Ping(p) if to == addr(3) && p.node == "c" => Some(p.seq_no),
            _ => None,
        })
        .collect();
    assert_eq!(pings.len(), 2);
    feed(&mut n, 2 * MS, 3, vec![Message::Ack(AckResp { seq_no: pings[0], payload: None })]);
    let relayed: Vec<_> =
        sent(&mut n).into_iter().filter(|(_, m)| matches!(m, Message::Ack(_))).collect();
    assert_eq!(relayed, [(addr(2), Message::Ack(AckResp { seq_no: 70, payload: Some(vec![]) }))]);
    n.tick(501 * MS);
    let nacks: Vec<_> =
        sent(&mut n).into_iter().filter(|(_, m)| matches!(m, Message::Nack(_))).collect();
    assert_eq!(nacks, [(addr(2), Message::Nack(NackResp { seq_no: 71 }))]);
}

/// Runs probe cycles until one targets `b`, acking probes of anyone else; returns its
/// sequence number and start time.
fn probe_b(n: &mut Node, mut now: Duration) -> (u32, Duration) {
    loop {
        n.tick(now);
        for (to, m) in sent(n) {
            match m {
                Message::Ping(p) if to == addr(2) => return (p.seq_no, now),
                Message::Ping(p) => {
                    let ack = Message::Ack(AckResp { seq_no: p.seq_no, payload: None });
                    feed(n, now, 3, vec![ack]);
                }
                _ => {}
            }
        }
        now = n.next_deadline().max(now + MS);
    }
}

#[test]
fn unanswered_probes_go_indirect_then_suspect() {
    let mut n = node();
    feed(&mut n, MS, 2, vec![Message::Alive(alive("b", 2, 1)), Message::Alive(alive("c", 3, 1))]);
    sent(&mut n);
    let (seq, start) = probe_b(&mut n, MS);
    feed(&mut n, start + 10 * MS, 2, vec![Message::Ack(AckResp { seq_no: seq, payload: None })]);
    let rtt = Output::PingComplete { node: "b".into(), rtt: 10 * MS };
    assert!(n.drain_outputs().any(|o| o == rtt));
    n.tick(start + 1100 * MS);
    assert_eq!(state(&n, "b"), Some((MemberState::Alive, 1)), "acked probe");

    // Unanswered but reachable over TCP: no suspicion.
    let (seq, start) = probe_b(&mut n, start + 1100 * MS);
    n.tick(start + 500 * MS);
    let outs: Vec<Output> = n.drain_outputs().collect();
    let tcp = outs.iter().find_map(|o| match o {
        Output::OpenStream { to, bytes } if *to == addr(2) => Some(bytes.clone()),
        _ => None,
    });
    let tcp = tcp.expect("a TCP ping goes out with the indirect probes");
    let reply = n.handle_stream(start, addr(1), &tcp).map(|_| ());
    assert_eq!(reply, None, "the ping names b, not us");
    let ack = StreamMessage::Ack(AckResp { seq_no: seq, payload: None });
    let ack = ack.encode(&StreamOptions::default()).unwrap();
    n.handle_stream_reply(start + 600 * MS, addr(2), &ack);
    n.tick(start + 1000 * MS);
    assert_eq!(state(&n, "b"), Some((MemberState::Alive, 1)));

    let (_, start) = probe_b(&mut n, start + 1000 * MS);
    n.tick(start + 500 * MS);
    let indirect: Vec<_> = sent(&mut n)
        .into_iter()
        .filter_map(|(to, m)| matches!(m, Message::IndirectPing(_)).then_some(to))
        .collect();
    assert_eq!(indirect, [addr(3)]);
    n.tick(start + 999 * MS);
    assert_eq!(state(&n, "b"), Some((MemberState::Alive, 1)));
    n.tick(start + 1000 * MS);
    assert_eq!(state(&n, "b"), Some((MemberState::Suspect, 1)));
    assert_eq!(n.health_score(), 1, "the expected nack never came");
}

fn push_pull_bytes(join: bool, nodes: Vec<PushNodeState>) -> Vec<u8> {
    let pp = PushPull { join, nodes, user_state: b"state".to_vec() };
    let opts = StreamOptions { label_header: true, ..Default::default() };
    StreamMessage::PushPull(pp).encode(&opts).unwrap()
}

fn pns(name: &str, i: u8, inc: u32, state: crate::messages::NodeState) -> PushNodeState {
    let a = alive(name, i, inc);
    PushNodeState {
        name: a.node,
        addr: a.addr,
        port: a.port,
        meta: a.meta,
        incarnation: inc,
        state,
        vsn: a.vsn,
    }
}

#[test]
fn push_pull_merges_and_downgrades_remote_deaths() {
    use crate::messages::NodeState;
    let mut n = node();
    feed(&mut n, MS, 3, vec![Message::Alive(alive("c", 3, 1))]);
    events(&mut n);
    let req = push_pull_bytes(
        true,
        vec![
            pns("b", 2, 1, NodeState::Alive),
            pns("c", 3, 1, NodeState::Dead),
            pns("a", 1, 4, NodeState::Dead),
        ],
    );
    let reply = n.handle_stream(MS, addr(2), &req).expect("push/pull is answered");
    let Ok(StreamRead::Complete { message: StreamMessage::PushPull(pp), .. }) =
        read_stream(&reply, Direction::Reply, &Inbound::plain(""), &StreamLimits::default())
    else {
        panic!("reply is a push/pull");
    };
    assert!(pp.join);
    let names: Vec<_> = pp.nodes.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"a") && names.contains(&"c") && !names.contains(&"b"), "{names:?}");
    assert_eq!(state(&n, "b"), Some((MemberState::Alive, 1)));
    assert_eq!(state(&n, "c"), Some((MemberState::Suspect, 1)), "remote dead means suspect");
    assert_eq!(n.incarnation(), 5, "remote claim of our death refuted");
    let outs: Vec<Output> = n.drain_outputs().collect();
    assert!(outs.contains(&Output::MergeRemoteState { state: b"state".to_vec(), join: true }));

    // A member that cannot speak our protocol version makes the whole state unacceptable.
    let mut newer = pns("d", 4, 1, NodeState::Alive);
    newer.vsn = vec![3, 5, 3, 0, 0, 0];
    let req = push_pull_bytes(false, vec![newer, pns("e", 5, 1, NodeState::Alive)]);
    assert!(n.handle_stream(MS, addr(4), &req).is_some());
    assert_eq!((state(&n, "d"), state(&n, "e")), (None, None));
    assert!(n.drain_outputs().all(|o| !matches!(o, Output::MergeRemoteState { .. })));

    n.drain_outputs().for_each(drop);
    let mut other = node();
    other.send_reliable(addr(1), b"big part".to_vec());
    let Some(Output::OpenStream { bytes, .. }) = other.drain_outputs().last() else {
        panic!("a stream is opened");
    };
    assert_eq!(n.handle_stream(MS, addr(4), &bytes), None);
    assert_eq!(n.drain_outputs().collect::<Vec<_>>(), [Output::UserMessage(b"big part".to_vec())]);

    n.join(2 * MS, &[addr(4)]);
    let opened =
        n.drain_outputs().any(|o| matches!(o, Output::OpenStream { to, .. } if to == addr(4)));
    assert!(opened);
}
