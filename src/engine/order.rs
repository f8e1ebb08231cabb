//! Presorted orders of users per sort key, kept correct under writes: a sorted base as of the last
//! merge, the slots changed since (skipped in the base, sorted on the fly), merged in when many.

use std::cmp::{Ordering, Reverse};

use super::row::Row;
use super::sort::{compare, compare_key, has_key};
use crate::domain::Id;
use crate::query::{Order, Sort, SortKey};

/// Above this many changed slots a query merges them into the base before walking.
pub const MERGE_AT: usize = if cfg!(test) { 3 } else { 2048 };

pub struct SortOrder {
    pub(super) by: SortKey,
    /// Slots in ascending order of the key as of the last merge.
    pub(super) base: Vec<u32>,
    /// How many leading base entries held a value at the last merge.
    pub(super) present: usize,
    /// Base positions that start a group of equal keys (a descending walk takes groups from the last).
    pub(super) boundaries: Vec<u64>,
    /// Slots whose base entry, if any, no longer stands (changed or removed since the merge).
    pub(super) stale: Vec<u64>,
    /// Each stale slot once, to be placed at the next merge (dead ones are dropped then).
    pub(super) pending: Vec<u32>,
}

impl SortOrder {
    pub fn new(by: SortKey) -> SortOrder {
        SortOrder { by, base: Vec::new(), present: 0, boundaries: Vec::new(), stale: Vec::new(), pending: Vec::new() }
    }

    /// The order of every live user, sorted once (the bulk build): the keys are copied out next to
    /// the slots, so sorting compares plain values instead of chasing rows.
    pub fn build(by: SortKey, rows: &[Row]) -> SortOrder {
        match by {
            SortKey::CreatedAt => SortOrder::sorted(by, rows, |row| Some(row.created_at)),
            SortKey::UpdatedAt => SortOrder::sorted(by, rows, |row| Some(row.updated_at)),
            SortKey::LastSeenAt => SortOrder::sorted(by, rows, Row::last_seen_at),
            SortKey::LastMessageAt => SortOrder::sorted(by, rows, Row::last_message_at),
            // The first eight bytes settle most comparisons without reading the names.
            SortKey::Name => SortOrder::sorted(by, rows, |row| {
                row.name_key.as_deref().map(|name| {
                    let mut prefix = [0u8; 8];
                    let head = &name.as_bytes()[..name.len().min(8)];
                    prefix[..head.len()].copy_from_slice(head);
                    (u64::from_be_bytes(prefix), name)
                })
            }),
        }
    }

    fn sorted<'r, K: Ord>(by: SortKey, rows: &'r [Row], key: impl Fn(&'r Row) -> Option<K>) -> SortOrder {
        // Present keys first, ascending, ties by _id descending: the order `compare` gives.
        let mut keyed: Vec<(bool, Option<K>, Reverse<Id>, u32)> = rows
            .iter()
            .enumerate()
            .filter(|(_, row)| row.alive)
            .map(|(slot, row)| {
                let key = key(row);
                (key.is_none(), key, Reverse(row.id), slot as u32)
            })
            .collect();
        keyed.sort_unstable();
        let present = keyed.partition_point(|(missing, ..)| !missing);
        let mut boundaries = vec![0u64; keyed.len() / 64 + 1];
        boundaries[0] |= 1;
        for (i, pair) in keyed.windows(2).enumerate() {
            if pair[0].1 != pair[1].1 {
                boundaries[(i + 1) / 64] |= 1 << ((i + 1) % 64);
            }
        }
        let base = keyed.into_iter().map(|(.., slot)| slot).collect();
        SortOrder { by, base, present, boundaries, stale: Vec::new(), pending: Vec::new() }
    }

    fn is_stale(&self, slot: u32) -> bool {
        self.stale.get(slot as usize / 64).is_some_and(|word| word & (1 << (slot % 64)) != 0)
    }

    fn starts_group(&self, position: usize) -> bool {
        self.boundaries.get(position / 64).is_none_or(|word| word & (1 << (position % 64)) != 0)
    }

    /// Notes that a user's key changed, or that it came or went.
    pub fn touch(&mut self, slot: u32) {
        let word = slot as usize / 64;
        if self.stale.len() <= word {
            self.stale.resize(word + 1, 0);
        }
        let bit = 1 << (slot % 64);
        if self.stale[word] & bit == 0 {
            self.stale[word] |= bit;
            self.pending.push(slot);
        }
    }

    /// How many changed slots wait to be merged into the base.
    pub fn unmerged(&self) -> usize {
        self.pending.len()
    }

    pub fn needs_merge(&self) -> bool {
        self.pending.len() > MERGE_AT
    }

    fn fresh(&self, rows: &[Row], sort: Sort) -> Vec<u32> {
        let mut fresh: Vec<u32> = self.pending.iter().copied().filter(|s| rows[*s as usize].alive).collect();
        fresh.sort_unstable_by(|a, b| compare(&rows[*a as usize], &rows[*b as usize], sort));
        fresh
    }

    /// Places the changed slots into the base: a pass of copies, and comparisons only for the changed.
    pub fn merge(&mut self, rows: &[Row]) {
        if self.pending.is_empty() {
            return;
        }
        let asc = Sort { by: self.by, order: Order::Asc };
        let fresh = self.fresh(rows, asc);
        let stale = std::mem::take(&mut self.stale);
        let is_stale = |slot: u32| stale.get(slot as usize / 64).is_some_and(|word| word & (1 << (slot % 64)) != 0);
        self.base.retain(|slot| !is_stale(*slot));
        // The base's remaining entries kept their keys, so both runs are sorted: many changes are
        // merged in one linear pass, a few by a binary search each.
        let old = std::mem::take(&mut self.base);
        let mut merged = Vec::with_capacity(old.len() + fresh.len());
        let mut from = 0;
        if fresh.len() > old.len() / 16 {
            let mut fresh = fresh.into_iter().peekable();
            while let (Some(&kept), Some(&slot)) = (old.get(from), fresh.peek()) {
                if compare(&rows[kept as usize], &rows[slot as usize], asc) == Ordering::Greater {
                    merged.push(slot);
                    fresh.next();
                } else {
                    merged.push(kept);
                    from += 1;
                }
            }
            merged.extend(fresh);
        } else {
            for slot in fresh {
                let row = &rows[slot as usize];
                let at =
                    from + old[from..].partition_point(|s| compare(&rows[*s as usize], row, asc) == Ordering::Less);
                merged.extend_from_slice(&old[from..at]);
                merged.push(slot);
                from = at;
            }
        }
        merged.extend_from_slice(&old[from..]);
        self.base = merged;
        self.stale = stale;
        for slot in std::mem::take(&mut self.pending) {
            self.stale[slot as usize / 64] &= !(1 << (slot % 64));
        }
        self.present = self.base.partition_point(|s| has_key(&rows[*s as usize], self.by));
        self.boundaries = vec![0; self.base.len() / 64 + 1];
        for (i, pair) in self.base.windows(2).enumerate() {
            if compare_key(&rows[pair[0] as usize], &rows[pair[1] as usize], asc) != Ordering::Equal {
                self.boundaries[(i + 1) / 64] |= 1 << ((i + 1) % 64);
            }
        }
        self.boundaries[0] |= 1;
    }

    /// The users in `sort` order for which `member` holds, from the `skip`th (counting from 0)
    /// up to the `end`th.
    pub fn page(&self, rows: &[Row], order: Order, skip: u64, end: u64, member: impl Fn(u32) -> bool) -> Vec<u32> {
        let mut page = Vec::with_capacity((end - skip).min(100_000) as usize);
        let mut take = |slot: u32, seen: &mut u64| {
            if member(slot) {
                if *seen >= skip {
                    page.push(slot);
                }
                *seen += 1;
            }
            *seen < end
        };
        if self.pending.is_empty() {
            // Nothing to interleave: the skipped users are counted without visiting them one by one.
            let (mut base, mut seen) = BaseWalk::past(self, Sort { by: self.by, order }, skip, &member);
            while let Some(slot) = base.next() {
                if !take(slot, &mut seen) {
                    break;
                }
            }
        } else {
            let mut seen = 0;
            self.walk(rows, order, |slot| take(slot, &mut seen));
        }
        page
    }

    /// Visits the live users in `sort` order until `visit` returns false.
    pub fn walk(&self, rows: &[Row], order: Order, mut visit: impl FnMut(u32) -> bool) {
        let sort = Sort { by: self.by, order };
        let fresh = self.fresh(rows, sort);
        let mut fresh = fresh.into_iter().peekable();
        let mut base = BaseWalk::new(self, sort);
        let mut next_base = base.next();
        loop {
            let slot = match (next_base, fresh.peek()) {
                (None, None) => return,
                (Some(b), None) => {
                    next_base = base.next();
                    b
                }
                (None, Some(_)) => fresh.next().unwrap_or_default(),
                (Some(b), Some(f)) => {
                    if compare(&rows[b as usize], &rows[*f as usize], sort) == Ordering::Less {
                        next_base = base.next();
                        b
                    } else {
                        fresh.next().unwrap_or_default()
                    }
                }
            };
            if !visit(slot) {
                return;
            }
        }
    }

    pub fn heap_bytes(&self) -> usize {
        self.base.capacity() * 4 + self.stale.capacity() * 8 + self.pending.capacity() * 4
    }
}

/// The base's entries in the requested order, skipping stale ones. Descending walks the groups of
/// equal keys from the last, each group forward (ties stay by _id descending), then the users
/// lacking the key, as ascending does.
struct BaseWalk<'a> {
    order: &'a SortOrder,
    sort: Sort,
    /// Ascending: the next index. Descending: the next index of the current group.
    cursor: usize,
    group_start: usize,
    group_end: usize,
    tail: usize,
}

impl<'a> BaseWalk<'a> {
    fn new(order: &'a SortOrder, sort: Sort) -> BaseWalk<'a> {
        let present = order.present;
        let (cursor, group_start, group_end) = match sort.order {
            Order::Asc => (0, 0, 0),
            Order::Desc => (present, present, present),
        };
        BaseWalk { order, sort, cursor, group_start, group_end, tail: present }
    }

    /// A walk that passes over about the first `skip` members (as `member` says) in a tight loop,
    /// with how many it passed: descending, it stops at the start of the group of equal keys the
    /// `skip`th member is in, since a group is walked forward.
    fn past(order: &'a SortOrder, sort: Sort, skip: u64, member: impl Fn(u32) -> bool) -> (BaseWalk<'a>, u64) {
        let mut walk = BaseWalk::new(order, sort);
        let counts = |slot: u32| !order.is_stale(slot) && member(slot);
        let base = &order.base;
        let mut counted = 0u64;
        if sort.order == Order::Asc {
            while walk.cursor < base.len() && counted < skip {
                counted += u64::from(counts(base[walk.cursor]));
                walk.cursor += 1;
            }
            return (walk, counted);
        }
        // Members at or after the current group's start; `before` those after its end.
        let (mut before, mut group_end) = (0, order.present);
        for position in (0..order.present).rev() {
            counted += u64::from(counts(base[position]));
            if order.starts_group(position) {
                if counted > skip {
                    (walk.cursor, walk.group_start, walk.group_end) = (position, position, group_end);
                    return (walk, before);
                }
                (before, group_end) = (counted, position);
            }
        }
        // Every user with the key passed: the walk goes on with those lacking it.
        (walk.cursor, walk.group_start, walk.group_end) = (0, 0, 0);
        (walk, counted)
    }

    fn next(&mut self) -> Option<u32> {
        let base = &self.order.base;
        if self.sort.order == Order::Asc {
            while self.cursor < base.len() {
                let slot = base[self.cursor];
                self.cursor += 1;
                if !self.order.is_stale(slot) {
                    return Some(slot);
                }
            }
            return None;
        }
        loop {
            if self.cursor < self.group_end {
                let slot = base[self.cursor];
                self.cursor += 1;
                if !self.order.is_stale(slot) {
                    return Some(slot);
                }
                continue;
            }
            if self.group_start == 0 {
                break;
            }
            let end = self.group_start;
            let mut start = end - 1;
            while !self.order.starts_group(start) {
                start -= 1;
            }
            self.group_start = start;
            self.cursor = start;
            self.group_end = end;
        }
        while self.tail < base.len() {
            let slot = base[self.tail];
            self.tail += 1;
            if !self.order.is_stale(slot) {
                return Some(slot);
            }
        }
        None
    }
}
