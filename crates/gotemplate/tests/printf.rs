//! `printf` and friends with Go's `fmt` output.

mod common;
use common::ok;
use gotemplate::Value;

fn pf(args: &str) -> String {
    ok(&format!("{{{{printf {args}}}}}"), &common::data())
}

#[test]
fn verbs() {
    assert_eq!(pf(r#""%d-%s-%v" 1 "x" .List"#), "1-x-[a b c]");
    assert_eq!(
        pf(r#""%5.2f|%-4d|%04d|%x|%X|%q|%t|%c|%%" 3.14159 7 -7 255 255 "hi" true 65"#),
        " 3.14|7   |-007|ff|FF|\"hi\"|true|A|%"
    );
    assert_eq!(pf(r#""%e %E" 1234.5678 0.000123"#), "1.234568e+03 1.230000E-04");
    assert_eq!(
        pf(r#""%g %g %v %v %g" 1e21 0.0001 1e6 100000.0 0.00001"#),
        "1e+21 0.0001 1e+06 100000 1e-05"
    );
    assert_eq!(pf(r#""%.3g|%.2g|%g|%.1f" 3.14159 123456.0 2.5 0.05"#), "3.14|1.2e+05|2.5|0.1");
    assert_eq!(pf(r#""%6.2s|%-6s|%6s|" "hello" "ab" "cd""#), "    he|ab    |    cd|");
    assert_eq!(pf(r#""%+d % d %+.1f" 5 5 2.0"#), "+5  5 +2.0");
    assert_eq!(pf(r#""%#x %#o %b %o %#X" 255 8 5 8 255"#), "0xff 010 101 10 0XFF");
    assert_eq!(pf(r#""%x %X % x" "hi" "hi" "hi""#), "6869 6869 68 69");
    assert_eq!(
        pf(r#""%08.3f|%8.3f|%-8.3f|" -3.14159 3.14159 3.14159"#),
        "-003.142|   3.142|3.142   |"
    );
    assert_eq!(
        pf(r#""%T %T %T %T %T" 1 1.5 "s" true .List"#),
        "int float64 string bool []interface {}"
    );
    assert_eq!(pf(r#""%[2]d %[1]d" 1 2"#), "2 1");
    assert_eq!(pf(r#""%v %d" .Map .Map"#), "map[a:2 x:1] map[a:2 x:1]");
    assert_eq!(pf(r#""%q %v %U %#U" 'x' 'x' 'x' 'x'"#), "'x' 120 U+0078 U+0078 'x'");
    assert_eq!(pf(r#""%.0d|%.3d|%3c|" 0 7 'z'"#), "|007|  z|");
    assert_eq!(pf(r#""%q" "tab\there \"q\" é \x01""#), r#""tab\there \"q\" é \x01""#);
    assert_eq!(pf(r#""%*d|%-*d|" 4 1 3 2"#), "   1|2  |");
    assert_eq!(pf(r#""%s" .Nested"#), "map[Inner:map[Leaf:leaf]]");
    assert_eq!(pf(r#""%v" .Pi"#), "3.5");
}

#[test]
fn bad_verbs_and_arg_counts() {
    assert_eq!(pf(r#""%d" "x""#), "%!d(string=x)");
    assert_eq!(pf(r#""%s" 5"#), "%!s(int=5)");
    assert_eq!(pf(r#""%t" 1.5"#), "%!t(float64=1.5)");
    assert_eq!(pf(r#""%d""#), "%!d(MISSING)");
    assert_eq!(pf(r#""%d" 1 2 "x""#), "1%!(EXTRA int=2, string=x)");
    assert_eq!(pf(r#""%s" nil"#), "%!s(<nil>)");
    assert_eq!(pf(r#""%v" nil"#), "<nil>");
    assert_eq!(pf(r#""%d" .List"#), "[%!d(string=a) %!d(string=b) %!d(string=c)]");
    assert_eq!(pf(r#""abc%""#), "abc%!(NOVERB)");
    assert_eq!(pf(r#""%[3]d" 1"#), "%!d(BADINDEX)");
}

#[test]
fn print_and_nil_elements() {
    let data = Value::map([("L", Value::list([Value::Nil, Value::from(1)]))]);
    assert_eq!(ok("{{.L}} {{print .L}}", &data), "[<nil> 1] [<nil> 1]");
    assert_eq!(ok("{{print 1.0 2.5 -0.0}}", &data), "1 2.5 -0");
    assert_eq!(ok("{{print \"a\" \"b\" 1 2 true}}", &data), "ab1 2 true");
}
