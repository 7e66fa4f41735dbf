//! The README's promise: Klaxon runs on the example configuration with no set-up, and the curl
//! requests the README shows work against it.

use serde_json::json;

use crate::support::{Implementation, Server, request};

/// Goal: the README's run command and requests work on a fresh clone.
/// Method: start Klaxon on `examples/alertmanager.yml` exactly as the README does (another
/// address), then send the README's requests and check their answers.
#[tokio::test]
async fn readme_example_works() {
    let config =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/alertmanager.yml");
    let klaxon = Server::start(Implementation::Klaxon, "127.0.0.37:19093", &config, &[]);
    let client = reqwest::Client::new();
    let alert = json!([{"labels": {"alertname": "DiskFull", "team": "ops"}, "annotations": {"summary": "disk is full"}}]);
    let posted = request(
        &client,
        "POST",
        &format!("{}/api/v2/alerts", klaxon.url),
        Some(&alert.to_string()),
    )
    .await;
    assert_eq!(posted.status, 200, "{}", posted.text);
    let alerts = request(&client, "GET", &format!("{}/api/v2/alerts", klaxon.url), None)
        .await
        .json()
        .unwrap();
    assert_eq!(alerts[0]["labels"]["alertname"], "DiskFull");
    assert_eq!(alerts[0]["receivers"][0]["name"], "ops-webhook");
    let silence = json!({"matchers": [{"name": "team", "value": "ops", "isRegex": false}],
        "startsAt": "2030-01-01T00:00:00Z", "endsAt": "2030-01-02T00:00:00Z",
        "createdBy": "me", "comment": "maintenance"});
    let created = request(
        &client,
        "POST",
        &format!("{}/api/v2/silences", klaxon.url),
        Some(&silence.to_string()),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let silences = request(&client, "GET", &format!("{}/api/v2/silences", klaxon.url), None)
        .await
        .json()
        .unwrap();
    assert_eq!(silences[0]["status"]["state"], "pending");
    assert_eq!(silences[0]["id"], created.json().unwrap()["silenceID"]);
}

/// Goal: the README's run command fires the example alert from the built-in datasource, and
/// it reaches `/api/v2/alerts` within a minute.
/// Method: read the rule flags from the README's run command, start Klaxon with them (another
/// address), poll `/api/v2/alerts` with a one-minute deadline.
#[tokio::test]
async fn readme_run_command_fires_the_example_alert() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let run_command = readme
        .split("cargo run --release --bin klaxon --")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("README has a run command")
        .replace("\\\n", " ");
    let rule_flags: Vec<String> = run_command
        .split_whitespace()
        .filter(|arg| arg.starts_with("--rules.") || arg.starts_with("--datasource."))
        .map(|arg| arg.replace("=examples/", &format!("={}/examples/", root.display())))
        .collect();
    assert_eq!(rule_flags.len(), 2, "{run_command}");
    let config = root.join("examples/alertmanager.yml");
    let flags: Vec<&str> = rule_flags.iter().map(String::as_str).collect();
    let klaxon = Server::start(Implementation::Klaxon, "127.0.0.98:19093", &config, &flags);
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let alerts = request(&client, "GET", &format!("{}/api/v2/alerts", klaxon.url), None).await;
        let alerts = alerts.json().unwrap_or_default();
        let fired = alerts
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["labels"]["alertname"] == "ExampleInstanceDown");
        if let Some(alert) = fired {
            assert_eq!(alert["labels"]["instance"], "example-b");
            assert_eq!(alert["annotations"]["summary"], "example-b of job example is down");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no example alert within a minute; log:\n{}",
            klaxon.log_text()
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}
