//! Small integer ids for repeated values (tags, statuses, attribute keys and values, bots and agents),
//! and the fast hasher the engine's own maps use.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::domain::Id;

/// A multiplicative hasher for the engine's maps: their keys are short (trigrams, ids, already hashed
/// identities) and never chosen to collide on purpose, and SipHash would dominate building.
#[derive(Default)]
pub struct FastHasher(u64);

const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        for b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(K);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(n) ^ 0x9e37_79b9_7f4a_7c15).wrapping_mul(K);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(K);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

#[derive(Default)]
pub struct Interner {
    ids: FastMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.into());
        self.ids.insert(name.into(), id);
        id
    }

    pub fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    /// Ids of every interned name that contains `part`.
    pub fn containing(&self, part: &str) -> Vec<u32> {
        self.names.iter().enumerate().filter(|(_, n)| n.contains(part)).map(|(i, _)| i as u32).collect()
    }

    /// Every name, by id.
    pub fn names(&self) -> &[Box<str>] {
        &self.names
    }

    /// The interner that gave these names these ids; None when a name repeats.
    pub fn from_names(names: Vec<Box<str>>) -> Option<Interner> {
        let mut ids = FastMap::with_capacity_and_hasher(names.len(), Default::default());
        for (id, name) in names.iter().enumerate() {
            if ids.insert(name.clone(), id as u32).is_some() {
                return None;
            }
        }
        Some(Interner { ids, names })
    }

    pub fn heap_bytes(&self) -> usize {
        let names = self.names.iter().map(|n| 2 * n.len()).sum::<usize>();
        names + self.names.capacity() * 16 + self.ids.capacity() * 25
    }
}

/// Bot and agent ids as small numbers; 0 stands for none.
#[derive(Default)]
pub struct People {
    numbers: FastMap<Id, u32>,
}

impl People {
    pub fn number(&mut self, id: Option<Id>) -> u32 {
        let Some(id) = id else { return 0 };
        let next = self.numbers.len() as u32 + 1;
        *self.numbers.entry(id).or_insert(next)
    }

    /// How many ids have a number.
    pub fn len(&self) -> usize {
        self.numbers.len()
    }

    /// Every known id, by number from 1.
    pub fn by_number(&self) -> Vec<Id> {
        let mut ids = vec![Id::from_bytes([0; 12]); self.numbers.len()];
        for (id, number) in &self.numbers {
            ids[*number as usize - 1] = *id;
        }
        ids
    }

    /// The numbers `by_number` gave; None when an id repeats.
    pub fn from_ids(ids: &[Id]) -> Option<People> {
        let mut numbers = FastMap::with_capacity_and_hasher(ids.len(), Default::default());
        for (i, id) in ids.iter().enumerate() {
            if numbers.insert(*id, i as u32 + 1).is_some() {
                return None;
            }
        }
        Some(People { numbers })
    }

    /// The number of a known id (None: no user has ever held it).
    pub fn get(&self, id: Id) -> Option<u32> {
        self.numbers.get(&id).copied()
    }
}

/// Every dictionary of one engine: a user's row holds the numbers, these the values.
#[derive(Default)]
pub struct Names {
    /// Lower-cased tags.
    pub tags: Interner,
    pub statuses: Interner,
    /// Lower-cased attribute keys.
    pub keys: Interner,
    /// Lower-cased attribute value texts (of every key).
    pub values: Interner,
    /// Bots and agents.
    pub people: People,
}

impl Names {
    pub fn heap_bytes(&self) -> usize {
        [&self.tags, &self.statuses, &self.keys, &self.values].iter().map(|i| i.heap_bytes()).sum::<usize>()
            + self.people.numbers.capacity() * 17
    }
}
