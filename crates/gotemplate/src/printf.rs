//! Go's `fmt` for template values: `Sprint`, `Sprintln`, `Sprintf` (verbs, flags, width,
//! precision, argument indexes and Go's `%!` error forms), and `strconv.Quote`.

use crate::value::Value;
use std::fmt::Write as _;

/// Parsed flags, width and precision of one verb.
#[derive(Clone, Copy, Default)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    zero: bool,
    space: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// `fmt.Sprint` of a single value (`%v`).
pub(crate) fn sprint_value(v: &Value) -> String {
    let mut out = String::new();
    fmt_value(&mut out, Spec::default(), 'v', v, 0);
    out
}

fn is_string(v: &Value) -> bool {
    matches!(v.basic(), Value::String(_))
}

/// `fmt.Sprint`: operands separated by a space when neither side is a string.
pub(crate) fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !is_string(a) && !is_string(&args[i - 1]) {
            out.push(' ');
        }
        fmt_value(&mut out, Spec::default(), 'v', a, 0);
    }
    out
}

/// `fmt.Sprintln`: operands always separated by spaces, newline appended.
pub(crate) fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        fmt_value(&mut out, Spec::default(), 'v', a, 0);
    }
    out.push('\n');
    out
}

/// Parses a decimal number at the start of `s`, returning it and the bytes consumed.
fn parse_num(s: &[u8]) -> (Option<usize>, usize) {
    let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 {
        return (None, 0);
    }
    let v = std::str::from_utf8(&s[..n]).ok().and_then(|t| t.parse().ok());
    (v, n)
}

/// Handles `[n]` at `i`: returns the argument index (`None` when malformed or out of
/// range) and the position after the closing bracket.
fn arg_index(f: &[u8], i: usize, nargs: usize) -> (Option<usize>, usize) {
    let Some(close) = f[i..].iter().position(|&b| b == b']') else {
        return (None, i + 1);
    };
    let n: Option<usize> =
        std::str::from_utf8(&f[i + 1..i + close]).ok().and_then(|t| t.parse().ok());
    (n.filter(|&n| n >= 1 && n <= nargs).map(|n| n - 1), i + close + 1)
}

/// The cursor of `Sprintf` over its format and arguments.
struct Scan<'a> {
    f: &'a [u8],
    args: &'a [Value],
    i: usize,
    argn: usize,
    reordered: bool,
    bad_index: bool,
}

impl Scan<'_> {
    fn at(&self, b: u8) -> bool {
        self.f.get(self.i) == Some(&b)
    }

    fn flags(&mut self, spec: &mut Spec) {
        while let Some(&c) = self.f.get(self.i) {
            match c {
                b'-' => {
                    spec.minus = true;
                    spec.zero = false;
                }
                b'+' => spec.plus = true,
                b'#' => spec.sharp = true,
                b'0' => spec.zero = !spec.minus,
                b' ' => spec.space = true,
                _ => break,
            }
            self.i += 1;
        }
    }

    /// An explicit argument index `[n]`, if present.
    fn index(&mut self) {
        if self.bad_index || !self.at(b'[') {
            return;
        }
        self.reordered = true;
        let (n, ni) = arg_index(self.f, self.i, self.args.len());
        self.i = ni;
        match n {
            Some(n) => self.argn = n,
            None => self.bad_index = true,
        }
    }

    /// A width or precision: digits, or `*` taking an int argument (`None` when that
    /// argument is not an int).
    fn number(&mut self) -> Result<Option<i64>, ()> {
        if self.at(b'*') {
            self.i += 1;
            let v = self.args.get(self.argn);
            self.argn += 1;
            return match v {
                Some(Value::Int(n)) => Ok(Some(*n)),
                _ => Err(()),
            };
        }
        let (n, len) = parse_num(&self.f[self.i..]);
        self.i += len;
        Ok(n.map(|n| n as i64))
    }

    fn spec(&mut self, out: &mut String) -> Spec {
        let mut spec = Spec::default();
        self.flags(&mut spec);
        self.index();
        match self.number() {
            Ok(Some(w)) => {
                if w < 0 {
                    spec.minus = true;
                    spec.zero = false;
                }
                spec.width = Some(w.unsigned_abs() as usize);
            }
            Ok(None) => {}
            Err(()) => out.push_str("%!(BADWIDTH)"),
        }
        if self.at(b'.') {
            self.i += 1;
            self.index();
            match self.number() {
                Ok(p) if p.is_none_or(|p| p >= 0) => spec.prec = Some(p.unwrap_or(0) as usize),
                _ => out.push_str("%!(BADPREC)"),
            }
        }
        self.index();
        spec
    }
}

/// `fmt.Sprintf`.
pub(crate) fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut sc =
        Scan { f: format.as_bytes(), args, i: 0, argn: 0, reordered: false, bad_index: false };
    while sc.i < sc.f.len() {
        let start = sc.i;
        while sc.i < sc.f.len() && sc.f[sc.i] != b'%' {
            sc.i += 1;
        }
        out.push_str(&format[start..sc.i]);
        if sc.i >= sc.f.len() {
            break;
        }
        sc.i += 1;
        sc.bad_index = false;
        let spec = sc.spec(&mut out);
        let Some(verb) = format[sc.i..].chars().next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        sc.i += verb.len_utf8();
        if verb == '%' {
            out.push('%');
        } else if sc.bad_index {
            let _ = write!(out, "%!{verb}(BADINDEX)");
        } else if let Some(arg) = args.get(sc.argn) {
            sc.argn += 1;
            fmt_value(&mut out, spec, verb, arg, 0);
        } else {
            let _ = write!(out, "%!{verb}(MISSING)");
        }
    }
    if !sc.reordered && sc.argn < args.len() {
        extra(&mut out, &args[sc.argn..]);
    }
    out
}

fn extra(out: &mut String, args: &[Value]) {
    out.push_str("%!(EXTRA ");
    for (k, a) in args.iter().enumerate() {
        if k > 0 {
            out.push_str(", ");
        }
        match a {
            Value::Nil => out.push_str("<nil>"),
            _ => {
                let _ = write!(out, "{}={}", a.type_name(), sprint_value(a));
            }
        }
    }
    out.push(')');
}

fn bad_verb(out: &mut String, verb: char, v: &Value) {
    match v {
        Value::Nil => {
            let _ = write!(out, "%!{verb}(<nil>)");
        }
        _ => {
            let _ = write!(out, "%!{verb}({}={})", v.type_name(), sprint_value(v));
        }
    }
}

fn fmt_value(out: &mut String, mut spec: Spec, verb: char, v: &Value, depth: usize) {
    if verb == 'T' {
        pad(out, spec, &v.type_name(), false);
        return;
    }
    // `%+v` asks for field names, not a sign.
    if verb == 'v' && !spec.sharp {
        spec.plus = false;
    }
    // Go's Stringer rule: a value with a `String` method prints through it for these verbs.
    if let Value::Object(o) = v
        && "vsqxX".contains(verb)
        && !spec.sharp
        && let Some(Ok(Value::String(text))) = o.method("String", &[])
    {
        fmt_str(out, spec, verb, &text);
        return;
    }
    match v {
        Value::Nil if depth > 0 => out.push_str("<nil>"),
        Value::Nil if verb == 'v' => pad(out, spec, "<nil>", false),
        Value::Nil => bad_verb(out, verb, v),
        Value::Bool(b) if matches!(verb, 't' | 'v') => {
            pad(out, spec, if *b { "true" } else { "false" }, false);
        }
        Value::Int(i) if "bcdoOqxXUv".contains(verb) => fmt_int(out, spec, verb, *i),
        Value::Float(x) if "eEfFgGv".contains(verb) => fmt_float(out, spec, verb, *x),
        Value::String(s) if "sqvxX".contains(verb) => fmt_str(out, spec, verb, s),
        Value::List(items) => {
            out.push('[');
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push(' ');
                }
                fmt_value(out, spec, verb, item, depth + 1);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (k, (key, item)) in m.iter().enumerate() {
                if k > 0 {
                    out.push(' ');
                }
                fmt_str(out, spec, verb, key);
                out.push(':');
                fmt_value(out, spec, verb, item, depth + 1);
            }
            out.push(']');
        }
        Value::Object(o) => match o.basic() {
            Some(b) => fmt_value(out, spec, verb, &b, depth),
            None if matches!(verb, 'v' | 's') => pad(out, spec, &o.display(), false),
            None => {
                let _ = write!(out, "%!{verb}({}={})", o.type_name(), o.display());
            }
        },
        _ => bad_verb(out, verb, v),
    }
}

/// Pads to the width; `numeric` allows zero padding (which goes after any sign).
fn pad(out: &mut String, spec: Spec, s: &str, numeric: bool) {
    let n = s.chars().count();
    let fill = spec.width.unwrap_or(0).saturating_sub(n);
    if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero && numeric {
        let sign_len = usize::from(s.starts_with(['+', '-', ' ']));
        out.push_str(&s[..sign_len]);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(&s[sign_len..]);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(s);
    }
}

fn fmt_int(out: &mut String, spec: Spec, verb: char, i: i64) {
    match verb {
        'c' => return pad(out, spec, &char_of(i).to_string(), false),
        'q' => return pad(out, spec, &quote_rune(char_of(i)), false),
        'U' => {
            let mut s = format!("U+{:04X}", i);
            if spec.sharp && char::from_u32(i as u32).is_some_and(is_print) {
                let _ = write!(s, " '{}'", char_of(i));
            }
            return pad(out, spec, &s, false);
        }
        _ => {}
    }
    let u = i.unsigned_abs();
    let mut digits = match verb {
        'b' => format!("{u:b}"),
        'o' | 'O' => format!("{u:o}"),
        'x' => format!("{u:x}"),
        'X' => format!("{u:X}"),
        _ => u.to_string(),
    };
    let sign = if i < 0 {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let mut min = 0;
    if let Some(p) = spec.prec {
        if p == 0 && u == 0 {
            digits.clear();
        }
        min = p;
    } else if spec.zero && !spec.minus && spec.width.is_some() {
        min = spec.width.unwrap_or(0) - usize::from(!sign.is_empty()).min(spec.width.unwrap_or(0));
    }
    if digits.len() < min {
        digits = "0".repeat(min - digits.len()) + &digits;
    }
    let prefix = match verb {
        'b' if spec.sharp => "0b",
        'o' if spec.sharp && !digits.starts_with('0') => "0",
        'O' => "0o",
        'x' if spec.sharp => "0x",
        'X' if spec.sharp => "0X",
        _ => "",
    };
    let s = format!("{sign}{prefix}{digits}");
    pad(out, Spec { zero: false, ..spec }, &s, false);
}

fn char_of(i: i64) -> char {
    u32::try_from(i).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}')
}

fn fmt_float(out: &mut String, spec: Spec, verb: char, x: f64) {
    if x.is_nan() {
        let s = if spec.plus {
            "+NaN"
        } else if spec.space {
            " NaN"
        } else {
            "NaN"
        };
        return pad(out, spec, s, false);
    }
    if x.is_infinite() {
        let s = if x < 0.0 {
            "-Inf"
        } else if spec.space && !spec.plus {
            " Inf"
        } else {
            "+Inf"
        };
        return pad(out, spec, s, false);
    }
    let prec = spec.prec;
    let body = match verb {
        'e' | 'E' => format_e(x.abs(), prec.unwrap_or(6), verb == 'E'),
        'f' | 'F' => format!("{:.*}", prec.unwrap_or(6), x.abs()),
        'g' | 'G' => format_g(x.abs(), prec, verb == 'G'),
        _ => format_g(x.abs(), None, false),
    };
    let sign = if x.is_sign_negative() {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    pad(out, spec, &format!("{sign}{body}"), true);
}

/// Splits Rust's `{:e}` output into mantissa digits (no point) and decimal exponent.
fn sci_digits(s: &str) -> (String, i32) {
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    (mant.replace('.', ""), exp.parse().unwrap_or(0))
}

fn with_exp(mant: &str, exp: i32, upper: bool) -> String {
    let e = if upper { 'E' } else { 'e' };
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mant}{e}{sign}{:02}", exp.unsigned_abs())
}

fn format_e(x: f64, prec: usize, upper: bool) -> String {
    let s = format!("{x:.prec$e}");
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    with_exp(mant, exp.parse().unwrap_or(0), upper)
}

/// Go's `%g`: shortest representation when `prec` is `None`, `%e` form for large or
/// small exponents, trailing zeros removed.
fn format_g(x: f64, prec: Option<usize>, upper: bool) -> String {
    let (digits, exp) = match prec {
        None => sci_digits(&format!("{x:e}")),
        Some(p) => {
            let p = p.max(1);
            let (d, e) = sci_digits(&format!("{x:.*e}", p - 1));
            let trimmed = d.trim_end_matches('0');
            (if trimmed.is_empty() { "0".into() } else { trimmed.to_owned() }, e)
        }
    };
    let nd = digits.len() as i32;
    let dp = exp + 1;
    let mut eprec = prec.map_or(6, |p| p.max(1) as i32);
    if prec.is_some() && eprec > nd && nd >= dp {
        eprec = nd;
    }
    if exp < -4 || exp >= eprec {
        let mant =
            if digits.len() > 1 { format!("{}.{}", &digits[..1], &digits[1..]) } else { digits };
        return with_exp(&mant, exp, upper);
    }
    let decimals = (nd - dp).max(0) as usize;
    format!("{x:.decimals$}")
}

fn fmt_str(out: &mut String, spec: Spec, verb: char, s: &str) {
    let s = match spec.prec {
        Some(p) if verb != 'x' && verb != 'X' => match s.char_indices().nth(p) {
            Some((i, _)) => &s[..i],
            None => s,
        },
        _ => s,
    };
    match verb {
        'q' if spec.sharp
            && !s.contains('`')
            && s.chars().all(|c| c == '\t' || !c.is_control()) =>
        {
            pad(out, spec, &format!("`{s}`"), false);
        }
        'q' => pad(out, spec, &quote(s), false),
        'x' | 'X' => {
            let bytes = match spec.prec {
                Some(p) => &s.as_bytes()[..p.min(s.len())],
                None => s.as_bytes(),
            };
            let mut h = String::new();
            for (k, b) in bytes.iter().enumerate() {
                if spec.space && k > 0 {
                    h.push(' ');
                }
                if spec.sharp && (spec.space || k == 0) {
                    h.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                let _ = if verb == 'x' { write!(h, "{b:02x}") } else { write!(h, "{b:02X}") };
            }
            pad(out, spec, &h, false);
        }
        _ => pad(out, spec, s, false),
    }
}

/// An approximation of Go's `unicode.IsPrint`: letters, marks, numbers, punctuation,
/// symbols and the ASCII space.
pub(crate) fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    !(c.is_control()
        || c.is_whitespace()
        || matches!(c, '\u{AD}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{FFFD}'..='\u{FFFF}')
        || ('\u{E000}'..='\u{F8FF}').contains(&c))
}

fn escape_char(out: &mut String, c: char, quote: char) {
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{C}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{B}' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == quote => {
            out.push('\\');
            out.push(c);
        }
        c if is_print(c) || c == '\u{FFFD}' => out.push(c),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if (c as u32) < 0x10000 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\U{:08x}", c as u32);
        }
    }
}

/// Go's `strconv.Quote`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        escape_char(&mut out, c, '"');
    }
    out.push('"');
    out
}

fn quote_rune(c: char) -> String {
    let mut out = String::from("'");
    escape_char(&mut out, c, '\'');
    out.push('\'');
    out
}
