//! The alert receiver, with no HTTP server and no SQL: Alertmanager's configuration, the alert
//! store, silences, dispatch and the notification pipeline.
//!
//! Layout:
//! - [`config`]: `alertmanager.yml`: loading, validation, errors with file and line, and the
//!   Go-compatible rendering that `/api/v2/status` serves as `config.original`.
//! - [`delimited`]: varint-length-delimited protobuf streams (gossip, full state, snapshots).
//! - [`dispatch`]: the routing tree, group keys, the dedup decision, aggregation groups and
//!   their timers (sans-IO).
//! - [`inhibit`]: inhibition rules and their source caches.
//! - [`nflog`]: the notification log: entries, expiry, merge, GC, snapshot, its protobuf
//!   encoding (`nflogpb`) and the gossip outbox.
//! - [`notify`]: the notification pipeline's stages, retries and integrations (webhook).
//! - [`silence`]: silences, their protobuf encoding (`silencepb`), states, limits, GC, merge.
//! - [`store`]: the alert store: ingestion defaults, merge of the same fingerprint, GC.
//! - [`template`]: notification templates: Alertmanager's template data and functions on
//!   the `gotemplate` engine.

pub mod config;
pub mod delimited;
pub mod dispatch;
pub mod inhibit;
#[cfg(test)]
mod mutated_bytes;
pub mod nflog;
pub mod notify;
pub mod silence;
pub mod store;
pub mod template;
