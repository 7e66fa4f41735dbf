//! The queue between the hot paths and the store for what must survive a SIGKILL but changes
//! too often for a transaction each: accepted alerts and notification-log entries. Producers
//! append and get a sequence number; one writer task (in [`crate::persistence`]) drains
//! everything pending into one transaction per table and reports the last number stored; a
//! request that must not be answered before its alerts are stored waits for that number
//! (group commit: concurrent requests share one commit).
//!
//! A failed write is retried with what arrived meanwhile. While the database stays away the
//! queue is bounded: past [`PENDING_ALERTS_MAX`] the oldest batches are dropped (they are in
//! memory, and the next full snapshot stores them) and waiting requests time out with 500.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use model::Alert;
use tokio::sync::{Notify, watch};

/// Most alerts held for the writer; beyond it the oldest are left to the next snapshot.
pub const PENDING_ALERTS_MAX: usize = 1_000_000;

#[derive(Default)]
struct Pending {
    /// Sequence number of the last change appended.
    appended: u64,
    alerts: Vec<Arc<Alert>>,
    /// Delimited `MeshEntry` messages.
    nflog: Vec<u8>,
}

/// What the writer takes in one go.
pub struct Batch {
    /// The last sequence number the batch covers.
    pub up_to: u64,
    /// Alerts to upsert.
    pub alerts: Vec<Arc<Alert>>,
    /// A delimited `MeshEntry` stream to upsert.
    pub nflog: Vec<u8>,
}

/// Changes waiting to be stored.
pub struct Outbox {
    /// False when alerts are kept in memory only (`--storage.persist-alerts=false`).
    keep_alerts: AtomicBool,
    pending: Mutex<Pending>,
    wake: Notify,
    stored: watch::Sender<u64>,
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox {
            keep_alerts: AtomicBool::new(true),
            pending: Mutex::default(),
            wake: Notify::new(),
            stored: watch::Sender::new(0),
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
        self.wake.notify_one();
    }

    /// Queues one delimited `MeshEntry`.
    pub fn nflog(&self, delimited_entry: &[u8]) {
        let mut pending = self.lock();
        pending.appended += 1;
        pending.nflog.extend_from_slice(delimited_entry);
        drop(pending);
        self.wake.notify_one();
    }

    /// The sequence number of the last change queued so far.
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

    /// Waits until something is queued.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Takes everything pending, or nothing when nothing is.
    pub fn take(&self) -> Option<Batch> {
        let mut pending = self.lock();
        if pending.alerts.is_empty() && pending.nflog.is_empty() {
            return None;
        }
        Some(Batch {
            up_to: pending.appended,
            alerts: std::mem::take(&mut pending.alerts),
            nflog: std::mem::take(&mut pending.nflog),
        })
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

    #[tokio::test]
    async fn waiters_answer_once_their_batch_is_stored() {
        let outbox = Outbox::default();
        assert!(outbox.take().is_none());
        outbox.nflog(b"\x01a");
        let first = outbox.appended();
        outbox.nflog(b"\x01b");
        let batch = outbox.take().unwrap();
        assert_eq!(batch.nflog, b"\x01a\x01b");
        assert!(!outbox.wait_stored(first, Duration::from_millis(10)).await);
        // A failed write keeps the batch, ahead of what came after it.
        outbox.retry(batch);
        outbox.nflog(b"\x01c");
        let batch = outbox.take().unwrap();
        assert_eq!(batch.nflog, b"\x01a\x01b\x01c");
        outbox.stored(batch.up_to);
        assert!(outbox.wait_stored(first, Duration::from_millis(10)).await);
        assert!(outbox.take().is_none());
    }
}
