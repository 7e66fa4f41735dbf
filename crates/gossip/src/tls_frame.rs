//! The framing of Alertmanager's TLS transport (`--cluster.tls-config`), which carries
//! memberlist's packets and streams over TLS connections instead of UDP and plain TCP.
//!
//! Every connection starts with frames: a little-endian `u32` length, then a protobuf
//! `clusterpb.MemberlistMessage { string version = 1; Kind kind = 2; string from_addr = 3;
//! bytes msg = 4; }` whose version is always `"v0.1.0"`. A `PACKET` frame holds one whole
//! memberlist packet (what UDP would carry) and the sender's listen address; a connection
//! may carry any number of them. A `STREAM` frame (kind 0, no other field) says the rest of
//! the connection is one memberlist stream, byte for byte as over plain TCP.
//!
//! Go's reader wraps the connection in a fresh buffered reader for every frame, so bytes
//! past a frame's end within the same TLS record are lost: a writer must put each frame in
//! its own write so it ends a record.

use prost::Message;

/// The only version Alertmanager 0.25 accepts.
pub const TLS_FRAME_VERSION: &str = "v0.1.0";
/// Bytes of the length prefix.
pub const LENGTH_PREFIX: usize = 4;
/// Largest frame body read: a 64 KiB packet plus the envelope, far above Go's 1400-byte
/// packets, so a peer cannot make us allocate what its length prefix claims.
pub const MAX_FRAME: usize = 65_536 + 1024;

/// `clusterpb.MemberlistMessage`, declared by hand as [`crate::clusterpb`] does.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MemberlistMessage {
    /// Always [`TLS_FRAME_VERSION`].
    #[prost(string, tag = "1")]
    pub version: String,
    /// 0 for a stream, 1 for a packet.
    #[prost(int32, tag = "2")]
    pub kind: i32,
    /// The sender's listen address (`host:port`), on packets.
    #[prost(string, tag = "3")]
    pub from_addr: String,
    /// The memberlist packet, on packets.
    #[prost(bytes = "vec", tag = "4")]
    pub msg: Vec<u8>,
}

const KIND_STREAM: i32 = 0;
const KIND_PACKET: i32 = 1;

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsFrame {
    /// The connection's remaining bytes are one memberlist stream.
    Stream,
    /// A memberlist packet and the address its sender listens on.
    Packet {
        /// The sender's listen address as it wrote it.
        from: String,
        /// The packet, as UDP would have carried it.
        bytes: Vec<u8>,
    },
}

/// Why a frame could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsFrameError {
    /// The length prefix is above [`MAX_FRAME`].
    #[error("TLS transport frame of {0} bytes is over the {MAX_FRAME}-byte limit")]
    TooLarge(usize),
    /// The body is not a `MemberlistMessage`.
    #[error("TLS transport frame is not a MemberlistMessage: {0}")]
    Protobuf(String),
    /// The version is not [`TLS_FRAME_VERSION`].
    #[error("TLS transport frame version {0:?} is not {TLS_FRAME_VERSION:?}")]
    Version(String),
    /// The kind is neither stream nor packet.
    #[error("TLS transport frame kind {0} is neither stream nor packet")]
    Kind(i32),
}

/// The stream announcement a dialler writes before its memberlist stream.
pub fn encode_stream_frame() -> Vec<u8> {
    frame(&MemberlistMessage { version: TLS_FRAME_VERSION.to_owned(), ..Default::default() })
}

/// One packet from a node listening on `from`.
pub fn encode_packet_frame(from: &str, packet: &[u8]) -> Vec<u8> {
    frame(&MemberlistMessage {
        version: TLS_FRAME_VERSION.to_owned(),
        kind: KIND_PACKET,
        from_addr: from.to_owned(),
        msg: packet.to_vec(),
    })
}

fn frame(message: &MemberlistMessage) -> Vec<u8> {
    let body = message.encode_to_vec();
    let length = u32::try_from(body.len()).expect("a frame body fits in u32");
    let mut out = Vec::with_capacity(LENGTH_PREFIX + body.len());
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// Decodes the frame at the start of `buf`: `Ok(None)` while it is incomplete, else the
/// frame and how many bytes it took.
pub fn decode_frame(buf: &[u8]) -> Result<Option<(TlsFrame, usize)>, TlsFrameError> {
    let Some(prefix) = buf.first_chunk::<LENGTH_PREFIX>() else {
        return Ok(None);
    };
    let length = u32::from_le_bytes(*prefix) as usize;
    if length > MAX_FRAME {
        return Err(TlsFrameError::TooLarge(length));
    }
    let Some(body) = buf.get(LENGTH_PREFIX..LENGTH_PREFIX + length) else {
        return Ok(None);
    };
    let message =
        MemberlistMessage::decode(body).map_err(|e| TlsFrameError::Protobuf(e.to_string()))?;
    if message.version != TLS_FRAME_VERSION {
        return Err(TlsFrameError::Version(message.version));
    }
    let frame = match message.kind {
        KIND_STREAM => TlsFrame::Stream,
        KIND_PACKET => TlsFrame::Packet { from: message.from_addr, bytes: message.msg },
        other => return Err(TlsFrameError::Kind(other)),
    };
    Ok(Some((frame, LENGTH_PREFIX + length)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_frame_is_the_bare_version() {
        // Go's proto3 marshaller omits the zero kind: field 1, length 6, "v0.1.0".
        let mut expected = vec![8, 0, 0, 0, 0x0a, 6];
        expected.extend_from_slice(b"v0.1.0");
        assert_eq!(encode_stream_frame(), expected);
        assert_eq!(decode_frame(&expected).unwrap(), Some((TlsFrame::Stream, expected.len())));
    }

    #[test]
    fn packet_frame_round_trips_and_waits_for_its_end() {
        let bytes = encode_packet_frame("127.0.0.1:9094", b"\x01ping");
        let mut expected_body = vec![0x0a, 6];
        expected_body.extend_from_slice(b"v0.1.0");
        expected_body.extend_from_slice(&[0x10, 1, 0x1a, 14]);
        expected_body.extend_from_slice(b"127.0.0.1:9094");
        expected_body.extend_from_slice(&[0x22, 5]);
        expected_body.extend_from_slice(b"\x01ping");
        assert_eq!(bytes[..4], (expected_body.len() as u32).to_le_bytes());
        assert_eq!(bytes[4..], expected_body);
        for cut in 0..bytes.len() {
            assert_eq!(decode_frame(&bytes[..cut]).unwrap(), None, "cut at {cut}");
        }
        let mut two = bytes.clone();
        two.extend_from_slice(&encode_stream_frame());
        let (frame, used) = decode_frame(&two).unwrap().unwrap();
        assert_eq!(
            frame,
            TlsFrame::Packet { from: "127.0.0.1:9094".into(), bytes: b"\x01ping".to_vec() }
        );
        assert_eq!(used, bytes.len());
    }

    #[test]
    fn bad_frames_are_refused() {
        assert_eq!(
            decode_frame(&[0xff, 0xff, 0xff, 0x7f]),
            Err(TlsFrameError::TooLarge(0x7fff_ffff))
        );
        let other_version =
            frame(&MemberlistMessage { version: "v9".into(), ..Default::default() });
        assert_eq!(decode_frame(&other_version), Err(TlsFrameError::Version("v9".into())));
        let other_kind = frame(&MemberlistMessage {
            version: TLS_FRAME_VERSION.into(),
            kind: 7,
            ..Default::default()
        });
        assert_eq!(decode_frame(&other_kind), Err(TlsFrameError::Kind(7)));
        assert!(matches!(decode_frame(&[2, 0, 0, 0, 0xff, 0xff]), Err(TlsFrameError::Protobuf(_))));
    }
}
