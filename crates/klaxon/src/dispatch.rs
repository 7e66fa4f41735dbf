//! The dispatcher's tokio driver: feeds accepted alerts to the sans-IO
//! [`Dispatcher`], sleeps until its next timer, runs each flush through the notification
//! pipeline on its own task, and reports the outcome back.
//!
//! A reload replaces the dispatcher (a new generation) and replays every stored alert into
//! it, as 0.25 does by restarting its dispatcher; flushes still running for the old one are
//! aborted, as 0.25 cancels their context.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use alertmanager::dispatch::aggregate::{Dispatcher, Flush};
use alertmanager::dispatch::route::Route;
use alertmanager::nflog::nflogpb::{Entry, Receiver};
use alertmanager::notify::stages::DedupHashes;
use alertmanager::notify::{NotifyEnv, NotifyEvent};
use chrono::{DateTime, Utc};
use model::{Alert, Fingerprint, LabelSet};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::app::App;
use crate::pipeline_metrics::SumCount;

/// How often empty groups are reaped (0.25's fixed 30s).
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(30);

struct State {
    generation: u64,
    dispatcher: Dispatcher,
    /// Flushes of this generation that may still run.
    flushes: Vec<tokio::task::AbortHandle>,
}

/// The dispatcher shared by the API (inserts, group listing) and the driver task.
pub struct Dispatch {
    state: Mutex<State>,
    wake: Notify,
    processing: SumCount,
}

impl Dispatch {
    /// A dispatcher for `route` with no groups; the time each alert takes to route goes to
    /// `processing`.
    pub fn new(route: Route, processing: SumCount) -> Dispatch {
        Dispatch {
            state: Mutex::new(State {
                generation: 0,
                dispatcher: Dispatcher::new(route),
                flushes: Vec::new(),
            }),
            wake: Notify::new(),
            processing,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("dispatcher lock poisoned")
    }

    /// Routes stored alerts into their groups and wakes the driver for new timers.
    /// `fingerprints` are the alerts' own, in the same order.
    pub fn insert(&self, alerts: &[Arc<Alert>], fingerprints: &[Fingerprint], now: DateTime<Utc>) {
        debug_assert_eq!(alerts.len(), fingerprints.len());
        let mut state = self.lock();
        // Measured only, never decided on: the dispatcher itself takes `now`. One clock read
        // per batch rather than two per alert; the summary's sum and count come out the same.
        let started = std::time::Instant::now();
        for (alert, &fingerprint) in alerts.iter().zip(fingerprints) {
            state.dispatcher.insert_fingerprinted(alert, fingerprint, now);
        }
        self.processing.observe_many(started.elapsed(), alerts.len() as u64);
        drop(state);
        self.wake.notify_one();
    }

    /// Starts over with a new routing tree and `alerts` (everything stored).
    pub fn replace(&self, route: Route, alerts: &[Arc<Alert>], now: DateTime<Utc>) {
        let mut state = self.lock();
        state.generation += 1;
        state.dispatcher = Dispatcher::new(route);
        for flush in state.flushes.drain(..) {
            flush.abort();
        }
        for alert in alerts {
            state.dispatcher.insert(alert, now);
        }
        drop(state);
        self.wake.notify_one();
    }

    /// Reads the dispatcher's state.
    pub fn with<R>(&self, read: impl FnOnce(&Dispatcher) -> R) -> R {
        read(&self.lock().dispatcher)
    }

    fn done(&self, generation: u64, flush: &Flush, success: bool, now: DateTime<Utc>) {
        let mut state = self.lock();
        if state.generation == generation {
            state.dispatcher.flush_done(flush, success, now);
        }
        drop(state);
        self.wake.notify_one();
    }
}

/// Spawns the driver; it runs for the life of the process.
pub fn spawn(app: Arc<App>) {
    tokio::spawn(async move {
        let mut maintenance = tokio::time::interval(MAINTENANCE_INTERVAL);
        maintenance.tick().await;
        loop {
            let now = app.now();
            let deadline = {
                let mut state = app.dispatch.lock();
                let generation = state.generation;
                state.flushes.retain(|flush| !flush.is_finished());
                for flush in state.dispatcher.due(now) {
                    let task = tokio::spawn(run_flush(app.clone(), generation, flush));
                    state.flushes.push(task.abort_handle());
                }
                state.dispatcher.next_deadline()
            };
            // A deadline already past (a flush just finished late) is served on the next turn.
            let sleep = deadline.map_or(MAINTENANCE_INTERVAL, |deadline| {
                (deadline - now).to_std().unwrap_or(Duration::ZERO).min(MAINTENANCE_INTERVAL)
            });
            tokio::select! {
                _ = app.dispatch.wake.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
                _ = maintenance.tick() => {
                    let removed = app.dispatch.lock().dispatcher.maintenance();
                    tracing::debug!(removed, "Aggregation group maintenance");
                }
            }
        }
    });
}

async fn run_flush(app: Arc<App>, generation: u64, flush: Flush) {
    let pipeline = app.config.load().pipeline.clone();
    let flush = Arc::new(flush);
    // 0.25 adds the cluster wait at the flush's start to its timeout.
    let cluster_wait = app.cluster.get().map_or(Duration::ZERO, |peer| peer.wait());
    let deadline =
        Instant::now() + pipeline.flush_timeout(flush.route.options.group_interval) + cluster_wait;
    let result = pipeline.run(app.clone(), flush.clone(), deadline).await;
    if let Err(error) = &result {
        tracing::error!(group_key = %flush.group_key, num_alerts = flush.alerts.len(), %error, "Notify for alerts failed");
    }
    app.dispatch.done(generation, &flush, result.is_ok(), app.now());
}

impl NotifyEnv for App {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn inhibited(&self, labels: &LabelSet, now: DateTime<Utc>) -> bool {
        self.inhibitor().inhibited_by(labels, now).is_some()
    }

    fn silenced(&self, labels: &LabelSet, now: DateTime<Utc>) -> bool {
        let started = std::time::Instant::now();
        let muted = !self.silences().mutes(labels, now).is_empty();
        self.metrics.pipeline.silences.queried(started.elapsed(), false);
        muted
    }

    fn nflog_query(&self, receiver: &Receiver, group_key: &str) -> Option<Entry> {
        let started = std::time::Instant::now();
        let entry =
            self.nflog.lock().expect("nflog lock poisoned").query(receiver, group_key).cloned();
        self.metrics.pipeline.nflog.queried(started.elapsed(), entry.is_none());
        entry
    }

    fn nflog_log(
        &self,
        receiver: &Receiver,
        group_key: &str,
        hashes: &DedupHashes,
        expiry: Duration,
    ) {
        let now = self.now();
        let mut nflog = self.nflog.lock().expect("nflog lock poisoned");
        let (firing, resolved) = (hashes.firing.clone(), hashes.resolved.clone());
        nflog.log(receiver, group_key, firing, resolved, now, expiry);
        if let Some(entry) = nflog.mesh_entry(receiver, group_key) {
            self.durable.nflog(&alertmanager::nflog::nflogpb::encode_delimited(entry));
        }
        let changes = nflog.take_broadcasts();
        drop(nflog);
        if let Some(peer) = self.cluster.get() {
            peer.broadcast(crate::cluster::NFLOG_KEY, changes);
        }
    }

    fn record(&self, event: NotifyEvent<'_>) {
        self.metrics.notify_event(event);
    }

    fn settled(&self) -> Option<tokio::sync::watch::Receiver<bool>> {
        self.cluster.get().map(|peer| peer.ready_receiver())
    }

    fn peers_ahead(&self) -> Vec<String> {
        self.cluster.get().map(|peer| peer.peers_ahead()).unwrap_or_default()
    }

    fn peer_timeout(&self) -> Duration {
        self.cluster.get().map_or(Duration::ZERO, |peer| peer.peer_timeout())
    }

    fn check_peers(&self, names: &[String]) {
        if let Some(peer) = self.cluster.get() {
            peer.probe_soon(names);
        }
    }

    fn rng_seed(&self) -> u64 {
        use std::hash::{BuildHasher, Hasher};
        std::collections::hash_map::RandomState::new().build_hasher().finish()
    }
}
