//! Wiring: the shared state behind the HTTP API, configuration reloads, background
//! maintenance, signals and graceful shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alertmanager::config::Config;
use alertmanager::dispatch::route::Route;
use alertmanager::inhibit::Inhibitor;
use alertmanager::nflog::NotificationLog;
use alertmanager::notify::build::BuildOptions;
use alertmanager::notify::http::DEFAULT_REQUEST_TIMEOUT;
use alertmanager::notify::pipeline::Pipeline;
use alertmanager::silence::{Silences, SilencesOptions};
use alertmanager::store::AlertStore;
use alertmanager::template::Templates;
use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

use crate::dispatch::Dispatch;
use crate::flags::ServerFlags;
use crate::metrics::Metrics;

/// A source of wall-clock time, injected so tests can control it.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A configuration that passed validation, with what is derived from it.
pub struct LoadedConfig {
    /// The parsed file.
    pub config: Config,
    /// The routing tree.
    pub route: Route,
    /// The notification pipeline: integrations by receiver, time intervals.
    pub pipeline: Arc<Pipeline>,
}

impl LoadedConfig {
    /// Derives the routing tree, loads the templates and builds the integrations; fails as
    /// 0.25's reload does on a template that does not parse or an integration whose HTTP
    /// client cannot be built.
    fn new(config: Config, external_url: &str) -> Result<Self, String> {
        let route = Route::from_config(&config.route);
        let templates = Templates::from_globs(&config.template_patterns)
            .map_err(|e| format!("failed to parse templates: {e}"))?;
        let options = BuildOptions {
            external_url: external_url.to_owned(),
            templates: Arc::new(templates),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        };
        // No clustering yet: this instance is at position 0 and never waits.
        let pipeline = Arc::new(Pipeline::from_config(&config, &options, Duration::ZERO)?);
        Ok(Self { config, route, pipeline })
    }
}

/// Everything the API handlers share.
pub struct App {
    /// The running configuration; swapped whole on reload.
    pub config: ArcSwap<LoadedConfig>,
    /// Where the configuration is read from.
    pub config_file: PathBuf,
    /// The alerts.
    pub alerts: AlertStore,
    /// The silences.
    pub silences: Mutex<Silences>,
    /// Metrics.
    pub metrics: Metrics,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// When the process started.
    pub started_at: DateTime<Utc>,
    /// The external URL, as notifications and the status page show it.
    pub external_url: String,
    /// Aggregation groups and their timers.
    pub dispatch: Dispatch,
    /// The notification log.
    pub nflog: Mutex<NotificationLog>,
    /// Inhibition rules with their source alerts.
    pub inhibitor: Mutex<Inhibitor>,
    /// The alert generator, when rule files are loaded.
    pub rules: std::sync::OnceLock<Arc<crate::rules::Generator>>,
    /// Alerts and notification-log entries waiting to be stored.
    pub durable: crate::durable::Outbox,
    /// The cluster peer, once started (never, with `--cluster.listen-address=""`).
    pub cluster: std::sync::OnceLock<Arc<crate::cluster::ClusterPeer>>,
}

impl App {
    /// Builds the state from flags, loading the configuration (an invalid file is fatal here).
    pub fn new(flags: &ServerFlags, clock: Arc<dyn Clock>) -> Result<Arc<App>, String> {
        let config = Config::load_file(&flags.config_file).map_err(|e| e.to_string())?;
        let silences = Silences::new(SilencesOptions {
            retention: chrono::Duration::from_std(flags.data_retention)
                .map_err(|e| format!("--data.retention: {e}"))?,
            max_silences: flags.silences_max_silences,
            max_silence_size_bytes: flags.silences_max_silence_size_bytes,
        });
        let metrics = Metrics::new();
        metrics.config_reloaded(true, clock.now(), &config.original_yaml());
        metrics.pipeline.configured(&config);
        let external_url = external_url(flags);
        let loaded = LoadedConfig::new(config, &external_url)?;
        Ok(Arc::new(App {
            dispatch: Dispatch::new(
                loaded.route.clone(),
                metrics.pipeline.alert_processing.clone(),
            ),
            inhibitor: Mutex::new(Inhibitor::new(&loaded.config.inhibit_rules)),
            nflog: Mutex::new(NotificationLog::new(flags.data_retention)),
            durable: crate::durable::Outbox::default(),
            config: ArcSwap::from_pointee(loaded),
            config_file: flags.config_file.clone(),
            alerts: AlertStore::new(),
            silences: Mutex::new(silences),
            metrics,
            started_at: clock.now(),
            clock,
            external_url,
            rules: std::sync::OnceLock::new(),
            cluster: std::sync::OnceLock::new(),
        }))
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Re-reads the rule files and then the configuration file. An invalid file changes
    /// nothing (an invalid configuration after valid rule files keeps the new rules) and its
    /// error is returned.
    pub fn reload(&self) -> Result<(), String> {
        if let Some(rules) = self.rules.get() {
            rules
                .reload()
                .inspect_err(|error| tracing::error!(%error, "Loading rule files failed"))?;
        }
        let loaded = Config::load_file(&self.config_file)
            .map_err(|e| e.to_string())
            .and_then(|config| LoadedConfig::new(config, &self.external_url));
        match loaded {
            Ok(loaded) => {
                self.metrics.config_reloaded(true, self.now(), &loaded.config.original_yaml());
                self.metrics.pipeline.configured(&loaded.config);
                let route = loaded.route.clone();
                self.config.store(Arc::new(loaded));
                let alerts = self.alerts.shared();
                let mut inhibitor = Inhibitor::new(&self.config.load().config.inhibit_rules);
                for alert in &alerts {
                    inhibitor.observe(alert);
                }
                *self.inhibitor() = inhibitor;
                self.dispatch.replace(route, &alerts, self.now());
                tracing::info!(file = %self.config_file.display(), "Completed loading of configuration file");
                Ok(())
            }
            Err(error) => {
                self.metrics.config_reloaded(false, self.now(), "");
                tracing::error!(%error, "Loading configuration file failed");
                Err(error.to_string())
            }
        }
    }

    /// Locks the inhibitor.
    pub fn inhibitor(&self) -> std::sync::MutexGuard<'_, Inhibitor> {
        self.inhibitor.lock().expect("inhibitor lock poisoned")
    }

    /// The fingerprint of the alert inhibiting `labels`, as the API lists it (0.25 reports
    /// one).
    pub fn inhibited_by(&self, labels: &model::LabelSet, now: DateTime<Utc>) -> Vec<String> {
        self.inhibitor().inhibited_by(labels, now).map(|fp| fp.to_string()).into_iter().collect()
    }

    /// Hands accepted alerts (the store's copies) to the inhibitor and the dispatcher.
    pub fn alerts_accepted(
        &self,
        (stored, fingerprints): &(Vec<Arc<model::Alert>>, Vec<model::Fingerprint>),
        now: DateTime<Utc>,
    ) {
        let mut inhibitor = self.inhibitor();
        for alert in stored {
            inhibitor.observe(alert);
        }
        drop(inhibitor);
        self.dispatch.insert(stored, fingerprints, now);
        self.durable.alerts(stored);
    }

    /// Locks the silences (a poisoned lock means a bug elsewhere: crash rather than serve).
    pub fn silences(&self) -> std::sync::MutexGuard<'_, Silences> {
        self.silences.lock().expect("silences lock poisoned")
    }
}

/// The external URL: the flag, or `http://<hostname>:<port>/` as Alertmanager derives it.
fn external_url(flags: &ServerFlags) -> String {
    if let Some(url) = &flags.web_external_url {
        return url.trim_end_matches('/').to_owned();
    }
    let listen = flags.web_listen_address.first().map(String::as_str).unwrap_or(":9093");
    let port = listen.rsplit(':').next().unwrap_or("9093");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned());
    format!("http://{host}:{port}")
}

/// The route prefix: the flag, or the external URL's path.
pub fn route_prefix(flags: &ServerFlags, external_url: &str) -> String {
    let prefix = match &flags.web_route_prefix {
        Some(prefix) => prefix.clone(),
        None => external_url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
            .unwrap_or_default(),
    };
    let trimmed = prefix.trim_end_matches('/');
    if trimmed.is_empty() || trimmed.starts_with('/') {
        trimmed.to_owned()
    } else {
        format!("/{trimmed}")
    }
}

/// Parses a listen address the way Go does: `:9093` means every interface.
fn parse_listen_address(address: &str) -> Result<SocketAddr, String> {
    let full =
        if address.starts_with(':') { format!("0.0.0.0{address}") } else { address.to_owned() };
    full.parse().map_err(|e| format!("invalid --web.listen-address {address:?}: {e}"))
}

/// Runs the server until SIGTERM or SIGINT.
pub async fn run(flags: ServerFlags) -> Result<(), String> {
    if flags.web_config_file.is_some() {
        return Err("--web.config.file is not supported yet".to_owned());
    }
    let app = App::new(&flags, Arc::new(SystemClock))?;
    let persistence = crate::persistence::Persistence::open(&flags).await?;
    persistence.restore(&app).await?;
    // After the restore, as 0.25 registers its states before joining: the first push/pull
    // must carry them.
    if let Some(settings) = crate::cluster::Settings::from_flags(&flags.cluster)? {
        let peer =
            crate::cluster::ClusterPeer::start(settings, &app, persistence.merged_silences())
                .await?;
        app.metrics.cluster_enabled.set(1.0);
        let _ = app.cluster.set(peer);
    }
    let prefix = route_prefix(&flags, &app.external_url);
    let router = persistence.wrap(app.clone(), crate::api::router(app.clone(), &prefix));
    let mut servers = tokio::task::JoinSet::new();
    let (stop_sender, stop_receiver) = tokio::sync::watch::channel(false);
    for address in &flags.web_listen_address {
        let address = parse_listen_address(address)?;
        let listener =
            TcpListener::bind(address).await.map_err(|e| format!("listen on {address}: {e}"))?;
        tracing::info!(%address, "Listening");
        let router = router.clone();
        let mut stop = stop_receiver.clone();
        servers.spawn(async move {
            let shutdown = async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            };
            axum::serve(listener, router).with_graceful_shutdown(shutdown).await
        });
    }
    spawn_maintenance(app.clone(), &flags);
    crate::rules::start(&app, &flags).await?;
    persistence.spawn_maintenance(app.clone(), flags.data_maintenance_interval);
    persistence.spawn_writer(app.clone());
    if let Some(store) =
        persistence.shared_store().filter(|_| !flags.storage_poll_interval.is_zero())
    {
        let (poll, full) = (flags.storage_poll_interval, flags.data_maintenance_interval);
        crate::silence_poll::spawn(store, app.clone(), poll, full);
    }
    crate::dispatch::spawn(app.clone());
    spawn_reload_on_sighup(app.clone());
    wait_for_termination().await;
    tracing::info!("Received termination request, exiting gracefully");
    let _ = stop_sender.send(true);
    let drain = async { while servers.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_DRAIN_MAX, drain).await.is_err() {
        tracing::warn!("HTTP connections still open after the drain bound; exiting anyway");
    }
    if let Some(peer) = app.cluster.get() {
        peer.leave().await;
    }
    persistence.shutdown(&app).await;
    Ok(())
}

/// Bound on waiting for in-flight HTTP requests at shutdown.
const SHUTDOWN_DRAIN_MAX: Duration = Duration::from_secs(10);

async fn wait_for_termination() {
    let mut terminate = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    let mut interrupt = signal(SignalKind::interrupt()).expect("install SIGINT handler");
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
}

fn spawn_reload_on_sighup(app: Arc<App>) {
    let mut hangup = signal(SignalKind::hangup()).expect("install SIGHUP handler");
    // Runs for the life of the process.
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            let _ = app.reload();
        }
    });
}

fn spawn_maintenance(app: Arc<App>, flags: &ServerFlags) {
    let maintenance_interval = flags.data_maintenance_interval.max(Duration::from_secs(1));
    let silences_app = app.clone();
    // Runs for the life of the process: drops silences whose retention has passed.
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(maintenance_interval);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            let now = silences_app.now();
            let gc_metrics = &silences_app.metrics.pipeline;
            let started = std::time::Instant::now();
            let removed = silences_app.silences().gc(now);
            gc_metrics.silences.gc_duration.observe(started.elapsed());
            tracing::debug!(removed, "Silence GC");
            let started = std::time::Instant::now();
            let mut nflog = silences_app.nflog.lock().expect("nflog lock poisoned");
            let collected = nflog.gc(now);
            drop(nflog);
            gc_metrics.nflog.gc_duration.observe(started.elapsed());
            match collected {
                Ok(removed) => tracing::debug!(removed, "Notification log GC"),
                Err(error) => tracing::error!(%error, "Notification log GC failed"),
            }
        }
    });
    let alerts_gc_interval = flags.alerts_gc_interval.max(Duration::from_secs(1));
    let gc_app = app.clone();
    // Runs for the life of the process.
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(alerts_gc_interval);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            let now = gc_app.now();
            let removed = gc_app.alerts.gc(now);
            gc_app.inhibitor().gc(now);
            tracing::debug!(removed = removed.len(), "Alert GC");
        }
    });
}
