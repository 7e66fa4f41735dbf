//! `alertmanager.yml`: the typed configuration, its loading and validation (with errors that
//! name the file, line and field), and the rendering Alertmanager 0.25 serves as
//! `config.original` in `GET /api/v2/status`.
//!
//! Layout:
//! - [`load`]: reading, deserializing, defaults from `global`, cross-reference checks.
//! - [`global`], [`route`], [`receiver`], [`integrations`], [`http_config`], [`inhibit`],
//!   [`time_interval`]: the sections of the file.
//! - [`cluster_tls`]: the `--cluster.tls-config` file of the TLS gossip transport.
//! - [`types`]: secrets, URLs, host:port pairs and durations as Alertmanager reads and writes
//!   them.
//! - [`render`]: Go `yaml.v2`-compatible rendering.
//! - `locate`: finds the line of a field path for errors found after deserializing.
//! - `gomap`: Go's map key order for rendering.
//! - `matchers`: the `matchers:` list syntax (a stand-in until `model` has a parser).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub mod cluster_tls;
pub mod global;
mod gomap;
pub mod http_config;
pub mod inhibit;
pub mod integrations;
pub mod load;
mod locate;
pub use locate::position_of;
mod matchers;
pub mod receiver;
pub mod render;
pub mod route;
pub mod time_interval;
pub mod types;
pub mod zone;

pub use global::GlobalConfig;
pub use http_config::HttpClientConfig;
pub use inhibit::InhibitRule;
pub use receiver::Receiver;
pub use route::{Route, match_re_matcher};
pub use time_interval::{NamedTimeInterval, TimeInterval};
pub use types::Secret;

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// The file was read but is not a valid configuration.
    #[error("{}", located(file, *line, field, message))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// The 1-based line of the offending node, when known.
        line: Option<usize>,
        /// The field path, e.g. `route.routes[0].group_wait` (empty for the whole file).
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// `file:line: field: message`, leaving out the parts that are unknown.
fn located(file: &Path, line: Option<usize>, field: &str, message: &str) -> String {
    let mut text = file.display().to_string();
    if let Some(line) = line {
        text.push_str(&format!(":{line}"));
    }
    text.push_str(": ");
    if !field.is_empty() {
        text.push_str(field);
        text.push_str(": ");
    }
    text.push_str(message);
    text
}

/// A loaded and validated `alertmanager.yml`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `global` section, defaults filled in.
    pub global: GlobalConfig,
    /// The root of the routing tree.
    pub route: Route,
    /// Inhibition rules, in file order.
    pub inhibit_rules: Vec<InhibitRule>,
    /// Receivers, in file order, with defaults from `global` copied in.
    pub receivers: Vec<Receiver>,
    /// Every named time interval (`time_intervals` and the deprecated `mute_time_intervals`).
    pub time_intervals: BTreeMap<String, Vec<TimeInterval>>,
    /// Template files: the `templates` globs, resolved against the file's directory and
    /// expanded.
    pub templates: Vec<PathBuf>,
    /// `templates` as written, joined to the file's directory but not expanded (Alertmanager
    /// renders them this way).
    pub template_patterns: Vec<String>,
    /// The deprecated `mute_time_intervals` section as written.
    pub mute_time_interval_list: Vec<NamedTimeInterval>,
    /// The `time_intervals` section as written.
    pub time_interval_list: Vec<NamedTimeInterval>,
}

impl Config {
    /// Reads, parses and validates a configuration file.
    pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Io { file: path.to_owned(), source })?;
        Config::from_yaml(&text, path)
    }

    /// Parses and validates configuration text; `path` names it in errors and anchors the
    /// relative paths it contains.
    pub fn from_yaml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        load::load(text, path)
    }

    /// The YAML Alertmanager 0.25 serves as `config.original` for this configuration.
    pub fn original_yaml(&self) -> String {
        render::render(self)
    }

    /// The receiver with this name.
    pub fn receiver(&self, name: &str) -> Option<&Receiver> {
        self.receivers.iter().find(|r| r.name == name)
    }
}

#[cfg(test)]
mod tests;
