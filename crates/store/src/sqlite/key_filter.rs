//! The filter that proves a run's keys unique without an index (campaign imports).

/// Blocks of the filter: 2^18 cache lines of 512 bits (16 MiB).
const FILTER_BLOCKS: usize = 1 << 18;
/// Odd multipliers, one per word of a block: each picks a key's bit in its word.
const SALTS: [u32; 8] = [
    0x47b6_137b,
    0x4497_4d91,
    0x8824_ad5b,
    0xa2b7_289d,
    0x7054_95c7,
    0x2df1_424b,
    0x9efc_4947,
    0x5c6b_fb31,
];

/// One cache line of bits: a key touches only its own block, so an insert costs one cache
/// miss, not one per hash (the filter is far larger than any cache).
#[derive(Clone, Copy)]
#[repr(align(64))]
struct Block([u64; 8]);

/// A blocked Bloom filter over the keys of a run, fixed in size: it never says "new" for a
/// key seen before, so while no key hits only set bits the keys are proven unique and no
/// key index or scan is needed. A hit only means "maybe": whoever uses it must then look
/// properly. After 1,000,000 keys (about 4 per block, a bit in each of its 8 words) a new
/// key gets a false "maybe" a few times in 10^9: a million-row file passes about 999
/// times in 1,000.
pub(crate) struct KeyFilter<S = std::collections::hash_map::RandomState> {
    hasher: S,
    blocks: Vec<Block>,
    maybe_duplicate: bool,
}

impl KeyFilter {
    /// A filter with random hash keys: no file can be made to look full of duplicates.
    pub(crate) fn new() -> KeyFilter {
        KeyFilter::with_hasher(std::collections::hash_map::RandomState::new())
    }
}

impl<S: std::hash::BuildHasher> KeyFilter<S> {
    fn with_hasher(hasher: S) -> KeyFilter<S> {
        KeyFilter {
            hasher,
            blocks: Vec::new(),
            maybe_duplicate: false,
        }
    }

    /// Adds a key; `true` once any key so far may have been seen before.
    pub(crate) fn insert(&mut self, key: &str) -> bool {
        if self.maybe_duplicate {
            return true; // already undecided
        }
        if self.blocks.is_empty() {
            self.blocks = vec![Block([0; 8]); FILTER_BLOCKS];
        }
        let hash = self.hasher.hash_one(key);
        // The high bits pick the block; the low 32, multiplied by one odd salt per word,
        // one bit in each of its 8 words (a split-block Bloom filter, as Parquet's).
        let block = &mut self.blocks[((hash >> 32) as usize) & (FILTER_BLOCKS - 1)].0;
        let low = hash as u32;
        let mut all_set = true;
        for (word, salt) in block.iter_mut().zip(SALTS) {
            let mask = 1u64 << (low.wrapping_mul(salt) >> 26);
            all_set &= *word & mask != 0;
            *word |= mask;
        }
        if all_set {
            self.maybe_duplicate = true;
            self.blocks = Vec::new();
        }
        self.maybe_duplicate
    }

    /// Frees the bits; `true` when some key may repeat.
    pub(crate) fn release(&mut self) -> bool {
        self.blocks = Vec::new();
        self.maybe_duplicate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_filter_never_misses_a_duplicate() {
        let mut filter = KeyFilter::new();
        for i in 0..10_000 {
            assert!(!filter.insert(&format!("user{i}@example.com")));
        }
        assert!(filter.insert("user42@example.com"));
        assert!(filter.release());
    }

    /// The false-positive rate the fast path relies on: a million distinct keys (the
    /// benchmark's file) pass without one "maybe". Fixed hash keys keep the test
    /// deterministic.
    #[test]
    fn a_million_distinct_keys_pass() {
        let fixed = std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default();
        let mut filter = KeyFilter::with_hasher(fixed);
        let mut key = String::new();
        for i in 0..1_000_000u32 {
            key.clear();
            std::fmt::Write::write_fmt(&mut key, format_args!("user{i}@example.com"))
                .unwrap_or_default();
            assert!(!filter.insert(&key), "a false maybe at key {i}");
        }
    }
}
