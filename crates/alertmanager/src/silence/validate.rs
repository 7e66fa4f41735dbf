//! Validation of locally written silences, with 0.25's rules, order and wording
//! (`validateSilence` in `silence/silence.go`), and the two time checks that 0.25's
//! `postSilencesHandler` makes before it reaches the store.
//!
//! Regex compilation is part of 0.25's validation, but a [`Silence`] can only hold compiled
//! matchers, so that step happens when the API builds them: [`build_matcher`] returns the same
//! error the store would have.

use chrono::{DateTime, Utc};
use model::quote::go_quote;
use model::{MatchType, Matcher};

use super::silencepb::go_zero_time;
use super::{Silence, SilenceError};

/// Builds matcher number `index` (0-based, as 0.25 counts in its messages) of a posted silence,
/// failing as 0.25's validation would on a bad label name or pattern.
pub fn build_matcher(
    index: usize,
    match_type: MatchType,
    name: &str,
    pattern: &str,
) -> Result<Matcher, SilenceError> {
    // 0.25 validates the pattern unanchored, so its error quotes the pattern as given.
    model::matcher::validate_silence_matcher(match_type, name, pattern)
        .map_err(|reason| invalid_matcher(index, reason))?;
    Matcher::new(match_type, name, pattern).map_err(|error| {
        invalid_matcher(index, format!("invalid regular expression {}: {error}", go_quote(pattern)))
    })
}

/// The API handler's checks on a posted silence: `starts_at` strictly before `ends_at`, and
/// `ends_at` not in the past. 0.25 runs them before looking at the id.
pub fn check_postable(
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), SilenceError> {
    if starts_at >= ends_at {
        return Err(SilenceError::Rejected(
            "Failed to create silence: start time must be before end time".to_owned(),
        ));
    }
    if ends_at < now {
        return Err(SilenceError::Rejected(
            "Failed to create silence: end time can't be in the past".to_owned(),
        ));
    }
    Ok(())
}

/// 0.25's `validateSilence`, in its order: matchers first, then the timestamps.
pub(crate) fn validate(silence: &Silence) -> Result<(), SilenceError> {
    if silence.matchers.is_empty() {
        return Err(SilenceError::Invalid("at least one matcher required".to_owned()));
    }
    for (index, matcher) in silence.matchers.iter().enumerate() {
        check_label_name(index, &matcher.name)?;
    }
    if silence.matchers.iter().all(matches_empty) {
        return Err(SilenceError::Invalid(
            "at least one matcher must not match the empty string".to_owned(),
        ));
    }
    let zero = go_zero_time();
    let reason = if silence.starts_at == zero {
        "invalid zero start timestamp"
    } else if silence.ends_at == zero {
        "invalid zero end timestamp"
    } else if silence.ends_at < silence.starts_at {
        "end time must not be before start time"
    } else if silence.updated_at == zero {
        "invalid zero update timestamp"
    } else {
        return Ok(());
    };
    Err(SilenceError::Invalid(reason.to_owned()))
}

/// True when the matcher would also select alerts lacking the label. Only `=` and `=~` count:
/// 0.25 never considers the negative operators to match the empty string.
fn matches_empty(matcher: &Matcher) -> bool {
    match matcher.match_type {
        MatchType::Equal => matcher.value.is_empty(),
        // 0.25 searches the unanchored pattern in "", which succeeds exactly when the anchored
        // form matches "": any match in an empty text is empty and spans the whole of it.
        MatchType::Regexp => matcher.matches(""),
        MatchType::NotEqual | MatchType::NotRegexp => false,
    }
}

fn check_label_name(index: usize, name: &str) -> Result<(), SilenceError> {
    if is_valid_label_name(name) {
        Ok(())
    } else {
        Err(invalid_matcher(index, format!("invalid label name {}", go_quote(name))))
    }
}

/// prometheus/common 0.38's rule, which 0.25 uses: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub(crate) fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(first) if first.is_ascii_alphabetic() || first == b'_' => {
            bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        }
        _ => false,
    }
}

fn invalid_matcher(index: usize, reason: String) -> SilenceError {
    SilenceError::Invalid(format!("invalid label matcher {index}: {reason}"))
}
