//! Alertmanager's settle: poll the member count every `10 × gossip interval` and declare the
//! cluster ready once it has stayed the same for three polls in a row, or when the settle
//! timeout passes, whichever is first. Only the membership count is checked, not the state.

use std::sync::Weak;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::ClusterPeer;

/// Consecutive unchanged polls that count as settled (0.25's `NumOkayRequired`).
const STABLE_POLLS: u32 = 3;

/// Whether the polls so far (`counts`, member counts, compared from an implied 0 before the
/// first) make the next poll declare the cluster settled, in 0.25's counting.
pub(crate) fn settled(counts: &[usize]) -> bool {
    let mut okay = 0;
    let mut previous = 0;
    for &n in counts {
        if okay >= STABLE_POLLS {
            return true;
        }
        if n == previous {
            okay += 1;
        } else {
            okay = 0;
        }
        previous = n;
    }
    okay >= STABLE_POLLS
}

/// Runs the settle loop and flips `ready` to true at its end.
pub(crate) async fn settle(
    peer: Weak<ClusterPeer>,
    interval: Duration,
    timeout: Duration,
    ready: watch::Sender<bool>,
) {
    let started = Instant::now();
    let deadline = started + timeout;
    let mut counts = Vec::new();
    loop {
        let next = Instant::now() + interval;
        if next > deadline {
            tokio::time::sleep_until(deadline).await;
            tracing::info!(elapsed = ?started.elapsed(), "gossip not settled but continuing anyway");
            break;
        }
        tokio::time::sleep_until(next).await;
        let Some(peer) = peer.upgrade() else { return };
        // Like 0.25, the verdict is taken before this poll's count is recorded, so the
        // earliest settle is the 5th poll.
        if settled(&counts) {
            tracing::info!(elapsed = ?started.elapsed(), "gossip settled; proceeding");
            break;
        }
        let n = peer.gossip().members().len();
        counts.push(n);
        tracing::debug!(polls = counts.len(), members = n, "gossip not settled yet");
    }
    ready.send_replace(true);
}

#[cfg(test)]
mod tests {
    use super::settled;

    #[test]
    fn needs_three_unchanged_polls_after_the_first_change() {
        // The first poll always differs from the implied 0, so 4 polls are the minimum and
        // the loop notices at the 5th (0.25 logs "settled" after about 10s at 2s polls).
        assert!(!settled(&[3, 3, 3]));
        assert!(settled(&[3, 3, 3, 3]));
        assert!(!settled(&[2, 3, 3, 3]));
        assert!(settled(&[2, 3, 3, 3, 3]));
        assert!(!settled(&[1, 1, 2, 2]));
    }
}
