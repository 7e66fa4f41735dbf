//! The alert receiver, with no HTTP server and no SQL: Alertmanager's configuration, the alert
//! store, and silences. Dispatch, inhibition and notification come with the pipeline.
//!
//! Layout:
//! - [`config`]: `alertmanager.yml`: loading, validation, errors with file and line, and the
//!   Go-compatible rendering that `/api/v2/status` serves as `config.original`.
//! - [`delimited`]: varint-length-delimited protobuf streams (gossip, full state, snapshots).
//! - [`dispatch`]: the routing tree, group keys and the dedup decision (aggregation groups
//!   come with the pipeline).
//! - [`nflog`]: the notification log: entries, expiry, merge, GC, snapshot, its protobuf
//!   encoding (`nflogpb`) and the gossip outbox.
//! - [`silence`]: silences, their protobuf encoding (`silencepb`), states, limits, GC, merge.
//! - [`store`]: the alert store: ingestion defaults, merge of the same fingerprint, GC.
//! - [`template`]: notification templates: Alertmanager's template data and functions on
//!   the `gotemplate` engine.

pub mod config;
pub mod delimited;
pub mod dispatch;
pub mod nflog;
pub mod silence;
pub mod store;
pub mod template;
