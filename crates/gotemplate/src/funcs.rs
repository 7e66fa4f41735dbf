//! The builtin functions with Go's semantics and error messages: `and or not len index
//! slice print printf println html js urlquery eq ne lt le gt ge call`.
//!
//! `and` and `or` short-circuit, so the evaluator handles them; everything else here
//! receives evaluated arguments.

use crate::escape::{html_escape, js_escape, url_query_escape};
use crate::printf::{sprint, sprintf, sprintln};
use crate::value::Value;

/// Names of all builtins (for the parser's "function not defined" check).
pub(crate) const BUILTINS: &[&str] = &[
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "html", "js",
    "urlquery", "eq", "ne", "lt", "le", "gt", "ge", "call",
];

/// Fixed argument count and whether more may follow (Go's variadic parameter).
pub(crate) fn arity(name: &str) -> (usize, bool) {
    match name {
        "and" | "or" | "index" | "slice" | "printf" | "eq" | "call" => (1, true),
        "print" | "println" | "html" | "js" | "urlquery" => (0, true),
        "not" | "len" => (1, false),
        _ => (2, false),
    }
}

/// Calls builtin `name` (other than `and`/`or`) with evaluated arguments.
pub(crate) fn call_builtin(name: &str, args: &[Value]) -> Result<Value, String> {
    match name {
        "not" => Ok(Value::Bool(!args[0].truth())),
        "len" => args[0].len().map(Value::from),
        "index" => index(&args[0], &args[1..]),
        "slice" => slice(&args[0], &args[1..]),
        "print" => Ok(Value::String(sprint(args))),
        "println" => Ok(Value::String(sprintln(args))),
        "printf" => match args[0].basic() {
            Value::String(f) => Ok(Value::String(sprintf(&f, &args[1..]))),
            other => {
                Err(format!("wrong type for value; expected string; got {}", other.type_name()))
            }
        },
        "html" => Ok(Value::String(html_escape(&eval_args(args)))),
        "js" => Ok(Value::String(js_escape(&eval_args(args)))),
        "urlquery" => Ok(Value::String(url_query_escape(&eval_args(args)))),
        "eq" => eq(&args[0], &args[1..]).map(Value::Bool),
        "ne" => eq(&args[0], &args[1..2]).map(|b| Value::Bool(!b)),
        "lt" => lt(&args[0], &args[1]).map(Value::Bool),
        "le" => le(&args[0], &args[1]).map(Value::Bool),
        "gt" => le(&args[0], &args[1]).map(|b| Value::Bool(!b)),
        "ge" => lt(&args[0], &args[1]).map(|b| Value::Bool(!b)),
        "call" => call(&args[0], &args[1..]),
        _ => Err(format!("{name} is not a builtin")),
    }
}

/// The string the escaping builtins work on: a lone string as is, otherwise `Sprint`.
pub(crate) fn eval_args(args: &[Value]) -> String {
    match args {
        [Value::String(s)] => s.clone(),
        _ => sprint(args),
    }
}

fn call(f: &Value, args: &[Value]) -> Result<Value, String> {
    match f {
        Value::Func(func) => func(args),
        Value::Nil => Err("call of nil".into()),
        other => Err(format!("non-function of type {}", other.type_name())),
    }
}

fn index_arg(i: &Value, cap: usize) -> Result<usize, String> {
    let x = match i.basic() {
        Value::Int(x) => x,
        Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!("cannot index slice/array with type {}", other.type_name()));
        }
    };
    match usize::try_from(x) {
        Ok(u) if u <= cap => Ok(u),
        _ => Err(format!("index out of range: {x}")),
    }
}

fn index(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    let mut item = item.clone();
    if let Value::Nil = item {
        return Err("index of untyped nil".into());
    }
    for i in indexes {
        item = match &item {
            Value::List(l) => {
                let x = index_arg(i, l.len())?;
                l.get(x).cloned().ok_or(format!("index out of range: {x}"))?
            }
            Value::String(s) => {
                let x = index_arg(i, s.len())?;
                Value::Int(i64::from(
                    *s.as_bytes().get(x).ok_or(format!("index out of range: {x}"))?,
                ))
            }
            Value::Map(m) => match i.basic() {
                Value::String(k) => m.get(&k).cloned().unwrap_or(Value::Nil),
                other => {
                    return Err(format!("value has type {}; should be string", other.type_name()));
                }
            },
            Value::Object(o) => index_object(o.as_ref(), i)?,
            Value::Nil => return Err("index of nil pointer".into()),
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn index_object(o: &dyn crate::TemplateObject, i: &Value) -> Result<Value, String> {
    if let Some(zero) = o.map_zero() {
        return match i.basic() {
            Value::String(k) => Ok(o.field(&k).unwrap_or(zero)),
            other => Err(format!("value has type {}; should be string", other.type_name())),
        };
    }
    match (o.iter(), o.basic()) {
        (Some(items), _) => {
            let x = index_arg(i, items.len())?;
            items.into_iter().nth(x).map(|(_, v)| v).ok_or(format!("index out of range: {x}"))
        }
        (None, Some(b)) => index(&b, std::slice::from_ref(i)),
        (None, None) => Err(format!("can't index item of type {}", o.type_name())),
    }
}

fn slice(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match item.basic() {
        Value::Nil => return Err("slice of untyped nil".into()),
        Value::String(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::List(l) => l.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut idx = [0, len, len];
    for (k, i) in indexes.iter().enumerate() {
        idx[k] = index_arg(i, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match item.basic() {
        Value::String(s) => {
            Value::String(String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]]).into_owned())
        }
        Value::List(l) => Value::list(l[idx[0]..idx[1]].iter().cloned()),
        _ => unreachable!("checked above"),
    })
}

/// The kinds Go's comparison functions distinguish.
#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Nil,
    Bool,
    Int,
    Float,
    String,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Nil => Kind::Nil,
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => Kind::Other,
    }
}

const INCOMPATIBLE: &str = "incompatible types for comparison";
const INVALID: &str = "invalid type for comparison";

fn eq(a: &Value, rest: &[Value]) -> Result<bool, String> {
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let a = a.basic();
    for b in rest {
        let b = b.basic();
        let truth = match (kind(&a), kind(&b)) {
            (Kind::Nil, Kind::Nil) => true,
            (Kind::Nil, _) | (_, Kind::Nil) => false,
            (k1, k2) if k1 != k2 => return Err(INCOMPATIBLE.into()),
            _ => match (&a, &b) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Int(x), Value::Int(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::String(x), Value::String(y)) => x == y,
                (Value::Object(x), Value::Object(y)) => {
                    if x.type_name() != y.type_name() {
                        return Err(INCOMPATIBLE.into());
                    }
                    std::sync::Arc::ptr_eq(x, y) || x.display() == y.display()
                }
                (Value::Object(_), _) | (_, Value::Object(_)) => {
                    return Err(INCOMPATIBLE.into());
                }
                (x, _) => {
                    return Err(format!("non-comparable type {x}: {}", x.type_name()));
                }
            },
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn lt(a: &Value, b: &Value) -> Result<bool, String> {
    let (a, b) = (a.basic(), b.basic());
    match (&a, &b) {
        (Value::Int(x), Value::Int(y)) => Ok(x < y),
        (Value::Float(x), Value::Float(y)) => Ok(x < y),
        (Value::String(x), Value::String(y)) => Ok(x < y),
        _ => {
            let (k1, k2) = (kind(&a), kind(&b));
            let basic = |k| matches!(k, Kind::Bool | Kind::Int | Kind::Float | Kind::String);
            if !basic(k1) || !basic(k2) || k1 == k2 {
                Err(INVALID.into())
            } else {
                Err(INCOMPATIBLE.into())
            }
        }
    }
}

fn le(a: &Value, b: &Value) -> Result<bool, String> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}
