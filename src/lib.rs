//! inboxd: a self-hosted contacts inbox for chatbot and live-chat businesses.

pub mod domain;
pub mod fields;
pub mod limits;
pub mod model;
pub mod query;
pub mod store;
