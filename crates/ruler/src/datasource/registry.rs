//! Every datasource by uid: the named ones of `--datasources.file`, the built-in test
//! datasource (`builtin`) and the default one (`default`: `--datasource.url`, else the file's
//! `isDefault` entry). Prometheus rule files query the default; expression rules name theirs by
//! `datasourceUid`. The registry is built whole at start and on every reload, so a reload
//! whose files are invalid keeps the running one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::provisioning::{self, DatasourceConfig, Kind};
use super::{BoxFuture, Datasource, QueryOutput, RangeOutput, builtin, prometheus};
use crate::expr::model::{EXPRESSION_DATASOURCE, SpecError, ValidRule};
use crate::rulefile::{Rule, RuleGroup};

/// Uids that name the default datasource when no file defines them (`prometheus` is what
/// expression rules written before named datasources used).
const DEFAULT_ALIASES: [&str; 2] = ["default", "prometheus"];

/// The datasources by uid. Cheap to clone.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    default: Box<dyn Datasource>,
    /// What the default is, for logs (`--datasource.url`'s URL or a file entry's uid).
    default_source: Option<String>,
    named: BTreeMap<String, Box<dyn Datasource>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("default", &self.inner.default_source)
            .field("named", &self.inner.named.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn client(config: &DatasourceConfig) -> Result<Box<dyn Datasource>, String> {
    Ok(match config.kind {
        Kind::Builtin => Box::new(builtin::Builtin),
        Kind::Prometheus => Box::new(
            prometheus::PrometheusApi::with_settings(&config.url, config.settings.clone())
                .map_err(|e| {
                    format!("{}: datasource {:?}: {e}", config.file.display(), config.uid)
                })?,
        ),
    })
}

impl Registry {
    /// Reads the datasource files (`--datasources.file` globs) and builds the registry with
    /// `default_url` (`--datasource.url`, empty when unset) as the default.
    pub fn load(default_url: &str, files: &[String]) -> Result<Registry, String> {
        Registry::new(default_url, provisioning::load_globs(files)?)
    }

    /// The registry of `configs` with `default_url` as the default when it is not empty.
    pub fn new(default_url: &str, configs: Vec<DatasourceConfig>) -> Result<Registry, String> {
        let marked = configs.iter().find(|c| c.is_default);
        let (default, default_source) = match (default_url.is_empty(), marked) {
            (false, Some(config)) => {
                return Err(format!(
                    "{}: datasource {:?} is marked isDefault, but --datasource.url already names the default datasource",
                    config.file.display(),
                    config.uid
                ));
            }
            (false, None) => (super::from_url(default_url)?, Some(redact(default_url))),
            (true, Some(config)) => (client(config)?, Some(config.uid.clone())),
            (true, None) => (Box::new(super::Unconfigured) as Box<dyn Datasource>, None),
        };
        let mut named = BTreeMap::new();
        for config in &configs {
            named.insert(config.uid.clone(), client(config)?);
        }
        Ok(Registry { inner: Arc::new(Inner { default, default_source, named }) })
    }

    /// Whether a default datasource exists (Prometheus rule files need one).
    pub fn has_default(&self) -> bool {
        self.inner.default_source.is_some()
    }

    /// What the default datasource is (a URL without credentials, or a uid), for logs.
    pub fn default_source(&self) -> &str {
        self.inner.default_source.as_deref().unwrap_or("")
    }

    /// The uids expression rules may name, sorted.
    pub fn uids(&self) -> Vec<String> {
        let mut uids: Vec<String> = self.inner.named.keys().cloned().collect();
        uids.push("builtin".to_owned());
        uids.extend(DEFAULT_ALIASES.iter().map(|a| (*a).to_owned()));
        uids.sort();
        uids.dedup();
        uids
    }

    /// Whether `uid` names a datasource.
    pub fn knows(&self, uid: &str) -> bool {
        uid == "builtin" || DEFAULT_ALIASES.contains(&uid) || self.inner.named.contains_key(uid)
    }

    /// The queries of `rule` that name no datasource, as errors on `data[i].datasourceUid`.
    pub fn unknown_uids(&self, rule: &ValidRule) -> Vec<SpecError> {
        rule.spec
            .data
            .iter()
            .enumerate()
            .filter(|(_, q)| {
                q.datasource_uid != EXPRESSION_DATASOURCE && !self.knows(&q.datasource_uid)
            })
            .map(|(i, q)| SpecError {
                field: format!("data[{i}].datasourceUid"),
                message: format!(
                    "datasource {:?} is not configured (known: {})",
                    q.datasource_uid,
                    self.uids().join(", ")
                ),
            })
            .collect()
    }

    /// Checks that every group and expression rule of `groups` names configured
    /// datasources, and that a default exists when a rule-file group needs it.
    pub fn check_groups(&self, groups: &[RuleGroup]) -> Result<(), String> {
        let mut errors = Vec::new();
        for group in groups {
            let queries_default = group.rules.iter().any(|r| matches!(r, Rule::Alerting(_)))
                && group.datasource_uid.is_none();
            if queries_default && !self.has_default() {
                errors.push(format!(
                    "{}: group {:?} queries the default datasource, and there is none: set --datasource.url (a Prometheus URL, or builtin: for the built-in test datasource), mark a datasource isDefault in --datasources.file, or give the group a datasource_uid",
                    group.file.display(),
                    group.name
                ));
            }
            if let Some(uid) = &group.datasource_uid
                && !self.knows(uid)
            {
                errors.push(format!(
                    "{}: group {:?}: datasource_uid: datasource {uid:?} is not configured (known: {})",
                    group.file.display(),
                    group.name,
                    self.uids().join(", ")
                ));
            }
            for rule in &group.rules {
                if let Rule::Expression(rule) = rule {
                    for error in self.unknown_uids(rule) {
                        errors.push(format!(
                            "group {:?} in folder {:?}, rule {:?}: {error}",
                            group.name,
                            group.file.display(),
                            rule.spec.uid
                        ));
                    }
                }
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors.join("\n")) }
    }
}

/// `url` without the user information a `--datasource.url` may carry.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme && !url[scheme + 3..at].contains('/') => {
            format!("{}<redacted>@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

impl Datasource for Registry {
    fn instant_query<'a>(
        &'a self,
        expr: &'a str,
        at: DateTime<Utc>,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<QueryOutput, String>> {
        self.inner.default.instant_query(expr, at, timeout)
    }

    fn range_query<'a>(
        &'a self,
        expr: &'a str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        step: Duration,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<RangeOutput, String>> {
        self.inner.default.range_query(expr, start, end, step, timeout)
    }

    fn graph_url(&self, expr: &str) -> String {
        self.inner.default.graph_url(expr)
    }

    fn named(&self, uid: &str) -> Option<Result<&dyn Datasource, String>> {
        if let Some(datasource) = self.inner.named.get(uid) {
            return Some(Ok(datasource.as_ref()));
        }
        if uid == "builtin" {
            return Some(Ok(&builtin::Builtin));
        }
        if DEFAULT_ALIASES.contains(&uid) {
            return Some(Ok(self.inner.default.as_ref()));
        }
        Some(Err(format!("datasource {uid:?} is not configured")))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const FILE: &str = "apiVersion: 1\ndatasources:\n  - name: Lab\n    uid: lab\n    type: klaxon-builtin\n  - name: Far\n    uid: far\n    type: prometheus\n    url: http://127.0.0.1:1\n    isDefault: true\n";

    fn configs() -> Vec<DatasourceConfig> {
        provisioning::parse(Path::new("ds.yaml"), FILE).unwrap()
    }

    #[tokio::test]
    async fn uids_resolve_to_their_datasource_and_unknown_ones_fail() {
        let registry = Registry::new("", configs()).unwrap();
        assert_eq!(registry.default_source(), "far");
        let at = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let lab = registry.named("lab").unwrap().unwrap();
        let answer = lab.instant_query("klaxon_example_up", at, Duration::from_secs(1)).await;
        assert!(!answer.unwrap().samples.is_empty(), "the builtin datasource answers");
        let far = registry.named("default").unwrap().unwrap();
        let refused = far.instant_query("up", at, Duration::from_secs(5)).await.unwrap_err();
        assert!(!refused.is_empty());
        let missing = registry.named("nowhere").unwrap().err().unwrap();
        assert_eq!(missing, "datasource \"nowhere\" is not configured");
        assert!(registry.knows("prometheus") && registry.knows("lab") && !registry.knows("x"));
    }

    #[test]
    fn the_flag_and_an_is_default_entry_cannot_both_be_the_default() {
        let error = Registry::new("http://127.0.0.1:9090", configs()).unwrap_err();
        assert!(error.contains("\"far\" is marked isDefault, but --datasource.url"), "{error}");
        let mut configs = configs();
        configs[1].is_default = false;
        let registry = Registry::new("http://user:secret@127.0.0.1:9090", configs).unwrap();
        assert_eq!(registry.default_source(), "http://<redacted>@127.0.0.1:9090");
        assert!(!format!("{registry:?}").contains("secret"));
        assert!(!Registry::new("", Vec::new()).unwrap().has_default());
    }

    #[test]
    fn rule_file_groups_name_a_datasource_or_need_a_default() {
        let text = "groups:\n- name: far\n  datasource_uid: lab\n  rules:\n  - alert: A\n    expr: up\n- name: near\n  rules:\n  - alert: B\n    expr: up\n";
        let groups = crate::rulefile::parse(Path::new("r.yml"), text).unwrap();
        assert_eq!(groups[0].datasource_uid.as_deref(), Some("lab"));
        let mut without_default = configs();
        without_default[1].is_default = false;
        let error = Registry::new("", without_default.clone()).unwrap().check_groups(&groups);
        assert_eq!(
            error.unwrap_err(),
            "r.yml: group \"near\" queries the default datasource, and there is none: set --datasource.url (a Prometheus URL, or builtin: for the built-in test datasource), mark a datasource isDefault in --datasources.file, or give the group a datasource_uid"
        );
        Registry::new("", without_default.clone()).unwrap().check_groups(&groups[..1]).unwrap();
        Registry::new("", configs()).unwrap().check_groups(&groups).unwrap();
        let elsewhere = text.replace("datasource_uid: lab", "datasource_uid: mimir");
        let groups = crate::rulefile::parse(Path::new("r.yml"), &elsewhere).unwrap();
        let error = Registry::new("", configs()).unwrap().check_groups(&groups).unwrap_err();
        assert!(
            error.starts_with(
                "r.yml: group \"far\": datasource_uid: datasource \"mimir\" is not configured"
            ),
            "{error}"
        );
    }

    #[test]
    fn rules_naming_unconfigured_datasources_are_reported() {
        let text = "apiVersion: 1\ngroups:\n  - name: g\n    folder: f\n    interval: 10s\n    rules:\n      - uid: r\n        title: R\n        condition: B\n        data:\n          - refId: A\n            datasourceUid: lab\n            relativeTimeRange: {from: 60, to: 0}\n            model: {expr: up, instant: true}\n          - refId: B\n            datasourceUid: mimir\n            relativeTimeRange: {from: 60, to: 0}\n            model: {expr: up, instant: true}\n";
        let groups = crate::provisioning::parse(Path::new("rules.yaml"), text).unwrap();
        let registry = Registry::new("", configs()).unwrap();
        let error = registry.check_groups(&groups).unwrap_err();
        assert_eq!(
            error,
            "group \"g\" in folder \"f\", rule \"r\": data[1].datasourceUid: datasource \"mimir\" is not configured (known: builtin, default, far, lab, prometheus)"
        );
    }
}
