//! Group keys: the strings that name an aggregation group in the notification log and in the
//! webhook payload's `groupKey`.
//!
//! They are a wire format: peers look up each other's nflog entries by them, so they must be
//! Alertmanager 0.25's byte for byte. A route's key is its ancestors' keys joined by `/`, each
//! node rendered as `{m1,m2}` (sorted matchers, values OpenMetrics-escaped, no spaces). A group's
//! key is `route_key:` followed by the group labels as prometheus/common's `LabelSet.String()`
//! renders them ([`LabelSet::go_string`]). The key is not unique: two sibling routes with the
//! same matchers share it, and 0.25 shares their nflog entries, so that is kept.

use model::{LabelSet, Matchers};

use super::route::{GroupBy, Route};

/// The key of a route with `matchers` (already sorted) under a parent with `parent_key`, or
/// of the root when there is no parent.
pub fn route_key(parent_key: Option<&str>, matchers: &Matchers) -> String {
    match parent_key {
        Some(parent) => format!("{parent}/{matchers}"),
        None => matchers.to_string(),
    }
}

/// The labels an alert is grouped by: those named by `group_by`, or all of them.
pub fn group_labels(group_by: &GroupBy, labels: &LabelSet) -> LabelSet {
    match group_by {
        GroupBy::All => labels.clone(),
        GroupBy::Labels(names) => labels.filter(|name| names.iter().any(|n| n == name)),
    }
}

/// The aggregation group's key: `route_key + ":" + group labels`.
pub fn aggregation_group_key(route_key: &str, group_labels: &LabelSet) -> String {
    format!("{route_key}:{}", group_labels.go_string())
}

impl Route {
    /// This route's key, e.g. `{}/{severity="critical"}`; the root without matchers is `{}`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The labels of an alert with `labels` that name its group on this route.
    pub fn group_labels(&self, labels: &LabelSet) -> LabelSet {
        group_labels(&self.options.group_by, labels)
    }

    /// The fingerprint of [`Self::group_labels`], computed without building them.
    pub fn group_fingerprint(&self, labels: &LabelSet) -> model::Fingerprint {
        match &self.options.group_by {
            GroupBy::All => labels.fingerprint(),
            GroupBy::Labels(names) => {
                labels.fingerprint_where(|name| names.iter().any(|n| n == name))
            }
        }
    }

    /// The key of this route's group with `group_labels`.
    pub fn group_key(&self, group_labels: &LabelSet) -> String {
        aggregation_group_key(self.key(), group_labels)
    }

    /// The key of the group an alert with `labels` joins on this route.
    pub fn group_key_for(&self, labels: &LabelSet) -> String {
        self.group_key(&self.group_labels(labels))
    }
}

#[cfg(test)]
mod tests {
    use model::{MatchType, Matcher};

    use super::*;
    use crate::config;

    fn matcher(match_type: MatchType, name: &str, value: &str) -> Matcher {
        Matcher::new(match_type, name, value).unwrap()
    }

    fn node(
        matchers: Vec<Matcher>,
        group_by: Option<&[&str]>,
        routes: Vec<config::Route>,
    ) -> config::Route {
        config::Route {
            matchers,
            group_by: group_by.unwrap_or_default().iter().map(|n| n.to_string()).collect(),
            routes,
            ..config::Route::default()
        }
    }

    #[test]
    fn dispatch_route_keys_nest_sort_and_escape() {
        let grandchild = node(vec![matcher(MatchType::NotEqual, "zone", "eu\nwest")], None, vec![]);
        let child = node(
            vec![
                matcher(MatchType::Regexp, "team", "a\"b\\.c"),
                matcher(MatchType::Equal, "env", "prod"),
                matcher(MatchType::NotRegexp, "env", "prod"),
                matcher(MatchType::Equal, "env", "dev"),
            ],
            None,
            vec![grandchild],
        );
        let root = Route::from_config(&node(vec![], None, vec![child]));
        assert_eq!(root.key(), "{}");
        let child = &root.routes[0];
        // Sorted by name, then value, then operator (= before !~).
        let child_key = r#"{}/{env="dev",env="prod",env!~"prod",team=~"a\"b\\.c"}"#;
        assert_eq!(child.key(), child_key);
        assert_eq!(child.routes[0].key(), format!("{child_key}/{{zone!=\"eu\\nwest\"}}"));
    }

    #[test]
    fn dispatch_match_re_routes_key_on_the_anchored_source() {
        let child = node(vec![config::match_re_matcher("env", "prod.*").unwrap()], None, vec![]);
        let root = Route::from_config(&node(vec![], None, vec![child]));
        assert_eq!(root.routes[0].key(), r#"{}/{env=~"^(?:prod.*)$"}"#);
        assert!(root.routes[0].matchers.matches(&LabelSet::from_pairs([("env", "prod-1")])));
    }

    #[test]
    fn dispatch_group_labels_follow_group_by_and_inherit_empty_lists() {
        let labels =
            LabelSet::from_pairs([("alertname", "A"), ("a", "1"), ("a1", "2"), ("x", "y")]);
        let by_all = node(vec![matcher(MatchType::Equal, "x", "y")], Some(&["..."]), vec![]);
        let inherits = node(vec![matcher(MatchType::Equal, "a", "1")], Some(&[]), vec![]);
        let root = node(vec![], Some(&["a", "a1", "alertname"]), vec![by_all, inherits]);
        let root = Route::from_config(&root);
        assert_eq!(root.routes[0].options.group_by, GroupBy::All);
        assert_eq!(root.routes[1].options.group_by, root.options.group_by);
        // 0.25 sorts `name="value"` strings whole, so `a1=` comes before `a=`.
        assert_eq!(root.group_key_for(&labels), r#"{}:{a1="2", a="1", alertname="A"}"#);
        assert_eq!(
            root.routes[0].group_key_for(&labels),
            r#"{}/{x="y"}:{a1="2", a="1", alertname="A", x="y"}"#
        );
        let missing = LabelSet::from_pairs([("x", "y")]);
        assert_eq!(root.group_key_for(&missing), "{}:{}");
    }

    #[test]
    fn dispatch_group_key_values_are_go_quoted() {
        let labels = LabelSet::from_pairs([("v", "tab\there \"q\" \\ ünï \u{7f}")]);
        let key = aggregation_group_key("{}", &labels);
        assert_eq!(key, r#"{}:{v="tab\there \"q\" \\ ünï \x7f"}"#);
    }
}
