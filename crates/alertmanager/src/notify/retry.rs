//! The retry schedule: cenkalti/backoff's exponential backoff as 0.25 configures it.
//!
//! The first attempt is immediate; then waits start at 500ms and grow ×1.5 up to 60s, each
//! randomised by ±50%. There is no elapsed-time limit: the flush deadline ends the retries.
//! Waits are measured from the start of the previous attempt, as cenkalti's ticker arms its
//! next timer as soon as it delivers a tick.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const INITIAL_INTERVAL: Duration = Duration::from_millis(500);
const MULTIPLIER: f64 = 1.5;
const RANDOMIZATION_FACTOR: f64 = 0.5;
const MAX_INTERVAL: Duration = Duration::from_secs(60);

/// The delays between attempts.
#[derive(Debug, Clone)]
pub struct Backoff {
    current: Duration,
    rng: StdRng,
}

impl Backoff {
    /// A schedule whose jitter comes from `seed`.
    pub fn new(seed: u64) -> Backoff {
        Backoff { current: INITIAL_INTERVAL, rng: StdRng::seed_from_u64(seed) }
    }

    /// The delay before the next attempt, measured from the start of the previous one.
    pub fn next_delay(&mut self) -> Duration {
        let current = self.current.as_secs_f64();
        let delta = RANDOMIZATION_FACTOR * current;
        let jittered = current - delta + self.rng.random::<f64>() * (2.0 * delta);
        let grown = current * MULTIPLIER;
        self.current = if grown >= MAX_INTERVAL.as_secs_f64() {
            MAX_INTERVAL
        } else {
            Duration::from_secs_f64(grown)
        };
        Duration::from_secs_f64(jittered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_backoff_grows_with_jitter_and_caps() {
        let mut backoff = Backoff::new(7);
        let mut expected = 0.5;
        for _ in 0..30 {
            let delay = backoff.next_delay().as_secs_f64();
            assert!(delay >= expected * 0.5 - 1e-9 && delay <= expected * 1.5 + 1e-9, "{delay}");
            expected = (expected * 1.5).min(60.0);
        }
        assert_eq!(expected, 60.0);
        // The same seed gives the same schedule.
        let a: Vec<_> = (0..5).scan(Backoff::new(3), |b, _| Some(b.next_delay())).collect();
        let b: Vec<_> = (0..5).scan(Backoff::new(3), |b, _| Some(b.next_delay())).collect();
        assert_eq!(a, b);
    }
}
