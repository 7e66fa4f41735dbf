//! ULIDs (26 characters of Crockford base32: a 48-bit millisecond timestamp, then 80 random
//! bits), Alertmanager's default peer name. Names sort by start time, so an older process
//! takes an earlier position.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::RngCore;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A ULID for `at` with randomness from `rng`.
pub(crate) fn generate(at: SystemTime, rng: &mut impl RngCore) -> String {
    let millis = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis()) & ((1 << 48) - 1);
    let mut random = [0u8; 10];
    rng.fill_bytes(&mut random);
    let mut value = millis << 80;
    for (i, byte) in random.iter().enumerate() {
        value |= u128::from(*byte) << (8 * (9 - i));
    }
    // 26 characters × 5 bits = 130 bits: the top two bits are always zero.
    (0..26).rev().map(|i| char::from(CROCKFORD[((value >> (5 * i)) & 31) as usize])).collect()
}

#[cfg(test)]
mod tests {
    use super::generate;
    use rand::SeedableRng;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn encodes_time_first_so_names_sort_by_start() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let early = generate(UNIX_EPOCH + Duration::from_millis(1_469_918_176_385), &mut rng);
        let late = generate(UNIX_EPOCH + Duration::from_millis(1_469_918_176_386), &mut rng);
        assert_eq!(early.len(), 26);
        // The timestamp prefix of the ULID spec's example time.
        assert_eq!(&early[..10], "01ARYZ6S41");
        assert!(early < late);
        assert!(early.bytes().all(|b| super::CROCKFORD.contains(&b)));
    }
}
