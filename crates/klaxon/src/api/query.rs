//! Query strings with repeated keys (`filter=a&filter=b`), booleans as Go's `strconv.ParseBool`
//! reads them, and matcher filters.

use model::Matcher;

use super::error::ApiError;

/// The decoded `key=value` pairs of a query string, in order.
pub(crate) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    /// Decodes a raw query string.
    pub(crate) fn parse(raw: Option<&str>) -> QueryParams {
        let pairs = raw
            .unwrap_or("")
            .split('&')
            .filter(|part| !part.is_empty())
            .map(|part| {
                let (key, value) = part.split_once('=').unwrap_or((part, ""));
                (percent_decode(key), percent_decode(value))
            })
            .collect();
        QueryParams(pairs)
    }

    /// Every value of `key`.
    pub(crate) fn all(&self, key: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
    }

    /// The first value of `key`.
    pub(crate) fn first(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A boolean parameter, `default` when absent. go-openapi reads any value outside its
    /// list of true words as false, without an error, and Alertmanager inherits that.
    pub(crate) fn boolean(&self, key: &str, default: bool) -> bool {
        match self.first(key) {
            None => default,
            Some(value) => matches!(
                value.to_ascii_lowercase().as_str(),
                "true" | "1" | "yes" | "ok" | "y" | "on" | "selected" | "checked" | "t" | "enabled"
            ),
        }
    }

    /// The `filter` parameters as matchers.
    pub(crate) fn matchers(&self) -> Result<Vec<Matcher>, ApiError> {
        self.all("filter")
            .into_iter()
            .map(|text| parse_filter(text).map_err(ApiError::BadRequest))
            .collect()
    }
}

/// Parses one `filter` value as Alertmanager's `labels.ParseMatcher` does.
fn parse_filter(text: &str) -> Result<Matcher, String> {
    model::matcher::parse_matcher(text).map_err(|error| error.to_string())
}

/// Decodes `%XX` escapes and `+` as a space; malformed escapes are kept as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() && text.is_char_boundary(index + 3) => {
                match u8::from_str_radix(&text[index + 1..index + 3], 16) {
                    Ok(byte) => {
                        out.push(byte);
                        index += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_and_escapes() {
        let query =
            QueryParams::parse(Some("filter=a%3D%22b%22&filter=c%3D~d.%2A&active=false&x=1+2"));
        assert_eq!(query.all("filter"), vec!["a=\"b\"", "c=~d.*"]);
        assert!(!query.boolean("active", true));
        assert!(query.boolean("silenced", true));
        assert_eq!(query.first("x"), Some("1 2"));
        assert!(!query.boolean("x", true));
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
