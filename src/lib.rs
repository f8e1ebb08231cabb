//! inboxd: a self-hosted contacts inbox for chatbot and live-chat businesses.

pub mod api;
pub mod auth;
pub mod bench;
pub mod csv_format;
pub mod demo;
pub mod domain;
pub mod engine;
pub mod error;
pub mod fields;
pub mod limits;
pub mod metrics;
pub mod model;
pub mod query;
pub mod server;
pub mod service;
pub mod soak;
pub mod store;
pub mod webhooks;
