//! The bitmap index of one workspace: a roaring bitmap per value of every set-like field, day-bucketed
//! timelines, the text index, and filters evaluated over them as bitmap algebra.

use roaring::RoaringBitmap;

use super::compile::Compiled;
use super::interner::{FastMap, Interner};
use super::row::{Row, CONTACT, INTERACTED, LIVE_CHAT, SUBSCRIBER};
use super::text::TextIndex;
use super::timeline::{self, Timeline};
use crate::domain::{Sender, Timestamp};

const FLAGS: [u8; 4] = [CONTACT, INTERACTED, LIVE_CHAT, SUBSCRIBER];

/// Up to this many candidates, a union of value bitmaps is answered by membership tests.
const PROBE: u64 = if cfg!(test) { 3 } else { 256 };

fn sender_index(sender: Sender) -> usize {
    match sender {
        Sender::User => 0,
        Sender::Bot => 1,
        Sender::Agent => 2,
    }
}

fn bitmap_in(map: &mut FastMap<u32, RoaringBitmap>, key: u32) -> &mut RoaringBitmap {
    map.entry(key).or_default()
}

fn take_out(map: &mut FastMap<u32, RoaringBitmap>, key: &u32, slot: u32) {
    if let Some(bitmap) = map.get_mut(key) {
        bitmap.remove(slot);
        if bitmap.is_empty() {
            map.remove(key);
        }
    }
}

trait Put {
    fn put(&mut self, slot: u32);
}

impl Put for RoaringBitmap {
    /// Inserts. Not `try_push`, though new users take the highest slot: a push onto a bitmap
    /// container first finds its maximum by scanning up to 1,024 words from the top.
    fn put(&mut self, slot: u32) {
        self.insert(slot);
    }
}

fn at(list: &mut Vec<RoaringBitmap>, index: u32) -> &mut RoaringBitmap {
    let index = index as usize;
    if list.len() <= index {
        list.resize_with(index + 1, RoaringBitmap::new);
    }
    &mut list[index]
}

/// The timestamp fields kept as timelines.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timed {
    Created,
    LastSeen,
    LastOrder,
    Online,
}

/// One bitmap of the index, named by what its users share.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Universe,
    Tag(u32),
    Tagged,
    Status(u32),
    Bot(u8, u32),
    Platform(u8),
    Agent(u32),
    Unassigned,
    LastMessageBy(u8),
    /// By position in `FLAGS`.
    Flag(u8),
    Ordered,
    AttributeKey(u32),
    AttributeValue(u32, u32),
    /// A day of a timeline.
    Day(Timed, i64),
}

/// Every bitmap a user of this row belongs in.
pub fn targets(row: &Row, mut visit: impl FnMut(Target)) {
    visit(Target::Universe);
    for tag in row.tags.iter() {
        visit(Target::Tag(*tag));
    }
    if !row.tags.is_empty() {
        visit(Target::Tagged);
    }
    visit(Target::Status(row.status));
    for (platform, bot) in row.bots.iter().enumerate() {
        if *bot != 0 {
            visit(Target::Bot(platform as u8, *bot));
            visit(Target::Platform(platform as u8));
        }
    }
    match row.agent {
        0 => visit(Target::Unassigned),
        agent => visit(Target::Agent(agent)),
    }
    if let Some(by) = row.last_message_by {
        visit(Target::LastMessageBy(sender_index(by) as u8));
    }
    for (position, flag) in FLAGS.iter().enumerate() {
        if row.has(*flag) {
            visit(Target::Flag(position as u8));
        }
    }
    if row.order_count > 0 {
        visit(Target::Ordered);
        if let Some(last) = row.last_order_at() {
            visit(Target::Day(Timed::LastOrder, timeline::day(last)));
        }
    }
    for (key, value) in row.attributes.iter() {
        visit(Target::AttributeKey(*key));
        visit(Target::AttributeValue(*key, *value));
    }
    visit(Target::Day(Timed::Created, timeline::day(row.created_at)));
    if let Some(seen) = row.last_seen_at() {
        visit(Target::Day(Timed::LastSeen, timeline::day(seen)));
    }
    if let Some(at) = row.online_at() {
        visit(Target::Day(Timed::Online, timeline::day(at)));
    }
}

#[derive(Default)]
pub struct Index {
    /// Every live user (DELETED status included).
    pub universe: RoaringBitmap,
    /// By interned lower-cased tag.
    pub(super) tags: Vec<RoaringBitmap>,
    pub(super) tagged: RoaringBitmap,
    /// By interned status.
    pub(super) statuses: Vec<RoaringBitmap>,
    /// By platform, then bot number.
    pub(super) bots: [FastMap<u32, RoaringBitmap>; 4],
    pub(super) platforms: [RoaringBitmap; 4],
    /// By agent number.
    pub(super) agents: FastMap<u32, RoaringBitmap>,
    pub(super) unassigned: RoaringBitmap,
    /// By who sent the last message: user, bot, agent.
    pub(super) last_message_by: [RoaringBitmap; 3],
    /// In the order of `FLAGS`.
    pub(super) flags: [RoaringBitmap; 4],
    pub(super) ordered: RoaringBitmap,
    /// By interned lower-cased key.
    pub(super) attribute_keys: Vec<RoaringBitmap>,
    /// By interned key, then interned lower-cased value text.
    pub(super) attribute_values: Vec<FastMap<u32, RoaringBitmap>>,
    pub(super) created: Timeline,
    pub(super) last_seen: Timeline,
    /// Users with an order, by the latest order's time.
    pub(super) last_order: Timeline,
    /// Users whose latest presence signal is online, by its time.
    pub(super) online_signal: Timeline,
    pub text: TextIndex,
}

/// What evaluation reads besides the index: the rows, for exact times on edge days, and the
/// attribute value texts, for containment.
pub struct Eval<'a> {
    pub index: &'a Index,
    pub rows: &'a [Row],
    pub values: &'a Interner,
}

impl Index {
    /// Adds a user (its row without the texts, which go to `text` separately) under `slot`.
    pub fn add(&mut self, slot: u32, row: &Row) {
        targets(row, |target| self.put(target, slot));
    }

    /// Moves a user from the bitmaps of its old row to those of its new one. Only the bitmaps that
    /// differ are touched: a write changes a field or two, and a removal from a roaring bitmap
    /// (a search, then a shift of its array container) costs far more than comparing targets.
    pub fn update(&mut self, slot: u32, old: &Row, new: &Row) {
        let mut before = Vec::with_capacity(32);
        targets(old, |target| before.push(target));
        let mut after = Vec::with_capacity(32);
        targets(new, |target| after.push(target));
        for target in before.iter().filter(|t| !after.contains(t)) {
            self.take(*target, slot);
        }
        for target in after.iter().filter(|t| !before.contains(t)) {
            self.put(*target, slot);
        }
    }

    fn put(&mut self, target: Target, slot: u32) {
        match (target, self.bitmap(target)) {
            (_, Some(bitmap)) => bitmap.put(slot),
            (Target::Day(timed, day), None) => self.timeline(timed).insert(slot, day),
            (_, None) => {}
        }
    }

    /// Takes a user out of the bitmap a target names, dropping a keyed bitmap left empty.
    fn take(&mut self, target: Target, slot: u32) {
        let in_list = |list: &mut Vec<RoaringBitmap>, index: u32| {
            if let Some(bitmap) = list.get_mut(index as usize) {
                bitmap.remove(slot);
            }
        };
        match target {
            Target::Universe => _ = self.universe.remove(slot),
            Target::Tag(tag) => in_list(&mut self.tags, tag),
            Target::Tagged => _ = self.tagged.remove(slot),
            Target::Status(status) => in_list(&mut self.statuses, status),
            Target::Bot(platform, bot) => take_out(&mut self.bots[platform as usize], &bot, slot),
            Target::Platform(platform) => _ = self.platforms[platform as usize].remove(slot),
            Target::Agent(agent) => take_out(&mut self.agents, &agent, slot),
            Target::Unassigned => _ = self.unassigned.remove(slot),
            Target::LastMessageBy(by) => _ = self.last_message_by[by as usize].remove(slot),
            Target::Flag(position) => _ = self.flags[position as usize].remove(slot),
            Target::Ordered => _ = self.ordered.remove(slot),
            Target::AttributeKey(key) => in_list(&mut self.attribute_keys, key),
            Target::AttributeValue(key, value) => {
                if let Some(values) = self.attribute_values.get_mut(key as usize) {
                    take_out(values, &value, slot);
                }
            }
            Target::Day(timed, day) => self.timeline(timed).remove_on(slot, day),
        }
    }

    /// Appends runs of slots, each above every slot already in its bitmap (the bulk build).
    pub fn append(&mut self, runs: impl Iterator<Item = (Target, Vec<u32>)>) {
        let mut days: FastMap<Timed, Vec<(i64, Vec<u32>)>> = FastMap::default();
        for (target, slots) in runs {
            let Some(bitmap) = self.bitmap(target) else {
                if let Target::Day(timed, day) = target {
                    days.entry(timed).or_default().push((day, slots));
                }
                continue;
            };
            // `append` finds the bitmap's maximum once per run, not once per slot as `push` does;
            // it refuses runs that are not above it, which the bulk build never hands it.
            if bitmap.append(slots.iter().copied()).is_err() {
                slots.into_iter().for_each(|slot| bitmap.put(slot));
            }
        }
        for (timed, runs) in days {
            self.timeline(timed).append(runs);
        }
    }

    fn timeline(&mut self, timed: Timed) -> &mut Timeline {
        match timed {
            Timed::Created => &mut self.created,
            Timed::LastSeen => &mut self.last_seen,
            Timed::LastOrder => &mut self.last_order,
            Timed::Online => &mut self.online_signal,
        }
    }

    /// The bitmap a target names, created empty if needed; None for a day, which its timeline
    /// keeps together with the spans above it.
    fn bitmap(&mut self, target: Target) -> Option<&mut RoaringBitmap> {
        Some(match target {
            Target::Universe => &mut self.universe,
            Target::Tag(tag) => at(&mut self.tags, tag),
            Target::Tagged => &mut self.tagged,
            Target::Status(status) => at(&mut self.statuses, status),
            Target::Bot(platform, bot) => bitmap_in(&mut self.bots[platform as usize], bot),
            Target::Platform(platform) => &mut self.platforms[platform as usize],
            Target::Agent(agent) => bitmap_in(&mut self.agents, agent),
            Target::Unassigned => &mut self.unassigned,
            Target::LastMessageBy(by) => &mut self.last_message_by[by as usize],
            Target::Flag(position) => &mut self.flags[position as usize],
            Target::Ordered => &mut self.ordered,
            Target::AttributeKey(key) => at(&mut self.attribute_keys, key),
            Target::AttributeValue(key, value) => {
                let index = key as usize;
                if self.attribute_values.len() <= index {
                    self.attribute_values.resize_with(index + 1, FastMap::default);
                }
                self.attribute_values[index].entry(value).or_default()
            }
            Target::Day(..) => return None,
        })
    }

    /// Takes a user out of every bitmap its row put it in (its texts stay: `text` is separate).
    pub fn remove(&mut self, slot: u32, row: &Row) {
        targets(row, |target| self.take(target, slot));
    }

    pub fn heap_bytes(&self) -> usize {
        let size = |b: &RoaringBitmap| b.serialized_size() + std::mem::size_of::<RoaringBitmap>();
        let lists = self.tags.iter().chain(&self.statuses).chain(&self.attribute_keys).map(size).sum::<usize>();
        let maps =
            self.bots.iter().chain(std::iter::once(&self.agents)).flat_map(|m| m.values()).map(size).sum::<usize>();
        let values = self.attribute_values.iter().flat_map(|m| m.values()).map(|b| size(b) + 4).sum::<usize>();
        let singles = [&self.universe, &self.tagged, &self.unassigned, &self.ordered]
            .into_iter()
            .chain(&self.platforms)
            .chain(&self.last_message_by)
            .chain(&self.flags)
            .map(size)
            .sum::<usize>();
        let timelines = [&self.created, &self.last_seen, &self.last_order, &self.online_signal]
            .iter()
            .map(|t| t.heap_bytes())
            .sum::<usize>();
        lists + maps + values + singles + timelines
    }
}

/// How expensive a condition is to evaluate, so `And` narrows with the cheap ones first.
fn cost(filter: &Compiled) -> u8 {
    match filter {
        Compiled::Const(_) => 0,
        Compiled::TagIn(_)
        | Compiled::StatusIn(_)
        | Compiled::HasAnyTag
        | Compiled::BotIn(_)
        | Compiled::HasPlatform(_)
        | Compiled::AgentIn { .. }
        | Compiled::LastMessageBy(_)
        | Compiled::Flag(_)
        | Compiled::AttributeIs { .. }
        | Compiled::AttributeExists(_)
        | Compiled::Ordered { since: None } => 1,
        Compiled::LastSeen(_) | Compiled::Created(_) | Compiled::Online { .. } | Compiled::Ordered { .. } => 2,
        Compiled::Not(inner) => cost(inner).max(2),
        Compiled::And(parts) | Compiled::Or(parts) => parts.iter().map(cost).max().unwrap_or(0).max(2),
        Compiled::Text(_) | Compiled::AttributeContains { .. } => 4,
    }
}

impl Eval<'_> {
    /// The bitmaps whose union answers a value condition (None for any other condition): the one
    /// mapping `eval`, `size` and `Not` share.
    fn value_bitmaps(&self, filter: &Compiled) -> Option<Vec<&RoaringBitmap>> {
        let index = self.index;
        Some(match filter {
            Compiled::TagIn(tags) => tags.iter().filter_map(|t| index.tags.get(*t as usize)).collect(),
            Compiled::StatusIn(statuses) => statuses.iter().filter_map(|s| index.statuses.get(*s as usize)).collect(),
            Compiled::HasAnyTag => vec![&index.tagged],
            Compiled::BotIn(bots) => {
                bots.iter().filter_map(|(platform, bot)| index.bots[platform.index()].get(bot)).collect()
            }
            Compiled::HasPlatform(platform) => vec![&index.platforms[platform.index()]],
            Compiled::AgentIn { agents, unassigned } => {
                let mut bitmaps: Vec<&RoaringBitmap> = agents.iter().filter_map(|a| index.agents.get(a)).collect();
                if *unassigned {
                    bitmaps.push(&index.unassigned);
                }
                bitmaps
            }
            Compiled::LastMessageBy(senders) => {
                let mut seen = [false; 3];
                senders.iter().for_each(|s| seen[sender_index(*s)] = true);
                index.last_message_by.iter().zip(seen).filter(|(_, s)| *s).map(|(b, _)| b).collect()
            }
            Compiled::Flag(flag) => FLAGS.iter().position(|f| f == flag).map(|p| &index.flags[p]).into_iter().collect(),
            Compiled::Ordered { since: None } => vec![&index.ordered],
            Compiled::AttributeIs { key, value } => {
                index.attribute_values.get(*key as usize).and_then(|values| values.get(value)).into_iter().collect()
            }
            Compiled::AttributeExists(key) => index.attribute_keys.get(*key as usize).into_iter().collect(),
            Compiled::AttributeContains { key, value } => match index.attribute_values.get(*key as usize) {
                Some(values) => values
                    .iter()
                    .filter(|(v, _)| self.values.name(**v).contains(value.as_str()))
                    .map(|(_, bitmap)| bitmap)
                    .collect(),
                None => Vec::new(),
            },
            _ => return None,
        })
    }

    /// How many users a condition holds at most (u64::MAX when not known without evaluating), so
    /// `And` starts from the narrowest and each later part works within less.
    fn size(&self, filter: &Compiled) -> u64 {
        self.value_bitmaps(filter).map_or(u64::MAX, |bitmaps| bitmaps.iter().map(|b| b.len()).sum())
    }

    /// Whether one live user matches: what `eval` answers for a set holding only it, without
    /// building sets (the segments of a page's users are a few conditions on a few users).
    pub fn holds(&self, filter: &Compiled, slot: u32) -> bool {
        let row = &self.rows[slot as usize];
        let within = |range: &crate::query::Range, at: Option<i64>| at.is_some_and(|at| range.contains(Timestamp(at)));
        match filter {
            Compiled::Const(value) => *value,
            Compiled::And(parts) => parts.iter().all(|part| self.holds(part, slot)),
            Compiled::Or(parts) => parts.iter().any(|part| self.holds(part, slot)),
            Compiled::Not(inner) => !self.holds(inner, slot),
            Compiled::Text(search) => self.index.text.matches(search, slot),
            Compiled::LastSeen(range) => within(range, row.last_seen_at()),
            Compiled::Created(range) => within(range, Some(row.created_at)),
            Compiled::Online { now, window_ms } => {
                row.online_at().is_some_and(|at| i128::from(at) > i128::from(*now) - i128::from(*window_ms))
            }
            Compiled::Ordered { since: Some(since) } => {
                self.index.ordered.contains(slot) && row.last_order_at().is_some_and(|at| at >= since.0)
            }
            Compiled::AttributeContains { key, value } => {
                row.attributes.iter().any(|(k, v)| k == key && self.values.name(*v).contains(value.as_str()))
            }
            _ => self.value_bitmaps(filter).unwrap_or_default().iter().any(|bitmap| bitmap.contains(slot)),
        }
    }

    /// Exactly the users of `within` (every live user when None) that match.
    pub fn eval(&self, filter: &Compiled, within: Option<&RoaringBitmap>) -> RoaringBitmap {
        let index = self.index;
        let base = || within.unwrap_or(&index.universe);
        let union = |bitmaps: Vec<&RoaringBitmap>| match within {
            // A page's worth of candidates is cheaper to look up one by one than whole bitmaps to merge.
            Some(within) if within.len() <= PROBE => {
                RoaringBitmap::from_sorted_iter(within.iter().filter(|slot| bitmaps.iter().any(|b| b.contains(*slot))))
                    .unwrap_or_default()
            }
            Some(within) => match bitmaps.as_slice() {
                [one] => *one & within,
                _ => &roaring::MultiOps::union(bitmaps) & within,
            },
            None => roaring::MultiOps::union(bitmaps),
        };
        match filter {
            Compiled::Const(true) => base().clone(),
            Compiled::Const(false) => RoaringBitmap::new(),
            Compiled::And(parts) => {
                let mut parts: Vec<&Compiled> = parts.iter().collect();
                parts.sort_by_cached_key(|p| (cost(p), self.size(p)));
                // A Not of values that keeps most users (not DELETED) narrows little: subtracted
                // last from what the other parts found, it spares copying most of the workspace.
                let base_len = base().len();
                let keeps_most = |part: &&Compiled| match part {
                    Compiled::Not(inner) => self.size(inner).saturating_mul(2) < base_len,
                    _ => false,
                };
                if !parts.iter().all(keeps_most) {
                    let (narrowing, subtracted): (Vec<&Compiled>, Vec<&Compiled>) =
                        parts.into_iter().partition(|part| !keeps_most(part));
                    parts = narrowing.into_iter().chain(subtracted).collect();
                }
                let mut found: Option<RoaringBitmap> = None;
                for part in parts {
                    let narrowed = self.eval(part, found.as_ref().or(within));
                    if narrowed.is_empty() {
                        return narrowed;
                    }
                    found = Some(narrowed);
                }
                found.unwrap_or_else(|| base().clone())
            }
            Compiled::Or(parts) => {
                // The value conditions among the parts are one union, narrowed to `within` once.
                let mut bitmaps = Vec::new();
                let mut found = RoaringBitmap::new();
                for part in parts {
                    match self.value_bitmaps(part) {
                        Some(mut more) => bitmaps.append(&mut more),
                        None => found |= self.eval(part, within),
                    }
                }
                found |= union(bitmaps);
                found
            }
            Compiled::Not(inner) => {
                let base = base();
                // One value bitmap is subtracted as it is, without first narrowing a copy to the base.
                match self.value_bitmaps(inner).as_deref() {
                    Some([excluded]) => base - *excluded,
                    _ => base - self.eval(inner, Some(base)),
                }
            }
            Compiled::Text(search) => index.text.search(search, base()),
            Compiled::LastSeen(range) => {
                index.last_seen.select(range.start.map(|t| t.0), range.end.map(|t| t.0), within, |slot| {
                    self.rows[slot as usize].last_seen_at()
                })
            }
            Compiled::Created(range) => {
                index.created.select(range.start.map(|t| t.0), range.end.map(|t| t.0), within, |slot| {
                    Some(self.rows[slot as usize].created_at)
                })
            }
            Compiled::Online { now, window_ms } => {
                // Online: now - at < window, that is at >= now - window + 1.
                let start = i64::try_from(i128::from(*now) - i128::from(*window_ms) + 1).ok();
                if start.is_none() && i128::from(*now) - i128::from(*window_ms) + 1 > 0 {
                    return RoaringBitmap::new();
                }
                index.online_signal.select(start, None, within, |slot| self.rows[slot as usize].online_at())
            }
            Compiled::Ordered { since: Some(since) } => {
                index.last_order.select(Some(since.0), None, within, |slot| self.rows[slot as usize].last_order_at())
                    & &index.ordered
            }
            // Every other condition is a value condition: the union of its bitmaps.
            _ => union(self.value_bitmaps(filter).unwrap_or_default()),
        }
    }
}
