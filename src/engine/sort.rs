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

fn compare(a: &Row, b: &Row, sort: Sort) -> Ordering {
    let by_key = match sort.by {
        SortKey::LastSeenAt => compare_present(a.last_seen_at, b.last_seen_at, sort.order),
        SortKey::CreatedAt => compare_present(Some(a.created_at), Some(b.created_at), sort.order),
        SortKey::UpdatedAt => compare_present(Some(a.updated_at), Some(b.updated_at), sort.order),
        SortKey::LastMessageAt => compare_present(a.last_message_at, b.last_message_at, sort.order),
        SortKey::Name => compare_present(a.name_key.as_deref(), b.name_key.as_deref(), sort.order),
    };
    by_key.then_with(|| b.id.cmp(&a.id))
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
