//! The routing tree: which routes, and so which receivers, an alert belongs to.
//!
//! Children inherit their parent's receiver, grouping and timers unless they set their own.
//! Matching is depth-first and left to right; a child that matches stops the scan of its
//! siblings unless it has `continue: true`, and a node none of whose children match is itself
//! the match.

use std::time::Duration;

use model::{LabelSet, Matchers};

use crate::config;

/// Alertmanager's defaults for the root route.
const GROUP_WAIT_DEFAULT: Duration = Duration::from_secs(30);
const GROUP_INTERVAL_DEFAULT: Duration = Duration::from_secs(5 * 60);
const REPEAT_INTERVAL_DEFAULT: Duration = Duration::from_secs(4 * 60 * 60);

/// How alerts that reach a route are grouped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupBy {
    /// Group by these label names.
    Labels(Vec<String>),
    /// `group_by: ['...']`: group by every label.
    All,
}

/// A route's effective options, after inheritance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteOptions {
    /// The receiver name.
    pub receiver: String,
    /// Grouping.
    pub group_by: GroupBy,
    /// Delay before the first notification of a new group.
    pub group_wait: Duration,
    /// Delay between notifications of an existing group.
    pub group_interval: Duration,
    /// Delay before re-sending an unchanged notification.
    pub repeat_interval: Duration,
}

/// A node of the routing tree with its effective options.
#[derive(Debug, Clone)]
pub struct Route {
    /// Effective options.
    pub options: RouteOptions,
    /// This node's own matchers.
    pub matchers: Matchers,
    /// Whether siblings are still tried after this one matches.
    pub continue_matching: bool,
    /// Children in order.
    pub routes: Vec<Route>,
    /// Names of the intervals during which this route sends nothing (not inherited).
    pub mute_time_intervals: Vec<String>,
    /// Names of the intervals outside which this route sends nothing (not inherited).
    pub active_time_intervals: Vec<String>,
    /// Position in a pre-order walk of the tree: identifies the route within one tree, as
    /// 0.25 identifies it by pointer.
    pub index: usize,
    /// [`Route::key`], fixed when the tree is built because it depends on the ancestors.
    pub(super) key: String,
}

impl Route {
    /// Builds the tree from the configuration's root route.
    pub fn from_config(root: &config::Route) -> Route {
        let defaults = RouteOptions {
            receiver: String::new(),
            group_by: GroupBy::Labels(Vec::new()),
            group_wait: GROUP_WAIT_DEFAULT,
            group_interval: GROUP_INTERVAL_DEFAULT,
            repeat_interval: REPEAT_INTERVAL_DEFAULT,
        };
        let mut next_index = 0;
        Self::build(root, &defaults, None, &mut next_index)
    }

    fn build(
        node: &config::Route,
        parent: &RouteOptions,
        parent_key: Option<&str>,
        next_index: &mut usize,
    ) -> Route {
        let index = *next_index;
        *next_index += 1;
        let mut options = parent.clone();
        if let Some(receiver) = &node.receiver {
            options.receiver = receiver.clone();
        }
        // An empty `group_by` inherits the parent's, as in Alertmanager.
        if node.group_by_all() {
            options.group_by = GroupBy::All;
        } else if !node.group_by.is_empty() {
            options.group_by = GroupBy::Labels(node.group_by.clone());
        }
        options.group_wait = node.group_wait.unwrap_or(options.group_wait);
        options.group_interval = node.group_interval.unwrap_or(options.group_interval);
        options.repeat_interval = node.repeat_interval.unwrap_or(options.repeat_interval);
        // Sorted as 0.25 sorts them: the route key renders them in this order.
        let mut matchers = Matchers(node.matchers.clone());
        matchers.sort();
        let key = super::group_key::route_key(parent_key, &matchers);
        let routes = node
            .routes
            .iter()
            .map(|child| Self::build(child, &options, Some(&key), next_index))
            .collect();
        Route {
            options,
            matchers,
            continue_matching: node.continue_matching,
            routes,
            mute_time_intervals: node.mute_time_intervals.clone(),
            active_time_intervals: node.active_time_intervals.clone(),
            index,
            key,
        }
    }

    /// The routes an alert with `labels` belongs to, in tree order.
    pub fn matching<'a>(&'a self, labels: &LabelSet) -> Vec<&'a Route> {
        let mut found = Vec::new();
        self.collect_matches(labels, &mut found);
        found
    }

    fn collect_matches<'a>(&'a self, labels: &LabelSet, found: &mut Vec<&'a Route>) -> bool {
        if !self.matchers.matches(labels) {
            return false;
        }
        let before = found.len();
        for child in &self.routes {
            if child.collect_matches(labels, found) && !child.continue_matching {
                break;
            }
        }
        if found.len() == before {
            found.push(self);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{MatchType, Matcher};

    fn route(
        receiver: &str,
        matcher: Option<(&str, &str)>,
        routes: Vec<config::Route>,
    ) -> config::Route {
        config::Route {
            receiver: Some(receiver.to_owned()),
            matchers: matcher
                .map(|(n, v)| vec![Matcher::new(MatchType::Equal, n, v).unwrap()])
                .unwrap_or_default(),
            routes,
            ..config::Route::default()
        }
    }

    #[test]
    fn first_matching_child_wins_unless_continue() {
        let mut first = route("a", Some(("team", "x")), vec![]);
        let second = route("b", Some(("team", "x")), vec![]);
        let tree = route("root", None, vec![first.clone(), second.clone()]);
        let labels = LabelSet::from_pairs([("team", "x")]);
        let receivers = |tree: &config::Route| -> Vec<String> {
            Route::from_config(tree)
                .matching(&labels)
                .iter()
                .map(|r| r.options.receiver.clone())
                .collect()
        };
        assert_eq!(receivers(&tree), vec!["a"]);
        first.continue_matching = true;
        let tree = route("root", None, vec![first, second]);
        assert_eq!(receivers(&tree), vec!["a", "b"]);
        let other = LabelSet::from_pairs([("team", "y")]);
        assert_eq!(Route::from_config(&tree).matching(&other)[0].options.receiver, "root");
    }
}
