//! Template oracle: every template of `testdata/templates/cases` is rendered by
//! `amtool template render` (Alertmanager 0.25) and by `klaxon template render` with the
//! same flags. Output must be byte-identical; a template that fails in amtool must fail in
//! Klaxon with the same kind of error (parse, execution, or the same message otherwise).
//!
//! Case files run against `data.json` (fixed times, so output is stable), except those named
//! `default_*`, which use the built-in example data, and `*.html.txt`, which render as HTML.
//! `lib/*.tmpl` is the template glob of every case.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::require_program;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/templates")
}

/// What one program printed.
#[derive(Debug)]
struct Outcome {
    ok: bool,
    stdout: String,
    /// The error message without the `amtool: error: ` / `klaxon: error: ` prefix.
    error: String,
}

impl Outcome {
    /// Parse, execution, JSON and time errors, or the message itself for other failures.
    fn error_kind(&self) -> String {
        let e = &self.error;
        if e.contains(": executing \"") {
            "execution".into()
        } else if e.starts_with("template: ") {
            "parse".into()
        } else if e.starts_with("parsing time ") {
            "time".into()
        } else if e.starts_with("json: ")
            || e.starts_with("invalid character")
            || e.starts_with("unexpected end of JSON")
        {
            "json".into()
        } else {
            e.clone()
        }
    }
}

fn run(program: &Path, prefix: &str, args: &[String]) -> Outcome {
    let out = Command::new(program)
        .args(["template", "render"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", program.display()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let error = stderr.trim_end().strip_prefix(prefix).unwrap_or(stderr.trim_end()).to_owned();
    Outcome { ok: out.status.success(), stdout: String::from_utf8_lossy(&out.stdout).into(), error }
}

/// Renders with both programs and returns a description of the differences, if any.
fn compare(label: &str, args: &[String]) -> Option<String> {
    let amtool = run(&require_program("amtool"), "amtool: error: ", args);
    let klaxon = run(Path::new(env!("CARGO_BIN_EXE_klaxon")), "klaxon: error: ", args);
    if amtool.ok != klaxon.ok {
        return Some(format!(
            "{label}: amtool ok={} klaxon ok={}\n  amtool: {amtool:?}\n  klaxon: {klaxon:?}",
            amtool.ok, klaxon.ok
        ));
    }
    if amtool.ok && amtool.stdout != klaxon.stdout {
        return Some(format!(
            "{label}: output differs\n  amtool: {:?}\n  klaxon: {:?}",
            amtool.stdout, klaxon.stdout
        ));
    }
    if !amtool.ok && amtool.error_kind() != klaxon.error_kind() {
        return Some(format!(
            "{label}: error kinds differ\n  amtool: {}\n  klaxon: {}",
            amtool.error, klaxon.error
        ));
    }
    None
}

fn case_args(dir: &Path, file: &Path) -> Vec<String> {
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(file).expect("read case");
    let mut args = vec![
        format!("--template.glob={}", dir.join("lib/*.tmpl").display()),
        format!("--template.text={text}"),
    ];
    if !name.starts_with("default_") {
        args.push(format!("--template.data={}", dir.join("data.json").display()));
    }
    if name.ends_with(".html.txt") {
        args.push("--template.type=html".into());
    }
    args
}

#[test]
fn template_render_matches_amtool() {
    let dir = corpus();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir.join("cases"))
        .expect("read cases")
        .map(|e| e.expect("entry").path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "the corpus went missing");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            compare(&case.file_name().unwrap().to_string_lossy(), &case_args(&dir, case))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn template_render_load_errors_match_amtool() {
    let dir = corpus();
    let text = "--template.text={{ template \"ok\" }}".to_owned();
    let scenarios = [
        ("broken file", format!("--template.glob={}", dir.join("broken/*.tmpl").display())),
        ("bad pattern", "--template.glob=[".to_owned()),
        ("no match", format!("--template.glob={}", dir.join("nothing-*.tmpl").display())),
        ("directory", format!("--template.glob={}", dir.join("li?").display())),
    ];
    let failures: Vec<String> = scenarios
        .iter()
        .filter_map(|(label, glob)| compare(label, &[glob.clone(), text.clone()]))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn template_render_data_errors_match_amtool() {
    let scratch = crate::support::ScratchDir::new("template-data");
    let bad_type = scratch.write("type.json", r#"{"receiver": 5}"#);
    let bad_json = scratch.write("syntax.json", "{");
    let odd_case = scratch.write(
        "case.json",
        r#"{"RECEIVER": "loud", "alerts": [{"Labels": {"a": "b"}}], "extra": 1}"#,
    );
    let glob = format!("--template.glob={}", corpus().join("lib/*.tmpl").display());
    let text = "--template.text={{ .Receiver }} {{ . }}".to_owned();
    let failures: Vec<String> = [bad_type, bad_json, odd_case]
        .iter()
        .filter_map(|file| {
            let data = format!("--template.data={}", file.display());
            compare(&file.display().to_string(), &[glob.clone(), text.clone(), data])
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The example data carries `time.Now()`-based times, so only their shape can agree: digits
/// are masked before comparing (this still checks the monotonic `m=±s.ns` suffix).
#[test]
fn template_render_example_times_have_amtool_shape() {
    let args = [
        format!("--template.glob={}", corpus().join("lib/*.tmpl").display()),
        "--template.text={{ . }}|{{ (index .Alerts 1).EndsAt.Local }}".to_owned(),
    ];
    // A run of digits collapses to one `9`: Go trims trailing zeros of the nanoseconds.
    let mask = |s: &str| {
        let mut out = String::new();
        for c in s.chars() {
            if !c.is_ascii_digit() {
                out.push(c);
            } else if !out.ends_with('9') {
                out.push('9');
            }
        }
        out
    };
    let amtool = run(&require_program("amtool"), "amtool: error: ", &args);
    let klaxon = run(Path::new(env!("CARGO_BIN_EXE_klaxon")), "klaxon: error: ", &args);
    assert!(amtool.ok && klaxon.ok, "amtool: {amtool:?}\nklaxon: {klaxon:?}");
    assert_eq!(mask(&klaxon.stdout), mask(&amtool.stdout));
}

/// A configuration whose template files stop parsing is refused on reload, by both, with
/// the same answer; the server keeps running on the previous configuration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_with_broken_templates_fails_like_alertmanager() {
    use crate::support::{Implementation, Server, request};
    let scratch = crate::support::ScratchDir::new("template-reload");
    let template = scratch.write("mine.tmpl", "{{ define \"ok\" }}x{{ end }}");
    let config = scratch.write(
        "alertmanager.yml",
        &format!(
            "templates: ['{}']\nroute: {{receiver: r}}\nreceivers: [{{name: r}}]\n",
            template.display()
        ),
    );
    let am = Server::start(Implementation::Alertmanager, "127.0.0.103:9093", &config, &[]);
    let klaxon = Server::start(Implementation::Klaxon, "127.0.0.103:9094", &config, &[]);
    std::fs::write(&template, "{{ define \"ok\" }}x{{ end ").expect("break the template");
    let client = reqwest::Client::new();
    let mut answers = Vec::new();
    for server in [&am, &klaxon] {
        let reply = request(&client, "POST", &format!("{}/-/reload", server.url), None).await;
        answers.push((reply.status, reply.text.trim().to_owned()));
    }
    assert_eq!(answers[1], answers[0], "Klaxon's reload answer differs from Alertmanager's");
    assert_eq!(answers[0].0, 500);
    let ready = request(&client, "GET", &format!("{}/-/ready", klaxon.url), None).await;
    assert_eq!(ready.status, 200);
}
