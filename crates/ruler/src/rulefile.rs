//! Prometheus rule files: their YAML layout, loading and validation with errors that name the
//! file, the line and column, the group and the rule, as `promtool check rules` reports them.
//!
//! Recording rules are parsed and validated here but not evaluated (nothing in Klaxon stores
//! samples to write them to).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use model::LabelSet;
use serde::Deserialize;

use crate::template;

/// The YAML document: `groups:` and nothing else.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileNode {
    #[serde(default)]
    groups: Vec<GroupNode>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupNode {
    #[serde(default)]
    name: String,
    #[serde(default)]
    interval: Option<String>,
    #[serde(default)]
    query_offset: Option<String>,
    #[serde(default)]
    limit: u64,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    /// Klaxon's extension: the uid of the datasource the group queries (default: the
    /// default datasource). Prometheus itself refuses the field.
    #[serde(default)]
    datasource_uid: Option<String>,
    #[serde(default)]
    rules: Vec<RuleNode>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleNode {
    #[serde(default)]
    record: Option<String>,
    #[serde(default)]
    alert: Option<String>,
    #[serde(default)]
    expr: String,
    #[serde(default, rename = "for")]
    for_: Option<String>,
    #[serde(default)]
    keep_firing_for: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// A validated rule group.
#[derive(Debug, Clone)]
pub struct RuleGroup {
    /// The file it came from (part of its identity, as in Prometheus).
    pub file: PathBuf,
    /// The group name, unique within its file.
    pub name: String,
    /// The evaluation interval; `None` means the server's default.
    pub interval: Option<Duration>,
    /// How far in the past to evaluate (Prometheus' `query_offset`).
    pub query_offset: Duration,
    /// Most alerts (or series) a rule of the group may produce; 0 means no limit.
    pub limit: u64,
    /// Labels added to every rule's output, overridden by the rule's own labels.
    pub labels: LabelSet,
    /// The rules in file order.
    pub rules: Vec<Rule>,
    /// The Grafana folder of an expression-rule group (`None` for rule files).
    pub folder: Option<String>,
    /// The datasource a rule-file group queries (`datasource_uid`, Klaxon's extension);
    /// `None`: the default datasource.
    pub datasource_uid: Option<String>,
}

/// One rule.
#[derive(Debug, Clone)]
pub enum Rule {
    /// An alerting rule.
    Alerting(AlertingRuleSpec),
    /// A recording rule (validated, not evaluated).
    Recording(RecordingRuleSpec),
    /// An expression rule in Grafana's model.
    Expression(Box<crate::expr::model::ValidRule>),
}

impl Rule {
    /// The alert or record name.
    pub fn name(&self) -> &str {
        match self {
            Rule::Alerting(rule) => &rule.name,
            Rule::Recording(rule) => &rule.record,
            Rule::Expression(rule) => &rule.spec.title,
        }
    }
}

/// An alerting rule as written.
#[derive(Debug, Clone)]
pub struct AlertingRuleSpec {
    /// `alert`: the `alertname` label of its alerts.
    pub name: String,
    /// The PromQL expression.
    pub expr: String,
    /// `for`: how long a condition must hold before the alert fires.
    pub for_: Duration,
    /// `keep_firing_for`: how long a fired alert stays firing once the condition clears.
    pub keep_firing_for: Duration,
    /// Label templates (group labels merged under the rule's).
    pub labels: Vec<(String, String)>,
    /// Annotation templates.
    pub annotations: Vec<(String, String)>,
}

/// A recording rule as written.
#[derive(Debug, Clone)]
pub struct RecordingRuleSpec {
    /// The metric name to record.
    pub record: String,
    /// The PromQL expression.
    pub expr: String,
    /// Labels to add.
    pub labels: Vec<(String, String)>,
}

/// One problem in a rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFileError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line and column, when known.
    pub position: Option<(usize, usize)>,
    /// What is wrong, with the group and rule it concerns.
    pub message: String,
}

impl RuleFileError {
    /// A YAML syntax or shape error, at the position the parser reports; the parser's own
    /// "at line …" suffix is dropped since the position is printed in front.
    pub fn from_yaml(file: &Path, error: &yaml_serde::Error) -> RuleFileError {
        let message = error.to_string();
        let message = match message.rfind(" at line ") {
            Some(at) => message[..at].to_owned(),
            None => message,
        };
        RuleFileError {
            file: file.to_owned(),
            position: error.location().map(|l| (l.line(), l.column())),
            message,
        }
    }
}

impl fmt::Display for RuleFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file.display())?;
        if let Some((line, column)) = self.position {
            write!(f, "{line}:{column}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Reads and validates one rule file; every problem found is returned.
pub fn load_file(file: &Path) -> Result<Vec<RuleGroup>, Vec<RuleFileError>> {
    let text = std::fs::read_to_string(file).map_err(|error| {
        vec![RuleFileError { file: file.to_owned(), position: None, message: error.to_string() }]
    })?;
    parse(file, &text)
}

/// Validates rule-file `text` read from `file`.
pub fn parse(file: &Path, text: &str) -> Result<Vec<RuleGroup>, Vec<RuleFileError>> {
    let error =
        |position, message: String| RuleFileError { file: file.to_owned(), position, message };
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let node: FileNode =
        yaml_serde::from_str(text).map_err(|e| vec![RuleFileError::from_yaml(file, &e)])?;
    let mut errors = Vec::new();
    let mut groups = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (g, group) in node.groups.into_iter().enumerate() {
        let at =
            |path: &str| alertmanager::config::position_of(text, &format!("groups[{g}]{path}"));
        if group.name.is_empty() {
            errors.push(error(at(""), "Groupname must not be empty".to_owned()));
        } else if !seen.insert(group.name.clone()) {
            errors.push(error(
                at(""),
                format!("groupname: \"{}\" is repeated in the same file", group.name),
            ));
        }
        let duration = |field: &str, value: &Option<String>, errors: &mut Vec<RuleFileError>| {
            value.as_deref().and_then(|text| match model::parse_duration(text) {
                Ok(d) => Some(d),
                Err(e) => {
                    errors.push(error(at(&format!(".{field}")), format!("{field}: {e}")));
                    None
                }
            })
        };
        if group.datasource_uid.as_deref().is_some_and(str::is_empty) {
            errors.push(error(
                at(".datasource_uid"),
                "datasource_uid: must name a datasource when set".to_owned(),
            ));
        }
        let interval = duration("interval", &group.interval, &mut errors);
        let query_offset = duration("query_offset", &group.query_offset, &mut errors);
        for name in group.labels.keys() {
            if !model::is_valid_label_name(name) {
                errors.push(error(at(".labels"), format!("invalid label name: {name}")));
            }
        }
        let mut rules = Vec::new();
        for (r, rule) in group.rules.into_iter().enumerate() {
            let path = |field: &str| format!(".rules[{r}].{field}");
            let name = rule.alert.clone().or(rule.record.clone()).unwrap_or_default();
            let name_field = if rule.alert.is_some() { "alert" } else { "record" };
            let prefix = format!("group \"{}\", rule {}, \"{}\": ", group.name, r + 1, name);
            let mut rule_errors = Vec::new();
            if rule.record.is_some() && rule.alert.is_some() {
                // promtool names both nodes: the record's position, then the alert's.
                let alert = at(&path("alert"))
                    .map(|(line, column)| format!("{line}:{column}: "))
                    .unwrap_or_default();
                rule_errors.push(error(
                    at(&path("record")),
                    format!("{alert}{prefix}only one of 'record' and 'alert' must be set"),
                ));
            }
            let mut problem = |field: &str, message: String| {
                rule_errors.push(error(at(&path(field)), format!("{prefix}{message}")));
            };
            if rule.record.is_none() && rule.alert.is_none() {
                problem("", "one of 'record' or 'alert' must be set".into());
            }
            if rule.expr.is_empty() {
                problem(name_field, "field 'expr' must be set in rule".into());
            } else if let Err(e) = promql_parser::parser::parse(&rule.expr) {
                problem("expr", format!("could not parse expression: {}", e.trim()));
            }
            let for_ = duration(&path("for")[1..], &rule.for_, &mut errors);
            let keep_firing_for =
                duration(&path("keep_firing_for")[1..], &rule.keep_firing_for, &mut errors);
            for label in rule.labels.keys() {
                if !model::is_valid_label_name(label) {
                    problem(name_field, format!("invalid label name: {label}"));
                }
            }
            if let Some(record) = &rule.record {
                if !rule.annotations.is_empty() {
                    problem(name_field, "invalid field 'annotations' in recording rule".into());
                }
                if rule.for_.is_some() {
                    problem(name_field, "invalid field 'for' in recording rule".into());
                }
                if rule.keep_firing_for.is_some() {
                    problem(name_field, "invalid field 'keep_firing_for' in recording rule".into());
                }
                if !is_valid_metric_name(record) {
                    problem(name_field, format!("invalid recording rule name: {record}"));
                }
                rules.push(Rule::Recording(RecordingRuleSpec {
                    record: record.clone(),
                    expr: rule.expr.clone(),
                    labels: rule.labels.into_iter().collect(),
                }));
                errors.extend(rule_errors);
                continue;
            }
            for annotation in rule.annotations.keys() {
                if !model::is_valid_label_name(annotation) {
                    problem(name_field, format!("invalid annotation name: {annotation}"));
                }
            }
            errors.extend(rule_errors);
            let template_name = format!("__alert_{name}");
            for (kind, map) in [("label", &rule.labels), ("annotation", &rule.annotations)] {
                for (key, text) in map {
                    if let Err(e) = template::check(&template_name, text) {
                        errors.push(error(None, format!("{prefix}{kind} \"{key}\": {e}")));
                    }
                }
            }
            let mut labels: BTreeMap<String, String> = group.labels.clone();
            labels.extend(rule.labels);
            rules.push(Rule::Alerting(AlertingRuleSpec {
                name,
                expr: rule.expr,
                for_: for_.unwrap_or_default(),
                keep_firing_for: keep_firing_for.unwrap_or_default(),
                labels: labels.into_iter().collect(),
                annotations: rule.annotations.into_iter().collect(),
            }));
        }
        groups.push(RuleGroup {
            file: file.to_owned(),
            name: group.name,
            interval,
            query_offset: query_offset.unwrap_or_default(),
            limit: group.limit,
            labels: LabelSet::from_pairs(group.labels),
            rules,
            folder: None,
            datasource_uid: group.datasource_uid,
        });
    }
    if errors.is_empty() { Ok(groups) } else { Err(errors) }
}

/// Prometheus' metric-name rule: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
fn is_valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Expands `--rules.file` globs into files, sorted within each pattern; a pattern that
/// matches nothing is not an error (as in Prometheus).
pub fn expand_globs(patterns: &[String]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for pattern in patterns {
        let paths = glob::glob(pattern).map_err(|e| format!("--rules.file {pattern:?}: {e}"))?;
        let mut matched: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
        matched.sort();
        for path in matched {
            if !files.contains(&path) {
                files.push(path);
            }
        }
    }
    Ok(files)
}

/// Loads every file the patterns match; all errors of all files are reported together.
pub fn load_globs(patterns: &[String]) -> Result<Vec<RuleGroup>, String> {
    let mut groups = Vec::new();
    let mut errors = Vec::new();
    for file in expand_globs(patterns)? {
        match load_file(&file) {
            Ok(loaded) => groups.extend(loaded),
            Err(found) => errors.extend(found.iter().map(ToString::to_string)),
        }
    }
    if errors.is_empty() { Ok(groups) } else { Err(errors.join("\n")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        parse(Path::new("r.yml"), text).unwrap_err().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_valid_file_loads_with_group_labels_under_rule_labels() {
        let text = "groups:\n- name: g\n  interval: 10s\n  labels: {team: a, x: g}\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 1m\n    keep_firing_for: 2m\n    labels: {x: r}\n  - record: job:up\n    expr: sum(up)\n";
        let groups = parse(Path::new("r.yml"), text).unwrap();
        assert_eq!(groups[0].interval, Some(Duration::from_secs(10)));
        let Rule::Alerting(rule) = &groups[0].rules[0] else { panic!() };
        assert_eq!(rule.for_, Duration::from_secs(60));
        assert_eq!(rule.keep_firing_for, Duration::from_secs(120));
        assert_eq!(rule.labels, vec![("team".into(), "a".into()), ("x".into(), "r".into())]);
        assert!(matches!(groups[0].rules[1], Rule::Recording(_)));
    }

    #[test]
    fn errors_name_line_column_group_and_rule() {
        let found = errors("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up ==\n");
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .starts_with("r.yml: 5:11: group \"g\", rule 1, \"A\": could not parse expression"),
            "{found:?}"
        );
        let found =
            errors("groups:\n- name: g\n  rules:\n  - record: 'a b'\n    expr: up\n    for: 1m\n");
        assert_eq!(
            found,
            vec![
                "r.yml: 4:13: group \"g\", rule 1, \"a b\": invalid field 'for' in recording rule",
                "r.yml: 4:13: group \"g\", rule 1, \"a b\": invalid recording rule name: a b",
            ]
        );
        let found = errors(
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    labels: {s: '{{ .x'}\n",
        );
        assert!(found[0].starts_with("r.yml: group \"g\", rule 1, \"A\": label \"s\": template: __alert_A:1: unclosed action"), "{found:?}");
    }

    #[test]
    fn unknown_fields_and_repeated_groups_are_rejected() {
        let found =
            errors("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    foo: 1\n");
        assert!(found[0].contains("6:5") && found[0].contains("unknown field `foo`"), "{found:?}");
        let found = errors("groups:\n- name: g\n  rules: []\n- name: g\n  rules: []\n");
        assert!(found[0].contains("groupname: \"g\" is repeated in the same file"), "{found:?}");
    }
}
