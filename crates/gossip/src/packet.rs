//! UDP packet framing, outermost first: `[244][len][label]`, (encryption), `[12][crc32 BE]`,
//! `[9][compress]`, then one message or `[7][n][n × u16 BE len][parts]`.
//!
//! Receiving unwraps those layers in that order and recurses through compound and compress
//! (which may nest); sending applies them in reverse. With a keyring, the AES-GCM envelope
//! sits between the label and the CRC (see [`crate::keyring`]).

use crate::error::{DecodeError, EncodeError};
use crate::keyring::{Keyring, Seal, open_packet, seal_packet};
use crate::lzw::{self, MAX_DECOMPRESSED_BYTES};
use crate::messages::{Body, Compress, Message, MessageType, Typed};
use crate::msgpack::Decoder;
use std::borrow::Cow;

/// Labels travel with a one-byte length.
pub const LABEL_MAX_LEN: usize = 255;

/// How deep compound and compress may nest inside one packet. Go peers produce at most
/// compress(compound(messages)); the bound only exists to stop hostile recursion.
pub const MAX_FRAMING_DEPTH: usize = 8;

/// A compound message counts its parts in one byte.
pub const MAX_COMPOUND_PARTS: usize = 255;

/// memberlist's default `UDPBufferSize`: the largest packet a peer sends, and the budget
/// piggybacked broadcasts are fitted into.
pub const UDP_BUFFER_SIZE: usize = 1400;
/// Bytes a compound header takes (type and count).
pub const COMPOUND_HEADER_OVERHEAD: usize = 2;
/// Bytes each compound part adds (its u16 length).
pub const COMPOUND_OVERHEAD: usize = 2;
/// Bytes a user message adds in a packet (its type byte).
pub const USER_MSG_OVERHEAD: usize = 1;
/// Bytes the CRC header adds.
pub const CRC_OVERHEAD: usize = 5;

/// Bytes the label header adds: none without a label, else `2 + len`.
pub fn label_overhead(label: &str) -> usize {
    if label.is_empty() { 0 } else { 2 + label.len() }
}

/// What to apply when sending a packet.
#[derive(Debug, Clone, Copy, Default)]
pub struct PacketOptions<'a> {
    /// Cluster label; `""` for none.
    pub label: &'a str,
    /// Add a CRC header; memberlist does when the recipient's PMax is 5 or more.
    pub crc: bool,
    /// Try LZW and keep it only if the packet gets smaller.
    pub compress: bool,
    /// Encrypt with a keyring (never set by stock Alertmanager).
    pub encrypt: Option<Seal<'a>>,
}

/// What a receiver accepts, for packets and streams alike.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inbound<'a> {
    /// Our cluster label (`""` for none); data under another label is refused.
    pub label: &'a str,
    /// Keys to decrypt with, if encryption is configured.
    pub keyring: Option<&'a Keyring>,
    /// With a keyring, refuse plaintext (memberlist's `GossipVerifyIncoming`, on by default);
    /// without it, data that fails to decrypt is read as plaintext.
    pub verify_incoming: bool,
}

impl<'a> Inbound<'a> {
    /// No encryption: only the label is checked.
    pub fn plain(label: &'a str) -> Self {
        Self { label, ..Self::default() }
    }
}

/// Splits a label header off `buf`. Returns the label (empty when absent) and the rest.
pub fn strip_label(buf: &[u8]) -> Result<(&[u8], &[u8]), DecodeError> {
    match buf {
        [244, rest @ ..] => {
            let (&len, rest) =
                rest.split_first().ok_or(DecodeError::UnexpectedEnd { what: "label length" })?;
            if len == 0 {
                return Err(DecodeError::EmptyLabel);
            }
            if rest.len() < usize::from(len) {
                return Err(DecodeError::UnexpectedEnd { what: "label" });
            }
            Ok(rest.split_at(usize::from(len)))
        }
        _ => Ok((&[], buf)),
    }
}

/// Checks a stripped label against ours.
pub fn check_label(got: &[u8], expected: &str) -> Result<(), DecodeError> {
    if got == expected.as_bytes() {
        return Ok(());
    }
    Err(DecodeError::LabelMismatch {
        expected: expected.to_owned(),
        got: String::from_utf8_lossy(got).into_owned(),
    })
}

/// Prepends a label header (nothing for an empty label).
pub fn label_header(label: &str) -> Result<Vec<u8>, EncodeError> {
    match label.len() {
        0 => Ok(Vec::new()),
        n if n > LABEL_MAX_LEN => Err(EncodeError::LabelTooLong(n)),
        n => {
            let mut out = Vec::with_capacity(n + 2);
            out.extend_from_slice(&[MessageType::HasLabel as u8, n as u8]);
            out.extend_from_slice(label.as_bytes());
            Ok(out)
        }
    }
}

/// Verifies and strips a CRC header if one is present; other packets pass through, since
/// senders add the CRC only when they know the recipient's protocol version.
pub fn strip_crc(buf: &[u8]) -> Result<&[u8], DecodeError> {
    if buf.len() < 5 || buf[0] != MessageType::HasCrc as u8 {
        return Ok(buf);
    }
    let expected = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]);
    let actual = crc32fast::hash(&buf[5..]);
    if actual != expected {
        return Err(DecodeError::CrcMismatch { expected, actual });
    }
    Ok(&buf[5..])
}

/// `[12][crc32-IEEE(payload) BE][payload]`.
pub fn add_crc(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 5);
    out.push(MessageType::HasCrc as u8);
    out.extend_from_slice(&crc32fast::hash(payload).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// `[7][n][n × u16 BE len][parts]`.
pub fn make_compound<P: AsRef<[u8]>>(parts: &[P]) -> Result<Vec<u8>, EncodeError> {
    if parts.len() > MAX_COMPOUND_PARTS {
        return Err(EncodeError::TooManyParts(parts.len()));
    }
    let total: usize = parts.iter().map(|p| p.as_ref().len() + 2).sum();
    let mut out = Vec::with_capacity(total + 2);
    out.extend_from_slice(&[MessageType::Compound as u8, parts.len() as u8]);
    for p in parts {
        let len = u16::try_from(p.as_ref().len())
            .map_err(|_| EncodeError::PartTooLong(p.as_ref().len()))?;
        out.extend_from_slice(&len.to_be_bytes());
    }
    parts.iter().for_each(|p| out.extend_from_slice(p.as_ref()));
    Ok(out)
}

/// Splits a compound body (after the type byte) into its parts. Like Go, complete leading
/// parts are returned even when later ones are cut short; the second value counts the
/// truncated ones.
pub fn split_compound(body: &[u8]) -> Result<(Vec<&[u8]>, usize), DecodeError> {
    let (&n, rest) =
        body.split_first().ok_or(DecodeError::UnexpectedEnd { what: "compound part count" })?;
    let n = usize::from(n);
    if rest.len() < n * 2 {
        return Err(DecodeError::UnexpectedEnd { what: "compound lengths" });
    }
    let (lens, mut data) = rest.split_at(n * 2);
    let mut parts = Vec::with_capacity(n);
    for (i, len) in lens.chunks_exact(2).enumerate() {
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        if data.len() < len {
            return Ok((parts, n - i));
        }
        let (part, tail) = data.split_at(len);
        parts.push(part);
        data = tail;
    }
    Ok((parts, 0))
}

/// `[9][msgpack compress{Algo: 0, Buf: lzw(msg)}]`.
pub fn compress_message(msg: &[u8]) -> Vec<u8> {
    let c = Compress { algo: 0, buf: lzw::compress(msg) };
    c.encode()
}

/// Decodes a `compress` body (after the type byte) and inflates it, within `max_out` bytes.
/// Returns the inflated bytes and how much of `body` the msgpack struct used.
pub fn decompress_body(body: &[u8], max_out: usize) -> Result<(Vec<u8>, usize), DecodeError> {
    let mut dec = Decoder::new(body);
    let c = Compress::read_body(&mut dec)?;
    if c.algo != 0 {
        return Err(DecodeError::UnknownCompression(c.algo));
    }
    Ok((lzw::decompress(&c.buf, max_out)?, dec.position()))
}

/// Decodes a received packet into its messages, failing on the first bad layer or message.
/// `expected_label` is our cluster label (`""` for none); packets with another are refused.
pub fn decode_packet(bytes: &[u8], expected_label: &str) -> Result<Vec<Message>, DecodeError> {
    decode_packet_lenient(bytes, expected_label)?.into_iter().collect()
}

/// Like [`decode_packet`], but as memberlist does it: a bad part of a compound or a bad
/// compressed payload is reported in place and the other messages still arrive. The outer
/// `Err` is for the whole packet (label, CRC, empty).
pub fn decode_packet_lenient(
    bytes: &[u8],
    expected_label: &str,
) -> Result<Vec<Result<Message, DecodeError>>, DecodeError> {
    decode_packet_with(bytes, &Inbound::plain(expected_label))
}

/// [`decode_packet_lenient`] with the full receive configuration, encryption included:
/// label, then decryption (authenticated with the label), then CRC, then the messages.
pub fn decode_packet_with(
    bytes: &[u8],
    inbound: &Inbound<'_>,
) -> Result<Vec<Result<Message, DecodeError>>, DecodeError> {
    let (label, rest) = strip_label(bytes)?;
    check_label(label, inbound.label)?;
    let plain = match inbound.keyring {
        None => Cow::Borrowed(rest),
        Some(keyring) => match open_packet(keyring, rest, inbound.label) {
            Ok(plain) => Cow::Owned(plain),
            Err(e) if inbound.verify_incoming => return Err(e),
            // Rolling encryption out: peers that do not encrypt yet are still heard.
            Err(_) => Cow::Borrowed(rest),
        },
    };
    let payload = strip_crc(&plain)?;
    let mut walk = Walk { out: Vec::new(), inflated: 0 };
    walk.message(payload, 0);
    Ok(walk.out)
}

/// Recursion state for one packet: results so far and a shared decompression budget, so
/// nested compress layers cannot multiply the 40 MiB cap.
struct Walk {
    out: Vec<Result<Message, DecodeError>>,
    inflated: usize,
}

impl Walk {
    fn message(&mut self, buf: &[u8], depth: usize) {
        if depth > MAX_FRAMING_DEPTH {
            self.out.push(Err(DecodeError::FramingTooDeep { max: MAX_FRAMING_DEPTH }));
            return;
        }
        match buf.first().copied().map(MessageType::from_byte) {
            None => self.out.push(Err(DecodeError::Empty("packet"))),
            Some(Some(MessageType::Compound)) => match split_compound(&buf[1..]) {
                Ok((parts, truncated)) => {
                    let count = parts.len() + truncated;
                    parts.into_iter().for_each(|p| self.message(p, depth + 1));
                    if truncated > 0 {
                        self.out
                            .push(Err(DecodeError::TruncatedCompound { parts: count, truncated }));
                    }
                }
                Err(e) => self.out.push(Err(e)),
            },
            Some(Some(MessageType::Compress)) => {
                let budget = MAX_DECOMPRESSED_BYTES - self.inflated;
                match decompress_body(&buf[1..], budget) {
                    Ok((inner, _)) => {
                        self.inflated += inner.len();
                        self.message(&inner, depth + 1);
                    }
                    Err(e) => self.out.push(Err(e)),
                }
            }
            Some(_) => self.out.push(Message::decode(buf)),
        }
    }
}

/// Frames messages for sending: one message alone or several as a compound, then
/// compression if it helps, then CRC, then encryption, then the label, as
/// `rawSendMsgPacket` and the transport order them.
pub fn encode_packet(
    messages: &[Message],
    opts: &PacketOptions<'_>,
) -> Result<Vec<u8>, EncodeError> {
    let parts: Vec<Vec<u8>> = messages.iter().map(Message::encode).collect();
    frame_packet(&parts, opts)
}

/// [`encode_packet`] for messages that are already `[type][body]` bytes, such as queued
/// broadcasts.
pub fn frame_packet<P: AsRef<[u8]>>(
    parts: &[P],
    opts: &PacketOptions<'_>,
) -> Result<Vec<u8>, EncodeError> {
    let mut payload = match parts {
        [] => return Err(EncodeError::NoMessages),
        [one] => one.as_ref().to_vec(),
        many => make_compound(many)?,
    };
    if opts.compress {
        let compressed = compress_message(&payload);
        if compressed.len() < payload.len() {
            payload = compressed;
        }
    }
    if opts.crc {
        payload = add_crc(&payload);
    }
    if let Some(seal) = &opts.encrypt {
        payload = seal_packet(seal, &payload, opts.label);
    }
    let mut out = label_header(opts.label)?;
    out.extend_from_slice(&payload);
    Ok(out)
}
