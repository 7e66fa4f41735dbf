//! Seeded random and mutated inputs for every decoder: none may panic, and what they return
//! must stay in proportion to what they were given (only LZW may expand, up to its cap).

use super::Rng;
use super::roundtrip::{gen_message, gen_stream_message};
use crate::clusterpb;
use crate::keyring::{Keyring, open_stream};
use crate::lzw::{self, MAX_DECOMPRESSED_BYTES};
use crate::messages::{Message, PushNodeState, decode_body};
use crate::msgpack::Decoder;
use crate::packet::{self, Inbound, PacketOptions};
use crate::stream::{
    Direction, StreamLimits, StreamMessage, StreamOptions, StreamRead, read_stream,
};
use crate::tls_frame;
use std::time::{Duration, Instant};

const CASES: usize = 6_000;
/// Generous for a debug build on a shared two-core machine; a hang would blow far past it.
const TIME_BUDGET: Duration = Duration::from_secs(60);

/// Random bytes, or a valid encoding with a few bytes flipped, cut or inserted: random bytes
/// rarely get past the first marker, mutants reach the deeper code.
fn input(r: &mut Rng, valid: &[Vec<u8>]) -> Vec<u8> {
    if r.below(3) == 0 || valid.is_empty() {
        return r.bytes(300);
    }
    let mut v = valid[r.below(valid.len())].clone();
    for _ in 0..1 + r.below(4) {
        if v.is_empty() {
            break;
        }
        let at = r.below(v.len());
        match r.below(4) {
            0 => v[at] = r.next_u64() as u8,
            1 => v.truncate(at),
            2 => v.insert(at, [0xc0, 0xdb, 0xdf, 0xff, 0x09, 0x07][r.below(6)]),
            _ => v[at] ^= 1 << r.below(8),
        }
    }
    v
}

fn message_size(m: &Message) -> usize {
    m.encode().len()
}

fn stream_size(m: &StreamMessage) -> usize {
    m.encode_body().map_or(0, |b| b.len())
}

fn corpus(r: &mut Rng) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in 0..200 {
        let msgs: Vec<Message> = (0..1 + r.below(4)).map(|_| gen_message(r)).collect();
        let opts = PacketOptions {
            label: if i % 2 == 0 { "l" } else { "" },
            crc: i % 3 == 0,
            compress: i % 4 == 0,
            ..Default::default()
        };
        out.push(packet::encode_packet(&msgs, &opts).unwrap());
        let s = gen_stream_message(r);
        let opts = StreamOptions {
            label: if i % 2 == 0 { "l" } else { "" },
            label_header: i % 3 != 0,
            compress: i % 5 < 2,
            ..Default::default()
        };
        out.push(s.encode(&opts).unwrap());
    }
    out
}

#[test]
fn decoders_survive_random_and_mutated_input() {
    let start = Instant::now();
    let mut r = Rng::new(0xdead_beef);
    let valid = corpus(&mut r);
    let limits = StreamLimits::default();
    let keyring = Keyring::new(&[[7u8; 16]]).unwrap();
    let keyed = Inbound { label: "l", keyring: Some(&keyring), verify_incoming: true };
    let inbounds = [Inbound::plain("l"), Inbound::plain(""), keyed];
    for case in 0..CASES {
        let buf = input(&mut r, &valid);
        let cap = buf.len() + MAX_DECOMPRESSED_BYTES;

        if let Ok(msgs) = packet::decode_packet(&buf, "l") {
            assert!(msgs.iter().map(message_size).sum::<usize>() <= cap, "case {case}");
        }
        for inbound in &inbounds {
            if let Ok(parts) = packet::decode_packet_with(&buf, inbound) {
                assert!(parts.len() <= cap);
            }
        }
        let _ = Message::decode(&buf);
        for (dir, inbound) in [Direction::Reply, Direction::Request]
            .into_iter()
            .flat_map(|d| inbounds.iter().map(move |i| (d, i)))
        {
            let read = read_stream(&buf, dir, inbound, &limits);
            if let Ok(StreamRead::Complete { message, consumed }) = read {
                assert!(consumed <= buf.len());
                assert!(stream_size(&message) <= cap, "case {case}");
            }
        }
        let mut dec = Decoder::new(&buf);
        if dec.read_value().is_ok() {
            assert!(dec.position() <= buf.len());
        }
        let _ = Decoder::new(&buf).skip_value();
        let _ = decode_body::<PushNodeState>(&buf);
        let _ = packet::split_compound(&buf);
        let _ = packet::strip_label(&buf);
        let _ = packet::strip_crc(&buf);
        if let Ok(out) = lzw::decompress(&buf, 1 << 20) {
            assert!(out.len() <= 1 << 20);
        }
        let _ = <clusterpb::FullState as prost::Message>::decode(&buf[..]);
        let _ = keyring.open(&buf, b"l");
        let _ = open_stream(&buf, &keyring, "l", 1 << 20);
        assert!(start.elapsed() < TIME_BUDGET, "fuzz too slow at case {case}");
    }
}

#[test]
fn decompression_bombs_are_capped_per_packet() {
    // One compressed part inflating to 30 MiB, twice in a compound: the second must fail
    // because the 40 MiB budget is shared across the packet.
    let inner = Message::User(vec![0; 30 << 20]).encode();
    let bomb = packet::compress_message(&inner);
    assert!(bomb.len() < 65_535, "bomb is {} bytes", bomb.len());
    let compound = packet::make_compound(&[&bomb, &bomb]).unwrap();
    let parts = packet::decode_packet_lenient(&compound, "").unwrap();
    assert_eq!(parts.len(), 2);
    assert!(parts[0].is_ok());
    assert!(parts[1].is_err());
}

#[test]
fn nested_framing_is_bounded() {
    let mut msg = Message::User(b"x".to_vec()).encode();
    for _ in 0..20 {
        msg = packet::make_compound(&[&msg]).unwrap();
    }
    let parts = packet::decode_packet_lenient(&msg, "").unwrap();
    assert!(matches!(parts.as_slice(), [Err(crate::DecodeError::FramingTooDeep { .. })]));
}

/// The TLS transport's frames: what a frame yields never exceeds what it was given, and a
/// length prefix alone cannot make the decoder want more than [`tls_frame::MAX_FRAME`].
#[test]
fn tls_frames_survive_random_and_mutated_input() {
    let mut r = Rng::new(0x7151_f4a3);
    let packets = corpus(&mut r);
    let mut valid: Vec<Vec<u8>> = packets
        .iter()
        .take(100)
        .map(|p| tls_frame::encode_packet_frame("127.0.0.1:9094", p))
        .collect();
    valid.push(tls_frame::encode_stream_frame());
    for case in 0..CASES {
        let buf = input(&mut r, &valid);
        match tls_frame::decode_frame(&buf) {
            Ok(Some((frame, used))) => {
                assert!(used <= buf.len(), "case {case}");
                if let tls_frame::TlsFrame::Packet { from, bytes } = frame {
                    assert!(from.len() + bytes.len() <= used, "case {case}");
                }
            }
            Ok(None) => {
                let claimed = buf.first_chunk::<4>().map_or(0, |p| u32::from_le_bytes(*p));
                assert!(claimed as usize <= tls_frame::MAX_FRAME, "case {case}");
            }
            Err(_) => {}
        }
    }
}
