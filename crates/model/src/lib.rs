//! Alertmanager's data model, with no I/O: labels, alerts, fingerprints and hashes, matchers
//! with Go RE2 semantics, and Prometheus durations.
//!
//! Layout:
//! - [`labels`]: sorted label sets whose names are interned and shared (each set owns only its
//!   values), fingerprints (FNV-1a) and alert hashes (xxhash64).
//! - [`alert`]: the stored alert and Alertmanager's merge rule.
//! - [`matcher`]: `=`, `!=`, `=~`, `!~` matchers, Alertmanager 0.25's matcher syntax
//!   (`{a="b", c=~"d.*"}`), its text form, sorting and validation.
//! - [`goregex`]: regular expressions with Go RE2 semantics (Go 1.19 `regexp`, which
//!   Alertmanager 0.25 is built with), checked against a corpus recorded from the real binary.
//! - [`duration`]: Prometheus duration strings and a serde adapter.
//! - [`quote`]: Go's `strconv.Quote`.

pub mod alert;
pub mod duration;
pub mod goregex;
pub mod labels;
pub mod matcher;
pub mod quote;

pub use alert::Alert;
pub use duration::{format_duration, parse_duration};
pub use goregex::{GoRegex, RegexError};
pub use labels::{Fingerprint, FingerprintHashing, LabelSet, Labels};
pub use matcher::{
    MatchType, Matcher, Matchers, ParseError, is_valid_label_name, parse_matcher, parse_matchers,
};
