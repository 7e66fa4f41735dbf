//! One flush through the pipeline, asynchronously: muting, then every integration of the
//! receiver concurrently (wait, dedup, retry, log).
//!
//! The flush succeeds only if every integration does; a failed flush keeps its alerts for the
//! next tick. Sleeping uses tokio's clock (paused in tests); decisions use the flush's tick
//! time and the injected wall clock.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use model::Alert;
use tokio::time::Instant;

use super::build::{BuildOptions, receiver_integrations};
use super::retry::Backoff;
use super::stages::{self, DedupHashes};
use super::{Integration, NotifyContext, NotifyEnv, NotifyError, NotifyEvent};
use crate::config::{Config, TimeInterval};
use crate::dispatch::aggregate::Flush;
use crate::nflog::nflogpb::Receiver;

/// 0.25's `MinTimeout`: a flush gets at least this long.
pub const MIN_FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// What the pipeline needs from one configuration.
pub struct Pipeline {
    /// Integrations by receiver name.
    pub receivers: HashMap<String, Vec<Arc<dyn Integration>>>,
    /// Named time intervals.
    pub time_intervals: BTreeMap<String, Vec<TimeInterval>>,
    /// The cluster wait: position × `--cluster.peer-timeout` (zero without clustering).
    pub wait: Duration,
}

/// Why a flush failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlushError {
    /// The route names an undefined time interval.
    #[error(transparent)]
    UnknownInterval(#[from] stages::UnknownInterval),
    /// The route's receiver has no pipeline.
    #[error("receiver {0:?} not found")]
    UnknownReceiver(String),
    /// Integrations failed; their errors joined.
    #[error("{0}")]
    Integrations(String),
}

impl Pipeline {
    /// The pipeline of a configuration: every receiver's integrations. Fails when an
    /// integration cannot be built (see [`receiver_integrations`]).
    pub fn from_config(
        config: &Config,
        options: &BuildOptions,
        wait: Duration,
    ) -> Result<Pipeline, String> {
        let mut receivers = HashMap::new();
        for receiver in &config.receivers {
            let integrations = receiver_integrations(receiver, options)?;
            let unsupported = receiver.integrations().len() - integrations.len();
            if unsupported > 0 {
                tracing::warn!(receiver = %receiver.name, unsupported, "Some integrations are not implemented; they are skipped");
            }
            receivers.insert(receiver.name.clone(), integrations);
        }
        Ok(Pipeline { receivers, time_intervals: config.time_intervals.clone(), wait })
    }

    /// How long a flush may run: `max(group_interval, 10s)` plus the cluster wait.
    pub fn flush_timeout(&self, group_interval: Duration) -> Duration {
        group_interval.max(MIN_FLUSH_TIMEOUT) + self.wait
    }

    /// Runs `flush` until done or `deadline`.
    pub async fn run<E: NotifyEnv>(
        self: Arc<Self>,
        env: Arc<E>,
        flush: Arc<Flush>,
        deadline: Instant,
    ) -> Result<(), FlushError> {
        let receiver = &flush.route.options.receiver;
        let integrations = self
            .receivers
            .get(receiver)
            .ok_or_else(|| FlushError::UnknownReceiver(receiver.clone()))?
            .clone();
        let now = flush.now;
        if let Some(mut settled) = env.settled() {
            tokio::select! {
                result = settled.wait_for(|ready| *ready) => {
                    // A dropped sender means the cluster stopped; notifying beats waiting forever.
                    let _ = result;
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(FlushError::Integrations("gossip settle: context deadline exceeded".to_owned()));
                }
            }
        }
        let alerts: Vec<Alert> =
            flush.alerts.iter().filter(|a| !env.inhibited(&a.labels, now)).cloned().collect();
        if alerts.is_empty() || !stages::route_sends_at(&flush.route, &self.time_intervals, now)? {
            return Ok(());
        }
        let alerts: Vec<Alert> =
            alerts.into_iter().filter(|a| !env.silenced(&a.labels, now)).collect();
        if alerts.is_empty() {
            return Ok(());
        }
        let alerts = Arc::new(alerts);
        let mut tasks = tokio::task::JoinSet::new();
        for integration in integrations {
            let job = IntegrationJob {
                integration,
                env: env.clone(),
                flush: flush.clone(),
                alerts: alerts.clone(),
                wait: self.wait,
                deadline,
            };
            tasks.spawn(job.run());
        }
        let mut errors = Vec::new();
        while let Some(result) = tasks.join_next().await {
            match result {
                Ok(Ok(())) => {}
                Ok(Err(error)) => errors.push(error),
                Err(join) => errors.push(format!("integration task failed: {join}")),
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(FlushError::Integrations(errors.join("; "))) }
    }
}

/// One integration's part of a flush.
struct IntegrationJob<E> {
    integration: Arc<dyn Integration>,
    env: Arc<E>,
    flush: Arc<Flush>,
    alerts: Arc<Vec<Alert>>,
    wait: Duration,
    deadline: Instant,
}

impl<E: NotifyEnv> IntegrationJob<E> {
    /// The cluster part of the wait stage: `position × peer_timeout`, re-evaluated while
    /// waiting so it ends early once the peers ahead of us are gone.
    async fn cluster_wait(&self) -> Result<(), String> {
        let ahead = self.env.peers_ahead();
        let peer_timeout = self.env.peer_timeout();
        if ahead.is_empty() || peer_timeout.is_zero() {
            return Ok(());
        }
        self.env.check_peers(&ahead);
        let started = tokio::time::Instant::now();
        loop {
            let until = super::wait_until(started, &ahead, &self.env.peers_ahead(), peer_timeout);
            let now = tokio::time::Instant::now();
            if now >= until {
                return Ok(());
            }
            if now >= self.deadline {
                return Err("context deadline exceeded".to_owned());
            }
            let next = until.min(now + super::WAIT_RECHECK_INTERVAL).min(self.deadline);
            tokio::time::sleep_until(next).await;
        }
    }

    async fn run(self) -> Result<(), String> {
        if !self.wait.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(self.wait) => {}
                _ = tokio::time::sleep_until(self.deadline) => {
                    return Err("context deadline exceeded".to_owned());
                }
            }
        }
        self.cluster_wait().await?;
        let flush = &self.flush;
        let receiver = Receiver::new(
            flush.route.options.receiver.clone(),
            self.integration.name(),
            self.integration.index(),
        );
        let hashes = DedupHashes::of(&self.alerts, flush.now);
        let entry = self.env.nflog_query(&receiver, &flush.group_key);
        let repeat = flush.route.options.repeat_interval;
        // 0.25 reads the wall clock here (after the wait), not the tick; with a repeat
        // interval that is a multiple of the group interval the repeat then races the
        // previous send's latency, in 0.25 as here.
        let now = self.env.now();
        if !hashes.needs_update(entry.as_ref(), repeat, self.integration.send_resolved(), now) {
            return Ok(());
        }
        let name = self.integration.name();
        self.env.record(NotifyEvent::Notification { integration: name });
        if let Err(error) = self.send(&hashes).await {
            self.env.record(NotifyEvent::NotificationFailed { integration: name });
            let message = format!("{}/{}: {error}", flush.route.options.receiver, receiver.key());
            tracing::error!(group_key = %flush.group_key, %message, "Notify for alerts failed");
            return Err(message);
        }
        self.env.nflog_log(&receiver, &flush.group_key, &hashes, 2 * repeat);
        Ok(())
    }

    /// The retry stage: sends until success, a final error, or the deadline.
    async fn send(&self, hashes: &DedupHashes) -> Result<(), String> {
        let send_resolved = self.integration.send_resolved();
        let Some(alerts) =
            stages::alerts_to_send(&self.alerts, send_resolved, hashes, self.flush.now)
        else {
            return Ok(());
        };
        let name = self.integration.name();
        let mut backoff = Backoff::new(self.env.rng_seed());
        let mut last_error: Option<NotifyError> = None;
        for attempt in 1.. {
            let started = Instant::now();
            if started >= self.deadline {
                break;
            }
            let context = NotifyContext {
                receiver: self.flush.route.options.receiver.clone(),
                group_key: self.flush.group_key.clone(),
                group_labels: self.flush.group_labels.clone(),
                now: self.env.now(),
            };
            let outcome =
                tokio::time::timeout_at(self.deadline, self.integration.notify(&context, &alerts))
                    .await;
            let Ok(result) = outcome else { break };
            let failed = result.is_err();
            self.env.record(NotifyEvent::Request {
                integration: name,
                latency: started.elapsed(),
                failed,
            });
            match result {
                Ok(()) => return Ok(()),
                Err(error) if !error.retryable => {
                    return Err(format!(
                        "notify retry canceled due to unrecoverable error after {attempt} attempts: {error}"
                    ));
                }
                Err(error) => {
                    tracing::warn!(attempt, %error, "Notify attempt failed, will retry later");
                    last_error = Some(error);
                }
            }
            let next = started + backoff.next_delay();
            if next >= self.deadline {
                tokio::time::sleep_until(self.deadline).await;
                break;
            }
            tokio::time::sleep_until(next).await;
        }
        let reason = last_error.map_or("context deadline exceeded".to_owned(), |e| e.message);
        Err(format!("notify retry canceled: {reason}"))
    }
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
