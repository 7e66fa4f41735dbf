//! Label sets: the identity of an alert.
//!
//! A [`LabelSet`] is immutable and sorted by name (byte-wise, as Go sorts strings). Its names
//! live in a table shared by every set with the same names (module `intern`); its own allocation
//! holds only the values. Alertmanager keeps a Go map per label set; a receiver holding 100k
//! alerts pays for that many times over, and even a compact copy of the names is most of a
//! typical set, so sharing them is what keeps Klaxon's memory per alert small.

mod intern;

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use self::intern::NameTable;
use crate::quote::go_quote;

/// Alertmanager's separator byte between names and values in fingerprints and hashes.
const SEPARATOR_BYTE: u8 = 0xFF;
/// FNV-1a 64-bit offset basis (prometheus/common `hashNew`).
const FNV_OFFSET: u64 = 14695981039346656037;
/// FNV-1a 64-bit prime.
const FNV_PRIME: u64 = 1099511628211;

/// An immutable, sorted set of label names and values.
///
/// A non-empty set points to its shared name table and to one string of its own: the end
/// offset (relative to the values) of every value but the last, then every value back to
/// back. Offsets are base-128 digits, most significant first, all of one width (1, 2, 3 or 5
/// digits) chosen from the length of the values; every digit is below 0x80, so the buffer is
/// a valid `str` and slicing needs neither validation nor unsafe code. The width is not
/// stored: given the number of offsets and the buffer's length, only one width is consistent
/// (see `offset_width_of`). Typical alert values are under 128 bytes and pay one byte per
/// offset.
///
/// Both parts are shared: cloning a set (the dispatcher hands every flush its own copy of
/// each alert) bumps two counts instead of copying, and the empty set owns nothing.
/// Equality, hashing and ordering look at the names and values only, never at which table a
/// set points to: the interner may hand out a private table.
#[derive(Clone, Default)]
pub struct LabelSet {
    parts: Option<Parts>,
}

/// A non-empty set's two halves.
#[derive(Clone)]
struct Parts {
    /// The sorted names, shared by every set with the same names.
    names: Arc<NameTable>,
    /// Offsets then values, as [`LabelSet`] describes.
    values: Arc<str>,
}

/// A fingerprint: FNV-1a 64 over the sorted labels, as the API shows alerts.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct Fingerprint(pub u64);

/// A `BuildHasher` for maps keyed by [`Fingerprint`]: the key is already a hash, so one
/// multiplication spreads it over the table's bits instead of running SipHash on it.
#[derive(Clone, Copy, Debug, Default)]
pub struct FingerprintHashing;

/// The hasher [`FingerprintHashing`] builds.
#[derive(Clone, Copy, Debug, Default)]
pub struct FingerprintHasher(u64);

impl std::hash::Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only reached for keys other than a bare u64; fold them in FNV-1a style.
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
        }
    }

    fn write_u64(&mut self, value: u64) {
        // Fibonacci hashing: the golden-ratio multiplier mixes low and high bits.
        self.0 = (self.0 ^ value).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl std::hash::BuildHasher for FingerprintHashing {
    type Hasher = FingerprintHasher;

    fn build_hasher(&self) -> FingerprintHasher {
        FingerprintHasher::default()
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl LabelSet {
    /// The empty label set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a label set from pairs in any order. A repeated name keeps its last value, as a
    /// Go map assignment would.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let unique = sorted_unique(pairs);
        Self::from_sorted_unique(unique.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
    }

    /// Builds from pairs already sorted by name with no repeats (checked in debug builds).
    fn from_sorted_unique<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> Self {
        let (count, text_bytes) =
            pairs.clone().fold((0usize, 0usize), |(n, b), (_, v)| (n + 1, b + v.len()));
        if count == 0 {
            return Self::default();
        }
        debug_assert!(
            pairs.clone().zip(pairs.clone().skip(1)).all(|((a, _), (b, _))| a < b),
            "names must be sorted and unique"
        );
        assert!(text_bytes <= u32::MAX as usize, "label set larger than 4 GiB");
        let names = intern::shared_table(pairs.clone().map(|(name, _)| name), count);
        let width = offset_width(text_bytes);
        let mut values = String::with_capacity(width * (count - 1) + text_bytes);
        let mut end = 0;
        for (_, value) in pairs.clone().take(count - 1) {
            end += value.len();
            push_digits(&mut values, end, width);
        }
        for (_, value) in pairs {
            values.push_str(value);
        }
        Self { parts: Some(Parts { names, values: Arc::from(values) }) }
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.parts.as_ref().map_or(0, |parts| parts.names.names().len())
    }

    /// True when there are no labels.
    pub fn is_empty(&self) -> bool {
        self.parts.is_none()
    }

    /// The labels in name order. The offsets are walked in step with the values, since
    /// hashing and matching visit every label of every alert.
    pub fn iter(&self) -> Labels<'_> {
        let Some(parts) = &self.parts else {
            return Labels { names: [].iter(), offsets: &[], values: "", width: 1, position: 0 };
        };
        let (offsets, values, width) = parts.split();
        Labels { names: parts.names.names().iter(), offsets, values, width, position: 0 }
    }

    /// The label names in order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.iter().map(|(name, _)| name)
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        let parts = self.parts.as_ref()?;
        let index = parts.names.names().binary_search_by(|own| (**own).cmp(name)).ok()?;
        let (offsets, values, width) = parts.split();
        let offset = |i: usize| decode_digits(&offsets[i * width..(i + 1) * width]);
        let start = if index == 0 { 0 } else { offset(index - 1) };
        let end = if index + 1 == parts.names.names().len() { values.len() } else { offset(index) };
        Some(&values[start..end])
    }

    /// The value of `name`, or "" when absent: how matchers see a missing label.
    pub fn value_or_empty(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// True if the set has a label called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Builds from pairs in any order, leaving out pairs whose value is empty (as the API does
    /// on ingestion). A repeated name keeps its last value.
    pub fn from_pairs_without_empty_values<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut unique = sorted_unique(pairs);
        unique.retain(|(_, value)| !value.as_ref().is_empty());
        Self::from_sorted_unique(unique.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
    }

    /// A copy without labels whose value is empty (the API drops them on ingestion).
    pub fn without_empty_values(&self) -> LabelSet {
        if self.iter().all(|(_, v)| !v.is_empty()) {
            return self.clone();
        }
        Self::from_sorted_unique(self.iter().filter(|(_, v)| !v.is_empty()))
    }

    /// The subset whose names satisfy `keep`.
    pub fn filter(&self, mut keep: impl FnMut(&str) -> bool) -> LabelSet {
        let kept: Vec<(&str, &str)> = self.iter().filter(|(name, _)| keep(name)).collect();
        Self::from_sorted_unique(kept.into_iter())
    }

    /// Labels of `self` overridden and extended by `other`.
    pub fn merged_with(&self, other: &LabelSet) -> LabelSet {
        Self::from_pairs(self.iter().chain(other.iter()))
    }

    /// Feeds `name 0xFF value 0xFF` for every label, in name order, to `sink`.
    fn for_each_signature_byte(&self, sink: impl FnMut(&[u8])) {
        self.for_each_signature_byte_where(|_| true, sink);
    }

    /// [`Self::for_each_signature_byte`] over the labels whose names satisfy `keep`.
    fn for_each_signature_byte_where(
        &self,
        mut keep: impl FnMut(&str) -> bool,
        mut sink: impl FnMut(&[u8]),
    ) {
        for (name, value) in self.iter().filter(|(name, _)| keep(name)) {
            sink(name.as_bytes());
            sink(&[SEPARATOR_BYTE]);
            sink(value.as_bytes());
            sink(&[SEPARATOR_BYTE]);
        }
    }

    /// Alertmanager's fingerprint: FNV-1a 64 over the signature bytes.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint_where(|_| true)
    }

    /// The fingerprint of `self.filter(keep)`, without building that set (the dispatcher
    /// looks up an alert's group once per alert and per route).
    pub fn fingerprint_where(&self, keep: impl FnMut(&str) -> bool) -> Fingerprint {
        let mut hash = FNV_OFFSET;
        self.for_each_signature_byte_where(keep, |bytes| {
            for &byte in bytes {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(FNV_PRIME);
            }
        });
        Fingerprint(hash)
    }

    /// Alertmanager's alert hash for the notification log: xxhash64 (seed 0) over the
    /// signature bytes.
    pub fn alert_hash(&self) -> u64 {
        let mut hasher = xxhash_rust::xxh64::Xxh64::new(0);
        self.for_each_signature_byte(|bytes| hasher.update(bytes));
        hasher.digest()
    }

    /// `model.LabelSet.String()` as prometheus/common renders it in the version Alertmanager 0.25
    /// was built with: `name="value"` pairs with Go-quoted values, sorted as whole strings and
    /// joined by ", ". Group keys embed this, so it is a wire format.
    pub fn go_string(&self) -> String {
        let mut pairs: Vec<String> =
            self.iter().map(|(name, value)| format!("{name}={}", go_quote(value))).collect();
        pairs.sort();
        format!("{{{}}}", pairs.join(", "))
    }

    /// Approximate heap bytes owned by this set, for memory accounting: its values. The name
    /// table is shared by every set with the same names and counted by none.
    pub fn heap_bytes(&self) -> usize {
        // Two reference counts precede the text in an `Arc<str>`.
        self.parts.as_ref().map_or(0, |parts| parts.values.len() + 2 * size_of::<usize>())
    }

    /// True when both sets point to the same name table.
    #[cfg(test)]
    pub(crate) fn shares_names_with(&self, other: &LabelSet) -> bool {
        match (&self.parts, &other.parts) {
            (Some(a), Some(b)) => Arc::ptr_eq(&a.names, &b.names),
            _ => false,
        }
    }

    /// A copy pointing to a name table of its own, as when the interner cannot share.
    #[cfg(test)]
    pub(crate) fn with_private_names(&self) -> LabelSet {
        let parts = self.parts.as_ref().map(|parts| Parts {
            names: intern::private_table(parts.names.names().iter().map(|name| &**name)),
            values: Arc::clone(&parts.values),
        });
        LabelSet { parts }
    }
}

impl Parts {
    /// The offsets, the values and the offset width.
    fn split(&self) -> (&[u8], &str, usize) {
        let width = offset_width_of(self.values.len(), self.names.names().len() - 1);
        let header = width * (self.names.names().len() - 1);
        (&self.values.as_bytes()[..header], &self.values[header..], width)
    }
}

impl PartialEq for LabelSet {
    fn eq(&self, other: &Self) -> bool {
        match (&self.parts, &other.parts) {
            (None, None) => true,
            // The values buffer is a function of the values alone, so equal names and equal
            // buffers are equal sets.
            (Some(a), Some(b)) => {
                a.values == b.values
                    && (Arc::ptr_eq(&a.names, &b.names) || a.names.names() == b.names.names())
            }
            _ => false,
        }
    }
}

impl Eq for LabelSet {}

impl Hash for LabelSet {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // The names' hash is computed from their content, so a private table hashes alike.
        match &self.parts {
            None => state.write_u8(0),
            Some(parts) => {
                state.write_u8(1);
                state.write_u64(parts.names.hash());
                parts.values.hash(state);
            }
        }
    }
}

impl Ord for LabelSet {
    /// Orders by the label pairs, name first, as a sorted list of pairs compares.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.iter().cmp(other.iter())
    }
}

impl PartialOrd for LabelSet {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Iterator over a [`LabelSet`]'s pairs in name order.
#[derive(Clone)]
pub struct Labels<'a> {
    names: std::slice::Iter<'a, Box<str>>,
    /// Offsets not yet read: the end of every value but the last.
    offsets: &'a [u8],
    values: &'a str,
    width: usize,
    /// Where the next value starts.
    position: usize,
}

impl<'a> Iterator for Labels<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let name = self.names.next()?;
        let end = match self.offsets.split_at_checked(self.width) {
            Some((digits, rest)) => {
                self.offsets = rest;
                decode_digits(digits)
            }
            None => self.values.len(),
        };
        let value = &self.values[self.position..end];
        self.position = end;
        Some((name, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.names.size_hint()
    }
}

impl ExactSizeIterator for Labels<'_> {}

/// Largest offset each width of base-128 digits holds.
const OFFSET_WIDTHS: [(usize, usize); 4] =
    [(1, 0x7F), (2, 0x3FFF), (3, 0x1F_FFFF), (5, u32::MAX as usize)];

/// The fewest digits that hold every offset into `text_bytes` of values.
fn offset_width(text_bytes: usize) -> usize {
    OFFSET_WIDTHS.iter().find(|&&(_, max)| text_bytes <= max).map_or(5, |&(width, _)| width)
}

/// The offset width of a values buffer of `buffer_bytes` holding `offsets` offsets. The
/// writer chose the smallest width `w` whose maximum holds the text length `buffer_bytes -
/// w * offsets`; for any smaller width `v` that length read as `buffer_bytes - v * offsets` is
/// at least the real one, which `v` could not hold, so the first width that fits is the one.
fn offset_width_of(buffer_bytes: usize, offsets: usize) -> usize {
    OFFSET_WIDTHS
        .iter()
        .find(|&&(width, max)| buffer_bytes - width * offsets <= max)
        .map_or(5, |&(width, _)| width)
}

/// Reads base-128 digits written by [`push_digits`].
fn decode_digits(digits: &[u8]) -> usize {
    digits.iter().fold(0, |number, &digit| (number << 7) | usize::from(digit))
}

/// Sorts pairs by name and keeps the last value of a repeated name (a stable sort keeps
/// insertion order among equal names, so the last one given wins, as in a Go map).
fn sorted_unique<I, K, V>(pairs: I) -> Vec<(K, V)>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut sorted: Vec<(K, V)> = pairs.into_iter().collect();
    sorted.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
    // Compacts in place (the API hands over a vector already): every pair is kept unless
    // the next one has the same name. Positions `kept..read` hold pairs already dealt with.
    let mut kept = 0;
    for read in 0..sorted.len() {
        let superseded =
            sorted.get(read + 1).is_some_and(|next| next.0.as_ref() == sorted[read].0.as_ref());
        if !superseded {
            sorted.swap(kept, read);
            kept += 1;
        }
    }
    sorted.truncate(kept);
    sorted
}

/// Appends `number` as exactly `width` base-128 digits, each one ASCII byte. Hand-rolled: label
/// sets are built for every ingested alert.
fn push_digits(buffer: &mut String, number: usize, width: usize) {
    for shift in (0..width).rev() {
        buffer.push(char::from(((number >> (shift * 7)) & 0x7F) as u8));
    }
}

impl fmt::Debug for LabelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl fmt::Display for LabelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.go_string())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for LabelSet {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self::from_pairs(iter)
    }
}

impl Serialize for LabelSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (name, value) in self.iter() {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for LabelSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LabelSetVisitor;
        impl<'de> Visitor<'de> for LabelSetVisitor {
            type Value = LabelSet;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of label names to string values")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<LabelSet, E> {
                Ok(LabelSet::new())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<LabelSet, A::Error> {
                let mut pairs: Vec<(String, String)> =
                    Vec::with_capacity(access.size_hint().unwrap_or(8));
                while let Some((name, value)) = access.next_entry::<String, String>()? {
                    pairs.push((name, value));
                }
                Ok(LabelSet::from_pairs(pairs))
            }
        }
        deserializer.deserialize_any(LabelSetVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_last_value_wins() {
        let set = LabelSet::from_pairs([("b", "1"), ("a", "2"), ("b", "3")]);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![("a", "2"), ("b", "3")]);
        assert_eq!(set.get("b"), Some("3"));
        assert_eq!(set.get("c"), None);
        assert_eq!(set.value_or_empty("c"), "");
    }

    #[test]
    fn fingerprint_of_empty_set_is_the_offset_basis() {
        assert_eq!(LabelSet::new().fingerprint(), Fingerprint(FNV_OFFSET));
        assert_eq!(LabelSet::new().fingerprint().to_string(), "cbf29ce484222325");
    }

    #[test]
    fn fingerprint_and_hash_follow_the_signature_layout() {
        // Computed by hand from the definition: FNV-1a over "a\xffb\xff".
        let set = LabelSet::from_pairs([("a", "b")]);
        let mut hash = FNV_OFFSET;
        for byte in [b'a', 0xFF, b'b', 0xFF] {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(FNV_PRIME);
        }
        assert_eq!(set.fingerprint(), Fingerprint(hash));
        assert_eq!(set.alert_hash(), xxhash_rust::xxh64::xxh64(b"a\xffb\xff", 0));
    }

    #[test]
    fn fingerprint_where_equals_the_fingerprint_of_the_filtered_set() {
        let set = LabelSet::from_pairs([("alertname", "A"), ("job", "j"), ("zone", "z")]);
        let keeps: [&dyn Fn(&str) -> bool; 4] =
            [&|_| true, &|_| false, &|n| n == "job", &|n| n != "job"];
        for keep in keeps {
            assert_eq!(set.fingerprint_where(keep), set.filter(keep).fingerprint());
        }
    }

    #[test]
    fn go_string_sorts_whole_pairs() {
        // "a=" sorts after "a1=" because '=' (0x3D) is above the digits: the 0.25 ordering.
        let set = LabelSet::from_pairs([("a", "x"), ("a1", "y\"z")]);
        assert_eq!(set.go_string(), r#"{a1="y\"z", a="x"}"#);
    }

    #[test]
    fn every_offset_width_reads_back() {
        // Around every width's limit: 1, 2, 3 and 5 base-128 digits.
        for length in [0, 1, 120, 200, 300, 16_000, 70_000, 2_100_000] {
            let value = "v".repeat(length);
            let set = LabelSet::from_pairs([("a", "1"), ("b", value.as_str()), ("c", "3")]);
            assert_eq!(
                set.iter().map(|(n, v)| (n, v.len())).collect::<Vec<_>>(),
                [("a", 1), ("b", length), ("c", 1)]
            );
            assert_eq!(set.get("a"), Some("1"));
            assert_eq!(set.get("b").map(str::len), Some(length));
            assert_eq!(set.get("c"), Some("3"));
            let last = LabelSet::from_pairs([("a", "1"), ("b", value.as_str())]);
            assert_eq!(last.get("b").map(str::len), Some(length));
        }
    }

    #[test]
    fn empty_values_and_single_labels_read_back() {
        let set = LabelSet::from_pairs([("a", ""), ("b", ""), ("c", "x"), ("d", "")]);
        assert_eq!(set.iter().collect::<Vec<_>>(), [("a", ""), ("b", ""), ("c", "x"), ("d", "")]);
        assert_eq!(set.get("d"), Some(""));
        let one = LabelSet::from_pairs([("only", "")]);
        assert_eq!(one.iter().collect::<Vec<_>>(), [("only", "")]);
        assert_eq!(one.len(), 1);
        assert!(!one.is_empty());
        assert_ne!(one, LabelSet::new());
        assert_eq!(LabelSet::from_pairs_without_empty_values([("a", "")]), LabelSet::new());
    }

    #[test]
    fn sets_with_the_same_names_share_them() {
        let a = LabelSet::from_pairs([("job", "x"), ("alertname", "A")]);
        let b = LabelSet::from_pairs([("alertname", "B"), ("job", "y")]);
        let c = LabelSet::from_pairs([("alertname", "B"), ("zone", "y")]);
        assert!(a.shares_names_with(&b));
        assert!(!a.shares_names_with(&c));
        assert!(a.filter(|_| true).shares_names_with(&b));
        assert!(a.merged_with(&b).shares_names_with(&a));
        // Names alone are shared: each set keeps only its values.
        assert!(a.heap_bytes() < b"alertnamejob".len() + 2 * size_of::<usize>() + 2);
        let elsewhere =
            std::thread::spawn(|| LabelSet::from_pairs([("alertname", "C"), ("job", "z")]))
                .join()
                .unwrap();
        assert!(a.shares_names_with(&elsewhere));
    }

    fn hash_of(set: &LabelSet) -> u64 {
        let mut hasher = std::hash::DefaultHasher::new();
        set.hash(&mut hasher);
        hasher.finish()
    }

    #[test]
    fn comparisons_ignore_which_table_a_set_points_to() {
        let sets = [
            LabelSet::new(),
            LabelSet::from_pairs([("a", "1")]),
            LabelSet::from_pairs([("a", "1"), ("b", "")]),
            LabelSet::from_pairs([("a", "1"), ("b", "2")]),
            LabelSet::from_pairs([("a", "12"), ("b", "")]),
            LabelSet::from_pairs([("a", "2")]),
            LabelSet::from_pairs([("b", "1")]),
        ];
        for (i, x) in sets.iter().enumerate() {
            let private = x.with_private_names();
            assert!(!x.is_empty() || private.is_empty());
            assert!(x.is_empty() || !x.shares_names_with(&private));
            assert_eq!(*x, private);
            assert_eq!(hash_of(x), hash_of(&private));
            assert_eq!(x.cmp(&private), std::cmp::Ordering::Equal);
            assert_eq!(x.fingerprint(), private.fingerprint());
            for (j, y) in sets.iter().enumerate() {
                let expected = i.cmp(&j);
                assert_eq!(x.cmp(y), expected, "{x:?} vs {y:?}");
                assert_eq!(private.cmp(&y.with_private_names()), expected);
                assert_eq!(private.cmp(y), expected);
                assert_eq!(*x == y.with_private_names(), i == j);
            }
        }
    }

    #[test]
    fn fingerprints_are_those_of_the_signature_bytes() {
        let set = LabelSet::from_pairs([
            ("alertname", "HarnessIngest"),
            ("severity", "warning"),
            ("instance", "host-12345:9100"),
        ]);
        let mut bytes = Vec::new();
        for (name, value) in [
            ("alertname", "HarnessIngest"),
            ("instance", "host-12345:9100"),
            ("severity", "warning"),
        ] {
            bytes.extend_from_slice(name.as_bytes());
            bytes.push(0xFF);
            bytes.extend_from_slice(value.as_bytes());
            bytes.push(0xFF);
        }
        let mut hash = FNV_OFFSET;
        for byte in &bytes {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(FNV_PRIME);
        }
        assert_eq!(set.fingerprint(), Fingerprint(hash));
        assert_eq!(set.alert_hash(), xxhash_rust::xxh64::xxh64(&bytes, 0));
    }

    #[test]
    fn large_sets_use_wide_offsets() {
        let big = "x".repeat(70_000);
        let set = LabelSet::from_pairs([("a", big.as_str()), ("b", "2")]);
        assert_eq!(set.get("a").map(str::len), Some(70_000));
        assert_eq!(set.get("b"), Some("2"));
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn json_round_trip() {
        let set: LabelSet = serde_json::from_str(r#"{"z":"1","a":"2"}"#).unwrap();
        assert_eq!(serde_json::to_string(&set).unwrap(), r#"{"a":"2","z":"1"}"#);
    }
}
