//! LZW against Go's `compress/lzw` writer (LSB, literal width 8).
//!
//! Small vectors are worked out by hand. For long inputs, `GoStyleWriter` restates the Go
//! writer's documented behaviour (clear code first; a new code width as soon as the next
//! code would need it; clear and reset when code 4095 would be assigned; end code last) so
//! streams with width changes and table resets, exactly as a Go peer emits them, can be fed
//! to our decoder.

use super::{Rng, hex};
use crate::DecodeError;
use crate::lzw::{MAX_DECOMPRESSED_BYTES, compress, decompress};
use std::collections::HashMap;

const CLEAR: u32 = 256;
const EOF: u32 = 257;
const MAX_CODE: u32 = 4095;

struct GoStyleWriter {
    out: Vec<u8>,
    acc: u64,
    nbits: u32,
    width: u32,
    hi: u32,
    overflow: u32,
    table: HashMap<(u32, u8), u32>,
}

impl GoStyleWriter {
    fn new() -> Self {
        Self {
            out: Vec::new(),
            acc: 0,
            nbits: 0,
            width: 9,
            hi: EOF,
            overflow: 512,
            table: HashMap::new(),
        }
    }

    fn emit(&mut self, code: u32) {
        self.acc |= u64::from(code) << self.nbits;
        self.nbits += self.width;
        while self.nbits >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.nbits -= 8;
        }
    }

    /// Advances the next implied code; false when the table was full and has been reset.
    fn inc_hi(&mut self) -> bool {
        self.hi += 1;
        if self.hi == self.overflow {
            self.width += 1;
            self.overflow <<= 1;
        }
        if self.hi == MAX_CODE {
            self.emit(CLEAR);
            self.width = 9;
            self.hi = EOF;
            self.overflow = 512;
            self.table.clear();
            return false;
        }
        true
    }

    fn encode(mut self, input: &[u8]) -> Vec<u8> {
        self.emit(CLEAR);
        let Some((&first, rest)) = input.split_first() else {
            self.emit(EOF);
            return self.finish();
        };
        let mut code = u32::from(first);
        for &b in rest {
            if let Some(&next) = self.table.get(&(code, b)) {
                code = next;
                continue;
            }
            self.emit(code);
            let prev = code;
            code = u32::from(b);
            if self.inc_hi() {
                self.table.insert((prev, b), self.hi);
            }
        }
        self.emit(code);
        self.inc_hi();
        self.emit(EOF);
        self.finish()
    }

    fn finish(mut self) -> Vec<u8> {
        if self.nbits > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

#[test]
fn hand_computed_go_vectors() {
    // clear(256) eof(257), 9 bits each, LSB first.
    let cases: [(&[u8], &str); 4] = [
        (b"", "00 03 02"),
        (b"a", "00 c3 04 04"),
        (b"ab", "00 c3 88 09 08"),
        // "aaa" exercises the code-not-yet-in-table case: 256, 97, 258, 257.
        (b"aaa", "00 c3 08 0c 08"),
    ];
    for (input, go) in cases {
        let go = hex(go);
        assert_eq!(decompress(&go, 1024).unwrap(), input);
        assert_eq!(GoStyleWriter::new().encode(input), go, "reference for {input:?}");
        assert_eq!(compress(input), go, "ours for {input:?}");
    }
}

#[test]
fn go_streams_with_width_changes_and_resets() {
    let mut rng = Rng::new(7);
    for case in 0..40 {
        // Low-entropy inputs build long codes; high-entropy ones fill the table and force
        // the 4095 reset several times.
        let alphabet = [2usize, 4, 16, 256][case % 4];
        let len = rng.below(60_000);
        let input: Vec<u8> = (0..len).map(|_| rng.below(alphabet) as u8).collect();
        let go = GoStyleWriter::new().encode(&input);
        assert_eq!(decompress(&go, MAX_DECOMPRESSED_BYTES).unwrap(), input, "case {case}");
        let ours = compress(&input);
        assert_eq!(ours, go, "case {case}");
        // weezl's encoder differs from Go's only at table-full; its streams must still read.
        let theirs = weezl::encode::Encoder::new(weezl::BitOrder::Lsb, 8).encode(&input).unwrap();
        assert_eq!(decompress(&theirs, MAX_DECOMPRESSED_BYTES).unwrap(), input);
    }
}

#[test]
fn missing_end_code_is_an_error_like_go() {
    // clear, 'a' and no end code.
    let mut w = GoStyleWriter::new();
    w.emit(CLEAR);
    w.emit(97);
    let truncated = w.finish();
    assert!(matches!(decompress(&truncated, 1024), Err(DecodeError::Lzw(_))));
    assert!(decompress(&[], 1024).is_err());
}

#[test]
fn output_cap_is_enforced() {
    let input = vec![0u8; 100_000];
    let packed = compress(&input);
    assert!(packed.len() < 2_000);
    assert!(matches!(decompress(&packed, 99_999), Err(DecodeError::TooLong { .. })));
    assert_eq!(decompress(&packed, 100_000).unwrap(), input);
}
