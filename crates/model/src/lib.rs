//! Alertmanager's data model, with no I/O: labels, alerts, fingerprints and hashes, matchers
//! with Go RE2 semantics, and Prometheus durations.
//!
//! Layout:
//! - [`labels`]: compact sorted label sets, fingerprints (FNV-1a) and alert hashes (xxhash64).
//! - [`alert`]: the stored alert and Alertmanager's merge rule.
//! - [`matcher`]: `=`, `!=`, `=~`, `!~` matchers.
//! - [`goregex`]: regular expressions with Go RE2 semantics.
//! - [`duration`]: Prometheus duration strings.
//! - [`quote`]: Go's `strconv.Quote`.

pub mod alert;
pub mod duration;
pub mod goregex;
pub mod labels;
pub mod matcher;
pub mod quote;

pub use alert::Alert;
pub use labels::{Fingerprint, LabelSet};
pub use matcher::{MatchType, Matcher, Matchers, parse_matcher, parse_matchers};
