//! The index engine against the scan oracle: random users, random writes, random queries.

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;

use super::scan::ScanEngine;
use super::Clock;
use super::{force_walk, Engine};
use crate::domain::text::fold;
use crate::domain::{Id, Phone, Platform, Sender, Status, Timestamp};
use crate::model::{Activity, Attribute, Message, Orders, Presence, User, UserActivity};
use crate::query::{Filter, Order, Range, Sort, SortKey, TextSearch};

const NOW: i64 = 1_750_000_000_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

const TAGS: [&str; 8] = ["vip", "VIP", "Lead", "lead-hot", "cold lead", "do not contact", "Älpha", "x"];
const STATUSES: [&str; 4] = ["OPEN", "CLOSED", "DELETED", "PENDING"];
const NAMES: [&str; 10] = ["José", "JOSE", "Zoë Ærø", "anna", "Anna-Marie", "", "Bob", "Çağrı", "jo", "Émile Zola"];
const EMAILS: [&str; 5] = ["jose@example.com", "ANNA@Mail.org", "bob.smith@x.io", "e@e", "zoe+1@ex.com"];
const ATTRIBUTE_KEYS: [&str; 4] = ["plan", "Source", "points", "consent"];
const PLANS: [&str; 4] = ["gold", "Gold", "basic", "gold plus"];
const TERMS: [&str; 14] =
    ["jo", "jose", "ann", "anna", "e", "zola", "mail", "example", "ærø", "cagri", "smith", "@", "zz", "o"];
const DIGITS: [&str; 6] = ["27", "278", "82555", "5551234", "9", "1234"];

fn id(n: u8) -> Id {
    let mut bytes = [0u8; 12];
    bytes[0] = 0x65;
    bytes[11] = n;
    Id::from_bytes(bytes)
}

fn user_id(n: usize) -> Id {
    id(n as u8)
}

fn bot(n: usize) -> Id {
    id(100 + n as u8)
}

fn agent(n: usize) -> Id {
    id(200 + n as u8)
}

fn segment(n: usize) -> Id {
    id(240 + n as u8)
}

/// A time near NOW from a small pool (so ties and day edges happen), or anywhere in a few days.
fn time(rng: &mut StdRng) -> i64 {
    match rng.gen_range(0..4) {
        0 => NOW - [0, HOUR, DAY, 3 * DAY, 30 * DAY][rng.gen_range(0..5)],
        1 => (NOW / DAY) * DAY - rng.gen_range(0..3) * DAY,
        2 => (NOW / DAY) * DAY - rng.gen_range(0..3) * DAY - 1,
        _ => NOW - rng.gen_range(-DAY..40 * DAY),
    }
}

fn maybe<T>(rng: &mut StdRng, value: impl FnOnce(&mut StdRng) -> T) -> Option<T> {
    if rng.gen_bool(0.6) {
        Some(value(rng))
    } else {
        None
    }
}

fn pick<T: Copy>(rng: &mut StdRng, from: &[T]) -> T {
    from[rng.gen_range(0..from.len())]
}

fn random_user(rng: &mut StdRng, n: usize) -> User {
    let created = time(rng);
    let mut user = User::new(user_id(n), Timestamp(created));
    random_activity(rng, &mut user);
    user.is_contact = rng.gen();
    user.is_subscriber = rng.gen();
    user.status = Status::parse(pick(rng, &STATUSES)).unwrap_or_else(Status::open);
    for platform in Platform::ALL {
        user.bots[platform.index()] = maybe(rng, |r| bot(r.gen_range(0..3)));
    }
    user.agent = maybe(rng, |r| agent(r.gen_range(0..3)));
    let profile = &mut user.profile;
    profile.name = maybe(rng, |r| pick(r, &NAMES).to_string());
    profile.user_provided_name = maybe(rng, |r| pick(r, &NAMES).to_string());
    profile.email = maybe(rng, |r| pick(r, &EMAILS).to_string());
    profile.phone = maybe(rng, |r| Phone {
        number: pick(r, &["825551234", "5551234", "2788"]).to_string(),
        prefix: maybe(r, |r| pick(r, &["27", "1"]).to_string()),
    });
    profile.whatsapp_number = maybe(rng, |r| pick(r, &["27825559999", "4412345"]).to_string());
    profile.telegram_user_name = maybe(rng, |r| pick(r, &["jo_bot", "annaTG"]).to_string());
    profile.facebook_profile_id = maybe(rng, |r| pick(r, &["fb.zola", "100200"]).to_string());
    let how_many = rng.gen_range(0..4);
    let mut tags: Vec<&str> = TAGS.choose_multiple(rng, how_many).copied().collect();
    tags.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    let mut seen = std::collections::HashSet::new();
    profile.tags = tags.into_iter().filter(|t| seen.insert(t.to_lowercase())).map(String::from).collect();
    let how_many = rng.gen_range(0..4);
    let keys: Vec<&str> = ATTRIBUTE_KEYS.choose_multiple(rng, how_many).copied().collect();
    for key in keys {
        let value = match key {
            "plan" => json!(pick(rng, &PLANS)),
            "points" => json!(rng.gen_range(0..3)),
            "consent" => json!(rng.gen_bool(0.5)),
            _ => json!(pick(rng, &["Ads", "ads", "organic"])),
        };
        let key = if rng.gen_bool(0.2) { key.to_uppercase() } else { key.to_string() };
        profile.attributes.push(Attribute { key, value });
    }
    user
}

/// New values for what events change: times, flags, orders, last message, presence, unread.
fn random_activity(rng: &mut StdRng, user: &mut User) {
    user.updated_at = Timestamp(user.created_at.0.max(time(rng)));
    user.last_seen_at = maybe(rng, |r| Timestamp(time(r)));
    user.is_live_chat_active = rng.gen();
    user.user_interacted = rng.gen();
    let count = rng.gen_range(0..3);
    user.orders = Orders { count, last_at: (count > 0 || rng.gen_bool(0.1)).then(|| Timestamp(time(rng))) };
    user.last_message = maybe(rng, |r| Message {
        text: "hi".into(),
        at: Timestamp(time(r)),
        by: pick(r, &[Sender::User, Sender::Bot, Sender::Agent]),
    });
    user.presence = maybe(rng, |r| Presence { online: r.gen(), at: Timestamp(NOW - r.gen_range(-10_000..400_000)) });
    user.unread = rng.gen_range(0..3);
}

/// A few events as a batch applies them to one user.
fn random_events(rng: &mut StdRng) -> UserActivity {
    let events = (0..rng.gen_range(1..4))
        .map(|_| {
            let at = Timestamp(time(rng));
            match rng.gen_range(0..5) {
                0 => Activity::Message {
                    by: pick(rng, &[Sender::User, Sender::Bot, Sender::Agent]),
                    text: "hey".into(),
                    at,
                },
                1 => Activity::Presence { online: rng.gen(), at: Timestamp(NOW - rng.gen_range(-10_000..400_000)) },
                2 => Activity::Order { at },
                3 => Activity::LiveChat { active: rng.gen() },
                _ => Activity::Read,
            }
        })
        .collect();
    UserActivity { received: Timestamp(time(rng)), events }
}

/// One random write to both engines: a removal, a user's activity changed as events change it
/// (`upsert_activity`), events applied from the engine's row (`apply_activity`), or a whole new
/// document. `stored` follows, as the store would hold them.
fn random_write(
    rng: &mut StdRng,
    engine: &mut Engine,
    scan: &mut ScanEngine,
    stored: &mut std::collections::BTreeMap<usize, User>,
    pool: usize,
) {
    let who = rng.gen_range(0..pool);
    let roll = rng.gen_range(0..10);
    if roll < 2 {
        engine.remove(user_id(who));
        scan.remove(user_id(who));
        stored.remove(&who);
        return;
    }
    let user = match stored.get(&who) {
        Some(known) if roll < 5 => {
            let mut user = known.clone();
            random_activity(rng, &mut user);
            engine.upsert_activity(&user);
            scan.upsert_activity(&user);
            user
        }
        Some(known) if roll < 7 => {
            // Events the store deferred: the engine applies them from its own row.
            let mut user = known.clone();
            let activity = random_events(rng);
            activity.apply(&mut user);
            engine.apply_activity(user.id, &activity);
            scan.upsert_activity(&user);
            user
        }
        _ => {
            let user = random_user(rng, who);
            engine.upsert(&user);
            scan.upsert(&user);
            user
        }
    };
    stored.insert(who, user);
}

fn range(rng: &mut StdRng) -> Range {
    let start = maybe(rng, |r| Timestamp(time(r)));
    let end = maybe(rng, |r| Timestamp(time(r)));
    Range { start, end }
}

fn text_search(rng: &mut StdRng) -> TextSearch {
    let terms = (0..rng.gen_range(0..3)).map(|_| fold(pick(rng, &TERMS))).collect();
    let phone_digits = maybe(rng, |r| pick(r, &DIGITS).to_string());
    TextSearch { terms, phone_digits }
}

fn random_filter(rng: &mut StdRng, depth: u32, segments: bool) -> Filter {
    let leaves = 22;
    let choice = if depth == 0 { rng.gen_range(0..leaves) } else { rng.gen_range(0..leaves + 6) };
    let children =
        |rng: &mut StdRng| (0..rng.gen_range(0..4)).map(|_| random_filter(rng, depth - 1, segments)).collect();
    match choice {
        0 => Filter::All,
        1 => Filter::Text(text_search(rng)),
        2 => Filter::TagIn(
            (0..rng.gen_range(1..3)).map(|_| pick(rng, &["vip", "lead", "x", "none", "älpha"]).into()).collect(),
        ),
        3 => Filter::TagContains(pick(rng, &["lead", "v", "contact", "zz"]).into()),
        4 => Filter::HasAnyTag,
        5 => Filter::StatusIn((0..rng.gen_range(1..3)).filter_map(|_| Status::parse(pick(rng, &STATUSES))).collect()),
        6 => Filter::BotIn(
            (0..rng.gen_range(1..3)).map(|_| (pick(rng, &Platform::ALL), bot(rng.gen_range(0..4)))).collect(),
        ),
        7 => Filter::HasPlatform(pick(rng, &Platform::ALL)),
        8 => Filter::AgentIn {
            agents: (0..rng.gen_range(0..3)).map(|_| agent(rng.gen_range(0..4))).collect(),
            unassigned: rng.gen(),
        },
        9 if segments => Filter::Segment(segment(rng.gen_range(0..4))),
        9 => Filter::Online,
        10 => Filter::LastMessageBy(
            (0..rng.gen_range(1..3)).map(|_| pick(rng, &[Sender::User, Sender::Bot, Sender::Agent])).collect(),
        ),
        11 => Filter::LastSeen(range(rng)),
        12 => Filter::Created(range(rng)),
        13 => Filter::Online,
        14 => Filter::Interacted,
        15 => Filter::LiveChat,
        16 => Filter::Subscriber,
        17 => Filter::Contact,
        18 => Filter::Ordered { since: maybe(rng, |r| Timestamp(time(r))) },
        19 => Filter::AttributeIs {
            key: pick(rng, &["plan", "source", "points", "nope"]).into(),
            value: pick(rng, &["gold", "ads", "1", "true"]).into(),
        },
        20 => Filter::AttributeContains {
            key: pick(rng, &["plan", "source", "consent"]).into(),
            value: pick(rng, &["gold", "a", "", "ru"]).into(),
        },
        21 => Filter::AttributeExists(pick(rng, &["plan", "source", "nope", "consent"]).into()),
        22 | 23 => Filter::And(children(rng)),
        24 | 25 => Filter::Or(children(rng)),
        _ => Filter::Not(Box::new(random_filter(rng, depth - 1, segments))),
    }
}

fn random_sort(rng: &mut StdRng) -> Sort {
    let by = pick(
        rng,
        &[SortKey::CreatedAt, SortKey::UpdatedAt, SortKey::LastSeenAt, SortKey::LastMessageAt, SortKey::Name],
    );
    Sort { by, order: pick(rng, &[Order::Asc, Order::Desc]) }
}

/// The identity lookups of the engine and of the scan give the same users, in the same order.
fn same_identities(index: &Engine, scan: &ScanEngine, context: &str) {
    let (a, b) = (index.identities(), scan.identities());
    for email in EMAILS {
        assert_eq!(a.by_email(email), b.by_email(email), "{context}: email {email}");
    }
    for digits in ["27825551234", "1825551234", "5551234", "272788", "27825559999", "4412345"] {
        assert_eq!(a.by_phone(digits), b.by_phone(digits), "{context}: phone {digits}");
        assert_eq!(a.by_whatsapp(digits), b.by_whatsapp(digits), "{context}: whatsapp {digits}");
    }
    for (platform, external) in [
        (Platform::Telegram, "jo_bot"),
        (Platform::Telegram, "annaTG"),
        (Platform::Facebook, "fb.zola"),
        (Platform::Facebook, "100200"),
        (Platform::Whatsapp, "+27 82 555 9999"),
    ] {
        assert_eq!(a.by_visitor(platform, external), b.by_visitor(platform, external), "{context}: {external}");
    }
}

/// Answers the same random queries from `index` and the scan.
fn same_answers(rng: &mut StdRng, index: &Engine, scan: &ScanEngine, pool: usize, context: &str) {
    for _ in 0..2 {
        let filter = random_filter(rng, 3, true);
        let clock = Clock { now: Timestamp(NOW - rng.gen_range(0..3) * 100_000), window_ms: 120_000 };
        let sort = random_sort(rng);
        let (page, limit) = (rng.gen_range(1..5), rng.gen_range(1..8));
        force_walk(Some(rng.gen()));
        let expected = scan.search(&filter, sort, page, limit, clock);
        let found = index.search(&filter, sort, page, limit, clock);
        let context = || format!("{context}: {filter:?} {sort:?} page {page} limit {limit}");
        assert_eq!(found.total, expected.total, "{}", context());
        assert_eq!(found.users, expected.users, "{}", context());
        assert_eq!(index.count(&filter, clock), expected.total, "{}", context());
        if rng.gen_bool(0.3) {
            force_walk(Some(rng.gen()));
            assert_eq!(index.all_sorted(&filter, sort, clock), scan.all_sorted(&filter, sort, clock), "{}", context());
        }
        let someone = user_id(rng.gen_range(0..pool));
        assert_eq!(index.segments_of(someone, clock), scan.segments_of(someone, clock), "{}", context());
    }
}

fn check(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut index = Engine::new();
    let mut scan = ScanEngine::new();
    let pool = rng.gen_range(3..40);
    let segments: Vec<(Id, Filter)> = (0..3).map(|n| (segment(n), random_filter(&mut rng, 2, false))).collect();
    index.set_segments(segments.clone());
    scan.set_segments(segments.clone());
    // The documents as the store holds them, for building an engine in bulk.
    let mut stored: std::collections::BTreeMap<usize, User> = std::collections::BTreeMap::new();
    for step in 0..rng.gen_range(10..80) {
        random_write(&mut rng, &mut index, &mut scan, &mut stored, pool);
        assert_eq!(index.len(), scan.len());
        assert_eq!(index.attribute_keys(), scan.attribute_keys());
        same_answers(&mut rng, &index, &scan, pool, &format!("seed {seed} step {step}"));
    }
    same_identities(&index, &scan, &format!("seed {seed}"));
    // A cold start: the same users built in bulk (in the store's order, or shuffled, some fed
    // twice), then written to as before.
    let mut users: Vec<User> = stored.values().cloned().collect();
    if rng.gen_bool(0.5) {
        users.shuffle(&mut rng);
    }
    if let Some(again) = users.first().cloned().filter(|_| rng.gen_bool(0.3)) {
        users.push(again);
    }
    // Identity lists keep the order users were added in: the scan is rebuilt in the bulk's order.
    let mut scan = ScanEngine::new();
    scan.set_segments(segments.clone());
    users.iter().for_each(|u| scan.upsert(u));
    let mut bulk = Engine::build(users);
    bulk.set_segments(segments);
    assert_eq!(bulk.len(), scan.len());
    assert_eq!(bulk.attribute_keys(), scan.attribute_keys());
    same_identities(&bulk, &scan, &format!("seed {seed} bulk"));
    for _ in 0..3 {
        let filter = random_filter(&mut rng, 3, true);
        let clock = Clock { now: Timestamp(NOW), window_ms: 120_000 };
        let sort = random_sort(&mut rng);
        let (found, expected) = (bulk.search(&filter, sort, 1, 10, clock), index.search(&filter, sort, 1, 10, clock));
        let context = || format!("seed {seed} bulk against incremental: {filter:?} {sort:?}");
        assert_eq!(found.total, expected.total, "{}", context());
        assert_eq!(found.users, expected.users, "{}", context());
    }
    for step in 0..rng.gen_range(1..20) {
        same_answers(&mut rng, &bulk, &scan, pool, &format!("seed {seed} bulk step {step}"));
        random_write(&mut rng, &mut bulk, &mut scan, &mut stored, pool);
    }
    same_answers(&mut rng, &bulk, &scan, pool, &format!("seed {seed} bulk end"));
    same_identities(&bulk, &scan, &format!("seed {seed} bulk end"));
    force_walk(None);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 800, ..ProptestConfig::default() })]

    #[test]
    fn index_engine_answers_as_the_scan_does(seed in any::<u64>()) {
        check(seed);
    }
}

/// The engine as its snapshot gives it back (segments are not stored: the caller sets them again).
fn reloaded(engine: &Engine) -> Engine {
    use std::io::{Seek, SeekFrom};
    let mut file = tempfile::tempfile().expect("a temporary file");
    let written = super::snapshot::write(engine, b"meta", &mut file).expect("the snapshot is written");
    let len = file.metadata().expect("its size").len();
    assert_eq!(written, len);
    file.seek(SeekFrom::Start(0)).expect("a seek");
    let header = super::snapshot::read_header(&mut file, len).expect("its header reads");
    assert_eq!(header.meta, b"meta");
    let mut loaded = super::snapshot::read_engine(&mut file, &header).expect("its engine reads");
    loaded.segments = engine.segments.clone();
    loaded.segment_order = engine.segment_order.clone();
    loaded
}

/// Random writes (in bulk or one by one), then a snapshot of the engine: the engine read back
/// answers every query as the scan does, and keeps doing so under further writes.
fn check_snapshot(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let pool = rng.gen_range(1..40);
    let segments: Vec<(Id, Filter)> = (0..3).map(|n| (segment(n), random_filter(&mut rng, 2, false))).collect();
    let mut scan = ScanEngine::new();
    scan.set_segments(segments.clone());
    let first: Vec<User> = (0..rng.gen_range(0..pool)).map(|n| random_user(&mut rng, n)).collect();
    first.iter().for_each(|u| scan.upsert(u));
    let mut stored: std::collections::BTreeMap<usize, User> = first.iter().cloned().enumerate().collect();
    let mut engine = if rng.gen_bool(0.5) {
        Engine::build(first)
    } else {
        let mut engine = Engine::new();
        first.iter().for_each(|u| engine.upsert(u));
        engine
    };
    engine.set_segments(segments);
    for _ in 0..rng.gen_range(0..40) {
        random_write(&mut rng, &mut engine, &mut scan, &mut stored, pool);
    }
    let mut loaded = reloaded(&engine);
    for step in 0..rng.gen_range(1..20) {
        let context = format!("seed {seed} snapshot step {step}");
        assert_eq!(loaded.len(), scan.len(), "{context}");
        assert_eq!(loaded.attribute_keys(), scan.attribute_keys(), "{context}");
        same_identities(&loaded, &scan, &context);
        same_answers(&mut rng, &loaded, &scan, pool, &context);
        random_write(&mut rng, &mut loaded, &mut scan, &mut stored, pool);
    }
    same_answers(&mut rng, &loaded, &scan, pool, &format!("seed {seed} snapshot end"));
    same_identities(&loaded, &scan, &format!("seed {seed} snapshot end"));
    force_walk(None);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn a_snapshot_answers_as_the_engine_it_was_taken_of(seed in any::<u64>()) {
        check_snapshot(seed);
    }
}

/// A damaged snapshot is refused or read, never a panic: every byte of the payload is changed in
/// turn with its checksum made to match again, so the structural checks alone stand in the way.
#[test]
fn a_damaged_snapshot_never_panics_on_reading() {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut rng = StdRng::seed_from_u64(7);
    let mut engine = Engine::build((0..12).map(|n| random_user(&mut rng, n)));
    engine.remove(user_id(3));
    engine.upsert(&random_user(&mut rng, 20));
    let mut file = tempfile::tempfile().expect("a temporary file");
    super::snapshot::write(&engine, b"{}", &mut file).expect("the snapshot is written");
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0)).expect("a seek");
    file.read_to_end(&mut bytes).expect("the file reads");
    let header = super::snapshot::read_header(&mut &bytes[..], bytes.len() as u64).expect("its header reads");
    let payload_at = bytes.len() - header.payload_len() as usize;
    let read = |bytes: &[u8]| {
        let header = super::snapshot::read_header(&mut &bytes[..], bytes.len() as u64)?;
        super::snapshot::read_engine(&mut &bytes[bytes.len() - header.payload_len() as usize..], &header)
    };
    assert!(read(&bytes).is_ok());
    for at in payload_at..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[at] ^= [0x01, 0x80, 0xff][at % 3];
        // The checksum alone refuses it.
        assert!(read(&damaged).is_err(), "byte {at} changed went unnoticed");
        let checksum = crc32fast::hash(&damaged[payload_at..]);
        damaged[payload_at - 4..payload_at].as_mut().write_all(&checksum.to_le_bytes()).expect("in place");
        let _ = read(&damaged);
    }
    for len in [0, 7, 30, payload_at - 1, payload_at + 100, bytes.len() - 1] {
        assert!(read(&bytes[..len]).is_err(), "truncated to {len} bytes and read");
    }
}
