//! The POST /inbox/users body, parsed once into a typed query; and segment definitions.

pub mod filter;

pub use filter::{Filter, Order, Range, Sort, SortKey, TextSearch};
