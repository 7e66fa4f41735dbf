//! Helpers shared by the integration tests.

#![allow(dead_code, unreachable_pub)]

use gotemplate::{Template, Value};

/// Parses and executes `src` as template "t" with `data`.
pub fn run(src: &str, data: &Value) -> Result<String, String> {
    run_with(Template::new("t"), src, data)
}

/// Parses and executes with a configured template.
pub fn run_with(mut t: Template, src: &str, data: &Value) -> Result<String, String> {
    t.parse(src).map_err(|e| e.to_string())?;
    let mut out = String::new();
    t.execute(&mut out, data).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Output of a template that must succeed.
pub fn ok(src: &str, data: &Value) -> String {
    run(src, data).unwrap_or_else(|e| panic!("{src}: {e}"))
}

/// Error text of a template that must fail.
pub fn err(src: &str, data: &Value) -> String {
    match run(src, data) {
        Ok(out) => panic!("{src}: expected an error, got {out:?}"),
        Err(e) => e,
    }
}

/// A small data set used across tests.
pub fn data() -> Value {
    Value::map([
        ("Name", Value::from("world")),
        ("Empty", Value::from("")),
        ("Zero", Value::from(0)),
        ("One", Value::from(1)),
        ("Pi", Value::from(3.5)),
        ("True", Value::from(true)),
        ("Nil", Value::Nil),
        ("List", Value::from(vec!["a", "b", "c"])),
        ("EmptyList", Value::list([])),
        ("Map", Value::map([("x", Value::from(1)), ("a", Value::from(2))])),
        ("Nested", Value::map([("Inner", Value::map([("Leaf", Value::from("leaf"))]))])),
    ])
}
