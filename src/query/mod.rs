//! The POST /inbox/users body, parsed once into a typed query; and segment definitions.

pub mod filter;
mod parse;
pub mod segment;

pub use filter::{Filter, Order, Range, Sort, SortKey, TextSearch};
pub use parse::{parse_query, text_search, Query};
pub use segment::SegmentDefinition;
