//! Durability: the connection between the in-memory state (silences, notification log) and
//! the [`store::Store`] (SQLite under `--storage.path`, or PostgreSQL at `--storage.url`).
//!
//! - At startup, before the API serves, silences and the notification log are loaded.
//! - Every silence change made through the API is written through before the request is
//!   answered: a layer around the router serializes the changing requests, drains the
//!   silences' broadcast outbox after each and upserts exactly those `MeshSilence`s. If the
//!   write fails the client gets a 500 and the error is logged, so nothing acknowledged can
//!   be lost, even by SIGKILL right after the answer.
//! - Every `--data.maintenance-interval`, and at graceful shutdown, the full silence state and
//!   the notification log are upserted (covering anything that did not come through the API)
//!   and expired rows are collected.
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
    /// Held across a silence-changing request and its write-through, so the outbox drained
    /// afterwards holds that request's changes and no other request answers before its own
    /// changes are stored.
    write_lock: tokio::sync::Mutex<()>,
}

/// Merged silence buffers waiting for the store.
const MERGED_QUEUE: usize = 1024;

/// Bound on one maintenance or shutdown write, so a hung database cannot stall shutdown.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(30);

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
        Ok(Arc::new(Persistence {
            store,
            storage_path: flags.storage_path.clone(),
            write_lock: tokio::sync::Mutex::new(()),
        }))
    }

    /// Loads the stored silences and notification log into memory. A store that cannot be
    /// read is fatal: serving without the silences would notify what operators silenced.
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
        tracing::info!(silences = count, nflog = log.len(), "Loaded state from the store");
        Ok(())
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
    /// process.
    pub fn spawn_maintenance(self: &Arc<Self>, app: Arc<App>, interval: Duration) {
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
        let silences = app.silences().snapshot();
        let nflog = app.nflog.lock().expect("notification log lock poisoned").snapshot();
        let now = app.now();
        let work = async {
            let silences = self.store.upsert_silences(&silences).await?;
            let nflog = self.store.upsert_nflog(&nflog).await?;
            let removed = self.store.gc(now).await?;
            Ok::<_, store::StoreError>((silences, nflog, removed))
        };
        match tokio::time::timeout(SNAPSHOT_TIMEOUT, work).await {
            Ok(Ok((silences, nflog, removed))) => tracing::debug!(
                silences,
                nflog,
                removed_silences = removed.silences,
                removed_nflog = removed.nflog,
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

async fn write_through(
    State((persistence, app)): State<(Arc<Persistence>, Arc<App>)>,
    request: Request,
    next: Next,
) -> Response {
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
    }
}
