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

/// Parses one line: `{a="b", c!~"d"}` or `a=b,c="d"`, with Alertmanager 0.25's rules. The
/// single point to swap for `model::matcher::parse_matchers` once it exists.
pub(crate) fn parse_matchers(line: &str) -> Result<Vec<Matcher>, String> {
    let body = line.strip_prefix('{').unwrap_or(line);
    let body = body.strip_suffix('}').unwrap_or(body);
    split_tokens(body).iter().map(|token| parse_one(token)).collect()
}

/// Splits on commas outside double quotes. Every token before the last is kept even when
/// empty (and then fails to parse); the last is kept only when it has content.
fn split_tokens(body: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut token = String::new();
    let (mut in_quotes, mut escaped) = (false, false);
    for c in body.chars() {
        match c {
            ',' if !in_quotes => {
                tokens.push(std::mem::take(&mut token));
                continue;
            }
            // A comma inside quotes leaves the escape state alone.
            ',' => {}
            '"' if escaped => escaped = false,
            '"' => in_quotes = !in_quotes,
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
        token.push(c);
    }
    if !token.trim().is_empty() {
        tokens.push(token.trim().to_owned());
    }
    tokens
}

/// Splits `name op value` (spaces allowed around the operator, trailing spaces dropped).
fn split_matcher(token: &str) -> Option<(&str, MatchType, &str)> {
    let text = token.trim_start();
    let name_len = text
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit()))
        })
        .map_or(text.len(), |(i, _)| i);
    if name_len == 0 {
        return None;
    }
    let rest = text[name_len..].trim_start();
    let ops = [
        ("=~", MatchType::Regexp),
        ("=", MatchType::Equal),
        ("!=", MatchType::NotEqual),
        ("!~", MatchType::NotRegexp),
    ];
    let (op_text, op) = ops.into_iter().find(|(t, _)| rest.starts_with(t))?;
    Some((&text[..name_len], op, rest[op_text.len()..].trim()))
}

fn parse_one(token: &str) -> Result<Matcher, String> {
    let (name, op, raw) =
        split_matcher(token).ok_or_else(|| format!("bad matcher format: {token}"))?;
    let value = unescape_value(raw)?;
    Matcher::new(op, name, value).map_err(|e| e.to_string())
}

/// The value with `\n`, `\"` and `\\` unescaped (other escapes kept as written) and the
/// optional surrounding quotes removed; a stray unescaped quote is an error.
fn unescape_value(raw: &str) -> Result<String, String> {
    let unescaped_quote = || format!("matcher value contains unescaped double quote: {raw}");
    let (body, mut expect_quote) = match raw.strip_prefix('"') {
        Some(inner) => (inner, true),
        None => (raw, false),
    };
    let mut value = String::new();
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        let last = i + c.len_utf8() == body.len();
        if escaped {
            escaped = false;
            match c {
                'n' => value.push('\n'),
                '"' | '\\' => value.push(c),
                other => {
                    value.push('\\');
                    value.push(other);
                }
            }
            continue;
        }
        match c {
            '\\' if !last => escaped = true,
            '"' if expect_quote && last => expect_quote = false,
            '"' => return Err(unescaped_quote()),
            other => value.push(other),
        }
    }
    if expect_quote {
        return Err(unescaped_quote());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::parse_matchers;

    fn texts(line: &str) -> Vec<String> {
        parse_matchers(line).unwrap().iter().map(|m| m.to_string()).collect()
    }

    #[test]
    fn parses_like_alertmanager() {
        assert_eq!(texts(r#"{a="b", c=~"d.*"}"#), [r#"a="b""#, r#"c=~"d.*""#]);
        assert_eq!(texts("a = b ,c!=d"), [r#"a="b""#, r#"c!="d""#]);
        assert_eq!(texts(r#"a="x\"y\\z\n""#), [r#"a="x\"y\\z\n""#]);
        assert_eq!(texts(r#"a="1,2""#), [r#"a="1,2""#]);
        assert!(parse_matchers("=broken").is_err());
        assert!(parse_matchers(r#"a="b"c""#).is_err());
        assert!(parse_matchers(r#"a="b"#).is_err());
        assert!(parse_matchers("a=b,,c=d").is_err());
        assert!(parse_matchers("a=~(").is_err());
    }
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
