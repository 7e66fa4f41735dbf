//! TCP stream framing as a sans-IO parser: the caller appends received bytes to a buffer and
//! calls [`read_stream`] until it returns [`StreamRead::Complete`].
//!
//! A memberlist stream carries one request and at most one reply, each
//! `[label header (dialer only)][10 encrypted | 9 compress | type][msgpack ...][raw bytes]`:
//! push/pull is `[6][pushPullHeader][N × pushNodeState][user state]`, a user message
//! `[8][userMsgHeader][bytes]`, a TCP ping `[0][ping]` answered by `[2][ackResp]`, and a
//! failed responder sends `[13][errResp]`. Go peers compress every stream message by default.
//!
//! Re-parsing from the start on every read is cheap: only msgpack headers are walked, and the
//! bulk of a frame (a compressed buffer, user state, a user message) is length-checked
//! against the buffer without being scanned until it is all there.

use crate::error::{DecodeError, EncodeError};
use crate::keyring::{Seal, open_stream, seal_stream};
use crate::lzw::MAX_DECOMPRESSED_BYTES;
use crate::messages::{
    AckResp, Body, ErrResp, MessageType, Ping, PushNodeState, PushPullHeader, Typed, UserMsgHeader,
};
use crate::msgpack::Decoder;
use crate::packet::{Inbound, check_label, compress_message, decompress_body, label_header};

/// memberlist's `maxPushStateBytes`: 20 MiB of user state in a push/pull.
pub const MAX_PUSH_STATE_BYTES: usize = 20 << 20;
/// memberlist's `maxPushStateNodes`.
pub const MAX_PUSH_STATE_NODES: usize = 1 << 20;
/// memberlist's `maxUserMsgBytes`: 20 MiB.
pub const MAX_USER_MSG_BYTES: usize = 20 << 20;

/// Limits applied while reading a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// Most node states in a push/pull.
    pub max_nodes: usize,
    /// Most user-state bytes in a push/pull.
    pub max_user_state: usize,
    /// Most bytes in a user message.
    pub max_user_msg: usize,
    /// Most bytes a compressed frame may inflate to.
    pub max_decompressed: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            max_nodes: MAX_PUSH_STATE_NODES,
            max_user_state: MAX_PUSH_STATE_BYTES,
            max_user_msg: MAX_USER_MSG_BYTES,
            max_decompressed: MAX_DECOMPRESSED_BYTES,
        }
    }
}

/// Which end of the connection we are reading as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// We accepted the connection: the dialer may have written a label header, and it must
    /// equal our label (`""` when we have none).
    Request,
    /// We dialed and are reading the reply, which memberlist sends without a label header
    /// (encryption still authenticates our label).
    Reply,
}

/// A push/pull exchange: our membership view and delegate state, or the peer's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PushPull {
    /// Join (true) or periodic anti-entropy (false).
    pub join: bool,
    /// Every member the sender knows.
    pub nodes: Vec<PushNodeState>,
    /// Delegate state; Alertmanager's is a `clusterpb.FullState`. Empty means none.
    pub user_state: Vec<u8>,
}

/// One message on a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamMessage {
    /// `pushPullMsg`.
    PushPull(PushPull),
    /// `userMsg`: reliable delivery of delegate bytes.
    User(Vec<u8>),
    /// `pingMsg` over TCP (probe fallback).
    Ping(Ping),
    /// `ackRespMsg` answering a TCP ping.
    Ack(AckResp),
    /// `errMsg`: the responder could not read our request.
    Error(ErrResp),
}

/// The result of looking at the bytes received so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamRead {
    /// Not enough bytes yet; read more and call again with the whole buffer.
    Incomplete,
    /// A full message, and how many bytes of the buffer it used.
    Complete {
        /// The message.
        message: StreamMessage,
        /// Bytes consumed from the start of the buffer, label header included.
        consumed: usize,
    },
}

/// Parses the message at the start of `buf`. Malformed input is an error at once; input
/// that is merely short is [`StreamRead::Incomplete`], and nothing is allocated for lengths
/// the buffer does not yet hold.
pub fn read_stream(
    buf: &[u8],
    direction: Direction,
    inbound: &Inbound<'_>,
    limits: &StreamLimits,
) -> Result<StreamRead, DecodeError> {
    match read_inner(buf, direction, inbound, limits) {
        Err(e) if e.is_incomplete() => Ok(StreamRead::Incomplete),
        other => other.map(|(message, consumed)| StreamRead::Complete { message, consumed }),
    }
}

fn read_inner(
    buf: &[u8],
    direction: Direction,
    inbound: &Inbound<'_>,
    limits: &StreamLimits,
) -> Result<(StreamMessage, usize), DecodeError> {
    let start = match direction {
        Direction::Request => strip_stream_label(buf, inbound.label)?,
        Direction::Reply => 0,
    };
    let rest = &buf[start..];
    let t = *rest.first().ok_or(DecodeError::UnexpectedEnd { what: "stream type" })?;
    if t == MessageType::Encrypt as u8 {
        let keyring = inbound.keyring.ok_or(DecodeError::Encrypted)?;
        // memberlist caps encrypted frames at the push/pull state limit.
        let (plain, used) = open_stream(rest, keyring, inbound.label, limits.max_user_state)?;
        let (message, _) = complete(read_frame(&plain, limits))?;
        return Ok((message, start + used));
    }
    if inbound.keyring.is_some() && inbound.verify_incoming {
        return Err(DecodeError::NotEncrypted);
    }
    let (message, used) = read_frame(rest, limits)?;
    Ok((message, start + used))
}

/// Reads `[9][compress]` or `[type][body]`; returns the message and the bytes used.
fn read_frame(buf: &[u8], limits: &StreamLimits) -> Result<(StreamMessage, usize), DecodeError> {
    let (&t, body) = buf.split_first().ok_or(DecodeError::UnexpectedEnd { what: "stream type" })?;
    if t != MessageType::Compress as u8 {
        let (message, used) = read_body(t, body, limits)?;
        return Ok((message, 1 + used));
    }
    let (inner, used) = decompress_body(body, limits.max_decompressed)?;
    let (&t, inner_body) =
        inner.split_first().ok_or(DecodeError::Empty("compressed stream frame"))?;
    let (message, _) = complete(read_body(t, inner_body, limits))?;
    Ok((message, 1 + used))
}

/// For data already complete (decompressed or decrypted), running short is corruption that
/// more input cannot fix.
fn complete<T>(r: Result<T, DecodeError>) -> Result<T, DecodeError> {
    r.map_err(|e| match e {
        DecodeError::UnexpectedEnd { what } => DecodeError::Truncated { what },
        e => e,
    })
}

/// Strips a label header from the start of a stream and checks it; returns its length.
fn strip_stream_label(buf: &[u8], label: &str) -> Result<usize, DecodeError> {
    let (got, len) = match buf {
        [] => return Err(DecodeError::UnexpectedEnd { what: "stream" }),
        [244] => return Err(DecodeError::UnexpectedEnd { what: "label length" }),
        [244, 0, ..] => return Err(DecodeError::EmptyLabel),
        [244, n, rest @ ..] => {
            let n = usize::from(*n);
            let got = rest.get(..n).ok_or(DecodeError::UnexpectedEnd { what: "label" })?;
            (got, n + 2)
        }
        _ => (&[][..], 0),
    };
    check_label(got, label)?;
    Ok(len)
}

/// Decodes the body after type byte `t`; returns the message and the bytes it used.
fn read_body(
    t: u8,
    body: &[u8],
    limits: &StreamLimits,
) -> Result<(StreamMessage, usize), DecodeError> {
    let mut dec = Decoder::new(body);
    let message = match MessageType::from_byte(t) {
        Some(MessageType::PushPull) => StreamMessage::PushPull(read_push_pull(&mut dec, limits)?),
        Some(MessageType::User) => {
            let header = UserMsgHeader::read_body(&mut dec)?;
            let len = checked_len(header.user_msg_len, limits.max_user_msg, "user message")?;
            StreamMessage::User(take(&mut dec, len, "user message")?.to_vec())
        }
        Some(MessageType::Ping) => StreamMessage::Ping(Ping::read_body(&mut dec)?),
        Some(MessageType::AckResp) => StreamMessage::Ack(AckResp::read_body(&mut dec)?),
        Some(MessageType::Err) => StreamMessage::Error(ErrResp::read_body(&mut dec)?),
        _ => return Err(DecodeError::UnexpectedMessageType(t, "a stream")),
    };
    Ok((message, dec.position()))
}

fn read_push_pull(dec: &mut Decoder<'_>, limits: &StreamLimits) -> Result<PushPull, DecodeError> {
    let header = PushPullHeader::read_body(dec)?;
    // Both limits are checked before waiting for the body, so a forged header cannot make us
    // buffer 20 MiB only to refuse it.
    let nodes = checked_len(header.nodes, limits.max_nodes, "push/pull nodes")?;
    let user_len =
        checked_len(header.user_state_len, limits.max_user_state, "push/pull user state")?;
    // A node state can be one byte on the wire but is ~130 in memory: reserve modestly and
    // let the vector grow only with states that actually decode.
    let mut states = Vec::with_capacity(nodes.min(1024));
    for _ in 0..nodes {
        states.push(PushNodeState::read_body(dec)?);
    }
    let user_state = take(dec, user_len, "push/pull user state")?.to_vec();
    Ok(PushPull { join: header.join, nodes: states, user_state })
}

/// Validates a Go `int` length from a header. Negative lengths are refused like Go's
/// push/pull reader does; for user messages Go silently reads nothing, which we treat as an
/// error too since no Go sender produces one.
fn checked_len(v: i64, max: usize, what: &'static str) -> Result<usize, DecodeError> {
    let n = usize::try_from(v)
        .map_err(|_| DecodeError::IntegerOutOfRange { value: i128::from(v), what })?;
    if n > max {
        return Err(DecodeError::TooLong { what, len: n as u64, max: max as u64 });
    }
    Ok(n)
}

/// Takes `n` raw bytes following the msgpack values.
fn take<'a>(dec: &mut Decoder<'a>, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
    dec.read_exact(n, what)
}

/// What to apply when writing a stream message.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamOptions<'a> {
    /// Our cluster label (`""` for none): the label header's content and, with encryption,
    /// part of the authenticated data.
    pub label: &'a str,
    /// Write the label header first; only the dialer does, so false for replies.
    pub label_header: bool,
    /// LZW-compress the message, as Go does for every stream message by default.
    pub compress: bool,
    /// Encrypt with a keyring (never set by stock Alertmanager).
    pub encrypt: Option<Seal<'a>>,
}

impl StreamMessage {
    /// The unframed `[type][msgpack...][raw bytes]`.
    pub fn encode_body(&self) -> Result<Vec<u8>, EncodeError> {
        Ok(match self {
            Self::PushPull(pp) => encode_push_pull(pp)?,
            Self::User(bytes) => {
                check_out(bytes.len(), MAX_USER_MSG_BYTES, "user message")?;
                let mut out = UserMsgHeader { user_msg_len: bytes.len() as i64 }.encode();
                out.extend_from_slice(bytes);
                out
            }
            Self::Ping(p) => p.encode(),
            Self::Ack(a) => a.encode(),
            Self::Error(e) => e.encode(),
        })
    }

    /// The full stream bytes: optional label header, then the body, compressed and then
    /// encrypted as asked (`rawSendMsgStream`'s order).
    pub fn encode(&self, opts: &StreamOptions<'_>) -> Result<Vec<u8>, EncodeError> {
        let mut body = self.encode_body()?;
        if opts.compress {
            body = compress_message(&body);
        }
        if let Some(seal) = &opts.encrypt {
            body = seal_stream(seal, &body, opts.label)?;
        }
        let mut out = if opts.label_header { label_header(opts.label)? } else { Vec::new() };
        out.extend_from_slice(&body);
        Ok(out)
    }
}

fn check_out(len: usize, max: usize, what: &'static str) -> Result<(), EncodeError> {
    if len > max {
        return Err(EncodeError::TooLong { what, len, max });
    }
    Ok(())
}

fn encode_push_pull(pp: &PushPull) -> Result<Vec<u8>, EncodeError> {
    check_out(pp.nodes.len(), MAX_PUSH_STATE_NODES, "push/pull nodes")?;
    check_out(pp.user_state.len(), MAX_PUSH_STATE_BYTES, "push/pull user state")?;
    let header = PushPullHeader {
        nodes: pp.nodes.len() as i64,
        user_state_len: pp.user_state.len() as i64,
        join: pp.join,
    };
    let mut out = header.encode();
    pp.nodes.iter().for_each(|n| n.write_body(&mut out));
    out.extend_from_slice(&pp.user_state);
    Ok(out)
}
