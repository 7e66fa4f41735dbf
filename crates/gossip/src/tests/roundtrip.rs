//! Round trips over generated values: everything we encode decodes to the same value, through
//! every framing combination, and every strict prefix of a stream frame reads as incomplete.

use super::Rng;
use crate::messages::*;
use crate::msgpack::{Decoder, Value, write_value};
use crate::packet::{Inbound, PacketOptions, decode_packet, encode_packet};
use crate::stream::{
    Direction, PushPull, StreamLimits, StreamMessage, StreamOptions, StreamRead, read_stream,
};

pub(super) fn gen_ping(r: &mut Rng) -> Ping {
    Ping {
        seq_no: r.edgy_u64() as u32,
        node: r.string(40),
        source_addr: r.bytes(16),
        source_port: r.edgy_u64() as u16,
        source_node: r.string(10),
    }
}

pub(super) fn gen_message(r: &mut Rng) -> Message {
    match r.below(9) {
        0 => Message::Ping(gen_ping(r)),
        1 => Message::IndirectPing(IndirectPingReq {
            seq_no: r.edgy_u64() as u32,
            target: r.bytes(16),
            port: r.edgy_u64() as u16,
            node: r.string(20),
            nack: r.bool(),
            source_addr: r.bytes(16),
            source_port: r.edgy_u64() as u16,
            source_node: r.string(20),
        }),
        2 => Message::Ack(AckResp {
            seq_no: r.edgy_u64() as u32,
            payload: r.bool().then(|| r.bytes(40)),
        }),
        3 => Message::Nack(NackResp { seq_no: r.edgy_u64() as u32 }),
        4 => Message::Err(ErrResp { error: r.string(300) }),
        5 => Message::Suspect(Suspect {
            incarnation: r.edgy_u64() as u32,
            node: r.string(40),
            from: r.string(40),
        }),
        6 => Message::Alive(Alive {
            incarnation: r.edgy_u64() as u32,
            node: r.string(40),
            addr: r.bytes(16),
            port: r.edgy_u64() as u16,
            meta: r.bytes(512),
            vsn: r.bytes(6),
        }),
        7 => Message::Dead(Dead {
            incarnation: r.edgy_u64() as u32,
            node: r.string(40),
            from: r.string(40),
        }),
        _ => Message::User(r.bytes(1000)),
    }
}

pub(super) fn gen_node(r: &mut Rng) -> PushNodeState {
    PushNodeState {
        name: r.string(30),
        addr: r.bytes(16),
        port: r.edgy_u64() as u16,
        meta: r.bytes(64),
        incarnation: r.edgy_u64() as u32,
        state: NodeState::from_int(r.edgy_i64()),
        vsn: DEFAULT_VSN.to_vec(),
    }
}

pub(super) fn gen_stream_message(r: &mut Rng) -> StreamMessage {
    match r.below(5) {
        0 => StreamMessage::PushPull(PushPull {
            join: r.bool(),
            nodes: (0..r.below(20)).map(|_| gen_node(r)).collect(),
            user_state: r.bytes(3000),
        }),
        1 => StreamMessage::User(r.bytes(3000)),
        2 => StreamMessage::Ping(gen_ping(r)),
        3 => StreamMessage::Ack(AckResp {
            seq_no: r.edgy_u64() as u32,
            payload: r.bool().then(|| r.bytes(10)),
        }),
        _ => StreamMessage::Error(ErrResp { error: r.string(50) }),
    }
}

fn gen_value(r: &mut Rng, depth: usize) -> Value {
    match r.below(if depth > 3 { 6 } else { 8 }) {
        0 => Value::Nil,
        1 => Value::Bool(r.bool()),
        2 => Value::Uint(r.edgy_u64()),
        3 => Value::Int(r.edgy_i64().min(-1)),
        4 => Value::Float(r.edgy_i64() as f64 / 3.0),
        5 => Value::Raw(r.bytes(300)),
        6 => Value::Array((0..r.below(20)).map(|_| gen_value(r, depth + 1)).collect()),
        _ => Value::Map(
            (0..r.below(20)).map(|_| (gen_value(r, depth + 1), gen_value(r, depth + 1))).collect(),
        ),
    }
}

#[test]
fn msgpack_values_round_trip() {
    let mut r = Rng::new(1);
    for _ in 0..2_000 {
        let v = gen_value(&mut r, 0);
        let mut buf = Vec::new();
        write_value(&mut buf, &v);
        let mut dec = Decoder::new(&buf);
        assert_eq!(dec.read_value().unwrap(), v);
        assert_eq!(dec.position(), buf.len());
        let mut skip = Decoder::new(&buf);
        skip.skip_value().unwrap();
        assert_eq!(skip.position(), buf.len());
        // No str8 (d9) or bin (c4..c6) marker may ever be written.
        assert!(!matches!(buf[0], 0xd9 | 0xc4..=0xc6));
    }
}

#[test]
fn messages_round_trip() {
    let mut r = Rng::new(2);
    for _ in 0..3_000 {
        let m = gen_message(&mut r);
        assert_eq!(Message::decode(&m.encode()).unwrap(), m);
    }
    for _ in 0..300 {
        let n = gen_node(&mut r);
        assert_eq!(decode_body::<PushNodeState>(&encode_body(&n)).unwrap(), n);
    }
}

#[test]
fn packets_round_trip_through_every_layer_combination() {
    let mut r = Rng::new(3);
    for case in 0..1_500 {
        let msgs: Vec<Message> = (0..1 + r.below(6)).map(|_| gen_message(&mut r)).collect();
        let label = if r.bool() { r.string(20) } else { String::new() };
        let opts = PacketOptions {
            label: &label,
            crc: case % 2 == 0,
            compress: case % 3 == 0,
            ..Default::default()
        };
        let bytes = encode_packet(&msgs, &opts).unwrap();
        assert_eq!(decode_packet(&bytes, &label).unwrap(), msgs, "case {case}");
    }
}

#[test]
fn compression_is_kept_only_when_smaller() {
    let big = Message::User(vec![b'x'; 1000]);
    let opts = PacketOptions { compress: true, ..Default::default() };
    let bytes = encode_packet(std::slice::from_ref(&big), &opts).unwrap();
    assert_eq!(bytes[0], MessageType::Compress as u8);
    let tiny = Message::User(vec![1]);
    let bytes = encode_packet(std::slice::from_ref(&tiny), &opts).unwrap();
    assert_eq!(bytes, vec![8, 1]);
}

#[test]
fn stream_messages_round_trip_and_prefixes_are_incomplete() {
    let mut r = Rng::new(4);
    let limits = StreamLimits::default();
    for case in 0..400 {
        let msg = gen_stream_message(&mut r);
        let label = if r.bool() { r.string(10) } else { String::new() };
        let opts = StreamOptions {
            label: &label,
            label_header: true,
            compress: r.bool(),
            ..Default::default()
        };
        let mut bytes = msg.encode(&opts).unwrap();
        let total = bytes.len();
        bytes.extend_from_slice(b"trailing");
        let (dir, inbound) = (Direction::Request, Inbound::plain(&label));
        assert_eq!(
            read_stream(&bytes, dir, &inbound, &limits).unwrap(),
            StreamRead::Complete { message: msg.clone(), consumed: total },
            "case {case}"
        );
        for cut in [0, 1, total / 3, total / 2, total - 1] {
            assert_eq!(
                read_stream(&bytes[..cut], dir, &inbound, &limits).unwrap(),
                StreamRead::Incomplete,
                "case {case} cut {cut}"
            );
        }
        if label.is_empty() {
            let reply = read_stream(&bytes, Direction::Reply, &inbound, &limits).unwrap();
            assert!(matches!(reply, StreamRead::Complete { consumed, .. } if consumed == total));
        }
    }
}

#[test]
fn stream_limits_are_checked_before_the_body_arrives() {
    let header = PushPullHeader { nodes: 1 << 20, user_state_len: 0, join: false };
    let limits = StreamLimits::default();
    // A million nodes announced with no bytes behind them: incomplete, nothing reserved.
    let bytes = header.encode();
    assert_eq!(
        read_stream(&bytes, Direction::Reply, &Inbound::default(), &limits).unwrap(),
        StreamRead::Incomplete
    );
    for (nodes, user) in [((1 << 20) + 1, 0), (0, (20 << 20) + 1), (-1, 0), (0, -1)] {
        let header = PushPullHeader { nodes, user_state_len: user, join: false };
        assert!(
            read_stream(&header.encode(), Direction::Reply, &Inbound::default(), &limits).is_err()
        );
    }
    let user = UserMsgHeader { user_msg_len: (20 << 20) + 1 };
    assert!(read_stream(&user.encode(), Direction::Reply, &Inbound::default(), &limits).is_err());
}

#[test]
fn stream_label_rules() {
    let limits = StreamLimits::default();
    let msg = StreamMessage::User(b"x".to_vec());
    let opts = StreamOptions { label: "a", label_header: true, ..Default::default() };
    let labelled = msg.encode(&opts).unwrap();
    let plain = msg.encode(&StreamOptions::default()).unwrap();
    let read = |buf: &[u8], dir, label| read_stream(buf, dir, &Inbound::plain(label), &limits);
    assert!(read(&labelled, Direction::Request, "a").is_ok());
    assert!(read(&plain, Direction::Request, "a").is_err());
    assert!(read(&labelled, Direction::Request, "").is_err());
    // Replies carry no label header, so 244 there is an unexpected type.
    assert!(read(&labelled, Direction::Reply, "a").is_err());
    assert!(read(&plain, Direction::Reply, "a").is_ok());
    // Encrypted, but we have no keyring.
    assert_eq!(read(&[10, 0, 0, 0, 1], Direction::Reply, ""), Err(crate::DecodeError::Encrypted));
}
