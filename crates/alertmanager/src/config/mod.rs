//! `alertmanager.yml` (placeholder; built in its own branch).
