//! The single-token pieces of Go's syntax: escapes, Perl, POSIX and Unicode classes, and how
//! literals and ranges are written for the `regex` crate.

use super::{ErrorCode, Result, error};
use crate::goregex::unicode_names::is_go_unicode_class;

/// The character that can never occur in a `&str`, emitted for Go's surrogate literals.
pub(super) const NEVER: &str = r"[^\x{0}-\x{10FFFF}]";
/// Every character.
pub(super) const ANY: &str = r"[\x{0}-\x{10FFFF}]";

/// The ASCII set behind `\d \D \s \S \w \W`, as `(negated, members)`.
pub(super) fn perl_class(t: &str) -> Option<(bool, &'static str)> {
    let bytes = t.as_bytes();
    if bytes.len() < 2 || bytes[0] != b'\\' {
        return None;
    }
    let set = match bytes[1].to_ascii_lowercase() {
        b'd' => "0-9",
        b's' => r"\x{9}\x{A}\x{C}\x{D}\x{20}",
        b'w' => "0-9A-Za-z_",
        _ => return None,
    };
    Some((bytes[1].is_ascii_uppercase(), set))
}

/// `[:name:]` inside a class. `Ok(None)` when there is no closing `:]` (then `[` is literal).
pub(super) fn posix_class(t: &str) -> Result<Option<(String, usize)>> {
    let Some(end) = t[2..].find(":]") else {
        return Ok(None);
    };
    let name = &t[..end + 4];
    let bare = name[2..name.len() - 2].trim_start_matches('^');
    let negations = name.len() - 4 - bare.len();
    const NAMES: [&str; 14] = [
        "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
        "space", "upper", "word", "xdigit",
    ];
    if negations > 1 || !NAMES.contains(&bare) {
        return error(ErrorCode::InvalidCharRange, name);
    }
    Ok(Some((name.to_owned(), name.len())))
}

/// `\pN`, `\p{Name}`, `\p{^Name}` and the `\P` forms, checked against Go's tables.
/// Returns the `regex` crate text and the length consumed.
pub(super) fn unicode_class(t: &str) -> Result<Option<(String, usize)>> {
    let negated = match t.as_bytes() {
        [b'\\', b'p', ..] => false,
        [b'\\', b'P', ..] => true,
        _ => return Ok(None),
    };
    let body = &t[2..];
    let (name, len) = match body.chars().next() {
        Some('{') => match body.find('}') {
            Some(end) => (&body[1..end], 2 + end + 1),
            None => return error(ErrorCode::InvalidCharRange, t),
        },
        Some(c) => (&body[..c.len_utf8()], 2 + c.len_utf8()),
        None => return error(ErrorCode::InvalidCharRange, t),
    };
    let (negated, name) = match name.strip_prefix('^') {
        Some(stripped) => (!negated, stripped),
        None => (negated, name),
    };
    if !is_go_unicode_class(name) {
        return error(ErrorCode::InvalidCharRange, &t[..len]);
    }
    // Go's `C` is Cc|Cf|Co|Cs, while the `regex` crate's also has unassigned code points. The
    // `regex` crate has no `Cs` at all; surrogates never occur in a `&str` anyway.
    let text = match (name, negated) {
        ("C", false) => r"[\p{Cc}\p{Cf}\p{Co}]".to_owned(),
        ("C", true) => r"[^\p{Cc}\p{Cf}\p{Co}]".to_owned(),
        ("Cs", false) => NEVER.to_owned(),
        ("Cs", true) => ANY.to_owned(),
        (name, false) => format!(r"\p{{{name}}}"),
        (name, true) => format!(r"\P{{{name}}}"),
    };
    Ok(Some((text, len)))
}

/// One class member character: an escape or a literal. `whole` is the class from its `[`.
pub(super) fn class_char(t: &str, whole: &str) -> Result<(u32, usize)> {
    match t.chars().next() {
        None => error(ErrorCode::MissingBracket, whole),
        Some('\\') => parse_escape(t),
        Some(c) => Ok((u32::from(c), c.len_utf8())),
    }
}

/// A single-character escape at the start of `t` (which begins with `\`): returns the code
/// point (possibly a surrogate, which Go allows) and the length consumed.
pub(super) fn parse_escape(t: &str) -> Result<(u32, usize)> {
    let mut chars = t[1..].char_indices();
    let Some((_, c)) = chars.next() else {
        return error(ErrorCode::TrailingBackslash, "");
    };
    let invalid = |consumed: usize| error(ErrorCode::InvalidEscape, &t[..consumed]);
    let after = 1 + c.len_utf8();
    match c {
        '1'..='7' if !t[after..].starts_with(|d: char| ('0'..='7').contains(&d)) => invalid(after),
        '0'..='7' => {
            let extra = t[after..].bytes().take(2).take_while(|b| (b'0'..=b'7').contains(b));
            let digits = 1 + extra.count();
            let value = u32::from_str_radix(&t[1..1 + digits], 8).expect("octal digits");
            Ok((value, 1 + digits))
        }
        'x' => parse_hex_escape(t),
        'a' => Ok((7, after)),
        'f' => Ok((12, after)),
        'n' => Ok((10, after)),
        'r' => Ok((13, after)),
        't' => Ok((9, after)),
        'v' => Ok((11, after)),
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok((u32::from(c), after)),
        _ => invalid(after),
    }
}

/// `\xHH` or `\x{H…}`; `t` starts with `\x`.
pub(super) fn parse_hex_escape(t: &str) -> Result<(u32, usize)> {
    let mut consumed = 2;
    let mut chars = t[2..].chars();
    let invalid = |consumed: usize| error(ErrorCode::InvalidEscape, &t[..consumed]);
    let Some(first) = chars.next() else {
        return invalid(consumed);
    };
    consumed += first.len_utf8();
    if first == '{' {
        let mut value: u32 = 0;
        let mut digits = 0;
        loop {
            let Some(c) = chars.next() else {
                return invalid(consumed);
            };
            consumed += c.len_utf8();
            if c == '}' {
                break;
            }
            let Some(digit) = c.to_digit(16) else {
                return invalid(consumed);
            };
            value = value * 16 + digit;
            if value > 0x10FFFF {
                return invalid(consumed);
            }
            digits += 1;
        }
        if digits == 0 {
            return invalid(consumed);
        }
        return Ok((value, consumed));
    }
    let second = chars.next();
    consumed += second.map_or(0, char::len_utf8);
    match (first.to_digit(16), second.and_then(|c| c.to_digit(16))) {
        (Some(high), Some(low)) => Ok((high * 16 + low, consumed)),
        _ => invalid(consumed),
    }
}

/// A literal outside a class. Anything but letters and digits is hex-escaped so no character
/// can take on a `regex` crate meaning.
pub(super) fn literal_text(c: u32) -> String {
    match char::from_u32(c) {
        None => NEVER.to_owned(),
        Some(c) if c.is_ascii_alphanumeric() || !c.is_ascii() => c.to_string(),
        Some(_) => format!(r"\x{{{c:X}}}"),
    }
}

/// Appends `lo-hi` to a class body, dropping the surrogate block, which no `&str` contains.
pub(super) fn push_range(items: &mut String, lo: u32, hi: u32) {
    let pieces = [(lo, hi.min(0xD7FF)), (lo.max(0xE000), hi)];
    for (lo, hi) in pieces {
        if lo <= hi {
            items.push_str(&format!(r"\x{{{lo:X}}}-\x{{{hi:X}}}"));
        }
    }
}
