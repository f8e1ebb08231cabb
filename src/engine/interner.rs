//! Small integer ids for repeated strings (tags, statuses, attribute keys).

use std::collections::HashMap;

#[derive(Default)]
pub struct Interner {
    ids: HashMap<Box<str>, u32>,
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
}
