//! The order `yaml.v2` writes Go map keys in: a "natural" order where letters sort after
//! other characters and runs of digits compare as numbers (`k2` before `k10`). Rendering
//! string maps (`match`, `details`, `headers`, ...) needs it to match Alertmanager.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::Serializer;
use serde::ser::SerializeMap;

/// Serializes a string map with its keys in `yaml.v2`'s order.
pub(crate) fn serialize<S: Serializer>(
    map: &BTreeMap<String, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by(|a, b| key_order(a, b));
    let mut out = s.serialize_map(Some(keys.len()))?;
    for key in keys {
        out.serialize_entry(key, &map[key])?;
    }
    out.end()
}

/// `yaml.v2`'s key comparison for two string keys.
pub(crate) fn key_order(a: &str, b: &str) -> Ordering {
    if less(a, b) {
        Ordering::Less
    } else if less(b, a) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

fn less(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    for i in 0..a.len().min(b.len()) {
        if a[i] == b[i] {
            continue;
        }
        let (a_letter, b_letter) = (a[i].is_alphabetic(), b[i].is_alphabetic());
        if a_letter && b_letter {
            return a[i] < b[i];
        }
        if a_letter || b_letter {
            return b_letter;
        }
        // Neither is a letter: compare the digit runs starting here as numbers. A zero that
        // continues an earlier non-zero run is a digit like any other, so both start at one.
        let continues_number = (a[i] == '0' || b[i] == '0')
            && a[..i].iter().rev().take_while(|c| c.is_ascii_digit()).any(|&c| c != '0');
        let start = i64::from(continues_number);
        let (a_end, a_number) = digit_run(&a, i, start);
        let (b_end, b_number) = digit_run(&b, i, start);
        if a_number != b_number {
            return a_number < b_number;
        }
        if a_end != b_end {
            return a_end < b_end;
        }
        return a[i] < b[i];
    }
    a.len() < b.len()
}

/// The end of the digit run starting at `from` and its value accumulated onto `start`.
fn digit_run(chars: &[char], from: usize, start: i64) -> (usize, i64) {
    let mut value = start;
    let mut end = from;
    while end < chars.len() && chars[end].is_ascii_digit() {
        value = value.wrapping_mul(10).wrapping_add(i64::from(chars[end] as u8 - b'0'));
        end += 1;
    }
    (end, value)
}

#[cfg(test)]
mod tests {
    use super::key_order;

    #[test]
    fn natural_order() {
        let mut keys = vec!["k10", "k9", "a_x", "a5", "B", "a", "_", "k09"];
        keys.sort_by(|a, b| key_order(a, b));
        assert_eq!(keys, ["_", "B", "a", "a_x", "a5", "k9", "k09", "k10"]);
    }
}
