//! Alertmanager's gossip payloads (`cluster/clusterpb/cluster.proto`, proto3): a [`Part`] is
//! one state's bytes under its key (`"nfl"`, `"sil"`) and travels as a user message; a
//! [`FullState`] holds every part and travels as push/pull user state.
//!
//! The messages are declared by hand with `prost` derives so no build script or `protoc` is
//! needed for two tiny types.

/// One state's payload: `Part { string key = 1; bytes data = 2; }`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Part {
    /// State key: `"nfl"` (notification log) or `"sil"` (silences).
    #[prost(string, tag = "1")]
    pub key: String,
    /// The state's own encoding (length-delimited protobuf entries).
    #[prost(bytes = "vec", tag = "2")]
    pub data: Vec<u8>,
}

/// Every registered state: `FullState { repeated Part parts = 1; }`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct FullState {
    /// One part per state, in no particular order.
    #[prost(message, repeated, tag = "1")]
    pub parts: Vec<Part>,
}
