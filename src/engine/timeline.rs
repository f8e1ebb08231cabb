//! A timestamp field as day-bucketed bitmaps: whole days of a range are unions, edge days are checked
//! against the exact time.

use std::collections::BTreeMap;

use roaring::RoaringBitmap;

const DAY_MS: i64 = 86_400_000;
/// Below this many candidates, checking each is cheaper than a union of days.
const FEW: u64 = if cfg!(test) { 3 } else { 4096 };

pub fn day(at: i64) -> i64 {
    at.div_euclid(DAY_MS)
}

#[derive(Default)]
pub struct Timeline {
    pub(super) days: BTreeMap<i64, RoaringBitmap>,
}

impl Timeline {
    /// The bitmap of the users of this day (see `day`), created empty if needed.
    pub fn day(&mut self, day: i64) -> &mut RoaringBitmap {
        self.days.entry(day).or_default()
    }

    pub fn remove(&mut self, slot: u32, at: i64) {
        self.remove_on(slot, day(at));
    }

    /// Takes a user out of the bitmap of `day` (see `day`), dropping it when left empty.
    pub fn remove_on(&mut self, slot: u32, day: i64) {
        if let Some(bitmap) = self.days.get_mut(&day) {
            bitmap.remove(slot);
            if bitmap.is_empty() {
                self.days.remove(&day);
            }
        }
    }

    /// The users of `within` (all when None) whose time lies in `[start, end]` (inclusive, open when None);
    /// `at` gives a user's exact time, read only on the range's edge days.
    pub fn select(
        &self,
        start: Option<i64>,
        end: Option<i64>,
        within: Option<&RoaringBitmap>,
        at: impl Fn(u32) -> Option<i64>,
    ) -> RoaringBitmap {
        let inside = |t: i64| start.is_none_or(|s| t >= s) && end.is_none_or(|e| t <= e);
        if let (Some(s), Some(e)) = (start, end) {
            if s > e {
                return RoaringBitmap::new();
            }
        }
        let first = start.map_or(i64::MIN, day);
        let last = end.map_or(i64::MAX, day);
        let buckets = self.days.range(first..=last);
        if let Some(within) = within {
            // A small candidate set is cheaper to check one by one than the days to union.
            if within.len() < FEW || within.len() * 8 < self.days.range(first..=last).map(|(_, b)| b.len()).sum::<u64>()
            {
                return RoaringBitmap::from_sorted_iter(within.iter().filter(|slot| at(*slot).is_some_and(inside)))
                    .unwrap_or_default();
            }
        }
        let mut whole = Vec::new();
        let mut edges = RoaringBitmap::new();
        for (day, bitmap) in buckets {
            let day_start = day.saturating_mul(DAY_MS);
            let day_end = day_start.saturating_add(DAY_MS - 1);
            if inside(day_start) && inside(day_end) {
                whole.push(bitmap);
            } else {
                let matching = bitmap.iter().filter(|slot| at(*slot).is_some_and(inside));
                edges |= RoaringBitmap::from_sorted_iter(matching).unwrap_or_default();
            }
        }
        let mut found = roaring::MultiOps::union(whole);
        found |= edges;
        match within {
            Some(within) => &found & within,
            None => found,
        }
    }

    pub fn heap_bytes(&self) -> usize {
        self.days.values().map(|b| b.serialized_size() + 48).sum()
    }
}
