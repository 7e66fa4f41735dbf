//! The public template set: configuration (functions, options, delimiters), parsing into
//! named definitions, and execution entry points.

use crate::exec::{Env, execute};
use crate::funcs::BUILTINS;
use crate::parse::{Tree, parse};
use crate::printf::quote;
use crate::value::{Func, Value};
use crate::{Error, ErrorKind, MissingKey};
use std::collections::HashMap;
use std::sync::Arc;

/// A set of named templates sharing functions and options, like Go's `*template.Template`.
///
/// The set has a name; text outside `{{define}}` in [`parse`](Self::parse) calls becomes the
/// template of that name. Later definitions replace earlier ones, except that an empty
/// (whitespace-only) body never replaces a non-empty one — Go's rule.
#[derive(Clone)]
pub struct Template {
    name: String,
    trees: HashMap<String, Arc<Tree>>,
    funcs: HashMap<String, Func>,
    missing_key: MissingKey,
    delims: (String, String),
    html: bool,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field("name", &self.name)
            .field("templates", &self.template_names())
            .finish_non_exhaustive()
    }
}

impl Template {
    /// An empty set called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Template {
            name: name.into(),
            trees: HashMap::new(),
            funcs: HashMap::new(),
            missing_key: MissingKey::Default,
            delims: ("{{".into(), "}}".into()),
            html: false,
        }
    }

    /// The set's name (the template [`execute`](Self::execute) runs).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds functions; they must be added before parsing templates that use them, and they
    /// take precedence over builtins of the same name.
    pub fn funcs<K: Into<String>>(mut self, funcs: impl IntoIterator<Item = (K, Func)>) -> Self {
        self.funcs.extend(funcs.into_iter().map(|(k, f)| (k.into(), f)));
        self
    }

    /// Adds one function.
    pub fn func(
        self,
        name: impl Into<String>,
        f: impl Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Self {
        let f: Func = Arc::new(f);
        self.funcs([(name.into(), f)])
    }

    /// Go's `Option("missingkey=zero")`, as Alertmanager sets it.
    pub fn option_missingkey_zero(self) -> Self {
        self.missing_key(MissingKey::Zero)
    }

    /// Sets the `missingkey` behaviour.
    pub fn missing_key(mut self, mode: MissingKey) -> Self {
        self.missing_key = mode;
        self
    }

    /// Sets the action delimiters (empty strings mean the defaults `{{` and `}}`).
    pub fn delims(mut self, left: &str, right: &str) -> Self {
        let pick = |s: &str, d: &str| if s.is_empty() { d.to_owned() } else { s.to_owned() };
        self.delims = (pick(left, "{{"), pick(right, "}}"));
        self
    }

    /// Turns on HTML escaping of action output, for HTML email bodies in the manner of
    /// Go's `html/template`: output is escaped for the context it lands in (text, RCDATA,
    /// attribute values, URL attributes, comments), HTML comments are dropped, missing
    /// values print nothing, and values made with [`crate::safe_html`] /
    /// [`crate::safe_url`] are trusted. Script and style contexts only accept numbers and
    /// booleans (anything else becomes `ZgotmplZ`).
    pub fn html_escaping(mut self, on: bool) -> Self {
        self.html = on;
        self
    }

    /// Parses `text`, adding its definitions to the set.
    pub fn parse(&mut self, text: &str) -> Result<&mut Self, Error> {
        let name = self.name.clone();
        self.parse_named(&name, text)
    }

    /// Parses `text` as the template called `name` (text outside `{{define}}` becomes that
    /// template), adding its definitions to the set: Go's `t.New(name).Parse(text)`, which
    /// `ParseFiles` does with each file's base name.
    pub fn parse_named(&mut self, name: &str, text: &str) -> Result<&mut Self, Error> {
        let funcs = &self.funcs;
        let has_func = |n: &str| funcs.contains_key(n) || BUILTINS.contains(&n);
        let trees = parse(name, text, (&self.delims.0, &self.delims.1), &has_func)?;
        for tree in trees {
            let keep_old =
                self.trees.get(&tree.name).is_some_and(|old| !crate::ast::is_empty_list(&old.root))
                    && crate::ast::is_empty_list(&tree.root);
            if !keep_old {
                self.trees.insert(tree.name.clone(), Arc::new(tree));
            }
        }
        Ok(self)
    }

    /// Whether a template called `name` is defined.
    pub fn lookup(&self, name: &str) -> Option<Template> {
        self.trees.contains_key(name).then(|| Template { name: name.to_owned(), ..self.clone() })
    }

    /// The names of all defined templates, sorted.
    pub fn template_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.trees.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Executes the set's own template with `data`, appending to `out`.
    pub fn execute(&self, out: &mut String, data: &Value) -> Result<(), Error> {
        let tree = self.trees.get(&self.name).ok_or_else(|| Error {
            kind: ErrorKind::Exec,
            msg: format!(
                "template: {}: {} is an incomplete or empty template",
                self.name,
                quote(&self.name)
            ),
        })?;
        self.run(tree, out, data)
    }

    /// Executes the template called `name` with `data`, appending to `out`.
    pub fn execute_template(
        &self,
        out: &mut String,
        name: &str,
        data: &Value,
    ) -> Result<(), Error> {
        let tree = self.trees.get(name).ok_or_else(|| Error {
            kind: ErrorKind::Exec,
            msg: format!(
                "template: no template {} associated with template {}",
                quote(name),
                quote(&self.name)
            ),
        })?;
        self.run(tree, out, data)
    }

    /// Convenience: executes `name` and returns the output.
    pub fn render(&self, name: &str, data: &Value) -> Result<String, Error> {
        let mut out = String::new();
        self.execute_template(&mut out, name, data)?;
        Ok(out)
    }

    fn run(&self, tree: &Tree, out: &mut String, data: &Value) -> Result<(), Error> {
        let env = Env {
            trees: &self.trees,
            funcs: &self.funcs,
            missing_key: self.missing_key,
            html: self.html,
        };
        execute(&env, tree, data.clone(), out)
    }
}
