//! LZW as Go's `compress/lzw` does it for memberlist: LSB bit order, 8-bit literals, GIF-style
//! code widths from 9 to 12 bits, a clear code (256) first and an end code (257) last.
//!
//! `weezl` does the bit work; this module adds what Go's reader insists on (the end code must
//! be present) and what the network demands (a hard cap on output, checked as it grows).

use crate::error::{DecodeError, EncodeError};
use weezl::{BitOrder, LzwStatus, decode::Decoder, encode::Encoder};

/// memberlist's `maxDecompressedBytes`: 40 MiB.
pub const MAX_DECOMPRESSED_BYTES: usize = 40 << 20;

/// Go's literal width for memberlist.
const LIT_WIDTH: u8 = 8;

/// Compresses `input` into a stream Go's `lzw.NewReader(r, lzw.LSB, 8)` accepts.
pub fn compress(input: &[u8]) -> Result<Vec<u8>, EncodeError> {
    Encoder::new(BitOrder::Lsb, LIT_WIDTH)
        .encode(input)
        .map_err(|e| EncodeError::Lzw(e.to_string()))
}

/// Decompresses `input`, failing if the output would exceed `max_out` bytes or if the stream
/// stops before its end code (Go reports that as `unexpected EOF`).
pub fn decompress(input: &[u8], max_out: usize) -> Result<Vec<u8>, DecodeError> {
    let mut dec = Decoder::new(BitOrder::Lsb, LIT_WIDTH);
    // Grow with what the input has produced so far, never with what a header claims.
    let mut out = Vec::with_capacity(input.len().saturating_mul(2).min(max_out));
    let mut chunk = [0u8; 8192];
    let mut rest = input;
    loop {
        let r = dec.decode_bytes(rest, &mut chunk);
        rest = &rest[r.consumed_in..];
        if out.len() + r.consumed_out > max_out {
            return Err(DecodeError::TooLong {
                what: "decompressed payload",
                len: (out.len() + r.consumed_out) as u64,
                max: max_out as u64,
            });
        }
        out.extend_from_slice(&chunk[..r.consumed_out]);
        match r.status {
            Ok(LzwStatus::Done) => return Ok(out),
            Ok(LzwStatus::Ok) => {}
            Ok(LzwStatus::NoProgress) => {
                return Err(DecodeError::Lzw("stream ends without end code".into()));
            }
            Err(e) => return Err(DecodeError::Lzw(e.to_string())),
        }
        if rest.is_empty() && r.consumed_out == 0 {
            return Err(DecodeError::Lzw("stream ends without end code".into()));
        }
    }
}
