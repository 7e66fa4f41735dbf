//! Dispatch: the routing tree, group keys, the dedup decision, and aggregation groups with
//! their timers.

pub mod aggregate;
pub mod dedup;
pub mod group_key;
pub mod route;
