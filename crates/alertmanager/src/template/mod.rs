//! Notification templates as Alertmanager 0.25 runs them: the template data ([`Data`],
//! [`Alerts`], [`Alert`], [`Kv`], [`Pairs`], Go's [`GoTime`]), the function map
//! ([`default_funcs`]) and [`Templates`], the text and HTML template sets loaded from globs
//! and executed with `missingkey=zero`.
//!
//! Like Alertmanager, every set starts with default templates, which the integrations'
//! default fields call by name (`email.default.subject`, `slack.default.text`, ...):
//! Klaxon's own, written for Klaxon, in `default.tmpl`. Their names are Alertmanager's; their
//! wording is not. Configured files are parsed after them, so a user `define` of the same
//! name wins.
//!
//! Layout: `data` holds the Go types, `time` Go's `time.Time` and layout formatter, `funcs`
//! the 0.25 function map, `newer_funcs` the functions of later releases (opt-in), `json`
//! decoding data from JSON (`amtool template render
//! --template.data`).

mod data;
mod funcs;
mod json;
mod newer_funcs;
mod time;

pub use data::{Alert, Alerts, Data, Kv, Pair, Pairs};
pub use funcs::default_funcs;
pub use json::data_from_json;
pub use newer_funcs::{Clock, GoDuration, go_g4, newer_funcs};
pub use time::GoTime;

use std::path::Path;

/// Klaxon's default templates, parsed into every set before the configured files.
pub const DEFAULT_TEMPLATES: &str = include_str!("default.tmpl");

/// The name the default templates' file is parsed under (so that a configured file called
/// `default.tmpl` does not replace them).
const DEFAULT_TEMPLATES_NAME: &str = "klaxon/default.tmpl";

/// Loading templates failed: a bad glob, an unreadable file or a parse error.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The glob pattern is malformed (Go: `filepath.ErrBadPattern`).
    #[error("syntax error in pattern")]
    BadPattern,
    /// A matched file could not be opened or read (Go says `read` for a directory).
    #[error("{op} {path}: {reason}")]
    Read {
        /// `open` or `read`, the failing system call.
        op: &'static str,
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A file does not parse.
    #[error("{0}")]
    Parse(#[from] gotemplate::Error),
}

/// The text and HTML template sets of a configuration (Go's `template.Template`).
#[derive(Clone, Debug)]
pub struct Templates {
    text: gotemplate::Template,
    html: gotemplate::Template,
}

impl Templates {
    /// Empty sets with the 0.25 function map and `missingkey=zero`.
    pub fn new() -> Templates {
        Templates::with_funcs(Vec::new())
    }

    /// Sets holding the default templates, with the 0.25 function map plus `extra` (e.g.
    /// [`newer_funcs`]), which wins over a 0.25 function of the same name.
    pub fn with_funcs(extra: Vec<(&'static str, gotemplate::Func)>) -> Templates {
        let mut base = gotemplate::Template::new("")
            .funcs(default_funcs())
            .funcs(extra)
            .option_missingkey_zero();
        base.parse_named(DEFAULT_TEMPLATES_NAME, DEFAULT_TEMPLATES)
            .expect("the built-in default templates parse");
        Templates { html: base.clone().html_escaping(true), text: base }
    }

    /// Parses every file the globs match into empty 0.25 sets; see [`Templates::load_globs`].
    pub fn from_globs<S: AsRef<str>>(globs: &[S]) -> Result<Templates, LoadError> {
        Templates::new().load_globs(globs)
    }

    /// Parses every file the globs match, each as a template named by its base name (Go's
    /// `ParseGlob`). A glob matching nothing is fine: files may appear later.
    pub fn load_globs<S: AsRef<str>>(self, globs: &[S]) -> Result<Templates, LoadError> {
        let mut t = self;
        for pattern in globs {
            let paths = glob::glob(pattern.as_ref()).map_err(|_| LoadError::BadPattern)?;
            for path in paths.filter_map(Result::ok) {
                t.parse_file(&path)?;
            }
        }
        Ok(t)
    }

    fn parse_file(&mut self, path: &Path) -> Result<(), LoadError> {
        let text = std::fs::read_to_string(path).map_err(|e| LoadError::Read {
            op: if path.is_dir() { "read" } else { "open" },
            path: path.display().to_string(),
            reason: io_reason(&e),
        })?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        self.text.parse_named(&name, &text)?;
        self.html.parse_named(&name, &text)?;
        Ok(())
    }

    /// Renders `text` with the text set (Go's `ExecuteTextString`); empty text renders as
    /// nothing without parsing.
    pub fn execute_text_string(
        &self,
        text: &str,
        data: &gotemplate::Value,
    ) -> Result<String, gotemplate::Error> {
        execute(&self.text, text, data)
    }

    /// Renders `text` with the HTML set, escaping output (Go's `ExecuteHTMLString`).
    pub fn execute_html_string(
        &self,
        text: &str,
        data: &gotemplate::Value,
    ) -> Result<String, gotemplate::Error> {
        execute(&self.html, text, data)
    }
}

impl Default for Templates {
    fn default() -> Self {
        Templates::new()
    }
}

fn execute(
    set: &gotemplate::Template,
    text: &str,
    data: &gotemplate::Value,
) -> Result<String, gotemplate::Error> {
    if text.is_empty() {
        return Ok(String::new());
    }
    let mut t = set.clone();
    t.parse_named("", text)?;
    let mut out = String::new();
    t.execute_template(&mut out, "", data)?;
    Ok(out)
}

/// Go's wording of the common I/O errors.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "is a directory".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod default_tests;
