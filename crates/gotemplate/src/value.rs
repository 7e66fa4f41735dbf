//! The data model templates evaluate: [`Value`], the [`TemplateObject`] hook through which a
//! host exposes Go-like types with methods, and template functions ([`Func`]).
//!
//! Plain maps and lists behave like Go's `map[string]any` and `[]any`, which is what the
//! dynamic model amounts to; host types that need typed behaviour (methods, a typed zero
//! value for missing keys, a custom print form) implement [`TemplateObject`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// A template function: receives the evaluated arguments and returns a value or an error
/// message (reported by the engine as `error calling NAME: MESSAGE`, as Go does).
pub type Func = Arc<dyn Fn(&[Value]) -> Result<Value, String> + Send + Sync>;

/// A value seen by a template.
#[derive(Clone, Default)]
pub enum Value {
    /// Go's untyped `nil` (a nil `any`).
    #[default]
    Nil,
    /// A boolean.
    Bool(bool),
    /// A Go `int` (64 bits).
    Int(i64),
    /// A Go `float64`.
    Float(f64),
    /// A string.
    String(String),
    /// A list, like Go's `[]any`.
    List(Arc<Vec<Value>>),
    /// A string-keyed map, like Go's `map[string]any`; iterated in key order as Go's
    /// `range` and `fmt` do.
    Map(Arc<BTreeMap<String, Value>>),
    /// A host value with methods, fields and its own print form.
    Object(Arc<dyn TemplateObject>),
    /// A function value, callable with the `call` builtin.
    Func(Func),
}

/// A host type made visible to templates, standing in for a Go type with methods.
///
/// Field access `.Name` asks [`method`](Self::method) first and then
/// [`field`](Self::field), which is Go's order (methods shadow fields and map keys).
// `len` answers "does this type have a length" (Go's `len` builtin), so an `is_empty`
// counterpart would not make sense.
#[allow(clippy::len_without_is_empty)]
pub trait TemplateObject: Send + Sync {
    /// The Go type name used in error messages, e.g. `template.KV`.
    fn type_name(&self) -> String;

    /// Calls method `name` with `args`; `None` when there is no such method.
    fn method(&self, _name: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        None
    }

    /// A struct field or map entry called `name`; `None` when absent.
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }

    /// For map-like objects, the zero value of the element type: a missing key then yields
    /// "no value" (or this value under `missingkey=zero`) instead of an error.
    fn map_zero(&self) -> Option<Value> {
        None
    }

    /// The length, for `len`, truthiness and `range`; `None` when the type has none.
    fn len(&self) -> Option<usize> {
        None
    }

    /// The (key or index, element) pairs `range` visits, in order; `None` when the type
    /// cannot be ranged over.
    fn iter(&self) -> Option<Vec<(Value, Value)>> {
        None
    }

    /// The underlying basic value when the Go type has a basic kind (a named string type,
    /// for instance); used by comparisons and `printf` verbs.
    fn basic(&self) -> Option<Value> {
        None
    }

    /// The text Go's `fmt` prints for this value with `%v`.
    fn display(&self) -> String;

    /// Go truthiness: non-empty when it has a length, otherwise true (a struct).
    fn truth(&self) -> bool {
        self.len().is_none_or(|n| n > 0)
    }

    /// For HTML mode: the kind of trusted content this value is, if any.
    fn trusted(&self) -> Option<crate::html::Trusted> {
        None
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("Nil"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::Float(x) => write!(f, "Float({x})"),
            Value::String(s) => write!(f, "String({s:?})"),
            Value::List(l) => f.debug_list().entries(l.iter()).finish(),
            Value::Map(m) => f.debug_map().entries(m.iter()).finish(),
            Value::Object(o) => write!(f, "Object({})", o.type_name()),
            Value::Func(_) => f.write_str("Func"),
        }
    }
}

impl Value {
    /// Builds a list value.
    pub fn list(items: impl IntoIterator<Item = Value>) -> Value {
        Value::List(Arc::new(items.into_iter().collect()))
    }

    /// Builds a map value.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(Arc::new(entries.into_iter().map(|(k, v)| (k.into(), v)).collect()))
    }

    /// Wraps a host object.
    pub fn object(o: impl TemplateObject + 'static) -> Value {
        Value::Object(Arc::new(o))
    }

    /// Wraps a function so that templates can pass it to `call`.
    pub fn func(f: impl Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static) -> Value {
        Value::Func(Arc::new(f))
    }

    /// Go's truthiness: false, 0, nil and empty strings, lists and maps are false.
    pub fn truth(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(x) => *x != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Object(o) => o.truth(),
            Value::Func(_) => true,
        }
    }

    /// The string inside a string value (or a basic string object).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The Go type name Go's `fmt` and error messages would print for this value.
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Float(_) => "float64".into(),
            Value::String(_) => "string".into(),
            Value::List(_) => "[]interface {}".into(),
            Value::Map(_) => "map[string]interface {}".into(),
            Value::Object(o) => o.type_name(),
            Value::Func(_) => "func(...interface {}) (interface {}, error)".into(),
        }
    }

    /// Replaces an object that has a basic kind by that basic value; used where Go looks
    /// at the kind rather than the type (comparisons, printf verbs).
    pub(crate) fn basic(&self) -> Value {
        match self {
            Value::Object(o) => o.basic().unwrap_or_else(|| self.clone()),
            _ => self.clone(),
        }
    }

    /// Length as the `len` builtin sees it.
    pub(crate) fn len(&self) -> Result<usize, String> {
        match self {
            Value::String(s) => Ok(s.len()),
            Value::List(l) => Ok(l.len()),
            Value::Map(m) => Ok(m.len()),
            Value::Object(o) => o.len().ok_or_else(|| format!("len of type {}", o.type_name())),
            Value::Nil => Err("len of nil pointer".into()),
            other => Err(format!("len of type {}", other.type_name())),
        }
    }
}

impl fmt::Display for Value {
    /// Go's `fmt.Sprint` of the value (`%v`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::printf::sprint_value(self))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i64::from(i))
    }
}

impl From<usize> for Value {
    fn from(i: usize) -> Self {
        Value::Int(i64::try_from(i).unwrap_or(i64::MAX))
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Float(x)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::list(v.into_iter().map(Into::into))
    }
}

impl<T: Into<Value>> From<BTreeMap<String, T>> for Value {
    fn from(m: BTreeMap<String, T>) -> Self {
        Value::map(m.into_iter().map(|(k, v)| (k, v.into())))
    }
}
