//! Value types with Alertmanager's own reading and writing rules: secrets, URLs, `host:port`
//! pairs, and the two duration syntaxes (Prometheus `5m` and Go `1m0s`).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What Alertmanager writes in place of a secret.
pub const SECRET_TOKEN: &str = "<secret>";

/// A string that must never be revealed: it displays, debugs and serializes as `<secret>`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the code that must use it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True if no secret was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SECRET_TOKEN)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SECRET_TOKEN)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Go marshals an empty secret as null, a set one as the token.
        if self.0.is_empty() {
            serializer.serialize_none()
        } else {
            serializer.serialize_str(SECRET_TOKEN)
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        Ok(Secret(scalar_string(deserializer)?))
    }
}

/// Reads any YAML scalar as its text, as Go does when unmarshalling into a string.
pub(crate) fn scalar_string<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<String, D::Error> {
    scalar_with(deserializer, Ok)
}

/// Reads a scalar as text and converts it. The conversion runs while the deserializer is on
/// the node, so a failure carries the node's line.
pub(crate) fn scalar_with<'de, D, T, F>(deserializer: D, convert: F) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    F: FnOnce(String) -> Result<T, String>,
{
    struct Text<F>(F);
    impl<T, F: FnOnce(String) -> Result<T, String>> Text<F> {
        fn done<E: serde::de::Error>(self, text: String) -> Result<T, E> {
            (self.0)(text).map_err(E::custom)
        }
    }
    impl<T, F: FnOnce(String) -> Result<T, String>> serde::de::Visitor<'_> for Text<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
            self.done(v.to_owned())
        }
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<T, E> {
            self.done(v.to_string())
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<T, E> {
            self.done(v.to_string())
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<T, E> {
            self.done(v.to_string())
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<T, E> {
            self.done(v.to_string())
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<T, E> {
            self.done(String::new())
        }
    }
    deserializer.deserialize_any(Text(convert))
}

/// An `http`/`https` URL with a host, checked when the file is loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url(String);

impl Url {
    /// Parses and checks a URL as Alertmanager does (scheme `http` or `https`, a host).
    pub fn parse(text: &str) -> Result<Url, String> {
        let (scheme, rest) = match text.split_once(':') {
            Some((scheme, rest)) if !scheme.is_empty() => (scheme, rest),
            _ => return Err(format!("unsupported scheme \"\" for URL {text:?}")),
        };
        // Go lowercases the scheme when parsing and writes it back that way.
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(format!("unsupported scheme {scheme:?} for URL"));
        }
        let host = rest.strip_prefix("//").map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
        let host = host.map(|h| h.rsplit('@').next().unwrap_or(""));
        if host.is_none_or(str::is_empty) {
            return Err("missing host for URL".to_owned());
        }
        // Like Go's parser: a port, when present, is digits only.
        if let Some(host) = host {
            let after_brackets = host.rsplit(']').next().unwrap_or(host);
            if let Some((_, port)) = after_brackets.rsplit_once(':')
                && !port.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(format!("parse {text:?}: invalid port \":{port}\" after host"));
            }
        }
        if text.chars().any(|c| c.is_control() || c == ' ') {
            return Err(format!("invalid character in URL {text:?}"));
        }
        Ok(Url(format!("{scheme}:{rest}")))
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Appends `/` to the path unless it already ends with one (Alertmanager does this for the
    /// OpsGenie, WeChat and VictorOps API URLs).
    pub(crate) fn with_trailing_slash(&self) -> Url {
        let text = &self.0;
        let after_scheme = text.find("//").map_or(0, |i| i + 2);
        let path_end =
            text[after_scheme..].find(['?', '#']).map_or(text.len(), |i| i + after_scheme);
        if text[..path_end].ends_with('/') && text[after_scheme..path_end].contains('/') {
            return self.clone();
        }
        Url(format!("{}/{}", &text[..path_end], &text[path_end..]))
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Url {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Url {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Url, D::Error> {
        scalar_with(deserializer, |text| Url::parse(&text))
    }
}

/// A URL that is itself a credential (Slack, Discord webhooks): rendered as `<secret>`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    /// The URL itself, for the code that must use it ("" when read back from `<secret>`).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SECRET_TOKEN)
    }
}

impl Serialize for SecretUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(SECRET_TOKEN)
    }
}

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SecretUrl, D::Error> {
        scalar_with(deserializer, |text| {
            // A rendered configuration carries the token; it must read back.
            if text == SECRET_TOKEN {
                return Ok(SecretUrl(String::new()));
            }
            Url::parse(&text).map(|u| SecretUrl(u.0))
        })
    }
}

/// A `host:port` network address (the SMTP smarthost).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostPort {
    /// The host, without IPv6 brackets.
    pub host: String,
    /// The port.
    pub port: String,
}

impl HostPort {
    /// True if no address was given.
    pub fn is_empty(&self) -> bool {
        self.host.is_empty() && self.port.is_empty()
    }

    fn parse(text: &str) -> Result<HostPort, String> {
        let missing = || format!("address {text}: missing port in address");
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| format!("address {text}: missing ']' in address"))?;
            (host, after.strip_prefix(':').ok_or_else(missing)?)
        } else {
            let (host, port) = text.rsplit_once(':').ok_or_else(missing)?;
            if host.contains(':') {
                return Err(format!("address {text}: too many colons in address"));
            }
            (host, port)
        };
        if port.is_empty() {
            return Err(format!("address {text:?}: port cannot be empty"));
        }
        Ok(HostPort { host: host.to_owned(), port: port.to_owned() })
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Alertmanager joins without brackets, even for IPv6 hosts.
        if self.is_empty() { Ok(()) } else { write!(f, "{}:{}", self.host, self.port) }
    }
}

impl Serialize for HostPort {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for HostPort {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<HostPort, D::Error> {
        scalar_with(deserializer, |text| {
            if text.is_empty() { Ok(HostPort::default()) } else { HostPort::parse(&text) }
        })
    }
}

/// Serde helpers for `Option<Duration>` in Prometheus syntax (`5m`, `1h30m`).
pub(crate) mod prom_duration {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        scalar_with(d, |text| {
            model::duration::parse_duration(&text).map(Some).map_err(|e| e.to_string())
        })
    }

    pub(crate) fn serialize<S: Serializer>(
        value: &Option<Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => s.serialize_str(&model::duration::format_duration(*d)),
            None => s.serialize_none(),
        }
    }
}

/// Serde helpers for a required `Duration` in Prometheus syntax.
pub(crate) mod prom_duration_required {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        scalar_with(d, |text| model::duration::parse_duration(&text).map_err(|e| e.to_string()))
    }

    pub(crate) fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&model::duration::format_duration(*value))
    }
}

/// Serde helpers for a `Duration` in Go's `time.ParseDuration` syntax (Pushover's `retry`).
pub(crate) mod go_duration {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        scalar_with(d, |text| {
            parse_go_duration(&text).ok_or_else(|| format!("time: invalid duration {text:?}"))
        })
    }

    pub(crate) fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_go_duration(*value))
    }
}

/// Parses Go's `time.ParseDuration` syntax for non-negative durations (`1h0m0s`, `1.5s`).
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let body = text.strip_prefix('+').unwrap_or(text);
    if body == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = body;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let nanos = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * nanos;
    }
    Some(Duration::from_nanos(total as u64))
}

/// Formats a duration as Go's `time.Duration.String` does (`1h0m0s`, `1.5s`, `500ms`).
pub fn format_go_duration(value: Duration) -> String {
    let nanos = value.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    if nanos < 1_000_000_000 {
        let (unit, size) = match nanos {
            n if n < 1_000 => ("ns", 1),
            n if n < 1_000_000 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        return format!("{}{unit}", fraction(nanos, size));
    }
    let hours = nanos / 3_600_000_000_000;
    let minutes = (nanos / 60_000_000_000) % 60;
    let seconds = fraction(nanos % 60_000_000_000, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, m) => format!("{m}m{seconds}s"),
        (h, m) => format!("{h}h{m}m{seconds}s"),
    }
}

fn fraction(value: u128, unit: u128) -> String {
    let whole = value / unit;
    let rest = value % unit;
    if rest == 0 {
        return whole.to_string();
    }
    let width = unit.to_string().len() - 1;
    let digits = format!("{rest:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// True for a valid Prometheus label name.
pub(crate) fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reads a string-to-string mapping, rejecting repeated keys as Go's strict YAML decoding does
/// (serde would silently keep the last one).
pub(crate) fn unique_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<std::collections::BTreeMap<String, String>, D::Error> {
    struct Entries;
    impl<'de> serde::de::Visitor<'de> for Entries {
        type Value = std::collections::BTreeMap<String, String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping of strings")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Self::Value::new())
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Self::Value::new();
            while let Some(key) = map.next_key::<StringNode>()? {
                let value = map.next_value::<StringNode>()?;
                if out.insert(key.0.clone(), value.0).is_some() {
                    return Err(serde::de::Error::custom(format!("duplicate key {:?}", key.0)));
                }
            }
            Ok(out)
        }
    }
    deserializer.deserialize_any(Entries)
}

/// Any scalar as its text.
struct StringNode(String);

impl<'de> Deserialize<'de> for StringNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<StringNode, D::Error> {
        scalar_string(d).map(StringNode)
    }
}

/// Reads a boolean as Go's YAML 1.1 decoder does: besides `true`/`false`, the words `yes`,
/// `no`, `on`, `off`, `y`, `n` in their usual capitalizations.
pub(crate) fn go_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    struct Flag;
    impl serde::de::Visitor<'_> for Flag {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a boolean")
        }
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }
        // Go leaves an explicit null at the zero value.
        fn visit_unit<E: serde::de::Error>(self) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<bool, E> {
            match v {
                "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True"
                | "TRUE" => Ok(true),
                "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False"
                | "FALSE" => Ok(false),
                _ => Err(E::custom(format!("cannot unmarshal {v:?} into bool"))),
            }
        }
    }
    deserializer.deserialize_any(Flag)
}

/// [`go_bool`] for optional booleans.
pub(crate) fn go_bool_opt<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<bool>, D::Error> {
    struct GoBool(bool);
    impl<'de> Deserialize<'de> for GoBool {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<GoBool, D::Error> {
            go_bool(d).map(GoBool)
        }
    }
    Ok(Option::<GoBool>::deserialize(deserializer)?.map(|b| b.0))
}
