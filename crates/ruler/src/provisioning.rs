//! Grafana's alerting provisioning files (`apiVersion: 1`, `groups:` of expression rules with
//! `orgId`, `name`, `folder`, `interval` and `rules`), loaded with `--rules.provisioning=GLOB`
//! at start and on reload. Errors name the file, the line and column, and the field. Other
//! provisioning sections (`contactPoints`, `policies`, `deleteRules`, …) are accepted and
//! ignored: Klaxon's receiver takes its configuration from its own file.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use model::LabelSet;
use serde::Deserialize;

use crate::expr::model::ExpressionRuleSpec;
use crate::rulefile::{Rule, RuleFileError, RuleGroup};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileNode {
    #[serde(default)]
    api_version: Option<i64>,
    #[serde(default)]
    groups: Vec<GroupNode>,
    #[serde(flatten)]
    _other: BTreeMap<String, serde_json::Value>,
}

/// A rule group as Grafana's provisioning files and ruler API write it.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupNode {
    /// The organisation (only 1 exists in Klaxon).
    #[serde(default = "default_org")]
    pub org_id: i64,
    /// The group name, unique within its folder.
    pub name: String,
    /// The folder (title or UID).
    #[serde(default)]
    pub folder: String,
    /// The evaluation interval (`10s`, `1m`).
    #[serde(default)]
    pub interval: String,
    /// The rules.
    #[serde(default)]
    pub rules: Vec<ExpressionRuleSpec>,
}

fn default_org() -> i64 {
    1
}

impl GroupNode {
    /// Validates the group into a rule group; errors carry the field path relative to the
    /// group (`rules[1].data[0].model.expr`).
    pub fn validate(&self) -> Result<RuleGroup, Vec<(String, String)>> {
        let mut errors = Vec::new();
        if self.org_id != 1 {
            errors.push((
                "orgId".to_owned(),
                format!("organisation {} does not exist; use 1", self.org_id),
            ));
        }
        if self.name.trim().is_empty() {
            errors.push(("name".to_owned(), "a group needs a name".to_owned()));
        }
        if self.folder.trim().is_empty() {
            errors.push(("folder".to_owned(), "a group needs a folder".to_owned()));
        }
        let interval = match model::parse_duration(&self.interval) {
            Ok(d) if !d.is_zero() => Some(d),
            Ok(_) => {
                errors.push(("interval".to_owned(), "must be positive".to_owned()));
                None
            }
            Err(e) => {
                errors.push(("interval".to_owned(), format!("{:?}: {e}", self.interval)));
                None
            }
        };
        let mut rules = Vec::new();
        let mut uids = HashSet::new();
        for (r, spec) in self.rules.iter().enumerate() {
            if !uids.insert(spec.uid.clone()) {
                errors.push((format!("rules[{r}].uid"), format!("uid {:?} is repeated", spec.uid)));
            }
            match spec.validate() {
                Ok(valid) => rules.push(Rule::Expression(Box::new(valid))),
                Err(found) => errors.extend(
                    found.into_iter().map(|e| (format!("rules[{r}].{}", e.field), e.message)),
                ),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(RuleGroup {
            file: PathBuf::from(&self.folder),
            name: self.name.clone(),
            interval: Some(interval.unwrap_or(Duration::from_secs(60))),
            query_offset: Duration::ZERO,
            limit: 0,
            labels: LabelSet::new(),
            rules,
            folder: Some(self.folder.clone()),
            datasource_uid: None,
        })
    }
}

/// Validates provisioning-file `text` read from `file`.
pub fn parse(file: &Path, text: &str) -> Result<Vec<RuleGroup>, Vec<RuleFileError>> {
    let error =
        |position, message: String| RuleFileError { file: file.to_owned(), position, message };
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let node: FileNode =
        yaml_serde::from_str(text).map_err(|e| vec![RuleFileError::from_yaml(file, &e)])?;
    let mut errors = Vec::new();
    if node.api_version != Some(1) {
        errors.push(error(
            alertmanager::config::position_of(text, "apiVersion"),
            "apiVersion: must be 1".to_owned(),
        ));
    }
    let mut groups = Vec::new();
    for (g, group) in node.groups.iter().enumerate() {
        match group.validate() {
            Ok(valid) => groups.push(valid),
            Err(found) => {
                for (field, message) in found {
                    let path = format!("groups[{g}].{field}");
                    errors.push(error(
                        alertmanager::config::position_of(text, &path),
                        format!("{path}: {message}"),
                    ));
                }
            }
        }
    }
    if errors.is_empty() { Ok(groups) } else { Err(errors) }
}

/// Loads every file the patterns match; rule UIDs and (folder, group) pairs must be unique
/// across all of them. All errors of all files are reported together.
pub fn load_globs(patterns: &[String]) -> Result<Vec<RuleGroup>, String> {
    let mut groups: Vec<RuleGroup> = Vec::new();
    let mut errors = Vec::new();
    let mut uids = HashSet::new();
    let mut names = HashSet::new();
    for file in crate::rulefile::expand_globs(patterns)? {
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) => {
                errors.push(format!("{}: {e}", file.display()));
                continue;
            }
        };
        match parse(&file, &text) {
            Ok(loaded) => {
                for group in loaded {
                    if !names.insert((group.file.clone(), group.name.clone())) {
                        errors.push(format!(
                            "{}: group {:?} in folder {:?} is defined twice",
                            file.display(),
                            group.name,
                            group.file.display()
                        ));
                    }
                    for rule in &group.rules {
                        if let Rule::Expression(rule) = rule
                            && !uids.insert(rule.spec.uid.clone())
                        {
                            errors.push(format!(
                                "{}: rule uid {:?} is defined twice",
                                file.display(),
                                rule.spec.uid
                            ));
                        }
                    }
                    groups.push(group);
                }
            }
            Err(found) => errors.extend(found.iter().map(ToString::to_string)),
        }
    }
    if errors.is_empty() { Ok(groups) } else { Err(errors.join("\n")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"apiVersion: 1
groups:
  - orgId: 1
    name: temperatures
    folder: lab
    interval: 10s
    rules:
      - uid: warm-lab
        title: WarmLab
        condition: C
        data:
          - refId: A
            relativeTimeRange: {from: 600, to: 0}
            datasourceUid: builtin
            model: {expr: klaxon_example_temperature_celsius}
          - refId: B
            datasourceUid: __expr__
            model: {type: reduce, expression: A, reducer: last}
          - refId: C
            datasourceUid: __expr__
            model:
              type: threshold
              expression: B
              conditions:
                - evaluator: {type: gt, params: [25]}
                  unloadEvaluator: {type: lt, params: [22]}
        noDataState: Alerting
        execErrState: KeepLast
        for: 1m
        labels: {severity: page}
        annotations: {summary: '{{ $labels.room }} is warm'}
contactPoints: []
"#;

    #[test]
    fn a_grafana_provisioning_file_loads() {
        let groups = parse(Path::new("p.yaml"), GOOD).unwrap();
        assert_eq!(groups[0].name, "temperatures");
        assert_eq!(groups[0].folder.as_deref(), Some("lab"));
        assert_eq!(groups[0].interval, Some(Duration::from_secs(10)));
        let Rule::Expression(rule) = &groups[0].rules[0] else { panic!() };
        assert_eq!(rule.for_, Duration::from_secs(60));
        assert_eq!(rule.nodes.len(), 3);
        assert_eq!(rule.spec.no_data_state, crate::expr::model::NoDataState::Alerting);
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let bad = GOOD
            .replace("reducer: last", "reducer: median7")
            .replace("interval: 10s", "interval: soon");
        let errors: Vec<String> =
            parse(Path::new("p.yaml"), &bad).unwrap_err().iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("p.yaml: 6:15: groups[0].interval: \"soon\""), "{errors:?}");
        assert!(
            errors[1].starts_with("p.yaml: 18:")
                && errors[1].contains(
                    ": groups[0].rules[0].data[1].model.reducer: unknown reducer \"median7\""
                ),
            "{errors:?}"
        );
        let bad = GOOD.replace("expression: B\n", "expression: Z\n");
        let errors: Vec<String> =
            parse(Path::new("p.yaml"), &bad).unwrap_err().iter().map(ToString::to_string).collect();
        assert!(
            errors[0].contains(
                "rules[0].data[2].model.expression: refId \"C\" reads \"Z\", which does not exist"
            ),
            "{errors:?}"
        );
        let errors = parse(Path::new("p.yaml"), "groups: []\n").unwrap_err();
        assert_eq!(errors[0].message, "apiVersion: must be 1");
    }
}
