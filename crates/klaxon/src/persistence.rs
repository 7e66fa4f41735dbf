//! Durability: the connection between the in-memory state (silences, notification log) and
//! the [`store::Store`] (SQLite under `--storage.path`, or PostgreSQL at `--storage.url`).
//!
//! - At startup, before the API serves, silences and the notification log are loaded.
//! - Every silence change made through the API is written through before the request is
//!   answered: a layer around the router serializes the changing requests, drains the
//!   silences' broadcast outbox after each and upserts exactly those `MeshSilence`s. If the
//!   write fails the client gets a 500 and the error is logged, so nothing acknowledged can
//!   be lost, even by SIGKILL right after the answer.
//! - Accepted alerts and every notification-log entry the pipeline writes are queued in
//!   [`crate::durable::Outbox`]; `POST /api/v2/alerts` is answered only once its alerts are
//!   stored (group commit: the commit's alerts are appended to the alert log as one record,
//!   on SQLite to the journal beside the database by the waiting requests themselves, on
//!   PostgreSQL to the `alert_log` table by one writer task, which also stores the
//!   notification log), so a restarted instance knows what fired and what resolved, and
//!   which groups it already notified with which alerts.
//! - Every `--data.maintenance-interval`, and at graceful shutdown, the full silence state,
//!   the alerts and the notification log are upserted (covering anything that did not come
//!   through the API), the alert log is folded into the alerts table and expired rows are
//!   collected.
//!
//! Upserts are last-writer-wins on the gossip timestamps, so these writes never replace a
//! newer row another instance stored.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Json, Response};
use store::Store;

use crate::app::App;
use crate::flags::ServerFlags;

/// The store and what is written to it.
pub struct Persistence {
    store: Store,
    /// `--storage.path`, where Alertmanager's snapshot files would be.
    storage_path: PathBuf,
    /// `--storage.persist-alerts`.
    persist_alerts: bool,
    /// Held by a fold of the alert log, so that the maintenance snapshot and an early fold do
    /// not read and remove the same journal segments at once.
    folding: tokio::sync::Mutex<()>,
    /// Held across a silence-changing request and its write-through, so the outbox drained
    /// afterwards holds that request's changes and no other request answers before its own
    /// changes are stored.
    write_lock: tokio::sync::Mutex<()>,
}

/// Merged silence buffers waiting for the store.
const MERGED_QUEUE: usize = 1024;

/// Bound on one maintenance or shutdown write, so a hung database cannot stall shutdown.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest alert-log buffer the writer keeps between commits (about 3000 alerts' worth).
const BLOB_KEPT_BYTES: usize = 1 << 20;
/// How long `POST /api/v2/alerts` waits for its alerts to be stored before answering 500.
const ALERTS_STORED_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause before retrying a failed write of queued alerts and notification-log entries.
const WRITER_RETRY_DELAY: Duration = Duration::from_secs(1);

impl Persistence {
    /// Opens the store the flags name (`--storage.url`, or SQLite under `--storage.path`).
    pub async fn open(flags: &ServerFlags) -> Result<Arc<Persistence>, String> {
        let store = Store::open(&flags.storage_url, &flags.storage_path)
            .await
            .map_err(|error| error.to_string())?;
        let location = if flags.storage_url.is_empty() {
            flags.storage_path.join(store::SQLITE_FILE_NAME).display().to_string()
        } else {
            store::redact(&flags.storage_url)
        };
        tracing::info!(backend = store.backend(), %location, "Opened the store");
        if let Some(journal) = store.alert_journal() {
            journal.fold_after(flags.storage_alert_journal_fold_bytes);
        }
        Ok(Arc::new(Persistence {
            store,
            storage_path: flags.storage_path.clone(),
            persist_alerts: flags.storage_persist_alerts,
            write_lock: tokio::sync::Mutex::new(()),
            folding: tokio::sync::Mutex::new(()),
        }))
    }

    /// The store when other instances may write it too (PostgreSQL), for
    /// [`crate::silence_poll`].
    pub fn shared_store(&self) -> Option<Store> {
        matches!(self.store, Store::Postgres(_)).then(|| self.store.clone())
    }

    /// Loads the stored silences, notification log and alerts into memory (the alerts into
    /// their aggregation groups too). A store that cannot be read is fatal: serving without
    /// the silences would notify what operators silenced.
    ///
    /// An empty store next to Alertmanager snapshot files (Klaxon replacing Alertmanager on
    /// the same `--storage.path`) is filled from them first, so the switch loses nothing.
    pub async fn restore(&self, app: &App) -> Result<(), String> {
        let (mut silences, mut nflog) = self.load().await?;
        let snapshots = ["silences", "nflog"].iter().any(|f| self.storage_path.join(f).is_file());
        if silences.is_empty() && nflog.is_empty() && snapshots {
            let summary = import_snapshots(&self.store, &self.storage_path).await?;
            tracing::info!(%summary, "Imported Alertmanager's snapshots into the empty store");
            (silences, nflog) = self.load().await?;
        }
        let alerts = if self.persist_alerts {
            if let Some(journal) = self.store.alert_journal() {
                app.durable.append_to_journal(journal.clone());
            }
            let mut alerts = self.store.load_alerts().await.map_err(|error| error.to_string())?;
            // Decoded alerts each own their URL; share it as ingested ones do.
            for alert in &mut alerts {
                alert.generator_url = app.alerts.intern_generator_url(&alert.generator_url);
            }
            alerts
        } else {
            app.durable.ignore_alerts();
            Vec::new()
        };
        let mut state = app.silences();
        state.load_snapshot(&silences).map_err(|error| format!("stored silences: {error}"))?;
        // Loading is not a local change; nothing of it is to be written back or gossiped.
        state.take_broadcasts();
        let count = state.len();
        drop(state);
        // The pipeline's own log: a restarted instance must not re-send what it already sent.
        let mut log = app.nflog.lock().expect("notification log lock poisoned");
        log.load_snapshot(&nflog).map_err(|error| format!("stored notification log: {error}"))?;
        log.take_broadcasts();
        let entries = log.len();
        drop(log);
        let restored = alerts.len();
        let now = app.now();
        let stored = app.alerts.put_fingerprinted(alerts, now);
        app.alerts_accepted(&stored, now);
        // They came from the store: nothing to write back.
        app.durable.discard();
        tracing::info!(
            silences = count,
            nflog = entries,
            alerts = restored,
            "Loaded state from the store"
        );
        Ok(())
    }

    /// Stores what [`crate::durable::Outbox`] queues, for the life of the process.
    pub fn spawn_writer(self: &Arc<Self>, app: Arc<App>) {
        let persistence = self.clone();
        tokio::spawn(async move {
            let mut blob = Vec::new();
            loop {
                app.durable.woken().await;
                app.durable.commit_unwaited_alerts(ALERTS_STORED_TIMEOUT).await;
                while let Some(batch) = app.durable.take() {
                    let alerts =
                        persistence.store.append_alerts_reusing(&batch.alerts, &mut blob).await;
                    // A burst's buffer is not kept for the quiet that follows.
                    if blob.capacity() > BLOB_KEPT_BYTES {
                        blob = Vec::new();
                    }
                    let nflog = match alerts {
                        Ok(_) if !batch.nflog.is_empty() => {
                            persistence.store.upsert_nflog(&batch.nflog).await.map(|_| ())
                        }
                        other => other.map(|_| ()),
                    };
                    match nflog {
                        Ok(()) => app.durable.stored(batch.up_to),
                        Err(error) => {
                            tracing::error!(%error, "Storing alerts and notification log failed; retrying");
                            app.durable.retry(batch);
                            tokio::time::sleep(WRITER_RETRY_DELAY).await;
                        }
                    }
                }
            }
        });
    }

    async fn load(&self) -> Result<(Vec<u8>, Vec<u8>), String> {
        let silences = self.store.load_silences().await.map_err(|error| error.to_string())?;
        let nflog = self.store.load_nflog().await.map_err(|error| error.to_string())?;
        Ok((silences, nflog))
    }

    /// Wraps the API so silence changes are stored before they are answered.
    pub fn wrap(self: &Arc<Self>, app: Arc<App>, router: Router) -> Router {
        router.layer(axum::middleware::from_fn_with_state((self.clone(), app), write_through))
    }

    /// Writes the full state and collects expired rows every `interval`, for the life of the
    /// process; folds the alert journal in between when it grows past its threshold.
    pub fn spawn_maintenance(self: &Arc<Self>, app: Arc<App>, interval: Duration) {
        if self.store.alert_journal().is_some() {
            let (persistence, app) = (self.clone(), app.clone());
            tokio::spawn(async move {
                loop {
                    app.durable.fold_wanted().await;
                    let _folding = persistence.folding.lock().await;
                    match persistence.store.compact_alert_log().await {
                        Ok(records) => tracing::debug!(records, "Folded the alert journal early"),
                        Err(error) => tracing::error!(%error, "Folding the alert journal failed"),
                    }
                }
            });
        }
        let persistence = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval.max(Duration::from_secs(1)));
            ticker.tick().await;
            loop {
                ticker.tick().await;
                persistence.snapshot(&app).await;
            }
        });
    }

    /// The final snapshot at graceful shutdown; then the store is closed.
    pub async fn shutdown(&self, app: &App) {
        self.snapshot(app).await;
        self.store.close().await;
    }

    /// Upserts every silence and notification-log entry (older rows only are replaced) and
    /// deletes expired rows. Failures are logged: the next run retries.
    async fn snapshot(&self, app: &App) {
        let metrics = &app.metrics.pipeline;
        let started = std::time::Instant::now();
        let silences = app.silences().snapshot();
        let nflog_started = std::time::Instant::now();
        let nflog = app.nflog.lock().expect("notification log lock poisoned").snapshot();
        let nflog_encoded = nflog_started.elapsed();
        let silences_encoded = nflog_started - started;
        let alerts = if self.persist_alerts { app.alerts.shared() } else { Vec::new() };
        let now = app.now();
        let work = async {
            // A snapshot's duration: encoding the state and writing it to the store.
            let writing = std::time::Instant::now();
            let silences_written = self.store.upsert_silences(&silences).await?;
            metrics.silences.snapshotted(silences_encoded + writing.elapsed(), silences.len());
            let writing = std::time::Instant::now();
            let nflog_written = self.store.upsert_nflog(&nflog).await?;
            metrics.nflog.snapshotted(nflog_encoded + writing.elapsed(), nflog.len());
            // The log first: what it folds into the table is older than the copies in memory.
            let folding = self.folding.lock().await;
            self.store.compact_alert_log().await?;
            drop(folding);
            self.store.upsert_alerts(&alerts).await?;
            let (silences, nflog) = (silences_written, nflog_written);
            let removed = self.store.gc(now).await?;
            Ok::<_, store::StoreError>((silences, nflog, removed))
        };
        match tokio::time::timeout(SNAPSHOT_TIMEOUT, work).await {
            Ok(Ok((silences, nflog, removed))) => tracing::debug!(
                silences,
                nflog,
                removed_silences = removed.silences,
                removed_nflog = removed.nflog,
                removed_alerts = removed.alerts,
                "Wrote state to the store"
            ),
            Ok(Err(error)) => tracing::error!(%error, "Writing state to the store failed"),
            Err(_) => tracing::error!(?SNAPSHOT_TIMEOUT, "Writing state to the store timed out"),
        }
    }

    /// A queue for silences merged from cluster peers, upserted in the background so a
    /// gossip merge never waits on the database (the maintenance snapshot covers anything
    /// dropped when the queue is full).
    pub fn merged_silences(self: &Arc<Self>) -> tokio::sync::mpsc::Sender<Vec<u8>> {
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<u8>>(MERGED_QUEUE);
        let persistence = self.clone();
        tokio::spawn(async move {
            while let Some(bytes) = receiver.recv().await {
                if let Err(error) = persistence.store.upsert_silences(&bytes).await {
                    tracing::error!(%error, "Storing silences merged from a peer failed");
                }
            }
        });
        sender
    }

    /// Stores what the silences' outbox holds, after gossiping it; called with the write
    /// lock held.
    async fn flush_silences(&self, app: &App) -> Result<(), store::StoreError> {
        let changes = app.silences().take_broadcasts();
        if changes.is_empty() {
            return Ok(());
        }
        if let Some(peer) = app.cluster.get() {
            peer.broadcast(crate::cluster::SILENCES_KEY, changes.clone());
        }
        self.store.upsert_silences(&changes.concat()).await.map(|_| ())
    }
}

/// `klaxon import-alertmanager`: upserts Alertmanager's `silences` and `nflog` snapshot
/// files (the same delimited streams the store keeps) and says what it did. A missing file is
/// skipped, since a fresh Alertmanager may not have written one yet.
pub async fn import_alertmanager(
    dir: &Path,
    storage_path: &Path,
    storage_url: &str,
) -> Result<String, String> {
    let store = Store::open(storage_url, storage_path).await.map_err(|error| error.to_string())?;
    let summary = import_snapshots(&store, dir).await;
    store.close().await;
    summary
}

/// Upserts the `silences` and `nflog` snapshot files of `dir` and says what it did.
async fn import_snapshots(store: &Store, dir: &Path) -> Result<String, String> {
    let mut summary = Vec::new();
    for name in ["silences", "nflog"] {
        let path = dir.join(name);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                summary.push(format!("{name}: no snapshot at {}", path.display()));
                continue;
            }
            Err(error) => return Err(format!("reading {}: {error}", path.display())),
        };
        let written = match name {
            "silences" => store.upsert_silences(&bytes).await,
            _ => store.upsert_nflog(&bytes).await,
        }
        .map_err(|error| format!("importing {}: {error}", path.display()))?;
        summary.push(format!("{name}: {written} imported from {}", path.display()));
    }
    Ok(summary.join("\n"))
}

/// Whether a request can change silences (`POST /api/v2/silences`,
/// `DELETE /api/v2/silence/{id}`), under any route prefix.
fn changes_silences(method: &Method, path: &str) -> bool {
    (method == Method::POST && path.ends_with("/api/v2/silences"))
        || (method == Method::DELETE && path.contains("/api/v2/silence/"))
}

/// Whether a request posts alerts (`POST /api/v2/alerts`, under any route prefix).
fn posts_alerts(method: &Method, path: &str) -> bool {
    method == Method::POST && path.ends_with("/api/v2/alerts")
}

async fn write_through(
    State((persistence, app)): State<(Arc<Persistence>, Arc<App>)>,
    request: Request,
    next: Next,
) -> Response {
    if persistence.persist_alerts && posts_alerts(request.method(), request.uri().path()) {
        let response = next.run(request).await;
        let queued = app.durable.appended();
        if app.durable.commit_alerts(queued, ALERTS_STORED_TIMEOUT).await {
            return response;
        }
        tracing::error!(
            ?ALERTS_STORED_TIMEOUT,
            "Alerts not stored (write failed or timed out); answering 500"
        );
        let body = Json("storing the alerts failed or timed out".to_owned());
        return (StatusCode::INTERNAL_SERVER_ERROR, body).into_response();
    }
    if !changes_silences(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    // In its own task: a client that hangs up must not cancel a write whose change is
    // already in memory.
    let task = tokio::spawn(async move {
        let _serialized = persistence.write_lock.lock().await;
        let response = next.run(request).await;
        // Drained whatever the status: a rejected replacement can still have expired the
        // old silence, and that change must be stored too.
        match persistence.flush_silences(&app).await {
            Ok(()) => response,
            Err(error) => {
                tracing::error!(%error, "Storing a silence change failed; answering 500");
                let body = Json(format!("storing the silence change failed: {error}"));
                (StatusCode::INTERNAL_SERVER_ERROR, body).into_response()
            }
        }
    });
    task.await.unwrap_or_else(|error| {
        tracing::error!(%error, "A silence change failed");
        (StatusCode::INTERNAL_SERVER_ERROR, Json("internal error".to_owned())).into_response()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_silence_changes_under_a_prefix() {
        assert!(changes_silences(&Method::POST, "/api/v2/silences"));
        assert!(changes_silences(&Method::POST, "/am/api/v2/silences"));
        assert!(changes_silences(&Method::DELETE, "/api/v2/silence/0f1e"));
        assert!(!changes_silences(&Method::GET, "/api/v2/silences"));
        assert!(!changes_silences(&Method::POST, "/api/v2/alerts"));
        assert!(posts_alerts(&Method::POST, "/prefix/api/v2/alerts"));
        assert!(!posts_alerts(&Method::GET, "/api/v2/alerts"));
    }
}
