//! The `matchers:` list syntax (`a="b"`, `c=~"d.*"`, optionally `{...}` and comma-separated),
//! sorted as Alertmanager sorts them.
//!
//! The parser is a stand-in: once `model::matcher::parse_matchers` lands, [`parse_matchers`]
//! should delegate to it.

use model::{MatchType, Matcher};
use serde::{Deserializer, Serializer};

/// Sorts matchers as Alertmanager's `labels.Matchers` does.
pub(crate) fn sort_matchers(matchers: &mut [Matcher]) {
    matchers.sort_by(|a, b| {
        (a.name.as_str(), a.value.as_str(), op_rank(a.match_type)).cmp(&(
            b.name.as_str(),
            b.value.as_str(),
            op_rank(b.match_type),
        ))
    });
}

fn op_rank(t: MatchType) -> u8 {
    match t {
        MatchType::Equal => 0,
        MatchType::NotEqual => 1,
        MatchType::Regexp => 2,
        MatchType::NotRegexp => 3,
    }
}

/// Parses one line: `{a="b", c!~"d"}` or `a=b,c="d"`. The single point to swap for
/// `model::matcher::parse_matchers` once it exists.
pub(crate) fn parse_matchers(line: &str) -> Result<Vec<Matcher>, String> {
    let trimmed = line.trim();
    let body = match (trimmed.strip_prefix('{'), trimmed.ends_with('}')) {
        (Some(inner), true) => &inner[..inner.len() - 1],
        (None, false) => trimmed,
        _ => return Err(format!("bad matcher format: {line}")),
    };
    let mut out = Vec::new();
    for part in split_outside_quotes(body)? {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        out.push(parse_one(part).ok_or_else(|| format!("bad matcher format: {part}"))??);
    }
    Ok(out)
}

fn split_outside_quotes(body: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let (mut start, mut in_quotes, mut escaped) = (0, false, false);
    for (i, c) in body.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => {
                parts.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if in_quotes {
        return Err(format!("matcher value contains unescaped double quote: {body}"));
    }
    parts.push(&body[start..]);
    Ok(parts)
}

fn parse_one(part: &str) -> Option<Result<Matcher, String>> {
    let name_end = part.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))?;
    let name = &part[..name_end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let rest = part[name_end..].trim_start();
    let (op, value) = [
        ("=~", MatchType::Regexp),
        ("!~", MatchType::NotRegexp),
        ("!=", MatchType::NotEqual),
        ("=", MatchType::Equal),
    ]
    .into_iter()
    .find_map(|(text, op)| rest.strip_prefix(text).map(|v| (op, v.trim())))?;
    let value = match value.strip_prefix('"') {
        Some(_) => match unquote(value) {
            Some(v) => v,
            None => return Some(Err(format!("invalid quoted value in matcher: {part}"))),
        },
        None => value.to_owned(),
    };
    Some(Matcher::new(op, name, value).map_err(|e| format!("{e}")))
}

/// Undoes Go-style double quoting.
fn unquote(text: &str) -> Option<String> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            '\\' => '\\',
            '"' => '"',
            '\'' => '\'',
            'a' => '\u{7}',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'v' => '\u{b}',
            'u' | 'U' | 'x' => return None,
            _ => return None,
        });
    }
    Some(out)
}

/// Serde for a `matchers:` field: a list of strings in, sorted matchers out.
pub(crate) mod serde_list {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Matcher>, D::Error> {
        d.deserialize_seq(Lines)
    }

    /// Parses each line while the deserializer is on it, so errors carry its line.
    struct Lines;

    impl<'de> serde::de::Visitor<'de> for Lines {
        type Value = Vec<Matcher>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list of matcher strings")
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Vec<Matcher>, A::Error> {
            let mut all = Vec::new();
            while let Some(parsed) = seq.next_element_seed(Line)? {
                all.extend(parsed);
            }
            sort_matchers(&mut all);
            Ok(all)
        }
    }

    struct Line;

    impl<'de> serde::de::DeserializeSeed<'de> for Line {
        type Value = Vec<Matcher>;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Matcher>, D::Error> {
            crate::config::types::scalar_with(d, |line| parse_matchers(&line))
        }
    }

    pub(crate) fn serialize<S: Serializer>(value: &[Matcher], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(value.iter().map(|m| m.to_string()))
    }
}
