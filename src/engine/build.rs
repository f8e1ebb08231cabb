//! Building an engine in bulk at cold start: users take consecutive slots, so every bitmap is only
//! appended to; trigrams are indexed a step of 65,536 users at a time; each presorted order is
//! sorted once at the end instead of being merged into user by user.

use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

use super::identities::Keys;
use super::index::{targets, Target};
use super::interner::FastMap;
use super::row::{Row, Texts};
use super::{Engine, SortOrder, SORT_KEYS};
use crate::model::User;

/// Users whose bitmap slots are gathered before being appended (tests take small steps to cross many).
const STEP: usize = if cfg!(test) { 3 } else { 1 << 16 };

/// Fed every user once (in any order), then finished into an engine that answers exactly as one
/// built by `Engine::upsert` of the same users would.
#[derive(Default)]
pub struct Builder {
    engine: Engine,
    /// The slots of the current step by bitmap: a push onto a list, where inserting into the bitmap
    /// would search its containers (and roaring's own `push` scans a bitmap container's words).
    staged: FastMap<Target, Vec<u32>>,
    /// Users fed a second time: applied as updates once the bulk build is done.
    repeated: Vec<User>,
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }

    pub fn add(&mut self, user: &User) {
        let engine = &mut self.engine;
        if engine.slots.contains_key(&user.id) {
            self.repeated.push(user.clone());
            return;
        }
        let row = Row::from_user(user, &mut engine.names);
        engine.count_attributes(user);
        let slot = engine.rows.len() as u32;
        targets(&row, |target| {
            let slots = self.staged.entry(target).or_default();
            // A row names a bitmap twice when two of its tags or keys differ only in case.
            if slots.last() != Some(&slot) {
                slots.push(slot);
            }
        });
        engine.rows.push(row);
        engine.slots.insert(user.id, slot);
        engine.index.text.push(&Texts::of(user));
        let keys = Keys::hashed_of(user);
        engine.identities.add_hashed(user.id, &keys);
        engine.keys_of.push(keys);
        if engine.rows.len().is_multiple_of(STEP) {
            engine.index.append(self.staged.drain());
        }
    }

    /// Indexes the last trigrams and sorts the orders (two threads share the sorting).
    pub fn finish(mut self) -> Engine {
        self.engine.index.append(self.staged.drain());
        let mut engine = self.engine;
        engine.rows.shrink_to_fit();
        engine.keys_of.shrink_to_fit();
        let Engine { rows, index, orders, .. } = &mut engine;
        let rows = &*rows;
        let (first, second) = orders.split_at_mut(2);
        let (first_keys, second_keys) = SORT_KEYS.split_at(2);
        let sort = |orders: &mut [parking_lot::RwLock<SortOrder>], keys: &[crate::query::SortKey]| {
            for (order, by) in orders.iter_mut().zip(keys) {
                *order.get_mut() = SortOrder::build(*by, rows);
            }
        };
        let spawned = std::thread::scope(|scope| {
            let text = &mut index.text;
            let helper = std::thread::Builder::new().name("engine-sort".into()).spawn_scoped(scope, || {
                text.finish_bulk();
                sort(first, first_keys);
            });
            sort(second, second_keys);
            match helper {
                Ok(helper) => match helper.join() {
                    Ok(()) => true,
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                Err(_) => false,
            }
        });
        if !spawned {
            // No second thread to be had: its share is done here.
            index.text.finish_bulk();
            sort(first, first_keys);
        }
        for user in &self.repeated {
            engine.upsert(user);
        }
        engine
    }
}

/// A `Builder` on its own thread, fed batch by batch: it builds while the store reads the next batch.
pub struct BackgroundBuilder {
    sender: SyncSender<Vec<User>>,
    worker: JoinHandle<Engine>,
}

impl BackgroundBuilder {
    pub fn start() -> std::io::Result<BackgroundBuilder> {
        // A few batches in flight keep both sides busy without holding many documents.
        let (sender, batches) = sync_channel::<Vec<User>>(4);
        let worker = std::thread::Builder::new().name("engine-build".into()).spawn(move || {
            let mut builder = Builder::new();
            for batch in batches {
                for user in &batch {
                    builder.add(user);
                }
            }
            builder.finish()
        })?;
        Ok(BackgroundBuilder { sender, worker })
    }

    pub fn add(&mut self, users: Vec<User>) {
        // Fails only when the worker is gone, that is panicked: `finish` raises that panic.
        let _ = self.sender.send(users);
    }

    /// Waits for the worker to build the engine of every user added.
    pub fn finish(self) -> Engine {
        drop(self.sender);
        match self.worker.join() {
            Ok(engine) => engine,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}
