//! Sends alerts to external Alertmanagers over API v2 (`POST /api/v2/alerts`), to every one
//! of them as Prometheus does. Each has a bounded queue; when it is full the oldest alerts
//! are dropped (and counted), so a slow Alertmanager never holds up evaluation.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::alerting::OutgoingAlert;
use crate::engine::AlertSink;

/// Alerts queued per Alertmanager before the oldest are dropped (Prometheus' default).
pub const QUEUE_CAPACITY: usize = 10_000;
/// Alerts per request (Prometheus' batch size).
const BATCH_SIZE: usize = 64;
/// Bound on one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// One external Alertmanager.
pub struct Destination {
    url: String,
    queue: Mutex<VecDeque<OutgoingAlert>>,
    wake: tokio::sync::Notify,
    /// Alerts dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Alerts whose request failed.
    pub errors: AtomicU64,
    /// Alerts delivered.
    pub sent: AtomicU64,
}

impl Destination {
    /// The URL alerts are posted to.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Every external Alertmanager.
pub struct Alertmanagers {
    destinations: Vec<Arc<Destination>>,
}

impl Alertmanagers {
    /// Starts one sender task per base URL (e.g. `http://am:9093`).
    pub fn start(urls: &[String]) -> Result<Arc<Alertmanagers>, String> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| format!("alertmanager client: {e}"))?;
        let mut destinations = Vec::new();
        for url in urls {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!(
                    "--alertmanager.url {url:?}: expected an http:// or https:// URL"
                ));
            }
            let destination = Arc::new(Destination {
                url: format!("{}/api/v2/alerts", url.trim_end_matches('/')),
                queue: Mutex::new(VecDeque::new()),
                wake: tokio::sync::Notify::new(),
                dropped: AtomicU64::new(0),
                errors: AtomicU64::new(0),
                sent: AtomicU64::new(0),
            });
            tokio::spawn(deliver(destination.clone(), client.clone()));
            destinations.push(destination);
        }
        Ok(Arc::new(Alertmanagers { destinations }))
    }

    /// The destinations.
    pub fn destinations(&self) -> &[Arc<Destination>] {
        &self.destinations
    }
}

impl AlertSink for Alertmanagers {
    fn send(&self, alerts: Vec<OutgoingAlert>) {
        for destination in &self.destinations {
            let mut queue = destination.queue.lock().expect("alert queue lock poisoned");
            queue.extend(alerts.iter().cloned());
            let excess = queue.len().saturating_sub(QUEUE_CAPACITY);
            if excess > 0 {
                queue.drain(..excess);
                destination.dropped.fetch_add(excess as u64, Ordering::Relaxed);
            }
            drop(queue);
            destination.wake.notify_one();
        }
    }
}

async fn deliver(destination: Arc<Destination>, client: reqwest::Client) {
    loop {
        let batch: Vec<OutgoingAlert> = {
            let mut queue = destination.queue.lock().expect("alert queue lock poisoned");
            let n = queue.len().min(BATCH_SIZE);
            queue.drain(..n).collect()
        };
        if batch.is_empty() {
            destination.wake.notified().await;
            continue;
        }
        let body = serde_json::Value::Array(batch.iter().map(to_json).collect());
        let result = client.post(&destination.url).json(&body).send().await;
        let count = batch.len() as u64;
        match result {
            Ok(response) if response.status().is_success() => {
                destination.sent.fetch_add(count, Ordering::Relaxed);
            }
            Ok(response) => {
                destination.errors.fetch_add(count, Ordering::Relaxed);
                tracing::warn!(url = %destination.url, status = %response.status(), "Sending alerts failed");
            }
            Err(error) => {
                destination.errors.fetch_add(count, Ordering::Relaxed);
                tracing::warn!(url = %destination.url, %error, "Sending alerts failed");
            }
        }
    }
}

/// The API v2 `postableAlert` JSON of one alert.
pub fn to_json(alert: &OutgoingAlert) -> serde_json::Value {
    let map = |labels: &model::LabelSet| {
        serde_json::Value::Object(
            labels.iter().map(|(k, v)| (k.to_owned(), serde_json::Value::from(v))).collect(),
        )
    };
    let time =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    serde_json::json!({
        "labels": map(&alert.labels),
        "annotations": map(&alert.annotations),
        "startsAt": time(alert.starts_at),
        "endsAt": time(alert.ends_at),
        "generatorURL": alert.generator_url,
    })
}
