//! The `TemplateObject` hook with the shapes Alertmanager's data needs: a label map with
//! methods (some taking arguments), a list with methods, and a time value with `Format`.

mod common;
use common::run_with;
use gotemplate::{Template, TemplateObject, Value};
use std::collections::BTreeMap;

#[derive(Clone)]
struct Kv(BTreeMap<String, String>);

struct Pair(String, String);

impl TemplateObject for Pair {
    fn type_name(&self) -> String {
        "template.Pair".into()
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Name" => Some(Value::from(self.0.as_str())),
            "Value" => Some(Value::from(self.1.as_str())),
            _ => None,
        }
    }
    fn display(&self) -> String {
        format!("{{{} {}}}", self.0, self.1)
    }
}

impl TemplateObject for Kv {
    fn type_name(&self) -> String {
        "template.KV".into()
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        Some(match (name, args) {
            ("SortedPairs", []) => Ok(Value::list(
                self.0.iter().map(|(k, v)| Value::object(Pair(k.clone(), v.clone()))),
            )),
            ("Names", []) => Ok(Value::list(self.0.keys().map(|k| Value::from(k.as_str())))),
            ("Remove", [Value::List(keys)]) => {
                let mut m = self.0.clone();
                for k in keys.iter() {
                    m.remove(&k.to_string());
                }
                Ok(Value::object(Kv(m)))
            }
            ("SortedPairs" | "Names" | "Remove", _) => Err(format!("bad arguments for {name}")),
            _ => return None,
        })
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
    fn display(&self) -> String {
        let inner: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        format!("map[{}]", inner.join(" "))
    }
}

struct Alerts(Vec<Value>);

impl TemplateObject for Alerts {
    fn type_name(&self) -> String {
        "template.Alerts".into()
    }
    fn method(&self, name: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        let want = match name {
            "Firing" => "firing",
            "Resolved" => "resolved",
            _ => return None,
        };
        let picked = self.0.iter().filter(|a| match a {
            Value::Map(m) => m.get("Status").and_then(Value::as_str) == Some(want),
            _ => false,
        });
        Some(Ok(Value::object(Alerts(picked.cloned().collect()))))
    }
    fn len(&self) -> Option<usize> {
        Some(self.0.len())
    }
    fn iter(&self) -> Option<Vec<(Value, Value)>> {
        Some(self.0.iter().cloned().enumerate().map(|(i, v)| (Value::from(i), v)).collect())
    }
    fn display(&self) -> String {
        format!("{}", Value::list(self.0.iter().cloned()))
    }
}

struct Time;

impl TemplateObject for Time {
    fn type_name(&self) -> String {
        "time.Time".into()
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        match name {
            "Format" => Some(match args {
                [Value::String(layout)] if layout == "2006-01-02" => Ok(Value::from("2024-05-06")),
                [Value::String(layout)] => Ok(Value::from(format!("layout {layout}"))),
                _ => Err(format!("wrong number of args for Format: want 1 got {}", args.len())),
            }),
            "Unix" => Some(Ok(Value::from(1714953600i64))),
            _ => None,
        }
    }
    fn display(&self) -> String {
        "2024-05-06 00:00:00 +0000 UTC".into()
    }
}

fn alert(name: &str, status: &str) -> Value {
    let labels = Kv(BTreeMap::from([("alertname".to_owned(), name.to_owned())]));
    Value::map([
        ("Status", Value::from(status)),
        ("Labels", Value::object(labels)),
        ("StartsAt", Value::object(Time)),
    ])
}

fn data() -> Value {
    let common = Kv(BTreeMap::from([
        ("alertname".to_owned(), "Disk".to_owned()),
        ("severity".to_owned(), "critical".to_owned()),
        ("team".to_owned(), "ops".to_owned()),
    ]));
    Value::map([
        ("CommonLabels", Value::object(common)),
        ("Alerts", Value::object(Alerts(vec![alert("A", "firing"), alert("B", "resolved")]))),
        ("StartsAt", Value::object(Time)),
    ])
}

fn tmpl() -> Template {
    Template::new("t").func("list", |a: &[Value]| Ok(Value::list(a.iter().cloned())))
}

fn run(src: &str) -> Result<String, String> {
    run_with(tmpl(), src, &data())
}

#[test]
fn label_map_with_methods_and_keys() {
    assert_eq!(run("{{.CommonLabels.severity}}").unwrap(), "critical");
    assert_eq!(run("{{.CommonLabels.nope}}").unwrap(), "<no value>");
    assert_eq!(
        run_with(tmpl().option_missingkey_zero(), "[{{.CommonLabels.nope}}]", &data()).unwrap(),
        "[]"
    );
    assert_eq!(
        run("{{range .CommonLabels.SortedPairs}}{{.Name}}={{.Value}} {{end}}").unwrap(),
        "alertname=Disk severity=critical team=ops "
    );
    assert_eq!(
        run("{{(.CommonLabels.Remove (list \"alertname\" \"team\")).Names}}").unwrap(),
        "[severity]"
    );
    assert_eq!(
        run("{{.CommonLabels.Remove (list \"team\")}}").unwrap(),
        "map[alertname:Disk severity:critical]"
    );
    assert_eq!(run("{{len .CommonLabels}} {{index .CommonLabels \"team\"}}").unwrap(), "3 ops");
    assert_eq!(
        run("{{range $k, $v := .CommonLabels}}{{$k}}:{{$v}},{{end}}").unwrap(),
        "alertname:Disk,severity:critical,team:ops,"
    );
    assert_eq!(run("{{if .CommonLabels}}yes{{end}}").unwrap(), "yes");
    assert_eq!(
        run("{{.CommonLabels.Remove}}").unwrap_err(),
        "template: t:1:15: executing \"t\" at <.CommonLabels.Remove>: error calling Remove: bad arguments for Remove"
    );
    assert_eq!(
        run("{{.CommonLabels.severity 1}}").unwrap_err(),
        "template: t:1:15: executing \"t\" at <.CommonLabels.severi...>: severity is not a method but has arguments"
    );
}

#[test]
fn list_with_methods() {
    assert_eq!(
        run("{{.Alerts.Firing | len}} {{len .Alerts.Resolved}} {{len .Alerts}}").unwrap(),
        "1 1 2"
    );
    assert_eq!(
        run("{{range .Alerts.Firing}}{{.Labels.alertname}}{{end}}|{{range .Alerts}}{{.Status}} {{end}}").unwrap(),
        "A|firing resolved "
    );
    assert_eq!(run("{{(index .Alerts 1).Status}}").unwrap(), "resolved");
}

#[test]
fn time_values() {
    assert_eq!(run("{{.StartsAt.Format \"2006-01-02\"}}").unwrap(), "2024-05-06");
    assert_eq!(run("{{\"15:04\" | .StartsAt.Format}}").unwrap(), "layout 15:04");
    assert_eq!(
        run("{{.StartsAt}} {{.StartsAt.Unix}}").unwrap(),
        "2024-05-06 00:00:00 +0000 UTC 1714953600"
    );
    assert_eq!(
        run("{{range .Alerts}}{{.StartsAt.Format \"2006-01-02\"}} {{end}}").unwrap(),
        "2024-05-06 2024-05-06 "
    );
    assert_eq!(
        run("{{.StartsAt.Nope}}").unwrap_err(),
        "template: t:1:11: executing \"t\" at <.StartsAt.Nope>: can't evaluate field Nope in type time.Time"
    );
    assert_eq!(
        run("{{printf \"%s|%v\" .StartsAt .StartsAt}}").unwrap(),
        "2024-05-06 00:00:00 +0000 UTC|2024-05-06 00:00:00 +0000 UTC"
    );
}
