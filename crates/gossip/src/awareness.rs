//! Lifeguard's local health score: how much this node distrusts its own view. Missed acks
//! and having to refute rumours about ourselves raise it; successful probes lower it. The
//! score stretches probe deadlines so a slow or overloaded node accuses others less eagerly.

use std::time::Duration;

/// Tracks the score in `0..max_multiplier`.
#[derive(Debug, Clone)]
pub struct Awareness {
    max: u32,
    score: u32,
}

impl Awareness {
    /// A healthy score; `max_multiplier` is memberlist's `AwarenessMaxMultiplier` (8).
    pub fn new(max_multiplier: u32) -> Self {
        Self { max: max_multiplier.max(1), score: 0 }
    }

    /// Moves the score by `delta`, clamped so timeouts never grow beyond `max_multiplier`.
    pub fn apply_delta(&mut self, delta: i32) {
        let next = i64::from(self.score) + i64::from(delta);
        self.score = next.clamp(0, i64::from(self.max - 1)) as u32;
    }

    /// The current score (0 is healthy).
    pub fn score(&self) -> u32 {
        self.score
    }

    /// `timeout × (score + 1)`.
    pub fn scale(&self, timeout: Duration) -> Duration {
        timeout * (self.score + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_and_scales() {
        let mut a = Awareness::new(8);
        a.apply_delta(-3);
        assert_eq!(a.score(), 0);
        a.apply_delta(20);
        assert_eq!(a.score(), 7);
        assert_eq!(a.scale(Duration::from_secs(1)), Duration::from_secs(8));
        a.apply_delta(-1);
        assert_eq!(a.scale(Duration::from_millis(500)), Duration::from_millis(3500));
    }
}
