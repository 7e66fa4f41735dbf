//! Go's encodings that requests are built with: `encoding/json` (HTML-safe escaping, sorted
//! map keys, a final newline from `json.Encoder`) and `net/url` (`QueryEscape`,
//! `Values.Encode` with sorted keys).

use serde::Serialize;

/// `value` as Go's `json.NewEncoder(w).Encode(value)` writes it. Field order is the struct's,
/// so the serde types mirror Go's struct order.
pub fn go_json<T: Serialize>(value: &T) -> Vec<u8> {
    let json = serde_json::to_string(value).expect("notification bodies always serialise");
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('\n');
    out.into_bytes()
}

/// Go's `url.QueryEscape`: everything but `A-Za-z0-9-_.~` percent-encoded, space as `+`.
pub fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char);
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Go's `url.Values.Encode`: `key=value` pairs sorted by key (values of one key keep their
/// order), joined by `&`.
pub fn encode_values(pairs: &[(&str, &str)]) -> String {
    let mut sorted: Vec<&(&str, &str)> = pairs.iter().collect();
    sorted.sort_by_key(|(key, _)| *key);
    sorted
        .iter()
        .map(|(key, value)| format!("{}={}", query_escape(key), query_escape(value)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_url_encoding() {
        assert_eq!(query_escape("a b*~/é"), "a+b%2A~%2F%C3%A9");
        assert_eq!(encode_values(&[("b", "2"), ("a", "x&y"), ("b", "1")]), "a=x%26y&b=2&b=1");
    }

    #[test]
    fn go_json_escapes_html() {
        assert_eq!(
            go_json(&serde_json::json!({"b": "<&>", "a": 1})),
            b"{\"a\":1,\"b\":\"\\u003c\\u0026\\u003e\"}\n"
        );
    }
}
