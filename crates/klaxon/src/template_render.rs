//! `klaxon template render`: renders a template with amtool's example data (or data from a
//! JSON file) and prints the result, like `amtool template render`.

use std::process::ExitCode;
use std::time::Instant;

use alertmanager::template::{Alert, Alerts, Data, GoTime, Kv, Templates, data_from_json};

use crate::flags::TemplateRenderFlags;

/// Renders and prints; errors go to stderr as `klaxon: error: MESSAGE` with exit status 1,
/// as amtool reports them.
pub fn run(flags: &TemplateRenderFlags) -> ExitCode {
    let started = Instant::now();
    let now = chrono::Utc::now();
    match render(flags, now, started) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            // amtool (kingpin) ends the message with an empty line.
            eprintln!("klaxon: error: {error}\n");
            ExitCode::FAILURE
        }
    }
}

/// The rendered text. `now` and `started` (the process start, for Go's monotonic clock
/// reading) date the example data.
pub fn render(
    flags: &TemplateRenderFlags,
    now: chrono::DateTime<chrono::Utc>,
    started: Instant,
) -> Result<String, String> {
    let templates = Templates::from_globs(&flags.glob).map_err(|e| e.to_string())?;
    let data = match &flags.data {
        None => example_data(now, started),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("open {}: {}", path.display(), go_io_reason(&e)))?;
            data_from_json(&text)?
        }
    };
    let value = data.to_value();
    let out = if flags.kind.as_deref() == Some("html") {
        templates.execute_html_string(&flags.text, &value)
    } else {
        templates.execute_text_string(&flags.text, &value)
    };
    out.map_err(|e| e.to_string())
}

/// amtool's built-in example: two alerts with status `alertstatus`, started five and ten
/// minutes ago and ending now (local times carrying a monotonic reading, as Go's
/// `time.Now()` does).
pub fn example_data(now: chrono::DateTime<chrono::Utc>, started: Instant) -> Data {
    let mono = i64::try_from(started.elapsed().as_nanos()).unwrap_or(0);
    let at = |minutes_ago: i64| {
        let d = minutes_ago * 60_000_000_000;
        GoTime::from_chrono(now).local().with_monotonic(mono).add_nanos(-d)
    };
    let common_labels =
        [("commonlabelkey1", "commonlabelvalue1"), ("commonlabelkey2", "commonlabelvalue2")];
    let common_annotations = [
        ("commonannotationkey1", "commonannotationvalue1"),
        ("commonannotationkey2", "commonannotationvalue2"),
    ];
    let alert =
        |labels: &[(&str, &str)], annotations: &[(&str, &str)], ago, fingerprint: &str| Alert {
            status: "alertstatus".into(),
            labels: Kv::new(labels.iter().copied().chain(common_labels)),
            annotations: Kv::new(annotations.iter().copied().chain(common_annotations)),
            starts_at: at(ago),
            ends_at: at(0),
            generator_url: "https://generatorurl.com".into(),
            fingerprint: fingerprint.into(),
        };
    let first = alert(
        &[("label1", "value1"), ("label2", "value2"), ("instance", "foo.bar:1234")],
        &[("annotation1", "value1"), ("annotation2", "value2")],
        5,
        "fingerprint1",
    );
    let second = alert(
        &[("foo", "bar"), ("baz", "qux")],
        &[("aaa", "bbb"), ("ccc", "ddd")],
        10,
        "fingerprint2",
    );
    Data {
        receiver: "receiver".into(),
        status: "alertstatus".into(),
        alerts: Alerts::new(vec![first, second]),
        group_labels: Kv::new([
            ("grouplabelkey1", "grouplabelvalue1"),
            ("grouplabelkey2", "grouplabelvalue2"),
        ]),
        common_labels: Kv::new(common_labels),
        common_annotations: Kv::new(common_annotations),
        external_url: "https://example.com".into(),
    }
}

/// Go's wording of the common I/O errors.
fn go_io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}
