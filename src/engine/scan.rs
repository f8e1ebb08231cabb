//! The scan engine: every query evaluated row by row. The oracle the index engine is tested against.

use std::collections::{BTreeMap, HashMap};

use super::compile::{compile, Compiled, Context};
use super::identities::{Identities, Keys};
use super::interner::Names;
use super::row::{Row, Texts};
use super::sort;
use super::{Clock, Page};
use crate::domain::Id;
use crate::model::User;
use crate::query::{Filter, Sort};

#[derive(Default)]
pub struct ScanEngine {
    rows: Vec<Row>,
    texts: Vec<Texts>,
    slots: HashMap<Id, u32>,
    keys_of: HashMap<Id, Keys>,
    identities: Identities,
    names: Names,
    /// How many users hold each attribute key (lower-cased), with the key as first seen.
    attribute_keys: BTreeMap<String, (String, usize)>,
    segments: HashMap<Id, Filter>,
    /// Segment ids in creation order, as users list them.
    segment_order: Vec<Id>,
}

impl ScanEngine {
    pub fn new() -> ScanEngine {
        ScanEngine::default()
    }

    /// Live users (DELETED status included: only queries hide them).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn identities(&self) -> &Identities {
        &self.identities
    }

    /// Adds or replaces a user from its committed document.
    pub fn upsert(&mut self, user: &User) {
        self.forget_attributes(user.id);
        for attribute in &user.profile.attributes {
            let entry = self.attribute_keys.entry(attribute.key.to_lowercase()).or_insert((attribute.key.clone(), 0));
            entry.1 += 1;
        }
        self.replace(user);
    }

    /// Replaces a user of whom only the activity changed: its attribute keys, and so the spelling
    /// of their export columns, stay as they were.
    pub fn upsert_activity(&mut self, user: &User) {
        self.replace(user);
    }

    fn replace(&mut self, user: &User) {
        let row = Row::from_user(user, &mut self.names);
        let texts = Texts::of(user);
        match self.slots.get(&user.id) {
            Some(slot) => {
                self.rows[*slot as usize] = row;
                self.texts[*slot as usize] = texts;
            }
            None => {
                self.slots.insert(user.id, self.rows.len() as u32);
                self.rows.push(row);
                self.texts.push(texts);
            }
        }
        let keys = Keys::of(user);
        if let Some(old) = self.keys_of.get(&user.id) {
            if *old == keys {
                return;
            }
            self.identities.remove(user.id, old);
        }
        self.identities.add(user.id, &keys);
        self.keys_of.insert(user.id, keys);
    }

    /// Erases a user.
    pub fn remove(&mut self, id: Id) {
        self.forget_attributes(id);
        if let Some(slot) = self.slots.remove(&id) {
            self.rows[slot as usize].alive = false;
        }
        if let Some(keys) = self.keys_of.remove(&id) {
            self.identities.remove(id, &keys);
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

    fn compile(&self, filter: &Filter, clock: Clock) -> Compiled {
        let cx = Context { names: &self.names, segments: &self.segments, now: clock.now, window_ms: clock.window_ms };
        compile(filter, &cx)
    }

    fn matching(&self, filter: &Filter, clock: Clock) -> Vec<u32> {
        let compiled = self.compile(filter, clock);
        let live = self.rows.iter().zip(&self.texts).enumerate().filter(|(_, (row, _))| row.alive);
        live.filter(|(_, (row, texts))| compiled.matches(row, texts, &self.names.values))
            .map(|(slot, _)| slot as u32)
            .collect()
    }

    /// One page of matching users in sort order, with the exact total.
    pub fn search(&self, filter: &Filter, sort: Sort, page: u64, limit: u64, clock: Clock) -> Page {
        let mut slots = self.matching(filter, clock);
        let total = slots.len() as u64;
        let offset = page.saturating_sub(1).saturating_mul(limit);
        if offset >= total {
            return Page { total, users: Vec::new() };
        }
        let end = offset.saturating_add(limit).min(total) as usize;
        sort::sort_prefix(&self.rows, &mut slots, sort, end);
        let users = slots[offset as usize..end].iter().map(|slot| self.with_segments(*slot, clock)).collect();
        Page { total, users }
    }

    /// Every matching user in sort order (for export).
    pub fn all_sorted(&self, filter: &Filter, sort: Sort, clock: Clock) -> Vec<Id> {
        let mut slots = self.matching(filter, clock);
        let len = slots.len();
        sort::sort_prefix(&self.rows, &mut slots, sort, len);
        slots.iter().map(|slot| self.rows[*slot as usize].id).collect()
    }

    fn with_segments(&self, slot: u32, clock: Clock) -> (Id, Vec<Id>) {
        let (row, texts) = (&self.rows[slot as usize], &self.texts[slot as usize]);
        let segments = self
            .segment_order
            .iter()
            .filter(|id| self.compile(&Filter::Segment(**id), clock).matches(row, texts, &self.names.values))
            .copied()
            .collect();
        (row.id, segments)
    }

    /// The segments a user matches now.
    pub fn segments_of(&self, id: Id, clock: Clock) -> Vec<Id> {
        self.slots.get(&id).map(|slot| self.with_segments(*slot, clock).1).unwrap_or_default()
    }
}
