//! LZW as Go's `compress/lzw` does it for memberlist: LSB bit order, 8-bit literals, GIF-style
//! code widths from 9 to 12 bits, a clear code (256) first and an end code (257) last.
//!
//! Compression is our own, emitting the same bytes as Go's writer (in particular, a clear
//! code as soon as code 4095 would be assigned, where `weezl`'s encoder assigns it first), so
//! captures from Klaxon and Alertmanager compare equal. Decompression uses `weezl`, plus what
//! Go's reader insists on (the end code must be present) and what the network demands (a
//! hard cap on output, checked as it grows).

use crate::error::DecodeError;
use std::collections::HashMap;
use weezl::{BitOrder, LzwStatus, decode::Decoder};

/// memberlist's `maxDecompressedBytes`: 40 MiB.
pub const MAX_DECOMPRESSED_BYTES: usize = 40 << 20;

/// Go's literal width for memberlist.
const LIT_WIDTH: u8 = 8;
const CLEAR: u32 = 1 << LIT_WIDTH;
const EOF: u32 = CLEAR + 1;
/// Largest code at 12 bits; Go resets rather than assign it.
const MAX_CODE: u32 = (1 << 12) - 1;

/// Bit packer and code-table bookkeeping of Go's LZW writer.
struct Writer {
    out: Vec<u8>,
    bits: u64,
    nbits: u32,
    width: u32,
    /// The most recently assigned code.
    hi: u32,
    /// First code that needs `width + 1` bits.
    overflow: u32,
    /// (prefix code << 8 | next byte) → code.
    table: HashMap<u32, u32>,
}

impl Writer {
    fn new(capacity: usize) -> Self {
        Self {
            out: Vec::with_capacity(capacity),
            bits: 0,
            nbits: 0,
            width: 9,
            hi: EOF,
            overflow: 1 << 9,
            table: HashMap::new(),
        }
    }

    fn emit(&mut self, code: u32) {
        self.bits |= u64::from(code) << self.nbits;
        self.nbits += self.width;
        while self.nbits >= 8 {
            self.out.push(self.bits as u8);
            self.bits >>= 8;
            self.nbits -= 8;
        }
    }

    /// Claims the next code. Returns false when that would be [`MAX_CODE`]: the writer has
    /// then sent a clear code and started over, and no table entry may be added.
    fn next_code(&mut self) -> bool {
        self.hi += 1;
        if self.hi == self.overflow {
            self.width += 1;
            self.overflow <<= 1;
        }
        if self.hi == MAX_CODE {
            self.emit(CLEAR);
            self.width = 9;
            self.hi = EOF;
            self.overflow = 1 << 9;
            self.table.clear();
            return false;
        }
        true
    }

    fn finish(mut self) -> Vec<u8> {
        if self.nbits > 0 {
            self.out.push(self.bits as u8);
        }
        self.out
    }
}

/// Compresses `input` into the exact bytes Go's `lzw.NewWriter(w, lzw.LSB, 8)` produces.
pub fn compress(input: &[u8]) -> Vec<u8> {
    let mut w = Writer::new(input.len() / 2 + 4);
    w.emit(CLEAR);
    let Some((&first, rest)) = input.split_first() else {
        w.emit(EOF);
        return w.finish();
    };
    let mut code = u32::from(first);
    for &b in rest {
        let key = (code << 8) | u32::from(b);
        if let Some(&known) = w.table.get(&key) {
            code = known;
            continue;
        }
        w.emit(code);
        code = u32::from(b);
        if w.next_code() {
            let hi = w.hi;
            w.table.insert(key, hi);
        }
    }
    w.emit(code);
    w.next_code();
    w.emit(EOF);
    w.finish()
}

/// Decompresses `input`, failing if the output would exceed `max_out` bytes or if the stream
/// stops before its end code (Go reports that as `unexpected EOF`).
pub fn decompress(input: &[u8], max_out: usize) -> Result<Vec<u8>, DecodeError> {
    let mut dec = Decoder::new(BitOrder::Lsb, LIT_WIDTH);
    // Grow with what the input has produced so far, never with what a header claims.
    let mut out = Vec::with_capacity(input.len().saturating_mul(2).min(max_out));
    let mut chunk = [0u8; 8192];
    let mut rest = input;
    // weezl reports the end code one call after the bytes holding it were consumed, so only
    // two calls in a row without progress mean the input really ran out.
    let mut idle = 0;
    while idle < 2 {
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
            Err(e) => return Err(DecodeError::Lzw(e.to_string())),
            Ok(LzwStatus::Done) => return Ok(out),
            Ok(_) if dec.has_ended() => return Ok(out),
            Ok(_) if r.consumed_in == 0 && r.consumed_out == 0 => idle += 1,
            Ok(_) => idle = 0,
        }
    }
    Err(DecodeError::Lzw("stream ends without end code".into()))
}
