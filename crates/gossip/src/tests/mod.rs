//! Tests for the whole crate: hand-computed golden bytes, Go-style LZW streams, round trips
//! over generated values, seeded random inputs thrown at every decoder, and the driver over
//! loopback (plain and TLS).

mod am025_capture;
mod fuzz;
mod golden;
mod keyring;
mod lzw_go;
mod net;
mod net_outcomes;
mod net_tls;
mod roundtrip;
mod swim_rules;
mod swim_sim;

/// xorshift64*: deterministic, seedable and dependency-free, so a failing case can be
/// replayed from its seed.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        // A zero state would stay zero forever.
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n` (n > 0); modulo bias is irrelevant here.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub(crate) fn bool(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }

    /// Bytes with a length biased towards the msgpack boundaries (31/32, 255/256, 65535/65536).
    pub(crate) fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = match self.below(8) {
            0 => 0,
            1 => [31, 32, 255, 256][self.below(4)].min(max),
            _ => self.below(max + 1),
        };
        (0..len).map(|_| self.next_u64() as u8).collect()
    }

    pub(crate) fn string(&mut self, max: usize) -> String {
        let len = self.below(max + 1);
        (0..len)
            .map(|_| match self.below(10) {
                0 => 'é',
                1 => '☃',
                _ => char::from(b'a' + self.below(26) as u8),
            })
            .collect()
    }

    /// Integers biased towards the width boundaries go-msgpack switches at.
    pub(crate) fn edgy_u64(&mut self) -> u64 {
        const EDGES: [u64; 10] =
            [0, 1, 127, 128, 255, 256, 65535, 65536, u32::MAX as u64, u64::MAX];
        match self.below(3) {
            0 => EDGES[self.below(EDGES.len())],
            1 => self.next_u64() >> self.below(64),
            _ => self.next_u64(),
        }
    }

    pub(crate) fn edgy_i64(&mut self) -> i64 {
        const EDGES: [i64; 12] =
            [0, -1, -32, -33, 127, 128, -128, -129, 32767, 32768, i64::MIN, i64::MAX];
        match self.below(3) {
            0 => EDGES[self.below(EDGES.len())],
            1 => (self.next_u64() as i64) >> self.below(64),
            _ => self.next_u64() as i64,
        }
    }
}

/// Hex string to bytes, ignoring spaces, so golden vectors read like packet dumps.
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len().is_multiple_of(2), "odd hex: {s}");
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// The msgpack fixstr encoding of a short ASCII key, for writing golden vectors.
pub(crate) fn key(k: &str) -> Vec<u8> {
    assert!(k.len() < 32);
    let mut out = vec![0xa0 | k.len() as u8];
    out.extend_from_slice(k.as_bytes());
    out
}

/// Concatenates golden-vector pieces.
pub(crate) fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}
