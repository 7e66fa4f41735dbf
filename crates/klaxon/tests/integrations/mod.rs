//! Differential tests of the notification integrations: Alertmanager 0.25 and Klaxon get the
//! same receiver, each pointing at its own capture server on loopback, and the same alerts;
//! the requests both issue are compared.
//!
//! - [`capture`]: the capture server (HTTP or HTTPS with a test CA).
//! - [`http_config`]: TLS, credentials, OAuth 2.0, proxy and redirects on the webhook.
//! - [`payloads`]: every integration's request format.
//! - [`retries`]: which HTTP statuses each integration retries.
//! - [`msteams`]: Microsoft Teams, which 0.25 lacks (checked against the documented format).
//!
//! Addresses: 127.0.0.105–119 only.

mod capture;
mod http_config;
mod msteams;
mod payloads;
mod retries;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::support::{Implementation, ScratchDir, Server, request};
use capture::Captured;

/// Starts one implementation with `config` (`ADDR` standing for its capture base).
pub(crate) fn start(
    implementation: Implementation,
    address: &str,
    dir: &ScratchDir,
    config: &str,
) -> Server {
    let name = format!("{implementation:?}.yml");
    let path = dir.write(&name, config);
    Server::start(implementation, address, &path, &[])
}

/// Posts the same alerts to every server.
pub(crate) async fn post_alerts(servers: &[&Server], alerts: &Value) {
    let client = reqwest::Client::new();
    for server in servers {
        let url = format!("{}/api/v2/alerts", server.url);
        let reply = request(&client, "POST", &url, Some(&alerts.to_string())).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
}

/// A firing alert with labels and annotations, started at a fixed time.
pub(crate) fn firing(labels: Value, annotations: Value) -> Value {
    json!({"labels": labels, "annotations": annotations,
           "startsAt": "2026-01-02T03:04:05.678Z", "generatorURL": "http://gen/graph?g0.expr=up&x=<1>"})
}

/// Requests grouped by path (query stripped), in arrival order.
pub(crate) fn by_path(received: &[Captured]) -> BTreeMap<String, Vec<Captured>> {
    let mut out: BTreeMap<String, Vec<Captured>> = BTreeMap::new();
    for captured in received {
        out.entry(captured.path().to_owned()).or_default().push(captured.clone());
    }
    out
}
