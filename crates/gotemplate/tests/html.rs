//! HTML mode: context-dependent escaping as Go's `html/template` does it.

mod common;
use common::run_with;
use gotemplate::{Template, Value, safe_html, safe_url};

fn h(src: &str, data: &Value) -> String {
    run_with(Template::new("t").html_escaping(true), src, data)
        .unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn data() -> Value {
    Value::map([
        ("X", Value::from("<b>\"O'Neil\" & +</b>")),
        ("Safe", safe_html("<b>bold</b>")),
        ("Url", Value::from("https://example.com/a b?q=1&r=2")),
        ("Bad", Value::from("javascript:alert(1)")),
        ("TrustedBad", safe_url("javascript:void(0)")),
        ("Q", Value::from("a b&c")),
        ("N", Value::from(3)),
    ])
}

#[test]
fn text_context() {
    assert_eq!(
        h("<p>{{.X}}</p>", &data()),
        "<p>&lt;b&gt;&#34;O&#39;Neil&#34; &amp; &#43;&lt;/b&gt;</p>"
    );
    assert_eq!(h("<p>{{.Safe}}</p>", &data()), "<p><b>bold</b></p>");
    assert_eq!(h("<p>{{.Missing}}|{{.N}}</p>", &data()), "<p>|3</p>");
    assert_eq!(h("<title>{{.Safe}}</title>", &data()), "<title>&lt;b&gt;bold&lt;/b&gt;</title>");
    assert_eq!(h("a<!-- {{.X}} -->b<i>{{.N}}</i>", &data()), "ab<i>3</i>");
    // A `<` that starts no tag is escaped in the output, as Alertmanager 0.25's Telegram
    // messages show; a doctype is left alone.
    assert_eq!(
        h("a < b <{{.N}}> <!doctype html><p>1<2</p>", &data()),
        "a &lt; b &lt;3> <!doctype html><p>1&lt;2</p>"
    );
}

#[test]
fn attribute_contexts() {
    assert_eq!(
        h("<a title=\"{{.X}}\">", &data()),
        "<a title=\"&lt;b&gt;&#34;O&#39;Neil&#34; &amp; &#43;&lt;/b&gt;\">"
    );
    assert_eq!(h("<a title='{{.Q}}'>", &data()), "<a title='a b&amp;c'>");
    assert_eq!(h("<a title={{.Q}}>", &data()), "<a title=a&#32;b&amp;c>");
    assert_eq!(
        h("<a href=\"{{.Url}}\">", &data()),
        "<a href=\"https://example.com/a%20b?q=1&amp;r=2\">"
    );
    assert_eq!(h("<a href=\"{{.Bad}}\">", &data()), "<a href=\"#ZgotmplZ\">");
    assert_eq!(h("<a href=\"{{.TrustedBad}}\">", &data()), "<a href=\"javascript:void%280%29\">");
    assert_eq!(h("<a href=\"/search?q={{.Q}}\">", &data()), "<a href=\"/search?q=a%20b%26c\">");
    assert_eq!(
        h("<td style=\"width: {{.N}}px\" onclick=\"{{.Q}}\">", &data()),
        "<td style=\"width: 3px\" onclick=\"ZgotmplZ\">"
    );
    assert_eq!(
        h("<p>{{.X}}</p><a href=\"x\">{{.Q}}</a>", &data()),
        "<p>&lt;b&gt;&#34;O&#39;Neil&#34; &amp; &#43;&lt;/b&gt;</p><a href=\"x\">a b&amp;c</a>"
    );
}

#[test]
fn context_flows_through_template_calls() {
    let src = "{{define \"u\"}}{{.Url}}{{end}}<a href=\"{{template \"u\" .}}\">{{.Q}}</a>";
    assert_eq!(h(src, &data()), "<a href=\"https://example.com/a%20b?q=1&amp;r=2\">a b&amp;c</a>");
}

#[test]
fn off_by_default() {
    assert_eq!(common::run("<p>{{.X}}</p>", &data()).unwrap(), "<p><b>\"O'Neil\" & +</b></p>");
}
