//! Go (since 1.19.2) rejects patterns whose compiled program would be too large, estimating
//! the size from the parse tree before compiling; this tracks the same estimate group by
//! group. Go reports it as `regexp/syntax: internal error` with the whole pattern.

/// Go's budget: 128 MiB of 40-byte instructions.
pub(super) const MAX_SIZE: i64 = (128 << 20) / 40;

/// A repetition operator, as far as the size estimate cares.
#[derive(Debug, Clone, Copy)]
pub(super) enum Repeat {
    /// `*`
    Star,
    /// `+` or `?`
    PlusOrQuest,
    /// `{min,max}`, with `max == -1` for no maximum.
    Counted { min: i64, max: i64 },
}

/// The estimated program size of one group: an alternation of concatenations.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Size {
    finished: i64,
    alternatives: i64,
    branch: i64,
    operand: i64,
}

impl Size {
    /// Adds an operand of the given size to the current alternative.
    pub(super) fn push(&mut self, size: i64) {
        self.branch = self.branch.saturating_add(size);
        self.operand = size;
    }

    /// Applies a repetition to the last operand; returns the repeated operand's size.
    pub(super) fn repeat(&mut self, repeat: Repeat) -> i64 {
        let sub = self.operand;
        let size = match repeat {
            Repeat::Star => sub.saturating_add(2),
            Repeat::PlusOrQuest => sub.saturating_add(1),
            Repeat::Counted { min: 0, max: -1 } => sub.saturating_add(2),
            Repeat::Counted { min, max: -1 } => min.saturating_mul(sub).saturating_add(1),
            Repeat::Counted { min, max } => max.saturating_mul(sub).saturating_add(max - min),
        }
        .max(1);
        self.branch = self.branch.saturating_add(size - sub);
        self.operand = size;
        size
    }

    /// Starts a new alternative (`|`).
    pub(super) fn alternate(&mut self) {
        self.finished = self.finished.saturating_add(self.branch.max(1));
        self.alternatives += 1;
        self.branch = 0;
        self.operand = 0;
    }

    /// The size of the whole group so far (an empty alternative counts as one instruction,
    /// and an alternation adds one per `|`).
    pub(super) fn total(&self) -> i64 {
        let branch = self.branch.max(1);
        match self.alternatives {
            0 => branch,
            n => self.finished.saturating_add(branch).saturating_add(n),
        }
    }
}
