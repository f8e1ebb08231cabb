//! The per-workspace in-memory engine: evaluates filters, counts exactly, sorts and pages.
//!
//! It holds only what filtering and sorting need; the user documents live in the store. Filters
//! are answered as roaring-bitmap algebra over per-value bitmaps (`index`), text through a trigram
//! index verified against the folded text (`text`), pages by walking presorted orders (`order`).
//! Every committed write updates it in place (`upsert`, `remove`); a cold start builds it in bulk
//! (`Builder`), each bitmap and order once.

mod bits;
mod build;
mod compile;
mod identities;
mod index;
mod interner;
mod order;
mod row;
#[cfg(test)]
mod scan;
mod snapshot;
mod sort;
#[cfg(test)]
mod tests;
mod text;
mod timeline;

use std::collections::{BTreeMap, HashMap};

use parking_lot::RwLock;
use roaring::RoaringBitmap;

use crate::domain::{Id, Timestamp};
use crate::model::{User, UserActivity};
use crate::query::{Filter, Order, Sort, SortKey};
use bits::Members;
pub use build::{BackgroundBuilder, Builder};
use compile::{compile, Compiled, Context};
use identities::Key;
pub use identities::{Identities, Keys};
use index::{Eval, Index};
use interner::{FastMap, Names};
use order::SortOrder;
use row::{Row, Texts};
pub use snapshot::{read_engine, read_header, write as write_snapshot, Header as SnapshotHeader, SnapshotError};
use sort::compare_key;

/// One page of a query's result.
pub struct Page {
    pub total: u64,
    /// The users of the page, in order, each with the segments it matches now.
    pub users: Vec<(Id, Vec<Id>)>,
}

/// Bytes the engine holds in memory, by part (allocator overhead not counted).
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    pub users: usize,
    /// Per-value bitmaps and day-bucketed timelines.
    pub bitmaps: usize,
    /// The text arena and its trigram index.
    pub text: usize,
    /// The presorted orders.
    pub orders: usize,
    /// One compact row per user (the columns sorting and exact checks read), the id map and the
    /// dictionaries of repeated values.
    pub rows: usize,
    /// The identity lookups (uuid, email, phone...) used by imports and events.
    pub identities: usize,
}

impl Memory {
    /// The index proper: bitmaps, text index and orders.
    pub fn index(&self) -> usize {
        self.bitmaps + self.text + self.orders
    }

    pub fn total(&self) -> usize {
        self.index() + self.rows + self.identities
    }
}

/// The moment and presence window a query is evaluated at.
#[derive(Clone, Copy)]
pub struct Clock {
    pub now: Timestamp,
    pub window_ms: i64,
}

const SORT_KEYS: [SortKey; 5] =
    [SortKey::CreatedAt, SortKey::UpdatedAt, SortKey::LastSeenAt, SortKey::LastMessageAt, SortKey::Name];

fn key_index(by: SortKey) -> usize {
    match by {
        SortKey::CreatedAt => 0,
        SortKey::UpdatedAt => 1,
        SortKey::LastSeenAt => 2,
        SortKey::LastMessageAt => 3,
        SortKey::Name => 4,
    }
}

#[cfg(test)]
thread_local! {
    static FORCE_WALK: std::cell::Cell<Option<bool>> = const { std::cell::Cell::new(None) };
}

/// Tests pick the paging path (walk the order, or collect and sort) to check both give the same answer.
#[cfg(test)]
pub fn force_walk(walk: Option<bool>) {
    FORCE_WALK.with(|f| f.set(walk));
}

fn should_walk(total: u64, walk_cost: f64, sort_cost: f64) -> bool {
    #[cfg(test)]
    if let Some(walk) = FORCE_WALK.with(|f| f.get()) {
        return walk;
    }
    total > 1024 && walk_cost < sort_cost
}

pub struct Engine {
    /// By slot, the dense internal id; a removed user's slot holds a vacant row until reused.
    rows: Vec<Row>,
    vacant: Vec<u32>,
    slots: FastMap<Id, u32>,
    /// By slot, the hashed identity keys the user is known by.
    keys_of: Vec<Box<[Key]>>,
    identities: Identities,
    names: Names,
    /// How many users hold each attribute key (lower-cased), with the key as first seen.
    attribute_keys: BTreeMap<String, (String, usize)>,
    segments: HashMap<Id, Filter>,
    /// Segment ids in creation order, as users list them.
    segment_order: Vec<Id>,
    index: Index,
    /// One per sort key; queries merge pending changes in under the lock's write side.
    orders: [RwLock<SortOrder>; 5],
}

impl Default for Engine {
    fn default() -> Engine {
        Engine {
            rows: Vec::new(),
            vacant: Vec::new(),
            slots: FastMap::default(),
            keys_of: Vec::new(),
            identities: Identities::default(),
            names: Names::default(),
            attribute_keys: BTreeMap::new(),
            segments: HashMap::new(),
            segment_order: Vec::new(),
            index: Index::default(),
            orders: SORT_KEYS.map(|by| RwLock::new(SortOrder::new(by))),
        }
    }
}

impl Engine {
    pub fn new() -> Engine {
        Engine::default()
    }

    /// Live users (DELETED status included: only queries hide them).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn contains(&self, id: Id) -> bool {
        self.slots.contains_key(&id)
    }

    pub fn identities(&self) -> &Identities {
        &self.identities
    }

    /// Builds the engine of these users in bulk (see `Builder`).
    pub fn build(users: impl IntoIterator<Item = User>) -> Engine {
        let mut builder = Builder::new();
        for user in users {
            builder.add(&user);
        }
        builder.finish()
    }

    fn count_attributes(&mut self, user: &User) {
        for attribute in &user.profile.attributes {
            let key = row::lower(&attribute.key);
            match self.attribute_keys.get_mut(key.as_ref()) {
                Some(entry) => entry.1 += 1,
                None => {
                    self.attribute_keys.insert(key.into_owned(), (attribute.key.clone(), 1));
                }
            }
        }
    }

    /// Adds or replaces a user from its committed document, moving it between bitmaps.
    pub fn upsert(&mut self, user: &User) {
        self.forget_attributes(user.id);
        let row = Row::from_user(user, &mut self.names);
        self.count_attributes(user);
        let texts = Texts::of(user);
        let slot = match self.slots.get(&user.id) {
            Some(slot) => {
                let slot = *slot;
                self.replace_row(slot, row);
                slot
            }
            None => {
                let slot = match self.vacant.pop() {
                    Some(slot) => {
                        self.rows[slot as usize] = row;
                        slot
                    }
                    None => {
                        self.rows.push(row);
                        (self.rows.len() - 1) as u32
                    }
                };
                self.slots.insert(user.id, slot);
                for order in &mut self.orders {
                    order.get_mut().touch(slot);
                }
                self.index.add(slot, &self.rows[slot as usize]);
                slot
            }
        };
        if self.index.text.differs(slot, &texts) {
            self.index.text.set(slot, &texts);
        }
        let keys = Keys::hashed_of(user);
        if self.keys_of.len() <= slot as usize {
            self.keys_of.resize_with(slot as usize + 1, Default::default);
        }
        let old = &self.keys_of[slot as usize];
        if *old != keys {
            self.identities.remove_hashed(user.id, old);
            self.identities.add_hashed(user.id, &keys);
            self.keys_of[slot as usize] = keys;
        }
    }

    /// Updates a user of whom only the activity (what events change: times, presence, orders, last
    /// message, unread, live chat) changed since its last `upsert`: its texts, identities and
    /// attributes are not looked at again. A user the engine does not hold is upserted whole.
    pub fn upsert_activity(&mut self, user: &User) {
        let Some(&slot) = self.slots.get(&user.id) else { return self.upsert(user) };
        self.set_activity(slot, user);
    }

    /// Applies events to a user the engine holds, from the activity its row holds (a store that
    /// defers activity committed them without the user's document); others are left alone.
    pub fn apply_activity(&mut self, id: Id, activity: &UserActivity) {
        let Some(&slot) = self.slots.get(&id) else { return };
        let row = &self.rows[slot as usize];
        let mut user = User::new(id, Timestamp(row.created_at));
        row.activity_into(&mut user);
        activity.apply(&mut user);
        self.set_activity(slot, &user);
    }

    fn set_activity(&mut self, slot: u32, user: &User) {
        // Tags, attributes and name stay: the bitmaps and orders are moved by the other fields alone.
        let row = &mut self.rows[slot as usize];
        let before = row.scalars();
        row.set_activity(user);
        let after = row.scalars();
        self.reindex(slot, &before, &after);
    }

    /// Puts a changed row in place of the one at `slot`.
    fn replace_row(&mut self, slot: u32, row: Row) {
        let old = std::mem::replace(&mut self.rows[slot as usize], Row::vacant());
        self.reindex(slot, &old, &row);
        self.rows[slot as usize] = row;
    }

    /// Moves a slot from the bitmaps of `old`'s values to those of `new`'s where they differ, and
    /// out of the orders whose key changed.
    fn reindex(&mut self, slot: u32, old: &Row, new: &Row) {
        self.index.update(slot, old, new);
        for (order, by) in self.orders.iter_mut().zip(SORT_KEYS) {
            let sort = Sort { by, order: Order::Asc };
            if compare_key(old, new, sort) != std::cmp::Ordering::Equal {
                order.get_mut().touch(slot);
            }
        }
    }

    /// Erases a user: out of every bitmap and order; its slot is reused by a later user.
    pub fn remove(&mut self, id: Id) {
        self.forget_attributes(id);
        if let Some(slot) = self.slots.remove(&id) {
            let row = std::mem::replace(&mut self.rows[slot as usize], Row::vacant());
            self.index.remove(slot, &row);
            self.index.text.remove(slot);
            for order in &mut self.orders {
                order.get_mut().touch(slot);
            }
            self.vacant.push(slot);
            if let Some(keys) = self.keys_of.get_mut(slot as usize) {
                self.identities.remove_hashed(id, &std::mem::take(keys));
            }
        }
    }

    fn forget_attributes(&mut self, id: Id) {
        let Some(slot) = self.slots.get(&id) else { return };
        let row = &self.rows[*slot as usize];
        for (key, _) in row.attributes.iter() {
            let name = self.names.keys.name(*key);
            if let Some(entry) = self.attribute_keys.get_mut(name) {
                entry.1 -= 1;
                if entry.1 == 0 {
                    self.attribute_keys.remove(name);
                }
            }
        }
    }

    /// Every attribute key some user holds, sorted (for export columns).
    pub fn attribute_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.attribute_keys.values().map(|(key, _)| key.clone()).collect();
        keys.sort();
        keys
    }

    /// Replaces the segment definitions (in creation order).
    pub fn set_segments(&mut self, segments: Vec<(Id, Filter)>) {
        self.segment_order = segments.iter().map(|(id, _)| *id).collect();
        self.segments = segments.into_iter().collect();
    }

    pub fn has_segment(&self, id: Id) -> bool {
        self.segments.contains_key(&id)
    }

    fn compile(&self, filter: &Filter, clock: Clock) -> Compiled {
        let cx = Context { names: &self.names, segments: &self.segments, now: clock.now, window_ms: clock.window_ms };
        compile(filter, &cx)
    }

    fn eval(&self) -> Eval<'_> {
        Eval { index: &self.index, rows: &self.rows, values: &self.names.values }
    }

    fn matching(&self, filter: &Filter, clock: Clock) -> RoaringBitmap {
        self.eval().eval(&self.compile(filter, clock), None)
    }

    /// The exact number of matching users.
    pub fn count(&self, filter: &Filter, clock: Clock) -> u64 {
        self.matching(filter, clock).len()
    }

    /// Whether some presorted order has so many pending changes that a query would merge them.
    pub fn orders_need_merge(&self) -> bool {
        self.orders.iter().any(|order| order.read().needs_merge())
    }

    /// Changes waiting to be merged into the presorted orders, all orders together.
    pub fn unmerged_order_changes(&self) -> usize {
        self.orders.iter().map(|order| order.read().unmerged()).sum()
    }

    /// Merges the pending changes of one order that has many; false when none has.
    pub fn merge_one_order(&self) -> bool {
        let Some(order) = self.orders.iter().find(|order| order.read().needs_merge()) else { return false };
        order.write().merge(&self.rows);
        true
    }

    /// The members of a result from the `skip`th to the `end`th in the presorted order of `sort`,
    /// merging pending changes into the order first if many.
    fn walk_page(&self, sort: Sort, skip: u64, end: u64, member: impl Fn(u32) -> bool) -> Vec<u32> {
        let lock = &self.orders[key_index(sort.by)];
        let needs_merge = lock.read().needs_merge();
        if needs_merge {
            lock.write().merge(&self.rows);
        }
        lock.read().page(&self.rows, sort.order, skip, end, member)
    }

    /// The first `end` matching slots in sort order, skipping the first `skip`.
    fn sorted_slice(&self, result: &RoaringBitmap, sort: Sort, skip: u64, end: u64) -> Vec<u32> {
        let total = result.len();
        let live = self.index.universe.len().max(1);
        // Walking the order visits about end * live / total users; collecting sorts total of them.
        let walk_cost = end as f64 * live as f64 / total.max(1) as f64;
        let sort_cost = total as f64 * (total.max(2) as f64).log2() / 4.0;
        if should_walk(total, walk_cost, sort_cost) {
            let members = Members::of(result, self.rows.len() as u32, walk_cost);
            self.walk_page(sort, skip, end, |slot| members.contains(slot))
        } else {
            let mut slots: Vec<u32> = result.iter().collect();
            let end = end as usize;
            sort::sort_prefix(&self.rows, &mut slots, sort, end);
            slots.truncate(end);
            slots.drain(..skip as usize);
            slots
        }
    }

    /// One page of matching users in sort order, with the exact total.
    pub fn search(&self, filter: &Filter, sort: Sort, page: u64, limit: u64, clock: Clock) -> Page {
        let result = self.matching(filter, clock);
        let total = result.len();
        let offset = page.saturating_sub(1).saturating_mul(limit);
        if offset >= total {
            return Page { total, users: Vec::new() };
        }
        let end = offset.saturating_add(limit).min(total);
        let slots = self.sorted_slice(&result, sort, offset, end);
        let users = self.with_segments(&slots, clock);
        Page { total, users }
    }

    /// Every matching user in sort order (for export).
    pub fn all_sorted(&self, filter: &Filter, sort: Sort, clock: Clock) -> Vec<Id> {
        let result = self.matching(filter, clock);
        let slots = self.sorted_slice(&result, sort, 0, result.len());
        slots.iter().map(|slot| self.rows[*slot as usize].id).collect()
    }

    /// The users of these slots, each with the segments it matches now: each segment compiled
    /// once, then tested on each user.
    fn with_segments(&self, slots: &[u32], clock: Clock) -> Vec<(Id, Vec<Id>)> {
        let eval = self.eval();
        let segments: Vec<(Id, Compiled)> =
            self.segment_order.iter().map(|id| (*id, self.compile(&Filter::Segment(*id), clock))).collect();
        slots
            .iter()
            .map(|slot| {
                let matched = segments.iter().filter(|(_, segment)| eval.holds(segment, *slot)).map(|(id, _)| *id);
                (self.rows[*slot as usize].id, matched.collect())
            })
            .collect()
    }

    /// The segments a user matches now.
    pub fn segments_of(&self, id: Id, clock: Clock) -> Vec<Id> {
        match self.slots.get(&id) {
            Some(slot) => self.with_segments(&[*slot], clock).pop().map(|(_, s)| s).unwrap_or_default(),
            None => Vec::new(),
        }
    }

    /// What the engine holds in memory, by part.
    pub fn memory(&self) -> Memory {
        let rows = self.rows.capacity() * std::mem::size_of::<Row>()
            + self.rows.iter().map(Row::heap_bytes).sum::<usize>()
            + self.slots.capacity() * (std::mem::size_of::<(Id, u32)>() + 1)
            + self.vacant.capacity() * 4
            + self.names.heap_bytes();
        let orders = self.orders.iter().map(|o| o.read().heap_bytes()).sum::<usize>();
        let keys_of = self.keys_of.capacity() * std::mem::size_of::<Box<[Key]>>()
            + self.keys_of.iter().map(|keys| keys.len() * std::mem::size_of::<Key>()).sum::<usize>();
        Memory {
            users: self.slots.len(),
            bitmaps: self.index.heap_bytes(),
            text: self.index.text.heap_bytes(),
            orders,
            rows,
            identities: keys_of + self.identities.heap_bytes(),
        }
    }
}
