//! HTML mode: tracks where in an HTML document each action's output lands (text, a tag,
//! an attribute value and its kind, a comment, script or style) by scanning the template
//! text as it is written, and escapes the output for that context the way Go's
//! `html/template` does. Trusted values ([`safe_html`], [`safe_url`]) skip the escaping
//! their type vouches for. HTML comments in the template text are dropped.
//!
//! Unlike `html/template`, contexts are followed during execution rather than inferred
//! statically, so templates whose branches end in different contexts are not rejected.
//! Script and style contexts (including `on*` and `style` attributes) only let numbers
//! and booleans through and otherwise write Go's failsafe `ZgotmplZ`.

use crate::escape::{
    html_escape, html_nospace_escape, html_template_escape, is_safe_url, url_process,
    url_query_escape,
};
use crate::value::{TemplateObject, Value};

/// What kind of trusted content a value carries (Go's `template.HTML`, `template.URL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trusted {
    /// Markup that may be written as is in HTML text.
    Html,
    /// A URL that needs no scheme check.
    Url,
}

/// A string marked as trusted content.
#[derive(Debug)]
pub struct SafeContent {
    kind: Trusted,
    text: String,
}

impl TemplateObject for SafeContent {
    fn type_name(&self) -> String {
        match self.kind {
            Trusted::Html => "template.HTML".into(),
            Trusted::Url => "template.URL".into(),
        }
    }
    fn basic(&self) -> Option<Value> {
        Some(Value::String(self.text.clone()))
    }
    fn display(&self) -> String {
        self.text.clone()
    }
    fn len(&self) -> Option<usize> {
        Some(self.text.len())
    }
    fn trusted(&self) -> Option<Trusted> {
        Some(self.kind)
    }
}

/// Marks `s` as trusted HTML (Go's `template.HTML`, Alertmanager's `safeHtml`).
pub fn safe_html(s: impl Into<String>) -> Value {
    Value::object(SafeContent { kind: Trusted::Html, text: s.into() })
}

/// Marks `s` as a trusted URL (Go's `template.URL`, Alertmanager's `safeUrl`).
pub fn safe_url(s: impl Into<String>) -> Value {
    Value::object(SafeContent { kind: Trusted::Url, text: s.into() })
}

/// The builtins `html/template` treats as escapers of its own when a printed pipeline ends
/// in them: where the context needs an equivalent escaper, the builtin takes that escaper's
/// place in the context's chain instead of running twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Predefined {
    /// `html`: equivalent to the escapers of HTML text, RCDATA and quoted attribute values.
    Html,
    /// `urlquery`: equivalent to the escapers of URL attribute values.
    UrlQuery,
}

impl Predefined {
    /// The builtin called `name`, if it is one.
    pub(crate) fn named(name: &str) -> Option<Predefined> {
        match name {
            "html" => Some(Predefined::Html),
            "urlquery" => Some(Predefined::UrlQuery),
            _ => None,
        }
    }

    /// The builtin's own escaping.
    pub(crate) fn apply(self, s: &str) -> String {
        match self {
            Predefined::Html => html_escape(s),
            Predefined::UrlQuery => url_query_escape(s),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum State {
    #[default]
    Text,
    Comment,
    Tag,
    AttrName,
    AfterName,
    BeforeValue,
    Value,
    /// Inside `<script>`, `<style>`, `<textarea>` or `<title>` until the closing tag.
    Raw,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum AttrKind {
    #[default]
    Plain,
    Url,
    Code,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum Delim {
    #[default]
    Double,
    Single,
    Unquoted,
}

/// The HTML context tracker.
#[derive(Default)]
pub(crate) struct Escaper {
    state: State,
    tag: String,
    closing: bool,
    attr: String,
    delim: Delim,
    value: String,
}

fn attr_kind(name: &str) -> AttrKind {
    let name = name.to_ascii_lowercase();
    let name = name.strip_prefix("data-").unwrap_or(&name);
    if name.starts_with("on") || name == "style" {
        return AttrKind::Code;
    }
    const URLS: &[&str] = &[
        "action",
        "archive",
        "background",
        "cite",
        "classid",
        "codebase",
        "data",
        "formaction",
        "href",
        "icon",
        "longdesc",
        "manifest",
        "poster",
        "profile",
        "src",
        "usemap",
        "xmlns",
    ];
    if URLS.contains(&name) || name.contains("src") || name.contains("uri") || name.contains("url")
    {
        AttrKind::Url
    } else {
        AttrKind::Plain
    }
}

impl Escaper {
    /// Advances the context over literal template text and returns the text to write:
    /// HTML comments are dropped and a `<` in text that starts no tag, comment or doctype
    /// is written `&lt;`, as `html/template` does.
    pub(crate) fn feed_text(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            let was_comment = self.state == State::Comment;
            let was_text = self.state == State::Text;
            let next = self.step(c, rest);
            let consumed = &rest[..rest.len() - next.len()];
            let stray_lt = was_text
                && self.state == State::Text
                && consumed.ends_with('<')
                && !rest[consumed.len() - 1..].to_ascii_uppercase().starts_with("<!DOCTYPE");
            if stray_lt {
                out.push_str(&consumed[..consumed.len() - 1]);
                out.push_str("&lt;");
            } else if !was_comment {
                let keep = if self.state == State::Comment {
                    consumed.len() - "<!--".len()
                } else {
                    consumed.len()
                };
                out.push_str(&consumed[..keep]);
            }
            rest = next;
        }
        out
    }

    /// Consumes at least one character of `rest` and returns what remains.
    fn step<'a>(&mut self, c: char, rest: &'a str) -> &'a str {
        let after = &rest[c.len_utf8()..];
        match self.state {
            State::Text => return self.step_text(rest),
            State::Comment => {
                if let Some(i) = rest.find("-->") {
                    self.state = State::Text;
                    return &rest[i + 3..];
                }
                return "";
            }
            State::Raw => {
                let end = format!("</{}", self.tag);
                let lower = rest.to_ascii_lowercase();
                return match lower.find(&end) {
                    Some(i) => {
                        self.state = State::Tag;
                        self.closing = true;
                        &rest[i + end.len()..]
                    }
                    None => "",
                };
            }
            State::Tag | State::AfterName => match c {
                '>' => self.end_tag(),
                '=' if self.state == State::AfterName => self.state = State::BeforeValue,
                c if c.is_whitespace() || c == '/' => {}
                c => {
                    self.attr = c.to_string();
                    self.state = State::AttrName;
                }
            },
            State::AttrName => match c {
                '>' => self.end_tag(),
                '=' => self.state = State::BeforeValue,
                '/' => self.state = State::Tag,
                c if c.is_whitespace() => self.state = State::AfterName,
                c => self.attr.push(c),
            },
            State::BeforeValue => match c {
                '>' => self.end_tag(),
                c if c.is_whitespace() => {}
                '"' => self.start_value(Delim::Double),
                '\'' => self.start_value(Delim::Single),
                c => {
                    self.start_value(Delim::Unquoted);
                    self.value.push(c);
                }
            },
            State::Value => self.step_value(c),
        }
        after
    }

    fn step_text<'a>(&mut self, rest: &'a str) -> &'a str {
        let Some(i) = rest.find('<') else {
            return "";
        };
        let tail = &rest[i..];
        if let Some(t) = tail.strip_prefix("<!--") {
            self.state = State::Comment;
            return t;
        }
        let (closing, name_start) = match tail.strip_prefix("</") {
            Some(t) => (true, t),
            None => (false, &tail[1..]),
        };
        let n = name_start.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(name_start.len());
        if n == 0 || !name_start.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return &tail[1..];
        }
        self.tag = name_start[..n].to_ascii_lowercase();
        self.closing = closing;
        self.state = State::Tag;
        &name_start[n..]
    }

    fn step_value(&mut self, c: char) {
        let ends = match self.delim {
            Delim::Double => c == '"',
            Delim::Single => c == '\'',
            Delim::Unquoted => c.is_whitespace() || c == '>',
        };
        if !ends {
            self.value.push(c);
            return;
        }
        self.state = State::Tag;
        if c == '>' {
            self.end_tag();
        }
    }

    fn start_value(&mut self, delim: Delim) {
        self.state = State::Value;
        self.delim = delim;
        self.value.clear();
    }

    fn end_tag(&mut self) {
        let raw = ["script", "style", "textarea", "title"].contains(&self.tag.as_str());
        self.state = if raw && !self.closing { State::Raw } else { State::Text };
    }

    /// Escapes a value printed by an action in the current context.
    pub(crate) fn escape_value(&mut self, v: &Value) -> String {
        let trusted = match v {
            Value::Object(o) => o.trusted(),
            _ => None,
        };
        let text = match v {
            Value::Nil => String::new(),
            v => crate::printf::sprint_value(v),
        };
        let code_ok = matches!(v.basic(), Value::Int(_) | Value::Float(_) | Value::Bool(_));
        self.escape(&text, trusted, code_ok)
    }

    /// Escapes text printed where no value was available.
    pub(crate) fn escape_str(&mut self, s: &str) -> String {
        self.escape(s, None, false)
    }

    fn escape(&mut self, s: &str, trusted: Option<Trusted>, code_ok: bool) -> String {
        let code = |s: &str| if code_ok { s.to_owned() } else { "ZgotmplZ".to_owned() };
        match self.state {
            State::Text if trusted == Some(Trusted::Html) => s.to_owned(),
            State::Text => html_template_escape(s),
            State::Comment => String::new(),
            State::Raw if self.tag == "textarea" || self.tag == "title" => html_template_escape(s),
            State::Raw => code(s),
            State::Tag | State::AttrName | State::AfterName => {
                let ok = !s.is_empty()
                    && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                if ok { s.to_ascii_lowercase() } else { "ZgotmplZ".into() }
            }
            State::BeforeValue => {
                self.start_value(Delim::Unquoted);
                self.escape_attr(s, trusted, code_ok)
            }
            State::Value => self.escape_attr(s, trusted, code_ok),
        }
    }

    /// Whether a pipeline ending in `esc` may print here: `html/template` refuses `html` in
    /// an unquoted plain attribute value, where it would not stop the value from ending.
    pub(crate) fn predefined_allowed(&self, esc: Predefined) -> bool {
        let unquoted = match self.state {
            State::BeforeValue => true,
            State::Value => self.delim == Delim::Unquoted,
            _ => false,
        };
        !(esc == Predefined::Html && unquoted && attr_kind(&self.attr) == AttrKind::Plain)
    }

    /// Prints `input`, the value a pipeline's final `esc` call would have received, when
    /// this context's escapers include one equivalent to `esc`: the chain runs with `esc`
    /// in that escaper's place, and the pipeline's own call is dropped (Go's
    /// `ensurePipelineContains`). `None` when no escaper here is equivalent: the pipeline
    /// then runs whole and its output is escaped as any other value.
    pub(crate) fn escape_with_predefined(
        &mut self,
        input: &Value,
        esc: Predefined,
    ) -> Option<String> {
        let text = crate::funcs::eval_args(std::slice::from_ref(input));
        match (self.state, esc) {
            (State::Text, Predefined::Html) => Some(esc.apply(&text)),
            (State::Raw, Predefined::Html) if self.tag == "textarea" || self.tag == "title" => {
                Some(esc.apply(&text))
            }
            (State::BeforeValue | State::Value, _) => {
                if self.state == State::BeforeValue {
                    self.start_value(Delim::Unquoted);
                }
                let kind = attr_kind(&self.attr);
                let quoted = self.delim != Delim::Unquoted;
                let code_ok =
                    matches!(input.basic(), Value::Int(_) | Value::Float(_) | Value::Bool(_));
                let trusted = match input {
                    Value::Object(o) => o.trusted(),
                    _ => None,
                };
                let inner = match (kind, esc) {
                    (AttrKind::Url, Predefined::UrlQuery) => {
                        let filtered = if self.value.is_empty()
                            && trusted != Some(Trusted::Url)
                            && !is_safe_url(&text)
                        {
                            "#ZgotmplZ".to_owned()
                        } else {
                            text
                        };
                        esc.apply(&filtered)
                    }
                    (AttrKind::Url, Predefined::Html) if quoted => self.url_part(&text, trusted),
                    (AttrKind::Code, Predefined::Html) if quoted => {
                        if code_ok {
                            text
                        } else {
                            "ZgotmplZ".to_owned()
                        }
                    }
                    (AttrKind::Plain, Predefined::Html) if quoted => text,
                    _ => return None,
                };
                self.value.push_str(&inner);
                Some(match (quoted, esc) {
                    (true, Predefined::Html) => esc.apply(&inner),
                    (true, Predefined::UrlQuery) => html_template_escape(&inner),
                    (false, _) => html_nospace_escape(&inner),
                })
            }
            _ => None,
        }
    }

    /// A URL attribute's own escaping of `s` (filter, normalizer or query escaper, by where
    /// in the URL it lands), before the attribute escaping.
    fn url_part(&self, s: &str, trusted: Option<Trusted>) -> String {
        if self.value.contains(['?', '#']) {
            url_process(s, false)
        } else if self.value.is_empty() && trusted != Some(Trusted::Url) && !is_safe_url(s) {
            "#ZgotmplZ".to_owned()
        } else {
            url_process(s, true)
        }
    }

    fn escape_attr(&mut self, s: &str, trusted: Option<Trusted>, code_ok: bool) -> String {
        let inner = match attr_kind(&self.attr) {
            AttrKind::Plain => s.to_owned(),
            AttrKind::Code if code_ok => s.to_owned(),
            AttrKind::Code => "ZgotmplZ".to_owned(),
            AttrKind::Url => self.url_part(s, trusted),
        };
        self.value.push_str(&inner);
        match self.delim {
            Delim::Unquoted => html_nospace_escape(&inner),
            _ => html_template_escape(&inner),
        }
    }
}
