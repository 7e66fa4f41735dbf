//! Loading: YAML text to a validated [`Config`], in the order Alertmanager 0.25 checks things,
//! with every error naming the file, the line (when known) and the field path.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::http_config::join_dir;
use super::{
    Config, ConfigError, GlobalConfig, InhibitRule, NamedTimeInterval, Receiver, Route, locate,
};

/// The file as written, before defaults and checks.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct Document {
    global: Option<GlobalConfig>,
    route: Option<Route>,
    inhibit_rules: Vec<InhibitRule>,
    receivers: Vec<Receiver>,
    templates: Vec<String>,
    mute_time_intervals: Vec<NamedTimeInterval>,
    time_intervals: Vec<NamedTimeInterval>,
}

/// A semantic error: the field path and the message.
type Problem = (String, String);

/// Parses and validates `text`, read from `path`.
pub(crate) fn load(text: &str, path: &Path) -> Result<Config, ConfigError> {
    if let Some(merged) = with_merge_keys_applied(text) {
        // Lines in the rewritten text are not the file's, so errors carry none.
        return load(&merged, path).map_err(|error| match error {
            ConfigError::Invalid { file, field, message, .. } => {
                ConfigError::Invalid { file, line: None, field, message }
            }
            other => other,
        });
    }
    let document = parse(text, path)?;
    let dir = path.parent().unwrap_or(Path::new(""));
    build(document, dir).map_err(|(field, message)| ConfigError::Invalid {
        file: path.to_owned(),
        line: if field.is_empty() { None } else { locate::line_of(text, &field) },
        field,
        message,
    })
}

/// Go's YAML decoder honours `<<` merge keys; ours does not. A file using them is merged in a
/// value tree and written back out; `None` when the file has none (or is not YAML at all).
fn with_merge_keys_applied(text: &str) -> Option<String> {
    if !text.contains("<<") {
        return None;
    }
    let mut value: yaml_serde::Value = yaml_serde::from_str(text).ok()?;
    let before = value.clone();
    value.apply_merge().ok()?;
    if value == before {
        return None;
    }
    yaml_serde::to_string(&value).ok()
}

fn parse(text: &str, path: &Path) -> Result<Document, ConfigError> {
    // An empty file (or one holding only comments) is an empty document, not a syntax error.
    if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Ok(Document::default());
    }
    let deserializer = yaml_serde::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let field = error.path().to_string();
        let inner = error.into_inner();
        ConfigError::Invalid {
            file: path.to_owned(),
            line: inner.location().map(|l| l.line()),
            // The path is "." for the root and "?" where the syntax broke before any field.
            field: if field == "." || field == "?" { String::new() } else { field },
            message: bare_message(&inner),
        }
    })
}

/// The deserializer's message without the position and path it appends and prepends (ours
/// carries them separately).
pub(super) fn bare_message(error: &yaml_serde::Error) -> String {
    let text = error.to_string();
    let text = match text.rfind(" at line ") {
        Some(i) if text[i..].contains(" column ") => &text[..i],
        _ => &text,
    };
    match text.split_once(": ") {
        Some((prefix, rest)) if !prefix.is_empty() && !prefix.contains(char::is_whitespace) => {
            rest.to_owned()
        }
        _ => text.to_owned(),
    }
}

fn build(doc: Document, dir: &Path) -> Result<Config, Problem> {
    let mut global = doc.global.unwrap_or_default();
    global.validate().map_err(|(field, m)| (format!("global.{field}"), m))?;
    let mut receivers = doc.receivers;
    for (i, receiver) in receivers.iter_mut().enumerate() {
        receiver.validate().map_err(|(f, m)| (format!("receivers[{i}].{f}"), m))?;
    }
    set_directories(&mut global, &mut receivers, dir);
    check_receivers(&mut receivers, &mut global)?;
    let mut route =
        doc.route.ok_or_else(|| ("route".to_owned(), "no route provided in config".to_owned()))?;
    check_root(&route)?;
    check_tree(&mut route, "route")?;
    let names: HashSet<&str> = receivers.iter().map(|r| r.name.as_str()).collect();
    check_receivers_exist(&route, "route", &names)?;
    let time_intervals = collect_time_intervals(&doc.mute_time_intervals, &doc.time_intervals)?;
    check_time_intervals_exist(&route, "route", &time_intervals)?;
    let mut inhibit_rules = doc.inhibit_rules;
    for (i, rule) in inhibit_rules.iter_mut().enumerate() {
        rule.validate().map_err(|(f, m)| (format!("inhibit_rules[{i}].{f}"), m))?;
    }
    let template_patterns: Vec<String> = doc
        .templates
        .iter()
        .map(|t| {
            let mut joined = t.clone();
            join_dir(dir, &mut joined);
            joined
        })
        .collect();
    let templates = expand_templates(&template_patterns)?;
    Ok(Config {
        global,
        route,
        inhibit_rules,
        receivers,
        time_intervals,
        templates,
        template_patterns,
        mute_time_interval_list: doc.mute_time_intervals,
        time_interval_list: doc.time_intervals,
    })
}

fn check_receivers(receivers: &mut [Receiver], global: &mut GlobalConfig) -> Result<(), Problem> {
    let mut seen = HashSet::new();
    for (i, receiver) in receivers.iter_mut().enumerate() {
        if !seen.insert(receiver.name.clone()) {
            return Err((
                format!("receivers[{i}].name"),
                format!("notification config name {:?} is not unique", receiver.name),
            ));
        }
        receiver.inherit(global).map_err(|(f, m)| (format!("receivers[{i}].{f}"), m))?;
    }
    Ok(())
}

fn check_root(route: &Route) -> Result<(), Problem> {
    let fail = |field: &str, message: &str| Err((format!("route.{field}"), message.to_owned()));
    if route.receiver.as_deref().is_none_or(str::is_empty) {
        return Err(("route".into(), "root route must specify a default receiver".into()));
    }
    if !route.match_equal.is_empty() {
        return fail("match", "root route must not have any matchers");
    }
    if !route.match_re.is_empty() {
        return fail("match_re", "root route must not have any matchers");
    }
    if !route.matcher_list.is_empty() {
        return fail("matchers", "root route must not have any matchers");
    }
    if !route.mute_time_intervals.is_empty() {
        return fail("mute_time_intervals", "root route must not have any mute time intervals");
    }
    if !route.active_time_intervals.is_empty() {
        return fail("active_time_intervals", "root route must not have any active time intervals");
    }
    if route.continue_matching {
        return fail("continue", "cannot have continue in root route");
    }
    Ok(())
}

fn check_tree(route: &mut Route, path: &str) -> Result<(), Problem> {
    route.validate_node().map_err(|(f, m)| (format!("{path}.{f}"), m))?;
    for (i, child) in route.routes.iter_mut().enumerate() {
        check_tree(child, &format!("{path}.routes[{i}]"))?;
    }
    Ok(())
}

fn check_receivers_exist(route: &Route, path: &str, names: &HashSet<&str>) -> Result<(), Problem> {
    for (i, child) in route.routes.iter().enumerate() {
        check_receivers_exist(child, &format!("{path}.routes[{i}]"), names)?;
    }
    match route.receiver.as_deref() {
        Some(name) if !name.is_empty() && !names.contains(name) => {
            Err((format!("{path}.receiver"), format!("undefined receiver {name:?} used in route")))
        }
        _ => Ok(()),
    }
}

fn collect_time_intervals(
    mute: &[NamedTimeInterval],
    current: &[NamedTimeInterval],
) -> Result<BTreeMap<String, Vec<super::TimeInterval>>, Problem> {
    let mut all = BTreeMap::new();
    let sections = [
        ("mute_time_intervals", "mute time interval", mute),
        ("time_intervals", "time interval", current),
    ];
    for (section, what, list) in sections {
        for (i, named) in list.iter().enumerate() {
            if named.name.is_empty() {
                return Err((format!("{section}[{i}]"), format!("missing name in {what}")));
            }
            if all.insert(named.name.clone(), named.time_intervals.clone()).is_some() {
                return Err((
                    format!("{section}[{i}].name"),
                    format!("{what} {:?} is not unique", named.name),
                ));
            }
        }
    }
    Ok(all)
}

fn check_time_intervals_exist(
    route: &Route,
    path: &str,
    known: &BTreeMap<String, Vec<super::TimeInterval>>,
) -> Result<(), Problem> {
    for (i, child) in route.routes.iter().enumerate() {
        check_time_intervals_exist(child, &format!("{path}.routes[{i}]"), known)?;
    }
    for (field, names) in [
        ("active_time_intervals", &route.active_time_intervals),
        ("mute_time_intervals", &route.mute_time_intervals),
    ] {
        if let Some(i) = names.iter().position(|n| !known.contains_key(n)) {
            return Err((
                format!("{path}.{field}[{i}]"),
                format!("undefined time interval {:?} used in route", names[i]),
            ));
        }
    }
    Ok(())
}

/// Resolves relative file paths in HTTP settings against the configuration's directory, as
/// Alertmanager does after loading (email's TLS files are left alone, as there).
fn set_directories(global: &mut GlobalConfig, receivers: &mut [Receiver], dir: &Path) {
    let mut inheriting = 0;
    for receiver in receivers.iter_mut() {
        for http in receiver.http_configs_mut() {
            match http {
                Some(own) => own.set_directory(dir),
                None => inheriting += 1,
            }
        }
    }
    // Alertmanager shares one global object with every integration that inherits it and
    // resolves paths once through each of them, so a relative directory is prepended again
    // per inheritor (harmless for `.` and absolute paths, visible otherwise).
    if let Some(http) = &mut global.http_config {
        for _ in 0..=inheriting {
            http.set_directory(dir);
        }
    }
}

fn expand_templates(patterns: &[String]) -> Result<Vec<PathBuf>, Problem> {
    let mut files = Vec::new();
    for (i, pattern) in patterns.iter().enumerate() {
        let paths = glob::glob(pattern)
            .map_err(|e| (format!("templates[{i}]"), format!("invalid glob pattern: {e}")))?;
        files.extend(paths.filter_map(Result::ok));
    }
    Ok(files)
}
