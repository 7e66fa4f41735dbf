//! Seeded random and mutated byte strings for tests of decoders that read the network or the
//! disk: random bytes rarely pass the first length prefix, so most cases mutate a valid
//! encoding (bytes flipped, cut or inserted) to reach the deeper code.

use rand::{Rng, SeedableRng, rngs::StdRng};

/// `cases` inputs derived from `valid`, the same for every run.
pub(crate) fn mutated_inputs(valid: &[u8], cases: usize) -> impl Iterator<Item = Vec<u8>> {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    (0..cases).map(move |case| {
        let mut bytes: Vec<u8> = if case % 3 == 0 {
            (0..rng.random_range(0..300)).map(|_| rng.random()).collect()
        } else {
            valid.to_vec()
        };
        for _ in 0..rng.random_range(1..5) {
            if bytes.is_empty() {
                break;
            }
            let position = rng.random_range(0..bytes.len());
            match rng.random_range(0..3) {
                0 => bytes[position] = rng.random(),
                1 => bytes.truncate(position),
                _ => bytes.insert(position, rng.random()),
            }
        }
        bytes
    })
}
