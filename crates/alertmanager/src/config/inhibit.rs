//! `inhibit_rules`: alerts matching a source mute alerts matching a target when the `equal`
//! labels agree.

use std::collections::BTreeMap;

use model::{MatchType, Matcher};
use serde::{Deserialize, Serialize};

use super::matchers::{serde_list, sort_matchers};
use super::route::last_line;
use super::types::is_label_name;

/// One inhibition rule.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct InhibitRule {
    /// Deprecated: label equalities source alerts must satisfy.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::config::types::unique_map",
        serialize_with = "crate::config::gomap::serialize"
    )]
    pub source_match: BTreeMap<String, String>,
    /// Deprecated: label regular expressions source alerts must satisfy.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::config::types::unique_map",
        serialize_with = "crate::config::gomap::serialize"
    )]
    pub source_match_re: BTreeMap<String, String>,
    /// Matchers source alerts must satisfy, as written (sorted).
    #[serde(
        rename = "source_matchers",
        with = "serde_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub source_matcher_list: Vec<Matcher>,
    /// Deprecated: label equalities target alerts must satisfy.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::config::types::unique_map",
        serialize_with = "crate::config::gomap::serialize"
    )]
    pub target_match: BTreeMap<String, String>,
    /// Deprecated: label regular expressions target alerts must satisfy.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::config::types::unique_map",
        serialize_with = "crate::config::gomap::serialize"
    )]
    pub target_match_re: BTreeMap<String, String>,
    /// Matchers target alerts must satisfy, as written (sorted).
    #[serde(
        rename = "target_matchers",
        with = "serde_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub target_matcher_list: Vec<Matcher>,
    /// Labels whose values must be equal in source and target.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub equal: Vec<String>,
    /// All source matchers combined.
    #[serde(skip)]
    pub source_matchers: Vec<Matcher>,
    /// All target matchers combined.
    #[serde(skip)]
    pub target_matchers: Vec<Matcher>,
}

impl InhibitRule {
    /// Checks label names and regular expressions and fills the combined matcher lists.
    pub(crate) fn validate(&mut self) -> Result<(), (String, String)> {
        for (field, map) in [
            ("source_match", &self.source_match),
            ("source_match_re", &self.source_match_re),
            ("target_match", &self.target_match),
            ("target_match_re", &self.target_match_re),
        ] {
            if let Some(bad) = map.keys().find(|k| !is_label_name(k)) {
                return Err((field.into(), format!("invalid label name {bad:?}")));
            }
        }
        if let Some(bad) = self.equal.iter().position(|k| !is_label_name(k)) {
            return Err((
                format!("equal[{bad}]"),
                format!("{:?} is not a valid label name", self.equal[bad]),
            ));
        }
        self.source_matchers =
            combine(&self.source_match, &self.source_match_re, &self.source_matcher_list)
                .map_err(|m| ("source_match_re".to_owned(), m))?;
        self.target_matchers =
            combine(&self.target_match, &self.target_match_re, &self.target_matcher_list)
                .map_err(|m| ("target_match_re".to_owned(), m))?;
        Ok(())
    }
}

fn combine(
    equal: &BTreeMap<String, String>,
    regex: &BTreeMap<String, String>,
    list: &[Matcher],
) -> Result<Vec<Matcher>, String> {
    let mut all = Vec::new();
    for (name, value) in equal {
        all.push(Matcher::new(MatchType::Equal, name, value).map_err(|e| e.to_string())?);
    }
    for (name, pattern) in regex {
        all.push(Matcher::new(MatchType::Regexp, name, pattern).map_err(|e| {
            format!("invalid regexp value for {name:?}: {}", last_line(&e.to_string()))
        })?);
    }
    all.extend(list.iter().cloned());
    sort_matchers(&mut all);
    Ok(all)
}
