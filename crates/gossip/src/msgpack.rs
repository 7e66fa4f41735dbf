//! The msgpack subset memberlist speaks, written to match go-msgpack v2's `MsgpackHandle{}`
//! defaults byte for byte on output, and to accept anything a msgpack peer may send on input.
//!
//! Output rules (what Go peers produce, so what we produce):
//! - strings and byte slices use the legacy raw family only: fixstr, str16, str32 (never str8,
//!   never bin), because older decoders treat str8/bin as unknown;
//! - unsigned integers take the smallest of fixint/uint8/16/32/64;
//! - signed integers take fixint for -32..=127 and otherwise int8/16/32/64, with no unsigned
//!   forms, so 128 becomes `d1 00 80`;
//! - structs are maps keyed by Go field names (see [`StructWriter`]).
//!
//! The [`Decoder`] borrows its input and never allocates: every declared length is checked
//! against the bytes that remain before anything else happens, and nesting is bounded.

use crate::error::DecodeError;

/// Nesting limit for [`Decoder`]; memberlist messages nest at most two levels.
pub const DEFAULT_MAX_DEPTH: usize = 32;

/// Most elements reserved up front for a container; a value is many times larger than its
/// smallest encoding, so larger containers grow only as elements actually decode.
const PREALLOC_LIMIT: usize = 256;

/// A dynamically typed msgpack value, for tests and for skipping what we do not model.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `nil`.
    Nil,
    /// `true` or `false`.
    Bool(bool),
    /// A non-negative integer.
    Uint(u64),
    /// A negative integer (non-negative ones decode as [`Value::Uint`]).
    Int(i64),
    /// A float32 or float64, widened.
    Float(f64),
    /// A str or bin payload: memberlist does not tell them apart.
    Raw(Vec<u8>),
    /// An array.
    Array(Vec<Value>),
    /// A map, in wire order.
    Map(Vec<(Value, Value)>),
}

/// Appends a map header for `n` entries.
pub fn write_map_len(out: &mut Vec<u8>, n: u32) {
    write_container_len(out, n, 0x80, 0xde, 0xdf);
}

/// Appends an array header for `n` elements.
pub fn write_array_len(out: &mut Vec<u8>, n: u32) {
    write_container_len(out, n, 0x90, 0xdc, 0xdd);
}

fn write_container_len(out: &mut Vec<u8>, n: u32, fix: u8, m16: u8, m32: u8) {
    if n < 16 {
        out.push(fix | n as u8);
    } else if let Ok(n) = u16::try_from(n) {
        out.push(m16);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(m32);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Appends bytes in the legacy raw family (fixstr, str16, str32), as Go encodes both
/// `string` and `[]byte`.
///
/// # Panics
/// If `raw` is 4 GiB or longer, which no memberlist frame can carry.
pub fn write_raw(out: &mut Vec<u8>, raw: &[u8]) {
    let len = raw.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if let Ok(n) = u16::try_from(len) {
        out.push(0xda);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        let n = u32::try_from(len).expect("msgpack raw values are shorter than 4 GiB");
        out.push(0xdb);
        out.extend_from_slice(&n.to_be_bytes());
    }
    out.extend_from_slice(raw);
}

/// Appends `nil`, which Go writes for a nil `[]byte`.
pub fn write_nil(out: &mut Vec<u8>) {
    out.push(0xc0);
}

/// Appends a bool.
pub fn write_bool(out: &mut Vec<u8>, v: bool) {
    out.push(if v { 0xc3 } else { 0xc2 });
}

/// Appends an unsigned integer at the smallest width, as for Go's `uint8`..`uint64`.
pub fn write_uint(out: &mut Vec<u8>, v: u64) {
    if v <= 0x7f {
        out.push(v as u8);
    } else if let Ok(v) = u8::try_from(v) {
        out.extend_from_slice(&[0xcc, v]);
    } else if let Ok(v) = u16::try_from(v) {
        out.push(0xcd);
        out.extend_from_slice(&v.to_be_bytes());
    } else if let Ok(v) = u32::try_from(v) {
        out.push(0xce);
        out.extend_from_slice(&v.to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// Appends a signed integer as go-msgpack does for Go's `int`: never an unsigned form.
pub fn write_int(out: &mut Vec<u8>, v: i64) {
    if (-32..=127).contains(&v) {
        out.push(v as i8 as u8);
    } else if let Ok(v) = i8::try_from(v) {
        out.extend_from_slice(&[0xd0, v as u8]);
    } else if let Ok(v) = i16::try_from(v) {
        out.push(0xd1);
        out.extend_from_slice(&v.to_be_bytes());
    } else if let Ok(v) = i32::try_from(v) {
        out.push(0xd2);
        out.extend_from_slice(&v.to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// Appends any [`Value`], with the same width rules as the typed writers.
///
/// # Panics
/// If a container has 2^32 or more entries.
pub fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Nil => write_nil(out),
        Value::Bool(b) => write_bool(out, *b),
        Value::Uint(u) => write_uint(out, *u),
        Value::Int(i) => write_int(out, *i),
        Value::Float(f) => {
            out.push(0xcb);
            out.extend_from_slice(&f.to_bits().to_be_bytes());
        }
        Value::Raw(r) => write_raw(out, r),
        Value::Array(items) => {
            write_array_len(out, u32::try_from(items.len()).expect("array too long"));
            items.iter().for_each(|i| write_value(out, i));
        }
        Value::Map(entries) => {
            write_map_len(out, u32::try_from(entries.len()).expect("map too long"));
            for (k, v) in entries {
                write_value(out, k);
                write_value(out, v);
            }
        }
    }
}

/// Builds a Go struct as a msgpack map. go-msgpack writes a struct's fields sorted by name
/// (its field table is sorted for lookup, and encoding walks it in that order), as captures
/// from Alertmanager 0.25 show, so fields are collected and sorted when the map is finished;
/// the count, which omitempty fields change, is known only then too.
#[derive(Debug, Default)]
pub struct StructWriter {
    fields: Vec<(String, Vec<u8>)>,
}

impl StructWriter {
    /// Starts an empty struct.
    pub fn new() -> Self {
        Self::default()
    }

    fn key(&mut self, name: &str) -> &mut Vec<u8> {
        self.fields.push((name.to_owned(), Vec::new()));
        let last = self.fields.len() - 1;
        &mut self.fields[last].1
    }

    /// A `uintN` field.
    pub fn uint(&mut self, name: &str, v: u64) -> &mut Self {
        write_uint(self.key(name), v);
        self
    }

    /// An `int` field.
    pub fn int(&mut self, name: &str, v: i64) -> &mut Self {
        write_int(self.key(name), v);
        self
    }

    /// A `bool` field.
    pub fn bool(&mut self, name: &str, v: bool) -> &mut Self {
        write_bool(self.key(name), v);
        self
    }

    /// A `string` or non-nil `[]byte` field.
    pub fn raw(&mut self, name: &str, v: &[u8]) -> &mut Self {
        write_raw(self.key(name), v);
        self
    }

    /// A `[]byte` field that may be nil.
    pub fn opt_raw(&mut self, name: &str, v: Option<&[u8]>) -> &mut Self {
        match v {
            Some(v) => self.raw(name, v),
            None => {
                write_nil(self.key(name));
                self
            }
        }
    }

    /// An `omitempty` `string`/`[]byte` field: left out when empty.
    pub fn raw_omitempty(&mut self, name: &str, v: &[u8]) -> &mut Self {
        if !v.is_empty() {
            self.raw(name, v);
        }
        self
    }

    /// An `omitempty` unsigned field: left out when zero.
    pub fn uint_omitempty(&mut self, name: &str, v: u64) -> &mut Self {
        if v != 0 {
            self.uint(name, v);
        }
        self
    }

    /// Appends the finished map to `out`, fields in byte-wise name order.
    pub fn finish(&self, out: &mut Vec<u8>) {
        let mut order: Vec<&(String, Vec<u8>)> = self.fields.iter().collect();
        order.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        // A struct has far fewer than 2^32 fields.
        write_map_len(out, u32::try_from(order.len()).unwrap_or(u32::MAX));
        for (name, value) in order {
            write_raw(out, name.as_bytes());
            out.extend_from_slice(value);
        }
    }
}

/// A bounded, borrowing msgpack reader.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
    max_depth: usize,
}

impl<'a> Decoder<'a> {
    /// Reads from `input` with [`DEFAULT_MAX_DEPTH`].
    pub fn new(input: &'a [u8]) -> Self {
        Self { input, pos: 0, max_depth: DEFAULT_MAX_DEPTH }
    }

    /// Sets the nesting limit for [`Decoder::read_value`] and [`Decoder::skip_value`].
    pub fn with_max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The unread input.
    pub fn rest(&self) -> &'a [u8] {
        &self.input[self.pos..]
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.input.len())
            .ok_or(DecodeError::UnexpectedEnd { what })?;
        let s = &self.input[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// Consumes `n` bytes that follow the msgpack values, as memberlist appends raw
    /// payloads after a header.
    pub fn read_exact(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        self.take(n, what)
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    fn be(&mut self, n: usize, what: &'static str) -> Result<u64, DecodeError> {
        Ok(self.take(n, what)?.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// The next marker byte, without consuming it.
    pub fn peek(&self, what: &'static str) -> Result<u8, DecodeError> {
        self.input.get(self.pos).copied().ok_or(DecodeError::UnexpectedEnd { what })
    }

    /// Checks a declared element count against the bytes left (each element needs at least
    /// `min_bytes`), so a forged header can never make a caller reserve memory.
    fn check_count(
        &self,
        n: u64,
        min_bytes: u64,
        what: &'static str,
    ) -> Result<usize, DecodeError> {
        let left = (self.input.len() - self.pos) as u64;
        if n.saturating_mul(min_bytes) > left {
            return Err(DecodeError::UnexpectedEnd { what });
        }
        Ok(n as usize)
    }

    /// Reads a map header; `nil` counts as an empty map.
    pub fn read_map_len(&mut self, what: &'static str) -> Result<usize, DecodeError> {
        let m = self.byte(what)?;
        let n = match m {
            0x80..=0x8f => u64::from(m & 0x0f),
            0xde => self.be(2, what)?,
            0xdf => self.be(4, what)?,
            0xc0 => 0,
            _ => return Err(DecodeError::UnexpectedMarker { marker: m, what }),
        };
        self.check_count(n, 2, what)
    }

    /// Reads an array header; `nil` counts as an empty array.
    pub fn read_array_len(&mut self, what: &'static str) -> Result<usize, DecodeError> {
        let m = self.byte(what)?;
        let n = match m {
            0x90..=0x9f => u64::from(m & 0x0f),
            0xdc => self.be(2, what)?,
            0xdd => self.be(4, what)?,
            0xc0 => 0,
            _ => return Err(DecodeError::UnexpectedMarker { marker: m, what }),
        };
        self.check_count(n, 1, what)
    }

    /// Reads any str or bin form (fixstr, str8/16/32, bin8/16/32) and returns its bytes;
    /// `nil` reads as `None`.
    pub fn read_raw_opt(&mut self, what: &'static str) -> Result<Option<&'a [u8]>, DecodeError> {
        let m = self.byte(what)?;
        let len = match m {
            0xa0..=0xbf => u64::from(m & 0x1f),
            0xd9 | 0xc4 => self.be(1, what)?,
            0xda | 0xc5 => self.be(2, what)?,
            0xdb | 0xc6 => self.be(4, what)?,
            0xc0 => return Ok(None),
            _ => return Err(DecodeError::UnexpectedMarker { marker: m, what }),
        };
        let len = self.check_count(len, 1, what)?;
        self.take(len, what).map(Some)
    }

    /// Like [`Decoder::read_raw_opt`] with `nil` as empty.
    pub fn read_raw(&mut self, what: &'static str) -> Result<&'a [u8], DecodeError> {
        Ok(self.read_raw_opt(what)?.unwrap_or_default())
    }

    /// Reads a Go `[]byte` field: any str or bin form, or an array of small integers (how
    /// msgpack libraries that lack a bytes type write them; Go accepts it too). `nil` reads as
    /// `None`.
    pub fn read_bytes_opt(&mut self, what: &'static str) -> Result<Option<Vec<u8>>, DecodeError> {
        if !matches!(self.peek(what)?, 0x90..=0x9f | 0xdc | 0xdd) {
            return Ok(self.read_raw_opt(what)?.map(<[u8]>::to_vec));
        }
        let n = self.read_array_len(what)?;
        (0..n).map(|_| self.read_int_as::<u8>(what)).collect::<Result<_, _>>().map(Some)
    }

    /// Reads a Go `string` field, which must be UTF-8 to become a Rust `String`.
    pub fn read_string(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let raw = self.read_raw(what)?;
        String::from_utf8(raw.to_vec()).map_err(|_| DecodeError::InvalidUtf8 { field: what })
    }

    /// Reads an integer of any width and signedness; `nil` reads as 0.
    pub fn read_integer(&mut self, what: &'static str) -> Result<i128, DecodeError> {
        let m = self.byte(what)?;
        Ok(match m {
            0x00..=0x7f => i128::from(m),
            0xe0..=0xff => i128::from(m as i8),
            0xcc => i128::from(self.be(1, what)?),
            0xcd => i128::from(self.be(2, what)?),
            0xce => i128::from(self.be(4, what)?),
            0xcf => i128::from(self.be(8, what)?),
            0xd0 => i128::from(self.be(1, what)? as u8 as i8),
            0xd1 => i128::from(self.be(2, what)? as u16 as i16),
            0xd2 => i128::from(self.be(4, what)? as u32 as i32),
            0xd3 => i128::from(self.be(8, what)? as i64),
            0xc0 => 0,
            _ => return Err(DecodeError::UnexpectedMarker { marker: m, what }),
        })
    }

    /// Reads an integer into a narrower type, rejecting values that do not fit (as Go does
    /// when a value overflows its field).
    pub fn read_int_as<T: TryFrom<i128>>(&mut self, what: &'static str) -> Result<T, DecodeError> {
        let v = self.read_integer(what)?;
        T::try_from(v).map_err(|_| DecodeError::IntegerOutOfRange { value: v, what })
    }

    /// Reads a bool; `nil` reads as false.
    pub fn read_bool(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        match self.byte(what)? {
            0xc2 | 0xc0 => Ok(false),
            0xc3 => Ok(true),
            m => Err(DecodeError::UnexpectedMarker { marker: m, what }),
        }
    }

    /// Reads one value of any type.
    pub fn read_value(&mut self) -> Result<Value, DecodeError> {
        self.value_at(0)
    }

    fn value_at(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth >= self.max_depth {
            return Err(DecodeError::TooDeep { max: self.max_depth });
        }
        let m = self.peek("value")?;
        Ok(match m {
            0xc0 => {
                self.pos += 1;
                Value::Nil
            }
            0xc2 | 0xc3 => Value::Bool(self.read_bool("bool")?),
            0xca => {
                self.pos += 1;
                Value::Float(f64::from(f32::from_bits(self.be(4, "float32")? as u32)))
            }
            0xcb => {
                self.pos += 1;
                Value::Float(f64::from_bits(self.be(8, "float64")?))
            }
            0x80..=0x8f | 0xde | 0xdf => {
                let n = self.read_map_len("map")?;
                let mut entries = Vec::with_capacity(n.min(PREALLOC_LIMIT));
                for _ in 0..n {
                    let k = self.value_at(depth + 1)?;
                    entries.push((k, self.value_at(depth + 1)?));
                }
                Value::Map(entries)
            }
            0x90..=0x9f | 0xdc | 0xdd => {
                let n = self.read_array_len("array")?;
                let mut items = Vec::with_capacity(n.min(PREALLOC_LIMIT));
                for _ in 0..n {
                    items.push(self.value_at(depth + 1)?);
                }
                Value::Array(items)
            }
            0xa0..=0xbf | 0xd9..=0xdb | 0xc4..=0xc6 => Value::Raw(self.read_raw("raw")?.to_vec()),
            _ => match self.read_integer("value")? {
                v if v < 0 => Value::Int(v as i64),
                v => Value::Uint(v as u64),
            },
        })
    }

    /// Skips one value of any type, ext types included, within the depth limit.
    pub fn skip_value(&mut self) -> Result<(), DecodeError> {
        self.skip_at(0)
    }

    fn skip_at(&mut self, depth: usize) -> Result<(), DecodeError> {
        if depth >= self.max_depth {
            return Err(DecodeError::TooDeep { max: self.max_depth });
        }
        let m = self.peek("value")?;
        let fixed_ext = |n: usize| n + 1; // type byte + data
        match m {
            0x80..=0x8f | 0xde | 0xdf => {
                let n = self.read_map_len("map")?;
                for _ in 0..n * 2 {
                    self.skip_at(depth + 1)?;
                }
            }
            0x90..=0x9f | 0xdc | 0xdd => {
                let n = self.read_array_len("array")?;
                for _ in 0..n {
                    self.skip_at(depth + 1)?;
                }
            }
            0xa0..=0xbf | 0xd9..=0xdb | 0xc4..=0xc6 | 0xc0 => {
                self.read_raw_opt("raw")?;
            }
            0xc2 | 0xc3 => self.pos += 1,
            0xca | 0xcb => {
                self.pos += 1;
                self.take(if m == 0xca { 4 } else { 8 }, "float")?;
            }
            0xd4..=0xd8 => {
                self.pos += 1;
                self.take(fixed_ext(1 << (m - 0xd4)), "fixext")?;
            }
            0xc7..=0xc9 => {
                self.pos += 1;
                let width = 1 << (m - 0xc7);
                let len = self.be(width, "ext")?;
                let len = self.check_count(len, 1, "ext")?;
                self.take(len.saturating_add(1), "ext")?;
            }
            0xc1 => return Err(DecodeError::UnexpectedMarker { marker: m, what: "value" }),
            _ => {
                self.read_integer("value")?;
            }
        }
        Ok(())
    }

    /// Reads a Go struct: a map keyed by field name (unknown keys skipped, as go-msgpack
    /// does) or, from encoders set to struct-as-array, an array in declaration order.
    /// `field` is called with the index into `fields` of each known field present.
    pub fn read_struct<F>(
        &mut self,
        what: &'static str,
        fields: &[&'static str],
        mut field: F,
    ) -> Result<(), DecodeError>
    where
        F: FnMut(usize, &mut Self) -> Result<(), DecodeError>,
    {
        let m = self.peek(what)?;
        if matches!(m, 0x90..=0x9f | 0xdc | 0xdd) {
            let n = self.read_array_len(what)?;
            for i in 0..n {
                if i < fields.len() {
                    field(i, self)?;
                } else {
                    self.skip_value()?;
                }
            }
            return Ok(());
        }
        let n = self.read_map_len(what)?;
        for _ in 0..n {
            let key = self.read_raw(what)?;
            match fields.iter().position(|f| f.as_bytes() == key) {
                Some(i) => field(i, self)?,
                None => self.skip_value()?,
            }
        }
        Ok(())
    }
}
