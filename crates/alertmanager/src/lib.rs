//! The alert receiver, with no HTTP server and no SQL: Alertmanager's configuration, the alert
//! store, silences, dispatch and the notification pipeline.
//!
//! Layout:
//! - [`config`]: `alertmanager.yml`: loading, validation, errors with file and line, and the
//!   Go-compatible rendering that `/api/v2/status` serves as `config.original`.
//! - [`dispatch`]: the routing tree, group keys, the dedup decision, aggregation groups and
//!   their timers (sans-IO).
//! - [`inhibit`]: inhibition rules and their source caches.
//! - [`nflog`]: the notification log: entries, expiry, merge, GC, snapshot, its protobuf
//!   encoding (`nflogpb`) and the gossip outbox.
//! - [`notify`]: the notification pipeline's stages, retries and integrations (webhook).
//! - [`silence`]: silences, their protobuf encoding (`silencepb`), states, limits, GC, merge.
//! - [`store`]: the alert store: ingestion defaults, merge of the same fingerprint, GC.

pub mod config;
pub mod dispatch;
pub mod inhibit;
pub mod nflog;
pub mod notify;
pub mod silence;
pub mod store;
