//! Sort orders of section 4: missing values last in both orders, ties by _id descending.

use std::cmp::Ordering;

use super::row::Row;
use crate::query::{Order, Sort, SortKey};

fn compare_present<T: Ord>(a: Option<T>, b: Option<T>, order: Order) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => match order {
            Order::Asc => a.cmp(&b),
            Order::Desc => b.cmp(&a),
        },
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Compares the sort values alone (no tie-break on _id).
pub fn compare_key(a: &Row, b: &Row, sort: Sort) -> Ordering {
    match sort.by {
        SortKey::LastSeenAt => compare_present(a.last_seen_at(), b.last_seen_at(), sort.order),
        SortKey::CreatedAt => compare_present(Some(a.created_at), Some(b.created_at), sort.order),
        SortKey::UpdatedAt => compare_present(Some(a.updated_at), Some(b.updated_at), sort.order),
        SortKey::LastMessageAt => compare_present(a.last_message_at(), b.last_message_at(), sort.order),
        SortKey::Name => compare_present(a.name_key.as_deref(), b.name_key.as_deref(), sort.order),
    }
}

/// Whether the user holds a value for this sort key.
pub fn has_key(row: &Row, by: SortKey) -> bool {
    match by {
        SortKey::LastSeenAt => row.last_seen_at().is_some(),
        SortKey::CreatedAt | SortKey::UpdatedAt => true,
        SortKey::LastMessageAt => row.last_message_at().is_some(),
        SortKey::Name => row.name_key.is_some(),
    }
}

/// The full order of section 4: sort values, then _id descending.
pub fn compare(a: &Row, b: &Row, sort: Sort) -> Ordering {
    compare_key(a, b, sort).then_with(|| b.id.cmp(&a.id))
}

/// Puts the first `end` slots in sort order; the rest stay unordered.
pub fn sort_prefix(rows: &[Row], slots: &mut [u32], sort: Sort, end: usize) {
    let cmp = |a: &u32, b: &u32| compare(&rows[*a as usize], &rows[*b as usize], sort);
    if end == 0 {
        return;
    }
    if end < slots.len() / 2 {
        slots.select_nth_unstable_by(end - 1, cmp);
        slots[..end].sort_unstable_by(cmp);
    } else {
        slots.sort_unstable_by(cmp);
    }
}
