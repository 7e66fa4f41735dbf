//! The routing tree (`route`): which receiver gets which alerts, grouped how, and when.

use std::collections::BTreeMap;
use std::time::Duration;

use model::{MatchType, Matcher};
use serde::{Deserialize, Serialize};

use super::matchers::{serde_list, sort_matchers};
use super::types::{is_label_name, prom_duration};

/// One node of the routing tree.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Route {
    /// The receiver; children without one inherit their parent's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver: Option<String>,
    /// The `group_by` labels as written (`...` groups by all labels).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    /// Deprecated `match`: label equalities.
    #[serde(
        rename = "match",
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::config::types::unique_map",
        serialize_with = "crate::config::gomap::serialize"
    )]
    pub match_equal: BTreeMap<String, String>,
    /// Deprecated `match_re`: label regular expressions (anchored).
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::config::types::unique_map",
        serialize_with = "crate::config::gomap::serialize"
    )]
    pub match_re: BTreeMap<String, String>,
    /// The `matchers:` list, parsed and sorted.
    #[serde(rename = "matchers", with = "serde_list", skip_serializing_if = "Vec::is_empty")]
    pub matcher_list: Vec<Matcher>,
    /// Named time intervals during which notifications are muted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mute_time_intervals: Vec<String>,
    /// Named time intervals outside which notifications are muted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub active_time_intervals: Vec<String>,
    /// Whether matching continues with the next sibling after this node matched.
    #[serde(rename = "continue")]
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub continue_matching: bool,
    /// Child routes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
    /// How long to wait before the first notification of a new group.
    #[serde(with = "prom_duration", skip_serializing_if = "Option::is_none")]
    pub group_wait: Option<Duration>,
    /// How long to wait before notifying about changes to a group.
    #[serde(with = "prom_duration", skip_serializing_if = "Option::is_none")]
    pub group_interval: Option<Duration>,
    /// How long to wait before repeating a notification.
    #[serde(with = "prom_duration", skip_serializing_if = "Option::is_none")]
    pub repeat_interval: Option<Duration>,
    /// Every matcher of the node: `match`, `match_re` and `matchers` combined and sorted.
    #[serde(skip)]
    pub matchers: Vec<Matcher>,
}

impl Route {
    /// True if `group_by` is `['...']`: group by every label.
    pub fn group_by_all(&self) -> bool {
        self.group_by.iter().any(|l| l == "...")
    }

    /// Checks this node alone and fills [`Route::matchers`]. Errors name the field relative to
    /// the node.
    pub(crate) fn validate_node(&mut self) -> Result<(), (String, String)> {
        for name in self.match_equal.keys().chain(self.match_re.keys()) {
            if !is_label_name(name) {
                let field = if self.match_equal.contains_key(name) { "match" } else { "match_re" };
                return Err((field.into(), format!("invalid label name {name:?}")));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, label) in self.group_by.iter().enumerate() {
            if label != "..." && !is_label_name(label) {
                return Err((
                    format!("group_by[{i}]"),
                    format!("invalid label name {label:?} in group_by list"),
                ));
            }
            if !seen.insert(label) {
                return Err((
                    format!("group_by[{i}]"),
                    format!("duplicated label {label:?} in group_by"),
                ));
            }
        }
        if self.group_by_all() && self.group_by.len() > 1 {
            return Err((
                "group_by".into(),
                "cannot have wildcard group_by (`...`) and other other labels at the same time"
                    .into(),
            ));
        }
        if self.group_interval == Some(Duration::ZERO) {
            return Err(("group_interval".into(), "group_interval cannot be zero".into()));
        }
        if self.repeat_interval == Some(Duration::ZERO) {
            return Err(("repeat_interval".into(), "repeat_interval cannot be zero".into()));
        }
        self.matchers = self.combined_matchers().map_err(|m| ("match_re".to_owned(), m))?;
        Ok(())
    }

    fn combined_matchers(&self) -> Result<Vec<Matcher>, String> {
        let mut all = Vec::new();
        for (name, value) in &self.match_equal {
            all.push(Matcher::new(MatchType::Equal, name, value).map_err(|e| e.to_string())?);
        }
        for (name, pattern) in &self.match_re {
            let m = match_re_matcher(name, pattern).map_err(|e| {
                format!("invalid regexp value for {name:?}: {}", last_line(&e.to_string()))
            })?;
            all.push(m);
        }
        all.extend(self.matcher_list.iter().cloned());
        sort_matchers(&mut all);
        Ok(all)
    }
}

/// The last non-empty line of a multi-line message (regex errors end with the reason).
pub(crate) fn last_line(message: &str) -> &str {
    message.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(message).trim()
}

/// A deprecated `match_re` entry as 0.25 turns it into a route matcher. Its value is the
/// anchored source `^(?:pattern)$`, because that is what Go's compiled regexp reports, and
/// route keys (hence nflog group keys) render it in that form. Anchoring twice does not change
/// what it matches.
pub fn match_re_matcher(name: &str, pattern: &str) -> Result<Matcher, model::RegexError> {
    Matcher::new(MatchType::Regexp, name, format!("^(?:{pattern})$"))
}
