//! Alertmanager 0.25's classic matcher syntax: `labels.ParseMatchers` and
//! `labels.ParseMatcher`, including their tolerance (bare values, trailing commas, stray
//! backslashes) and their error messages.

use super::{MatchType, Matcher};
use crate::goregex::RegexError;

/// Why a matcher string was rejected; `Display` gives Go's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The text is not `name op value` (`bad matcher format: <text>`).
    #[error("bad matcher format: {0}")]
    BadFormat(String),
    /// A `"` inside the value that is neither escaped nor the closing quote; carries the raw
    /// value as written.
    #[error("matcher value contains unescaped double quote: {0}")]
    UnescapedQuote(String),
    /// The pattern of a regex matcher does not compile.
    #[error(transparent)]
    Regex(#[from] RegexError),
}

/// Parses a comma-separated list of matchers, optionally wrapped in `{` `}`, as 0.25's
/// `labels.ParseMatchers`: commas inside double quotes do not split, `\"` does not open or
/// close quotes, and one trailing comma (plus whitespace) is allowed.
pub fn parse_matchers(text: &str) -> Result<Vec<Matcher>, ParseError> {
    let text = text.strip_prefix('{').unwrap_or(text);
    let text = text.strip_suffix('}').unwrap_or(text);
    let mut tokens = Vec::new();
    let mut token = String::new();
    let mut inside_quotes = false;
    let mut escaped = false;
    for c in text.chars() {
        match c {
            ',' if !inside_quotes => {
                tokens.push(std::mem::take(&mut token));
                continue;
            }
            ',' => {}
            '"' if escaped => escaped = false,
            '"' => inside_quotes = !inside_quotes,
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
        token.push(c);
    }
    // Only the last token is trimmed (Go's `strings.TrimSpace`, Unicode white space), which
    // is what makes a trailing comma legal; empty tokens elsewhere are errors.
    if !token.trim().is_empty() {
        tokens.push(token.trim().to_owned());
    }
    tokens.iter().map(|token| parse_matcher(token)).collect()
}

/// Parses one `name op value` matcher as 0.25's `labels.ParseMatcher`.
///
/// The name follows `[a-zA-Z_:][a-zA-Z0-9_:]*`; whitespace around the parts is dropped. The
/// value may be double-quoted; inside it `\"`, `\\` and `\n` are escapes and any other
/// backslash is literal.
pub fn parse_matcher(text: &str) -> Result<Matcher, ParseError> {
    let (name, match_type, raw) =
        split_matcher(text).ok_or_else(|| ParseError::BadFormat(text.to_owned()))?;
    let value = unescape_value(raw)?;
    Ok(Matcher::new(match_type, name, value)?)
}

/// Go's `\s`, the only white space the matcher grammar skips.
fn is_go_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

/// Splits `text` like `^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*((?s).*?)\s*$`.
fn split_matcher(text: &str) -> Option<(&str, MatchType, &str)> {
    let rest = text.trim_start_matches(is_go_space);
    let name_len = rest
        .bytes()
        .enumerate()
        .take_while(|&(i, b)| {
            b == b'_' || b == b':' || b.is_ascii_alphabetic() || (i > 0 && b.is_ascii_digit())
        })
        .count();
    if name_len == 0 {
        return None;
    }
    let (name, rest) = rest.split_at(name_len);
    let rest = rest.trim_start_matches(is_go_space);
    let (match_type, rest) = if let Some(rest) = rest.strip_prefix("=~") {
        (MatchType::Regexp, rest)
    } else if let Some(rest) = rest.strip_prefix('=') {
        (MatchType::Equal, rest)
    } else if let Some(rest) = rest.strip_prefix("!=") {
        (MatchType::NotEqual, rest)
    } else if let Some(rest) = rest.strip_prefix("!~") {
        (MatchType::NotRegexp, rest)
    } else {
        return None;
    };
    let value = rest.trim_start_matches(is_go_space).trim_end_matches(is_go_space);
    Some((name, match_type, value))
}

/// Removes the optional quotes and resolves escapes; `raw` is the value as written.
fn unescape_value(raw: &str) -> Result<String, ParseError> {
    let unescaped_quote = || ParseError::UnescapedQuote(raw.to_owned());
    let (body, mut expect_closing_quote) = match raw.strip_prefix('"') {
        Some(body) => (body, true),
        None => (raw, false),
    };
    let mut value = String::with_capacity(body.len());
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        let is_last_byte = i == body.len() - 1;
        if escaped {
            escaped = false;
            match c {
                'n' => value.push('\n'),
                '"' | '\\' => value.push(c),
                // A spurious escape: the backslash is literal.
                c => {
                    value.push('\\');
                    value.push(c);
                }
            }
            continue;
        }
        match c {
            '\\' if !is_last_byte => escaped = true,
            '"' if expect_closing_quote && is_last_byte => expect_closing_quote = false,
            '"' => return Err(unescaped_quote()),
            c => value.push(c),
        }
    }
    if expect_closing_quote {
        return Err(unescaped_quote());
    }
    Ok(value)
}
