//! The data notification templates see, as Alertmanager's Go types: `Data`, `Alerts`,
//! `Alert`, `KV`, `Pairs` and `Pair`, with their methods, Go type names (for error
//! messages) and Go's `%v` print forms.

use std::collections::BTreeMap;
use std::sync::Arc;

use gotemplate::{TemplateObject, Value};

use super::time::GoTime;

/// Go's `fmt` form of a list: `[a b c]`.
fn print_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    format!("[{}]", items.into_iter().collect::<Vec<_>>().join(" "))
}

/// Go's `template.KV`: a `map[string]string`. Keys read as fields (missing keys give the
/// zero string under `missingkey=zero`), `range` and printing go in key order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Kv(pub Arc<BTreeMap<String, String>>);

impl Kv {
    /// A KV from pairs.
    pub fn new<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Kv {
        Kv(Arc::new(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect()))
    }

    /// The pairs sorted by name, except that `alertname` comes first.
    pub fn sorted_pairs(&self) -> Pairs {
        let mut pairs: Vec<Pair> = self.0.iter().map(|(k, v)| Pair::new(k, v)).collect();
        if let Some(i) = pairs.iter().position(|p| p.name == "alertname") {
            let first = pairs.remove(i);
            pairs.insert(0, first);
        }
        Pairs(Arc::new(pairs))
    }

    /// A copy without the given keys.
    pub fn remove(&self, keys: &[String]) -> Kv {
        let kept = self.0.iter().filter(|(k, _)| !keys.contains(k));
        Kv(Arc::new(kept.map(|(k, v)| (k.clone(), v.clone())).collect()))
    }
}

impl TemplateObject for Kv {
    fn type_name(&self) -> String {
        "template.KV".into()
    }

    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let r = match name {
            "SortedPairs" => no_args(name, args).map(|()| Value::object(self.sorted_pairs())),
            "Names" => no_args(name, args).map(|()| self.sorted_pairs().names()),
            "Values" => no_args(name, args).map(|()| self.sorted_pairs().values()),
            "Remove" => match args {
                [keys] => string_list(keys).map(|keys| Value::object(self.remove(&keys))),
                _ => Err(format!("wrong number of args for Remove: want 1 got {}", args.len())),
            },
            _ => return None,
        };
        Some(r)
    }

    fn field(&self, name: &str) -> Option<Value> {
        self.0.get(name).map(|v| Value::from(v.as_str()))
    }

    fn map_zero(&self) -> Option<Value> {
        Some(Value::from(""))
    }

    fn len(&self) -> Option<usize> {
        Some(self.0.len())
    }

    fn iter(&self) -> Option<Vec<(Value, Value)>> {
        Some(
            self.0
                .iter()
                .map(|(k, v)| (Value::from(k.as_str()), Value::from(v.as_str())))
                .collect(),
        )
    }

    /// The underlying map, so that `printf` verbs, `eq` and `slice` treat a KV as Go
    /// treats a map kind.
    fn basic(&self) -> Option<Value> {
        Some(Value::map(self.0.iter().map(|(k, v)| (k.as_str(), Value::from(v.as_str())))))
    }

    fn display(&self) -> String {
        let items: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        format!("map{}", print_list(items.iter().map(String::as_str)))
    }
}

/// A `[]string` argument (e.g. from `stringSlice` or `.Names`).
pub(crate) fn string_list(v: &Value) -> Result<Vec<String>, String> {
    let wrong = || format!("wrong type for value; expected []string; got {}", v.type_name());
    match v {
        Value::List(items) => {
            items.iter().map(|i| i.as_str().map(str::to_owned).ok_or_else(wrong)).collect()
        }
        Value::Nil => Ok(Vec::new()),
        _ => Err(wrong()),
    }
}

fn no_args(name: &str, args: &[Value]) -> Result<(), String> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(format!("wrong number of args for {name}: want 0 got {}", args.len()))
    }
}

/// Go's `template.Pair`: a name and a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    /// The label or annotation name.
    pub name: String,
    /// Its value.
    pub value: String,
}

impl Pair {
    fn new(name: &str, value: &str) -> Pair {
        Pair { name: name.to_owned(), value: value.to_owned() }
    }
}

impl TemplateObject for Pair {
    fn type_name(&self) -> String {
        "template.Pair".into()
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Name" => Some(Value::from(self.name.as_str())),
            "Value" => Some(Value::from(self.value.as_str())),
            _ => None,
        }
    }

    fn display(&self) -> String {
        format!("{{{} {}}}", self.name, self.value)
    }
}

/// Go's `template.Pairs`: a list of pairs with `Names` and `Values`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pairs(pub Arc<Vec<Pair>>);

impl Pairs {
    fn names(&self) -> Value {
        Value::list(self.0.iter().map(|p| Value::from(p.name.as_str())))
    }

    fn values(&self) -> Value {
        Value::list(self.0.iter().map(|p| Value::from(p.value.as_str())))
    }
}

impl TemplateObject for Pairs {
    fn type_name(&self) -> String {
        "template.Pairs".into()
    }

    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        match name {
            "Names" => Some(no_args(name, args).map(|()| self.names())),
            "Values" => Some(no_args(name, args).map(|()| self.values())),
            _ => None,
        }
    }

    fn len(&self) -> Option<usize> {
        Some(self.0.len())
    }

    fn iter(&self) -> Option<Vec<(Value, Value)>> {
        Some(
            self.0
                .iter()
                .enumerate()
                .map(|(i, p)| (Value::from(i), Value::object(p.clone())))
                .collect(),
        )
    }

    /// The underlying slice (Go's slice kind: sliceable, not comparable).
    fn basic(&self) -> Option<Value> {
        Some(Value::list(self.0.iter().map(|p| Value::object(p.clone()))))
    }

    fn display(&self) -> String {
        let items: Vec<String> = self.0.iter().map(Pair::display).collect();
        print_list(items.iter().map(String::as_str))
    }
}

/// Go's `template.Alert`: one alert of a notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// `firing` or `resolved`.
    pub status: String,
    /// The alert's labels.
    pub labels: Kv,
    /// The alert's annotations.
    pub annotations: Kv,
    /// When the alert started.
    pub starts_at: GoTime,
    /// When it ended or will be considered resolved.
    pub ends_at: GoTime,
    /// The link to the source of the alert.
    pub generator_url: String,
    /// The fingerprint of the labels, in hex.
    pub fingerprint: String,
}

impl TemplateObject for Alert {
    fn type_name(&self) -> String {
        "template.Alert".into()
    }

    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "Status" => Value::from(self.status.as_str()),
            "Labels" => Value::object(self.labels.clone()),
            "Annotations" => Value::object(self.annotations.clone()),
            "StartsAt" => Value::object(self.starts_at.clone()),
            "EndsAt" => Value::object(self.ends_at.clone()),
            "GeneratorURL" => Value::from(self.generator_url.as_str()),
            "Fingerprint" => Value::from(self.fingerprint.as_str()),
            _ => return None,
        })
    }

    fn display(&self) -> String {
        format!(
            "{{{} {} {} {} {} {} {}}}",
            self.status,
            self.labels.display(),
            self.annotations.display(),
            self.starts_at.go_string(),
            self.ends_at.go_string(),
            self.generator_url,
            self.fingerprint
        )
    }
}

/// A list of alerts: Go's `template.Alerts` (with `Firing` and `Resolved`) or, as those
/// methods return, a plain `[]template.Alert` without methods.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Alerts {
    /// The alerts.
    pub alerts: Arc<Vec<Alert>>,
    /// False for the plain slice type.
    pub named: bool,
}

impl Alerts {
    /// The named `template.Alerts` list.
    pub fn new(alerts: Vec<Alert>) -> Alerts {
        Alerts { alerts: Arc::new(alerts), named: true }
    }

    fn with_status(&self, status: &str) -> Value {
        let alerts = self.alerts.iter().filter(|a| a.status == status).cloned().collect();
        Value::object(Alerts { alerts: Arc::new(alerts), named: false })
    }
}

impl TemplateObject for Alerts {
    fn type_name(&self) -> String {
        if self.named { "template.Alerts" } else { "[]template.Alert" }.into()
    }

    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        match name {
            "Firing" if self.named => {
                Some(no_args(name, args).map(|()| self.with_status("firing")))
            }
            "Resolved" if self.named => {
                Some(no_args(name, args).map(|()| self.with_status("resolved")))
            }
            _ => None,
        }
    }

    fn len(&self) -> Option<usize> {
        Some(self.alerts.len())
    }

    fn iter(&self) -> Option<Vec<(Value, Value)>> {
        Some(
            self.alerts
                .iter()
                .enumerate()
                .map(|(i, a)| (Value::from(i), Value::object(a.clone())))
                .collect(),
        )
    }

    /// The underlying slice (Go's slice kind: sliceable, not comparable).
    fn basic(&self) -> Option<Value> {
        Some(Value::list(self.alerts.iter().map(|a| Value::object(a.clone()))))
    }

    fn display(&self) -> String {
        let items: Vec<String> = self.alerts.iter().map(Alert::display).collect();
        print_list(items.iter().map(String::as_str))
    }
}

/// Go's `template.Data`: what a notification template is executed with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Data {
    /// The receiver's name.
    pub receiver: String,
    /// `firing` if any alert fires, else `resolved`.
    pub status: String,
    /// The alerts of the notification.
    pub alerts: Alerts,
    /// The labels the group is keyed on.
    pub group_labels: Kv,
    /// Labels all alerts share.
    pub common_labels: Kv,
    /// Annotations all alerts share.
    pub common_annotations: Kv,
    /// Alertmanager's external URL.
    pub external_url: String,
}

impl TemplateObject for Data {
    fn type_name(&self) -> String {
        "template.Data".into()
    }

    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "Receiver" => Value::from(self.receiver.as_str()),
            "Status" => Value::from(self.status.as_str()),
            "Alerts" => Value::object(self.alerts.clone()),
            "GroupLabels" => Value::object(self.group_labels.clone()),
            "CommonLabels" => Value::object(self.common_labels.clone()),
            "CommonAnnotations" => Value::object(self.common_annotations.clone()),
            "ExternalURL" => Value::from(self.external_url.as_str()),
            _ => return None,
        })
    }

    fn display(&self) -> String {
        format!(
            "{{{} {} {} {} {} {} {}}}",
            self.receiver,
            self.status,
            self.alerts.display(),
            self.group_labels.display(),
            self.common_labels.display(),
            self.common_annotations.display(),
            self.external_url
        )
    }
}

impl Data {
    /// The data as a template value.
    pub fn to_value(&self) -> Value {
        Value::object(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_pairs_put_alertname_first() {
        let kv = Kv::new([("b", "2"), ("alertname", "A"), ("a", "1")]);
        assert_eq!(kv.sorted_pairs().display(), "[{alertname A} {a 1} {b 2}]");
        assert_eq!(kv.display(), "map[a:1 alertname:A b:2]");
        assert_eq!(kv.remove(&["a".into()]).display(), "map[alertname:A b:2]");
    }
}
