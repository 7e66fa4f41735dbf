//! HashiCorp memberlist (v0.6.0) for Klaxon: the wire format as a sans-IO codec, and the SWIM
//! membership protocol as a sans-IO state machine, so Klaxon nodes can join clusters of Go
//! Alertmanagers. Nothing outside [`net`] opens a socket or reads a clock, and nothing here
//! knows about alerts.
//!
//! Network:
//! - [`net`]: the tokio driver ([`Cluster`]) that runs a [`Node`] on a UDP socket and a TCP
//!   listener; with `net_tls`, the only modules that touch sockets or the clock.
//! - `net_tls`: Alertmanager's TLS transport ([`TlsTransport`]) in place of UDP and TCP.
//!
//! Codec:
//! - [`msgpack`]: the go-msgpack subset, byte-exact on output, lenient and bounded on input.
//! - [`messages`]: memberlist's structs and type bytes.
//! - [`lzw`]: Go `compress/lzw` (LSB, 8-bit literals) with an output cap.
//! - [`packet`]: UDP framing: label, CRC, compression, compound, user messages.
//! - [`stream`]: TCP framing: label, compression, push/pull, user message, ping/ack, error.
//! - [`tls_frame`]: the TLS transport's frames: packets and the stream announcement.
//! - [`clusterpb`]: Alertmanager's gossip payloads (`Part`, `FullState`).
//! - [`keyring`]: the optional AES-GCM envelopes (unused by stock Alertmanager).
//! - [`error`]: [`DecodeError`] and [`EncodeError`].
//!
//! Membership:
//! - [`node`]: [`Node`], fed packets, streams and ticks with the caller's `now`, producing
//!   [`Output`]s (packets to send, streams to open, member events, user messages, remote
//!   state); rumour rules, probing and dissemination are private modules behind it.
//! - [`members`]: the member table ([`Member`], [`MemberState`]).
//! - [`suspicion`], [`awareness`], [`broadcast`]: Lifeguard's suspicion timer and health
//!   score, and the retransmit-limited broadcast queue.
//!
//! Not covered yet: encryption on the node's own sends, dead-node reclaim
//! (`DeadNodeReclaimTime`, 0 in Alertmanager), the `Merge` delegate that can veto a join.
//!
//! ```
//! use gossip::{Message, PacketOptions, Ping, decode_packet, encode_packet};
//!
//! let ping = Message::Ping(Ping { seq_no: 1, node: "am-1".into(), ..Default::default() });
//! let opts = PacketOptions { label: "prod", crc: true, ..Default::default() };
//! let bytes = encode_packet(&[ping.clone()], &opts).unwrap();
//! assert_eq!(decode_packet(&bytes, "prod").unwrap(), vec![ping]);
//! ```

pub mod awareness;
pub mod broadcast;
pub mod clusterpb;
pub mod error;
mod exchange;
pub mod keyring;
pub mod lzw;
pub mod members;
pub mod messages;
pub mod msgpack;
pub mod net;
mod net_tls;
pub mod node;
pub mod packet;
mod probe;
mod rumors;
#[cfg(test)]
mod sim;
pub mod stream;
pub mod suspicion;
pub mod tls_frame;

pub use error::{DecodeError, EncodeError};
pub use keyring::{EncryptionVersion, Keyring, Seal};
pub use members::{Member, MemberState};
pub use messages::{
    AckResp, Alive, Body, Compress, DEFAULT_VSN, Dead, ErrResp, IndirectPingReq, Message,
    MessageType, NackResp, NodeState, Ping, PushNodeState, PushPullHeader, Suspect, Typed,
    UserMsgHeader, vsn_array,
};
pub use net::{Cluster, Events, MAX_GOSSIP_MESSAGE, NetConfig};
pub use net_tls::{TlsTransport, TransportEvent};
pub use node::{Config, Delegate, EventKind, MemberEvent, NoDelegate, Node, Output};
pub use packet::{
    Inbound, PacketOptions, decode_packet, decode_packet_lenient, decode_packet_with,
    encode_packet, frame_packet,
};
pub use stream::{
    Direction, PushPull, StreamLimits, StreamMessage, StreamOptions, StreamRead, read_stream,
};
pub use tokio_rustls::rustls;

#[cfg(test)]
mod tests;
