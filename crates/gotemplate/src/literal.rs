//! Literal syntax shared with Go: quoted and raw strings, character constants with Go's
//! escapes, and number literals (decimal, hex, octal, binary, `_` separators, floats).

use crate::ast::Number;

const SYNTAX: &str = "invalid syntax";

/// Unquotes a `"..."` or `` `...` `` literal as Go's `strconv.Unquote` does.
pub(crate) fn unquote(text: &str) -> Result<String, String> {
    if let Some(raw) = text.strip_prefix('`') {
        let body = raw.strip_suffix('`').ok_or(SYNTAX)?;
        // Go drops carriage returns from raw strings.
        return Ok(body.replace('\r', ""));
    }
    let body = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).ok_or(SYNTAX)?;
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    while !rest.is_empty() {
        let (piece, tail) = unquote_one(rest, b'"')?;
        out.extend_from_slice(&piece);
        rest = tail;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Decodes a `'c'` character constant.
pub(crate) fn unquote_char(text: &str) -> Result<char, String> {
    let body = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')).ok_or(SYNTAX)?;
    if body.is_empty() {
        return Err(SYNTAX.into());
    }
    let (piece, tail) = unquote_one(body, b'\'')?;
    if !tail.is_empty() {
        return Err(format!("malformed character constant: {text}"));
    }
    let s = String::from_utf8(piece).map_err(|_| SYNTAX.to_owned())?;
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(SYNTAX.into()),
    }
}

/// Decodes one character or escape at the start of `s`, returning its UTF-8 bytes (a `\x`
/// or octal escape is a single raw byte, as in Go) and the rest.
fn unquote_one(s: &str, quote: u8) -> Result<(Vec<u8>, &str), String> {
    let c = s.chars().next().ok_or(SYNTAX)?;
    if c != '\\' {
        if c as u32 == u32::from(quote) || c == '\n' {
            return Err(SYNTAX.into());
        }
        return Ok((c.to_string().into_bytes(), &s[c.len_utf8()..]));
    }
    let b = s.as_bytes();
    let e = *b.get(1).ok_or(SYNTAX)?;
    let simple = match e {
        b'a' => Some(7u8),
        b'b' => Some(8),
        b'f' => Some(12),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'v' => Some(11),
        b'\\' => Some(b'\\'),
        b'\'' | b'"' if e == quote => Some(e),
        _ => None,
    };
    if let Some(v) = simple {
        return Ok((vec![v], &s[2..]));
    }
    match e {
        b'x' | b'u' | b'U' => {
            let n = match e {
                b'x' => 2,
                b'u' => 4,
                _ => 8,
            };
            let hex = s.get(2..2 + n).ok_or(SYNTAX)?;
            let v = u32::from_str_radix(hex, 16).map_err(|_| SYNTAX.to_owned())?;
            if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                return Err(SYNTAX.into());
            }
            let bytes = if e == b'x' {
                vec![u8::try_from(v).map_err(|_| SYNTAX.to_owned())?]
            } else {
                char::from_u32(v).ok_or(SYNTAX)?.to_string().into_bytes()
            };
            Ok((bytes, &s[2 + n..]))
        }
        b'0'..=b'7' => {
            let oct = s.get(1..4).ok_or(SYNTAX)?;
            if !oct.bytes().all(|d| (b'0'..=b'7').contains(&d)) {
                return Err(SYNTAX.into());
            }
            let v = u32::from_str_radix(oct, 8).map_err(|_| SYNTAX.to_owned())?;
            let byte = u8::try_from(v).map_err(|_| SYNTAX.to_owned())?;
            Ok((vec![byte], &s[4..]))
        }
        _ => Err(SYNTAX.into()),
    }
}

fn is_hex_int(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 2 && b[0] == b'0' && (b[1] == b'x' || b[1] == b'X') && !s.contains(['p', 'P'])
}

/// Parses a number literal the way Go's template parser classifies it: text with `.`, `e`
/// or `p` (outside hex integers) is a float, anything else must be an integer.
pub(crate) fn parse_number(text: &str) -> Result<Number, String> {
    let illegal = || format!("illegal number syntax: {}", crate::printf::quote(text));
    if text.ends_with('i') {
        return Err(format!("complex constants are not supported: {text}"));
    }
    let clean = text.replace('_', "");
    if !is_hex_int(text) && text.contains(['.', 'e', 'E', 'p', 'P']) {
        return clean.parse::<f64>().map(Number::Float).map_err(|_| illegal());
    }
    let (neg, digits) = match clean.as_bytes().first() {
        Some(b'-') => (true, &clean[1..]),
        Some(b'+') => (false, &clean[1..]),
        _ => (false, &clean[..]),
    };
    let (radix, body) = match digits.get(..2) {
        Some("0x" | "0X") => (16, &digits[2..]),
        Some("0o" | "0O") => (8, &digits[2..]),
        Some("0b" | "0B") => (2, &digits[2..]),
        _ if digits.len() > 1 && digits.starts_with('0') => (8, &digits[1..]),
        _ => (10, digits),
    };
    if body.is_empty() || body.starts_with(['+', '-']) {
        return Err(illegal());
    }
    match u128::from_str_radix(body, radix) {
        Ok(v) => {
            let signed = if neg { -(v as i128) } else { v as i128 };
            Ok(i64::try_from(signed).map_or(Number::Overflow, Number::Int))
        }
        Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => Ok(Number::Overflow),
        Err(_) => Err(illegal()),
    }
}
