//! Template functions that Alertmanager added after 0.25 (`trimSpace`, `safeUrl`,
//! `urlUnescape`, `date`, `tz`, `now`, `since`, `humanizeDuration`, `toJson`, `list`,
//! `append`, `dict`, `base64encode`, `base64decode`), kept apart from the 0.25 map so that
//! rendering stays faithful to 0.25 unless a caller opts in with
//! [`Templates::with_funcs`](super::Templates::with_funcs).
//!
//! Known gaps: `tz` knows only `UTC`, `Local` and the empty name (there is no zone
//! database), and `toDate`/`mustToDate`/`routeLabels` are not provided.

use std::sync::Arc;

use gotemplate::{Func, TemplateObject, Value};

use super::time::GoTime;

/// The current time, injected so that `now` and `since` can be tested.
pub type Clock = Arc<dyn Fn() -> GoTime + Send + Sync>;

/// The functions of Alertmanager 0.26 and later, reading the time from `clock`.
pub fn newer_funcs(clock: Clock) -> Vec<(&'static str, Func)> {
    fn f(g: impl Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static) -> Func {
        Arc::new(g)
    }
    let since_clock = clock.clone();
    vec![
        ("trimSpace", f(|a| one_str("trimSpace", a).map(|s| Value::from(s.trim())))),
        ("safeUrl", f(|a| one_str("safeUrl", a).map(gotemplate::safe_url))),
        (
            "urlUnescape",
            f(|a| one_str("urlUnescape", a).and_then(|s| url_unescape(&s).map(Value::from))),
        ),
        (
            "base64encode",
            f(|a| one_str("base64encode", a).map(|s| Value::from(base64_encode(s.as_bytes())))),
        ),
        (
            "base64decode",
            f(|a| one_str("base64decode", a).and_then(|s| base64_decode(&s).map(Value::from))),
        ),
        ("date", f(date)),
        ("tz", f(tz)),
        ("now", f(move |a| arity("now", a, 0).map(|()| Value::object(clock())))),
        ("since", f(move |a| since(&since_clock, a))),
        ("humanizeDuration", f(humanize_duration)),
        ("toJson", f(|a| arity("toJson", a, 1).map(|()| Value::from(to_json(&a[0]))))),
        ("list", f(|a| Ok(Value::list(a.iter().cloned())))),
        ("append", f(append)),
        ("dict", f(dict)),
    ]
}

fn arity(name: &str, args: &[Value], want: usize) -> Result<(), String> {
    if args.len() == want {
        Ok(())
    } else {
        Err(format!("wrong number of args for {name}: want {want} got {}", args.len()))
    }
}

fn one_str(name: &str, args: &[Value]) -> Result<String, String> {
    arity(name, args, 1)?;
    str_arg(&args[0])
}

fn str_arg(v: &Value) -> Result<String, String> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("wrong type for value; expected string; got {}", v.type_name()))
}

/// A `time.Time` argument, as its Unix seconds and nanoseconds.
fn time_arg(v: &Value) -> Result<(i64, u32), String> {
    let wrong = || format!("wrong type for value; expected time.Time; got {}", v.type_name());
    let Value::Object(o) = v else { return Err(wrong()) };
    if o.type_name() != "time.Time" {
        return Err(wrong());
    }
    let int = |m: &str| match o.method(m, &[]) {
        Some(Ok(Value::Int(i))) => Ok(i),
        _ => Err(wrong()),
    };
    Ok((int("Unix")?, u32::try_from(int("Nanosecond")?).unwrap_or(0)))
}

/// `date LAYOUT TIME`: the time formatted with a Go layout.
fn date(args: &[Value]) -> Result<Value, String> {
    arity("date", args, 2)?;
    let layout = str_arg(&args[0])?;
    time_arg(&args[1])?;
    match &args[1] {
        Value::Object(o) => o.method("Format", &[Value::from(layout)]).unwrap_or(Ok(Value::Nil)),
        _ => Ok(Value::Nil),
    }
}

/// `tz NAME TIME`: the time in another zone.
fn tz(args: &[Value]) -> Result<Value, String> {
    arity("tz", args, 2)?;
    let name = str_arg(&args[0])?;
    let (secs, nanos) = time_arg(&args[1])?;
    let t = GoTime::utc(secs, nanos);
    match name.as_str() {
        "" | "UTC" => Ok(Value::object(t)),
        "Local" => Ok(Value::object(t.local())),
        _ => Err(format!("unknown time zone {name}")),
    }
}

/// `since TIME`: the time elapsed, as a `time.Duration`.
fn since(clock: &Clock, args: &[Value]) -> Result<Value, String> {
    arity("since", args, 1)?;
    let (secs, nanos) = time_arg(&args[0])?;
    let now = clock();
    let d =
        i128::from(now.unix() - secs) * 1_000_000_000 + i128::from(now.nanos()) - i128::from(nanos);
    let d = i64::try_from(d).unwrap_or(if d < 0 { i64::MIN } else { i64::MAX });
    Ok(Value::object(GoDuration(d)))
}

/// Go's `time.Duration` (nanoseconds), printed as Go prints it (`1h2m3.5s`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GoDuration(pub i64);

impl GoDuration {
    /// Go's `Duration.String`.
    pub fn go_string(self) -> String {
        let neg = self.0 < 0;
        let u = self.0.unsigned_abs();
        let mut s = if u == 0 {
            "0s".to_owned()
        } else if u < 1_000 {
            format!("{u}ns")
        } else if u < 1_000_000 {
            format!("{}µs", frac(u, 3))
        } else if u < 1_000_000_000 {
            format!("{}ms", frac(u, 6))
        } else {
            let secs = u / 1_000_000_000;
            let seconds = frac(secs % 60 * 1_000_000_000 + u % 1_000_000_000, 9);
            let (minutes, hours) = (secs / 60 % 60, secs / 3600);
            match (hours, secs / 60) {
                (0, 0) => format!("{seconds}s"),
                (0, _) => format!("{minutes}m{seconds}s"),
                _ => format!("{hours}h{minutes}m{seconds}s"),
            }
        };
        if neg {
            s.insert(0, '-');
        }
        s
    }
}

/// `v / 10^prec` with the fraction's trailing zeros (and a bare point) dropped.
fn frac(v: u64, prec: u32) -> String {
    let scale = 10u64.pow(prec);
    let digits = format!("{:0width$}", v % scale, width = prec as usize);
    let digits = digits.trim_end_matches('0');
    if digits.is_empty() { format!("{}", v / scale) } else { format!("{}.{digits}", v / scale) }
}

impl TemplateObject for GoDuration {
    fn type_name(&self) -> String {
        "time.Duration".into()
    }

    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        #[allow(clippy::cast_precision_loss)] // Go's Seconds() is a float64 division too
        let secs = self.0 as f64 / 1e9;
        let v = match name {
            "String" => Value::from(self.go_string()),
            "Seconds" => Value::Float(secs),
            "Minutes" => Value::Float(secs / 60.0),
            "Hours" => Value::Float(secs / 3600.0),
            "Nanoseconds" => Value::Int(self.0),
            _ => return None,
        };
        Some(arity(name, args, 0).map(|()| v))
    }

    fn display(&self) -> String {
        self.go_string()
    }
}

/// Prometheus' `humanizeDuration`: seconds as `1d 2h 3m 4s`, or with SI prefixes below one
/// second.
fn humanize_duration(args: &[Value]) -> Result<Value, String> {
    arity("humanizeDuration", args, 1)?;
    let v = match &args[0] {
        Value::Int(i) => *i as f64,
        Value::Float(x) => *x,
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|e| format!("strconv.ParseFloat: parsing {}: {e}", gotemplate::quote(s)))?,
        Value::Object(o) if o.type_name() == "time.Duration" => match o.method("Seconds", &[]) {
            Some(Ok(Value::Float(x))) => x,
            _ => 0.0,
        },
        other => return Err(format!("can't convert {} to float", other.type_name())),
    };
    Ok(Value::from(humanize_seconds(v)))
}

fn humanize_seconds(mut v: f64) -> String {
    if v.is_nan() || v.is_infinite() || v == 0.0 {
        return format!("{}{}", go_g4(v), if v == 0.0 { "s" } else { "" });
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        v = v.abs();
        #[allow(clippy::cast_possible_truncation)] // Go's int64(v)
        let d = v as i64;
        let (s, m, h, days) = (d % 60, d / 60 % 60, d / 3600 % 24, d / 86_400);
        return match (days, h, m) {
            (0, 0, 0) => format!("{sign}{}s", go_g4(v)),
            (0, 0, _) => format!("{sign}{m}m {s}s"),
            (0, ..) => format!("{sign}{h}h {m}m {s}s"),
            _ => format!("{sign}{days}d {h}h {m}m {s}s"),
        };
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", go_g4(v))
}

/// Go's `%.4g` (Prometheus' humanize functions format with it).
pub fn go_g4(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let sci = format!("{v:.3e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s.to_owned()
        }
    };
    if !(-4..4).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{}e{sign}{:02}", trim(mantissa), exp.abs());
    }
    let decimals = usize::try_from(3 - exp).unwrap_or(0);
    trim(&format!("{v:.decimals$}"))
}

/// `append LIST ITEM...`.
fn append(args: &[Value]) -> Result<Value, String> {
    let Some((first, rest)) = args.split_first() else {
        return Err("wrong number of args for append: want at least 1 got 0".into());
    };
    let mut items = match first {
        Value::List(l) => l.as_ref().clone(),
        Value::Nil => Vec::new(),
        other => {
            return Err(format!(
                "wrong type for value; expected []interface {{}}; got {}",
                other.type_name()
            ));
        }
    };
    items.extend(rest.iter().cloned());
    Ok(Value::list(items))
}

/// `dict KEY VALUE ...`: a map from pairs of arguments.
fn dict(args: &[Value]) -> Result<Value, String> {
    if !args.len().is_multiple_of(2) {
        return Err("dict requires an even number of arguments".into());
    }
    let mut entries = Vec::with_capacity(args.len() / 2);
    for pair in args.chunks(2) {
        let key = pair[0].as_str().ok_or("dict keys must be strings")?;
        entries.push((key.to_owned(), pair[1].clone()));
    }
    Ok(Value::map(entries))
}

/// Go's `url.QueryUnescape`.
fn url_unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3).filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()));
                let Some(hex) = hex else {
                    let bad: String = s[i..].chars().take(3).collect();
                    return Err(format!("invalid URL escape {}", gotemplate::quote(&bad)));
                };
                out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

const BASE64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Go's `base64.URLEncoding` (URL alphabet, padded).
fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(BASE64_URL[(n >> (18 - 6 * k) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes padded URL-alphabet base64, failing like Go at the first bad byte.
fn base64_decode(s: &str) -> Result<String, String> {
    let illegal = |at: usize| format!("illegal base64 data at input byte {at}");
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return Err(illegal(b.len() / 4 * 4));
    }
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for (q, quad) in b.chunks(4).enumerate() {
        let last = q * 4 + 4 == b.len();
        let mut n = 0u32;
        let mut len = 0;
        for (k, &c) in quad.iter().enumerate() {
            if c == b'=' {
                if k < 2 || !last || !quad[k..].iter().all(|&p| p == b'=') {
                    return Err(illegal(q * 4 + k));
                }
                break;
            }
            let v = BASE64_URL.iter().position(|&x| x == c).ok_or_else(|| illegal(q * 4 + k))?;
            n |= u32::try_from(v).unwrap_or(0) << (18 - 6 * k);
            len = k + 1;
        }
        out.extend_from_slice(&n.to_be_bytes()[1..len]);
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// `encoding/json.Marshal` of a template value: maps sorted by key, host types by their
/// JSON field names in declaration order, times in RFC 3339, HTML characters escaped.
fn to_json(v: &Value) -> String {
    let mut out = String::new();
    write_json(&mut out, v);
    out
}

fn write_json(out: &mut String, v: &Value) {
    match v {
        Value::Nil | Value::Func(_) => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(x) => out.push_str(&json_float(*x)),
        Value::String(s) => json_string(out, s),
        Value::List(l) => write_seq(out, l.iter()),
        Value::Map(m) => write_object(out, m.iter().map(|(k, v)| (k.as_str(), v.clone()))),
        Value::Object(o) => write_host(out, o.as_ref()),
    }
}

fn write_seq<'a>(out: &mut String, items: impl Iterator<Item = &'a Value>) {
    out.push('[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json(out, item);
    }
    out.push(']');
}

fn write_object<'a>(out: &mut String, entries: impl Iterator<Item = (&'a str, Value)>) {
    out.push('{');
    for (i, (k, v)) in entries.enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(out, k);
        out.push(':');
        write_json(out, &v);
    }
    out.push('}');
}

/// Go's float encoding: shortest digits, exponent form outside [1e-6, 1e21).
fn json_float(x: f64) -> String {
    if !x.is_finite() {
        return "null".into();
    }
    let abs = x.abs();
    if abs == 0.0 || (1e-6..1e21).contains(&abs) {
        return format!("{x}");
    }
    let s = format!("{x:e}");
    match s.split_once('e') {
        Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
        _ => s,
    }
}

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)))
            }
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Host types as `encoding/json` sees the Go types they stand for.
fn write_host(out: &mut String, o: &dyn TemplateObject) {
    let fields: &[(&str, &str)] = match o.type_name().as_str() {
        "time.Time" => {
            let layout = Value::from("2006-01-02T15:04:05.999999999Z07:00");
            return write_json(
                out,
                &o.method("Format", &[layout]).and_then(Result::ok).unwrap_or_default(),
            );
        }
        "time.Duration" => {
            return write_json(
                out,
                &o.method("Nanoseconds", &[]).and_then(Result::ok).unwrap_or_default(),
            );
        }
        "template.Alert" => &[
            ("status", "Status"),
            ("labels", "Labels"),
            ("annotations", "Annotations"),
            ("startsAt", "StartsAt"),
            ("endsAt", "EndsAt"),
            ("generatorURL", "GeneratorURL"),
            ("fingerprint", "Fingerprint"),
        ],
        "template.Data" => &[
            ("receiver", "Receiver"),
            ("status", "Status"),
            ("alerts", "Alerts"),
            ("groupLabels", "GroupLabels"),
            ("commonLabels", "CommonLabels"),
            ("commonAnnotations", "CommonAnnotations"),
            ("externalURL", "ExternalURL"),
        ],
        "template.Pair" => &[("Name", "Name"), ("Value", "Value")],
        _ => return write_json(out, &o.basic().unwrap_or_else(|| Value::from(o.display()))),
    };
    write_object(out, fields.iter().map(|(key, field)| (*key, o.field(field).unwrap_or_default())));
}

#[cfg(test)]
mod tests;
