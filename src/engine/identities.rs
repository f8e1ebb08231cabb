//! Lookups of users by the identities that imports, visitor events and integrations match on.

use std::collections::HashMap;

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

/// Each key maps to the users holding it, oldest first.
#[derive(Default)]
pub struct Identities {
    index: HashMap<(Kind, Box<str>), Vec<Id>>,
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
        let entry = std::mem::size_of::<((Kind, Box<str>), Vec<Id>)>() + 1;
        self.index.capacity() * entry
            + self.index.iter().map(|((_, k), ids)| k.len() + ids.capacity() * 12).sum::<usize>()
    }

    pub fn add(&mut self, id: Id, keys: &Keys) {
        for (kind, value) in Identities::entries(keys) {
            let ids = self.index.entry((kind, value.into())).or_default();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }

    pub fn remove(&mut self, id: Id, keys: &Keys) {
        for (kind, value) in Identities::entries(keys) {
            let key = (kind, Box::<str>::from(value));
            if let Some(ids) = self.index.get_mut(&key) {
                ids.retain(|i| *i != id);
                if ids.is_empty() {
                    self.index.remove(&key);
                }
            }
        }
    }

    fn get(&self, kind: Kind, value: &str) -> &[Id] {
        self.index.get(&(kind, value.into())).map_or(&[], |ids| ids.as_slice())
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
