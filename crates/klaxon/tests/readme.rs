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
