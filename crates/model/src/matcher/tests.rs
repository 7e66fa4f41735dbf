//! Parser, text form, ordering and validation cases, checked against Alertmanager 0.25's
//! amtool where noted.

use super::*;
use crate::labels::LabelSet;

fn m(match_type: MatchType, name: &str, value: &str) -> Matcher {
    Matcher::new(match_type, name, value).unwrap()
}

fn parsed(text: &str) -> Vec<(String, MatchType, String)> {
    parse_matchers(text)
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
        .into_iter()
        .map(|m| (m.name, m.match_type, m.value))
        .collect()
}

fn triple(name: &str, match_type: MatchType, value: &str) -> (String, MatchType, String) {
    (name.to_owned(), match_type, value.to_owned())
}

#[test]
fn parses_braced_and_bare_lists() {
    use MatchType::*;
    let expected = vec![triple("a", Equal, "b"), triple("c", Regexp, "d.*")];
    assert_eq!(parsed(r#"{a="b",c=~"d.*"}"#), expected);
    assert_eq!(parsed(r#"{ a = "b" , c =~ "d.*" , }"#), expected);
    assert_eq!(parsed("a=b, c=~d.*"), expected);
    assert_eq!(parsed("a=b,c=~d.*,"), expected);
    assert_eq!(parsed("a!=b, c!~d"), vec![triple("a", NotEqual, "b"), triple("c", NotRegexp, "d")]);
    assert_eq!(parsed("{}"), vec![]);
    assert_eq!(parsed("{"), vec![]);
    assert_eq!(parsed(""), vec![]);
    assert_eq!(parsed("a:b=c"), vec![triple("a:b", Equal, "c")]);
    assert_eq!(parsed("_x=1"), vec![triple("_x", Equal, "1")]);
}

#[test]
fn values_follow_the_tolerant_rules() {
    use MatchType::*;
    assert_eq!(parsed("a="), vec![triple("a", Equal, "")]);
    assert_eq!(parsed(r#"a="""#), vec![triple("a", Equal, "")]);
    assert_eq!(parsed("a==b"), vec![triple("a", Equal, "=b")]);
    assert_eq!(parsed("a=b}c"), vec![triple("a", Equal, "b}c")]);
    assert_eq!(parsed(r#"a="x,y",b=z"#), vec![triple("a", Equal, "x,y"), triple("b", Equal, "z")]);
    assert_eq!(parsed(r#"a="\"x, y\"""#), vec![triple("a", Equal, r#""x, y""#)]);
    assert_eq!(parsed(r#"a="b\\""#), vec![triple("a", Equal, "b\\")]);
    assert_eq!(parsed(r#"a="l1\nl2""#), vec![triple("a", Equal, "l1\nl2")]);
    // A backslash before anything else, or at the very end, is literal.
    assert_eq!(parsed(r#"a="\d+""#), vec![triple("a", Equal, r"\d+")]);
    assert_eq!(parsed(r"a=b\"), vec![triple("a", Equal, r"b\")]);
    assert_eq!(parsed("a=  padded \t"), vec![triple("a", Equal, "padded")]);
    assert_eq!(parsed(r#"a=" kept ""#), vec![triple("a", Equal, " kept ")]);
    assert_eq!(parsed("a=héllo wörld"), vec![triple("a", Equal, "héllo wörld")]);
    assert_eq!(
        parsed(r#"q="She said: \"Hi, ladies!\"""#),
        vec![triple("q", Equal, r#"She said: "Hi, ladies!""#)]
    );
}

#[test]
fn errors_read_like_go() {
    let error = |text: &str| parse_matchers(text).unwrap_err().to_string();
    assert_eq!(error("a=b, ,c=d"), "bad matcher format:  ");
    assert_eq!(error("a=b,,c=d"), "bad matcher format: ");
    assert_eq!(error(r#"a="b"#), r#"matcher value contains unescaped double quote: "b"#);
    assert_eq!(error(r#"a=b""#), r#"matcher value contains unescaped double quote: b""#);
    assert_eq!(error(r#"a="b"c""#), r#"matcher value contains unescaped double quote: "b"c""#);
    assert_eq!(error("1a=b"), "bad matcher format: 1a=b");
    assert_eq!(error("a-b=c"), "bad matcher format: a-b=c");
    assert_eq!(error("a"), "bad matcher format: a");
    assert_eq!(error("=b"), "bad matcher format: =b");
    assert_eq!(error("a\u{a0}=b"), "bad matcher format: a\u{a0}=b");
    assert_eq!(error(r#"a =~ "[""#), "error parsing regexp: missing closing ]: `[)$`");
    assert_eq!(error(r#"a=~"(""#), "error parsing regexp: missing closing ): `^(?:()$`");
    assert!(matches!(parse_matcher("a=~x{1001}"), Err(ParseError::Regex(_))));
}

#[test]
fn single_matcher_parse_keeps_commas() {
    let matcher = parse_matcher("a=b,c").unwrap();
    assert_eq!(matcher.value, "b,c");
    assert!(parse_matcher(" job =~ \"api|web\" ").unwrap().matches("web"));
}

#[test]
fn display_uses_open_metrics_escaping() {
    assert_eq!(m(MatchType::Equal, "a", "b").to_string(), r#"a="b""#);
    assert_eq!(m(MatchType::NotRegexp, "a", "x.*").to_string(), r#"a!~"x.*""#);
    assert_eq!(
        m(MatchType::Equal, "a", "q\"b\\s\nt\té\u{1}").to_string(),
        "a=\"q\\\"b\\\\s\\nt\té\u{1}\""
    );
    let list = Matchers(vec![m(MatchType::Equal, "a", "b"), m(MatchType::Regexp, "c", "d")]);
    assert_eq!(list.to_string(), r#"{a="b",c=~"d"}"#);
    assert_eq!(Matchers::default().to_string(), "{}");
}

#[test]
fn display_round_trips_through_the_parser() {
    for value in ["plain", "with \"quotes\"", "back\\slash", "line\nbreak", "comma, inside", " "] {
        let matcher = m(MatchType::Equal, "name", value);
        let again = parse_matcher(&matcher.to_string()).unwrap();
        assert_eq!(again, matcher, "{value:?}");
    }
}

#[test]
fn sorts_by_name_value_then_type() {
    let mut list = Matchers(vec![
        m(MatchType::Regexp, "b", "1"),
        m(MatchType::NotEqual, "a", "2"),
        m(MatchType::Equal, "a", "2"),
        m(MatchType::Equal, "a", "10"),
    ]);
    list.sort();
    let rendered = list.to_string();
    assert_eq!(rendered, r#"{a="10",a="2",a!="2",b=~"1"}"#);
}

#[test]
fn matching_treats_missing_labels_as_empty() {
    let labels = LabelSet::from_pairs([("job", "api"), ("env", "prod")]);
    let list = Matchers(parse_matchers(r#"job=~"api|web",env!="dev",team="""#).unwrap());
    assert!(list.matches(&labels));
    assert!(m(MatchType::Regexp, "x", "a*").matches_empty());
    assert!(!m(MatchType::Regexp, "x", "a+").matches_empty());
    assert!(m(MatchType::Equal, "x", "").matches_empty());
    assert!(
        m(MatchType::NotRegexp, "v", r"\d+").matches_labels(&LabelSet::from_pairs([("v", "١٢٣")]))
    );
}

#[test]
fn label_names_and_silence_matchers_validate_like_go() {
    assert!(is_valid_label_name("a"));
    assert!(is_valid_label_name("_a1"));
    assert!(!is_valid_label_name(""));
    assert!(!is_valid_label_name("1a"));
    assert!(!is_valid_label_name("a:b"));
    assert!(!is_valid_label_name("é"));
    assert_eq!(validate_silence_matcher(MatchType::Equal, "a", "anything"), Ok(()));
    assert_eq!(
        validate_silence_matcher(MatchType::Equal, "a-b", "x"),
        Err(r#"invalid label name "a-b""#.to_owned())
    );
    assert_eq!(
        validate_silence_matcher(MatchType::Regexp, "a", "("),
        Err(r#"invalid regular expression "(": error parsing regexp: missing closing ): `(`"#
            .to_owned())
    );
}

#[derive(serde::Deserialize)]
struct Corpus {
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    input: String,
    accepted: bool,
    #[serde(default)]
    rendered: String,
    #[serde(default)]
    error: String,
}

/// Replays `testdata/matcher_corpus.json`, recorded from amtool 0.25 by
/// `testdata/record_matcher_corpus.py`: config `matchers:` entries are parsed with
/// `ParseMatchers`, sorted, and printed with `Matchers.String()`.
#[test]
fn corpus_parse_sort_and_render_agree_with_amtool() {
    let corpus: Corpus =
        serde_json::from_str(include_str!("../../testdata/matcher_corpus.json")).unwrap();
    let mut failures = Vec::new();
    for case in &corpus.cases {
        let ours = parse_matchers(&case.input).map(|list| {
            let mut list = Matchers(list);
            list.sort();
            // amtool names a route without matchers "default-route".
            if list.0.is_empty() { "default-route".to_owned() } else { list.to_string() }
        });
        match (ours, case.accepted) {
            (Ok(rendered), true) if rendered == case.rendered => {}
            (Err(error), false) if error.to_string() == case.error => {}
            (ours, _) => failures.push(format!(
                "{:?}: amtool {:?}, ours {ours:?}",
                case.input,
                if case.accepted { &case.rendered } else { &case.error }
            )),
        }
    }
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n"));
}

/// Verdicts checked against `POST /api/v2/silences` on Alertmanager 0.25.
#[test]
fn silence_matcher_sets_validate_like_go() {
    use MatchType::*;
    let check =
        |matchers: &[(MatchType, &str, &str)]| validate_silence_matchers(matchers.iter().copied());
    const EMPTY: &str = "at least one matcher must not match the empty string";
    assert_eq!(check(&[(NotEqual, "a", "x")]), Ok(()));
    assert_eq!(check(&[(NotEqual, "a", "")]), Ok(()));
    assert_eq!(check(&[(NotRegexp, "a", "")]), Ok(()));
    assert_eq!(check(&[(Regexp, "a", "b")]), Ok(()));
    assert_eq!(check(&[(Regexp, "a", "^b")]), Ok(()));
    assert_eq!(check(&[(Regexp, "a", "b?c")]), Ok(()));
    assert_eq!(check(&[(Regexp, "a", "b|")]), Err(EMPTY.to_owned()));
    assert_eq!(check(&[(Regexp, "a", "x*")]), Err(EMPTY.to_owned()));
    assert_eq!(check(&[(Equal, "a", "")]), Err(EMPTY.to_owned()));
    assert_eq!(check(&[(Equal, "a", ""), (Equal, "b", "x")]), Ok(()));
    assert_eq!(
        check(&[(Equal, "ok", "x"), (Equal, "a-b", "x")]),
        Err(r#"invalid label matcher 1: invalid label name "a-b""#.to_owned())
    );
    assert_eq!(check(&[]), Err("at least one matcher required".to_owned()));
}
