//! Label matchers (`=`, `!=`, `=~`, `!~`), lists of them, their text form and validation, as
//! Alertmanager 0.25's `pkg/labels` defines them.
//!
//! Parsing ([`parse_matchers`] and [`parse_matcher`], Go's `labels.ParseMatchers` and
//! `labels.ParseMatcher`, used by the API `filter` parameter, config `matchers:` lists and
//! amtool) lives in `matcher/parse.rs`; the text form here is what 0.25's `Matcher.String()`
//! prints, which route keys and group keys are built from.

mod parse;

#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::fmt;

pub use parse::{ParseError, parse_matcher, parse_matchers};

use crate::goregex::{GoRegex, RegexError};
use crate::labels::LabelSet;
use crate::quote::go_quote;

/// The four matcher operators, ordered as Go's `MatchType` enum (which sorting relies on).
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
    /// Builds a matcher, compiling the pattern (anchored, as Go does) for the regex operators.
    /// Like Go's `labels.NewMatcher`, the name is not validated.
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

    /// True if the matcher matches a missing label: what silence validation calls
    /// "matches the empty string".
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.value == other.value && self.match_type == other.match_type
    }
}

impl Eq for Matcher {}

/// Go's `labels.Matchers.Less`: by name, then value, then operator.
impl Ord for Matcher {
    fn cmp(&self, other: &Self) -> Ordering {
        (&self.name, &self.value, self.match_type).cmp(&(
            &other.name,
            &other.value,
            other.match_type,
        ))
    }
}

impl PartialOrd for Matcher {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// 0.25's `Matcher.String()`: `name`, operator, then the value in double quotes with only
/// `\`, newline and `"` escaped (OpenMetrics escaping, not Go quoting).
impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}\"{}\"", self.name, self.match_type, open_metrics_escape(&self.value))
    }
}

/// Escapes `\`, newline and `"` as OpenMetrics does; everything else is kept as is.
pub fn open_metrics_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

/// A conjunction of matchers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Matchers(pub Vec<Matcher>);

impl Matchers {
    /// True if every matcher matches.
    pub fn matches(&self, labels: &LabelSet) -> bool {
        self.0.iter().all(|m| m.matches_labels(labels))
    }

    /// Sorts as Go's `sort.Sort(labels.Matchers(..))` does (config loading sorts `matchers:`).
    pub fn sort(&mut self) {
        self.0.sort();
    }
}

/// 0.25's `Matchers.String()`: `{a="b",c=~"d"}` with no spaces.
impl fmt::Display for Matchers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, matcher) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{matcher}")?;
        }
        f.write_str("}")
    }
}

/// Prometheus' classic label-name rule (`model.LabelName.IsValid` in 0.25):
/// `^[a-zA-Z_][a-zA-Z0-9_]*$`.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b == b'_' || b.is_ascii_alphabetic())
        && bytes.all(|b| b == b'_' || b.is_ascii_alphanumeric())
}

/// 0.25's `validateMatcher` for silences (and the API's silence checks): the name must be a
/// valid label name, an equality value valid UTF-8 (always true for `&str`), and a pattern
/// must compile as an *unanchored* Go regexp. The error text is Go's.
pub fn validate_silence_matcher(
    match_type: MatchType,
    name: &str,
    value: &str,
) -> Result<(), String> {
    if !is_valid_label_name(name) {
        return Err(format!("invalid label name {}", go_quote(name)));
    }
    if match_type.is_regex()
        && let Err(error) = GoRegex::new_unanchored(value)
    {
        return Err(format!("invalid regular expression {}: {error}", go_quote(value)));
    }
    Ok(())
}

/// Whether a silence matcher counts as "matching the empty string" in 0.25's silence
/// validation. This is not [`Matcher::matches_empty`]: only `=` with an empty value and `=~`
/// whose pattern matches "" *unanchored* count; `!=` and `!~` never do.
pub fn silence_matcher_matches_empty(match_type: MatchType, value: &str) -> bool {
    match match_type {
        MatchType::Equal => value.is_empty(),
        MatchType::Regexp => GoRegex::new_unanchored(value).is_ok_and(|regex| regex.is_match("")),
        MatchType::NotEqual | MatchType::NotRegexp => false,
    }
}

/// 0.25's matcher rules for a silence (`validateSilence`): at least one matcher, each valid
/// ([`validate_silence_matcher`], reported with its index), and not all of them matching the
/// empty string. Error texts are Go's; the API prefixes them with `silence invalid: `.
pub fn validate_silence_matchers<'a>(
    matchers: impl IntoIterator<Item = (MatchType, &'a str, &'a str)>,
) -> Result<(), String> {
    let mut count = 0;
    let mut all_match_empty = true;
    for (index, (match_type, name, value)) in matchers.into_iter().enumerate() {
        validate_silence_matcher(match_type, name, value)
            .map_err(|error| format!("invalid label matcher {index}: {error}"))?;
        all_match_empty &= silence_matcher_matches_empty(match_type, value);
        count += 1;
    }
    if count == 0 {
        return Err("at least one matcher required".to_owned());
    }
    if all_match_empty {
        return Err("at least one matcher must not match the empty string".to_owned());
    }
    Ok(())
}
