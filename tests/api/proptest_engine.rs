//! Property tests: random users touched by random events, random filter bodies and sorts; the
//! server's answers must equal the naive reference of `reference.rs`.

use std::collections::HashMap;

use proptest::prelude::*;
use proptest::sample::subsequence;
use serde_json::{json, Value};

use crate::reference::{self, Catalog};
use crate::support::*;

const NAMES: [&str; 10] = ["José", "jose", "JOSÉ Silva", "Ana", "ana silva", "Émile", "Zoë", "zoe", "Bob", ""];
const EMAIL_LOCALS: [&str; 4] = ["ana", "jose", "gold.member", "x"];
const TAGS: [&str; 6] = ["vip", "VIP", "lead", "Lead", "news", "vip-gold"];
const STATUSES: [&str; 4] = ["OPEN", "CLOSED", "PENDING", "DELETED"];
const PLANS: [&str; 4] = ["gold", "Gold", "golden", "silver"];
const SENDERS: [&str; 3] = ["user", "bot", "agent"];
const DAYS: [&str; 5] = [
    "2025-03-01T10:00:00.000Z",
    "2025-03-02T12:00:00.000Z",
    "2025-03-03T10:00:00.000Z",
    "2025-03-03T23:59:59.999Z",
    "2025-03-05T08:30:00.000Z",
];

#[derive(Clone, Debug)]
struct UserSpec {
    /// None: imported; Some(day): first seen through a visitor message on that day.
    visitor_day: Option<usize>,
    name: Option<usize>,
    provided_name: Option<usize>,
    email: Option<usize>,
    phone: bool,
    whatsapp: bool,
    tags: Vec<usize>,
    status: usize,
    is_contact: bool,
    subscriber: bool,
    /// Index into the fixed bots of each channel (None: no bot).
    website: Option<usize>,
    whatsapp_bot: bool,
    telegram_bot: bool,
    agent: Option<usize>,
    plan: Option<usize>,
}

#[derive(Clone, Debug)]
enum When {
    Day(usize),
    Now,
    LongAgo,
}

#[derive(Clone, Debug)]
enum EventSpec {
    Message { user: usize, by: usize, when: When },
    Presence { user: usize, online: bool, when: When },
    Order { user: usize, day: usize },
    LiveChat { user: usize, active: bool },
    Read { user: usize },
}

fn user_spec() -> impl Strategy<Value = UserSpec> {
    (
        (
            proptest::option::of(0..DAYS.len()),
            proptest::option::of(0..NAMES.len()),
            proptest::option::of(0..NAMES.len()),
        ),
        (proptest::option::of(0..EMAIL_LOCALS.len()), any::<bool>(), any::<bool>()),
        (subsequence((0..TAGS.len()).collect::<Vec<_>>(), 0..=3), 0..STATUSES.len(), any::<bool>(), any::<bool>()),
        (proptest::option::of(0..2usize), any::<bool>(), any::<bool>(), proptest::option::of(0..2usize)),
        proptest::option::of(0..PLANS.len()),
    )
        .prop_map(
            |(
                (visitor_day, name, provided_name),
                (email, phone, whatsapp),
                (tags, status, is_contact, subscriber),
                (website, whatsapp_bot, telegram_bot, agent),
                plan,
            )| {
                UserSpec {
                    visitor_day,
                    name,
                    provided_name,
                    email,
                    phone,
                    whatsapp,
                    tags,
                    status,
                    is_contact,
                    subscriber,
                    website,
                    whatsapp_bot,
                    telegram_bot,
                    agent,
                    plan,
                }
            },
        )
}

fn when() -> impl Strategy<Value = When> {
    prop_oneof![(0..DAYS.len()).prop_map(When::Day), Just(When::Now), Just(When::LongAgo)]
}

fn event_spec(users: usize) -> impl Strategy<Value = EventSpec> {
    let user = 0..users;
    prop_oneof![
        3 => (user.clone(), 0..3usize, when()).prop_map(|(user, by, when)| EventSpec::Message { user, by, when }),
        2 => (user.clone(), any::<bool>(), when()).prop_map(|(user, online, when)| EventSpec::Presence { user, online, when }),
        2 => (user.clone(), 0..DAYS.len()).prop_map(|(user, day)| EventSpec::Order { user, day }),
        1 => (user.clone(), any::<bool>()).prop_map(|(user, active)| EventSpec::LiveChat { user, active }),
        1 => user.prop_map(|user| EventSpec::Read { user }),
    ]
}

fn dataset() -> impl Strategy<Value = (Vec<UserSpec>, Vec<EventSpec>)> {
    proptest::collection::vec(user_spec(), 1..14).prop_flat_map(|users| {
        let n = users.len();
        (Just(users), proptest::collection::vec(event_spec(n), 0..15))
    })
}

/// What a filter body refers to by index: the catalog of the case's workspace.
struct Fixture {
    app: TestApp,
    web: [String; 2],
    wa: String,
    tg: String,
    agents: [String; 2],
    segments: Vec<String>,
    catalog: Catalog,
}

async fn fixture() -> Fixture {
    let app = spawn_app().await;
    let web = [app.bot("web 1", "WEBSITE").await, app.bot("web 2", "WEBSITE").await];
    let wa = app.bot("wa", "WHATSAPP").await;
    let tg = app.bot("tg", "TELEGRAM").await;
    let agents = [app.agent_named("Ann").await, app.agent_named("Bob").await];
    let definitions = vec![
        json!({"segmentName": "vip or gold", "match": "any", "conditions": [
            {"field": "tag", "operator": "is", "value": "VIP"},
            {"field": "attribute", "key": "plan", "operator": "is", "value": "gold"}
        ]}),
        json!({"segmentName": "tagged on whatsapp", "platform": "WHATSAPP", "match": "all", "conditions": [
            {"field": "tag", "operator": "exists"}
        ]}),
        json!({"segmentName": "web 1 without plan", "botId": web[0], "match": "all", "conditions": [
            {"field": "attribute", "key": "Plan", "operator": "notExists"},
            {"field": "tag", "operator": "isNot", "value": "lead"}
        ]}),
        json!({"segmentName": "goldish", "match": "all", "conditions": [
            {"field": "attribute", "key": "plan", "operator": "contains", "value": "GOLD"}
        ]}),
    ];
    let mut segments = Vec::new();
    let mut segment_map = HashMap::new();
    for definition in definitions {
        let id = app.segment(definition.clone()).await;
        segment_map.insert(id.clone(), definition);
        segments.push(id);
    }
    let mut bot_platforms = HashMap::new();
    for (bot, platform) in [(&web[0], "WEBSITE"), (&web[1], "WEBSITE"), (&wa, "WHATSAPP"), (&tg, "TELEGRAM")] {
        bot_platforms.insert(bot.clone(), platform.to_string());
    }
    let catalog = Catalog { segments: segment_map, bot_platforms };
    Fixture { app, web, wa, tg, agents, segments, catalog }
}

fn at(when: &When) -> String {
    match when {
        When::Day(day) => DAYS[*day].to_string(),
        When::Now => now(),
        When::LongAgo => secs_ago(600),
    }
}

/// Creates the users and applies the events; every user as GET answers it.
async fn populate(fx: &Fixture, users: &[UserSpec], events: &[EventSpec]) -> Vec<Value> {
    let app = &fx.app;
    let mut rows = Vec::new();
    for (i, spec) in users.iter().enumerate() {
        let mut details = json!({"tags": spec.tags.iter().map(|t| TAGS[*t]).collect::<Vec<_>>()});
        if let Some(name) = spec.name {
            details["name"] = json!(NAMES[name]);
        }
        if let Some(name) = spec.provided_name {
            details["userProvidedName"] = json!(NAMES[name]);
        }
        let mut contact = json!({});
        if let Some(local) = spec.email {
            contact["email"] = json!(format!("{}{i}@Example.org", EMAIL_LOCALS[local]));
        }
        if spec.phone {
            contact["phone"] = json!({"prefix": "+27", "number": format!("82 555 {i:04}")});
        }
        details["contact"] = contact;
        if spec.whatsapp {
            details["whatsAppNumber"] = json!(format!("+27 83 0{i:03} 99"));
        }
        if let Some(plan) = spec.plan {
            details["attributes"] = json!([{"key": "plan", "value": PLANS[plan]}]);
        }
        let mut row = json!({
            "status": STATUSES[spec.status],
            "isContact": spec.is_contact,
            "isSubscriber": spec.subscriber,
            "profile": {"userDetails": details},
        });
        if let Some(day) = spec.visitor_day {
            let id = app.web_visitor(&fx.web[0], &format!("visitor-{i}"), DAYS[day]).await;
            row["_id"] = json!(id);
        } else if let Some(web) = spec.website {
            row["_botWebsite"] = json!(fx.web[web]);
        }
        if spec.whatsapp_bot {
            row["_botWhatsapp"] = json!(fx.wa);
        }
        if spec.telegram_bot {
            row["_botTelegram"] = json!(fx.tg);
        }
        if let Some(agent) = spec.agent {
            row["_agentAssigned"] = json!(fx.agents[agent]);
        }
        rows.push(row);
    }
    let data = app.import(Value::Array(rows)).await;
    assert_eq!(data["rejected"], json!([]), "every generated row is valid: {data}");
    let ids: Vec<String> = data["ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    let mut distinct = ids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), ids.len(), "each row is its own user");

    let bodies: Vec<Value> = events
        .iter()
        .map(|event| match event {
            EventSpec::Message { user, by, when } => json!({
                "type": "message", "userId": ids[*user], "by": SENDERS[*by], "text": "m", "at": at(when)
            }),
            EventSpec::Presence { user, online, when } => {
                json!({"type": "presence", "userId": ids[*user], "online": online, "at": at(when)})
            }
            EventSpec::Order { user, day } => {
                json!({"type": "order", "userId": ids[*user], "orderId": format!("o-{user}-{day}"), "at": DAYS[*day]})
            }
            EventSpec::LiveChat { user, active } => json!({"type": "liveChat", "userId": ids[*user], "active": active}),
            EventSpec::Read { user } => json!({"type": "read", "userId": ids[*user]}),
        })
        .collect();
    if !bodies.is_empty() {
        app.events_ok(Value::Array(bodies)).await;
    }
    let mut read = Vec::new();
    for id in &ids {
        read.push(app.user(id).await);
    }
    read
}

#[derive(Clone, Debug)]
struct FilterSpec {
    search: Option<usize>,
    tags: Option<Vec<usize>>,
    statuses: Option<Vec<usize>>,
    /// Per channel field: indexes into that channel's candidates.
    bots: [Option<Vec<usize>>; 3],
    agents: Option<Vec<usize>>,
    segments: Option<Vec<usize>>,
    senders: Option<Vec<usize>>,
    last_seen: Option<(usize, usize)>,
    created: Option<(usize, usize)>,
    /// isOnline, userInteracted, isLiveChatActive, isSubscriber: (value, named).
    flags: [Option<(bool, bool)>; 4],
    ordered: Option<(bool, usize, bool)>,
    is_contact: Option<bool>,
    sort: Option<(usize, bool)>,
}

const SEARCHES: [&str; 12] =
    ["", "jose", "JOSÉ", "ana silva", "gold", "example.org", "+27 82 555", "830", "zoe", "  ", "emile x", "0003"];
const BOUNDS: [&str; 6] =
    ["", "2025-03-02", "2025-03-03", "2025-03-03T10:00:00.000Z", "2025-03-02T12:00:00.000Z", "2999-01-01"];
const ORDER_SINCE: [&str; 3] = ["", "2025-03-03T00:00:00.000Z", "2025-03-02T12:00:00.000Z"];
const SORT_KEYS: [&str; 5] = ["lastSeenAt", "createdAt", "updatedAt", "lastMessageAt", "name"];
const FLAGS: [&str; 4] = ["isOnline", "userInteracted", "isLiveChatActive", "isSubscriber"];

fn some_of(n: usize) -> impl Strategy<Value = Option<Vec<usize>>> {
    proptest::option::weighted(0.2, subsequence((0..n).collect::<Vec<_>>(), 0..=n.min(3)))
}

fn filter_spec() -> impl Strategy<Value = FilterSpec> {
    let flag = || proptest::option::weighted(0.2, (any::<bool>(), any::<bool>()));
    (
        (proptest::option::weighted(0.25, 0..SEARCHES.len()), some_of(4), some_of(STATUSES.len())),
        (some_of(3), some_of(2), some_of(2), some_of(3), some_of(4), some_of(3)),
        (
            proptest::option::weighted(0.2, (0..BOUNDS.len(), 0..BOUNDS.len())),
            proptest::option::weighted(0.2, (0..BOUNDS.len(), 0..BOUNDS.len())),
        ),
        [flag(), flag(), flag(), flag()],
        proptest::option::weighted(0.2, (any::<bool>(), 0..ORDER_SINCE.len(), any::<bool>())),
        proptest::option::of(any::<bool>()),
        proptest::option::of((0..SORT_KEYS.len(), any::<bool>())),
    )
        .prop_map(
            |(
                (search, tags, statuses),
                (web, wa, tg, agents, segments, senders),
                (last_seen, created),
                flags,
                ordered,
                is_contact,
                sort,
            )| {
                FilterSpec {
                    search,
                    tags,
                    statuses,
                    bots: [web, wa, tg],
                    agents,
                    segments,
                    senders,
                    last_seen,
                    created,
                    flags,
                    ordered,
                    is_contact,
                    sort,
                }
            },
        )
}

fn range(bounds: (usize, usize)) -> Value {
    let (start, end) = (BOUNDS[bounds.0], BOUNDS[bounds.1]);
    let (s, e) = (reference::bound(start, false), reference::bound(end, true));
    if let (Some(s), Some(e)) = (s, e) {
        if s > e {
            return json!({"startAt": end, "endsAt": start});
        }
    }
    json!({"startAt": start, "endsAt": end})
}

fn filter_body(fx: &Fixture, spec: &FilterSpec) -> Value {
    let mut body = json!({});
    let mut named: Vec<&str> = Vec::new();
    if let Some(search) = spec.search {
        body["searchText"] = json!(SEARCHES[search]);
    }
    let pick = |list: &Option<Vec<usize>>, from: &[&str]| -> Option<Value> {
        list.as_ref().map(|l| json!(l.iter().map(|i| from[*i]).collect::<Vec<_>>()))
    };
    if let Some(tags) = pick(&spec.tags, &["vip", "LEAD", "news", "gold"]) {
        body["tags"] = tags;
    }
    if let Some(statuses) = pick(&spec.statuses, &STATUSES) {
        body["status"] = statuses;
    }
    // Each channel's list may name a bot of another channel, which matches nothing there.
    let web_candidates = [fx.web[0].as_str(), fx.web[1].as_str(), fx.wa.as_str()];
    let wa_candidates = [fx.wa.as_str(), fx.tg.as_str()];
    let tg_candidates = [fx.tg.as_str(), NO_SUCH_ID];
    for (field, candidates, list) in [
        ("_botWebsite", &web_candidates[..], &spec.bots[0]),
        ("_botWhatsapp", &wa_candidates[..], &spec.bots[1]),
        ("_botTelegram", &tg_candidates[..], &spec.bots[2]),
    ] {
        if let Some(value) = pick(list, candidates) {
            body[field] = value;
        }
    }
    if let Some(agents) = pick(&spec.agents, &[fx.agents[0].as_str(), fx.agents[1].as_str(), "UNASSIGNED"]) {
        body["_agentAssigned"] = agents;
    }
    let segment_ids: Vec<&str> = fx.segments.iter().map(String::as_str).collect();
    if let Some(segments) = pick(&spec.segments, &segment_ids) {
        body["segments"] = segments;
    }
    if let Some(senders) = pick(&spec.senders, &["user", "bot", "agent"]) {
        body["lastMessageBy"] = senders;
    }
    if let Some(bounds) = spec.last_seen {
        body["lastSeenAt"] = range(bounds);
    }
    if let Some(bounds) = spec.created {
        body["createdAt"] = range(bounds);
    }
    for (field, flag) in FLAGS.iter().zip(&spec.flags) {
        if let Some((value, is_named)) = flag {
            body[*field] = json!(value);
            if *is_named {
                named.push(field);
            }
        }
    }
    if let Some((status, since, is_named)) = spec.ordered {
        body["hasOrdered"] = json!({"status": status, "lastAt": ORDER_SINCE[since]});
        if is_named {
            named.push("hasOrdered");
        }
    }
    if let Some(is_contact) = spec.is_contact {
        body["isContact"] = json!(is_contact);
    }
    if let Some((key, ascending)) = spec.sort {
        body["sort"] = json!({"by": SORT_KEYS[key], "order": if ascending { "asc" } else { "desc" }});
    }
    body["applicableFilters"] = json!(named);
    body
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 40, ..ProptestConfig::default() })]

    #[test]
    fn the_engine_matches_the_reference_filter(
        (users, events) in dataset(),
        filters in proptest::collection::vec(filter_spec(), 8),
    ) {
        runtime().block_on(async {
            let fx = fixture().await;
            let read = populate(&fx, &users, &events).await;
            for spec in &filters {
                let body = filter_body(&fx, spec);
                let expected = reference::query(&read, &body, &fx.catalog);
                let (ids, total) = fx.app.all_ids(body.clone()).await;
                let mut got_set = ids.clone();
                got_set.sort();
                let mut expected_set = expected.clone();
                expected_set.sort();
                assert_eq!(got_set, expected_set, "the users matching {body}\nusers: {read:#?}");
                assert_eq!(total, expected.len() as u64, "meta.total of {body}");
            }
        });
    }

    #[test]
    fn the_engine_sorts_like_the_reference(
        (users, events) in dataset(),
        key in 0..SORT_KEYS.len(),
        ascending in any::<bool>(),
        is_contact in any::<bool>(),
        limit in 1..4usize,
    ) {
        runtime().block_on(async {
            let fx = fixture().await;
            let read = populate(&fx, &users, &events).await;
            for sort in [json!({"by": SORT_KEYS[key], "order": if ascending { "asc" } else { "desc" }}), json!(null)] {
                let mut body = json!({"status": ["OPEN", "CLOSED", "PENDING", "DELETED"], "isContact": is_contact});
                if !sort.is_null() {
                    body["sort"] = sort;
                }
                let expected = reference::query(&read, &body, &fx.catalog);
                let mut paged = Vec::new();
                for page in 1.. {
                    let mut this = body.clone();
                    this["page"] = json!(page);
                    this["limit"] = json!(limit);
                    let answer = fx.app.query(this).await;
                    assert_eq!(answer["meta"]["total"], json!(expected.len()));
                    let ids = ids_of(&answer);
                    if ids.is_empty() {
                        break;
                    }
                    paged.extend(ids);
                }
                assert_eq!(paged, expected, "the order of {body}\nusers: {read:#?}");
            }
        });
    }
}
