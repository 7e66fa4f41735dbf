//! Decoding template [`Data`] from JSON the way Go's `encoding/json` fills
//! `template.Data`: field names match case-insensitively, unknown fields and `null`s are
//! ignored, times are RFC 3339.

use serde_json::{Map, Value as Json};

use super::data::{Alert, Alerts, Data, Kv};
use super::time::GoTime;

/// Decodes `text` into [`Data`]; the error says what Go would complain about.
pub fn data_from_json(text: &str) -> Result<Data, String> {
    let json: Json = serde_json::from_str(text).map_err(|e| {
        if e.is_eof() {
            "unexpected end of JSON input".to_owned()
        } else {
            format!("invalid character: {e}")
        }
    })?;
    let Some(obj) = object(&json, "Data")? else {
        return Ok(Data::default());
    };
    let alerts = match field(obj, "alerts") {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Array(items)) => items.iter().map(alert).collect::<Result<_, _>>()?,
        Some(other) => return Err(mismatch(other, "Data.alerts", "template.Alerts")),
    };
    Ok(Data {
        receiver: string(obj, "Data", "receiver")?,
        status: string(obj, "Data", "status")?,
        alerts: Alerts::new(alerts),
        group_labels: kv(obj, "Data", "groupLabels")?,
        common_labels: kv(obj, "Data", "commonLabels")?,
        common_annotations: kv(obj, "Data", "commonAnnotations")?,
        external_url: string(obj, "Data", "externalURL")?,
    })
}

fn alert(json: &Json) -> Result<Alert, String> {
    let Some(obj) = object(json, "Alert")? else {
        return Ok(empty_alert());
    };
    Ok(Alert {
        status: string(obj, "Alert", "status")?,
        labels: kv(obj, "Alert", "labels")?,
        annotations: kv(obj, "Alert", "annotations")?,
        starts_at: time(obj, "startsAt")?,
        ends_at: time(obj, "endsAt")?,
        generator_url: string(obj, "Alert", "generatorURL")?,
        fingerprint: string(obj, "Alert", "fingerprint")?,
    })
}

fn empty_alert() -> Alert {
    Alert {
        status: String::new(),
        labels: Kv::default(),
        annotations: Kv::default(),
        starts_at: GoTime::zero(),
        ends_at: GoTime::zero(),
        generator_url: String::new(),
        fingerprint: String::new(),
    }
}

fn object<'a>(json: &'a Json, ty: &str) -> Result<Option<&'a Map<String, Json>>, String> {
    match json {
        Json::Object(obj) => Ok(Some(obj)),
        Json::Null => Ok(None),
        other => Err(format!(
            "json: cannot unmarshal {} into Go value of type template.{ty}",
            kind(other)
        )),
    }
}

/// Go prefers an exact key and falls back to a case-insensitive one.
fn field<'a>(obj: &'a Map<String, Json>, name: &str) -> Option<&'a Json> {
    obj.get(name).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

fn string(obj: &Map<String, Json>, ty: &str, name: &str) -> Result<String, String> {
    match field(obj, name) {
        None | Some(Json::Null) => Ok(String::new()),
        Some(Json::String(s)) => Ok(s.clone()),
        Some(other) => Err(mismatch(other, &format!("{ty}.{name}"), "string")),
    }
}

fn kv(obj: &Map<String, Json>, ty: &str, name: &str) -> Result<Kv, String> {
    let path = format!("{ty}.{name}");
    match field(obj, name) {
        None | Some(Json::Null) => Ok(Kv::default()),
        Some(Json::Object(map)) => {
            let mut pairs = Vec::with_capacity(map.len());
            for (k, v) in map {
                match v {
                    Json::String(s) => pairs.push((k.clone(), s.clone())),
                    Json::Null => pairs.push((k.clone(), String::new())),
                    other => return Err(mismatch(other, &format!("{path}.{k}"), "string")),
                }
            }
            Ok(Kv::new(pairs))
        }
        Some(other) => Err(mismatch(other, &path, "template.KV")),
    }
}

fn time(obj: &Map<String, Json>, name: &str) -> Result<GoTime, String> {
    match field(obj, name) {
        None | Some(Json::Null) => Ok(GoTime::zero()),
        Some(Json::String(s)) => GoTime::parse_rfc3339(s),
        Some(other) => Err(format!(
            "parsing time {} as \"\\\"2006-01-02T15:04:05Z07:00\\\"\": cannot parse {} as \"\\\"\"",
            gotemplate::quote(&other.to_string()),
            gotemplate::quote(&other.to_string())
        )),
    }
}

fn mismatch(json: &Json, path: &str, ty: &str) -> String {
    format!("json: cannot unmarshal {} into Go struct field {path} of type {ty}", kind(json))
}

fn kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}
