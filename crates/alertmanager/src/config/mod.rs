//! `alertmanager.yml`: a stand-in that loads the fields the API needs. The full loader replaces
//! it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use model::{MatchType, Matcher};

/// A configuration error naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

/// The `global` section.
#[derive(Debug, Clone)]
pub struct Global {
    /// `resolve_timeout`.
    pub resolve_timeout: Duration,
}

/// One route of the tree.
#[derive(Debug, Clone, Default)]
pub struct Route {
    /// `receiver`.
    pub receiver: Option<String>,
    /// `match`, `match_re` and `matchers` combined.
    pub matchers: Vec<Matcher>,
    /// `continue`.
    pub continue_matching: bool,
    /// `group_by` (`None` when unset).
    pub group_by: Option<Vec<String>>,
    /// `group_wait`.
    pub group_wait: Option<Duration>,
    /// `group_interval`.
    pub group_interval: Option<Duration>,
    /// `repeat_interval`.
    pub repeat_interval: Option<Duration>,
    /// Child routes.
    pub routes: Vec<Route>,
}

/// A receiver.
#[derive(Debug, Clone)]
pub struct Receiver {
    /// `name`.
    pub name: String,
}

/// The whole file.
#[derive(Debug, Clone)]
pub struct Config {
    /// `global`.
    pub global: Global,
    /// `route`.
    pub route: Route,
    /// `receivers`.
    pub receivers: Vec<Receiver>,
    original: String,
}

impl Config {
    /// Loads and validates a file.
    pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError { path: path.to_owned(), message: e.to_string() })?;
        Self::from_yaml(&text, path)
    }

    /// Parses and validates `text`, naming `path` in errors.
    pub fn from_yaml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let error = |message: String| ConfigError { path: path.to_owned(), message };
        let value: yaml_serde::Value =
            yaml_serde::from_str(text).map_err(|e| error(e.to_string()))?;
        let route =
            value.get("route").map(parse_route).transpose().map_err(error)?.unwrap_or_default();
        let receivers = value
            .get("receivers")
            .and_then(|r| r.as_sequence())
            .map(|list| {
                list.iter()
                    .filter_map(|r| r.get("name").and_then(|n| n.as_str()))
                    .map(|name| Receiver { name: name.to_owned() })
                    .collect()
            })
            .unwrap_or_default();
        let resolve_timeout = value
            .get("global")
            .and_then(|g| g.get("resolve_timeout"))
            .and_then(|v| v.as_str())
            .map(model::duration::parse_duration)
            .transpose()
            .map_err(|e| error(e.to_string()))?
            .unwrap_or(Duration::from_secs(300));
        Ok(Config {
            global: Global { resolve_timeout },
            route,
            receivers,
            original: text.to_owned(),
        })
    }

    /// The configuration as `/api/v2/status` shows it.
    pub fn original_yaml(&self) -> String {
        self.original.clone()
    }
}

fn parse_route(value: &yaml_serde::Value) -> Result<Route, String> {
    let mut route = Route {
        receiver: value.get("receiver").and_then(|v| v.as_str()).map(str::to_owned),
        continue_matching: value.get("continue").and_then(|v| v.as_bool()).unwrap_or(false),
        ..Route::default()
    };
    if let Some(list) = value.get("matchers").and_then(|v| v.as_sequence()) {
        for item in list.iter().filter_map(|v| v.as_str()) {
            let (name, rest) = item.split_once('=').ok_or_else(|| format!("bad matcher {item}"))?;
            let matcher =
                Matcher::new(MatchType::Equal, name.trim(), rest.trim().trim_matches('"'))
                    .map_err(|e| e.to_string())?;
            route.matchers.push(matcher);
        }
    }
    if let Some(map) = value.get("match").and_then(|v| v.as_mapping()) {
        for (name, v) in map {
            let (Some(name), Some(v)) = (name.as_str(), v.as_str()) else { continue };
            route
                .matchers
                .push(Matcher::new(MatchType::Equal, name, v).map_err(|e| e.to_string())?);
        }
    }
    if let Some(map) = value.get("match_re").and_then(|v| v.as_mapping()) {
        for (name, v) in map {
            let (Some(name), Some(v)) = (name.as_str(), v.as_str()) else { continue };
            route.matchers.push(match_re_matcher(name, v).map_err(|e| e.to_string())?);
        }
    }
    if let Some(children) = value.get("routes").and_then(|v| v.as_sequence()) {
        route.routes = children.iter().map(parse_route).collect::<Result<_, _>>()?;
    }
    Ok(route)
}

/// A deprecated `match_re` entry as 0.25 turns it into a route matcher. Its value is the
/// anchored source `^(?:pattern)$`, because that is what Go's compiled regexp reports, and
/// route keys (hence nflog group keys) render it in that form.
pub fn match_re_matcher(name: &str, pattern: &str) -> Result<Matcher, model::RegexError> {
    Matcher::new(MatchType::Regexp, name, format!("^(?:{pattern})$"))
}
