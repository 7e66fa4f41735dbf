//! The codec's two error types: [`DecodeError`] for bytes that came off the network and
//! [`EncodeError`] for values we were asked to put on it.

use thiserror::Error;

/// Why received bytes could not be decoded.
///
/// Every variant names the place it happened, so a log line is enough to tell a truncated
/// packet from a peer speaking a newer protocol.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended in the middle of a value. For streams this means "wait for more bytes".
    #[error("unexpected end of input while reading {what}")]
    UnexpectedEnd {
        /// What was being read.
        what: &'static str,
    },
    /// A msgpack marker that does not fit where it was found.
    #[error("unexpected msgpack marker 0x{marker:02x} while reading {what}")]
    UnexpectedMarker {
        /// The marker byte.
        marker: u8,
        /// What was being read.
        what: &'static str,
    },
    /// An integer that does not fit the Go field it is decoded into.
    #[error("integer {value} out of range for {what}")]
    IntegerOutOfRange {
        /// The decoded value (signed values are widened).
        value: i128,
        /// The field or type it was meant for.
        what: &'static str,
    },
    /// Containers nested deeper than the decoder allows.
    #[error("msgpack nesting deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// A declared length larger than its limit or than the bytes left.
    #[error("{what} length {len} exceeds limit {max}")]
    TooLong {
        /// What carried the length.
        what: &'static str,
        /// The declared length.
        len: u64,
        /// The limit in force.
        max: u64,
    },
    /// A string field that is not UTF-8.
    #[error("field {field} is not valid UTF-8")]
    InvalidUtf8 {
        /// The Go field name.
        field: &'static str,
    },
    /// A message type byte that is unknown, or known but not valid in this position (a
    /// push/pull in a packet, a suspect on a stream).
    #[error("unexpected message type {0} in {1}")]
    UnexpectedMessageType(u8, &'static str),
    /// The label header was present but empty, which memberlist forbids.
    #[error("label header present with zero length")]
    EmptyLabel,
    /// The packet or stream label differs from ours.
    #[error("label mismatch: expected {expected:?}, got {got:?}")]
    LabelMismatch {
        /// Our label ("" for none).
        expected: String,
        /// The label found ("" for none).
        got: String,
    },
    /// The CRC header disagrees with the bytes it covers.
    #[error("crc mismatch: header says {expected:08x}, payload has {actual:08x}")]
    CrcMismatch {
        /// The value in the header.
        expected: u32,
        /// The value computed over the payload.
        actual: u32,
    },
    /// A `compress` body naming an algorithm other than LZW.
    #[error("unknown compression algorithm {0}")]
    UnknownCompression(u8),
    /// The LZW data is corrupt or lacks the end code.
    #[error("lzw: {0}")]
    Lzw(String),
    /// A compound message whose last parts are cut short.
    #[error("compound message: {truncated} of {parts} parts truncated")]
    TruncatedCompound {
        /// Parts announced in the header.
        parts: usize,
        /// Parts missing at the end.
        truncated: usize,
    },
    /// Framing layers (compound, compress) nested deeper than allowed.
    #[error("framing nested deeper than {max} levels")]
    FramingTooDeep {
        /// The limit.
        max: usize,
    },
    /// A message that is empty where a type byte was expected.
    #[error("empty message in {0}")]
    Empty(&'static str),
    /// A frame that is complete on the wire but whose content ends early (inside a
    /// compressed stream frame, more bytes cannot help).
    #[error("frame content ends while reading {what}")]
    Truncated {
        /// What was being read.
        what: &'static str,
    },
    /// An encrypted stream arrived but no keyring is configured.
    #[error("encrypted stream received but encryption is not configured")]
    Encrypted,
    /// Plaintext arrived where a keyring with `verify_incoming` requires encryption.
    #[error("encryption is configured but the remote data is not encrypted")]
    NotEncrypted,
    /// An envelope no key could open, or a malformed one.
    #[error("decrypt: {0}")]
    Decrypt(String),
}

impl DecodeError {
    /// True when more input could turn this error into success (a stream still arriving).
    pub fn is_incomplete(&self) -> bool {
        matches!(self, Self::UnexpectedEnd { .. })
    }
}

/// Why a value could not be encoded into memberlist's wire format.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// Labels are 1..=255 bytes on the wire.
    #[error("label of {0} bytes is longer than 255")]
    LabelTooLong(usize),
    /// A compound message counts its parts in one byte.
    #[error("{0} parts do not fit one compound message (max 255)")]
    TooManyParts(usize),
    /// A compound part's length is a u16.
    #[error("compound part of {0} bytes is longer than 65535")]
    PartTooLong(usize),
    /// Encryption keys are 16, 24 or 32 bytes (AES-128, -192, -256).
    #[error("encryption key of {0} bytes; want 16, 24 or 32")]
    InvalidKey(usize),
    /// A keyring needs a primary key.
    #[error("keyring has no keys")]
    NoKeys,
    /// Nothing to send.
    #[error("no messages to encode")]
    NoMessages,
    /// A length that exceeds what the receiving side accepts.
    #[error("{what} of {len} bytes exceeds limit {max}")]
    TooLong {
        /// What is too long.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
}
