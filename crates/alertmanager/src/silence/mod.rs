//! Silences (placeholder; built in its own branch).
