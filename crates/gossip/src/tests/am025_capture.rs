//! Bytes captured from a real Alertmanager 0.25 (Go memberlist v0.6.0) by
//! `testdata/capture_am025.py`: a join push/pull it dialed us with, and the UDP packet it
//! answered a ping with (an ack with its pending silence broadcast piggybacked). They must
//! decode, and what we re-encode from them must be byte for byte what Go sent, LZW included.

use crate::clusterpb::{FullState, Part};
use crate::messages::{AckResp, DEFAULT_VSN, Message, NodeState};
use crate::packet::{Inbound, PacketOptions, decode_packet, encode_packet};
use crate::stream::{
    Direction, StreamLimits, StreamMessage, StreamOptions, StreamRead, read_stream,
};
use prost::Message as _;

const PUSH_PULL: &[u8] = include_bytes!("../../testdata/am025-pushpull-join.bin");
const ACK_PACKET: &[u8] = include_bytes!("../../testdata/am025-ack-packet.bin");
const AM_ADDR: [u8; 4] = [127, 0, 0, 80];

fn silences_part_is_ours(data: &[u8]) {
    // A delimited MeshSilence whose matcher is job="golden".
    assert!(data.windows(6).any(|w| w == b"golden"), "silence with the golden matcher");
}

#[test]
fn alertmanager_join_push_pull_decodes_and_reencodes_identically() {
    let read =
        read_stream(PUSH_PULL, Direction::Request, &Inbound::plain(""), &StreamLimits::default())
            .expect("the capture decodes");
    let StreamRead::Complete { message, consumed } = read else { panic!("incomplete capture") };
    assert_eq!(consumed, PUSH_PULL.len());
    let StreamMessage::PushPull(pp) = &message else { panic!("not a push/pull: {message:?}") };
    assert!(pp.join);
    assert_eq!(pp.nodes.len(), 1, "a lone Alertmanager knows only itself");
    let node = &pp.nodes[0];
    assert_eq!((node.addr.as_slice(), node.port), (&AM_ADDR[..], 9094));
    assert_eq!(node.state, NodeState::Alive);
    assert_eq!(node.vsn, DEFAULT_VSN.to_vec());
    assert_eq!(node.name.len(), 26, "a ULID: {}", node.name);
    let full = FullState::decode(pp.user_state.as_slice()).expect("user state is a FullState");
    let keys: Vec<&str> = full.parts.iter().map(|p| p.key.as_str()).collect();
    assert!(keys.contains(&"nfl") && keys.contains(&"sil"), "{keys:?}");
    silences_part_is_ours(&full.parts.iter().find(|p| p.key == "sil").unwrap().data);

    // Go compresses every stream message; our encoder must produce the very same frame. The
    // parts' order in the full state is Go map order, kept as received.
    let opts = StreamOptions { label: "", label_header: false, compress: true, encrypt: None };
    assert_eq!(message.encode(&opts).unwrap(), PUSH_PULL);
}

#[test]
fn alertmanager_ack_packet_piggybacks_the_silence_broadcast() {
    let messages = decode_packet(ACK_PACKET, "").expect("the capture decodes");
    assert_eq!(messages[0], Message::Ack(AckResp { seq_no: 7, payload: Some(Vec::new()) }));
    let alive = messages.iter().find_map(|m| match m {
        Message::Alive(a) => Some(a),
        _ => None,
    });
    let alive = alive.expect("its own alive rides along");
    assert_eq!((alive.addr.as_slice(), alive.port), (&AM_ADDR[..], 9094));
    let user = messages.iter().find_map(|m| match m {
        Message::User(bytes) => Some(bytes),
        _ => None,
    });
    let part = Part::decode(user.expect("the silence broadcast rides along").as_slice()).unwrap();
    assert_eq!(part.key, "sil");
    silences_part_is_ours(&part.data);

    // Alertmanager does not ask for CRCs and compresses only when it pays; re-framing the
    // same messages the same way gives Go's bytes.
    let compressed = ACK_PACKET[0] == crate::messages::MessageType::Compress as u8;
    let opts = PacketOptions { label: "", crc: false, compress: compressed, encrypt: None };
    assert_eq!(encode_packet(&messages, &opts).unwrap(), ACK_PACKET);
}
