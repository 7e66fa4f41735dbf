//! Unit tests for the silence store.
