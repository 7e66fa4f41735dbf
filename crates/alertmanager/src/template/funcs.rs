//! The functions Alertmanager 0.25 adds to templates: `toUpper`, `toLower`, `title`,
//! `join`, `match`, `reReplaceAll`, `safeHtml` and `stringSlice`, with Go's semantics
//! (per-rune case mapping, Go regular expressions and `$1` expansion).

use gotemplate::{Func, Value};
use model::GoRegex;
use std::sync::Arc;

use super::data::string_list;

/// The function map, to add to a template set before parsing.
pub fn default_funcs() -> Vec<(&'static str, Func)> {
    fn f(g: impl Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static) -> Func {
        Arc::new(g)
    }
    vec![
        ("toUpper", f(|a| strings::<1>("toUpper", a).map(|[s]| Value::from(to_upper(&s))))),
        ("toLower", f(|a| strings::<1>("toLower", a).map(|[s]| Value::from(to_lower(&s))))),
        ("title", f(|a| strings::<1>("title", a).map(|[s]| Value::from(title(&s))))),
        ("join", f(join)),
        ("match", f(|a| strings::<2>("match", a).and_then(|[p, s]| regex_match(&p, &s)))),
        (
            "reReplaceAll",
            f(|a| strings::<3>("reReplaceAll", a).and_then(|[p, r, s]| re_replace_all(&p, &r, &s))),
        ),
        ("safeHtml", f(|a| strings::<1>("safeHtml", a).map(|[s]| gotemplate::safe_html(s)))),
        ("stringSlice", f(string_slice)),
    ]
}

/// Checks that there are exactly `N` string arguments, as Go's reflection-based call does.
fn strings<const N: usize>(name: &str, args: &[Value]) -> Result<[String; N], String> {
    if args.len() != N {
        return Err(format!("wrong number of args for {name}: want {N} got {}", args.len()));
    }
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    for (slot, arg) in out.iter_mut().zip(args) {
        *slot = string_arg(arg)?;
    }
    Ok(out)
}

fn string_arg(arg: &Value) -> Result<String, String> {
    match arg {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("wrong type for value; expected string; got {}", other.type_name())),
    }
}

/// Go's `unicode.ToUpper` rune by rune: a rune whose upper case is several runes stays.
fn to_upper(s: &str) -> String {
    s.chars().map(|c| single(c.to_uppercase()).unwrap_or(c)).collect()
}

/// Go's `unicode.ToLower` rune by rune (`İ` lowers to a plain `i`).
fn to_lower(s: &str) -> String {
    s.chars().map(|c| c.to_lowercase().next().unwrap_or(c)).collect()
}

fn single(mut it: impl Iterator<Item = char>) -> Option<char> {
    let c = it.next()?;
    it.next().is_none().then_some(c)
}

/// `cases.Title(language.AmericanEnglish)`: within each word the first cased letter is
/// title-cased and the other letters lower-cased. Words are runs of letters, digits and
/// `_`, joined by `.`, `'` or `:` between letters (Unicode word breaking, simplified).
fn title(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut seen_cased = false;
    for (i, &c) in chars.iter().enumerate() {
        let joins = matches!(c, '.' | '\'' | ':' | '\u{2019}' | '\u{b7}')
            && i > 0
            && chars[i - 1].is_alphabetic()
            && chars.get(i + 1).is_some_and(|n| n.is_alphabetic());
        if !(c.is_alphanumeric() || c == '_' || joins) {
            seen_cased = false;
            out.push(c);
            continue;
        }
        if !(c.is_lowercase() || c.is_uppercase()) {
            out.push(c);
        } else if seen_cased {
            out.extend(c.to_lowercase());
        } else {
            seen_cased = true;
            match c {
                'ß' => out.push_str("Ss"),
                _ => out.extend(c.to_uppercase()),
            }
        }
    }
    out
}

/// `join SEP LIST`: `strings.Join` with the separator first, for pipelines.
fn join(args: &[Value]) -> Result<Value, String> {
    let [sep, list] = args else {
        return Err(format!("wrong number of args for join: want 2 got {}", args.len()));
    };
    let sep = string_arg(sep)?;
    Ok(Value::from(string_list(list)?.join(&sep)))
}

/// Most patterns kept compiled; beyond that the cache starts over.
const REGEX_CACHE_MAX: usize = 256;

/// `pattern` compiled, from a process-wide cache: templates call `match` and `reReplaceAll`
/// with a few literal patterns, once per alert of every notification, and compiling costs
/// far more than matching. The error is the compiler's message.
fn compiled(pattern: &str) -> Result<GoRegex, String> {
    static CACHE: std::sync::LazyLock<
        std::sync::Mutex<std::collections::HashMap<String, GoRegex>>,
    > = std::sync::LazyLock::new(Default::default);
    let cache = || CACHE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(re) = cache().get(pattern) {
        return Ok(re.clone());
    }
    let re = GoRegex::new_unanchored(pattern).map_err(|e| e.to_string())?;
    let mut cache = cache();
    if cache.len() >= REGEX_CACHE_MAX {
        cache.clear();
    }
    cache.insert(pattern.to_owned(), re.clone());
    Ok(re)
}

/// Go's `regexp.MatchString`: an unanchored search.
fn regex_match(pattern: &str, text: &str) -> Result<Value, String> {
    let re = compiled(pattern)?;
    Ok(Value::Bool(re.is_match(text)))
}

/// `reReplaceAll PATTERN REPL TEXT`; a bad pattern panics in Go (`MustCompile`), which the
/// template engine reports as an error of the call.
fn re_replace_all(pattern: &str, repl: &str, text: &str) -> Result<Value, String> {
    let re = compiled(pattern)
        .map_err(|e| format!("regexp: Compile({}): {e}", go_backquote(pattern)))?;
    Ok(Value::from(re.replace_all(text, repl)))
}

/// Go's `regexp.quote`: a back-quoted string when possible, else a quoted one.
fn go_backquote(s: &str) -> String {
    if s.contains('`') || s.chars().any(|c| c.is_control() && c != '\t') {
        gotemplate::quote(s)
    } else {
        format!("`{s}`")
    }
}

/// `stringSlice A B ...`: its string arguments as a list.
fn string_slice(args: &[Value]) -> Result<Value, String> {
    let items =
        args.iter().map(|a| string_arg(a).map(Value::from)).collect::<Result<Vec<_>, _>>()?;
    Ok(Value::list(items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_cases_words_like_x_text() {
        assert_eq!(
            title("hELLO wORLD foo-bar foo_bar foo.bar 1st x1y don't  ßa éclair 3d (abc) a.b.c"),
            "Hello World Foo-Bar Foo_bar Foo.bar 1St X1y Don't  Ssa Éclair 3D (Abc) A.b.c"
        );
    }

    #[test]
    fn case_maps_rune_by_rune() {
        assert_eq!(to_upper("straße ǆ ﬁ"), "STRAßE Ǆ ﬁ");
        assert_eq!(to_lower("ÀÉ İ"), "àé i");
    }

    #[test]
    fn bad_patterns_report_like_go() {
        assert_eq!(
            re_replace_all("(", "a", "b").unwrap_err(),
            "regexp: Compile(`(`): error parsing regexp: missing closing ): `(`"
        );
        assert_eq!(
            regex_match("(", "a").unwrap_err(),
            "error parsing regexp: missing closing ): `(`"
        );
    }
}
