//! Notification: what happens to a flush of an aggregation group, and the integrations that
//! deliver it.
//!
//! The stages run in 0.25's order: gossip settle (nothing to wait for without clustering),
//! inhibition, active and mute time intervals, silences, then for each integration of the
//! receiver concurrently: wait (cluster position × peer timeout), dedup against the
//! notification log, send with retries until the flush deadline, and log the send.
//!
//! - [`stages`]: the pure filters and the dedup decision's inputs.
//! - [`retry`]: cenkalti-style exponential backoff with an injected RNG.
//! - [`pipeline`]: the async execution of one flush.
//! - [`webhook`]: the webhook integration and its JSON body, byte for byte 0.25's.
//! - [`email`]: the email integration (SMTP).
//! - [`build`]: the registry turning a receiver's configuration into integrations.
//! - [`http`]: the HTTP client of an `http_config`; [`encode`]: Go's JSON and URL encodings;
//!   [`render`]: template data, rendering, truncation and status classification.
//! - One module per integration: [`slack`], [`discord`], [`webex`], [`telegram`],
//!   [`pagerduty`], [`opsgenie`], [`victorops`], [`pushover`], [`wechat`], [`sns`] (signed
//!   by [`sigv4`]), [`msteams`] (not in 0.25; later releases' format).
//!
//! Everything the pipeline needs from the running process (clock, silences, nflog, metrics)
//! comes through [`NotifyEnv`], so tests drive it with fakes and virtual time.

pub mod build;
pub mod discord;
pub mod email;
pub mod encode;
pub mod http;
pub mod msteams;
pub mod opsgenie;
pub mod pagerduty;
pub mod pipeline;
pub mod pushover;
pub mod render;
pub mod retry;
pub mod sigv4;
pub mod slack;
pub mod sns;
pub mod stages;
pub mod telegram;
pub mod victorops;
pub mod webex;
pub mod webhook;
pub mod wechat;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use model::{Alert, LabelSet};

use crate::nflog::nflogpb::{Entry, Receiver};

/// A boxed future, so integrations can be trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What an integration knows about the notification it sends.
#[derive(Debug, Clone)]
pub struct NotifyContext {
    /// The receiver's name.
    pub receiver: String,
    /// The group key.
    pub group_key: String,
    /// The group labels.
    pub group_labels: LabelSet,
    /// The wall-clock time of this attempt: alerts whose end has passed show as resolved.
    pub now: DateTime<Utc>,
}

/// A failed send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NotifyError {
    /// Whether trying again may succeed (5xx, network errors); false aborts the retries.
    pub retryable: bool,
    /// What went wrong, as it is logged.
    pub message: String,
}

/// One way of delivering notifications (a webhook, an email…), as configured in a receiver.
pub trait Integration: Send + Sync {
    /// The integration type as the nflog records it (`webhook`, `email`…).
    fn name(&self) -> &'static str;
    /// The index among the receiver's integrations of the same type.
    fn index(&self) -> u32;
    /// Whether resolved alerts are sent.
    fn send_resolved(&self) -> bool;
    /// Sends `alerts`.
    fn notify<'a>(
        &'a self,
        context: &'a NotifyContext,
        alerts: &'a [Alert],
    ) -> BoxFuture<'a, Result<(), NotifyError>>;
}

/// Something for the metrics: 0.25's notification counters and latency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NotifyEvent<'a> {
    /// A notification is about to be attempted (`alertmanager_notifications_total`).
    Notification {
        /// Integration type.
        integration: &'a str,
    },
    /// A notification failed for good (`alertmanager_notifications_failed_total`).
    NotificationFailed {
        /// Integration type.
        integration: &'a str,
    },
    /// One request was made (`alertmanager_notification_requests_total`,
    /// `…_requests_failed_total`, `alertmanager_notification_latency_seconds`).
    Request {
        /// Integration type.
        integration: &'a str,
        /// How long the request took.
        latency: Duration,
        /// Whether it failed.
        failed: bool,
    },
}

/// The running process as the pipeline sees it.
pub trait NotifyEnv: Send + Sync + 'static {
    /// The wall clock.
    fn now(&self) -> DateTime<Utc>;
    /// Whether an inhibition rule mutes `labels` at `now`.
    fn inhibited(&self, labels: &LabelSet, now: DateTime<Utc>) -> bool;
    /// Whether a silence mutes `labels` at `now`.
    fn silenced(&self, labels: &LabelSet, now: DateTime<Utc>) -> bool;
    /// The notification log's entry for `group_key` and `receiver`.
    fn nflog_query(&self, receiver: &Receiver, group_key: &str) -> Option<Entry>;
    /// Records a successful send in the notification log at the wall-clock time, the entry
    /// expiring after `expiry` (`2 × repeat_interval`).
    fn nflog_log(
        &self,
        receiver: &Receiver,
        group_key: &str,
        hashes: &stages::DedupHashes,
        expiry: Duration,
    );
    /// Counts an event.
    fn record(&self, event: NotifyEvent<'_>);
    /// A fresh seed for the retry jitter.
    fn rng_seed(&self) -> u64;
    /// The gossip settle gate: `None` without clustering; otherwise a flag the pipeline waits
    /// to see true before anything else (0.25's `ClusterGossipSettleStage`).
    fn settled(&self) -> Option<tokio::sync::watch::Receiver<bool>> {
        None
    }
    /// The cluster members sorted before us right now (0.25's position is their count);
    /// empty without clustering.
    fn peers_ahead(&self) -> Vec<String> {
        Vec::new()
    }
    /// `--cluster.peer-timeout`: the wait per position.
    fn peer_timeout(&self) -> Duration {
        Duration::ZERO
    }
    /// Asks the cluster layer to check soon that these members are alive (the wait stage
    /// is about to wait for them), so that a crashed one is found out sooner.
    fn check_peers(&self, _names: &[String]) {}
}

/// How often the wait stage re-reads the membership while it waits.
pub const WAIT_RECHECK_INTERVAL: Duration = Duration::from_millis(100);

/// When the wait stage that started at `started` with `ahead` peers before us may end, given
/// which members are still sorted before us (`still_ahead`): 0.25 waits
/// `position × peer_timeout`; Klaxon ends the wait at once when none of the original peers
/// ahead is still a member (all dead or left), and otherwise keeps the full wait, because a
/// shorter one would collide with the next peer's. Peers that joined ahead of us during the
/// wait do not extend it.
pub fn wait_until(
    started: tokio::time::Instant,
    ahead: &[String],
    still_ahead: &[String],
    peer_timeout: Duration,
) -> tokio::time::Instant {
    if !ahead.iter().any(|name| still_ahead.contains(name)) {
        return started;
    }
    started + peer_timeout * u32::try_from(ahead.len()).unwrap_or(u32::MAX)
}
