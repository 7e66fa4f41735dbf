//! amtool (Alertmanager 0.25's client) pointed at Alertmanager and at Klaxon: every command of
//! the compatibility list must succeed against Klaxon and print what it prints against
//! Alertmanager, modulo silence ids and times.

use std::path::Path;
use std::process::Command;

use crate::support::{Implementation, ScratchDir, Server, require_program};

const CONFIG: &str = r#"
global:
  resolve_timeout: 5m
route:
  receiver: blackhole
  group_by: ['alertname', 'group']
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - receiver: sink
      matchers: ['harness_route="webhook"']
      group_by: ['alertname', 'group']
      group_wait: 2s
      group_interval: 1m
      repeat_interval: 4h
receivers:
  - name: blackhole
  - name: sink
    webhook_configs:
      - url: 'http://127.0.0.1:19099/hook'
        send_resolved: false
"#;

/// One amtool invocation; `ID` in an argument is replaced by the silence id the server gave.
/// A trailing `@export` saves the command's output to a file that `@file` names later.
const COMMANDS: &[&[&str]] = &[
    &["cluster", "show"],
    &["config", "show"],
    &["config", "routes", "show"],
    &[
        "config",
        "routes",
        "test",
        "--verify.receivers=sink",
        "alertname=X",
        "harness_route=webhook",
    ],
    &["config", "routes", "test", "alertname=X"],
    &[
        "alert",
        "add",
        "HarnessAmtool",
        "group=amtool-1",
        "severity=info",
        "--annotation=summary=amtool check",
    ],
    &["alert", "add", "Other", "group=amtool-2", "harness_route=webhook"],
    &["alert", "query", "HarnessAmtool", "group=amtool-1"],
    &["alert", "query"],
    &["alert", "query", "-o", "json", "group=amtool-1"],
    &["alert", "query", "-o", "extended", "group=~amtool.*"],
    &[
        "silence",
        "add",
        "group=amtool-1",
        "--comment=amtool check",
        "--author=amharness",
        "--duration=1h",
    ],
    &["silence", "query", "group=amtool-1"],
    &["silence", "query", "-q", "group=amtool-1"],
    &["silence", "query", "-o", "json"],
    &["alert", "query", "-s", "-o", "json", "group=amtool-1"],
    &["alert", "query", "--silenced"],
    &["alert", "query", "--active"],
    &["alert", "query", "-r", "sink"],
    &["silence", "query", "-o", "json", "group=amtool-1", "@export"],
    &["silence", "import", "@file"],
    &["silence", "query", "group=amtool-1"],
    &["silence", "update", "-q", "--duration=2h", "ID"],
    &["silence", "expire", "ID"],
    &["silence", "query", "--expired", "-q", "group=amtool-1"],
    &["silence", "query", "--expired", "-o", "json", "group=amtool-1"],
    &["silence", "add", "bad label=x", "--comment=c"],
    &["silence", "expire", "00000000-0000-0000-0000-000000000000"],
];

struct Outcome {
    success: bool,
    stdout: String,
    stderr: String,
}

fn amtool(url: &str, args: &[String]) -> Outcome {
    let output = Command::new(require_program("amtool"))
        .arg(format!("--alertmanager.url={url}"))
        .args(args)
        .output()
        .expect("run amtool");
    Outcome {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Replaces what legitimately differs between two servers: ids, times, addresses.
fn normalise(text: &str, url: &str) -> String {
    let uuid =
        regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").unwrap();
    let time =
        regex::Regex::new(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?( ?(UTC|Z|[+-]\d\d:?\d\d))?")
            .unwrap();
    let duration = regex::Regex::new(r#""(startsAt|endsAt|updatedAt)":"[^"]*""#).unwrap();
    let pointer = regex::Regex::new(r"0x[0-9a-f]{6,}").unwrap();
    let text = text.replace(url, "<url>");
    let text = pointer.replace_all(&text, "<go pointer>");
    let text = uuid.replace_all(&text, "<id>");
    let text = duration.replace_all(&text, "\"$1\":\"<time>\"");
    time.replace_all(&text, "<time>").into_owned()
}

/// Runs the command list against one server, returning each command's normalised outcome.
fn run_all(server: &Server, scratch: &Path) -> Vec<(bool, String)> {
    let export = scratch.join(format!("export-{:?}.json", server.implementation));
    let mut silence_id = String::new();
    let mut results = Vec::new();
    for command in COMMANDS {
        let saves_export = command.last() == Some(&"@export");
        let args: Vec<String> = command
            .iter()
            .filter(|a| **a != "@export")
            .map(|a| a.replace("ID", &silence_id).replace("@file", &export.display().to_string()))
            .collect();
        let outcome = amtool(&server.url, &args);
        if saves_export {
            std::fs::write(&export, &outcome.stdout).expect("write export");
        }
        if command.starts_with(&["silence", "add"]) && outcome.success {
            silence_id = outcome.stdout.trim().to_owned();
        }
        let shown = format!("$ amtool {}\n{}{}", args.join(" "), outcome.stdout, outcome.stderr);
        let shown = shown.replace(&export.display().to_string(), "<export file>");
        results.push((outcome.success, normalise(&shown, &server.url)));
    }
    results
}

/// Goal: amtool behaves the same against Klaxon as against Alertmanager 0.25.
/// Method: the same command list runs against both, each on a fresh server with the same
/// configuration; exit status and normalised output must match command by command.
#[test]
fn amtool_prints_the_same_against_klaxon() {
    let scratch = ScratchDir::new("amtool");
    let config = scratch.write("alertmanager.yml", CONFIG);
    let alertmanager =
        Server::start(Implementation::Alertmanager, "127.0.0.33:19093", &config, &[]);
    let klaxon = Server::start(Implementation::Klaxon, "127.0.0.34:19093", &config, &[]);
    let expected = run_all(&alertmanager, &scratch.0);
    let actual = run_all(&klaxon, &scratch.0);
    let mut differences = Vec::new();
    for (want, got) in expected.iter().zip(&actual) {
        if want != got {
            differences.push(format!(
                "alertmanager (ok={}):\n{}\nklaxon (ok={}):\n{}",
                want.0, want.1, got.0, got.1
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} commands differ:\n\n{}\n\nklaxon log:\n{}",
        differences.len(),
        differences.join("\n\n"),
        klaxon.log_text()
    );
}
