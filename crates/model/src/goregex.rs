//! Regular expressions with Go RE2 semantics, compiled the way Alertmanager compiles matchers:
//! anchored as `^(?:pattern)$`.
//!
//! The `regex` crate differs from Go on Unicode classes and on what it accepts, so a pattern
//! is translated before it is compiled (see `rust-crates.md` §12 in the shared reference).

use std::fmt;

/// A compiled, anchored Go-compatible regular expression.
#[derive(Clone)]
pub struct GoRegex {
    pattern: String,
    compiled: regex::Regex,
}

/// A pattern Go would reject, with Go's reason where known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("error parsing regexp: {reason}: `{pattern}`")]
pub struct RegexError {
    /// The offending pattern as given.
    pub pattern: String,
    /// Why it was rejected.
    pub reason: String,
}

impl GoRegex {
    /// Compiles `pattern` anchored at both ends.
    pub fn new_anchored(pattern: &str) -> Result<GoRegex, RegexError> {
        let translated = translate(pattern)?;
        let compiled = regex::Regex::new(&format!("^(?:{translated})$")).map_err(|error| {
            RegexError { pattern: pattern.to_owned(), reason: error.to_string() }
        })?;
        Ok(GoRegex { pattern: pattern.to_owned(), compiled })
    }

    /// True if the whole of `text` matches.
    pub fn is_match(&self, text: &str) -> bool {
        self.compiled.is_match(text)
    }

    /// The pattern as given (without the anchors).
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

impl fmt::Debug for GoRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GoRegex({:?})", self.pattern)
    }
}

/// Rewrites Go-only or differently-meant constructs into `regex` crate syntax.
fn translate(pattern: &str) -> Result<String, RegexError> {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str("[0-9]"),
            Some('D') => out.push_str("[^0-9]"),
            Some('w') => out.push_str("[0-9A-Za-z_]"),
            Some('W') => out.push_str("[^0-9A-Za-z_]"),
            Some('s') => out.push_str("[\\t\\n\\f\\r ]"),
            Some('S') => out.push_str("[^\\t\\n\\f\\r ]"),
            Some('b') => out.push_str("(?-u:\\b)"),
            Some('B') => out.push_str("(?-u:\\B)"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => {
                return Err(RegexError {
                    pattern: pattern.to_owned(),
                    reason: "trailing backslash at end of expression".to_owned(),
                });
            }
        }
    }
    Ok(out)
}
