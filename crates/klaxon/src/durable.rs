//! The queue between the hot paths and the store for what must survive a SIGKILL but changes
//! too often for a transaction each: accepted alerts and notification-log entries. Accepted
//! alerts get a sequence number; a request that must not be answered before its alerts are
//! stored waits for that number (group commit: concurrent requests share one commit).
//!
//! Who writes the alerts depends on the backend. With SQLite's alert journal, the waiting
//! requests take turns as the writer: the first to get the commit lock appends everything
//! pending in one write from its own task, and the requests whose alerts that covered find
//! them stored when their turn comes. The journal write is a copy into the page cache, so
//! doing it in place saves the hops to another thread and back that cost more than the write.
//! Otherwise (PostgreSQL) one writer task (in [`crate::persistence`]) drains everything
//! pending into one transaction per table and reports the last number stored; it also stores
//! the notification-log entries in both cases.
//!
//! A failed write is retried with what arrived meanwhile. While the database stays away the
//! queue is bounded: past [`PENDING_ALERTS_MAX`] the oldest batches are dropped (they are in
//! memory, and the next full snapshot stores them) and waiting requests time out with 500.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use model::Alert;
use store::AlertJournal;
use tokio::sync::{Notify, watch};

/// Most alerts held for the writer; beyond it the oldest are left to the next snapshot.
pub const PENDING_ALERTS_MAX: usize = 1_000_000;

#[derive(Default)]
struct Pending {
    /// Sequence number of the last batch of alerts appended.
    appended: u64,
    alerts: Vec<Arc<Alert>>,
    /// Delimited `MeshEntry` messages.
    nflog: Vec<u8>,
}

/// What the writer takes in one go.
pub struct Batch {
    /// The last alert sequence number the batch covers.
    pub up_to: u64,
    /// Alerts to append (none when the journal takes them).
    pub alerts: Vec<Arc<Alert>>,
    /// A delimited `MeshEntry` stream to upsert.
    pub nflog: Vec<u8>,
}

/// Changes waiting to be stored.
pub struct Outbox {
    /// False when alerts are kept in memory only (`--storage.persist-alerts=false`).
    keep_alerts: AtomicBool,
    /// Set when alerts go to SQLite's journal, written by the waiting requests themselves.
    journal: OnceLock<Arc<AlertJournal>>,
    pending: Mutex<Pending>,
    wake: Notify,
    stored: watch::Sender<u64>,
    /// Held by the request writing the journal; the others queue behind it.
    committing: tokio::sync::Mutex<()>,
    /// Told when the journal has grown enough to fold before the next maintenance.
    fold_wanted: Notify,
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox {
            keep_alerts: AtomicBool::new(true),
            journal: OnceLock::new(),
            pending: Mutex::default(),
            wake: Notify::new(),
            stored: watch::Sender::new(0),
            committing: tokio::sync::Mutex::new(()),
            fold_wanted: Notify::new(),
        }
    }
}

impl Outbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().expect("outbox lock poisoned")
    }

    /// Stops queueing alerts: they are kept in memory only.
    pub fn ignore_alerts(&self) {
        self.keep_alerts.store(false, Ordering::Relaxed);
    }

    /// Sends alerts to `journal`, appended by the requests that wait for them
    /// ([`Outbox::commit_alerts`]) instead of the writer task.
    pub fn append_to_journal(&self, journal: Arc<AlertJournal>) {
        let _ = self.journal.set(journal);
    }

    /// Drops everything queued (what startup loaded from the store is already there).
    pub fn discard(&self) {
        let mut pending = self.lock();
        pending.alerts.clear();
        pending.nflog.clear();
    }

    /// Queues accepted alerts (the store's copies).
    pub fn alerts(&self, stored: &[Arc<Alert>]) {
        if stored.is_empty() || !self.keep_alerts.load(Ordering::Relaxed) {
            return;
        }
        let mut pending = self.lock();
        pending.appended += 1;
        if pending.alerts.len() + stored.len() > PENDING_ALERTS_MAX {
            tracing::warn!(
                dropped = pending.alerts.len(),
                "The store is behind; leaving queued alerts to the next snapshot"
            );
            pending.alerts.clear();
        }
        pending.alerts.extend(stored.iter().cloned());
        drop(pending);
        if self.journal.get().is_none() {
            self.wake.notify_one();
        }
    }

    /// Queues one delimited `MeshEntry`.
    pub fn nflog(&self, delimited_entry: &[u8]) {
        let mut pending = self.lock();
        pending.nflog.extend_from_slice(delimited_entry);
        drop(pending);
        self.wake.notify_one();
    }

    /// The sequence number of the last alerts queued so far.
    pub fn appended(&self) -> u64 {
        self.lock().appended
    }

    /// Waits until everything queued up to `seq` is stored; false when `timeout` passed first.
    pub async fn wait_stored(&self, seq: u64, timeout: Duration) -> bool {
        let mut stored = self.stored.subscribe();
        tokio::time::timeout(timeout, stored.wait_for(|&done| done >= seq))
            .await
            .is_ok_and(|outcome| outcome.is_ok())
    }

    /// Waits until everything queued up to `seq` is stored, appending it to the journal from
    /// this task when its turn comes; false when `timeout` passed first or the write failed
    /// (the alerts stay queued for the next commit).
    pub async fn commit_alerts(&self, seq: u64, timeout: Duration) -> bool {
        let Some(journal) = self.journal.get() else {
            return self.wait_stored(seq, timeout).await;
        };
        let Ok(_turn) = tokio::time::timeout(timeout, self.committing.lock()).await else {
            return false;
        };
        if *self.stored.borrow() >= seq {
            return true;
        }
        let (up_to, alerts) = {
            let mut pending = self.lock();
            (pending.appended, std::mem::take(&mut pending.alerts))
        };
        if alerts.is_empty() {
            // Dropped by the bound on queued alerts while writes were failing.
            return false;
        }
        match journal.append(&alerts) {
            Ok(wants_fold) => {
                self.stored(up_to);
                if wants_fold {
                    self.fold_wanted.notify_one();
                }
                true
            }
            Err(error) => {
                let dir = journal.dir().display().to_string();
                tracing::error!(%error, dir, "Appending alerts to the journal failed");
                self.retry(Batch { up_to, alerts, nflog: Vec::new() });
                false
            }
        }
    }

    /// Journals alerts that no request waits for (the in-process rule evaluator's), from
    /// the writer task. Without a journal the writer task stores them with the rest.
    pub async fn commit_unwaited_alerts(&self, timeout: Duration) {
        let seq = self.appended();
        if self.journal.get().is_some() && seq > *self.stored.borrow() {
            self.commit_alerts(seq, timeout).await;
        }
    }

    /// Wakes the writer task: for alerts queued outside a request, which no request's turn
    /// would write.
    pub fn wake_writer(&self) {
        self.wake.notify_one();
    }

    /// Waits until the journal has grown past its fold threshold.
    pub async fn fold_wanted(&self) {
        self.fold_wanted.notified().await;
    }

    /// Waits until something is queued.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Takes everything pending for the writer task, or nothing when nothing is: the
    /// alerts too unless the journal takes them.
    pub fn take(&self) -> Option<Batch> {
        let journal = self.journal.get().is_some();
        let mut pending = self.lock();
        if pending.nflog.is_empty() && (journal || pending.alerts.is_empty()) {
            return None;
        }
        let alerts = if journal { Vec::new() } else { std::mem::take(&mut pending.alerts) };
        Some(Batch { up_to: pending.appended, alerts, nflog: std::mem::take(&mut pending.nflog) })
    }

    /// Reports a batch stored: its waiters may answer.
    pub fn stored(&self, batch_up_to: u64) {
        self.stored.send_if_modified(|done| {
            let advanced = batch_up_to > *done;
            *done = (*done).max(batch_up_to);
            advanced
        });
    }

    /// Puts a batch that failed back in front of what arrived meanwhile, to be retried.
    pub fn retry(&self, batch: Batch) {
        let mut pending = self.lock();
        let mut alerts = batch.alerts;
        if alerts.len() + pending.alerts.len() <= PENDING_ALERTS_MAX {
            alerts.append(&mut pending.alerts);
            pending.alerts = alerts;
        }
        let mut nflog = batch.nflog;
        nflog.append(&mut pending.nflog);
        pending.nflog = nflog;
        drop(pending);
        self.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::LabelSet;

    fn alert(name: &str) -> Arc<Alert> {
        let now = chrono::Utc::now();
        Arc::new(Alert {
            labels: LabelSet::from_pairs([("alertname", name)]),
            annotations: LabelSet::new(),
            starts_at: now.fixed_offset(),
            ends_at: now.fixed_offset(),
            generator_url: Arc::new(String::new()),
            updated_at: now,
            timeout: false,
        })
    }

    #[tokio::test]
    async fn waiters_answer_once_their_batch_is_stored() {
        let outbox = Outbox::default();
        assert!(outbox.take().is_none());
        outbox.alerts(&[alert("A")]);
        let first = outbox.appended();
        outbox.nflog(b"\x01a");
        let batch = outbox.take().unwrap();
        assert_eq!((batch.alerts.len(), &batch.nflog[..]), (1, &b"\x01a"[..]));
        assert!(!outbox.wait_stored(first, Duration::from_millis(10)).await);
        // A failed write keeps the batch, ahead of what came after it.
        outbox.retry(batch);
        outbox.alerts(&[alert("B")]);
        let batch = outbox.take().unwrap();
        assert_eq!(batch.alerts.len(), 2);
        assert_eq!(batch.alerts[0].labels.get("alertname"), Some("A"));
        outbox.stored(batch.up_to);
        assert!(outbox.wait_stored(first, Duration::from_millis(10)).await);
        assert!(outbox.take().is_none());
    }

    #[tokio::test]
    async fn requests_append_the_journal_in_turn_and_share_commits() {
        let dir = std::env::temp_dir().join(format!("klaxon-outbox-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let journal = Arc::new(AlertJournal::open(&dir.join("klaxon.db")).unwrap());
        let outbox = Outbox::default();
        outbox.append_to_journal(journal.clone());
        outbox.alerts(&[alert("A")]);
        let first = outbox.appended();
        outbox.alerts(&[alert("B")]);
        let second = outbox.appended();
        outbox.nflog(b"\x01a");
        // The writer task gets the notification log only.
        let batch = outbox.take().unwrap();
        assert!(batch.alerts.is_empty());
        assert!(outbox.take().is_none());
        // The later request's turn stores both; the earlier one then finds its alerts stored.
        assert!(outbox.commit_alerts(second, Duration::from_secs(5)).await);
        assert!(outbox.commit_alerts(first, Duration::from_secs(5)).await);
        let read = journal.read_before(u64::MAX).unwrap();
        assert_eq!((read.alerts.len(), read.records), (2, 1));
        // A failed append answers false and keeps the alerts for the next turn (the next
        // segment cannot be created while the directory is gone).
        journal.rotate();
        std::fs::remove_dir_all(journal.dir()).unwrap();
        outbox.alerts(&[alert("C")]);
        assert!(!outbox.commit_alerts(outbox.appended(), Duration::from_secs(5)).await);
        std::fs::create_dir_all(journal.dir()).unwrap();
        outbox.alerts(&[alert("D")]);
        assert!(outbox.commit_alerts(outbox.appended(), Duration::from_secs(5)).await);
        let read = journal.read_before(u64::MAX).unwrap();
        let names: Vec<_> =
            read.alerts.iter().map(|a| a.labels.get("alertname").unwrap()).collect();
        assert_eq!(names, ["C", "D"]);
        // Past the fold threshold a commit asks for a fold.
        journal.fold_after(1);
        outbox.alerts(&[alert("F")]);
        assert!(outbox.commit_alerts(outbox.appended(), Duration::from_secs(5)).await);
        tokio::time::timeout(Duration::from_secs(5), outbox.fold_wanted()).await.unwrap();
        // Alerts no request waits for are written by the writer task's call.
        outbox.alerts(&[alert("E")]);
        outbox.commit_unwaited_alerts(Duration::from_secs(5)).await;
        let read = journal.read_before(u64::MAX).unwrap();
        assert_eq!(read.alerts.last().unwrap().labels.get("alertname"), Some("E"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
