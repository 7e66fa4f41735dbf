//! Label matchers (`=`, `!=`, `=~`, `!~`) and lists of them.

use std::fmt;

use crate::goregex::{GoRegex, RegexError};
use crate::labels::LabelSet;

/// The four matcher operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatchType {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regexp,
    /// `!~`
    NotRegexp,
}

impl MatchType {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchType::Equal => "=",
            MatchType::NotEqual => "!=",
            MatchType::Regexp => "=~",
            MatchType::NotRegexp => "!~",
        }
    }

    /// True for `=~` and `!~`.
    pub fn is_regex(self) -> bool {
        matches!(self, MatchType::Regexp | MatchType::NotRegexp)
    }

    /// True for `=` and `=~`.
    pub fn is_positive(self) -> bool {
        matches!(self, MatchType::Equal | MatchType::Regexp)
    }
}

impl fmt::Display for MatchType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One matcher: a label name, an operator and a value (a pattern for the regex operators).
#[derive(Clone, Debug)]
pub struct Matcher {
    /// The label name.
    pub name: String,
    /// The value or pattern.
    pub value: String,
    /// The operator.
    pub match_type: MatchType,
    regex: Option<GoRegex>,
}

impl Matcher {
    /// Builds a matcher, compiling the pattern for the regex operators.
    pub fn new(
        match_type: MatchType,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Matcher, RegexError> {
        let value = value.into();
        let regex = if match_type.is_regex() { Some(GoRegex::new_anchored(&value)?) } else { None };
        Ok(Matcher { name: name.into(), value, match_type, regex })
    }

    /// True if `value` (the label's value, "" when absent) satisfies the matcher.
    pub fn matches(&self, value: &str) -> bool {
        match (self.match_type, &self.regex) {
            (MatchType::Equal, _) => value == self.value,
            (MatchType::NotEqual, _) => value != self.value,
            (MatchType::Regexp, Some(regex)) => regex.is_match(value),
            (MatchType::NotRegexp, Some(regex)) => !regex.is_match(value),
            (_, None) => unreachable!("regex matchers always carry a compiled pattern"),
        }
    }

    /// True if the label set satisfies the matcher.
    pub fn matches_labels(&self, labels: &LabelSet) -> bool {
        self.matches(labels.value_or_empty(&self.name))
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.value == other.value && self.match_type == other.match_type
    }
}

impl Eq for Matcher {}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.name, self.match_type, crate::quote::go_quote(&self.value))
    }
}

/// A conjunction of matchers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Matchers(pub Vec<Matcher>);

impl Matchers {
    /// True if every matcher matches.
    pub fn matches(&self, labels: &LabelSet) -> bool {
        self.0.iter().all(|m| m.matches_labels(labels))
    }
}

/// A matcher string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad matcher format: {0}")]
pub struct ParseError(pub String);

/// Parses one matcher such as `a="b"` or `c=~d.*` (a minimal stand-in for the full parser).
pub fn parse_matcher(text: &str) -> Result<Matcher, ParseError> {
    let text = text.trim();
    let operator_start = text.find(['=', '!']).ok_or_else(|| ParseError(text.to_owned()))?;
    let name = text[..operator_start].trim();
    let rest = &text[operator_start..];
    let (match_type, value) = if let Some(v) = rest.strip_prefix("=~") {
        (MatchType::Regexp, v)
    } else if let Some(v) = rest.strip_prefix("!~") {
        (MatchType::NotRegexp, v)
    } else if let Some(v) = rest.strip_prefix("!=") {
        (MatchType::NotEqual, v)
    } else if let Some(v) = rest.strip_prefix('=') {
        (MatchType::Equal, v)
    } else {
        return Err(ParseError(text.to_owned()));
    };
    let value = value.trim();
    let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
    Matcher::new(match_type, name, value).map_err(|e| ParseError(e.to_string()))
}
