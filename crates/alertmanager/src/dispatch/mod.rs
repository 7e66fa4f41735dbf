//! Dispatch: the routing tree (and, with the pipeline, aggregation groups and their timers).

pub mod route;
