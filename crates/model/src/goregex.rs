//! Regular expressions with Go RE2 semantics (Go 1.19's `regexp`, which Alertmanager 0.25 is
//! built with), on top of the `regex` crate.
//!
//! Matchers compile as `^(?:pattern)$` ([`GoRegex::new_anchored`]); template functions use
//! the pattern as is ([`GoRegex::new_unanchored`]). The `regex` crate differs from Go on Perl
//! classes, class syntax, escapes and on what it accepts, so every pattern goes through
//! `translate`, a Go-syntax parser that rejects what Go rejects with Go's message and emits
//! equivalent `regex` syntax (see `rust-crates.md` §12 in the shared reference).

mod translate;
mod unicode_names;

#[cfg(test)]
mod tests;

use std::fmt;

use translate::{SyntaxError, translate};

/// The compiled program may be large where Go's is not (Unicode classes under big repeat
/// counts); Go accepts up to its own size limit, so ours is generous.
const SIZE_LIMIT: usize = 256 << 20;

/// Go bounds the height of its tree, not the nesting of non-capturing groups, and the
/// translation adds a group around every repeated operand.
const NEST_LIMIT: u32 = 10_000;

/// Nesting up to this depth compiles fine on any thread's stack.
const SHALLOW_DEPTH: usize = 64;

/// Enough stack for [`NEST_LIMIT`] levels in an unoptimised build.
const DEEP_STACK_BYTES: usize = 256 << 20;

/// A compiled Go-compatible regular expression.
#[derive(Clone)]
pub struct GoRegex {
    pattern: String,
    compiled: regex::Regex,
    /// Go's capture-group names, indexed like the groups of `compiled`.
    names: Vec<Option<String>>,
}

/// A pattern Go would reject, rendered like Go's `*syntax.Error`:
/// ``error parsing regexp: <reason>: `<fragment>` ``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("error parsing regexp: {reason}: `{fragment}`")]
pub struct RegexError {
    /// The pattern as given (without the anchors matchers add).
    pub pattern: String,
    /// Why it was rejected, in Go's words.
    pub reason: String,
    /// The part of the compiled text Go quotes (for anchored patterns it can include the
    /// added `^(?:` and `)$`, as in Go).
    pub fragment: String,
}

impl GoRegex {
    /// Compiles `pattern` anchored at both ends, as Alertmanager's matchers do.
    pub fn new_anchored(pattern: &str) -> Result<GoRegex, RegexError> {
        GoRegex::compile(pattern, &format!("^(?:{pattern})$"))
    }

    /// Compiles `pattern` unanchored, as Go's `regexp.Compile` does (template functions).
    pub fn new_unanchored(pattern: &str) -> Result<GoRegex, RegexError> {
        GoRegex::compile(pattern, pattern)
    }

    fn compile(pattern: &str, text: &str) -> Result<GoRegex, RegexError> {
        let rejected = |reason: &str, fragment: &str| RegexError {
            pattern: pattern.to_owned(),
            reason: reason.to_owned(),
            fragment: fragment.to_owned(),
        };
        let translation = translate(text)
            .map_err(|SyntaxError { code, fragment }| rejected(code.as_str(), &fragment))?;
        let compiled =
            build(&translation.rust, translation.depth).map_err(|error| match error {
                regex::Error::CompiledTooBig(_) => rejected("expression too large", text),
                other => rejected(&format!("internal translation error ({other})"), text),
            })?;
        Ok(GoRegex { pattern: pattern.to_owned(), compiled, names: translation.names })
    }

    /// True if the pattern matches `text` (all of it, for anchored patterns).
    pub fn is_match(&self, text: &str) -> bool {
        self.compiled.is_match(text)
    }

    /// The pattern as given (without the anchors).
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Go's `Regexp.ReplaceAllString`: every match replaced by `template`, in which `$1`,
    /// `${1}`, `$name` and `${name}` expand to groups (a name takes as many letters, digits and
    /// underscores as follow, so `$1x` is the group named `1x`), `$$` is a `$`, unknown groups
    /// expand to nothing and a malformed `$` stays literal.
    pub fn replace_all(&self, text: &str, template: &str) -> String {
        self.compiled
            .replace_all(text, |captures: &regex::Captures<'_>| self.expand(captures, template))
            .into_owned()
    }

    fn expand(&self, captures: &regex::Captures<'_>, template: &str) -> String {
        let mut out = String::new();
        let mut rest = template;
        while let Some(dollar) = rest.find('$') {
            out.push_str(&rest[..dollar]);
            rest = &rest[dollar + 1..];
            if let Some(after) = rest.strip_prefix('$') {
                out.push('$');
                rest = after;
                continue;
            }
            let Some((name, after)) = template_reference(rest) else {
                out.push('$');
                continue;
            };
            rest = after;
            if let Some(value) = self.group(captures, name) {
                out.push_str(value);
            }
        }
        out.push_str(rest);
        out
    }

    /// The text of group `name` (a number or a Go name) in this match, if it took part.
    fn group<'t>(&self, captures: &regex::Captures<'t>, name: &str) -> Option<&'t str> {
        if let Some(index) = group_number(name) {
            return captures.get(index).map(|m| m.as_str());
        }
        self.names
            .iter()
            .enumerate()
            .filter(|(_, group)| group.as_deref() == Some(name))
            .find_map(|(index, _)| captures.get(index))
            .map(|m| m.as_str())
    }
}

/// Compiles translated syntax. The `regex` crate's compiler recurses once per nesting level,
/// and Go accepts nesting that would overflow a small thread stack (hundreds of groups), so
/// deep patterns are compiled on a thread with a stack sized for them.
fn build(rust: &str, depth: usize) -> Result<regex::Regex, regex::Error> {
    let build = |rust: &str| {
        regex::RegexBuilder::new(rust)
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(SIZE_LIMIT)
            .nest_limit(NEST_LIMIT)
            .build()
    };
    if depth <= SHALLOW_DEPTH {
        return build(rust);
    }
    let owned = rust.to_owned();
    std::thread::Builder::new()
        .name("goregex-compile".to_owned())
        .stack_size(DEEP_STACK_BYTES)
        .spawn(move || build(&owned))
        .and_then(|handle| handle.join().map_err(|_| std::io::Error::other("compiler panicked")))
        .unwrap_or_else(|error| Err(regex::Error::Syntax(error.to_string())))
}

/// Splits a `$` reference (the text after the `$`) into the name and what follows.
fn template_reference(text: &str) -> Option<(&str, &str)> {
    let is_name_char = |c: char| c == '_' || c.is_alphabetic() || c.is_numeric();
    let (name, rest) = match text.strip_prefix('{') {
        Some(inner) => {
            let end = inner.find(|c: char| !is_name_char(c)).unwrap_or(inner.len());
            if !inner[end..].starts_with('}') {
                return None;
            }
            (&inner[..end], &inner[end + 1..])
        }
        None => {
            let end = text.find(|c: char| !is_name_char(c)).unwrap_or(text.len());
            (&text[..end], &text[end..])
        }
    };
    if name.is_empty() { None } else { Some((name, rest)) }
}

/// Go reads a reference as a group number only if it is all ASCII digits, below 10^8 and
/// without a leading zero.
fn group_number(name: &str) -> Option<usize> {
    if !name.bytes().all(|b| b.is_ascii_digit()) || (name.len() > 1 && name.starts_with('0')) {
        return None;
    }
    name.parse::<usize>().ok().filter(|n| *n < 100_000_000)
}

impl fmt::Debug for GoRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GoRegex({:?})", self.pattern)
    }
}
