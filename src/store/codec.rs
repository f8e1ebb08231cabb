//! What both stores share: the user document's encoding and the change feed's vocabulary.

use crate::domain::Id;
use crate::model::User;

/// A user document as stored: MessagePack with field names, so fields can be added later.
pub fn encode(user: &User) -> anyhow::Result<Vec<u8>> {
    Ok(rmp_serde::to_vec_named(user)?)
}

pub fn decode(bytes: &[u8]) -> anyhow::Result<User> {
    Ok(rmp_serde::from_slice(bytes)?)
}

/// A user id as stored: its 12 bytes.
pub fn id_from_bytes(bytes: &[u8]) -> Option<Id> {
    Some(Id::from_bytes(bytes.try_into().ok()?))
}

/// A random name for one open store, written into the changes it commits.
pub fn new_origin() -> String {
    hex::encode(rand::random::<[u8; 8]>())
}
