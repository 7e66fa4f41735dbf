//! Shared label-name tables: the sorted names of a label set, held once for every set with the
//! same names.
//!
//! A receiver's alerts carry a handful of distinct name lists (one per rule or source), so
//! storing the names once per list instead of once per alert is most of a label set's size.
//! Finding the table must stay cheap, since a set is built for every ingested alert: each
//! thread first checks the few tables it used last (no lock, a comparison of the names), and
//! only then asks the process-wide [`Interner`] under a mutex.
//!
//! The interner holds weak references, so a table lives only as long as some set (or some
//! thread's recent list) uses it; dead entries are swept after as many misses as the last sweep
//! left live entries, which keeps the map within a constant factor of the live tables at amortized O(1)
//! per miss. Past [`INTERNED_LIMIT`] entries it stops registering new tables and hands out
//! private ones, so label names that never repeat cannot grow the map without bound. Sharing
//! is an optimisation only: equality, hashing and ordering of label sets look at content.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::{FNV_OFFSET, FNV_PRIME, FingerprintHashing, SEPARATOR_BYTE};

/// Most name lists the process-wide interner registers at once.
pub(super) const INTERNED_LIMIT: usize = 1 << 14;

/// Misses between two sweeps of dead entries, at least (a sweep also waits for as many misses
/// as the last one left live entries).
const MIN_SWEEP_INTERVAL: usize = 64;

/// Tables each thread remembers: enough for the label and annotation names of several
/// sources interleaved, few enough to scan on every set built.
const RECENT_SLOTS: usize = 8;

/// The sorted, unique names of a label set.
#[derive(Debug)]
pub(super) struct NameTable {
    names: Box<[Box<str>]>,
    /// FNV-1a over the names, computed from content only: the interner's key, and what a
    /// label set hashes in place of its names (so equal sets hash alike whichever table
    /// they point to).
    hash: u64,
}

impl NameTable {
    fn new<'a>(names: impl Iterator<Item = &'a str>, hash: u64) -> Self {
        Self { names: names.map(Box::from).collect(), hash }
    }

    /// The names, in order.
    pub(super) fn names(&self) -> &[Box<str>] {
        &self.names
    }

    /// The content hash of the names.
    pub(super) fn hash(&self) -> u64 {
        self.hash
    }

    /// True when the table holds exactly these `count` names, in this order.
    fn holds<'a>(&self, names: impl Iterator<Item = &'a str>, count: usize) -> bool {
        self.names.len() == count && self.names.iter().zip(names).all(|(own, name)| **own == *name)
    }
}

/// FNV-1a over every name followed by the separator byte.
fn content_hash<'a>(names: impl Iterator<Item = &'a str>) -> u64 {
    let mut hash = FNV_OFFSET;
    for name in names {
        for &byte in name.as_bytes().iter().chain(&[SEPARATOR_BYTE]) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
        }
    }
    hash
}

/// A table equal in content to the shared one for `names`, not registered anywhere (for
/// tests of content-based comparison).
#[cfg(test)]
pub(super) fn private_table<'a>(names: impl Iterator<Item = &'a str> + Clone) -> Arc<NameTable> {
    Arc::new(NameTable::new(names.clone(), content_hash(names)))
}

/// The process-wide registry of name tables, keyed by their content hash.
#[derive(Debug)]
pub(super) struct Interner {
    /// The key is already a hash, so the map only spreads it.
    tables: HashMap<u64, Weak<NameTable>, FingerprintHashing>,
    /// Most entries; past it new tables are handed out unregistered.
    limit: usize,
    /// Lookups that found no live table since the last sweep.
    misses: usize,
    /// Misses that trigger the next sweep: the live entries the last one left, at least
    /// [`MIN_SWEEP_INTERVAL`], so sweeping costs O(1) per miss amortized and dead entries
    /// never outnumber live ones by more than that.
    sweep_after: usize,
}

impl Interner {
    /// An empty interner registering at most `limit` tables.
    pub(super) const fn new(limit: usize) -> Self {
        Self {
            tables: HashMap::with_hasher(FingerprintHashing),
            limit,
            misses: 0,
            sweep_after: MIN_SWEEP_INTERVAL,
        }
    }

    /// The table for `count` sorted names whose content hash is `hash`: the registered one
    /// when it holds the same names, otherwise a new one, registered if there is room.
    pub(super) fn intern<'a>(
        &mut self,
        names: impl Iterator<Item = &'a str> + Clone,
        count: usize,
        hash: u64,
    ) -> Arc<NameTable> {
        let existing = self.tables.get(&hash).map(Weak::upgrade);
        if let Some(Some(table)) = &existing {
            if table.holds(names.clone(), count) {
                return Arc::clone(table);
            }
            // Two name lists with one 64-bit hash: the newcomer goes unshared.
            return Arc::new(NameTable::new(names, hash));
        }
        self.misses += 1;
        if self.misses >= self.sweep_after {
            self.tables.retain(|_, table| table.strong_count() > 0);
            self.misses = 0;
            self.sweep_after = self.tables.len().max(MIN_SWEEP_INTERVAL);
        }
        let table = Arc::new(NameTable::new(names, hash));
        // A dead entry under the same hash is replaced in place, whatever the limit.
        if self.tables.len() < self.limit || self.tables.contains_key(&hash) {
            self.tables.insert(hash, Arc::downgrade(&table));
        }
        table
    }

    /// Number of entries, dead ones included.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.tables.len()
    }
}

static INTERNER: Mutex<Interner> = Mutex::new(Interner::new(INTERNED_LIMIT));

/// The tables this thread used last, most recent first after a miss.
struct Recent {
    slots: [Option<Arc<NameTable>>; RECENT_SLOTS],
    /// The slot the next miss overwrites.
    next: usize,
}

thread_local! {
    static RECENT: RefCell<Recent> = const {
        RefCell::new(Recent { slots: [const { None }; RECENT_SLOTS], next: 0 })
    };
}

/// The shared table for `count` sorted, unique names.
pub(super) fn shared_table<'a>(
    names: impl Iterator<Item = &'a str> + Clone,
    count: usize,
) -> Arc<NameTable> {
    // `try_with`/`try_borrow_mut`: a set built while this thread's locals are being torn
    // down (or from inside a name's `AsRef`) goes straight to the interner.
    let recent = RECENT.try_with(|recent| {
        let recent = recent.try_borrow_mut().ok()?;
        recent.slots.iter().flatten().find(|table| table.holds(names.clone(), count)).cloned()
    });
    if let Ok(Some(table)) = recent {
        return table;
    }
    let hash = content_hash(names.clone());
    let table = INTERNER.lock().unwrap_or_else(PoisonError::into_inner).intern(names, count, hash);
    let _ = RECENT.try_with(|recent| {
        if let Ok(mut recent) = recent.try_borrow_mut() {
            let slot = recent.next;
            recent.slots[slot] = Some(Arc::clone(&table));
            recent.next = (slot + 1) % RECENT_SLOTS;
        }
    });
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&'static str]) -> impl Iterator<Item = &'static str> + Clone {
        list.iter().copied()
    }

    fn intern(interner: &mut Interner, list: &[&'static str]) -> Arc<NameTable> {
        interner.intern(names(list), list.len(), content_hash(names(list)))
    }

    #[test]
    fn same_names_share_one_table() {
        let mut interner = Interner::new(16);
        let first = intern(&mut interner, &["a", "b"]);
        let second = intern(&mut interner, &["a", "b"]);
        let other = intern(&mut interner, &["a", "c"]);
        assert!(Arc::ptr_eq(&first, &second));
        assert!(!Arc::ptr_eq(&first, &other));
        assert_eq!(interner.len(), 2);
    }

    #[test]
    fn a_hash_collision_gets_a_private_table() {
        let mut interner = Interner::new(16);
        let first = interner.intern(names(&["a"]), 1, 7);
        let clash = interner.intern(names(&["b"]), 1, 7);
        assert_eq!(&*clash.names()[0], "b");
        assert!(Arc::ptr_eq(&first, &interner.intern(names(&["a"]), 1, 7)));
        assert_eq!(interner.len(), 1);
    }

    #[test]
    fn dead_tables_are_swept_and_replaced() {
        let mut interner = Interner::new(1 << 20);
        let kept = intern(&mut interner, &["kept"]);
        for i in 0..10_000 {
            let name: &'static str = Box::leak(format!("name{i}").into_boxed_str());
            drop(intern(&mut interner, &[name]));
            // Never more than twice the sweep interval: at most one live entry plus the
            // dead ones since the last sweep.
            assert!(interner.len() <= 2 * MIN_SWEEP_INTERVAL, "{} entries", interner.len());
        }
        assert!(Arc::ptr_eq(&kept, &intern(&mut interner, &["kept"])));
        // A dead entry is replaced by the next table with its names.
        drop(intern(&mut interner, &["again"]));
        let again = intern(&mut interner, &["again"]);
        assert!(Arc::ptr_eq(&again, &intern(&mut interner, &["again"])));
    }

    #[test]
    fn past_the_limit_tables_are_private() {
        let mut interner = Interner::new(4);
        let live: Vec<_> = ["a", "b", "c", "d", "e", "f"]
            .iter()
            .map(|name| intern(&mut interner, &[name]))
            .collect();
        assert_eq!(interner.len(), 4);
        // Registered ones are shared; the rest are correct but unshared.
        assert!(Arc::ptr_eq(&live[0], &intern(&mut interner, &["a"])));
        let late = intern(&mut interner, &["f"]);
        assert_eq!(&*late.names()[0], "f");
        assert!(!Arc::ptr_eq(&live[5], &late));
        // Once registered tables die, a sweep makes room again.
        drop(live);
        for _ in 0..MIN_SWEEP_INTERVAL {
            drop(intern(&mut interner, &["f"]));
        }
        let f = intern(&mut interner, &["f"]);
        assert!(Arc::ptr_eq(&f, &intern(&mut interner, &["f"])));
        assert!(interner.len() <= 4);
    }

    #[test]
    fn threads_share_tables_through_the_interner() {
        let here = shared_table(names(&["thread", "test"]), 2);
        let there =
            std::thread::spawn(|| shared_table(names(&["thread", "test"]), 2)).join().unwrap();
        assert!(Arc::ptr_eq(&here, &there));
    }
}
