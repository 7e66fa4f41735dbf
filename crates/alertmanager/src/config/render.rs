//! Rendering a [`Config`] as Alertmanager 0.25 does for `config.original`: Go's `yaml.v2`
//! marshalling of its config structs, defaults filled in, secrets replaced by `<secret>`.
//!
//! The structs serialize (field order, omitted empty fields, secrets, durations) into a YAML
//! value tree; [`emit`] then writes that tree with `yaml.v2`'s layout and scalar styles.

use serde::Serialize;
use yaml_serde::Value;

use super::{Config, GlobalConfig, InhibitRule, NamedTimeInterval, Receiver, Route};

mod emit;
mod scalar;

/// The top level in Alertmanager's field order.
#[derive(Serialize)]
struct Rendered<'a> {
    global: &'a GlobalConfig,
    route: &'a Route,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    inhibit_rules: &'a [InhibitRule],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    receivers: &'a [Receiver],
    templates: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    mute_time_intervals: &'a [NamedTimeInterval],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    time_intervals: &'a [NamedTimeInterval],
}

/// The `config.original` text for `config`.
pub fn render(config: &Config) -> String {
    let rendered = Rendered {
        global: &config.global,
        route: &config.route,
        inhibit_rules: &config.inhibit_rules,
        receivers: &config.receivers,
        templates: &config.template_patterns,
        mute_time_intervals: &config.mute_time_interval_list,
        time_intervals: &config.time_interval_list,
    };
    let tree = yaml_serde::to_value(&rendered).unwrap_or(Value::Null);
    emit::document(&tree)
}
