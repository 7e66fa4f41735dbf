//! Parse errors, formatted as Go's `template: NAME:LINE: MESSAGE`.

use gotemplate::{ErrorKind, Template};

fn perr(src: &str) -> String {
    let mut t = Template::new("t");
    let e = t.parse(src).expect_err(src);
    assert_eq!(e.kind(), ErrorKind::Parse);
    e.to_string()
}

#[test]
fn structural_errors() {
    assert_eq!(perr("{{foo}}"), "template: t:1: function \"foo\" not defined");
    assert_eq!(perr("{{if .X}}"), "template: t:1: unexpected EOF");
    assert_eq!(perr("{{end}}"), "template: t:1: unexpected {{end}}");
    assert_eq!(perr("{{else}}"), "template: t:1: unexpected {{else}}");
    assert_eq!(
        perr("{{if .X}}{{else}}{{else}}{{end}}"),
        "template: t:1: expected end; found {{else}}"
    );
    assert_eq!(perr("a\nb\n{{foo}}"), "template: t:3: function \"foo\" not defined");
    assert_eq!(perr("{{$x}}"), "template: t:1: undefined variable \"$x\"");
    assert_eq!(
        perr("{{if 1}}{{$x := 1}}{{end}}{{$x}}"),
        "template: t:1: undefined variable \"$x\""
    );
    assert_eq!(perr("{{break}}"), "template: t:1: {{break}} outside {{range}}");
    assert_eq!(perr("{{continue}}"), "template: t:1: {{continue}} outside {{range}}");
    assert_eq!(
        perr("{{range .}}{{define \"x\"}}{{end}}{{end}}"),
        "template: t:1: unexpected <define> in command"
    );
    assert_eq!(perr("{{if}}{{end}}"), "template: t:1: missing value for if");
    assert_eq!(perr("{{}}"), "template: t:1: missing value for command");
    assert_eq!(perr("{{.X | \"b\"}}"), "template: t:1: non executable command in pipeline stage 2");
    assert_eq!(
        perr("{{range $a, $b, $c := .}}{{end}}"),
        "template: t:1: too many declarations in range"
    );
    assert_eq!(perr("{{with $a, $b := .}}{{end}}"), "template: t:1: too many declarations in with");
    assert_eq!(perr("{{template .X}}"), "template: t:1: unexpected \".X\" in template clause");
    assert_eq!(
        perr("{{define \"x\"}}a{{end}}{{define \"x\"}}b{{end}}"),
        "template: t:1: template: multiple definition of template \"x\""
    );
    // Go 1.19 (Alertmanager 0.25's) knows no `else with`.
    assert_eq!(perr("{{if 1}}{{else with 2}}{{end}}"), "template: t:1: unexpected <with> in else");
    assert_eq!(
        perr("{{with 1}}{{else with 2}}{{end}}"),
        "template: t:1: unexpected <with> in else"
    );
    assert_eq!(perr("{{\"a\".X}}"), "template: t:1: unexpected . after term \"\\\"a\\\"\"");
}

#[test]
fn lexical_errors() {
    assert_eq!(perr("{{.X"), "template: t:1: unclosed action");
    assert_eq!(perr("{{\"abc}}"), "template: t:1: unterminated quoted string");
    assert_eq!(perr("{{`abc}}"), "template: t:1: unterminated raw quoted string");
    assert_eq!(perr("{{/* abc"), "template: t:1: unclosed comment");
    assert_eq!(perr("{{/* c */ x}}"), "template: t:1: comment ends before closing delimiter");
    assert_eq!(perr("{{1a}}"), "template: t:1: bad number syntax: \"1a\"");
    assert_eq!(perr("{{(1}}"), "template: t:1: unclosed left paren");
    assert_eq!(perr("{{1)}}"), "template: t:1: unexpected right paren");
    assert_eq!(perr("{{%}}"), "template: t:1: unrecognized character in action: U+0025 '%'");
    assert_eq!(perr("{{'ab'}}"), "template: t:1: malformed character constant: 'ab'");
    assert_eq!(perr("{{\"\\q\"}}"), "template: t:1: invalid syntax");
}

#[test]
fn accepted_syntax() {
    let mut t = Template::new("t");
    for src in [
        "{{- /* trimmed comment */ -}}",
        "{{range $i, $e := .}}{{end}}",
        "{{range $e := .}}{{break}}{{continue}}{{end}}",
        "{{if 1}}{{else if 2}}{{else}}{{end}}",
        "{{$x := 1}}{{$x = 2}}",
        "{{(print 1).X}}",
        "{{print (print 1 | len) \"x\" 'c' 1.5e3 0x1F nil true}}",
        "{{\n  .X\n}}",
        "{{block \"b\" .}}body{{end}}",
    ] {
        t.parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    }
}
