//! Lookups of users by the identities that imports, visitor events and integrations match on.
//!
//! Keys are kept as 128-bit hashes of (kind, text), not as texts: a million users hold three or
//! four million keys, and their texts and per-key lists cost more than the rest of the engine.
//! Two different keys share a hash with probability about n² / 2¹²⁹ (10⁻²⁵ at 10⁷ keys).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use super::interner::FastMap;
use crate::domain::{whatsapp_key, Id, Platform};
use crate::model::User;

/// The keys one user is known by.
#[derive(Default, Clone, PartialEq)]
pub struct Keys {
    pub uuid: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub whatsapp: Option<String>,
    pub telegram: Option<String>,
    pub facebook: Option<String>,
}

impl Keys {
    pub fn heap_bytes(&self) -> usize {
        [&self.uuid, &self.email, &self.phone, &self.whatsapp, &self.telegram, &self.facebook]
            .iter()
            .map(|k| k.as_ref().map_or(0, |k| k.capacity()))
            .sum()
    }

    pub fn of(user: &User) -> Keys {
        let profile = &user.profile;
        Keys {
            uuid: user.uuid.clone(),
            email: profile.email.as_deref().map(str::to_lowercase),
            phone: profile.phone.as_ref().map(|p| p.digits()),
            whatsapp: profile.whatsapp_number.as_deref().map(whatsapp_key),
            telegram: profile.telegram_user_name.clone(),
            facebook: profile.facebook_profile_id.clone(),
        }
    }

    /// The hashed form of every non-empty key.
    pub fn hashed(&self) -> Box<[Key]> {
        Identities::entries(self).map(|(kind, value)| Key::of(kind, &[value])).collect()
    }

    /// `Keys::of(user).hashed()`, without copying the texts that need no change.
    pub fn hashed_of(user: &User) -> Box<[Key]> {
        let profile = &user.profile;
        let mut keys = Vec::with_capacity(6);
        let mut add = |kind: Kind, parts: &[&str]| {
            if parts.iter().any(|p| !p.is_empty()) {
                keys.push(Key::of(kind, parts));
            }
        };
        add(Kind::Uuid, &[user.uuid.as_deref().unwrap_or("")]);
        add(Kind::Email, &[&super::row::lower(profile.email.as_deref().unwrap_or(""))]);
        if let Some(phone) = &profile.phone {
            add(Kind::Phone, &[phone.prefix.as_deref().unwrap_or(""), &phone.number]);
        }
        add(Kind::Whatsapp, &[&profile.whatsapp_number.as_deref().map(whatsapp_key).unwrap_or_default()]);
        add(Kind::Telegram, &[profile.telegram_user_name.as_deref().unwrap_or("")]);
        add(Kind::Facebook, &[profile.facebook_profile_id.as_deref().unwrap_or("")]);
        keys.into_boxed_slice()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Uuid,
    Email,
    Phone,
    Whatsapp,
    Telegram,
    Facebook,
}

/// One identity key, hashed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Key([u64; 2]);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Already a hash: its first half is as good a table hash as any.
        state.write_u64(self.0[0]);
    }
}

impl Key {
    pub fn to_words(self) -> [u64; 2] {
        self.0
    }

    pub fn from_words(words: [u64; 2]) -> Key {
        Key(words)
    }

    /// The key of the text made of these parts, one after the other.
    fn of(kind: Kind, parts: &[&str]) -> Key {
        // Two SipHash runs over distinct inputs: independent halves of a 128-bit hash.
        let half = |seed: u8| {
            let mut hasher = DefaultHasher::new();
            (seed, kind).hash(&mut hasher);
            for part in parts {
                hasher.write(part.as_bytes());
            }
            hasher.write_u8(0xff);
            hasher.finish()
        };
        Key([half(0), half(1)])
    }
}

/// The users holding one key: one inline (the common case), or a list in `Identities::shared`.
#[derive(Clone, Copy)]
struct Holders {
    first: Id,
    /// Index into `shared` when more than one user holds the key, else `ALONE`.
    shared: u32,
}

const ALONE: u32 = u32::MAX;

/// Each key maps to the users holding it, oldest first.
#[derive(Default)]
pub struct Identities {
    index: FastMap<Key, Holders>,
    /// Lists of the keys more than one user holds (several users without uuid share none, but
    /// families share emails and phones).
    shared: Vec<Vec<Id>>,
    free: Vec<u32>,
}

impl Identities {
    fn entries(keys: &Keys) -> impl Iterator<Item = (Kind, &str)> {
        [
            (Kind::Uuid, &keys.uuid),
            (Kind::Email, &keys.email),
            (Kind::Phone, &keys.phone),
            (Kind::Whatsapp, &keys.whatsapp),
            (Kind::Telegram, &keys.telegram),
            (Kind::Facebook, &keys.facebook),
        ]
        .into_iter()
        .filter_map(|(kind, value)| value.as_deref().filter(|v| !v.is_empty()).map(|v| (kind, v)))
    }

    pub fn heap_bytes(&self) -> usize {
        let entry = std::mem::size_of::<(Key, Holders)>() + 1;
        self.index.capacity() * entry
            + self.shared.capacity() * std::mem::size_of::<Vec<Id>>()
            + self.shared.iter().map(|ids| ids.capacity() * 12).sum::<usize>()
            + self.free.capacity() * 4
    }

    /// The keys more than one user holds, each with its holders oldest first.
    pub fn shared(&self) -> impl Iterator<Item = (Key, &[Id])> {
        self.index
            .iter()
            .filter(|(_, holders)| holders.shared != ALONE)
            .map(|(key, holders)| (*key, self.shared[holders.shared as usize].as_slice()))
    }

    /// The lookups of users holding these keys, where the keys held by more than one user have
    /// these holder lists (as `shared` gave them): every other key has a single holder.
    pub fn rebuild<'k>(
        shared: Vec<(Key, Vec<Id>)>,
        held: impl Iterator<Item = (Id, &'k [Key])>,
        keys: usize,
    ) -> Identities {
        let mut index = FastMap::with_capacity_and_hasher(keys, Default::default());
        for (at, (key, list)) in shared.iter().enumerate() {
            index.insert(*key, Holders { first: list[0], shared: at as u32 });
        }
        for (id, keys) in held {
            for key in keys {
                index.entry(*key).or_insert(Holders { first: id, shared: ALONE });
            }
        }
        let shared = shared.into_iter().map(|(_, list)| list).collect();
        Identities { index, shared, free: Vec::new() }
    }

    pub fn add(&mut self, id: Id, keys: &Keys) {
        self.add_hashed(id, &keys.hashed());
    }

    pub fn remove(&mut self, id: Id, keys: &Keys) {
        self.remove_hashed(id, &keys.hashed());
    }

    pub fn add_hashed(&mut self, id: Id, keys: &[Key]) {
        for key in keys {
            let holders = match self.index.get_mut(key) {
                Some(holders) => holders,
                None => {
                    self.index.insert(*key, Holders { first: id, shared: ALONE });
                    continue;
                }
            };
            if holders.shared == ALONE {
                if holders.first != id {
                    let list = vec![holders.first, id];
                    holders.shared = match self.free.pop() {
                        Some(at) => {
                            self.shared[at as usize] = list;
                            at
                        }
                        None => {
                            self.shared.push(list);
                            (self.shared.len() - 1) as u32
                        }
                    };
                }
            } else {
                let list = &mut self.shared[holders.shared as usize];
                if !list.contains(&id) {
                    list.push(id);
                }
            }
        }
    }

    pub fn remove_hashed(&mut self, id: Id, keys: &[Key]) {
        for key in keys {
            let Some(holders) = self.index.get_mut(key) else { continue };
            if holders.shared == ALONE {
                if holders.first == id {
                    self.index.remove(key);
                }
                continue;
            }
            let at = holders.shared as usize;
            let list = &mut self.shared[at];
            list.retain(|i| *i != id);
            if list.len() == 1 {
                *holders = Holders { first: list[0], shared: ALONE };
                self.shared[at] = Vec::new();
                self.free.push(at as u32);
            }
        }
    }

    fn get(&self, kind: Kind, value: &str) -> &[Id] {
        match self.index.get(&Key::of(kind, &[value])) {
            None => &[],
            Some(holders) if holders.shared == ALONE => std::slice::from_ref(&holders.first),
            Some(holders) => &self.shared[holders.shared as usize],
        }
    }

    pub fn by_uuid(&self, uuid: &str) -> &[Id] {
        self.get(Kind::Uuid, uuid)
    }

    pub fn by_email(&self, email: &str) -> &[Id] {
        self.get(Kind::Email, &email.trim().to_lowercase())
    }

    pub fn by_phone(&self, digits: &str) -> &[Id] {
        self.get(Kind::Phone, digits)
    }

    pub fn by_whatsapp(&self, digits: &str) -> &[Id] {
        self.get(Kind::Whatsapp, digits)
    }

    /// The user a visitor identity names on a channel.
    pub fn by_visitor(&self, platform: Platform, external_id: &str) -> &[Id] {
        match platform {
            Platform::Website => self.get(Kind::Uuid, external_id),
            Platform::Whatsapp => self.get(Kind::Whatsapp, &whatsapp_key(external_id)),
            Platform::Telegram => self.get(Kind::Telegram, external_id),
            Platform::Facebook => self.get(Kind::Facebook, external_id),
        }
    }
}
