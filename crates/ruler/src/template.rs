//! Label and annotation templates of alerting rules, with Prometheus' data and functions:
//! `$labels`, `$value`, `$externalLabels`, `$externalURL`, `humanize`, `humanize1024`,
//! `humanizeDuration`, `humanizePercentage`, `humanizeTimestamp`, `title`, `toUpper`,
//! `toLower`, `match`, `reReplaceAll`, `safeHtml`, `args`, `parseDuration`, `toTime`,
//! `stripPort`, `stripDomain`, `externalURL`, `pathPrefix`. The `query` family (templates
//! that run queries) is not available: a template using it fails to parse.

use std::collections::BTreeMap;
use std::sync::Arc;

use gotemplate::{Func, Template, TemplateObject, Value};

/// What Prometheus prepends so that templates can use the `$` variables.
const PREAMBLE: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/// The data one expansion sees.
pub struct Context<'a> {
    /// The series' labels.
    pub labels: &'a model::LabelSet,
    /// The sample value.
    pub value: f64,
    /// The server's external labels.
    pub external_labels: &'a model::LabelSet,
    /// The server's external URL.
    pub external_url: &'a str,
}

/// What expression-rule templates add: Grafana's `$values`.
const VALUES_PREAMBLE: &str = "{{$values := .Values}}";

fn template(name: &str, text: &str, external_url: &str) -> Result<Template, gotemplate::Error> {
    template_with(name, text, external_url, "")
}

fn template_with(
    name: &str,
    text: &str,
    external_url: &str,
    extra: &str,
) -> Result<Template, gotemplate::Error> {
    let mut template =
        Template::new(name).funcs(functions(external_url.to_owned())).option_missingkey_zero();
    template.parse(&format!("{PREAMBLE}{extra}{text}"))?;
    Ok(template)
}

/// Checks an expression rule's template, which may also use `$values`.
pub fn check_with_values(name: &str, text: &str) -> Result<(), String> {
    template_with(name, text, "", VALUES_PREAMBLE).map(|_| ()).map_err(|e| e.to_string())
}

/// Expands an expression rule's template: Prometheus' variables plus Grafana's `$values`,
/// each node's value by refId (`{{ $values.B }}`, `{{ $values.B.Value }}`,
/// `{{ $values.B.Labels.instance }}`).
pub fn expand_with_values(
    name: &str,
    text: &str,
    context: &Context<'_>,
    values: &BTreeMap<String, f64>,
) -> String {
    if !text.contains("{{") {
        return text.to_owned();
    }
    let values = Value::map(values.iter().map(|(ref_id, value)| {
        (
            ref_id.clone(),
            Value::object(NodeValue { value: *value, labels: StringMap::from(context.labels) }),
        )
    }));
    let data = Value::map([
        ("Labels", Value::object(StringMap::from(context.labels))),
        ("ExternalLabels", Value::object(StringMap::from(context.external_labels))),
        ("ExternalURL", Value::from(context.external_url)),
        ("Value", Value::from(context.value)),
        ("Values", values),
    ]);
    let result = template_with(name, text, context.external_url, VALUES_PREAMBLE).and_then(|t| {
        let mut out = String::new();
        t.execute(&mut out, &data).map(|()| out)
    });
    result.unwrap_or_else(|error| format!("<error expanding template: {error}>"))
}

/// One node's value in `$values`: prints as the number, with `.Value` and `.Labels`.
struct NodeValue {
    value: f64,
    labels: StringMap,
}

impl TemplateObject for NodeValue {
    fn type_name(&self) -> String {
        "eval.NumberValueCapture".into()
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Value" => Some(Value::from(self.value)),
            "Labels" => Some(Value::object(StringMap(self.labels.0.clone()))),
            _ => None,
        }
    }
    fn basic(&self) -> Option<Value> {
        Some(Value::from(self.value))
    }
    fn display(&self) -> String {
        Value::from(self.value).to_string()
    }
}

/// Checks that `text` parses (used when loading rule files).
pub fn check(name: &str, text: &str) -> Result<(), String> {
    template(name, text, "").map(|_| ()).map_err(|e| e.to_string())
}

/// Expands `text`; as Prometheus does, a failure becomes the result text so the alert
/// still goes out with the reason in it.
pub fn expand(name: &str, text: &str, context: &Context<'_>) -> String {
    if !text.contains("{{") {
        return text.to_owned();
    }
    let data = Value::map([
        ("Labels", Value::object(StringMap::from(context.labels))),
        ("ExternalLabels", Value::object(StringMap::from(context.external_labels))),
        ("ExternalURL", Value::from(context.external_url)),
        ("Value", Value::from(context.value)),
    ]);
    let result = template(name, text, context.external_url).and_then(|t| {
        let mut out = String::new();
        t.execute(&mut out, &data).map(|()| out)
    });
    result.unwrap_or_else(|error| format!("<error expanding template: {error}>"))
}

/// Go's `map[string]string`: a missing key is the empty string.
struct StringMap(BTreeMap<String, String>);

impl From<&model::LabelSet> for StringMap {
    fn from(labels: &model::LabelSet) -> Self {
        StringMap(labels.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
    }
}

impl TemplateObject for StringMap {
    fn type_name(&self) -> String {
        "map[string]string".into()
    }
    fn field(&self, name: &str) -> Option<Value> {
        self.0.get(name).map(|v| Value::from(v.as_str()))
    }
    fn map_zero(&self) -> Option<Value> {
        Some(Value::from(""))
    }
    fn len(&self) -> Option<usize> {
        Some(self.0.len())
    }
    fn iter(&self) -> Option<Vec<(Value, Value)>> {
        Some(
            self.0
                .iter()
                .map(|(k, v)| (Value::from(k.as_str()), Value::from(v.as_str())))
                .collect(),
        )
    }
    fn display(&self) -> String {
        let pairs: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        format!("map[{}]", pairs.join(" "))
    }
}

fn functions(external_url: String) -> Vec<(&'static str, Func)> {
    fn f(g: impl Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static) -> Func {
        Arc::new(g)
    }
    let mut funcs: Vec<(&'static str, Func)> = alertmanager::template::default_funcs()
        .into_iter()
        .filter(|(name, _)| !matches!(*name, "join" | "stringSlice"))
        .collect();
    // Only `humanizeDuration` is taken from this set, and it never reads the clock.
    let newer = alertmanager::template::newer_funcs(Arc::new(alertmanager::template::GoTime::zero));
    funcs.extend(newer.into_iter().filter(|(name, _)| *name == "humanizeDuration"));
    let path_prefix = external_url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
        .unwrap_or_default();
    funcs.extend([
        ("humanize", f(|a| number("humanize", a).map(|v| Value::from(humanize(v))))),
        ("humanize1024", f(|a| number("humanize1024", a).map(|v| Value::from(humanize1024(v))))),
        (
            "humanizePercentage",
            f(|a| {
                number("humanizePercentage", a).map(|v| Value::from(format!("{}%", g4(v * 100.0))))
            }),
        ),
        (
            "humanizeTimestamp",
            f(|a| number("humanizeTimestamp", a).map(|v| Value::from(timestamp(v)))),
        ),
        ("toTime", f(|a| number("toTime", a).map(|v| Value::from(timestamp(v))))),
        (
            "args",
            f(|a| {
                Ok(Value::map(a.iter().enumerate().map(|(i, v)| (format!("arg{i}"), v.clone()))))
            }),
        ),
        ("parseDuration", f(parse_duration)),
        ("stripPort", f(|a| one_string("stripPort", a).map(|s| Value::from(strip_port(&s))))),
        (
            "stripDomain",
            f(|a| {
                one_string("stripDomain", a).map(|s| {
                    let (host, port) = match s.rsplit_once(':') {
                        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => (h, Some(p)),
                        _ => (s.as_str(), None),
                    };
                    let short = host.split('.').next().unwrap_or(host);
                    Value::from(match port {
                        Some(p) => format!("{short}:{p}"),
                        None => short.to_owned(),
                    })
                })
            }),
        ),
        ("externalURL", f(move |_| Ok(Value::from(external_url.clone())))),
        ("pathPrefix", f(move |_| Ok(Value::from(path_prefix.clone())))),
    ]);
    funcs
}

fn one_string(name: &str, args: &[Value]) -> Result<String, String> {
    match args {
        [Value::String(s)] => Ok(s.clone()),
        [other] => Err(format!("{name}: expected string, got {}", other.type_name())),
        _ => Err(format!("wrong number of args for {name}: want 1 got {}", args.len())),
    }
}

/// Prometheus' `convertToFloat`: numbers, numeric strings and durations.
fn number(name: &str, args: &[Value]) -> Result<f64, String> {
    let [arg] = args else {
        return Err(format!("wrong number of args for {name}: want 1 got {}", args.len()));
    };
    match arg {
        Value::Float(v) => Ok(*v),
        #[allow(clippy::cast_precision_loss)] // Go's float64(int)
        Value::Int(v) => Ok(*v as f64),
        Value::String(s) => parse_go_float(s).ok_or_else(|| {
            format!("strconv.ParseFloat: parsing {}: invalid syntax", gotemplate::quote(s))
        }),
        other => Err(format!("can't convert {} to float", other.type_name())),
    }
}

/// Parses a float as Go's `strconv.ParseFloat` spells infinities and NaN.
pub fn parse_go_float(text: &str) -> Option<f64> {
    match text.to_ascii_lowercase().as_str() {
        "+inf" | "inf" | "+infinity" | "infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

fn parse_duration(args: &[Value]) -> Result<Value, String> {
    let text = one_string("parseDuration", args)?;
    model::parse_duration(&text).map(|d| Value::from(d.as_secs_f64())).map_err(|e| e.to_string())
}

fn strip_port(text: &str) -> String {
    if let Some(rest) = text.strip_prefix('[')
        && let Some((host, _)) = rest.split_once(']')
    {
        return host.to_owned();
    }
    match text.rsplit_once(':') {
        Some((host, _)) if !host.contains(':') => host.to_owned(),
        _ => text.to_owned(),
    }
}

/// Go's `%.4g`.
fn g4(v: f64) -> String {
    alertmanager::template::go_g4(v)
}

fn humanize(mut v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return g4(v);
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", g4(v))
}

fn humanize1024(mut v: f64) -> String {
    if v.abs() <= 1.0 || !v.is_finite() {
        return g4(v);
    }
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", g4(v))
}

/// A Unix time in seconds as Go prints a UTC `time.Time`.
fn timestamp(v: f64) -> String {
    if !v.is_finite() {
        return g4(v);
    }
    #[allow(clippy::cast_possible_truncation)] // whole seconds and nanoseconds of a float
    let (seconds, nanos) = (v.floor() as i64, ((v - v.floor()) * 1e9).round() as u32);
    let Some(time) = chrono::DateTime::from_timestamp(seconds, nanos.min(999_999_999)) else {
        return g4(v);
    };
    let mut text = time.format("%Y-%m-%d %H:%M:%S").to_string();
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push_str(" +0000 UTC");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expression_rule_templates_see_values() {
        let labels = model::LabelSet::from_pairs([("instance", "a")]);
        let empty = model::LabelSet::new();
        let context =
            Context { labels: &labels, value: 1.0, external_labels: &empty, external_url: "" };
        let values = BTreeMap::from([("B".to_owned(), 6.5)]);
        let text = "{{ $values.B }} {{ $values.B.Value }} {{ $values.B.Labels.instance }} {{ if gt $values.B.Value 5.0 }}hot{{ end }}";
        assert_eq!(expand_with_values("t", text, &context, &values), "6.5 6.5 a hot");
        assert!(check_with_values("t", text).is_ok());
        assert!(check("t", "{{ $values.B }}").is_err(), "Prometheus rules have no $values");
    }

    fn render(text: &str, value: f64) -> String {
        let labels = model::LabelSet::from_pairs([("instance", "host:9100"), ("job", "node")]);
        let external = model::LabelSet::from_pairs([("dc", "eu")]);
        let context = Context {
            labels: &labels,
            value,
            external_labels: &external,
            external_url: "http://k:9093/prefix",
        };
        expand("__alert_T", text, &context)
    }

    #[test]
    fn variables_are_those_prometheus_defines() {
        assert_eq!(
            render("{{ $labels.instance }} {{ $value }} {{ $externalLabels.dc }}", 0.5),
            "host:9100 0.5 eu"
        );
        assert_eq!(render("[{{ $labels.missing }}]", 1.0), "[]");
        assert_eq!(
            render("{{ externalURL }} {{ pathPrefix }}", 1.0),
            "http://k:9093/prefix /prefix"
        );
        assert_eq!(render("{{ $labels.instance | stripPort }}", 1.0), "host");
    }

    #[test]
    fn humanize_functions_follow_prometheus() {
        assert_eq!(render("{{ $value | humanize }}", 1234567.0), "1.235M");
        assert_eq!(render("{{ $value | humanize }}", 0.00123), "1.23m");
        assert_eq!(render("{{ $value | humanize1024 }}", 2048.0), "2ki");
        assert_eq!(render("{{ $value | humanizePercentage }}", 0.1234), "12.34%");
        assert_eq!(render("{{ $value | humanizeDuration }}", 3725.0), "1h 2m 5s");
        assert_eq!(
            render("{{ $value | humanizeTimestamp }}", 1.5),
            "1970-01-01 00:00:01.5 +0000 UTC"
        );
        assert_eq!(render("{{ \"1234\" | humanize }}", 0.0), "1.234k");
    }

    #[test]
    fn a_failing_template_becomes_the_reason() {
        let out = render("{{ humanize \"x\" }}", 0.0);
        assert!(out.starts_with("<error expanding template: "), "{out}");
    }
}
