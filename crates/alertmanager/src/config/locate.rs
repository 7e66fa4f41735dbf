//! Finds the line of a node given its field path (`route.routes[0].receiver`), for errors that
//! are only found after the whole file was deserialized.
//!
//! The YAML deserializer knows the position of every node but has no span API; it does attach
//! the position of the current node to any error raised while visiting it. So we walk the
//! document again along the path and fail on purpose at the target node.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

enum Step {
    Key(String),
    Index(usize),
}

fn parse_path(path: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, mut indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            steps.push(Step::Key(key.to_owned()));
        }
        while let Some(rest) = indexes.strip_prefix('[') {
            let Some((number, after)) = rest.split_once(']') else { break };
            match number.parse() {
                Ok(n) => steps.push(Step::Index(n)),
                Err(_) => break,
            }
            indexes = after;
        }
    }
    steps
}

/// The 1-based line of the node at `path` in `text`, or `None` if it is not there. When only
/// a prefix of the path exists, the line of the deepest node found.
pub(crate) fn line_of(text: &str, path: &str) -> Option<usize> {
    position_of(text, path).map(|(line, _)| line)
}

/// The 1-based line and column of the node at `path` in `text` (see [`line_of`]); other
/// YAML formats (rule files) use it for their own errors.
pub fn position_of(text: &str, path: &str) -> Option<(usize, usize)> {
    let steps = parse_path(path);
    for depth in (0..=steps.len()).rev() {
        let seek = Seek { steps: &steps[..depth] };
        if let Err(error) = seek.deserialize(yaml_serde::Deserializer::from_str(text))
            && error.to_string().contains(FOUND)
        {
            return error.location().map(|l| (l.line(), l.column()));
        }
    }
    None
}

const FOUND: &str = "\u{0}located\u{0}";

struct Seek<'a> {
    steps: &'a [Step],
}

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seek<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any node")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.leaf()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.leaf()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.steps.split_first() else {
            return Err(de::Error::custom(FOUND));
        };
        while let Some(key) = map.next_key::<KeyText>()? {
            match first {
                Step::Key(wanted) if *wanted == key.0 => {
                    return map.next_value_seed(Seek { steps: rest });
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.steps.split_first() else {
            return Err(de::Error::custom(FOUND));
        };
        let Step::Index(wanted) = first else { return Ok(()) };
        for _ in 0..*wanted {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Seek { steps: rest }).map(|_| ())
    }
}

impl Seek<'_> {
    fn leaf<E: de::Error>(&self) -> Result<(), E> {
        if self.steps.is_empty() { Err(E::custom(FOUND)) } else { Ok(()) }
    }
}

/// A mapping key read as text, whatever its scalar type.
struct KeyText(String);

impl<'de> de::Deserialize<'de> for KeyText {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        super::types::scalar_string(d).map(KeyText)
    }
}

#[cfg(test)]
mod tests {
    use super::line_of;

    #[test]
    fn finds_nested_nodes() {
        let text = "route:\n  receiver: a\n  routes:\n    - receiver: b\n    - receiver: c\n      continue: true\n";
        assert_eq!(line_of(text, "route"), Some(2));
        assert_eq!(line_of(text, "route.receiver"), Some(2));
        assert_eq!(line_of(text, "route.routes[1].receiver"), Some(5));
        assert_eq!(line_of(text, "route.routes[1].continue"), Some(6));
        assert_eq!(line_of(text, "route.routes[1].missing"), Some(5));
    }
}
