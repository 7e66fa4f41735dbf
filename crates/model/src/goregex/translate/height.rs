//! Go rejects parse trees taller than 1000 nodes ("expression nests too deeply"); this tracks
//! the height of the tree Go would build, group by group, without building it.

/// The height of the tree Go's parser builds for one group, tracked incrementally: Go rejects
/// trees taller than 1000 (`MAX_HEIGHT`). A group is an alternation of concatenations; adjacent
/// literals merge into one string node; a repetition adds a level.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Height {
    alternatives: u32,
    alternatives_max: u32,
    items: u32,
    items_max: u32,
    literal_run: u32,
    operand: u32,
}

impl Height {
    pub(super) fn push(&mut self, height: u32, literal: bool) {
        self.operand = height;
        if literal && self.literal_run > 0 {
            self.literal_run += 1;
            return;
        }
        self.items += 1;
        self.items_max = self.items_max.max(height);
        self.literal_run = u32::from(literal);
    }

    pub(super) fn repeat(&mut self) {
        // Go splits the last rune off a literal string before repeating it.
        if self.literal_run > 1 {
            self.items += 1;
        }
        self.literal_run = 0;
        self.operand += 1;
        self.items_max = self.items_max.max(self.operand);
    }

    pub(super) fn branch(&self) -> u32 {
        match self.items {
            0 => 1,
            1 => self.items_max,
            _ => 1 + self.items_max,
        }
    }

    pub(super) fn alternate(&mut self) {
        self.alternatives += 1;
        self.alternatives_max = self.alternatives_max.max(self.branch());
        *self = Height {
            alternatives: self.alternatives,
            alternatives_max: self.alternatives_max,
            ..Height::default()
        };
    }

    pub(super) fn total(&self) -> u32 {
        match self.alternatives {
            0 => self.branch(),
            _ => 1 + self.alternatives_max.max(self.branch()),
        }
    }
}
