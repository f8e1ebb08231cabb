//! A result set as a flat bit array, for walks that test many users against it: one load per test
//! instead of a container search.

use roaring::RoaringBitmap;

/// Tests `RoaringBitmap::contains` would answer, made cheaper when there are many to make.
pub enum Members<'a> {
    Roaring(&'a RoaringBitmap),
    Flat(Vec<u64>),
}

/// Below this many expected tests, building a flat array does not pay.
const FLAT_AT: f64 = if cfg!(test) { 0.0 } else { 4096.0 };

impl<'a> Members<'a> {
    /// The members of `result` among slots `0..slots`, flattened when about `tests` membership
    /// tests would cost more than writing the bits: a sparse result member by member, a dense one
    /// as every slot less the few missing from it.
    pub fn of(result: &'a RoaringBitmap, slots: u32, tests: f64) -> Members<'a> {
        let total = result.len();
        let gaps = u64::from(slots).saturating_sub(total);
        if tests < FLAT_AT || (total.min(gaps) as f64) > tests * 4.0 {
            return Members::Roaring(result);
        }
        let words = slots as usize / 64 + 1;
        if total < gaps {
            let mut bits = vec![0u64; words];
            for slot in result {
                bits[slot as usize / 64] |= 1 << (slot % 64);
            }
            return Members::Flat(bits);
        }
        // Dense: set every bit, then clear the few not in the result, found by bitmap algebra
        // (whole words at a time) rather than by walking the result's runs.
        let mut every = RoaringBitmap::new();
        every.insert_range(0..slots);
        let mut bits = vec![u64::MAX; words];
        bits[words - 1] = (1 << (slots % 64)) - 1;
        for slot in &(every - result) {
            bits[slot as usize / 64] &= !(1 << (slot % 64));
        }
        Members::Flat(bits)
    }

    /// Only for slots below the `slots` given to `of` (or any slot of the bitmap).
    pub fn contains(&self, slot: u32) -> bool {
        match self {
            Members::Roaring(result) => result.contains(slot),
            Members::Flat(bits) => bits.get(slot as usize / 64).is_some_and(|word| word & (1 << (slot % 64)) != 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_members_are_the_bitmap_members() {
        let slots = 70_000u32;
        for result in [
            RoaringBitmap::new(),
            (0..slots).step_by(3).collect::<RoaringBitmap>(),
            (0..slots).filter(|s| s % 97 != 0).collect::<RoaringBitmap>(),
            (0..slots).collect::<RoaringBitmap>(),
            [0, 63, 64, 65, 127, 128, 4095, 4096, 69_999].into_iter().collect::<RoaringBitmap>(),
            (100..200).chain(1000..1064).chain(5000..9000).collect::<RoaringBitmap>(),
        ] {
            let members = Members::of(&result, slots, 1e9);
            assert!(matches!(members, Members::Flat(_)));
            for slot in 0..slots {
                assert_eq!(members.contains(slot), result.contains(slot), "slot {slot}");
            }
        }
    }
}
