//! Writes a YAML value tree the way `yaml.v2` does: two-space indentation, sequences inside
//! mappings not indented, lines folded past 80 columns, `[]` and `{}` for empty collections,
//! and flow style for the time-interval lists Alertmanager tags `flow`.

use yaml_serde::Value;

use super::scalar::{Context, Style, style};

/// `yaml.v2`'s preferred line width.
const WIDTH: usize = 80;

/// Keys whose sequences Alertmanager marshals in flow style.
const FLOW_KEYS: [&str; 4] = ["weekdays", "days_of_month", "months", "years"];

struct Out {
    text: String,
    column: usize,
}

impl Out {
    fn put(&mut self, s: &str) {
        for c in s.chars() {
            self.text.push(c);
            // libyaml counts every line break character as starting a new line.
            self.column = if matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}') {
                0
            } else {
                self.column + 1
            };
        }
    }

    fn newline(&mut self) {
        self.put("\n");
    }

    fn indent_to(&mut self, indent: usize) {
        if self.column > indent || (self.column == indent && indent > 0) {
            self.newline();
        }
        while self.column < indent {
            self.put(" ");
        }
    }
}

/// The YAML text of a whole document.
pub(super) fn document(root: &Value) -> String {
    let mut out = Out { text: String::new(), column: 0 };
    match root {
        Value::Mapping(map) if !map.is_empty() => mapping(&mut out, map, 0, false),
        other => {
            node(&mut out, other, 0, Context::Block);
            out.newline();
        }
    }
    out.text
}

fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// Writes the entries of a non-empty mapping at `indent`; `inline_first` when the cursor is
/// already placed after a `- `.
fn mapping(out: &mut Out, map: &yaml_serde::Mapping, indent: usize, inline_first: bool) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 || !inline_first {
            out.indent_to(indent);
        }
        let key = key_text(key);
        scalar(out, &key, Context::Key, indent + 2);
        out.put(":");
        match value {
            Value::Mapping(m) if !m.is_empty() => {
                out.newline();
                mapping(out, m, indent + 2, false);
            }
            Value::Sequence(s) if !s.is_empty() && FLOW_KEYS.contains(&key.as_str()) => {
                out.put(" ");
                flow_sequence(out, s, indent);
                out.newline();
            }
            Value::Tagged(tagged) => {
                out.put(" ");
                flow_node(out, &tagged.value, indent);
                out.newline();
            }
            Value::Sequence(s) if !s.is_empty() => {
                out.newline();
                sequence(out, s, indent);
            }
            other => {
                out.put(" ");
                node(out, other, indent + 2, Context::Block);
                if out.column != 0 {
                    out.newline();
                }
            }
        }
    }
}

/// Writes the items of a non-empty block sequence with their dashes at `indent`.
fn sequence(out: &mut Out, items: &[Value], indent: usize) {
    for item in items {
        out.indent_to(indent);
        out.put("- ");
        match item {
            Value::Mapping(m) if !m.is_empty() => mapping(out, m, indent + 2, true),
            Value::Tagged(tagged) => {
                flow_node(out, &tagged.value, indent);
                out.newline();
            }
            Value::Sequence(s) if !s.is_empty() => {
                // A nested sequence starts on the dash's line.
                let mut first = true;
                for inner in s {
                    if !first {
                        out.indent_to(indent + 2);
                    }
                    first = false;
                    out.put("- ");
                    node(out, inner, indent + 4, Context::Block);
                    out.newline();
                }
            }
            other => {
                node(out, other, indent + 2, Context::Block);
                if out.column != 0 {
                    out.newline();
                }
            }
        }
    }
}

/// Writes any node in flow style; `base` is the indentation of the enclosing block, nested
/// collections wrap two columns further each.
fn flow_node(out: &mut Out, value: &Value, base: usize) {
    match value {
        Value::Sequence(items) => flow_sequence(out, items, base),
        Value::Mapping(map) => flow_mapping(out, map, base),
        Value::Tagged(tagged) => flow_node(out, &tagged.value, base),
        other => node(out, other, base + 2, Context::Flow),
    }
}

/// Before each entry of a flow collection: the comma, then a line break when past the width.
fn flow_separator(out: &mut Out, first: bool, indent: usize) {
    if !first {
        out.put(",");
    }
    if out.column > WIDTH {
        out.newline();
        while out.column < indent {
            out.put(" ");
        }
    } else if !first {
        out.put(" ");
    }
}

fn flow_sequence(out: &mut Out, items: &[Value], base: usize) {
    out.put("[");
    for (i, item) in items.iter().enumerate() {
        flow_separator(out, i == 0, base + 2);
        flow_node(out, item, base + 2);
    }
    out.put("]");
}

fn flow_mapping(out: &mut Out, map: &yaml_serde::Mapping, base: usize) {
    out.put("{");
    for (i, (key, value)) in map.iter().enumerate() {
        flow_separator(out, i == 0, base + 2);
        scalar(out, &key_text(key), Context::Key, base + 4);
        out.put(": ");
        flow_node(out, value, base + 2);
    }
    out.put("}");
}

/// Writes a scalar or an empty collection; `indent` is where folded lines continue.
fn node(out: &mut Out, value: &Value, indent: usize, context: Context) {
    match value {
        Value::Null => out.put("null"),
        Value::Bool(b) => out.put(if *b { "true" } else { "false" }),
        Value::Number(n) => out.put(&n.to_string()),
        Value::String(s) => scalar(out, s, context, indent),
        Value::Sequence(s) if s.is_empty() => out.put("[]"),
        Value::Mapping(m) if m.is_empty() => out.put("{}"),
        Value::Sequence(s) => flow_sequence(out, s, indent),
        Value::Mapping(m) => flow_mapping(out, m, indent),
        Value::Tagged(tagged) => flow_node(out, &tagged.value, indent),
    }
}

fn scalar(out: &mut Out, s: &str, context: Context, indent: usize) {
    let breaks = context != Context::Key;
    match style(s, context) {
        Style::Plain => folded(out, s, indent, breaks, false),
        Style::Single => {
            out.put("'");
            folded(out, &s.replace('\'', "''"), indent, breaks, true);
            out.put("'");
        }
        Style::Double => double_quoted(out, s, indent, breaks),
        Style::Literal => literal(out, s, indent),
    }
}

/// Writes text, replacing a single space by a line break when past the width (as libyaml
/// does for plain and single-quoted scalars).
fn folded(out: &mut Out, s: &str, indent: usize, breaks: bool, quoted: bool) {
    let chars: Vec<char> = s.chars().collect();
    let (mut spaces, mut after_break) = (false, false);
    for (i, &c) in chars.iter().enumerate() {
        if matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}') {
            // Only single-quoted scalars get here with breaks; the next line is indented.
            out.put(&c.to_string());
            after_break = true;
            continue;
        }
        if after_break {
            out.indent_to(indent);
            after_break = false;
        }
        if c == ' ' {
            let next_is_space = chars.get(i + 1) == Some(&' ');
            let inner = !quoted || (i != 0 && i + 1 != chars.len());
            if breaks && !spaces && out.column > WIDTH && !next_is_space && inner {
                out.indent_to(indent);
            } else {
                out.put(" ");
            }
            spaces = true;
        } else {
            out.put(&c.to_string());
            spaces = false;
        }
    }
}

fn double_quoted(out: &mut Out, s: &str, indent: usize, breaks: bool) {
    out.put("\"");
    let starts_with_bom = s.starts_with('\u{feff}');
    let chars: Vec<char> = s.chars().collect();
    let mut spaces = false;
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' && !starts_with_bom {
            if breaks && !spaces && out.column > WIDTH && i != 0 && i + 1 != chars.len() {
                out.indent_to(indent);
                if chars.get(i + 1) == Some(&' ') {
                    out.put("\\");
                }
            } else {
                out.put(" ");
            }
            spaces = true;
            continue;
        }
        spaces = false;
        out.put(&escape(c, starts_with_bom));
    }
    out.put("\"");
}

/// Whether libyaml's double-quoted writer escapes `c`.
fn needs_escape(c: char) -> bool {
    !super::scalar::is_printable(c)
        || c == '\u{feff}'
        || super::scalar::is_break(c)
        || c == '"'
        || c == '\\'
}

/// Escapes `c` if libyaml would; `everything` when the scalar starts with a byte-order mark,
/// as libyaml's Go port tests for the mark at the start of the scalar, not at each character.
fn escape(c: char, everything: bool) -> String {
    if !everything && !needs_escape(c) {
        return c.to_string();
    }
    match c {
        '\0' => "\\0".into(),
        '\u{7}' => "\\a".into(),
        '\u{8}' => "\\b".into(),
        '\t' => "\\t".into(),
        '\n' => "\\n".into(),
        '\u{b}' => "\\v".into(),
        '\u{c}' => "\\f".into(),
        '\r' => "\\r".into(),
        '\u{1b}' => "\\e".into(),
        '"' => "\\\"".into(),
        '\\' => "\\\\".into(),
        '\u{85}' => "\\N".into(),
        '\u{a0}' => "\\_".into(),
        '\u{2028}' => "\\L".into(),
        '\u{2029}' => "\\P".into(),
        c if (c as u32) <= 0xFF => format!("\\x{:02X}", c as u32),
        c if (c as u32) <= 0xFFFF => format!("\\u{:04X}", c as u32),
        c => format!("\\U{:08X}", c as u32),
    }
}

fn literal(out: &mut Out, s: &str, indent: usize) {
    use super::scalar::is_break;
    out.put("|");
    if s.starts_with(|c: char| c == ' ' || is_break(c)) {
        out.put("2");
    }
    let mut tail = s.chars().rev();
    let chomp = match (tail.next(), tail.next()) {
        (Some(last), _) if !is_break(last) => "-",
        (Some(_), None) => "+",
        (Some(_), Some(before)) if is_break(before) => "+",
        (None, _) => "-",
        _ => "",
    };
    out.put(chomp);
    out.newline();
    let mut at_line_start = true;
    for c in s.chars() {
        if is_break(c) {
            out.put(&c.to_string());
            at_line_start = true;
        } else {
            if at_line_start {
                while out.column < indent {
                    out.put(" ");
                }
                at_line_start = false;
            }
            out.put(&c.to_string());
        }
    }
}
