//! A timestamp field as day-bucketed bitmaps, with coarser spans of 4, 16 and 64 days above them:
//! a range is covered by the fewest whole buckets (a month is a handful, the wider ones dense
//! enough to merge word by word), and its edge days are checked against the exact time.

use std::collections::BTreeMap;

use roaring::RoaringBitmap;

const DAY_MS: i64 = 86_400_000;
/// Below this many candidates, checking each is cheaper than a union of days.
const FEW: u64 = if cfg!(test) { 3 } else { 4096 };
/// Days per bucket of each span level, finest first; each level holds every user of the days once.
const SPAN_DAYS: [i64; 3] = [4, 16, 64];

pub fn day(at: i64) -> i64 {
    at.div_euclid(DAY_MS)
}

#[derive(Default)]
pub struct Timeline {
    pub(super) days: BTreeMap<i64, RoaringBitmap>,
    /// By level of `SPAN_DAYS`, keyed by the first day of the span divided by its length.
    spans: [BTreeMap<i64, RoaringBitmap>; SPAN_DAYS.len()],
}

impl Timeline {
    /// A timeline of these day buckets, its spans derived from them (a snapshot stores days only).
    pub fn from_days(days: BTreeMap<i64, RoaringBitmap>) -> Timeline {
        let mut timeline = Timeline { days, ..Timeline::default() };
        for (level, length) in SPAN_DAYS.iter().enumerate() {
            let mut buckets: BTreeMap<i64, Vec<&RoaringBitmap>> = BTreeMap::new();
            for (day, bitmap) in &timeline.days {
                buckets.entry(day.div_euclid(*length)).or_default().push(bitmap);
            }
            timeline.spans[level] =
                buckets.into_iter().map(|(span, days)| (span, roaring::MultiOps::union(days))).collect();
        }
        timeline
    }

    pub fn insert(&mut self, slot: u32, day: i64) {
        self.days.entry(day).or_default().insert(slot);
        for (spans, length) in self.spans.iter_mut().zip(SPAN_DAYS) {
            spans.entry(day.div_euclid(length)).or_default().insert(slot);
        }
    }

    /// Appends slots above every slot already held (the bulk build), each run to its day.
    pub fn append(&mut self, runs: Vec<(i64, Vec<u32>)>) {
        for (spans, length) in self.spans.iter_mut().zip(SPAN_DAYS) {
            let mut by_span: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
            for (day, slots) in &runs {
                by_span.entry(day.div_euclid(length)).or_default().extend_from_slice(slots);
            }
            for (span, mut slots) in by_span {
                slots.sort_unstable();
                append_above(spans.entry(span).or_default(), &slots);
            }
        }
        for (day, slots) in runs {
            append_above(self.days.entry(day).or_default(), &slots);
        }
    }

    /// Takes a user out of the bucket of `day` (see `day`) and of the spans above it.
    pub fn remove_on(&mut self, slot: u32, day: i64) {
        take_out(&mut self.days, day, slot);
        for (spans, length) in self.spans.iter_mut().zip(SPAN_DAYS) {
            take_out(spans, day.div_euclid(length), slot);
        }
    }

    /// The fewest buckets that together hold exactly the days `first..=last`.
    fn cover(&self, first: i64, last: i64) -> Vec<&RoaringBitmap> {
        let (Some((&lowest, _)), Some((&highest, _))) = (self.days.first_key_value(), self.days.last_key_value())
        else {
            return Vec::new();
        };
        let (mut day, last) = (first.max(lowest), last.min(highest));
        let mut cover = Vec::new();
        while day <= last {
            let span = SPAN_DAYS
                .iter()
                .enumerate()
                .rev()
                .find(|(_, length)| day.rem_euclid(**length) == 0 && day + *length - 1 <= last);
            let (bucket, length) = match span {
                Some((level, length)) => (self.spans[level].get(&day.div_euclid(*length)), *length),
                // Between days that hold users, skip straight to the next one.
                None => match self.days.range(day..=last).next() {
                    Some((&next, bitmap)) if next == day => (Some(bitmap), 1),
                    Some((&next, _)) => {
                        day = next.min(next_boundary(day));
                        continue;
                    }
                    None => break,
                },
            };
            cover.extend(bucket);
            day += length;
        }
        cover
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
        // Edge days hold users on both sides of a bound; the days between are whole.
        let first_whole =
            if start.is_some_and(|s| s > first.saturating_mul(DAY_MS)) { first.saturating_add(1) } else { first };
        let last_whole = if end.is_some_and(|e| e < last.saturating_mul(DAY_MS).saturating_add(DAY_MS - 1)) {
            last.saturating_sub(1)
        } else {
            last
        };
        let whole = if first_whole <= last_whole { self.cover(first_whole, last_whole) } else { Vec::new() };
        if let Some(within) = within {
            // A small candidate set is cheaper to check one by one than the buckets to union.
            if within.len() < FEW || within.len() * 8 < whole.iter().map(|b| b.len()).sum::<u64>() {
                return RoaringBitmap::from_sorted_iter(within.iter().filter(|slot| at(*slot).is_some_and(inside)))
                    .unwrap_or_default();
            }
        }
        let mut edges = RoaringBitmap::new();
        let edge_days = [first, last].into_iter().filter(|d| *d < first_whole || *d > last_whole);
        let mut checked = None;
        for edge in edge_days.filter(|d| Some(*d) != checked.replace(*d)) {
            if let Some(bitmap) = self.days.get(&edge) {
                let candidates = match within {
                    Some(within) => bitmap & within,
                    None => bitmap.clone(),
                };
                let matching = candidates.iter().filter(|slot| at(*slot).is_some_and(inside));
                edges |= RoaringBitmap::from_sorted_iter(matching).unwrap_or_default();
            }
        }
        let mut found = roaring::MultiOps::union(whole);
        found |= edges;
        match within {
            Some(within) => found & within,
            None => found,
        }
    }

    pub fn heap_bytes(&self) -> usize {
        self.days.values().chain(self.spans.iter().flat_map(|s| s.values())).map(|b| b.serialized_size() + 48).sum()
    }
}

/// The first day after `day` on which a bucket of the finest span level starts.
fn next_boundary(day: i64) -> i64 {
    (day.div_euclid(SPAN_DAYS[0]) + 1) * SPAN_DAYS[0]
}

fn append_above(bitmap: &mut RoaringBitmap, slots: &[u32]) {
    // `append` refuses slots that are not above the bitmap's maximum, which the bulk build never gives.
    if bitmap.append(slots.iter().copied()).is_err() {
        slots.iter().for_each(|slot| {
            bitmap.insert(*slot);
        });
    }
}

fn take_out(buckets: &mut BTreeMap<i64, RoaringBitmap>, key: i64, slot: u32) {
    if let Some(bitmap) = buckets.get_mut(&key) {
        bitmap.remove(slot);
        if bitmap.is_empty() {
            buckets.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A timeline of users at the given times (slot = position), built one insert at a time.
    fn timeline(times: &[i64]) -> Timeline {
        let mut timeline = Timeline::default();
        for (slot, at) in times.iter().enumerate() {
            timeline.insert(slot as u32, day(*at));
        }
        timeline
    }

    proptest::proptest! {
        #[test]
        fn select_matches_a_scan(
            times in proptest::collection::vec(-300 * DAY_MS..300 * DAY_MS, 0..200),
            start in proptest::option::of(-320 * DAY_MS..320 * DAY_MS),
            end in proptest::option::of(-320 * DAY_MS..320 * DAY_MS),
            within in proptest::option::of(proptest::collection::vec(0u32..200, 0..200)),
            removed in proptest::collection::vec(0usize..200, 0..20),
        ) {
            let mut timeline = timeline(&times);
            let mut alive = vec![true; times.len()];
            for slot in removed.into_iter().filter(|s| *s < times.len()) {
                if std::mem::replace(&mut alive[slot], false) {
                    timeline.remove_on(slot as u32, day(times[slot]));
                }
            }
            // As in the engine, candidates are live users.
            let within: Option<RoaringBitmap> =
                within.map(|w| w.into_iter().filter(|s| alive.get(*s as usize) == Some(&true)).collect());
            let at = |slot: u32| Some(times[slot as usize]);
            let expected: RoaringBitmap = (0..times.len() as u32)
                .filter(|slot| alive[*slot as usize])
                .filter(|slot| within.as_ref().is_none_or(|w| w.contains(*slot)))
                .filter(|slot| start.is_none_or(|s| times[*slot as usize] >= s) && end.is_none_or(|e| times[*slot as usize] <= e))
                .collect();
            proptest::prop_assert_eq!(timeline.select(start, end, within.as_ref(), at), expected.clone());
            // The same buckets derived from the days (a snapshot load) answer the same.
            let derived = Timeline::from_days(timeline.days.clone());
            proptest::prop_assert_eq!(derived.select(start, end, within.as_ref(), at), expected);
        }

        #[test]
        fn bulk_append_matches_inserts(times in proptest::collection::vec(-300 * DAY_MS..300 * DAY_MS, 0..300)) {
            let mut bulk = Timeline::default();
            for (step, chunk) in times.chunks(50).enumerate() {
                let mut runs: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
                for (i, at) in chunk.iter().enumerate() {
                    runs.entry(day(*at)).or_default().push((step * 50 + i) as u32);
                }
                bulk.append(runs.into_iter().collect());
            }
            let one_by_one = timeline(&times);
            proptest::prop_assert_eq!(&bulk.days, &one_by_one.days);
            proptest::prop_assert_eq!(&bulk.spans, &one_by_one.spans);
        }
    }
}
