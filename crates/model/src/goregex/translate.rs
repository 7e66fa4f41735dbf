//! A parser for Go's `regexp/syntax` (Perl flags, as `regexp.Compile` uses them) that emits
//! equivalent `regex` crate syntax.
//!
//! It walks the pattern the way Go's parser does, so it rejects the same inputs with the same
//! reason and fragment, and rewrites every construct whose meaning differs between the two
//! engines: Perl classes become ASCII sets, class literals are hex-escaped (so `[`, `&&`, `--`
//! and `~~` stay literal), `\Q…\E` and octal escapes become plain literals, and named groups
//! lose their names (Go allows names the `regex` crate rejects; names are kept on the side).

mod escapes;
mod height;
mod size;

use escapes::{
    ANY, NEVER, class_char, literal_text, parse_escape, perl_class, posix_class, push_range,
    unicode_class,
};
use height::Height;
use size::{MAX_SIZE, Repeat, Size};

/// Go's `regexp/syntax` error codes that this parser can produce, with Go's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ErrorCode {
    InvalidCharRange,
    InvalidEscape,
    InvalidNamedCapture,
    InvalidPerlOp,
    InvalidRepeatOp,
    InvalidRepeatSize,
    MissingBracket,
    MissingParen,
    MissingRepeatArgument,
    TrailingBackslash,
    UnexpectedParen,
    NestingDepth,
    /// Go 1.19's size limit, which it reports as an internal error.
    TooLarge,
}

impl ErrorCode {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidCharRange => "invalid character class range",
            ErrorCode::InvalidEscape => "invalid escape sequence",
            ErrorCode::InvalidNamedCapture => "invalid named capture",
            ErrorCode::InvalidPerlOp => "invalid or unsupported Perl syntax",
            ErrorCode::InvalidRepeatOp => "invalid nested repetition operator",
            ErrorCode::InvalidRepeatSize => "invalid repeat count",
            ErrorCode::MissingBracket => "missing closing ]",
            ErrorCode::MissingParen => "missing closing )",
            ErrorCode::MissingRepeatArgument => "missing argument to repetition operator",
            ErrorCode::TrailingBackslash => "trailing backslash at end of expression",
            ErrorCode::UnexpectedParen => "unexpected )",
            ErrorCode::NestingDepth => "expression nests too deeply",
            ErrorCode::TooLarge => "regexp/syntax: internal error",
        }
    }
}

/// A rejection: Go's error code and the fragment of the pattern Go quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SyntaxError {
    pub(super) code: ErrorCode,
    pub(super) fragment: String,
}

/// The result of translating one pattern.
#[derive(Debug, Clone)]
pub(super) struct Translation {
    /// Equivalent `regex` crate syntax; every group is unnamed.
    pub(super) rust: String,
    /// Go's name for each capture group, indexed like `regex::Captures` (0 is the whole match).
    pub(super) names: Vec<Option<String>>,
    /// The deepest group nesting in `rust`.
    pub(super) depth: usize,
}

/// Go caps the product of nested repeat counts, and the height of the parsed tree, at 1000.
const REPEAT_LIMIT: u32 = 1000;
const MAX_HEIGHT: u32 = 1000;

type Result<T> = std::result::Result<T, SyntaxError>;

/// Translates a Go pattern into `regex` crate syntax, or reports what Go would say.
pub(super) fn translate(pattern: &str) -> Result<Translation> {
    let mut parser = Parser {
        src: pattern,
        pos: 0,
        out: String::with_capacity(pattern.len() * 2),
        frames: vec![Frame::new(0)],
        names: vec![None],
        last_repeat: None,
        depth: 0,
    };
    parser.run()?;
    Ok(Translation { rust: parser.out, names: parser.names, depth: parser.depth })
}

/// One open group: what the repetition operators and the repeat-size check need to know.
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// Where the group's text starts in the output.
    out_start: usize,
    /// Whether something a repetition can apply to was parsed since `(` or `|`.
    has_operand: bool,
    /// Where that operand starts in the output.
    operand_start: usize,
    /// The largest product of nested `{n,m}` counts inside the operand.
    operand_weight: u32,
    /// The same over the whole group so far (every alternative).
    weight: u32,
    /// Where flag-only groups (`(?i)`) emitted since the operand start in the output: Go lets
    /// a repetition skip over them to the operand, so they must move past the repetition.
    flags_since_operand: Option<usize>,
    /// Whether the group captures (and so is a node of its own in Go's tree).
    capturing: bool,
    height: Height,
    size: Size,
}

impl Frame {
    fn new(out_start: usize) -> Frame {
        Frame {
            out_start,
            has_operand: false,
            operand_start: out_start,
            operand_weight: 1,
            weight: 1,
            flags_since_operand: None,
            capturing: false,
            height: Height::default(),
            size: Size::default(),
        }
    }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    out: String,
    frames: Vec<Frame>,
    names: Vec<Option<String>>,
    /// Where the previous token started, if it was a repetition operator.
    last_repeat: Option<usize>,
    /// The deepest nesting of groups seen.
    depth: usize,
}

fn error<T>(code: ErrorCode, fragment: &str) -> Result<T> {
    Err(SyntaxError { code, fragment: fragment.to_owned() })
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn frame(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("the root frame is never popped")
    }

    fn run(&mut self) -> Result<()> {
        while let Some(c) = self.rest().chars().next() {
            let start = self.pos;
            let mut repeat = None;
            match c {
                '(' => self.open_group()?,
                '|' => {
                    self.pos += 1;
                    self.out.push('|');
                    let frame = self.frame();
                    frame.has_operand = false;
                    frame.flags_since_operand = None;
                    frame.height.alternate();
                    frame.size.alternate();
                }
                ')' => self.close_group()?,
                '^' | '$' | '.' => {
                    self.pos += 1;
                    self.push_operand(&c.to_string(), 1);
                }
                '[' => self.class()?,
                '*' | '+' | '?' => {
                    self.pos += 1;
                    self.repeat(start, c.to_string(), None)?;
                    repeat = Some(start);
                }
                '{' => {
                    if self.brace()? {
                        repeat = Some(start);
                    }
                }
                '\\' => self.escape()?,
                _ => {
                    self.pos += c.len_utf8();
                    self.literal(u32::from(c));
                }
            }
            self.last_repeat = repeat;
        }
        if self.frames.len() > 1 {
            return error(ErrorCode::MissingParen, self.src);
        }
        if self.frame().height.total() > MAX_HEIGHT {
            return error(ErrorCode::NestingDepth, self.src);
        }
        if self.frame().size.total() > MAX_SIZE {
            return error(ErrorCode::TooLarge, self.src);
        }
        Ok(())
    }

    /// A `{`: a counted repetition if it parses as one (returns true), else a literal.
    fn brace(&mut self) -> Result<bool> {
        let start = self.pos;
        let Some((min, max, len)) = parse_repeat(self.rest()) else {
            self.pos += 1;
            self.literal(u32::from('{'));
            return Ok(false);
        };
        self.pos += len;
        if !(0..=1000).contains(&min) || max > 1000 || (max >= 0 && min > max) {
            return error(ErrorCode::InvalidRepeatSize, &self.src[start..self.pos]);
        }
        let op = match max {
            -1 => format!("{{{min},}}"),
            max if max == min => format!("{{{min}}}"),
            max => format!("{{{min},{max}}}"),
        };
        self.repeat(start, op, Some((min, max)))?;
        Ok(true)
    }

    /// Records `text` as the newest operand of the current group.
    fn push_operand(&mut self, text: &str, weight: u32) {
        self.push_node(text, weight, 1, false);
        self.frame().size.push(1);
    }

    /// Records an operand with its repeat weight and Go tree height.
    fn push_node(&mut self, text: &str, weight: u32, height: u32, literal: bool) {
        let start = self.out.len();
        self.out.push_str(text);
        let frame = self.frame();
        frame.has_operand = true;
        frame.operand_start = start;
        frame.operand_weight = weight;
        frame.weight = frame.weight.max(weight);
        frame.flags_since_operand = None;
        frame.height.push(height, literal);
    }

    fn literal(&mut self, c: u32) {
        let text = literal_text(c);
        self.push_node(&text, 1, 1, true);
        self.frame().size.push(1);
    }

    /// Applies a repetition operator (already consumed, starting at `start`) to the operand.
    fn repeat(&mut self, start: usize, op: String, counts: Option<(i64, i64)>) -> Result<()> {
        let lazy = self.rest().starts_with('?');
        if lazy {
            self.pos += 1;
        }
        let fragment = &self.src[start..self.pos];
        if let Some(previous) = self.last_repeat {
            return error(ErrorCode::InvalidRepeatOp, &self.src[previous..self.pos]);
        }
        let frame = *self.frame();
        if !frame.has_operand {
            return error(ErrorCode::MissingRepeatArgument, fragment);
        }
        let mut weight = frame.operand_weight;
        if let Some((min, max)) = counts {
            // Go bounds the product of nested counts, not just each count.
            let count = if max == -1 { min } else { max } as u32;
            if count == 0 {
                weight = 1;
            } else {
                if (min >= 2 || max >= 2) && count.saturating_mul(weight) > REPEAT_LIMIT {
                    return error(ErrorCode::InvalidRepeatSize, fragment);
                }
                weight = count.saturating_mul(weight);
            }
        }
        let flags = frame.flags_since_operand.map(|start| self.out.split_off(start));
        self.out.insert_str(frame.operand_start, "(?:");
        self.out.push(')');
        self.out.push_str(&op);
        if lazy {
            self.out.push('?');
        }
        if let Some(flags) = flags {
            let start = self.out.len();
            self.out.push_str(&flags);
            self.frame().flags_since_operand = Some(start);
        }
        let frame = self.frame();
        frame.operand_weight = weight;
        frame.weight = frame.weight.max(weight);
        frame.height.repeat();
        let repeat = match (op.as_bytes()[0], counts) {
            (_, Some((min, max))) => Repeat::Counted { min, max },
            (b'*', None) => Repeat::Star,
            _ => Repeat::PlusOrQuest,
        };
        if frame.size.repeat(repeat) > MAX_SIZE {
            return error(ErrorCode::TooLarge, self.src);
        }
        Ok(())
    }

    fn open_group(&mut self) -> Result<()> {
        let rest = self.rest();
        if rest.starts_with("(?") {
            if rest.len() > 4 && rest.starts_with("(?P<") {
                return self.named_group();
            }
            return self.flags();
        }
        self.pos += 1;
        self.names.push(None);
        self.push_frame("(", true);
        Ok(())
    }

    fn push_frame(&mut self, text: &str, capturing: bool) {
        let start = self.out.len();
        self.out.push_str(text);
        self.frames.push(Frame { capturing, ..Frame::new(start) });
        self.depth = self.depth.max(self.frames.len());
    }

    fn named_group(&mut self) -> Result<()> {
        let rest = self.rest();
        let Some(end) = rest.find('>') else {
            return error(ErrorCode::InvalidNamedCapture, rest);
        };
        let name = &rest[4..end];
        let valid =
            !name.is_empty() && name.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric());
        if !valid {
            return error(ErrorCode::InvalidNamedCapture, &rest[..=end]);
        }
        self.pos += end + 1;
        self.names.push(Some(name.to_owned()));
        self.push_frame("(", true);
        Ok(())
    }

    /// `(?flags)` and `(?flags:`, with Go's rules: only `i m s U`, at most one `-`, and a `-`
    /// must be followed by at least one flag.
    fn flags(&mut self) -> Result<()> {
        let rest = self.rest();
        // For each of i, m, s, U: None if not mentioned, else whether it ends up on.
        let mut state: [Option<bool>; 4] = [None; 4];
        let mut negated = false;
        let mut saw_flag = false;
        for (offset, c) in rest.char_indices().skip(2) {
            let slot = match c {
                'i' => Some(0),
                'm' => Some(1),
                's' => Some(2),
                'U' => Some(3),
                '-' if !negated => {
                    negated = true;
                    saw_flag = false;
                    continue;
                }
                ':' | ')' if !negated || saw_flag => {
                    self.pos += offset + 1;
                    let flags = render_flags(&state);
                    return if c == ':' {
                        self.push_frame(&format!("(?{flags}:"), false);
                        Ok(())
                    } else {
                        if !flags.is_empty() {
                            let start = self.out.len();
                            self.out.push_str(&format!("(?{flags})"));
                            let frame = self.frame();
                            if frame.has_operand && frame.flags_since_operand.is_none() {
                                frame.flags_since_operand = Some(start);
                            }
                        }
                        Ok(())
                    };
                }
                _ => None,
            };
            match slot {
                Some(slot) => {
                    state[slot] = Some(!negated);
                    saw_flag = true;
                }
                None => return error(ErrorCode::InvalidPerlOp, &rest[..offset + c.len_utf8()]),
            }
        }
        error(ErrorCode::InvalidPerlOp, rest)
    }

    fn close_group(&mut self) -> Result<()> {
        if self.frames.len() == 1 {
            return error(ErrorCode::UnexpectedParen, self.src);
        }
        self.pos += 1;
        self.out.push(')');
        let closed = self.frames.pop().expect("checked above");
        let height = closed.height.total() + u32::from(closed.capturing);
        if height > MAX_HEIGHT {
            return error(ErrorCode::NestingDepth, self.src);
        }
        // A capture costs two instructions (its start and end markers).
        let size = closed.size.total().saturating_add(if closed.capturing { 2 } else { 0 });
        if size > MAX_SIZE {
            return error(ErrorCode::TooLarge, self.src);
        }
        let frame = self.frame();
        frame.height.push(height, false);
        frame.size.push(size);
        frame.has_operand = true;
        frame.operand_start = closed.out_start;
        frame.operand_weight = closed.weight;
        frame.weight = frame.weight.max(closed.weight);
        frame.flags_since_operand = None;
        Ok(())
    }

    /// A backslash outside a class.
    fn escape(&mut self) -> Result<()> {
        let rest = self.rest();
        let next = rest[1..].chars().next();
        let assertion = match next {
            Some('A') => Some(r"\A"),
            Some('z') => Some(r"\z"),
            Some('b') => Some(r"(?-u:\b)"),
            Some('B') => Some(r"(?-u:\B)"),
            Some('C') => return error(ErrorCode::InvalidEscape, &rest[..2]),
            Some('Q') => {
                let body = &rest[2..];
                let (literal, consumed) = match body.find(r"\E") {
                    Some(end) => (&body[..end], end + 2),
                    None => (body, body.len()),
                };
                self.pos += 2 + consumed;
                for c in literal.chars() {
                    self.literal(u32::from(c));
                }
                return Ok(());
            }
            _ => None,
        };
        if let Some(text) = assertion {
            self.pos += 2;
            self.push_operand(text, 1);
            return Ok(());
        }
        if let Some((text, len)) = unicode_class(rest)? {
            self.pos += len;
            self.push_operand(&text, 1);
            return Ok(());
        }
        if let Some((negated, set)) = perl_class(rest) {
            self.pos += 2;
            let caret = if negated { "^" } else { "" };
            self.push_operand(&format!("[{caret}{set}]"), 1);
            return Ok(());
        }
        let (c, len) = parse_escape(rest)?;
        self.pos += len;
        self.literal(c);
        Ok(())
    }

    /// A bracketed class, from `[` to `]`.
    fn class(&mut self) -> Result<()> {
        let whole = self.rest();
        let mut t = &whole[1..];
        let negated = t.starts_with('^');
        if negated {
            t = &t[1..];
        }
        let mut items = String::new();
        let mut first = true;
        while t.is_empty() || !t.starts_with(']') || first {
            first = false;
            if t.len() > 2
                && t.starts_with("[:")
                && let Some((text, len)) = posix_class(t)?
            {
                items.push_str(&text);
                t = &t[len..];
                continue;
            }
            if let Some((text, len)) = unicode_class(t)? {
                items.push_str(&text);
                t = &t[len..];
                continue;
            }
            if let Some((negated, set)) = perl_class(t) {
                // A negated Perl class nests, so it unions with the other members.
                if negated {
                    items.push_str(&format!("[^{set}]"));
                } else {
                    items.push_str(set);
                }
                t = &t[2..];
                continue;
            }
            let range_start = t;
            let (lo, len) = class_char(t, whole)?;
            t = &t[len..];
            let mut hi = lo;
            if t.len() >= 2 && t.starts_with('-') && !t[1..].starts_with(']') {
                t = &t[1..];
                let (end, len) = class_char(t, whole)?;
                t = &t[len..];
                if end < lo {
                    let used = range_start.len() - t.len();
                    return error(ErrorCode::InvalidCharRange, &range_start[..used]);
                }
                hi = end;
            }
            push_range(&mut items, lo, hi);
        }
        let consumed = whole.len() - t.len() + 1;
        self.pos += consumed;
        let text = match (items.is_empty(), negated) {
            (true, false) => NEVER.to_owned(),
            (true, true) => ANY.to_owned(),
            (false, false) => format!("[{items}]"),
            (false, true) => format!("[^{items}]"),
        };
        self.push_operand(&text, 1);
        Ok(())
    }
}

/// `i m s U` in canonical order, positives first, so the `regex` crate never sees a flag
/// twice (Go accepts `(?m-m)`, the `regex` crate does not).
fn render_flags(state: &[Option<bool>; 4]) -> String {
    const LETTERS: [char; 4] = ['i', 'm', 's', 'U'];
    let mut on = String::new();
    let mut off = String::new();
    for (letter, value) in LETTERS.iter().zip(state) {
        match value {
            Some(true) => on.push(*letter),
            Some(false) => off.push(*letter),
            None => {}
        }
    }
    if off.is_empty() { on } else { format!("{on}-{off}") }
}

/// Parses `{n}`, `{n,}` or `{n,m}` at the start of `t` as Go does: `(min, max, length)`, with
/// -1 for "no maximum" and for numbers of 10^8 or more (which make the count invalid).
/// `None` means the brace is a literal.
fn parse_repeat(t: &str) -> Option<(i64, i64, usize)> {
    let bytes = t.as_bytes();
    let mut i = 1;
    let (mut min, len) = parse_int(&bytes[i..])?;
    i += len;
    let max;
    match bytes.get(i)? {
        b',' => {
            i += 1;
            if bytes.get(i)? == &b'}' {
                max = -1;
            } else {
                let (value, len) = parse_int(&bytes[i..])?;
                i += len;
                max = value;
                if value < 0 {
                    min = -1;
                }
            }
        }
        _ => max = min,
    }
    if bytes.get(i)? != &b'}' {
        return None;
    }
    Some((min, max, i + 1))
}

/// Go's decimal parser for repeat counts: no leading zeros, saturating to -1 past 10^8.
fn parse_int(bytes: &[u8]) -> Option<(i64, usize)> {
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || (digits >= 2 && bytes[0] == b'0') {
        return None;
    }
    let mut value: i64 = 0;
    for b in &bytes[..digits] {
        if value >= 100_000_000 {
            value = -1;
            break;
        }
        value = value * 10 + i64::from(b - b'0');
    }
    Some((value, digits))
}
