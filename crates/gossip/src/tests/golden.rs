//! Golden bytes worked out by hand from go-msgpack's rules (memberlist v0.6.0 structs,
//! `MsgpackHandle{}` defaults), so a change in field order, width choice or string form shows
//! up as a byte diff. Struct fields appear sorted by name, as go-msgpack writes them (first
//! seen in real captures from Alertmanager 0.25, see `am025_capture.rs`).

use super::{cat, hex, key};
use crate::messages::*;
use crate::msgpack::{Decoder, Value, write_int, write_raw, write_uint};
use crate::packet::{self, PacketOptions};
use crate::{DecodeError, clusterpb};
use std::fmt::Debug;

fn golden<T: Typed + Debug + PartialEq>(value: &T, want: &[u8]) {
    assert_eq!(value.encode(), want, "encoding of {value:?}");
    assert_eq!(want[0], T::TYPE as u8);
    assert_eq!(&decode_body::<T>(&want[1..]).unwrap(), value);
}

#[test]
fn ping_minimal_spelled_out() {
    let p = Ping { seq_no: 1, node: "a".into(), ..Default::default() };
    golden(&p, &hex("00 82 a4 4e 6f 64 65 a1 61 a5 53 65 71 4e 6f 01"));
}

#[test]
fn ping_with_source_fields() {
    let p = Ping {
        seq_no: 300,
        node: "node-b".into(),
        source_addr: vec![127, 0, 0, 1],
        source_port: 9094,
        source_node: "n1".into(),
    };
    let want = cat(&[
        &hex("00 85"),
        &key("Node"),
        &key("node-b"),
        &key("SeqNo"),
        &hex("cd 01 2c"),
        &key("SourceAddr"),
        &hex("a4 7f 00 00 01"),
        &key("SourceNode"),
        &key("n1"),
        &key("SourcePort"),
        &hex("cd 23 86"),
    ]);
    golden(&p, &want);
}

#[test]
fn indirect_ping() {
    let m = IndirectPingReq {
        seq_no: 2,
        target: vec![10, 0, 0, 1],
        port: 9094,
        node: "b".into(),
        nack: true,
        ..Default::default()
    };
    let want = cat(&[
        &hex("01 85"),
        &key("Nack"),
        &hex("c3"),
        &key("Node"),
        &key("b"),
        &key("Port"),
        &hex("cd 23 86"),
        &key("SeqNo"),
        &hex("02"),
        &key("Target"),
        &hex("a4 0a 00 00 01"),
    ]);
    golden(&m, &want);
}

#[test]
fn ack_with_empty_and_nil_payload() {
    let empty = AckResp { seq_no: 7, payload: Some(vec![]) };
    let tail = cat(&[&key("SeqNo"), &hex("07")]);
    golden(&empty, &cat(&[&hex("02 82"), &key("Payload"), &hex("a0"), &tail]));
    let nil = AckResp { seq_no: 7, payload: None };
    golden(&nil, &cat(&[&hex("02 82"), &key("Payload"), &hex("c0"), &tail]));
}

#[test]
fn nack_err_suspect_dead() {
    golden(&NackResp { seq_no: 128 }, &cat(&[&hex("0b 81"), &key("SeqNo"), &hex("cc 80")]));
    golden(&ErrResp { error: "boom".into() }, &cat(&[&hex("0d 81"), &key("Error"), &key("boom")]));
    let body = |t: &str, inc: &str| {
        cat(&[
            &hex(t),
            &key("From"),
            &key("b"),
            &key("Incarnation"),
            &hex(inc),
            &key("Node"),
            &key("a"),
        ])
    };
    golden(
        &Suspect { incarnation: 70000, node: "a".into(), from: "b".into() },
        &body("03 83", "ce 00 01 11 70"),
    );
    golden(&Dead { incarnation: 5, node: "a".into(), from: "b".into() }, &body("05 83", "05"));
}

#[test]
fn alive_with_six_byte_vsn_as_raw_string() {
    let a = Alive {
        incarnation: 1,
        node: "n".into(),
        addr: vec![127, 0, 0, 1],
        port: 9094,
        meta: vec![],
        vsn: DEFAULT_VSN.to_vec(),
    };
    let want = cat(&[
        &hex("04 86"),
        &key("Addr"),
        &hex("a4 7f 00 00 01"),
        &key("Incarnation"),
        &hex("01"),
        &key("Meta"),
        &hex("a0"),
        &key("Node"),
        &key("n"),
        &key("Port"),
        &hex("cd 23 86"),
        &key("Vsn"),
        &hex("a6 01 05 02 00 00 00"),
    ]);
    golden(&a, &want);
    assert_eq!(vsn_array(&a.vsn), Some([1, 5, 2, 0, 0, 0]));
    assert_eq!(vsn_array(&[1, 5, 2]), None);
}

#[test]
fn push_pull_header_uses_signed_widths() {
    let h = PushPullHeader { nodes: 200, user_state_len: 40000, join: true };
    let want = cat(&[
        &hex("06 83"),
        &key("Join"),
        &hex("c3"),
        &key("Nodes"),
        &hex("d1 00 c8"),
        &key("UserStateLen"),
        &hex("d2 00 00 9c 40"),
    ]);
    golden(&h, &want);
}

#[test]
fn user_msg_header_and_push_node_state() {
    golden(
        &UserMsgHeader { user_msg_len: 5 },
        &cat(&[&hex("08 81"), &key("UserMsgLen"), &hex("05")]),
    );
    let n = PushNodeState {
        name: "n".into(),
        addr: vec![1, 2, 3, 4],
        port: 7946,
        meta: vec![],
        incarnation: 3,
        state: NodeState::Dead,
        vsn: DEFAULT_VSN.to_vec(),
    };
    // pushNodeState has no type byte of its own: it follows a pushPullHeader on the stream.
    let want = cat(&[
        &hex("87"),
        &key("Addr"),
        &hex("a4 01 02 03 04"),
        &key("Incarnation"),
        &hex("03"),
        &key("Meta"),
        &hex("a0"),
        &key("Name"),
        &key("n"),
        &key("Port"),
        &hex("cd 1f 0a"),
        &key("State"),
        &hex("02"),
        &key("Vsn"),
        &hex("a6 01 05 02 00 00 00"),
    ]);
    assert_eq!(encode_body(&n), want);
    assert_eq!(decode_body::<PushNodeState>(&want).unwrap(), n);
}

#[test]
fn compress_of_empty_lzw_stream() {
    let c = Compress { algo: 0, buf: hex("00 03 02") };
    golden(&c, &cat(&[&hex("09 82"), &key("Algo"), &hex("00"), &key("Buf"), &hex("a3 00 03 02")]));
}

#[test]
fn raw_lengths_never_use_str8_or_bin() {
    let enc = |n: usize| {
        let mut out = Vec::new();
        write_raw(&mut out, &vec![b'x'; n]);
        out[..out.len() - n].to_vec()
    };
    assert_eq!(enc(0), hex("a0"));
    assert_eq!(enc(31), hex("bf"));
    assert_eq!(enc(32), hex("da 00 20"));
    assert_eq!(enc(255), hex("da 00 ff"));
    assert_eq!(enc(65535), hex("da ff ff"));
    assert_eq!(enc(65536), hex("db 00 01 00 00"));
}

#[test]
fn integer_widths_match_go_msgpack() {
    let int = |v: i64| {
        let mut out = Vec::new();
        write_int(&mut out, v);
        out
    };
    let uint = |v: u64| {
        let mut out = Vec::new();
        write_uint(&mut out, v);
        out
    };
    assert_eq!(int(0), hex("00"));
    assert_eq!(int(127), hex("7f"));
    assert_eq!(int(128), hex("d1 00 80"));
    assert_eq!(int(32767), hex("d1 7f ff"));
    assert_eq!(int(32768), hex("d2 00 00 80 00"));
    assert_eq!(int(1 << 31), hex("d3 00 00 00 00 80 00 00 00"));
    assert_eq!(int(-1), hex("ff"));
    assert_eq!(int(-32), hex("e0"));
    assert_eq!(int(-33), hex("d0 df"));
    assert_eq!(int(-128), hex("d0 80"));
    assert_eq!(int(-129), hex("d1 ff 7f"));
    assert_eq!(uint(127), hex("7f"));
    assert_eq!(uint(128), hex("cc 80"));
    assert_eq!(uint(255), hex("cc ff"));
    assert_eq!(uint(256), hex("cd 01 00"));
    assert_eq!(uint(65536), hex("ce 00 01 00 00"));
    assert_eq!(uint(1 << 32), hex("cf 00 00 00 01 00 00 00 00"));
}

#[test]
fn decoder_accepts_other_encoders_forms() {
    // SeqNo as uint64, Node as str8, Payload as bin8, plus an unknown nested field and the
    // keys in a different order: rmp-style output that Go also accepts.
    let buf = cat(&[
        &hex("83"),
        &key("Payload"),
        &hex("c4 02 aa bb"),
        &key("Extra"),
        &hex("81 a1 78 92 01 cb 40 09 21 fb 54 44 2d 18"),
        &key("SeqNo"),
        &hex("cf 00 00 00 00 00 00 00 09"),
    ]);
    let ack: AckResp = decode_body(&buf).unwrap();
    assert_eq!(ack.seq_no, 9);
    assert_eq!(ack.payload.as_deref(), Some(&[0xaa, 0xbb][..]));

    let ping = cat(&[&hex("82"), &key("SeqNo"), &hex("d0 05"), &key("Node"), &hex("d9 01 7a")]);
    let p: Ping = decode_body(&ping).unwrap();
    assert_eq!((p.seq_no, p.node.as_str()), (5, "z"));

    // Byte fields as arrays of integers (rmp-serde's default for Vec<u8>).
    let arr_addr =
        cat(&[&hex("82"), &key("Addr"), &hex("94 7f 00 00 01"), &key("Vsn"), &hex("c0")]);
    let a: Alive = decode_body(&arr_addr).unwrap();
    assert_eq!((a.addr, a.vsn), (vec![127, 0, 0, 1], vec![]));
    let too_big = cat(&[&hex("81"), &key("Addr"), &hex("91 cd 01 00")]);
    assert!(decode_body::<Alive>(&too_big).is_err());

    // Struct-as-array, as go-msgpack writes with StructToArray.
    let arr = hex("92 0b a1 71");
    let p: Ping = decode_body(&arr).unwrap();
    assert_eq!((p.seq_no, p.node.as_str()), (11, "q"));
}

#[test]
fn decoder_rejects_values_that_do_not_fit() {
    let neg = cat(&[&hex("81"), &key("SeqNo"), &hex("ff")]);
    assert!(matches!(
        decode_body::<NackResp>(&neg),
        Err(DecodeError::IntegerOutOfRange { value: -1, .. })
    ));
    let big_port = cat(&[&hex("81"), &key("Port"), &hex("ce 00 01 11 70")]);
    assert!(decode_body::<Alive>(&big_port).is_err());
    let float = cat(&[&hex("81"), &key("SeqNo"), &hex("ca 00 00 00 00")]);
    assert!(decode_body::<NackResp>(&float).is_err());
    // nil is Go's zero value for any field.
    let nils = cat(&[&hex("82"), &key("SeqNo"), &hex("c0"), &key("Node"), &hex("c0")]);
    assert_eq!(decode_body::<Ping>(&nils).unwrap(), Ping::default());
}

#[test]
fn forged_container_lengths_do_not_allocate() {
    // map32 and array32 with 2^32-1 entries in a 5-byte input.
    for forged in [hex("df ff ff ff ff"), hex("dd ff ff ff ff"), hex("db ff ff ff ff")] {
        let err = Decoder::new(&forged).read_value().unwrap_err();
        assert!(err.is_incomplete(), "{err:?}");
    }
    let nested = hex("91 91 c0");
    assert!(Decoder::new(&nested).with_max_depth(3).read_value().is_ok());
    let shallow = Decoder::new(&nested).with_max_depth(2).read_value();
    assert_eq!(shallow, Err(DecodeError::TooDeep { max: 2 }));
    let deep = vec![0x91; 10_000];
    assert!(matches!(Decoder::new(&deep).read_value(), Err(DecodeError::TooDeep { .. })));
    assert_eq!(
        Decoder::new(&hex("93 01 a1 61 c0")).read_value().unwrap(),
        Value::Array(vec![Value::Uint(1), Value::Raw(b"a".to_vec()), Value::Nil])
    );
}

#[test]
fn crc_vectors() {
    assert_eq!(crc32fast::hash(b"123456789"), 0xcbf4_3926);
    let payload = hex("00 82 a5 53 65 71 4e 6f 01 a4 4e 6f 64 65 a1 61");
    let framed = packet::add_crc(&payload);
    assert_eq!(framed[..5], hex("0c de 35 8e 40")[..], "{framed:02x?}");
    assert_eq!(packet::strip_crc(&framed).unwrap(), &payload[..]);
    let mut bad = framed.clone();
    *bad.last_mut().unwrap() ^= 1;
    assert!(matches!(packet::strip_crc(&bad), Err(DecodeError::CrcMismatch { .. })));
}

#[test]
fn packet_layers_in_order() {
    let ping = Message::Ping(Ping { seq_no: 1, node: "a".into(), ..Default::default() });
    let user = Message::User(b"hi".to_vec());
    let opts = PacketOptions { label: "prod", crc: true, ..Default::default() };
    let bytes = packet::encode_packet(&[ping.clone(), user.clone()], &opts).unwrap();
    let ping_bytes = ping.encode();
    let compound = cat(&[&hex("07 02 00 10 00 03"), &ping_bytes, &hex("08 68 69")]);
    let crc = crc32fast::hash(&compound).to_be_bytes();
    let want = cat(&[&hex("f4 04"), b"prod", &[12], &crc, &compound]);
    assert_eq!(bytes, want);
    assert_eq!(packet::decode_packet(&bytes, "prod").unwrap(), vec![ping, user]);
    assert!(matches!(packet::decode_packet(&bytes, ""), Err(DecodeError::LabelMismatch { .. })));
    assert!(matches!(
        packet::decode_packet(&compound, "prod"),
        Err(DecodeError::LabelMismatch { .. })
    ));
    assert!(matches!(packet::decode_packet(&hex("f4 00 00"), ""), Err(DecodeError::EmptyLabel)));
}

#[test]
fn truncated_compound_keeps_leading_parts() {
    let compound = cat(&[&hex("07 02 00 02 00 05"), &hex("08 61"), &hex("08 62")]);
    let got = packet::decode_packet_lenient(&compound, "").unwrap();
    assert_eq!(got[0], Ok(Message::User(b"a".to_vec())));
    assert_eq!(got[1], Err(DecodeError::TruncatedCompound { parts: 2, truncated: 1 }));
    assert!(packet::decode_packet(&compound, "").is_err());
}

#[test]
fn cluster_part_protobuf() {
    use prost::Message as _;
    let part = clusterpb::Part { key: "sil".into(), data: vec![1, 2] };
    let bytes = part.encode_to_vec();
    assert_eq!(bytes, hex("0a 03 73 69 6c 12 02 01 02"));
    let full = clusterpb::FullState { parts: vec![part] };
    let fb = full.encode_to_vec();
    assert_eq!(fb, cat(&[&hex("0a 09"), &bytes]));
    assert_eq!(clusterpb::FullState::decode(&fb[..]).unwrap(), full);
}

#[test]
fn push_pull_stream_frame_layout() {
    use crate::stream::{
        Direction, PushPull, StreamLimits, StreamMessage, StreamOptions, StreamRead, read_stream,
    };
    let node = PushNodeState {
        name: "a".into(),
        addr: vec![10, 0, 0, 1],
        port: 9094,
        meta: vec![],
        incarnation: 1,
        state: NodeState::Alive,
        vsn: DEFAULT_VSN.to_vec(),
    };
    let pp = StreamMessage::PushPull(PushPull {
        join: true,
        nodes: vec![node.clone()],
        user_state: vec![0x0a, 0x00],
    });
    let opts = StreamOptions { label: "c", label_header: true, ..Default::default() };
    let bytes = pp.encode(&opts).unwrap();
    let want = cat(&[
        &hex("f4 01 63 06 83"),
        &key("Join"),
        &hex("c3"),
        &key("Nodes"),
        &hex("01"),
        &key("UserStateLen"),
        &hex("02"),
        &encode_body(&node),
        &hex("0a 00"),
    ]);
    assert_eq!(bytes, want);
    let inbound = crate::packet::Inbound::plain("c");
    let read = read_stream(&bytes, Direction::Request, &inbound, &StreamLimits::default());
    assert_eq!(read, Ok(StreamRead::Complete { message: pp, consumed: want.len() }));

    // The TCP-ping answer: an ack with a nil payload, no label header on the reply.
    let ack = StreamMessage::Ack(AckResp { seq_no: 5, payload: None });
    let bytes = ack.encode(&StreamOptions { label: "c", ..Default::default() }).unwrap();
    assert_eq!(
        bytes,
        cat(&[&hex("02 82"), &key("Payload"), &hex("c0"), &key("SeqNo"), &hex("05")])
    );
}
