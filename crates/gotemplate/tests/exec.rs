//! Execution: outputs and error messages as Go's text/template produces them.

mod common;
use common::{data, err, ok, run_with};
use gotemplate::{MissingKey, Template, Value};

fn d() -> Value {
    data()
}

#[test]
fn text_fields_and_trim() {
    assert_eq!(ok("hello {{.Name}}!", &d()), "hello world!");
    assert_eq!(ok("a  {{- .Name -}}  \n b", &d()), "aworldb");
    assert_eq!(ok("a {{- /* c */ -}} b", &d()), "ab");
    assert_eq!(ok("{{/* comment */}}x", &d()), "x");
    assert_eq!(ok("{{.Nested.Inner.Leaf}}", &d()), "leaf");
    assert_eq!(ok("{{(.Nested).Inner.Leaf}}", &d()), "leaf");
    assert_eq!(ok("{{with .Nested}}{{$.Name}}{{.Inner.Leaf}}{{end}}", &d()), "worldleaf");
    assert_eq!(ok("{{.}}", &Value::from("plain")), "plain");
}

#[test]
fn printing_values() {
    assert_eq!(ok("{{.Missing}}", &d()), "<no value>");
    assert_eq!(ok("{{.Nil}}", &d()), "<no value>");
    assert_eq!(ok("{{print .Nil}}", &d()), "<nil>");
    assert_eq!(ok("{{print .Missing}}", &d()), "<nil>");
    assert_eq!(ok("{{.List}}", &d()), "[a b c]");
    assert_eq!(ok("{{.Map}}", &d()), "map[a:2 x:1]");
    assert_eq!(ok("{{.Pi}} {{.One}} {{.True}}", &d()), "3.5 1 true");
    assert_eq!(
        ok("{{1.0}} {{1e3}} {{0x10}} {{'a'}} {{-1}} {{1_000}} {{0o17}} {{017}}", &d()),
        "1 1000 16 97 -1 1000 15 15"
    );
    assert_eq!(ok("{{1e6}} {{100000.0}} {{0.000012}}", &d()), "1e+06 100000 1.2e-05");
    assert_eq!(ok(r#"{{"a\tb\u00e9\x41"}} {{`raw\n`}}"#, &d()), "a\tbéA raw\\n");
    assert_eq!(ok("{{true}} {{false}}", &d()), "true false");
}

#[test]
fn conditionals() {
    assert_eq!(ok("{{if .Empty}}y{{else if .One}}one{{else}}n{{end}}", &d()), "one");
    assert_eq!(ok("{{if .Zero}}y{{else}}n{{end}}", &d()), "n");
    assert_eq!(ok("{{if .EmptyList}}y{{else}}n{{end}}", &d()), "n");
    assert_eq!(ok("{{if .Missing}}y{{else}}n{{end}}", &d()), "n");
    assert_eq!(ok("{{if .Map}}y{{end}}", &d()), "y");
    assert_eq!(ok("{{with .Name}}{{.}}{{end}}", &d()), "world");
    assert_eq!(ok("{{with .Empty}}x{{else}}e{{end}}", &d()), "e");
    assert_eq!(ok("{{with $x := .Name}}{{$x}}{{end}}", &d()), "world");
}

#[test]
fn variables_and_scope() {
    assert_eq!(ok("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", &d()), "2");
    assert_eq!(ok("{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}", &d()), "21");
    assert_eq!(ok("{{$x := .Nested}}{{$x.Inner.Leaf}}", &d()), "leaf");
    assert_eq!(ok("{{$}}", &Value::from(5)), "5");
    assert_eq!(ok("{{$x := .Missing}}{{$x}}", &d()), "<no value>");
    assert_eq!(ok("{{$i := 0}}{{$e := 0}}{{range $i, $e = .List}}{{end}}{{$i}}{{$e}}", &d()), "2c");
    assert_eq!(
        err("{{$x = 1}}", &d()),
        "template: t:1:2: executing \"t\" at <$x = 1>: undefined variable: $x"
    );
}

#[test]
fn range_forms() {
    assert_eq!(ok("{{range .List}}{{.}}{{end}}", &d()), "abc");
    assert_eq!(ok("{{range $i, $e := .List}}{{$i}}={{$e}};{{end}}", &d()), "0=a;1=b;2=c;");
    assert_eq!(ok("{{range $e := .List}}{{$e}}{{end}}", &d()), "abc");
    assert_eq!(ok("{{range $k, $v := .Map}}{{$k}}{{$v}}{{end}}", &d()), "a2x1");
    assert_eq!(ok("{{range .EmptyList}}x{{else}}empty{{end}}", &d()), "empty");
    assert_eq!(ok("{{range .Missing}}x{{else}}none{{end}}", &d()), "none");
    assert_eq!(ok("{{range .List}}{{if eq . \"b\"}}{{break}}{{end}}{{.}}{{end}}", &d()), "a");
    assert_eq!(ok("{{range .List}}{{if eq . \"b\"}}{{continue}}{{end}}{{.}}{{end}}", &d()), "ac");
    assert_eq!(ok("{{range 3}}{{.}}{{end}}", &d()), "012");
    assert_eq!(ok("{{$i := 0}}{{range .List}}{{$i = .}}{{end}}{{$i}}", &d()), "c");
    assert_eq!(ok("{{range $i, $e := .List}}{{$x := $e}}{{end}}done", &d()), "done");
    assert_eq!(
        err("{{range .Name}}{{end}}", &d()),
        "template: t:1:8: executing \"t\" at <.Name>: range can't iterate over world"
    );
}

#[test]
fn templates_and_blocks() {
    assert_eq!(ok("{{define \"a\"}}A{{.}}{{end}}{{template \"a\" .Name}}", &d()), "Aworld");
    assert_eq!(ok("{{block \"b\" .Name}}B{{.}}{{end}}", &d()), "Bworld");
    assert_eq!(ok("{{define \"a\"}}{{.}}{{end}}{{template \"a\"}}", &d()), "<no value>");
    let mut t = Template::new("t");
    t.parse("{{define \"x\"}}one{{end}}main").unwrap();
    t.parse("{{define \"x\"}}two{{end}}").unwrap();
    t.parse("{{define \"x\"}}  {{end}}").unwrap();
    assert_eq!(t.render("t", &Value::Nil).unwrap(), "main");
    assert_eq!(t.render("x", &Value::Nil).unwrap(), "two");
    assert!(t.lookup("x").is_some());
    assert!(t.lookup("y").is_none());
    assert_eq!(t.template_names(), vec!["t", "x"]);
    assert_eq!(
        t.render("y", &Value::Nil).unwrap_err().to_string(),
        "template: no template \"y\" associated with template \"t\""
    );
    let empty = Template::new("e");
    let mut out = String::new();
    assert_eq!(
        empty.execute(&mut out, &Value::Nil).unwrap_err().to_string(),
        "template: e: \"e\" is an incomplete or empty template"
    );
}

#[test]
fn builtins() {
    assert_eq!(ok("{{len .List}} {{.List | len}} {{len .Map}} {{len \"héllo\"}}", &d()), "3 3 2 6");
    assert_eq!(
        ok("{{index .List 1}} {{index .Map \"x\"}} {{index .Map \"no\"}}", &d()),
        "b 1 <no value>"
    );
    assert_eq!(ok("{{index .Nested \"Inner\" \"Leaf\"}} {{index \"abc\" 1}}", &d()), "leaf 98");
    assert_eq!(
        ok("{{slice .List 1 2}} {{slice .List 1}} {{slice \"hello\" 1 3}}", &d()),
        "[b] [b c] el"
    );
    assert_eq!(
        ok("{{and 1 0 2}} {{and 1 2}} {{or 0 \"\" \"x\"}} {{or 0 \"\"}} {{not 0}}", &d()),
        "0 2 x  true"
    );
    assert_eq!(
        ok(
            "{{eq 1 1}} {{eq \"a\" \"b\" \"a\"}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt \"b\" \"a\"}} {{ge 1.5 2.5}}",
            &d()
        ),
        "true true true true true true false"
    );
    assert_eq!(ok("{{eq .Nil nil}} {{eq .Name nil}}", &d()), "true false");
    assert_eq!(ok(r#"{{html "<a href='x'>&\""}}"#, &d()), "&lt;a href=&#39;x&#39;&gt;&amp;&#34;");
    assert_eq!(
        ok(r#"{{js "it's <b>\"=&\n"}}"#, &d()),
        "it\\'s \\u003Cb\\u003E\\\"\\u003D\\u0026\\u000A"
    );
    assert_eq!(ok(r#"{{urlquery "a b&c/é"}}"#, &d()), "a+b%26c%2F%C3%A9");
    assert_eq!(ok(r#"{{html 1 "a" 2}}"#, &d()), "1a2");
    assert_eq!(ok(r#"{{print 1 2 "a" 3 "b" "c"}}"#, &d()), "1 2a3bc");
    assert_eq!(ok(r#"{{println 1 "a"}}"#, &d()), "1 a\n");
    assert_eq!(ok(r#"{{"x" | printf "%s-%s" "y"}}"#, &d()), "y-x");
    assert_eq!(ok(r#"{{.One | and .True}} {{.Zero | or .Empty}}"#, &d()), "1 0");
}

#[test]
fn and_or_short_circuit() {
    // The second operand would fail; Go never evaluates it.
    assert_eq!(ok("{{and 0 (index .List 9)}} {{or 1 (index .List 9)}}", &d()), "0 1");
}

#[test]
fn user_functions_and_call() {
    let t = Template::new("t")
        .func("upper", |a: &[Value]| Ok(Value::from(a[0].to_string().to_uppercase())))
        .func("fail", |_: &[Value]| Err("boom".into()))
        .func("len", |_: &[Value]| Ok(Value::from("mine")));
    assert_eq!(
        run_with(t.clone(), "{{upper .Name}} {{.Name | upper}}", &d()).unwrap(),
        "WORLD WORLD"
    );
    assert_eq!(run_with(t.clone(), "{{len .List}}", &d()).unwrap(), "mine");
    assert_eq!(
        run_with(t, "x\n {{fail 1}}", &d()).unwrap_err(),
        "template: t:2:3: executing \"t\" at <fail 1>: error calling fail: boom"
    );
    let data = Value::map([("F", Value::func(|a: &[Value]| Ok(Value::from(a.len()))))]);
    assert_eq!(common::ok("{{call .F 1 2}}", &data), "2");
    assert_eq!(
        common::err("{{call .Nope}}", &data),
        "template: t:1:2: executing \"t\" at <call .Nope>: error calling call: call of nil"
    );
}

#[test]
fn missing_key_modes() {
    let zero = || Template::new("t").option_missingkey_zero();
    assert_eq!(run_with(zero(), "{{.Nope}}", &d()).unwrap(), "<no value>");
    assert_eq!(
        run_with(zero(), "{{.Nope.X}}", &d()).unwrap_err(),
        "template: t:1:7: executing \"t\" at <.Nope.X>: nil pointer evaluating interface {}.X"
    );
    assert_eq!(ok("{{.Nope.X}}", &d()), "<no value>");
    let strict = Template::new("t").missing_key(MissingKey::Error);
    assert_eq!(
        run_with(strict, "{{.Nope}}", &d()).unwrap_err(),
        "template: t:1:2: executing \"t\" at <.Nope>: map has no entry for key \"Nope\""
    );
}

#[test]
fn exec_errors() {
    assert_eq!(
        err("x\n{{template \"nope\"}}", &d()),
        "template: t:2:11: executing \"t\" at <{{template \"nope\"}}>: template \"nope\" not defined"
    );
    assert_eq!(
        err("{{len 1 2}}", &d()),
        "template: t:1:2: executing \"t\" at <len>: wrong number of args for len: want 1 got 2"
    );
    assert_eq!(
        err("{{index}}", &d()),
        "template: t:1:2: executing \"t\" at <index>: wrong number of args for index: want at least 1 got 0"
    );
    assert_eq!(
        err("{{len 3}}", &d()),
        "template: t:1:2: executing \"t\" at <len 3>: error calling len: len of type int"
    );
    assert_eq!(
        err("{{.Nil.Foo}}", &d()),
        "template: t:1:6: executing \"t\" at <.Nil.Foo>: nil pointer evaluating interface {}.Foo"
    );
    assert_eq!(
        err("{{.Name.Foo}}", &d()),
        "template: t:1:7: executing \"t\" at <.Name.Foo>: can't evaluate field Foo in type string"
    );
    assert_eq!(
        err("{{.List.Foo}}", &d()),
        "template: t:1:7: executing \"t\" at <.List.Foo>: can't evaluate field Foo in type []interface {}"
    );
    assert_eq!(
        err("{{nil}}", &d()),
        "template: t:1:2: executing \"t\" at <nil>: nil is not a command"
    );
    assert_eq!(
        err("{{.Name 1}}", &d()),
        "template: t:1:2: executing \"t\" at <.Name>: Name is not a method but has arguments"
    );
    assert_eq!(
        err("{{\"x\" 1}}", &d()),
        "template: t:1:2: executing \"t\" at <\"x\">: can't give argument to non-function \"x\""
    );
    assert_eq!(
        err("{{eq 1 \"a\"}}", &d()),
        "template: t:1:2: executing \"t\" at <eq 1 \"a\">: error calling eq: incompatible types for comparison"
    );
    assert_eq!(
        err("{{lt true false}}", &d()),
        "template: t:1:2: executing \"t\" at <lt true false>: error calling lt: invalid type for comparison"
    );
    assert_eq!(
        err("{{index .List 5}}", &d()),
        "template: t:1:2: executing \"t\" at <index .List 5>: error calling index: index out of range: 5"
    );
    assert_eq!(ok("{{printf \"%d %d\" 1 2 | len | printf \"%d\"}}", &d()), "3");
    assert_eq!(
        err("{{printf 1}}", &d()),
        "template: t:1:9: executing \"t\" at <1>: wrong type for value; expected string; got int"
    );
    assert_eq!(
        err("{{9223372036854775808}}", &d()),
        "template: t:1:2: executing \"t\" at <9223372036854775808>: 9223372036854775808 overflows int"
    );
}

#[test]
fn error_context_is_truncated() {
    assert_eq!(
        err("{{index .List 1 2 3 4 5 6 7}}", &d()),
        "template: t:1:2: executing \"t\" at <index .List 1 2 3 4 ...>: error calling index: index out of range: 2"
    );
}

#[test]
fn recursion_is_bounded() {
    let mut t = Template::new("t");
    t.parse("{{define \"r\"}}{{template \"r\" .}}{{end}}{{template \"r\" .}}").unwrap();
    let e = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || t.render("t", &Value::Nil).unwrap_err().to_string())
        .unwrap()
        .join()
        .unwrap();
    assert!(e.ends_with("exceeded maximum template depth (1000)"), "{e}");
}

#[test]
fn partial_output_kept_on_error() {
    let mut t = Template::new("t");
    t.parse("ab{{len 3}}cd").unwrap();
    let mut out = String::new();
    assert!(t.execute(&mut out, &Value::Nil).is_err());
    assert_eq!(out, "ab");
}

#[test]
fn custom_delimiters() {
    let t = Template::new("t").delims("[[", "]]");
    assert_eq!(run_with(t, "{{x}} [[.Name]] [[- \" y\" ]]", &d()).unwrap(), "{{x}} world y");
}

/// Runs `f` on a thread with a 2 MiB stack, the size of test and tokio worker threads.
fn small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(2 << 20).spawn(f).unwrap().join().unwrap()
}

#[test]
fn deep_nesting_is_bounded() {
    for n in [99, 101, 5000] {
        let parens = format!("{{{{{}1{}}}}}", "(".repeat(n), ")".repeat(n));
        let ifs = format!("{}x{}", "{{if 1}}".repeat(n), "{{end}}".repeat(n));
        let withs = format!(
            "{{{{define \"w\"}}}}{}x{}{{{{end}}}}",
            "{{with 1}}".repeat(n.min(99)),
            "{{end}}".repeat(n.min(99))
        ) + "{{template \"r\" 1}}{{define \"r\"}}{{if .}}{{with .}}{{template \"r\" .}}{{end}}{{end}}{{end}}";
        for src in [parens, ifs, withs] {
            let r = small_stack(move || common::run(&src, &Value::Nil));
            match r {
                Ok(out) => assert!(out == "1" || out == "x", "{out}"),
                Err(e) => assert!(
                    e.contains("max expression depth exceeded") || e.contains("exceeded maximum"),
                    "{e}"
                ),
            }
        }
    }
}

#[test]
fn templates_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Template>();
    assert_send_sync::<Value>();
}

#[test]
fn chains_pipes_and_functions_as_values() {
    let data = Value::map([
        ("F", Value::func(|_: &[Value]| Ok(Value::from("called")))),
        ("M", common::data()),
    ]);
    assert_eq!(
        common::err("{{.F}}", &data),
        "template: t:1:2: executing \"t\" at <{{.F}}>: can't print {{.F}} of type func(...interface {}) (interface {}, error)"
    );
    assert_eq!(common::ok("{{call .F}}", &data), "called");
    assert_eq!(common::ok("{{(index .M \"Nested\").Inner.Leaf}}", &data), "leaf");
    assert_eq!(common::ok("{{with .M}}{{.Name | printf \"%s!\" | len}}{{end}}", &data), "6");
    assert_eq!(common::err("{{nil.X}}", &data), "template: t:1: unexpected . after term \"nil\"");
    assert_eq!(
        common::err("{{.M.Name | .M.Name}}", &data),
        "template: t:1:14: executing \"t\" at <.M.Name>: Name is not a method but has arguments"
    );
}

#[test]
fn whitespace_and_newlines_in_actions() {
    assert_eq!(ok("{{\n  .Name\n}}", &d()), "world");
    assert_eq!(ok("a\n  {{- if true }}\n  b\n  {{- end }}\nc", &d()), "a\n  b\nc");
    assert_eq!(ok("{{- \"x\" }} \t\n{{- \"y\" -}}  z", &d()), "xyz");
}
