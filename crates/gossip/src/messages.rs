//! memberlist's message structs and type bytes (`net.go` at v0.6.0), each encoded as
//! `[type byte][msgpack map of Go field names]`.
//!
//! Field order and `omitempty` handling follow the Go declarations exactly. Go peers would
//! accept any order, but byte-identical output keeps packet captures from Klaxon and
//! Alertmanager comparable, and lets golden tests pin the format.

use crate::error::DecodeError;
use crate::msgpack::{Decoder, StructWriter};

/// Message type bytes. memberlist only ever appends to this list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageType {
    /// UDP or TCP ping.
    Ping = 0,
    /// Request to probe a third node for us.
    IndirectPing = 1,
    /// Answer to a ping.
    AckResp = 2,
    /// Rumour that a node is suspect.
    Suspect = 3,
    /// Rumour (or refutation) that a node is alive.
    Alive = 4,
    /// Rumour that a node is dead or has left.
    Dead = 5,
    /// TCP state exchange.
    PushPull = 6,
    /// Several messages in one packet.
    Compound = 7,
    /// Opaque delegate (application) payload.
    User = 8,
    /// LZW-compressed message.
    Compress = 9,
    /// Encrypted envelope (keyring); not produced by stock Alertmanager.
    Encrypt = 10,
    /// Indirect probe failed.
    NackResp = 11,
    /// Packet carrying a CRC32 of the rest.
    HasCrc = 12,
    /// Stream responder failed.
    Err = 13,
    /// Label header; chosen so it collides with no type or encryption version.
    HasLabel = 244,
}

impl MessageType {
    /// Maps a byte to its type, if known.
    pub fn from_byte(b: u8) -> Option<Self> {
        use MessageType::*;
        Some(match b {
            0 => Ping,
            1 => IndirectPing,
            2 => AckResp,
            3 => Suspect,
            4 => Alive,
            5 => Dead,
            6 => PushPull,
            7 => Compound,
            8 => User,
            9 => Compress,
            10 => Encrypt,
            11 => NackResp,
            12 => HasCrc,
            13 => Err,
            244 => HasLabel,
            _ => return None,
        })
    }
}

/// Node states as carried in `pushNodeState.State` (a Go `int`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NodeState {
    /// `StateAlive` (0).
    #[default]
    Alive,
    /// `StateSuspect` (1).
    Suspect,
    /// `StateDead` (2).
    Dead,
    /// `StateLeft` (3).
    Left,
    /// A value this version does not know; kept so re-encoding is lossless.
    Other(i64),
}

impl NodeState {
    /// The Go integer.
    pub fn to_int(self) -> i64 {
        match self {
            Self::Alive => 0,
            Self::Suspect => 1,
            Self::Dead => 2,
            Self::Left => 3,
            Self::Other(v) => v,
        }
    }

    /// From the Go integer.
    pub fn from_int(v: i64) -> Self {
        match v {
            0 => Self::Alive,
            1 => Self::Suspect,
            2 => Self::Dead,
            3 => Self::Left,
            v => Self::Other(v),
        }
    }
}

/// A memberlist struct encoded as a msgpack map of its Go field names.
pub trait Body: Sized {
    /// Appends the msgpack map (without any type byte).
    fn write_body(&self, out: &mut Vec<u8>);
    /// Decodes the msgpack map (or array) at the decoder's position.
    fn read_body(dec: &mut Decoder<'_>) -> Result<Self, DecodeError>;
}

/// A struct that starts a message of its own, behind a type byte. (`pushNodeState` does
/// not: it only follows a `pushPullHeader`.)
pub trait Typed: Body {
    /// The type byte that precedes it.
    const TYPE: MessageType;

    /// `[type][body]`, the unit memberlist sends and nests in compounds.
    fn encode(&self) -> Vec<u8> {
        let mut out = vec![Self::TYPE as u8];
        self.write_body(&mut out);
        out
    }
}

/// Generates a struct with its Go field list, encoder and decoder from one declaration, so
/// the field order cannot drift between the three.
macro_rules! go_struct {
    (
        $(#[$meta:meta])*
        $name:ident $(= $ty:ident)?, $go:literal {
            $( $(#[$fmeta:meta])* $field:ident : $rty:ty => $goname:literal as $kind:ident ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $rty, )*
        }

        $(
            impl Typed for $name {
                const TYPE: MessageType = MessageType::$ty;
            }
        )?

        impl Body for $name {
            fn write_body(&self, out: &mut Vec<u8>) {
                let mut w = StructWriter::new();
                $( go_struct!(@write w, $goname, self.$field, $kind); )*
                w.finish(out);
            }

            fn read_body(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
                const FIELDS: &[&str] = &[$($goname),*];
                let mut v = Self::default();
                dec.read_struct($go, FIELDS, |i, dec| {
                    match FIELDS[i] {
                        $( $goname => v.$field = go_struct!(@read dec, $goname, $kind), )*
                        // read_struct only passes indices into FIELDS.
                        _ => dec.skip_value()?,
                    }
                    Ok(())
                })?;
                Ok(v)
            }
        }
    };
    (@write $w:ident, $n:literal, $v:expr, uint) => { $w.uint($n, u64::from($v)); };
    (@write $w:ident, $n:literal, $v:expr, uint_omitempty) => { $w.uint_omitempty($n, u64::from($v)); };
    (@write $w:ident, $n:literal, $v:expr, int) => { $w.int($n, $v); };
    (@write $w:ident, $n:literal, $v:expr, state) => { $w.int($n, $v.to_int()); };
    (@write $w:ident, $n:literal, $v:expr, bool) => { $w.bool($n, $v); };
    (@write $w:ident, $n:literal, $v:expr, string) => { $w.raw($n, $v.as_bytes()); };
    (@write $w:ident, $n:literal, $v:expr, string_omitempty) => { $w.raw_omitempty($n, $v.as_bytes()); };
    (@write $w:ident, $n:literal, $v:expr, bytes) => { $w.raw($n, &$v); };
    (@write $w:ident, $n:literal, $v:expr, bytes_omitempty) => { $w.raw_omitempty($n, &$v); };
    (@write $w:ident, $n:literal, $v:expr, nullable_bytes) => { $w.opt_raw($n, $v.as_deref()); };
    (@read $d:ident, $n:literal, uint) => { $d.read_int_as($n)? };
    (@read $d:ident, $n:literal, uint_omitempty) => { $d.read_int_as($n)? };
    (@read $d:ident, $n:literal, int) => { $d.read_int_as($n)? };
    (@read $d:ident, $n:literal, state) => { NodeState::from_int($d.read_int_as($n)?) };
    (@read $d:ident, $n:literal, bool) => { $d.read_bool($n)? };
    (@read $d:ident, $n:literal, string) => { $d.read_string($n)? };
    (@read $d:ident, $n:literal, string_omitempty) => { $d.read_string($n)? };
    (@read $d:ident, $n:literal, bytes) => { $d.read_bytes_opt($n)?.unwrap_or_default() };
    (@read $d:ident, $n:literal, bytes_omitempty) => { $d.read_bytes_opt($n)?.unwrap_or_default() };
    (@read $d:ident, $n:literal, nullable_bytes) => { $d.read_bytes_opt($n)? };
}

go_struct! {
    /// `ping`: a direct probe. `source_*` let the target answer a node behind NAT.
    Ping = Ping, "ping" {
        /// Sequence number the ack echoes.
        seq_no: u32 => "SeqNo" as uint,
        /// Intended target's name, so a restarted node under a new name does not answer.
        node: String => "Node" as string,
        /// Where to send the ack (omitempty).
        source_addr: Vec<u8> => "SourceAddr" as bytes_omitempty,
        /// Port for the ack (omitempty).
        source_port: u16 => "SourcePort" as uint_omitempty,
        /// Sender's name (omitempty).
        source_node: String => "SourceNode" as string_omitempty,
    }
}

go_struct! {
    /// `indirectPingReq`: asks a peer to probe `target` for us.
    IndirectPingReq = IndirectPing, "indirectPingReq" {
        /// Sequence number to echo in the relayed ack or nack.
        seq_no: u32 => "SeqNo" as uint,
        /// Target IP (4 or 16 bytes).
        target: Vec<u8> => "Target" as bytes,
        /// Target port.
        port: u16 => "Port" as uint,
        /// Target name.
        node: String => "Node" as string,
        /// Whether we want a nack if the target does not answer.
        nack: bool => "Nack" as bool,
        /// Where to send the ack (omitempty).
        source_addr: Vec<u8> => "SourceAddr" as bytes_omitempty,
        /// Port for the ack (omitempty).
        source_port: u16 => "SourcePort" as uint_omitempty,
        /// Sender's name (omitempty).
        source_node: String => "SourceNode" as string_omitempty,
    }
}

go_struct! {
    /// `ackResp`. Alertmanager's UDP acks carry an empty payload (`a0`); TCP-ping acks carry
    /// nil (`c0`), hence the `Option`.
    AckResp = AckResp, "ackResp" {
        /// The ping's sequence number.
        seq_no: u32 => "SeqNo" as uint,
        /// Delegate ack payload; `None` encodes as nil.
        payload: Option<Vec<u8>> => "Payload" as nullable_bytes,
    }
}

go_struct! {
    /// `nackResp`: the indirect probe we relayed got no answer.
    NackResp = NackResp, "nackResp" {
        /// The indirect ping's sequence number.
        seq_no: u32 => "SeqNo" as uint,
    }
}

go_struct! {
    /// `errResp`: a stream responder could not read our request.
    ErrResp = Err, "errResp" {
        /// Go's error text.
        error: String => "Error" as string,
    }
}

go_struct! {
    /// `suspect`: `from` suspects `node` at `incarnation`.
    Suspect = Suspect, "suspect" {
        /// Incarnation the suspicion applies to.
        incarnation: u32 => "Incarnation" as uint,
        /// Suspected node.
        node: String => "Node" as string,
        /// Suspecting node.
        from: String => "From" as string,
    }
}

go_struct! {
    /// `alive`. `vsn` must hold 6 bytes or Alertmanager ignores the message.
    Alive = Alive, "alive" {
        /// Incarnation; only a higher one overrides what peers know.
        incarnation: u32 => "Incarnation" as uint,
        /// Node name.
        node: String => "Node" as string,
        /// IP (4 bytes for IPv4, 16 for IPv6).
        addr: Vec<u8> => "Addr" as bytes,
        /// Gossip port.
        port: u16 => "Port" as uint,
        /// Delegate metadata (empty for Alertmanager).
        meta: Vec<u8> => "Meta" as bytes,
        /// `[pmin, pmax, pcur, dmin, dmax, dcur]`, see [`DEFAULT_VSN`].
        vsn: Vec<u8> => "Vsn" as bytes,
    }
}

go_struct! {
    /// `dead`; `from == node` means a graceful leave.
    Dead = Dead, "dead" {
        /// Incarnation being declared dead.
        incarnation: u32 => "Incarnation" as uint,
        /// Dead node.
        node: String => "Node" as string,
        /// Declaring node.
        from: String => "From" as string,
    }
}

go_struct! {
    /// `pushPullHeader`: counts for the node states and user state that follow on the stream.
    PushPullHeader = PushPull, "pushPullHeader" {
        /// Number of `pushNodeState` values that follow.
        nodes: i64 => "Nodes" as int,
        /// Bytes of user (delegate) state after the node states.
        user_state_len: i64 => "UserStateLen" as int,
        /// Join (true) or periodic anti-entropy (false).
        join: bool => "Join" as bool,
    }
}

go_struct! {
    /// `userMsgHeader`: length of the raw user message that follows on the stream.
    UserMsgHeader = User, "userMsgHeader" {
        /// Bytes of user message.
        user_msg_len: i64 => "UserMsgLen" as int,
    }
}

go_struct! {
    /// `pushNodeState`: one member as seen by the sender of a push/pull.
    PushNodeState, "pushNodeState" {
        /// Node name.
        name: String => "Name" as string,
        /// IP bytes.
        addr: Vec<u8> => "Addr" as bytes,
        /// Gossip port.
        port: u16 => "Port" as uint,
        /// Delegate metadata.
        meta: Vec<u8> => "Meta" as bytes,
        /// Incarnation.
        incarnation: u32 => "Incarnation" as uint,
        /// Membership state.
        state: NodeState => "State" as state,
        /// Protocol ranges, 6 bytes.
        vsn: Vec<u8> => "Vsn" as bytes,
    }
}

go_struct! {
    /// `compress`: `buf` is LZW data; `algo` 0 is the only algorithm.
    Compress = Compress, "compress" {
        /// Algorithm; 0 = LZW.
        algo: u8 => "Algo" as uint,
        /// Compressed bytes.
        buf: Vec<u8> => "Buf" as bytes,
    }
}

/// `[pmin=1, pmax=5, pcur=2, dmin=0, dmax=0, dcur=0]`: memberlist v0.6.0's defaults with an
/// Alertmanager delegate, accepted by `verifyProtocol` on every peer since protocol 2.
pub const DEFAULT_VSN: [u8; 6] = [1, 5, 2, 0, 0, 0];

/// Reads a `Vsn` field as `[pmin, pmax, pcur, dmin, dmax, dcur]`; `None` unless it has
/// exactly six bytes (Alertmanager's memberlist ignores alive messages with fewer).
pub fn vsn_array(vsn: &[u8]) -> Option<[u8; 6]> {
    vsn.try_into().ok()
}

/// A message as it appears inside a UDP packet, after framing is removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `pingMsg`.
    Ping(Ping),
    /// `indirectPingMsg`.
    IndirectPing(IndirectPingReq),
    /// `ackRespMsg`.
    Ack(AckResp),
    /// `nackRespMsg`.
    Nack(NackResp),
    /// `errMsg` (normally stream-only).
    Err(ErrResp),
    /// `suspectMsg`.
    Suspect(Suspect),
    /// `aliveMsg`.
    Alive(Alive),
    /// `deadMsg`.
    Dead(Dead),
    /// `userMsg`: raw delegate bytes, everything after the type byte.
    User(Vec<u8>),
}

impl Message {
    /// The type byte this message is sent with.
    pub fn message_type(&self) -> MessageType {
        match self {
            Self::Ping(_) => MessageType::Ping,
            Self::IndirectPing(_) => MessageType::IndirectPing,
            Self::Ack(_) => MessageType::AckResp,
            Self::Nack(_) => MessageType::NackResp,
            Self::Err(_) => MessageType::Err,
            Self::Suspect(_) => MessageType::Suspect,
            Self::Alive(_) => MessageType::Alive,
            Self::Dead(_) => MessageType::Dead,
            Self::User(_) => MessageType::User,
        }
    }

    /// `[type][body]`.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Ping(m) => m.encode(),
            Self::IndirectPing(m) => m.encode(),
            Self::Ack(m) => m.encode(),
            Self::Nack(m) => m.encode(),
            Self::Err(m) => m.encode(),
            Self::Suspect(m) => m.encode(),
            Self::Alive(m) => m.encode(),
            Self::Dead(m) => m.encode(),
            Self::User(b) => {
                let mut out = Vec::with_capacity(b.len() + 1);
                out.push(MessageType::User as u8);
                out.extend_from_slice(b);
                out
            }
        }
    }

    /// Decodes one `[type][body]` message. Framing types (compound, compress, crc, label,
    /// encrypt) and stream-only types are rejected here; `packet` unwraps the framing ones.
    /// Bytes after the msgpack body are ignored, as Go's decoder ignores them.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let (&t, body) = buf.split_first().ok_or(DecodeError::Empty("message"))?;
        let mut dec = Decoder::new(body);
        let d = &mut dec;
        Ok(match MessageType::from_byte(t) {
            Some(MessageType::Ping) => Self::Ping(Ping::read_body(d)?),
            Some(MessageType::IndirectPing) => Self::IndirectPing(IndirectPingReq::read_body(d)?),
            Some(MessageType::AckResp) => Self::Ack(AckResp::read_body(d)?),
            Some(MessageType::NackResp) => Self::Nack(NackResp::read_body(d)?),
            Some(MessageType::Err) => Self::Err(ErrResp::read_body(d)?),
            Some(MessageType::Suspect) => Self::Suspect(Suspect::read_body(d)?),
            Some(MessageType::Alive) => Self::Alive(Alive::read_body(d)?),
            Some(MessageType::Dead) => Self::Dead(Dead::read_body(d)?),
            Some(MessageType::User) => Self::User(body.to_vec()),
            _ => return Err(DecodeError::UnexpectedMessageType(t, "a packet")),
        })
    }
}

/// Decodes a body of type `T` from a byte slice holding only its msgpack map.
pub fn decode_body<T: Body>(buf: &[u8]) -> Result<T, DecodeError> {
    T::read_body(&mut Decoder::new(buf))
}

/// A body's msgpack map alone, without a type byte.
pub fn encode_body<T: Body>(body: &T) -> Vec<u8> {
    let mut out = Vec::new();
    body.write_body(&mut out);
    out
}
