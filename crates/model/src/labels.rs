//! Label sets: the identity of an alert.
//!
//! A [`LabelSet`] is immutable, sorted by name (byte-wise, as Go sorts strings) and stored in two
//! allocations: one string holding every name and value back to back, and one array of end
//! offsets. Alertmanager keeps a Go map per label set; a receiver holding 100k alerts pays for
//! that many times over, so the compact layout is what keeps Klaxon's memory per alert small.

use std::fmt;
use std::sync::Arc;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::quote::go_quote;

/// Alertmanager's separator byte between names and values in fingerprints and hashes.
const SEPARATOR_BYTE: u8 = 0xFF;
/// FNV-1a 64-bit offset basis (prometheus/common `hashNew`).
const FNV_OFFSET: u64 = 14695981039346656037;
/// FNV-1a 64-bit prime.
const FNV_PRIME: u64 = 1099511628211;

/// An immutable, sorted set of label names and values.
///
/// One allocation holds a header and the text. The header is `W` (2, 4 or 8, the width in hex
/// digits of every number that follows), the label count, then the end offset (relative to
/// the text) of every name and value; the text is every name and value back to back. Hex
/// digits keep the whole buffer a valid `str`, so slicing needs neither validation nor
/// unsafe code. Typical alert label sets are under 256 bytes and pay two bytes per offset.
///
/// The buffer is shared: cloning a set (the dispatcher hands every flush its own copy of each
/// alert) bumps a count instead of copying the text, and the empty set owns nothing.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct LabelSet {
    buffer: Option<Arc<str>>,
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
            pairs.clone().fold((0usize, 0usize), |(n, b), (k, v)| (n + 1, b + k.len() + v.len()));
        if count == 0 {
            return Self::default();
        }
        let width = match text_bytes.max(count) {
            0..=0xFF => 2,
            0x100..=0xFFFF => 4,
            _ => 8,
        };
        assert!(text_bytes <= u32::MAX as usize, "label set larger than 4 GiB");
        let header_bytes = 1 + width * (1 + 2 * count);
        let mut buffer = String::with_capacity(header_bytes + text_bytes);
        buffer.push(char::from(b'0' + width as u8));
        push_hex(&mut buffer, count, width);
        let mut end = 0;
        for (name, value) in pairs.clone() {
            end += name.len();
            push_hex(&mut buffer, end, width);
            end += value.len();
            push_hex(&mut buffer, end, width);
        }
        let mut previous: Option<&str> = None;
        for (name, value) in pairs {
            debug_assert!(previous.is_none_or(|p| p < name), "names must be sorted and unique");
            previous = Some(name);
            buffer.push_str(name);
            buffer.push_str(value);
        }
        debug_assert_eq!(buffer.len(), header_bytes + text_bytes);
        Self { buffer: Some(Arc::from(buffer)) }
    }

    /// Width in hex digits of the header numbers (0 for the empty set).
    fn width(&self) -> usize {
        match self.text().as_bytes().first() {
            Some(b'2') => 2,
            Some(b'4') => 4,
            Some(_) => 8,
            None => 0,
        }
    }

    /// The `index`-th header number.
    fn header_number(&self, index: usize) -> usize {
        let width = self.width();
        let start = 1 + index * width;
        decode_hex(&self.text().as_bytes()[start..start + width])
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        if self.text().is_empty() { 0 } else { self.header_number(0) }
    }

    /// True when there are no labels.
    pub fn is_empty(&self) -> bool {
        self.text().is_empty()
    }

    /// The label at `index` in name order.
    fn pair(&self, index: usize) -> (&str, &str) {
        let count = self.len();
        let text_start = 1 + self.width() * (1 + 2 * count);
        let name_start = if index == 0 { 0 } else { self.header_number(2 * index) };
        let name_end = self.header_number(2 * index + 1);
        let value_end = self.header_number(2 * index + 2);
        let text = &self.text()[text_start..];
        (&text[name_start..name_end], &text[name_end..value_end])
    }

    /// The labels in name order. The header is read once and walked in step with the text,
    /// since hashing and matching visit every label of every alert.
    pub fn iter(&self) -> Labels<'_> {
        if self.text().is_empty() {
            return Labels { header: &[], text: "", width: 0, remaining: 0, position: 0 };
        }
        let count = self.len();
        let width = self.width();
        let offsets_start = 1 + width;
        let text_start = offsets_start + width * 2 * count;
        Labels {
            header: &self.text().as_bytes()[offsets_start..text_start],
            text: &self.text()[text_start..],
            width,
            remaining: count,
            position: 0,
        }
    }

    /// The label names in order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.iter().map(|(name, _)| name)
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let mid = (low + high) / 2;
            let (candidate, value) = self.pair(mid);
            match candidate.cmp(name) {
                std::cmp::Ordering::Equal => return Some(value),
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
            }
        }
        None
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

    /// Approximate heap bytes owned by this set, for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        // Two reference counts precede the text in an `Arc<str>`.
        self.buffer.as_ref().map_or(0, |buffer| buffer.len() + 2 * std::mem::size_of::<usize>())
    }

    /// The header and text, `""` for the empty set.
    fn text(&self) -> &str {
        self.buffer.as_deref().unwrap_or("")
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
    header: &'a [u8],
    text: &'a str,
    width: usize,
    remaining: usize,
    position: usize,
}

impl<'a> Iterator for Labels<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let name_end = decode_hex(&self.header[..self.width]);
        let value_end = decode_hex(&self.header[self.width..2 * self.width]);
        self.header = &self.header[2 * self.width..];
        let pair = (&self.text[self.position..name_end], &self.text[name_end..value_end]);
        self.position = value_end;
        self.remaining -= 1;
        Some(pair)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Labels<'_> {}

/// Reads lowercase hex digits written by [`push_hex`].
fn decode_hex(digits: &[u8]) -> usize {
    digits.iter().fold(0, |number, &digit| {
        let value = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            _ => unreachable!("label set headers hold only lowercase hex digits"),
        };
        (number << 4) | usize::from(value)
    })
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

/// Appends `number` as exactly `width` lowercase hex digits. Hand-rolled: label sets are built
/// for every ingested alert, and the formatting machinery costs more than the rest together.
fn push_hex(buffer: &mut String, number: usize, width: usize) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for shift in (0..width).rev() {
        buffer.push(char::from(DIGITS[(number >> (shift * 4)) & 0xF]));
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
        for length in [1, 200, 300, 70_000] {
            let value = "v".repeat(length);
            let set = LabelSet::from_pairs([("a", "1"), ("b", value.as_str()), ("c", "3")]);
            assert_eq!(
                set.iter().map(|(n, v)| (n, v.len())).collect::<Vec<_>>(),
                [("a", 1), ("b", length), ("c", 1)]
            );
            assert_eq!(set.get("c"), Some("3"));
        }
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
