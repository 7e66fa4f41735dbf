//! Go's `text/template`, written from scratch: the template language (actions, pipelines,
//! variables, `if`/`range`/`with`, `define`/`template`/`block`, trim markers, comments),
//! its builtins and `printf`, with Go's output and error messages.
//!
//! Data is a [`Value`]; host types with methods (Go receivers such as `.Alerts.Firing` or
//! `.StartsAt.Format "..."`) implement [`TemplateObject`].
//!
//! ```
//! use gotemplate::{Template, Value};
//! let mut t = Template::new("t");
//! t.parse("{{range $i, $x := .}}{{if $i}}, {{end}}{{$x | printf \"%q\"}}{{end}}").unwrap();
//! let mut out = String::new();
//! t.execute(&mut out, &Value::from(vec!["a", "b"])).unwrap();
//! assert_eq!(out, r#""a", "b""#);
//! ```
//!
//! Public API: [`Template`] (a named set: [`Template::new`], [`Template::funcs`] /
//! [`Template::func`], [`Template::option_missingkey_zero`], [`Template::delims`],
//! [`Template::html_escaping`], [`Template::parse`], [`Template::parse_named`], [`Template::execute`],
//! [`Template::execute_template`], [`Template::lookup`]), [`Value`], [`TemplateObject`],
//! [`Func`], [`Error`] and [`MissingKey`], plus Go's escapers and `strconv.Quote`.
//!
//! Differences from Go, on purpose:
//! - Nesting is bounded more tightly so that a 2 MiB stack always suffices: 100 nested
//!   control structures or parentheses per template (Go: 10000 parentheses, no bound on
//!   controls) and 1000 nested template calls plus control bodies at execution (Go: 100000
//!   template calls).
//! - Data is dynamic: a plain [`Value::Map`] behaves like `map[string]any`, so under
//!   `missingkey=zero` a missing key still prints `<no value>` (as Go does for that type);
//!   host objects choose their element zero value with [`TemplateObject::map_zero`].
//! - The HTML mode follows contexts while executing instead of checking them statically
//!   (see [`Template::html_escaping`]).
//! - User functions receive `&[Value]` and check their own arguments.
//!
//! Layout: [`lex`](crate) tokenises, `parse` builds `ast` trees, `exec` evaluates them,
//! `funcs` and `printf` hold the builtins, `escape` the escapers, `html` the
//! HTML-context tracking of [`Template::html_escaping`], [`value`] the data model.

mod ast;
mod escape;
mod exec;
mod funcs;
mod html;
mod lex;
mod literal;
mod parse;
mod printf;
mod template;
pub mod value;

pub use escape::{html_escape, js_escape, url_query_escape};
pub use html::{SafeContent, Trusted, safe_html, safe_url};
pub use printf::quote;
pub use template::Template;
pub use value::{Func, TemplateObject, Value};

use std::fmt;

/// Whether an error came from parsing or from execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The template text is malformed.
    Parse,
    /// Execution failed.
    Exec,
}

/// A parse or execution error; its text is what Go's `Error()` returns, e.g.
/// `template: t:1: function "foo" not defined`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    msg: String,
}

impl Error {
    /// Parse or execution.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, as Go formats it.
    pub fn message(&self) -> &str {
        &self.msg
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Error {}

/// What a missing map key evaluates to (Go's `missingkey` option).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingKey {
    /// `missingkey=default`/`invalid`: "no value", printed as `<no value>`.
    #[default]
    Default,
    /// `missingkey=zero`: the element type's zero value.
    Zero,
    /// `missingkey=error`: execution stops with an error.
    Error,
}
