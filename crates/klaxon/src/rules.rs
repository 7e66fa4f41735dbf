//! Wiring of the alert generator: loads `--rules.file` and the expression rules of
//! `--rules.provisioning` (Grafana's provisioning files), builds the datasources
//! (`--datasource.url` and `--datasources.file`), restores the
//! rules' persisted state, and starts the rule engine with two destinations — this
//! instance's own receiver (the alert store that `POST /api/v2/alerts` feeds) and every
//! `--alertmanager.url`. Rule state (one row per rule) and the state history (every
//! transition, with this instance's id) are written to the store by one background writer.
//! With `--rules.replication-factor`, the engine reads the gossip cluster's live members
//! to know which groups it evaluates, and reads a gained group's state from the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;

use chrono::{DateTime, Utc};
use ruler::alerting::{OutgoingAlert, TemplateEnv};
use ruler::datasource::registry::Registry;
use ruler::engine::{
    AlertSink, Clock, Engine, Options, RuleEvaluation, Sharding, StateObserver, StateSource,
};
use ruler::notifier::Alertmanagers;
use ruler::sharding::{Membership, MembershipView};
use store::{HistoryEntry, RuleStateRow, Store};

use crate::app::App;
use crate::flags::{RuleFlags, ServerFlags};

/// Evaluations queued for the store writer before new ones are dropped (and logged).
const STATE_QUEUE_CAPACITY: usize = 1024;
/// How often old history is deleted.
const HISTORY_GC_INTERVAL: Duration = Duration::from_secs(3600);

/// The rules API's groups, validated, and the (folder, group, version) list read with them.
type ApiGroups = (Vec<ruler::rulefile::RuleGroup>, Vec<(String, String, i64)>);

/// The running alert generator.
pub struct Generator {
    /// The rule engine; replaced whole on reload.
    engine: Arc<ArcSwap<Engine>>,
    /// Where state and history are kept.
    pub store: Store,
    task: Mutex<tokio::task::JoinHandle<()>>,
    flags: RuleFlags,
    sink: Arc<Destinations>,
    observer: Arc<StateWriter>,
    options: Options,
    clock: Clock,
    /// The expression-rule groups of the rules API, as last read from the store, with the
    /// (folder, group, version) list they were read at.
    api_groups: Mutex<ApiGroups>,
    /// The datasources the running engine queries (replaced on reload with it).
    datasources: Mutex<Registry>,
}

impl Generator {
    /// The base tick (every interval must be a multiple of it).
    pub fn tick(&self) -> Duration {
        self.options.tick
    }

    /// The datasources the running engine queries.
    pub fn datasources(&self) -> Registry {
        self.datasources.lock().expect("datasources lock poisoned").clone()
    }

    /// Whether the rules API is on.
    pub fn api_enabled(&self) -> bool {
        self.flags.api
    }

    /// Every group from files (rule files and provisioning files), for checks of API writes.
    pub fn file_groups(&self) -> Result<Vec<ruler::rulefile::RuleGroup>, String> {
        load_groups(&self.flags)
    }

    /// Re-reads the rules API's groups from the store; returns whether they changed since the
    /// last read. A stored group that no longer validates is skipped and logged.
    pub async fn refresh_api_groups(&self) -> Result<bool, String> {
        if !self.flags.api {
            return Ok(false);
        }
        let stored = self.store.list_rule_groups().await.map_err(|e| e.to_string())?;
        let versions: Vec<(String, String, i64)> =
            stored.iter().map(|g| (g.folder.clone(), g.name.clone(), g.version)).collect();
        if self.api_groups.lock().expect("api groups lock poisoned").1 == versions {
            return Ok(false);
        }
        let mut groups = Vec::new();
        for group in &stored {
            let parsed = serde_json::from_str::<ruler::provisioning::GroupNode>(&group.body)
                .map_err(|e| vec![(String::new(), e.to_string())])
                .and_then(|node| node.validate());
            match parsed {
                Ok(valid) => groups.push(valid),
                Err(errors) => {
                    tracing::error!(folder = %group.folder, group = %group.name, ?errors, "Ignoring an invalid stored rule group");
                }
            }
        }
        *self.api_groups.lock().expect("api groups lock poisoned") = (groups, versions);
        Ok(true)
    }
    /// The current rule engine.
    pub fn engine(&self) -> Arc<Engine> {
        self.engine.load_full()
    }

    /// Re-reads the rule files. Invalid files change nothing and their errors are returned;
    /// valid ones replace the engine, and rules that kept their key (file, group, position,
    /// name) keep their alerts, so nothing re-enters pending.
    pub fn reload(&self) -> Result<(), String> {
        let mut groups = load_groups(&self.flags)?;
        // Checked before the engine is replaced, so a file naming a removed datasource keeps
        // the running engine; stored API groups are not, and fail at evaluation instead.
        let datasources = datasources(&self.flags)?;
        datasources.check_groups(&groups)?;
        groups.extend(self.api_groups.lock().expect("api groups lock poisoned").0.iter().cloned());
        check_unique_uids(&groups)?;
        let engine = Engine::new(
            groups,
            Box::new(datasources.clone()),
            self.sink.clone(),
            Some(self.observer.clone()),
            self.options.clone(),
            self.clock.clone(),
        )?;
        engine.continue_from(&self.engine());
        let resolved = self.engine().resolve_removed(&engine);
        if !resolved.is_empty() {
            self.sink.send(resolved);
        }
        let mut task = self.task.lock().expect("rule task lock poisoned");
        task.abort();
        *task = tokio::spawn(engine.clone().run());
        self.engine.store(engine);
        *self.datasources.lock().expect("datasources lock poisoned") = datasources;
        tracing::info!("Reloaded rule files");
        Ok(())
    }
}

/// Expression-rule UIDs must be unique across provisioning files and the rules API.
fn check_unique_uids(groups: &[ruler::rulefile::RuleGroup]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for group in groups {
        for rule in &group.rules {
            if let ruler::rulefile::Rule::Expression(rule) = rule
                && !seen.insert(rule.spec.uid.as_str())
            {
                return Err(format!(
                    "expression rule uid {:?} is defined twice (group {:?} in folder {:?})",
                    rule.spec.uid,
                    group.name,
                    group.file.display()
                ));
            }
        }
    }
    Ok(())
}

/// The rule files' groups, then the provisioning files' expression-rule groups.
fn load_groups(flags: &RuleFlags) -> Result<Vec<ruler::rulefile::RuleGroup>, String> {
    let mut groups = ruler::rulefile::load_globs(&flags.files)?;
    groups.extend(ruler::provisioning::load_globs(&flags.provisioning)?);
    Ok(groups)
}

/// The datasources of `--datasources.file` with `--datasource.url` as the default; without a
/// default, expression rules can still use named datasources and the built-in one, and
/// anything that needs the default fails saying so.
fn datasources(flags: &RuleFlags) -> Result<Registry, String> {
    Registry::load(&flags.datasource_url, &flags.datasource_files)
}

/// Loads the rules and starts evaluating them; with neither `--rules.file` nor
/// `--rules.provisioning` nothing starts.
pub async fn start(app: &Arc<App>, flags: &ServerFlags) -> Result<(), String> {
    let rule_flags = &flags.rules;
    let mut groups = load_groups(rule_flags)?;
    if rule_flags.files.is_empty() && rule_flags.provisioning.is_empty() && !rule_flags.api {
        return Ok(());
    }
    let datasources = datasources(rule_flags)?;
    datasources.check_groups(&groups)?;
    let external = Alertmanagers::start(&rule_flags.alertmanager_urls)?;
    let sink = Arc::new(Destinations { app: Arc::downgrade(app), external: external.clone() });
    let sink_for_engine: Arc<dyn AlertSink> = sink.clone();
    let mut external_labels = Vec::new();
    for pair in &rule_flags.external_labels {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("--rules.external-label {pair:?}: expected name=value"))?;
        external_labels.push((name.to_owned(), value.to_owned()));
    }
    let mut options = Options {
        tick: rule_flags.tick_interval,
        default_interval: rule_flags.evaluation_interval,
        evaluation_timeout: rule_flags.evaluation_timeout,
        resend_delay: rule_flags.resend_delay,
        template_env: TemplateEnv {
            external_labels: model::LabelSet::from_pairs(external_labels),
            external_url: app.external_url.clone(),
        },
        query_attempts: rule_flags.query_attempts.max(1),
        retry_delay: rule_flags.retry_delay,
        sharding: Sharding::default(),
    };
    let store = Store::open(&flags.storage_url, &flags.storage_path)
        .await
        .map_err(|e| format!("rule state store: {e}"))?;
    let sharded = rule_flags.replication_factor > 0 && app.cluster.get().is_some();
    if rule_flags.replication_factor > 0 && !sharded {
        tracing::info!(
            "No cluster: --rules.replication-factor ignored, this instance evaluates every rule group"
        );
    }
    if sharded {
        options.sharding = Sharding {
            replication_factor: rule_flags.replication_factor,
            membership: Some(Arc::new(ClusterMembership(Arc::downgrade(app)))),
            states: Some(Arc::new(StoredStates(store.clone()))),
        };
    }
    let instance = [&rule_flags.instance_id, &flags.cluster.peer_name, &app.external_url]
        .into_iter()
        .find(|id| !id.is_empty())
        .cloned()
        .unwrap_or_default();
    let observer = StateWriter::start(store.clone(), instance.clone());
    let mut api_groups = (Vec::new(), Vec::new());
    if rule_flags.api {
        let stored =
            store.list_rule_groups().await.map_err(|e| format!("rule group store: {e}"))?;
        for group in &stored {
            match serde_json::from_str::<ruler::provisioning::GroupNode>(&group.body)
                .map_err(|e| vec![(String::new(), e.to_string())])
                .and_then(|node| node.validate())
            {
                Ok(valid) => api_groups.0.push(valid),
                Err(errors) => {
                    tracing::error!(folder = %group.folder, group = %group.name, ?errors, "Ignoring an invalid stored rule group");
                }
            }
        }
        api_groups.1 =
            stored.iter().map(|g| (g.folder.clone(), g.name.clone(), g.version)).collect();
        groups.extend(api_groups.0.iter().cloned());
        check_unique_uids(&groups)?;
    }
    let clock_app = Arc::downgrade(app);
    let clock: Clock = Arc::new(move || clock_app.upgrade().map_or_else(Utc::now, |app| app.now()));
    let engine = Engine::new(
        groups,
        Box::new(datasources.clone()),
        sink_for_engine,
        Some(observer.clone()),
        options.clone(),
        clock.clone(),
    )?;
    let stored = store.load_rule_states().await.map_err(|e| format!("rule state store: {e}"))?;
    let states: HashMap<String, String> = stored.into_iter().collect();
    let restored = engine.warm(states);
    // This process's receiver lost what it held; external Alertmanagers still have it.
    // Sharded, the groups this instance will own are sent at their first evaluation here,
    // and the others are not its to send.
    if !sharded {
        receive(app, &engine.alerts_last_sent());
    }
    let rules: usize = engine.groups().iter().map(|g| g.spec.rules.len()).sum();
    tracing::info!(groups = engine.groups().len(), rules, restored, %instance, datasource = %datasources.default_source(), datasources = ?datasources.uids(), replication_factor = rule_flags.replication_factor, "Evaluating rules");
    let engines = Arc::new(ArcSwap::new(engine.clone()));
    let metrics = crate::rules_metrics::RuleMetrics::new(engines.clone(), external);
    if let Err(error) = app.metrics.registry().register(Box::new(metrics)) {
        tracing::warn!(%error, "Rule metrics not registered");
    }
    let task = tokio::spawn(engine.run());
    let generator = Arc::new(Generator {
        engine: engines,
        store: store.clone(),
        task: Mutex::new(task),
        flags: rule_flags.clone(),
        sink,
        observer,
        options,
        clock,
        api_groups: Mutex::new(api_groups),
        datasources: Mutex::new(datasources),
    });
    let _ = app.rules.set(generator.clone());
    if rule_flags.api {
        // Runs for the life of the process: picks up groups that other instances sharing the
        // database wrote, within one tick.
        let poll = Arc::downgrade(&generator);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(rule_flags_tick(&poll));
            loop {
                ticker.tick().await;
                let Some(generator) = poll.upgrade() else { return };
                match generator.refresh_api_groups().await {
                    Ok(true) => {
                        if let Err(error) = generator.reload() {
                            tracing::error!(%error, "Applying stored rule groups failed");
                        }
                    }
                    Ok(false) => {}
                    Err(error) => tracing::warn!(%error, "Reading stored rule groups failed"),
                }
            }
        });
    }
    let retention = chrono::Duration::from_std(rule_flags.history_retention).unwrap_or_default();
    let gc_app = Arc::downgrade(app);
    // Runs for the life of the process: deletes history older than the retention.
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(HISTORY_GC_INTERVAL);
        loop {
            ticker.tick().await;
            let Some(app) = gc_app.upgrade() else { return };
            match store.delete_history_before(app.now() - retention).await {
                Ok(removed) => tracing::debug!(removed, "State history GC"),
                Err(error) => tracing::warn!(%error, "State history GC failed"),
            }
        }
    });
    Ok(())
}

/// The gossip cluster's live members, as the rule engine's sharding reads them.
struct ClusterMembership(std::sync::Weak<App>);

impl Membership for ClusterMembership {
    fn view(&self) -> MembershipView {
        let Some(peer) = self.0.upgrade().and_then(|app| app.cluster.get().cloned()) else {
            return MembershipView::Standalone;
        };
        if !peer.ready() {
            return MembershipView::Settling;
        }
        MembershipView::Members {
            me: peer.name().to_owned(),
            members: peer.peers().into_iter().map(|(name, _)| name).collect(),
        }
    }
}

/// Rule state from the store, for groups this instance takes over.
struct StoredStates(Store);

impl StateSource for StoredStates {
    fn load<'a>(
        &'a self,
        keys: &'a [String],
    ) -> ruler::datasource::BoxFuture<'a, Result<HashMap<String, String>, String>> {
        Box::pin(async move {
            let rows = self.0.load_rule_states_for(keys).await.map_err(|e| e.to_string())?;
            Ok(rows.into_iter().collect())
        })
    }
}

fn rule_flags_tick(generator: &std::sync::Weak<Generator>) -> Duration {
    generator
        .upgrade()
        .map_or(Duration::from_secs(10), |g| g.options.tick)
        .max(Duration::from_millis(100))
}

/// Writes rule state and history in evaluation order, off the evaluation path.
struct StateWriter {
    queue: tokio::sync::mpsc::Sender<Vec<RuleEvaluation>>,
}

impl StateWriter {
    fn start(store: Store, instance: String) -> Arc<StateWriter> {
        let (queue, mut receiver) =
            tokio::sync::mpsc::channel::<Vec<RuleEvaluation>>(STATE_QUEUE_CAPACITY);
        // Runs for the life of the process.
        tokio::spawn(async move {
            while let Some(first) = receiver.recv().await {
                // Everything queued meanwhile goes in the same transactions.
                let mut batches = vec![first];
                while let Ok(more) = receiver.try_recv() {
                    batches.push(more);
                }
                let evaluations: Vec<&RuleEvaluation> = batches.iter().flatten().collect();
                let states: Vec<RuleStateRow<'_>> = evaluations
                    .iter()
                    .map(|evaluation| RuleStateRow {
                        rule_key: &evaluation.key,
                        data: &evaluation.state,
                        evaluated_at: evaluation.at,
                    })
                    .collect();
                if let Err(error) = store.save_rule_states(&states).await {
                    tracing::warn!(%error, rules = states.len(), "Saving rule state failed");
                }
                let history: Vec<HistoryEntry> = evaluations
                    .iter()
                    .flat_map(|evaluation| {
                        evaluation.transitions.iter().map(|t| HistoryEntry {
                            rule_key: evaluation.key.clone(),
                            rule_name: evaluation.name.clone(),
                            labels: serde_json::to_string(&t.labels).unwrap_or_default(),
                            previous: t.previous.clone(),
                            current: t.current.clone(),
                            value: t.value,
                            at: evaluation.at,
                            instance: instance.clone(),
                        })
                    })
                    .collect();
                if !history.is_empty()
                    && let Err(error) = store.append_history(&history).await
                {
                    tracing::warn!(%error, entries = history.len(), "Recording state history failed");
                }
            }
        });
        Arc::new(StateWriter { queue })
    }
}

impl StateObserver for StateWriter {
    fn evaluated(&self, evaluations: Vec<RuleEvaluation>) {
        if self.queue.try_send(evaluations).is_err() {
            tracing::warn!("Rule state writer is behind; an evaluation's state was not stored");
        }
    }
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
    app.metrics.alerts_received.with_label_values(&["firing", "v2"]).inc_by(firing);
    app.metrics.alerts_received.with_label_values(&["resolved", "v2"]).inc_by(resolved);
    let stored = app.alerts.put_fingerprinted(converted, now);
    app.alerts_accepted(&stored, now);
    // No request waits for these, so none takes a turn at writing them to the journal.
    app.durable.wake_writer();
}
