//! Dispatch: the routing tree, group keys and the dedup decision (and, with the pipeline,
//! aggregation groups and their timers).

pub mod dedup;
pub mod group_key;
pub mod route;
