//! Wiring of the alert generator: loads `--rules.file`, builds the datasource, and starts the
//! rule engine with two destinations — this instance's own receiver (the alert store that
//! `POST /api/v2/alerts` feeds) and every `--alertmanager.url`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ruler::alerting::{OutgoingAlert, TemplateEnv};
use ruler::engine::{AlertSink, Engine, Options};
use ruler::notifier::Alertmanagers;

use crate::app::App;
use crate::flags::RuleFlags;

/// Loads the rules and starts evaluating them; with no `--rules.file` nothing starts.
pub fn start(app: &Arc<App>, flags: &RuleFlags) -> Result<(), String> {
    let groups = ruler::rulefile::load_globs(&flags.files)?;
    if flags.files.is_empty() {
        return Ok(());
    }
    if flags.datasource_url.is_empty() {
        return Err(
            "--rules.file needs --datasource.url (a Prometheus URL, or builtin: for the built-in test datasource)"
                .to_owned(),
        );
    }
    let datasource = ruler::datasource::from_url(&flags.datasource_url)?;
    let external = Alertmanagers::start(&flags.alertmanager_urls)?;
    let sink = Arc::new(Destinations { app: Arc::downgrade(app), external });
    let mut external_labels = Vec::new();
    for pair in &flags.external_labels {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("--rules.external-label {pair:?}: expected name=value"))?;
        external_labels.push((name.to_owned(), value.to_owned()));
    }
    let options = Options {
        tick: flags.tick_interval,
        default_interval: flags.evaluation_interval,
        evaluation_timeout: flags.evaluation_timeout,
        resend_delay: flags.resend_delay,
        template_env: TemplateEnv {
            external_labels: model::LabelSet::from_pairs(external_labels),
            external_url: app.external_url.clone(),
        },
    };
    let clock_app = Arc::downgrade(app);
    let clock = Arc::new(move || clock_app.upgrade().map_or_else(Utc::now, |app| app.now()));
    let engine = Engine::new(groups, datasource, sink, options, clock)?;
    let rules: usize = engine.groups().iter().map(|g| g.spec.rules.len()).sum();
    tracing::info!(groups = engine.groups().len(), rules, datasource = %flags.datasource_url, "Evaluating rules");
    let _ = app.rules.set(engine.clone());
    // Runs for the life of the process.
    tokio::spawn(engine.run());
    Ok(())
}

/// The receiver in this process plus the external Alertmanagers.
struct Destinations {
    app: std::sync::Weak<App>,
    external: Arc<Alertmanagers>,
}

impl AlertSink for Destinations {
    fn send(&self, alerts: Vec<OutgoingAlert>) {
        if let Some(app) = self.app.upgrade() {
            receive(&app, &alerts);
        }
        self.external.send(alerts);
    }
}

/// Puts alerts into the receiver as `POST /api/v2/alerts` would.
fn receive(app: &App, alerts: &[OutgoingAlert]) {
    let now = app.now();
    let fixed = |t: DateTime<Utc>| t.fixed_offset();
    let converted: Vec<model::Alert> = alerts
        .iter()
        .map(|alert| model::Alert {
            labels: alert.labels.without_empty_values(),
            annotations: alert.annotations.clone(),
            starts_at: fixed(alert.starts_at),
            ends_at: fixed(alert.ends_at),
            generator_url: app.alerts.intern_generator_url(&alert.generator_url),
            updated_at: now,
            timeout: false,
        })
        .collect();
    let firing = converted.iter().filter(|a| a.ends_at > now).count() as u64;
    let resolved = converted.len() as u64 - firing;
    app.metrics.alerts_received.with_label_values(&["firing"]).inc_by(firing);
    app.metrics.alerts_received.with_label_values(&["resolved"]).inc_by(resolved);
    let stored = app.alerts.put(converted, now);
    app.alerts_accepted(&stored, now);
}
