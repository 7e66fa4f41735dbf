//! How `yaml.v2` (and the libyaml emitter inside it) chooses a scalar's style: plain, single
//! quoted, double quoted or literal block.

use std::sync::LazyLock;

use regex::Regex;

/// The style a string is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// Where the scalar sits: flow collections and mapping keys forbid some styles.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Context {
    Block,
    Flow,
    Key,
}

static BASE60_FLOAT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$").expect("valid")
});
static YAML_FLOAT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$").expect("valid")
});
static TIMESTAMP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ].*)?$").expect("valid"));

const RESERVED: [&str; 36] = [
    "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "n", "N", "no", "No",
    "NO", "false", "False", "FALSE", "off", "Off", "OFF", "", "~", "null", "Null", "NULL", ".nan",
    ".NaN", ".NAN", ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "<<",
];

/// True if `yaml.v2` would read the plain scalar as something other than a string.
fn resolves_to_non_string(s: &str) -> bool {
    if RESERVED.contains(&s) || matches!(s, "-.INF" | "+.inf" | "+.Inf" | "+.INF") {
        return true;
    }
    let Some(first) = s.bytes().next() else { return true };
    match first {
        b'.' => YAML_FLOAT.is_match(s) || s.parse::<f64>().is_ok_and(|_| is_go_float(s)),
        b'+' | b'-' | b'0'..=b'9' => {
            if TIMESTAMP.is_match(s) {
                return true;
            }
            let plain = s.replace('_', "");
            is_go_int(&plain) || YAML_FLOAT.is_match(&plain) || is_binary(&plain)
        }
        _ => false,
    }
}

/// Go's `strconv.ParseFloat` syntax for strings starting with `.` (decimal only).
fn is_go_float(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || b"._eE+-".contains(&b))
}

/// Go's `strconv.ParseInt(s, 0, 64)` / `ParseUint` acceptance, approximately.
fn is_go_int(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (digits, radix) =
        if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (h, 16)
        } else if let Some(o) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (o, 8)
        } else if let Some(b) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (b, 2)
        } else if body.len() > 1 && body.starts_with('0') {
            (&body[1..], 8)
        } else {
            (body, 10)
        };
    !digits.is_empty() && u128::from_str_radix(digits, radix).is_ok_and(|v| v <= u64::MAX as u128)
}

fn is_binary(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    body.strip_prefix("0b")
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b == b'0' || b == b'1'))
}

/// What libyaml's scalar analysis finds.
struct Analysis {
    flow_plain: bool,
    block_plain: bool,
    single_quoted: bool,
    block: bool,
    multiline: bool,
}

/// libyaml's (Go port's) printable test: note that NEL and everything beyond the Basic
/// Multilingual Plane count as unprintable there.
pub(super) fn is_printable(c: char) -> bool {
    matches!(c as u32, 0x0A | 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD) && c != '\u{FEFF}'
}

pub(super) fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// What a character scan of the scalar finds (libyaml's `yaml_emitter_analyze_scalar`).
#[derive(Default)]
struct Scan {
    flow_indicators: bool,
    block_indicators: bool,
    special: bool,
    line_breaks: bool,
    leading_space: bool,
    leading_break: bool,
    trailing_space: bool,
    trailing_break: bool,
    break_space: bool,
    space_break: bool,
}

fn indicators(scan: &mut Scan, c: char, first: bool, preceded_by_ws: bool, followed_by_ws: bool) {
    let both = |scan: &mut Scan| {
        scan.flow_indicators = true;
        scan.block_indicators = true;
    };
    match (first, c) {
        (
            true,
            '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%'
            | '@' | '`',
        ) => both(scan),
        (true, '?') | (_, ':') => {
            scan.flow_indicators = true;
            scan.block_indicators |= followed_by_ws;
        }
        (true, '-') if followed_by_ws => both(scan),
        (false, ',' | '?' | '[' | ']' | '{' | '}') => scan.flow_indicators = true,
        (false, '#') if preceded_by_ws => both(scan),
        _ => {}
    }
}

fn scan(s: &str) -> Scan {
    let chars: Vec<char> = s.chars().collect();
    let mut scan = Scan::default();
    if s.starts_with("---") || s.starts_with("...") {
        scan.flow_indicators = true;
        scan.block_indicators = true;
    }
    let (mut prev_space, mut prev_break, mut preceded_by_ws) = (false, false, true);
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_ws = chars.get(i + 1).is_none_or(|&n| n == ' ' || n == '\t' || is_break(n));
        indicators(&mut scan, c, i == 0, preceded_by_ws, followed_by_ws);
        scan.special |= !is_printable(c);
        scan.line_breaks |= is_break(c);
        let last = i + 1 == chars.len();
        if c == ' ' {
            scan.leading_space |= i == 0;
            scan.trailing_space |= last;
            scan.break_space |= prev_break;
        } else if is_break(c) {
            scan.leading_break |= i == 0;
            scan.trailing_break |= last;
            scan.space_break |= prev_space;
        }
        (prev_space, prev_break) = (c == ' ', is_break(c));
        preceded_by_ws = c == ' ' || c == '\t' || is_break(c);
    }
    scan
}

fn analyze(s: &str) -> Analysis {
    let scan = scan(s);
    let mut a = Analysis {
        flow_plain: true,
        block_plain: true,
        single_quoted: true,
        block: true,
        multiline: scan.line_breaks,
    };
    if scan.leading_space || scan.leading_break || scan.trailing_space || scan.trailing_break {
        a.flow_plain = false;
        a.block_plain = false;
    }
    if scan.trailing_space {
        a.block = false;
    }
    if scan.break_space {
        a.flow_plain = false;
        a.block_plain = false;
        a.single_quoted = false;
    }
    if scan.space_break || scan.special {
        a = Analysis {
            flow_plain: false,
            block_plain: false,
            single_quoted: false,
            block: false,
            ..a
        };
    }
    if scan.line_breaks {
        a.flow_plain = false;
        a.block_plain = false;
    }
    a.flow_plain &= !scan.flow_indicators;
    a.block_plain &= !scan.block_indicators;
    a
}

/// The style `yaml.v2` writes `s` in at `context`.
pub(super) fn style(s: &str, context: Context) -> Style {
    let requested = if s.contains('\n') {
        Style::Literal
    } else if !(resolves_to_non_string(s) || s.contains(':') && BASE60_FLOAT.is_match(s)) {
        Style::Plain
    } else {
        Style::Double
    };
    let a = analyze(s);
    let mut chosen = requested;
    if chosen == Style::Plain {
        let plain_ok = match context {
            Context::Flow => a.flow_plain,
            Context::Block => a.block_plain,
            Context::Key => a.block_plain && !a.multiline,
        };
        if !plain_ok || s.is_empty() {
            chosen = Style::Single;
        }
    }
    if chosen == Style::Single && (!a.single_quoted || (context == Context::Key && a.multiline)) {
        chosen = Style::Double;
    }
    if chosen == Style::Literal && (context != Context::Block || !a.block) {
        chosen = Style::Double;
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::{Context, Style, style};

    #[test]
    fn styles_match_yaml_v2() {
        let block = [
            ("plain text", Style::Plain),
            ("yes", Style::Double),
            ("123", Style::Double),
            ("09:00", Style::Double),
            ("2024-01-01", Style::Double),
            ("", Style::Double),
            ("a: b", Style::Single),
            ("{{ template \"x\" . }}", Style::Single),
            ("-x", Style::Plain),
            ("- x", Style::Single),
            ("tab\there", Style::Double),
            ("two\nlines", Style::Literal),
            ("trailing \nspace", Style::Double),
        ];
        for (text, expected) in block {
            assert_eq!(style(text, Context::Block), expected, "{text:?}");
        }
        assert_eq!(style("monday:friday", Context::Flow), Style::Single);
        assert_eq!(style("monday:friday", Context::Block), Style::Plain);
        assert_eq!(style("n", Context::Key), Style::Double);
    }
}
