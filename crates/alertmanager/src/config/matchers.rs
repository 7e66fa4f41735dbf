//! The `matchers:` list syntax (`a="b"`, `c=~"d.*"`, optionally `{...}` and comma-separated),
//! sorted as Alertmanager sorts them. Parsing is `model::matcher::parse_matchers`, the same
//! parser the API's filters and amtool's syntax use.

use model::Matcher;
use serde::{Deserializer, Serializer};

/// Sorts matchers as Alertmanager's `labels.Matchers` does (name, value, then operator).
pub(crate) fn sort_matchers(matchers: &mut [Matcher]) {
    matchers.sort();
}

/// Parses one line: `{a="b", c!~"d"}` or `a=b,c="d"`, with Alertmanager 0.25's rules.
pub(crate) fn parse_matchers(line: &str) -> Result<Vec<Matcher>, String> {
    model::matcher::parse_matchers(line).map_err(|error| error.to_string())
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
