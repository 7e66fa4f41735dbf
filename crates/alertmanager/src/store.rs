//! The alert store (placeholder).
