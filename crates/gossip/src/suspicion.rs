//! The suspicion timer of Lifeguard: a suspect node is declared dead when its timer runs out.
//! The timer starts long (`max`) and shrinks towards `min` as independent peers confirm the
//! suspicion, so a node many peers cannot reach is removed quickly while a single flaky
//! observer cannot remove a healthy node before it refutes.

use std::collections::HashSet;
use std::time::Duration;

/// `mult × max(1, log10(n)) × interval`: the shortest time a node stays suspect.
pub fn suspicion_timeout(mult: u32, n: usize, interval: Duration) -> Duration {
    let scale = (n.max(1) as f64).log10().max(1.0);
    // Go computes in whole milliseconds of the scale factor; do the same so timers agree.
    let scale_ms = (scale * 1000.0) as u64;
    interval * mult * scale_ms as u32 / 1000
}

/// One running suspicion.
#[derive(Debug, Clone)]
pub struct Suspicion {
    /// Confirmations wanted before the timer reaches `min`.
    k: u32,
    /// Confirmations received, not counting the first accuser.
    n: u32,
    min: Duration,
    max: Duration,
    start: Duration,
    deadline: Duration,
    /// Who has accused so far; a peer repeating itself confirms nothing new.
    confirmations: HashSet<String>,
    /// The incarnation the suspicion is about, carried into the dead message.
    incarnation: u32,
}

impl Suspicion {
    /// Starts at `now` on `from`'s accusation. With `k == 0` the timer is simply `min`.
    pub fn new(
        from: &str,
        incarnation: u32,
        k: u32,
        min: Duration,
        max: Duration,
        now: Duration,
    ) -> Self {
        let first = if k == 0 { min } else { max };
        Self {
            k,
            n: 0,
            min,
            max: max.max(min),
            start: now,
            deadline: now + first,
            confirmations: HashSet::from([from.to_owned()]),
            incarnation,
        }
    }

    /// Records an accusation by `from`; true when it was new and shortened the timer (the
    /// caller then re-gossips it, so others learn of the extra accuser).
    pub fn confirm(&mut self, from: &str) -> bool {
        if self.n >= self.k || self.confirmations.contains(from) {
            return false;
        }
        self.confirmations.insert(from.to_owned());
        self.n += 1;
        self.deadline = self.start + self.timeout();
        true
    }

    /// Total timeout for the confirmations so far: `max` moved towards `min` by
    /// `log(n+1)/log(k+1)`, never below `min`.
    fn timeout(&self) -> Duration {
        let frac = f64::from(self.n + 1).ln() / f64::from(self.k + 1).ln();
        let span = self.max.as_secs_f64() - self.min.as_secs_f64();
        let raw = self.max.as_secs_f64() - frac * span;
        // Whole milliseconds, as Go truncates.
        Duration::from_millis((raw * 1000.0).floor() as u64).max(self.min)
    }

    /// When the node is to be declared dead.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// The suspected incarnation.
    pub fn incarnation(&self) -> u32 {
        self.incarnation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn timeout_scales_with_cluster_size() {
        assert_eq!(suspicion_timeout(4, 1, SEC), 4 * SEC);
        assert_eq!(suspicion_timeout(4, 10, SEC), 4 * SEC);
        assert_eq!(suspicion_timeout(4, 100, SEC), 8 * SEC);
        assert_eq!(suspicion_timeout(4, 1000, SEC), 12 * SEC);
        assert_eq!(suspicion_timeout(4, 50, SEC), Duration::from_millis(6792));
    }

    #[test]
    fn zero_k_uses_min() {
        let s = Suspicion::new("a", 1, 0, 4 * SEC, 24 * SEC, SEC);
        assert_eq!(s.deadline(), 5 * SEC);
    }

    #[test]
    fn confirmations_shrink_towards_min() {
        let mut s = Suspicion::new("a", 1, 2, 4 * SEC, 24 * SEC, Duration::ZERO);
        assert_eq!(s.deadline(), 24 * SEC);
        assert!(!s.confirm("a"), "the first accuser does not count twice");
        assert!(s.confirm("b"));
        // 24 - log(2)/log(3) × 20 = 11.38…
        assert_eq!(s.deadline(), Duration::from_millis(11381));
        assert!(!s.confirm("b"));
        assert!(s.confirm("c"));
        assert_eq!(s.deadline(), 4 * SEC);
        assert!(!s.confirm("d"), "no confirmations beyond k");
    }
}
