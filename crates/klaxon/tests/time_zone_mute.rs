//! Time intervals evaluated in named locations, Klaxon against Alertmanager 0.25: for each
//! zone (whole, half and quarter hour offsets, southern and northern daylight saving, `Local`)
//! one route is muted by a 40-minute window around the current wall-clock time in that zone,
//! and one by the same window three hours later. Alertmanager decides which routes notify;
//! Klaxon must notify exactly the same ones. The windows are placed with Klaxon's own zone
//! code, so a wrong offset shows as a disagreement with Alertmanager, not as a passing test.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alertmanager::config::zone::Location;
use axum::http::{StatusCode, Uri};
use chrono::Timelike;
use serde_json::json;
use tokio::time::Instant;

use crate::support::{Implementation, ScratchDir, Server, request};

const ALERTMANAGER_ADDRESS: &str = "127.0.0.124:19193";
const KLAXON_ADDRESS: &str = "127.0.0.125:19193";
const SINK_ADDRESS: &str = "127.0.0.129:19195";
const DELIVERY_DEADLINE: Duration = Duration::from_secs(30);

const ZONES: &[&str] = &[
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "Australia/Lord_Howe",
    "America/St_Johns",
    "UTC",
    "Local",
];

/// `HH:MM` of `minute` since midnight.
fn clock(minute: u32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// A window of ±20 minutes around `minute`, cut at the day's edges (times never wrap).
fn window(minute: u32) -> String {
    let start = minute.saturating_sub(20);
    let end = (minute + 20).min(24 * 60);
    format!("{{start_time: '{}', end_time: '{}'}}", clock(start), clock(end))
}

/// The configuration: route `now-<i>` muted around the zone's current time, `later-<i>`
/// three hours later, and a `marker` route with a group wait, whose notification comes after
/// every route without one.
fn config(path: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let mut routes = String::new();
    let mut intervals = String::new();
    for (index, zone) in ZONES.iter().enumerate() {
        let local = Location::load(zone).expect("zone loads").local_time(now);
        let minute = local.hour() * 60 + local.minute();
        for (name, at) in [("now", minute), ("later", (minute + 180) % (24 * 60))] {
            routes.push_str(&format!(
                "    - matchers: ['case=\"{name}-{index}\"']\n      mute_time_intervals: [{name}-{index}]\n"
            ));
            intervals.push_str(&format!(
                "  - name: {name}-{index}\n    time_intervals:\n      - times: [{}]\n        location: '{zone}'\n",
                window(at)
            ));
        }
    }
    format!(
        "route:\n  receiver: sink\n  group_by: [case]\n  group_wait: 0s\n  group_interval: 1h\n  routes:\n{routes}\
         \x20   - matchers: ['case=\"marker\"']\n      group_wait: 2s\n\
         receivers:\n  - name: sink\n    webhook_configs: [{{url: 'http://{SINK_ADDRESS}/{path}'}}]\n\
         time_intervals:\n{intervals}"
    )
}

async fn start_sink(address: &str) -> Arc<Mutex<Vec<(String, String)>>> {
    let received: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let record = received.clone();
    let router = axum::Router::new().fallback(move |uri: Uri, body: axum::body::Bytes| {
        let record = record.clone();
        async move {
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let case = body["groupLabels"]["case"].as_str().unwrap_or_default().to_owned();
            record.lock().unwrap().push((uri.path().to_owned(), case));
            StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind(address).await.expect("bind sink");
    tokio::spawn(async move { axum::serve(listener, router).await });
    received
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mute_intervals_in_named_locations_match_alertmanager_025() {
    let scratch = ScratchDir::new("time-zone-mute");
    let received = start_sink(SINK_ADDRESS).await;
    let now = chrono::Utc::now();
    let alertmanager = Server::start(
        Implementation::Alertmanager,
        ALERTMANAGER_ADDRESS,
        &scratch.write("alertmanager.yml", &config("alertmanager", now)),
        &[],
    );
    let klaxon = Server::start(
        Implementation::Klaxon,
        KLAXON_ADDRESS,
        &scratch.write("klaxon.yml", &config("klaxon", now)),
        &[],
    );
    let mut cases: Vec<String> = vec!["marker".to_owned()];
    for index in 0..ZONES.len() {
        cases.push(format!("now-{index}"));
        cases.push(format!("later-{index}"));
    }
    let alerts: Vec<_> =
        cases.iter().map(|case| json!({"labels": {"alertname": "Zone", "case": case}})).collect();
    let body = serde_json::Value::from(alerts).to_string();
    let client = reqwest::Client::new();
    for server in [&alertmanager, &klaxon] {
        let reply =
            request(&client, "POST", &format!("{}/api/v2/alerts", server.url), Some(&body)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }

    // Every unmuted route without a group wait notifies before the marker does.
    let started = Instant::now();
    let notified = |path: &str| -> BTreeSet<String> {
        let received = received.lock().unwrap();
        received.iter().filter(|(p, _)| p == path).map(|(_, case)| case.clone()).collect()
    };
    while !(notified("/alertmanager").contains("marker") && notified("/klaxon").contains("marker"))
    {
        assert!(
            started.elapsed() < DELIVERY_DEADLINE,
            "markers not received: {:?}",
            received.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reference = notified("/alertmanager");
    assert_eq!(notified("/klaxon"), reference, "zones: {ZONES:?}");
    // The scenario separates the two kinds of route in Alertmanager itself.
    assert!(
        (0..ZONES.len()).all(|i| !reference.contains(&format!("now-{i}"))
            && reference.contains(&format!("later-{i}"))),
        "Alertmanager notified {reference:?}"
    );
}
