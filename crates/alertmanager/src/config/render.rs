//! Rendering a [`Config`] as Alertmanager 0.25 does for `config.original`: Go's `yaml.v2`
//! marshalling of its config structs, defaults filled in, secrets replaced by `<secret>`.
//!
//! The structs serialize (field order, omitted empty fields, secrets, durations) into a YAML
//! value tree; [`emit`] then writes that tree with `yaml.v2`'s layout and scalar styles.

use serde::Serialize;
use yaml_serde::Value;
use yaml_serde::value::Tag;

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
    let mut tree = yaml_serde::to_value(&rendered).unwrap_or(Value::Null);
    if let Value::Mapping(top) = &mut tree {
        for section in ["mute_time_intervals", "time_intervals"] {
            if let Some(Value::Sequence(list)) = top.get_mut(section) {
                mark_location_leaks(list);
            }
        }
    }
    emit::document(&tree)
}

/// `yaml.v2` switches to flow style for the next collection after a field tagged `flow`, and
/// only a collection resets that. `location` is tagged `flow` but is a scalar, so the switch
/// leaks: to the next interval of the same list, or else to the next named interval. We mark
/// those nodes so the emitter writes them in flow style.
fn mark_location_leaks(named_list: &mut [Value]) {
    let has_location = |v: &Value| matches!(v, Value::Mapping(m) if m.contains_key("location"));
    let mut named_to_flow = Vec::new();
    for (i, named) in named_list.iter_mut().enumerate() {
        let Some(Value::Sequence(intervals)) = named.get_mut("time_intervals") else { continue };
        let leaks: Vec<usize> =
            (0..intervals.len()).filter(|&j| has_location(&intervals[j])).collect();
        for j in leaks {
            if j + 1 < intervals.len() {
                flow(&mut intervals[j + 1]);
            } else {
                named_to_flow.push(i + 1);
            }
        }
    }
    for i in named_to_flow {
        if let Some(named) = named_list.get_mut(i) {
            flow(named);
        }
    }
}

fn flow(value: &mut Value) {
    if !matches!(value, Value::Tagged(_)) {
        let inner = std::mem::replace(value, Value::Null);
        *value = Value::Tagged(Box::new(yaml_serde::value::TaggedValue {
            tag: Tag::new(FLOW_TAG),
            value: inner,
        }));
    }
}

/// The private tag marking a node to be written in flow style.
const FLOW_TAG: &str = "klaxon-flow";
