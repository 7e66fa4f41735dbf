//! Replays the corpus recorded from the real Alertmanager 0.25 (`testdata/regex_corpus.json`,
//! written by `testdata/record_regex_corpus.py`) and checks replacement expansion.

use super::GoRegex;

#[derive(serde::Deserialize)]
struct Corpus {
    values: Vec<String>,
    patterns: Vec<Entry>,
}

#[derive(serde::Deserialize)]
struct Entry {
    pattern: String,
    accepted: bool,
    #[serde(default)]
    matches: Vec<usize>,
    #[serde(default)]
    error: Option<String>,
    unanchored_accepted: bool,
    #[serde(default)]
    unanchored_error: Option<String>,
}

fn corpus() -> Corpus {
    let text = include_str!("../../testdata/regex_corpus.json");
    serde_json::from_str(text).expect("regex_corpus.json parses")
}

#[test]
fn corpus_acceptance_and_matches_agree_with_go() {
    let corpus = corpus();
    let mut failures = Vec::new();
    for entry in &corpus.patterns {
        match (GoRegex::new_anchored(&entry.pattern), entry.accepted) {
            (Ok(regex), true) => {
                let ours: Vec<usize> = (0..corpus.values.len())
                    .filter(|&i| regex.is_match(&corpus.values[i]))
                    .collect();
                if ours != entry.matches {
                    let show = |ids: &[usize]| -> Vec<&str> {
                        ids.iter().map(|&i| corpus.values[i].as_str()).collect()
                    };
                    failures.push(format!(
                        "{:?}: Go matched {:?}, we matched {:?}",
                        entry.pattern,
                        show(&entry.matches),
                        show(&ours)
                    ));
                }
            }
            (Err(error), true) => {
                failures.push(format!("{:?}: Go accepts, we reject: {error}", entry.pattern));
            }
            (Ok(_), false) => failures
                .push(format!("{:?}: Go rejects ({:?}), we accept", entry.pattern, entry.error)),
            (Err(_), false) => {}
        }
    }
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn corpus_error_messages_agree_with_go() {
    let mut failures = Vec::new();
    for entry in corpus().patterns.iter().filter(|e| !e.accepted) {
        let go = entry.error.as_deref().unwrap_or_default();
        // The API answers with the error as a JSON string.
        let go: String = serde_json::from_str(go).unwrap_or_else(|_| go.to_owned());
        if let Err(ours) = GoRegex::new_anchored(&entry.pattern)
            && ours.to_string() != go
        {
            failures.push(format!("{:?}: Go {go:?}, ours {:?}", entry.pattern, ours.to_string()));
        }
    }
    assert!(failures.is_empty(), "{} messages differ:\n{}", failures.len(), failures.join("\n"));
}

/// Silences compile patterns unanchored; the corpus has Go's verdict from `POST /silences`.
#[test]
fn corpus_unanchored_verdicts_and_silence_messages_agree_with_go() {
    use crate::matcher::{MatchType, validate_silence_matcher};
    let mut failures = Vec::new();
    for entry in &corpus().patterns {
        let ours = GoRegex::new_unanchored(&entry.pattern);
        match (&ours, entry.unanchored_accepted) {
            (Ok(_), true) => {}
            (Err(_), false) => {
                let error = validate_silence_matcher(MatchType::Regexp, "v", &entry.pattern)
                    .expect_err("rejected pattern");
                let ours = format!("silence invalid: invalid label matcher 0: {error}");
                let go = entry.unanchored_error.as_deref().unwrap_or_default();
                if ours != go {
                    failures.push(format!("{:?}: Go {go:?}, ours {ours:?}", entry.pattern));
                }
            }
            (ours, _) => failures.push(format!(
                "{:?}: Go {:?}, ours {ours:?}",
                entry.pattern, entry.unanchored_error
            )),
        }
    }
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn unanchored_finds_substrings_and_reports_trailing_backslash() {
    let regex = GoRegex::new_unanchored(r"\d+").unwrap();
    assert!(regex.is_match("abc123"));
    assert!(!regex.is_match("abc١٢٣"));
    let error = GoRegex::new_unanchored("a\\").unwrap_err();
    assert_eq!(
        error.to_string(),
        "error parsing regexp: trailing backslash at end of expression: ``"
    );
}

#[test]
fn replace_all_expands_like_go() {
    let regex = GoRegex::new_unanchored(r"(\w+)@(\w+)").unwrap();
    assert_eq!(
        regex.replace_all("bob@example x", "$2_$1 ${1}x $1x ${2}_$1"),
        "bob bobx  example_bob x"
    );
    assert_eq!(regex.replace_all("a@b", "$$1 $ ${1"), "$1 $ ${1");
    let named = GoRegex::new_unanchored(r"(?P<user>\w+)@(?P<1x>\w+)").unwrap();
    assert_eq!(named.replace_all("bob@host", "$user at $1x / ${user}"), "bob at host / bob");
    assert_eq!(named.replace_all("bob@host", "[$missing]"), "[]");
    let empty = GoRegex::new_unanchored("a*").unwrap();
    assert_eq!(empty.replace_all("baaac", "-"), "-b-c-");
}

#[test]
fn duplicate_and_numeric_group_names_are_go_valid() {
    let regex = GoRegex::new_unanchored(r"(?P<n>a)|(?P<n>b)").unwrap();
    assert_eq!(regex.replace_all("b", "<$n>"), "<b>");
    assert!(GoRegex::new_anchored("(?P<1>a)").unwrap().is_match("a"));
}

/// Random patterns over Go's metacharacters: whatever our Go parser accepts must compile in
/// the `regex` crate (an "internal translation error" is a translator bug), and compiling
/// must never panic.
#[test]
fn accepted_patterns_always_compile() {
    const ALPHABET: &[&str] = &[
        "a",
        "b",
        "K",
        "é",
        ".",
        "*",
        "+",
        "?",
        "|",
        "(",
        ")",
        "(?:",
        "(?i)",
        "(?s:",
        "(?P<n>",
        "[",
        "]",
        "^",
        "-",
        "&&",
        "~~",
        "--",
        "{2}",
        "{1,3}",
        "{",
        "}",
        ",",
        r"\d",
        r"\W",
        r"\s",
        r"\b",
        r"\B",
        r"\A",
        r"\z",
        r"\Q",
        r"\E",
        r"\pL",
        r"\P{Greek}",
        r"\x{D800}",
        r"\101",
        r"\\",
        "[:alpha:]",
        "[:^word:]",
        "$",
        "\n",
        " ",
        "#",
        "<",
        ">",
        "=",
        r"\-",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        // xorshift64: deterministic, so failures reproduce.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut accepted = 0;
    for _ in 0..4_000 {
        let len = 1 + (next() % 8) as usize;
        let pattern: String =
            (0..len).map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize]).collect();
        for result in [GoRegex::new_anchored(&pattern), GoRegex::new_unanchored(&pattern)] {
            match result {
                Ok(_) => accepted += 1,
                Err(error) => assert!(
                    !error.reason.starts_with("internal translation error"),
                    "{pattern:?}: {error}"
                ),
            }
        }
    }
    assert!(accepted > 200, "the generator should produce valid patterns too ({accepted})");
}
