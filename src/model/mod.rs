//! The user document, its JSON form, and the input shape that changes it.

mod activity;
mod apply;
mod exported;
pub mod input;
mod render;
mod user;

pub use activity::{Activity, UserActivity};
pub use apply::{apply_input, merge_attributes, typed_like};
pub use exported::{AttributeValue, ExportedUser};
pub use input::{InputKind, UserInput};
pub use render::{user_json, write_user_json};
pub use user::{attribute_text, Attribute, Message, Note, Orders, Presence, Profile, User};
