//! Every limit the API enforces, in one place (documented in README.md, "Limits").

/// Largest request body, in bytes; larger bodies are 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Nesting of a JSON body: arrays and objects inside one another. Deeper bodies are 400 before
/// they are parsed (the contract's bodies need 6 levels; an import row 5 inside its array).
pub const MAX_JSON_DEPTH: usize = 32;
/// Rows in one import.
pub const MAX_IMPORT_ROWS: usize = 10_000;
/// Events in one POST /inbox/events.
pub const MAX_EVENTS: usize = 1_000;
/// Ids in one status update.
pub const MAX_STATUS_UPDATE_IDS: usize = 10_000;
/// Items in each list of a query filter (tags, status, bots, agents, segments...).
pub const MAX_FILTER_ITEMS: usize = 1_000;
/// Largest page size of a query.
pub const MAX_PAGE_SIZE: i64 = 500;
/// Tags on one user.
pub const MAX_TAGS: usize = 200;
/// Attributes on one user.
pub const MAX_ATTRIBUTES: usize = 200;
/// Notes added by one PUT.
pub const MAX_NOTES_PER_WRITE: usize = 100;
/// Conditions in one segment.
pub const MAX_SEGMENT_CONDITIONS: usize = 100;
/// Short text fields: names, emails, identities, tags, attribute keys, titles.
pub const MAX_SHORT_TEXT: usize = 512;
/// Long text fields: message texts, note descriptions, attribute values, picture urls.
pub const MAX_LONG_TEXT: usize = 8_192;
/// The search text of a query.
pub const MAX_SEARCH_TEXT: usize = 512;
