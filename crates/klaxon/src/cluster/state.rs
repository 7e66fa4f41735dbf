//! The application side of gossip: the full state sent in every push/pull (both states as
//! `clusterpb.FullState`), and what happens to a peer's parts: they are merged into the
//! silences or the notification log, passed on under 0.25's re-gossip rule, and merged
//! silences are handed to the store.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use gossip::clusterpb::{FullState, Part};
use gossip::{Delegate, EventKind, Events, MemberEvent};
use prost::Message;
use tokio::sync::mpsc;

use super::{ClusterMetrics, ClusterPeer, NFLOG_KEY, SILENCES_KEY};
use crate::app::App;

/// The node's delegate: our state for push/pull.
pub(crate) struct StateDelegate {
    app: Weak<App>,
    metrics: Arc<ClusterMetrics>,
}

impl StateDelegate {
    pub(crate) fn new(app: Weak<App>, metrics: Arc<ClusterMetrics>) -> Self {
        Self { app, metrics }
    }
}

impl Delegate for StateDelegate {
    fn local_state(&mut self, _join: bool) -> Vec<u8> {
        let Some(app) = self.app.upgrade() else {
            return Vec::new();
        };
        // Each state's lock is taken alone, never while holding the other.
        let nflog = app.nflog.lock().expect("nflog lock poisoned").snapshot();
        let silences = app.silences().snapshot();
        let state = FullState {
            parts: vec![
                Part { key: NFLOG_KEY.to_owned(), data: nflog },
                Part { key: SILENCES_KEY.to_owned(), data: silences },
            ],
        }
        .encode_to_vec();
        self.metrics.sent(state.len(), "full_state");
        state
    }
}

/// The driver's events, applied to the app.
pub(crate) struct AppEvents {
    app: Weak<App>,
    peer: Mutex<Weak<ClusterPeer>>,
    persist: mpsc::Sender<Vec<u8>>,
    metrics: Arc<ClusterMetrics>,
}

impl AppEvents {
    pub(crate) fn new(
        app: Weak<App>,
        persist: mpsc::Sender<Vec<u8>>,
        metrics: Arc<ClusterMetrics>,
    ) -> Self {
        Self { app, peer: Mutex::new(Weak::new()), persist, metrics }
    }

    /// Connects the events to the peer once it exists (the driver starts first).
    pub(crate) fn attach(&self, peer: Weak<ClusterPeer>) {
        *self.peer.lock().expect("peer lock poisoned") = peer;
    }

    fn peer(&self) -> Option<Arc<ClusterPeer>> {
        self.peer.lock().expect("peer lock poisoned").upgrade()
    }

    /// Merges one part; returns false when the data could not be read.
    fn merge_part(&self, app: &App, part: Part) -> bool {
        let now = app.now();
        match part.key.as_str() {
            NFLOG_KEY => {
                let mut nflog = app.nflog.lock().expect("nflog lock poisoned");
                match nflog.merge(&part.data, now) {
                    Ok(_) => {
                        let again = nflog.take_broadcasts();
                        drop(nflog);
                        self.regossip(NFLOG_KEY, again);
                        true
                    }
                    Err(error) => {
                        tracing::warn!(%error, "merging a notification log part failed");
                        false
                    }
                }
            }
            SILENCES_KEY => {
                let outcome = app.silences().merge(&part.data, now);
                match outcome {
                    Ok(outcome) if !outcome.changed.is_empty() => {
                        tracing::debug!(
                            changed = outcome.changed.len(),
                            "Merged silences from a peer"
                        );
                        if self.persist.try_send(part.data.clone()).is_err() {
                            tracing::warn!(
                                "store queue full; merged silences wait for the next snapshot"
                            );
                        }
                        if outcome.regossip {
                            // 0.25 queues the buffer once per changed silence.
                            let copies = vec![part.data; outcome.changed.len()];
                            self.regossip(SILENCES_KEY, copies);
                        }
                        true
                    }
                    Ok(_) => true,
                    Err(error) => {
                        tracing::warn!(%error, "merging a silences part failed");
                        false
                    }
                }
            }
            other => {
                tracing::debug!(key = other, "ignoring a part for an unknown state");
                true
            }
        }
    }

    fn regossip(&self, key: &str, buffers: Vec<Vec<u8>>) {
        if buffers.is_empty() {
            return;
        }
        if let Some(peer) = self.peer() {
            for data in buffers {
                peer.regossip(key, data);
            }
        }
    }
}

impl Events for AppEvents {
    fn user_message(&self, bytes: Vec<u8>) {
        self.metrics.received(bytes.len(), "update");
        let Some(app) = self.app.upgrade() else { return };
        match Part::decode(bytes.as_slice()) {
            Ok(part) => {
                self.merge_part(&app, part);
            }
            Err(error) => tracing::warn!(%error, "decoding a gossip part failed"),
        }
    }

    fn remote_state(&self, state: Vec<u8>, _join: bool) {
        self.metrics.received(state.len(), "full_state");
        let Some(app) = self.app.upgrade() else { return };
        match FullState::decode(state.as_slice()) {
            Ok(full) => {
                for part in full.parts {
                    // As in 0.25, a failed part stops the rest.
                    if !self.merge_part(&app, part) {
                        break;
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "decoding a peer's full state failed"),
        }
    }

    fn member(&self, event: &MemberEvent) {
        let member = &event.member;
        match event.kind {
            EventKind::Join => {
                tracing::debug!(peer = %member.name, addr = %member.addr, "peer joined");
            }
            EventKind::Leave => {
                tracing::debug!(peer = %member.name, addr = %member.addr, "peer left");
            }
            EventKind::Update => {
                tracing::debug!(peer = %member.name, addr = %member.addr, "peer updated");
            }
        }
        self.metrics.member_event(event.kind, &member.name);
    }

    fn ping_complete(&self, node: &str, rtt: Duration) {
        self.metrics.ping(node, rtt);
    }

    fn conflict(&self, existing: &gossip::Member, claimed: std::net::SocketAddr) {
        tracing::warn!(peer = %existing.name, existing = %existing.addr, %claimed, "peer name conflict");
        self.metrics.conflict();
    }

    fn join_outcome(&self, to: std::net::SocketAddr, refresh: bool, joined: bool) {
        tracing::debug!(%to, refresh, joined, "cluster join");
        self.metrics.join_outcome(refresh, joined);
    }

    fn reliable_sent(&self, key: &str, to: std::net::SocketAddr, took: Option<Duration>) {
        if took.is_none() {
            tracing::debug!(%key, %to, "sending an oversized gossip message failed");
        }
        self.metrics.oversized_outcome(key, took);
    }

    fn transport(&self, event: gossip::TransportEvent) {
        self.metrics.transport(event);
    }
}
