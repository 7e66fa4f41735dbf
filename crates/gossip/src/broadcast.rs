//! memberlist's `TransmitLimitedQueue`: messages waiting to be piggybacked on gossip and
//! probe packets, each sent a bounded number of times. Least-sent messages go first, newest
//! first among equals, and a message named after a node replaces older ones about that node,
//! so a refutation is never queued behind the accusation it answers.

/// Default bound on queued messages; Alertmanager prunes its delegate queue to this size.
pub const MAX_QUEUED_BROADCASTS: usize = 4096;

/// `mult × ceil(log10(n + 1))`: how often each message is sent in a cluster of `n`.
pub fn retransmit_limit(mult: u32, n: usize) -> u32 {
    let scale = ((n as f64) + 1.0).log10().ceil() as u32;
    mult * scale
}

#[derive(Debug, Clone)]
struct Item {
    /// Node the message is about; `None` for messages that never supersede each other.
    name: Option<String>,
    bytes: Vec<u8>,
    transmits: u32,
    /// Insertion order; larger is newer.
    id: u64,
}

/// A bounded queue of encoded messages (`[type][body]` or raw user bytes).
#[derive(Debug, Clone)]
pub struct BroadcastQueue {
    mult: u32,
    max_queued: usize,
    items: Vec<Item>,
    next_id: u64,
    /// Messages dropped so far for lack of room.
    dropped: u64,
}

impl BroadcastQueue {
    /// An empty queue sending each message `retransmit_limit(mult, n)` times, holding at
    /// most `max_queued` messages (the oldest are dropped beyond that).
    pub fn new(mult: u32, max_queued: usize) -> Self {
        Self { mult, max_queued: max_queued.max(1), items: Vec::new(), next_id: 0, dropped: 0 }
    }

    /// Queues `bytes`; with a `name`, drops any queued message about the same node first.
    pub fn push(&mut self, name: Option<&str>, bytes: Vec<u8>) {
        if let Some(name) = name {
            self.items.retain(|i| i.name.as_deref() != Some(name));
        }
        self.next_id += 1;
        self.items.push(Item {
            name: name.map(str::to_owned),
            bytes,
            transmits: 0,
            id: self.next_id,
        });
        if self.items.len() > self.max_queued {
            // Oldest first out: newer state about the cluster is worth more.
            let oldest = self.items.iter().enumerate().min_by_key(|(_, i)| i.id).map(|(p, _)| p);
            if let Some(p) = oldest {
                self.items.swap_remove(p);
                self.dropped += 1;
            }
        }
    }

    /// Takes messages that fit in `limit` bytes, counting `overhead` bytes per message, for
    /// a cluster of `n` nodes. Messages that reached their transmit limit leave the queue.
    pub fn take(&mut self, overhead: usize, limit: usize, n: usize) -> Vec<Vec<u8>> {
        let max_transmits = retransmit_limit(self.mult, n);
        self.items.sort_by(|a, b| a.transmits.cmp(&b.transmits).then(b.id.cmp(&a.id)));
        let mut used = 0;
        let mut out = Vec::new();
        for item in &mut self.items {
            let cost = overhead + item.bytes.len();
            if used + cost > limit {
                // A smaller message further down may still fit.
                continue;
            }
            used += cost;
            item.transmits += 1;
            out.push(item.bytes.clone());
        }
        self.items.retain(|i| i.transmits < max_transmits);
        out
    }

    /// True when the message named `name` has been sent at least once (or has left the
    /// queue, having been sent as often as it should).
    pub fn sent_once(&self, name: &str) -> bool {
        self.items.iter().filter(|i| i.name.as_deref() == Some(name)).all(|i| i.transmits > 0)
    }

    /// Messages dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_follows_memberlist() {
        assert_eq!(retransmit_limit(3, 1), 3);
        assert_eq!(retransmit_limit(3, 9), 3);
        assert_eq!(retransmit_limit(3, 10), 6);
        assert_eq!(retransmit_limit(4, 99), 8);
        assert_eq!(retransmit_limit(4, 0), 0);
    }

    #[test]
    fn named_messages_replace_older_ones() {
        let mut q = BroadcastQueue::new(4, 10);
        q.push(Some("a"), b"suspect a".to_vec());
        q.push(Some("b"), b"alive b".to_vec());
        q.push(Some("a"), b"alive a".to_vec());
        q.push(None, b"u1".to_vec());
        q.push(None, b"u2".to_vec());
        assert_eq!(q.len(), 4);
        assert!(!q.sent_once("a") && q.sent_once("zz"));
        let got = q.take(0, 1000, 3);
        assert!(q.sent_once("a"));
        assert_eq!(got, [&b"u2"[..], b"u1", b"alive a", b"alive b"]);
    }

    #[test]
    fn fewer_transmits_first_and_retired_at_limit() {
        let mut q = BroadcastQueue::new(2, 10);
        q.push(None, vec![1; 10]);
        assert_eq!(q.take(0, 100, 5).len(), 1);
        q.push(None, vec![2; 10]);
        // Only room for one: the unsent message wins.
        assert_eq!(q.take(0, 10, 5), vec![vec![2; 10]]);
        assert_eq!(q.take(0, 100, 5).len(), 2);
        assert!(q.is_empty(), "each message went out twice");
    }

    #[test]
    fn skips_what_does_not_fit_and_bounds_the_queue() {
        let mut q = BroadcastQueue::new(1, 2);
        q.push(None, vec![0; 50]);
        q.push(None, vec![1; 5]);
        q.push(None, vec![2; 100]);
        assert_eq!(q.len(), 2, "the oldest was dropped");
        assert_eq!(q.dropped(), 1);
        assert_eq!(q.take(2, 60, 1), vec![vec![1; 5]]);
    }
}
