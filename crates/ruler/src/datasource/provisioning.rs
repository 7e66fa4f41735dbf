//! Named datasources from files in Grafana's datasource provisioning format (`apiVersion: 1`,
//! `datasources:`), loaded with `--datasources.file=GLOB`. Each entry becomes a
//! [`DatasourceConfig`]: a Prometheus HTTP API with its own credentials, headers, TLS and
//! timeouts, or the built-in test datasource. Fields Klaxon does not know are errors that name
//! the file, line and field; a few Grafana UI settings that mean nothing to an alert
//! evaluator are accepted and ignored (see [`IGNORED_JSON_DATA`]).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::rulefile::RuleFileError;

/// The `type` of a Prometheus HTTP API datasource (Prometheus, Mimir, Thanos, VictoriaMetrics).
pub const PROMETHEUS_TYPE: &str = "prometheus";
/// The `type` of the built-in test datasource.
pub const BUILTIN_TYPE: &str = "klaxon-builtin";
/// UIDs no file may define: the built-in datasource, the default one, server-side expressions.
pub const RESERVED_UIDS: [&str; 3] = ["builtin", "default", "__expr__"];

/// `jsonData` keys accepted and ignored: Grafana's query-editor and UI settings.
pub const IGNORED_JSON_DATA: [&str; 9] = [
    "manageAlerts",
    "prometheusType",
    "prometheusVersion",
    "cacheLevel",
    "incrementalQuerying",
    "incrementalQueryOverlapWindow",
    "disableMetricsLookup",
    "defaultEditor",
    "exemplarTraceIdDestinations",
];

/// How a datasource is reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The Prometheus HTTP API at `url`.
    Prometheus,
    /// The built-in test datasource.
    Builtin,
}

/// The HTTP verb of queries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpMethod {
    /// Form-encoded POST (the default, as in Grafana).
    Post,
    /// Parameters in the query string.
    Get,
}

/// How the client of one Prometheus datasource talks to it. Secrets are kept out of `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSettings {
    /// `basicAuthUser` and `secureJsonData.basicAuthPassword`, when `basicAuth` is on.
    pub basic_auth: Option<(String, String)>,
    /// `httpHeaderNameN` with `secureJsonData.httpHeaderValueN`, in N order.
    pub headers: Vec<(String, String)>,
    /// `jsonData.timeout`: bound on one HTTP request (the evaluation deadline still applies).
    pub timeout: Option<Duration>,
    /// `jsonData.timeInterval`: the scrape interval, the smallest step of range queries.
    pub min_step: Option<Duration>,
    /// `jsonData.queryTimeout`: the `timeout` parameter sent to the server.
    pub query_timeout: Option<Duration>,
    /// `jsonData.httpMethod`.
    pub method: HttpMethod,
    /// `jsonData.tlsSkipVerify`.
    pub tls_skip_verify: bool,
    /// `secureJsonData.tlsCACert` (PEM) when `jsonData.tlsAuthWithCACert` is on: it replaces
    /// the system roots.
    pub tls_ca_cert: Option<String>,
    /// `secureJsonData.tlsClientCert` and `tlsClientKey` (PEM) when `jsonData.tlsAuth` is on.
    pub tls_client: Option<(String, String)>,
}

impl Default for ClientSettings {
    fn default() -> ClientSettings {
        ClientSettings {
            basic_auth: None,
            headers: Vec::new(),
            timeout: None,
            min_step: None,
            query_timeout: None,
            method: HttpMethod::Post,
            tls_skip_verify: false,
            tls_ca_cert: None,
            tls_client: None,
        }
    }
}

impl std::fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSettings")
            .field("basic_auth_user", &self.basic_auth.as_ref().map(|(user, _)| user))
            .field("headers", &self.headers.iter().map(|(name, _)| name).collect::<Vec<_>>())
            .field("timeout", &self.timeout)
            .field("min_step", &self.min_step)
            .field("query_timeout", &self.query_timeout)
            .field("method", &self.method)
            .field("tls_skip_verify", &self.tls_skip_verify)
            .field("tls_ca_cert", &self.tls_ca_cert.is_some())
            .field("tls_client", &self.tls_client.is_some())
            .finish()
    }
}

/// One validated datasource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasourceConfig {
    /// The file it came from.
    pub file: PathBuf,
    /// Its display name.
    pub name: String,
    /// What expression rules name it by (`datasourceUid`).
    pub uid: String,
    /// How it is reached.
    pub kind: Kind,
    /// The API base URL (Prometheus only).
    pub url: String,
    /// Whether it is the default datasource (`isDefault`).
    pub is_default: bool,
    /// Client settings (Prometheus only).
    pub settings: ClientSettings,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileNode {
    #[serde(default)]
    api_version: Option<i64>,
    #[serde(default)]
    datasources: Vec<DatasourceNode>,
    /// Grafana deletes these from its database; Klaxon keeps none, so there is nothing to do.
    #[serde(default)]
    delete_datasources: Vec<serde_json::Value>,
    /// Grafana's pruning of datasources removed from the file: what Klaxon always does.
    #[serde(default)]
    prune: bool,
}

#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DatasourceNode {
    name: String,
    #[serde(default)]
    uid: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    url: String,
    /// Grafana's `proxy`/`direct`: a server-side evaluator always connects itself.
    #[serde(default)]
    access: Option<String>,
    #[serde(default = "default_org")]
    org_id: i64,
    #[serde(default)]
    is_default: bool,
    #[serde(default)]
    basic_auth: bool,
    #[serde(default)]
    basic_auth_user: String,
    #[serde(default)]
    json_data: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    secure_json_data: BTreeMap<String, String>,
    /// Grafana's optimistic-locking counter and UI lock: meaningless here.
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    editable: Option<bool>,
}

fn default_org() -> i64 {
    1
}

/// Reads a `jsonData` duration: a number of seconds or a Prometheus duration (`15s`).
fn json_duration(value: &serde_json::Value) -> Result<Duration, String> {
    match value {
        serde_json::Value::Number(n) => n
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| format!("{n} is not a number of seconds")),
        serde_json::Value::String(text) => match text.parse::<f64>() {
            Ok(s) if s.is_finite() && s >= 0.0 => Ok(Duration::from_secs_f64(s)),
            _ => model::parse_duration(text).map_err(|e| format!("{text:?}: {e}")),
        },
        other => Err(format!("{other} is neither seconds nor a duration")),
    }
}

fn json_bool(value: &serde_json::Value) -> Result<bool, String> {
    value.as_bool().ok_or_else(|| format!("{value} is not true or false"))
}

/// Environment variables by name (`std::env::var` outside tests).
type Environment<'a> = &'a dyn Fn(&str) -> Option<String>;

/// `text` with `$NAME` and `${NAME}` replaced by environment variables and `$$` by `$`; a `$`
/// followed by no name stays. An unset variable is an error (Grafana would insert nothing,
/// which turns a missing secret into an empty password).
fn expand(text: &str, environment: Environment<'_>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        let (name, after) = match rest.strip_prefix('{') {
            Some(braced) => {
                let end = braced.find('}').ok_or("\"${\" without a closing \"}\"")?;
                (&braced[..end], &braced[end + 1..])
            }
            None => {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                rest.split_at(end)
            }
        };
        if name.is_empty() {
            out.push('$');
            continue;
        }
        out.push_str(
            &environment(name).ok_or_else(|| format!("environment variable {name} is not set"))?,
        );
        rest = after;
    }
    out.push_str(rest);
    Ok(out)
}

impl DatasourceNode {
    /// Expands environment variables in the string values that may carry secrets or
    /// deployment-specific settings; errors carry the field.
    fn expand_environment(&mut self, environment: Environment<'_>) -> Vec<(String, String)> {
        let mut errors = Vec::new();
        let mut apply = |field: String, value: &mut String| match expand(value, environment) {
            Ok(expanded) => *value = expanded,
            Err(message) => errors.push((field, message)),
        };
        apply("url".to_owned(), &mut self.url);
        apply("basicAuthUser".to_owned(), &mut self.basic_auth_user);
        for (key, value) in &mut self.secure_json_data {
            apply(format!("secureJsonData.{key}"), value);
        }
        for (key, value) in &mut self.json_data {
            if let serde_json::Value::String(text) = value {
                apply(format!("jsonData.{key}"), text);
            }
        }
        errors
    }

    /// Validates the entry; errors carry the field path relative to it (`jsonData.timeout`).
    fn validate(&self, file: &Path) -> Result<DatasourceConfig, Vec<(String, String)>> {
        let mut errors: Vec<(String, String)> = Vec::new();
        let mut error = |field: &str, message: String| errors.push((field.to_owned(), message));
        if self.name.trim().is_empty() {
            error("name", "a datasource needs a name".into());
        }
        if self.uid.is_empty() {
            error("uid", "a datasource needs a uid (expression rules name it by uid)".into());
        } else if self.uid.len() > 40
            || !self.uid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            error("uid", "at most 40 letters, digits, '-' and '_'".into());
        } else if RESERVED_UIDS.contains(&self.uid.as_str()) {
            error("uid", format!("{:?} is reserved", self.uid));
        }
        if self.org_id != 1 {
            error("orgId", format!("organisation {} does not exist; use 1", self.org_id));
        }
        if let Some(access) = &self.access
            && access != "proxy"
        {
            error("access", format!("{access:?}: only proxy (server-side) access exists"));
        }
        let _ = (self.version, self.editable);
        let kind = match self.kind.as_str() {
            PROMETHEUS_TYPE => Kind::Prometheus,
            BUILTIN_TYPE => Kind::Builtin,
            other => {
                error(
                    "type",
                    format!("unknown type {other:?}: use {PROMETHEUS_TYPE} or {BUILTIN_TYPE}"),
                );
                Kind::Builtin
            }
        };
        if kind == Kind::Prometheus
            && !(self.url.starts_with("http://") || self.url.starts_with("https://"))
        {
            error("url", format!("{:?}: expected an http:// or https:// URL", self.url));
        }
        let mut settings = ClientSettings::default();
        let mut secrets_used = HashSet::new();
        let mut secret = |key: &str| {
            secrets_used.insert(key.to_owned());
            self.secure_json_data.get(key).cloned()
        };
        if self.basic_auth {
            if self.basic_auth_user.is_empty() {
                error("basicAuthUser", "basicAuth needs a user".into());
            }
            settings.basic_auth = Some((
                self.basic_auth_user.clone(),
                secret("basicAuthPassword").unwrap_or_default(),
            ));
        } else {
            let _ = secret("basicAuthPassword");
        }
        let mut tls_ca = false;
        let mut tls_client = false;
        let mut header_numbers = Vec::new();
        for (key, value) in &self.json_data {
            let field = format!("jsonData.{key}");
            let mut check = |result: Result<(), String>| {
                if let Err(message) = result {
                    error(&field, message);
                }
            };
            match key.as_str() {
                "timeout" => check(json_duration(value).map(|d| settings.timeout = Some(d))),
                "timeInterval" => check(json_duration(value).map(|d| settings.min_step = Some(d))),
                "queryTimeout" => {
                    check(json_duration(value).map(|d| settings.query_timeout = Some(d)));
                }
                "httpMethod" => check(match value.as_str() {
                    Some(m) if m.eq_ignore_ascii_case("POST") => Ok(()),
                    Some(m) if m.eq_ignore_ascii_case("GET") => {
                        settings.method = HttpMethod::Get;
                        Ok(())
                    }
                    _ => Err(format!("{value}: use GET or POST")),
                }),
                "tlsSkipVerify" => check(json_bool(value).map(|b| settings.tls_skip_verify = b)),
                "tlsAuthWithCACert" => check(json_bool(value).map(|b| tls_ca = b)),
                "tlsAuth" => check(json_bool(value).map(|b| tls_client = b)),
                key if IGNORED_JSON_DATA.contains(&key) => {}
                key => match key.strip_prefix("httpHeaderName").map(str::parse::<u32>) {
                    Some(Ok(n)) if n > 0 => match value.as_str() {
                        Some(name)
                            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok() =>
                        {
                            header_numbers.push((n, name.to_owned()));
                        }
                        _ => check(Err(format!("{value} is not a valid header name"))),
                    },
                    _ => check(Err("unknown field".into())),
                },
            }
        }
        header_numbers.sort();
        for (n, name) in header_numbers {
            let key = format!("httpHeaderValue{n}");
            let value = secret(&key).unwrap_or_default();
            if reqwest::header::HeaderValue::from_str(&value).is_err() {
                error(&format!("secureJsonData.{key}"), "not a valid header value".into());
            }
            settings.headers.push((name, value));
        }
        if tls_ca {
            match secret("tlsCACert") {
                // The client build parses it fully; this catches a value that is not PEM.
                Some(pem)
                    if pem.contains("-----BEGIN CERTIFICATE-----")
                        && reqwest::Certificate::from_pem(pem.as_bytes()).is_ok() =>
                {
                    settings.tls_ca_cert = Some(pem);
                }
                Some(_) => error("secureJsonData.tlsCACert", "not a PEM certificate".into()),
                None => error("secureJsonData.tlsCACert", "tlsAuthWithCACert needs it".into()),
            }
        } else {
            let _ = secret("tlsCACert");
        }
        let (cert, key) = (secret("tlsClientCert"), secret("tlsClientKey"));
        if tls_client {
            match (cert, key) {
                (Some(cert), Some(key)) => {
                    let pem = format!("{cert}\n{key}");
                    if reqwest::Identity::from_pem(pem.as_bytes()).is_err() {
                        error(
                            "secureJsonData.tlsClientCert",
                            "not a PEM certificate and key pair".into(),
                        );
                    }
                    settings.tls_client = Some((cert, key));
                }
                _ => error(
                    "secureJsonData.tlsClientCert",
                    "tlsAuth needs tlsClientCert and tlsClientKey".into(),
                ),
            }
        }
        for key in self.secure_json_data.keys() {
            let header_value =
                key.strip_prefix("httpHeaderValue").is_some_and(|n| n.parse::<u32>().is_ok());
            if !secrets_used.contains(key) && !header_value {
                error(&format!("secureJsonData.{key}"), "unknown field".into());
            }
        }
        if kind == Kind::Builtin
            && (!self.url.is_empty() || self.basic_auth || !settings.headers.is_empty())
        {
            error("type", format!("{BUILTIN_TYPE} takes no url, credentials or headers"));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(DatasourceConfig {
            file: file.to_owned(),
            name: self.name.clone(),
            uid: self.uid.clone(),
            kind,
            url: self.url.trim_end_matches('/').to_owned(),
            is_default: self.is_default,
            settings,
        })
    }
}

/// Validates datasource-file `text` read from `file`, with environment variables expanded in
/// string values (`$NAME`, `${NAME}`); every problem found is returned.
pub fn parse(file: &Path, text: &str) -> Result<Vec<DatasourceConfig>, Vec<RuleFileError>> {
    parse_with_environment(file, text, &|name| std::env::var(name).ok())
}

fn parse_with_environment(
    file: &Path,
    text: &str,
    environment: Environment<'_>,
) -> Result<Vec<DatasourceConfig>, Vec<RuleFileError>> {
    let error =
        |position, message: String| RuleFileError { file: file.to_owned(), position, message };
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let node: FileNode = yaml_serde::from_str(text).map_err(|e| {
        let position = e.location().map(|l| (l.line(), l.column()));
        let message = e.to_string();
        let message = match message.rfind(" at line ") {
            Some(at) => message[..at].to_owned(),
            None => message,
        };
        vec![error(position, message)]
    })?;
    let _ = (node.delete_datasources.len(), node.prune);
    let mut errors = Vec::new();
    if node.api_version != Some(1) {
        errors.push(error(
            alertmanager::config::position_of(text, "apiVersion"),
            "apiVersion: must be 1".to_owned(),
        ));
    }
    let mut found = Vec::new();
    for (d, entry) in node.datasources.iter().enumerate() {
        let mut entry = entry.clone();
        let expanded = entry.expand_environment(environment);
        match if expanded.is_empty() { entry.validate(file) } else { Err(expanded) } {
            Ok(valid) => found.push(valid),
            Err(problems) => {
                for (field, message) in problems {
                    let path = format!("datasources[{d}].{field}");
                    errors.push(error(
                        alertmanager::config::position_of(text, &path),
                        format!("{path}: {message}"),
                    ));
                }
            }
        }
    }
    if errors.is_empty() { Ok(found) } else { Err(errors) }
}

/// Loads every file the patterns match; uids and names must be unique across all of them and
/// at most one datasource may be the default. All errors of all files are reported together.
pub fn load_globs(patterns: &[String]) -> Result<Vec<DatasourceConfig>, String> {
    let mut all: Vec<DatasourceConfig> = Vec::new();
    let mut errors = Vec::new();
    for pattern in patterns {
        let matched = crate::rulefile::expand_globs(std::slice::from_ref(pattern))
            .map_err(|e| e.replace("--rules.file", "--datasources.file"))?;
        if matched.is_empty() && !pattern.contains(['*', '?', '[']) {
            errors.push(format!("{pattern}: no such file"));
        }
        for file in matched {
            if all.iter().any(|d| d.file == file) {
                continue;
            }
            let loaded = std::fs::read_to_string(&file)
                .map_err(|e| {
                    vec![RuleFileError {
                        file: file.clone(),
                        position: None,
                        message: e.to_string(),
                    }]
                })
                .and_then(|text| parse(&file, &text));
            match loaded {
                Ok(loaded) => all.extend(loaded),
                Err(found) => errors.extend(found.iter().map(ToString::to_string)),
            }
        }
    }
    for (i, datasource) in all.iter().enumerate() {
        let earlier = &all[..i];
        if let Some(other) = earlier.iter().find(|d| d.uid == datasource.uid) {
            errors.push(format!(
                "{}: datasource uid {:?} is already defined in {}",
                datasource.file.display(),
                datasource.uid,
                other.file.display()
            ));
        }
        if let Some(other) = earlier.iter().find(|d| d.name == datasource.name) {
            errors.push(format!(
                "{}: datasource name {:?} is already defined in {}",
                datasource.file.display(),
                datasource.name,
                other.file.display()
            ));
        }
        if datasource.is_default
            && let Some(other) = earlier.iter().find(|d| d.is_default)
        {
            errors.push(format!(
                "{}: datasource {:?} is marked isDefault, and so is {:?} in {}; only one may be",
                datasource.file.display(),
                datasource.name,
                other.name,
                other.file.display()
            ));
        }
    }
    if errors.is_empty() { Ok(all) } else { Err(errors.join("\n")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"apiVersion: 1
datasources:
  - name: Mimir
    uid: mimir
    type: prometheus
    access: proxy
    url: https://mimir.example/prometheus/
    isDefault: true
    basicAuth: true
    basicAuthUser: tenant-1
    jsonData:
      timeInterval: 30s
      timeout: 15
      queryTimeout: 1m
      httpMethod: GET
      tlsSkipVerify: true
      httpHeaderName1: X-Scope-OrgID
      httpHeaderName2: X-Other
      manageAlerts: false
    secureJsonData:
      basicAuthPassword: hunter2
      httpHeaderValue1: tenant-1
      httpHeaderValue2: other
  - name: Synthetic
    uid: synthetic
    type: klaxon-builtin
deleteDatasources:
  - name: Old
    orgId: 1
"#;

    #[test]
    fn a_grafana_datasource_file_loads() {
        let found = parse(Path::new("ds.yaml"), GOOD).unwrap();
        assert_eq!(found.len(), 2);
        let mimir = &found[0];
        assert_eq!(
            (mimir.uid.as_str(), &mimir.kind, mimir.is_default),
            ("mimir", &Kind::Prometheus, true)
        );
        assert_eq!(mimir.url, "https://mimir.example/prometheus");
        let settings = &mimir.settings;
        assert_eq!(settings.basic_auth, Some(("tenant-1".into(), "hunter2".into())));
        assert_eq!(
            settings.headers,
            vec![("X-Scope-OrgID".into(), "tenant-1".into()), ("X-Other".into(), "other".into())]
        );
        assert_eq!(settings.timeout, Some(Duration::from_secs(15)));
        assert_eq!(settings.min_step, Some(Duration::from_secs(30)));
        assert_eq!(settings.query_timeout, Some(Duration::from_secs(60)));
        assert_eq!(settings.method, HttpMethod::Get);
        assert!(settings.tls_skip_verify);
        assert_eq!(found[1].kind, Kind::Builtin);
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let found = parse(Path::new("ds.yaml"), GOOD).unwrap();
        let shown = format!("{found:?}");
        assert!(shown.contains("tenant-1") && shown.contains("X-Scope-OrgID"), "{shown}");
        assert!(!shown.contains("hunter2") && !shown.contains("other\""), "{shown}");
    }

    fn errors(text: &str) -> Vec<String> {
        parse(Path::new("ds.yaml"), text).unwrap_err().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn unknown_fields_name_file_line_and_field() {
        let found = errors(&GOOD.replace("    access: proxy\n", "    acess: proxy\n"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("ds.yaml: 6:"), "{found:?}");
        assert!(found[0].contains("unknown field `acess`"), "{found:?}");
        let found =
            errors(&GOOD.replace("      timeout: 15\n", "      timeout: 15\n      colour: red\n"));
        assert_eq!(found, vec!["ds.yaml: 14:15: datasources[0].jsonData.colour: unknown field"]);
        let found = errors(&GOOD.replace(
            "      httpHeaderValue2: other\n",
            "      httpHeaderValue2: other\n      passwd: x\n",
        ));
        assert_eq!(
            found,
            vec!["ds.yaml: 24:15: datasources[0].secureJsonData.passwd: unknown field"]
        );
    }

    #[test]
    fn bad_values_are_reported_together() {
        let bad = GOOD
            .replace("timeout: 15", "timeout: soon")
            .replace("type: klaxon-builtin", "type: loki")
            .replace("uid: synthetic", "uid: default")
            .replace("httpMethod: GET", "httpMethod: PUT")
            .replace("url: https://mimir.example/prometheus/", "url: mimir:9009");
        let found = errors(&bad);
        let expected = [
            "ds.yaml: 7:10: datasources[0].url: \"mimir:9009\": expected an http:// or https:// URL",
            "ds.yaml: 15:19: datasources[0].jsonData.httpMethod: \"PUT\": use GET or POST",
            "ds.yaml: 13:16: datasources[0].jsonData.timeout: \"soon\":",
            "ds.yaml: 25:10: datasources[1].uid: \"default\" is reserved",
            "ds.yaml: 26:11: datasources[1].type: unknown type \"loki\"",
        ];
        assert_eq!(found.len(), expected.len(), "{found:?}");
        for prefix in expected {
            assert!(found.iter().any(|e| e.starts_with(prefix)), "{prefix} not in {found:?}");
        }
        let tls = GOOD.replace(
            "      tlsSkipVerify: true\n",
            "      tlsAuthWithCACert: true\n      tlsAuth: true\n",
        );
        let found = errors(&tls.replace(
            "      basicAuthPassword: hunter2\n",
            "      basicAuthPassword: hunter2\n      tlsCACert: not a certificate\n",
        ));
        assert!(
            found[0].contains("datasources[0].secureJsonData.tlsCACert: not a PEM certificate"),
            "{found:?}"
        );
        assert!(found[1].contains("datasources[0].secureJsonData.tlsClientCert: tlsAuth needs tlsClientCert and tlsClientKey"), "{found:?}");
        assert!(errors("datasources: []\n")[0].ends_with("apiVersion: must be 1"));
        let missing = errors(
            "apiVersion: 1\ndatasources:\n  - name: A\n    type: prometheus\n    url: http://a\n",
        );
        assert!(missing[0].contains("datasources[0].uid: a datasource needs a uid"), "{missing:?}");
    }

    #[test]
    fn environment_variables_are_expanded_in_string_values() {
        let environment = |name: &str| match name {
            "MIMIR_PASSWORD" => Some("from-env".to_owned()),
            "TENANT" => Some("t9".to_owned()),
            _ => None,
        };
        let text = GOOD
            .replace("basicAuthPassword: hunter2", "basicAuthPassword: $MIMIR_PASSWORD")
            .replace("httpHeaderValue1: tenant-1", "httpHeaderValue1: 'a$$b-${TENANT}-$'");
        let found = parse_with_environment(Path::new("ds.yaml"), &text, &environment).unwrap();
        let settings = &found[0].settings;
        assert_eq!(settings.basic_auth, Some(("tenant-1".into(), "from-env".into())));
        assert_eq!(settings.headers[0].1, "a$b-t9-$");
        let text = GOOD.replace("basicAuthPassword: hunter2", "basicAuthPassword: ${NOPE}");
        let errors: Vec<String> = parse_with_environment(Path::new("ds.yaml"), &text, &environment)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errors,
            vec![
                "ds.yaml: 21:26: datasources[0].secureJsonData.basicAuthPassword: environment variable NOPE is not set"
            ]
        );
    }

    #[test]
    fn uids_and_defaults_are_unique_across_files() {
        let dir = std::env::temp_dir().join(format!("klaxon-ds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.yaml"), GOOD).unwrap();
        std::fs::write(dir.join("b.yaml"), GOOD.replace("name: Synthetic", "name: Other")).unwrap();
        let error = load_globs(&[format!("{}/*.yaml", dir.display())]).unwrap_err();
        assert!(error.contains("datasource uid \"mimir\" is already defined in"), "{error}");
        assert!(error.contains("datasource uid \"synthetic\" is already defined in"), "{error}");
        assert!(error.contains("is marked isDefault, and so is \"Mimir\""), "{error}");
        let missing = load_globs(&[dir.join("none.yaml").display().to_string()]).unwrap_err();
        assert!(missing.ends_with("none.yaml: no such file"), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
