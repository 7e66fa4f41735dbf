//! Convergence of instances that share one PostgreSQL without gossip: each reads, every
//! `--storage.poll-interval`, the silences changed since it last looked and merges them as a
//! peer's gossip would be merged (a strictly newer `updated_at` wins), so a silence created
//! on one instance mutes on all of them within one interval.
//!
//! The cursor is the newest `updated_at` seen, read back by [`LOOKBACK`]: rows are committed
//! in a different order than their `updated_at` (two instances writing at once, clocks a
//! little apart), and a row committed late with an older time must still be seen. Re-merging
//! a row already held changes nothing. Once per `--data.maintenance-interval` the whole table
//! is read instead, which catches a writer whose clock is further behind than the lookback.
//! With gossip on as well, this is redundant and harmless.

use std::sync::Arc;
use std::time::Duration;

use store::Store;

use crate::app::App;

/// How far behind the newest `updated_at` seen each poll reads again.
const LOOKBACK: chrono::Duration = chrono::Duration::seconds(60);

/// Where the next poll starts, and when the table is next read whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    newest_seen_ns: i64,
    polls_until_full: u32,
    polls_per_full: u32,
}

impl Cursor {
    fn new(start_ns: i64, poll: Duration, full: Duration) -> Cursor {
        let polls_per_full = (full.as_secs_f64() / poll.as_secs_f64().max(0.001)).ceil();
        let polls_per_full = (polls_per_full as u32).max(1);
        Cursor { newest_seen_ns: start_ns, polls_until_full: polls_per_full, polls_per_full }
    }

    /// The `updated_at` after which the next poll reads (`i64::MIN`: everything).
    fn next_since(&mut self) -> i64 {
        self.polls_until_full -= 1;
        if self.polls_until_full == 0 {
            self.polls_until_full = self.polls_per_full;
            return i64::MIN;
        }
        let lookback = LOOKBACK.num_nanoseconds().unwrap_or(i64::MAX);
        self.newest_seen_ns.saturating_sub(lookback)
    }

    fn saw(&mut self, newest_ns: Option<i64>) {
        if let Some(newest) = newest_ns {
            self.newest_seen_ns = self.newest_seen_ns.max(newest);
        }
    }
}

/// Polls `store` for the life of the process; started only for a shared (PostgreSQL) store.
pub fn spawn(store: Store, app: Arc<App>, interval: Duration, full_every: Duration) {
    let start = store::unix_nanos(app.now());
    let mut cursor = Cursor::new(start, interval, full_every);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            let since = cursor.next_since();
            let (stream, newest) = match store.silences_updated_since(since).await {
                Ok(found) => found,
                Err(error) => {
                    tracing::warn!(%error, "Polling the shared store for silences failed");
                    continue;
                }
            };
            cursor.saw(newest);
            if stream.is_empty() {
                continue;
            }
            match app.silences().merge(&stream, app.now()) {
                Ok(outcome) if !outcome.changed.is_empty() => {
                    tracing::debug!(
                        changed = outcome.changed.len(),
                        "Merged silences from the store"
                    );
                }
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "Stored silences do not decode"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_by_the_lookback_and_whole_once_per_maintenance() {
        let lookback = LOOKBACK.num_nanoseconds().unwrap();
        let mut cursor =
            Cursor::new(1_000 * lookback, Duration::from_secs(10), Duration::from_secs(30));
        assert_eq!(cursor.next_since(), 999 * lookback);
        cursor.saw(Some(1_001 * lookback));
        cursor.saw(None);
        cursor.saw(Some(5));
        assert_eq!(cursor.next_since(), 1_000 * lookback);
        assert_eq!(cursor.next_since(), i64::MIN, "every third poll reads the whole table");
        assert_eq!(cursor.next_since(), 1_000 * lookback);
    }
}
