//! One realistic demo user, drawn from the people the demo business serves.

use anyhow::anyhow;
use rand::distributions::{Distribution, WeightedIndex};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_distr::Zipf;
use serde_json::Value;

use super::ascii::ascii_letters;
use super::cultures::{Culture, CULTURES};
use super::words::{
    AGENT_TEXTS, AGENT_WEIGHTS, BOT_TEXTS, COMPANIES, GLOBAL_EMAIL_DOMAINS, HANDLES, NICKNAMES, NOTES, PLANS, ROASTS,
    SOURCES, TAGS, USER_TEXTS,
};
use crate::domain::{Id, Phone, Platform, Sender, Status, Timestamp};
use crate::model::{Attribute, Message, Note, Orders, Presence, Profile, User};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// How far back the first users go.
const HISTORY: i64 = 730 * DAY;
/// The business gets e^GROWTH times more new users a day now than two years ago.
const GROWTH: f64 = 2.0;
/// Everyone but the online users was last active longer ago than the presence window (120 s by default).
const QUIET: i64 = 3 * MINUTE;
/// The share of users online now...
const ONLINE_SHARE: f64 = 0.005;
/// ...and the one user who always is, so that ten users are enough to see someone online.
const ALWAYS_ONLINE: usize = 3;

/// How often a user's first channel is each one, in `Platform::ALL` order.
const CHANNEL_WEIGHTS: [u32; 4] = [30, 40, 12, 18];
/// How many users of a hundred have 0, 1, ... 5 tags.
const TAG_COUNT_WEIGHTS: [u32; 6] = [25, 30, 20, 13, 8, 4];
const MAX_TAGS: usize = TAG_COUNT_WEIGHTS.len() - 1;
const STATUSES: [(&str, u32); 4] = [("OPEN", 71), ("CLOSED", 18), ("PENDING", 10), ("DELETED", 1)];

/// The tables every demo user is drawn from, built once: the business's bots and agents, the
/// cultures with their names already spelled in ASCII, and the weighted choices.
pub struct Population {
    bots: [Id; 4],
    agents: Vec<Id>,
    agent_pick: WeightedIndex<u32>,
    peoples: Vec<People>,
    people_pick: WeightedIndex<u32>,
    channel_pick: WeightedIndex<u32>,
    tag_count: WeightedIndex<u32>,
    tag_rank: Zipf<f64>,
    plan_pick: WeightedIndex<u32>,
    source_pick: WeightedIndex<u32>,
    statuses: Vec<Status>,
    status_pick: WeightedIndex<u32>,
}

/// One culture, with the ASCII spelling of each name (for emails and handles).
struct People {
    culture: &'static Culture,
    given_ascii: Vec<String>,
    family_ascii: Vec<String>,
}

/// The person behind one user.
struct Person<'a> {
    culture: &'static Culture,
    given: &'static str,
    family: &'static str,
    given_ascii: &'a str,
    family_ascii: &'a str,
}

/// How much of their name a user told us.
#[derive(Clone, Copy, PartialEq)]
enum Naming {
    Full,
    ProvidedOnly,
    Anonymous,
}

impl Population {
    /// `bots` in `Platform::ALL` order; `agents` busiest first.
    pub fn new(bots: [Id; 4], agents: Vec<Id>) -> anyhow::Result<Population> {
        let agent_weights = (0..agents.len()).map(|i| AGENT_WEIGHTS.get(i).copied().unwrap_or(5));
        let statuses = STATUSES.iter().map(|(name, _)| Status::parse(name).ok_or_else(|| anyhow!("bad status {name}")));
        Ok(Population {
            bots,
            agent_pick: WeightedIndex::new(agent_weights).map_err(|e| anyhow!("demo agents: {e}"))?,
            agents,
            peoples: CULTURES.iter().map(People::new).collect(),
            people_pick: weighted(CULTURES.iter().map(|culture| culture.weight))?,
            channel_pick: weighted(CHANNEL_WEIGHTS)?,
            tag_count: weighted(TAG_COUNT_WEIGHTS)?,
            tag_rank: Zipf::new(TAGS.len() as u64, 1.07).map_err(|e| anyhow!("demo tags: {e:?}"))?,
            plan_pick: weighted(PLANS.iter().map(|(_, weight)| *weight))?,
            source_pick: weighted(SOURCES.iter().map(|(_, weight)| *weight))?,
            statuses: statuses.collect::<anyhow::Result<_>>()?,
            status_pick: weighted(STATUSES.iter().map(|(_, weight)| *weight))?,
        })
    }

    fn person<R: Rng>(&self, rng: &mut R) -> Person<'_> {
        let people = &self.peoples[self.people_pick.sample(rng)];
        let culture = people.culture;
        let given = rng.gen_range(0..culture.given_names.len());
        let family = rng.gen_range(0..culture.family_names.len());
        Person {
            culture,
            given: culture.given_names[given],
            family: culture.family_names[family],
            given_ascii: &people.given_ascii[given],
            family_ascii: &people.family_ascii[family],
        }
    }

    /// The user's first channel, and a second one for some.
    fn channels<R: Rng>(&self, rng: &mut R) -> (Platform, Option<Platform>) {
        let first = Platform::ALL[self.channel_pick.sample(rng)];
        let second = rng.gen_bool(0.15).then(|| Platform::ALL[(first.index() + rng.gen_range(1..4)) % 4]);
        (first, second)
    }

    fn agent<R: Rng>(&self, rng: &mut R) -> Id {
        self.agents[self.agent_pick.sample(rng)]
    }
}

impl People {
    fn new(culture: &'static Culture) -> People {
        People { culture, given_ascii: spelled(culture.given_names), family_ascii: spelled(culture.family_names) }
    }
}

fn spelled(names: &[&str]) -> Vec<String> {
    let spell = |name: &&str| Some(ascii_letters(name)).filter(|ascii| !ascii.is_empty());
    names.iter().map(|name| spell(name).unwrap_or_else(|| "user".to_string())).collect()
}

fn weighted(weights: impl IntoIterator<Item = u32>) -> anyhow::Result<WeightedIndex<u32>> {
    WeightedIndex::new(weights).map_err(|e| anyhow!("demo weights: {e}"))
}

impl Person<'_> {
    fn full_name(&self) -> String {
        match self.culture.family_name_first {
            true => format!("{} {}", self.family, self.given),
            false => format!("{} {}", self.given, self.family),
        }
    }
}

/// The `index`-th demo user, as it stands at `now`.
pub fn user<R: Rng>(rng: &mut R, population: &Population, index: usize, now: Timestamp) -> User {
    let online = index == ALWAYS_ONLINE || rng.gen_bool(ONLINE_SHARE);
    let horizon = if online { now.0 } else { now.0 - QUIET };
    let mut user = User::new(Id::generate(), created_at(rng, now.0 - QUIET));
    let person = population.person(rng);
    let (first, second) = population.channels(rng);
    for platform in std::iter::once(first).chain(second) {
        user.bots[platform.index()] = Some(population.bots[platform.index()]);
    }
    user.profile = profile(rng, &person, first);
    add_identities(rng, &mut user, &person);
    user.profile.tags = tags(rng, population);
    user.profile.attributes = attributes(rng, population, &person);
    user.status = population.statuses[population.status_pick.sample(rng)].clone();
    user.agent = rng.gen_bool(0.4).then(|| population.agent(rng));
    match online {
        true => come_online(rng, &mut user, &person, now),
        false => converse(rng, &mut user, &person, first, horizon),
    }
    set_relationship(rng, &mut user, online);
    user.orders = orders(rng, &user, horizon);
    user.notes = notes(rng);
    user.updated_at = updated_at(rng, &user, horizon);
    user
}

fn pick<R: Rng>(rng: &mut R, items: &[&'static str]) -> &'static str {
    items.choose(rng).copied().unwrap_or_default()
}

/// A time in `[from, to]`; `from` when the range is empty.
fn between<R: Rng>(rng: &mut R, from: i64, to: i64) -> i64 {
    if to <= from {
        return from;
    }
    rng.gen_range(from..=to)
}

/// More users came recently than long ago: the age is exponentially distributed over the history.
fn created_at<R: Rng>(rng: &mut R, newest: i64) -> Timestamp {
    let share_of_history = -(1.0 - rng.gen::<f64>() * (1.0 - (-GROWTH).exp())).ln() / GROWTH;
    Timestamp(newest - (share_of_history * HISTORY as f64) as i64)
}

fn profile<R: Rng>(rng: &mut R, person: &Person, first: Platform) -> Profile {
    let naming = naming(rng, first);
    let mut profile = Profile::default();
    match naming {
        Naming::Full => {
            profile.name = Some(person.full_name());
            profile.user_provided_name = rng.gen_bool(0.1).then(|| person.given.to_string());
        }
        Naming::ProvidedOnly => profile.user_provided_name = Some(provided_name(rng, person)),
        Naming::Anonymous => {}
    }
    profile.email = email(rng, person, naming);
    if rng.gen_bool(0.55) {
        profile.country = Some(person.culture.country.to_string());
        profile.city = rng.gen_bool(0.7).then(|| pick(rng, person.culture.cities).to_string());
    }
    profile
}

/// Website visitors are often anonymous; Facebook always tells the name.
fn naming<R: Rng>(rng: &mut R, first: Platform) -> Naming {
    let (full, provided) = match first {
        Platform::Website => (45, 20),
        Platform::Whatsapp => (60, 30),
        Platform::Telegram => (50, 35),
        Platform::Facebook => (90, 5),
    };
    match rng.gen_range(0..100) {
        n if n < full => Naming::Full,
        n if n < full + provided => Naming::ProvidedOnly,
        _ => Naming::Anonymous,
    }
}

/// What a user calls themselves when they give no full name.
fn provided_name<R: Rng>(rng: &mut R, person: &Person) -> String {
    match rng.gen_range(0..20) {
        0..=10 => person.given.to_string(),
        11..=13 => person.given.to_lowercase(),
        14..=16 => format!("{} {}.", person.given, person.family.chars().next().unwrap_or('X')),
        _ => pick(rng, NICKNAMES).to_string(),
    }
}

fn email<R: Rng>(rng: &mut R, person: &Person, naming: Naming) -> Option<String> {
    let share = match naming {
        Naming::Full => 0.7,
        Naming::ProvidedOnly => 0.35,
        Naming::Anonymous => 0.1,
    };
    if !rng.gen_bool(share) {
        return None;
    }
    let mut email = match naming {
        Naming::Anonymous => format!("{}{}", pick(rng, HANDLES), rng.gen_range(1..10_000)),
        _ => mailbox_name(rng, person),
    };
    email.push('@');
    let local_domain = person.culture.email_domains.choose(rng).filter(|_| rng.gen_bool(0.4));
    email.push_str(local_domain.copied().unwrap_or_else(|| pick(rng, GLOBAL_EMAIL_DOMAINS)));
    match rng.gen_range(0..100) {
        0..=84 => email.make_ascii_lowercase(),
        85..=96 => {}
        _ => email.make_ascii_uppercase(),
    }
    Some(email)
}

/// The part before the @, from the name as written in ASCII: "Joao.Goncalves", "jsilva", "ana_souza1990".
fn mailbox_name<R: Rng>(rng: &mut R, person: &Person) -> String {
    let (given, family) = (person.given_ascii, person.family_ascii);
    let mut name = match rng.gen_range(0..6) {
        0 => format!("{given}.{family}"),
        1 => format!("{given}{family}{:02}", rng.gen_range(0..100)),
        2 => format!("{}{family}", given.get(..1).unwrap_or_default()),
        3 => format!("{given}_{family}"),
        4 => format!("{family}.{given}"),
        _ => format!("{given}{}", rng.gen_range(1960..2010)),
    };
    if rng.gen_bool(0.5) {
        name.push_str(&rng.gen_range(1..1000).to_string());
    }
    name
}

/// The user's identity on each of their channels, and a phone for many.
fn add_identities<R: Rng>(rng: &mut R, user: &mut User, person: &Person) {
    let bots = user.bots;
    let on = |platform: Platform| bots[platform.index()].is_some();
    let profile = &mut user.profile;
    if on(Platform::Whatsapp) {
        let phone = mobile(rng, person.culture);
        profile.whatsapp_number = Some(phone.digits());
        profile.phone = rng.gen_bool(0.85).then_some(phone);
    } else if rng.gen_bool(0.3) {
        profile.phone = Some(typed_phone(rng, person.culture));
    }
    if on(Platform::Website) {
        user.uuid = Some(visitor_uuid(rng));
    }
    if on(Platform::Telegram) {
        profile.telegram_user_name = Some(telegram_user_name(rng, person));
    }
    if on(Platform::Facebook) {
        profile.facebook_profile_id = Some(rng.gen_range(1_000_000_000_000_000u64..10_000_000_000_000_000).to_string());
    }
    let picture_share = if on(Platform::Facebook) {
        0.4
    } else if on(Platform::Telegram) {
        0.25
    } else {
        0.08
    };
    if rng.gen_bool(picture_share) {
        profile.picture = Some(format!("https://avatars.example.com/{:016x}.jpg", rng.gen::<u64>()));
    }
}

fn mobile<R: Rng>(rng: &mut R, culture: &Culture) -> Phone {
    let mut number = String::with_capacity(culture.number_len);
    number.push_str(pick(rng, culture.mobile_starts));
    while number.len() < culture.number_len {
        number.push(char::from(b'0' + rng.gen_range(0..10u8)));
    }
    Phone { prefix: Some(culture.prefix.to_string()), number }
}

/// A phone typed into a web form: a few people leave out the country code and write the trunk 0.
fn typed_phone<R: Rng>(rng: &mut R, culture: &Culture) -> Phone {
    let phone = mobile(rng, culture);
    if culture.prefix == "1" || !rng.gen_bool(0.1) {
        return phone;
    }
    Phone { prefix: None, number: format!("0{}", phone.number) }
}

/// A random version 4 UUID, as website widgets make for their visitors.
fn visitor_uuid<R: Rng>(rng: &mut R) -> String {
    let bits: u128 = rng.gen();
    let bits = (bits & !(0xF << 76)) | (0x4 << 76);
    let bits = (bits & !(0x3 << 62)) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// 5 to 32 characters of letters, digits and _, starting with a letter.
fn telegram_user_name<R: Rng>(rng: &mut R, person: &Person) -> String {
    let (given, family) = (person.given_ascii, person.family_ascii);
    let mut name = match rng.gen_range(0..4) {
        0 => format!("{given}_{family}"),
        1 => format!("{given}{family}{}", rng.gen_range(1..100)),
        2 => format!("{}{}", pick(rng, HANDLES).replace('.', "_"), rng.gen_range(10..1000)),
        _ => format!("{given}{}", rng.gen_range(1960..2010)),
    };
    if rng.gen_bool(0.7) {
        name.make_ascii_lowercase();
    }
    while name.len() < 5 {
        name.push('_');
    }
    name.truncate(32);
    name
}

/// Up to five tags, drawn by a Zipf law over `TAGS`, never two the same; a few written in capitals.
fn tags<R: Rng>(rng: &mut R, population: &Population) -> Vec<String> {
    let count = population.tag_count.sample(rng);
    let mut ranks = [0usize; MAX_TAGS];
    let mut chosen = 0;
    for _ in 0..4 * MAX_TAGS {
        if chosen == count {
            break;
        }
        let rank = (population.tag_rank.sample(rng) as usize).saturating_sub(1).min(TAGS.len() - 1);
        if !ranks[..chosen].contains(&rank) {
            ranks[chosen] = rank;
            chosen += 1;
        }
    }
    let written =
        |rank: &usize, capitals: bool| if capitals { TAGS[*rank].to_uppercase() } else { TAGS[*rank].to_string() };
    ranks[..chosen].iter().map(|rank| written(rank, rng.gen_bool(0.03))).collect()
}

fn attributes<R: Rng>(rng: &mut R, population: &Population, person: &Person) -> Vec<Attribute> {
    let mut attributes = Vec::with_capacity(4);
    if rng.gen_bool(0.85) {
        attributes.push(attribute("plan", PLANS[population.plan_pick.sample(rng)].0));
    }
    if rng.gen_bool(0.7) {
        attributes.push(attribute("language", person.culture.language));
    }
    if rng.gen_bool(0.55) {
        attributes.push(attribute("source", SOURCES[population.source_pick.sample(rng)].0));
    }
    if rng.gen_bool(0.2) {
        attributes.push(attribute("loyaltyPoints", rng.gen_range(0..5_000)));
    }
    if rng.gen_bool(0.4) {
        attributes.push(attribute("marketingConsent", rng.gen_bool(0.7)));
    }
    if rng.gen_bool(0.25) {
        attributes.push(attribute("favouriteRoast", pick(rng, ROASTS)));
    }
    if rng.gen_bool(0.04) {
        attributes.push(attribute("company", pick(rng, COMPANIES)));
    }
    attributes
}

fn attribute(key: &str, value: impl Into<Value>) -> Attribute {
    Attribute { key: key.to_string(), value: value.into() }
}

/// Someone writing to us right now.
fn come_online<R: Rng>(rng: &mut R, user: &mut User, person: &Person, now: Timestamp) {
    user.last_seen_at = Some(now);
    user.user_interacted = true;
    user.last_message = Some(message(rng, person, Sender::User, now.0));
    user.presence = Some(Presence { online: true, at: now });
    user.unread = rng.gen_range(1..=3);
}

/// The conversation so far. Only a message by the user moves lastSeenAt, so a user who never wrote
/// was never seen; a user's message is also their latest presence signal unless they left after it.
fn converse<R: Rng>(rng: &mut R, user: &mut User, person: &Person, first: Platform, horizon: i64) {
    let created = user.created_at.0;
    if !rng.gen_bool(writing_share(first)) {
        if rng.gen_bool(0.35) {
            let by = if rng.gen_bool(0.8) { Sender::Bot } else { Sender::Agent };
            let at = between(rng, created, horizon);
            user.last_message = Some(message(rng, person, by, at));
        }
        return;
    }
    let seen = last_seen_at(rng, created, horizon);
    user.last_seen_at = Some(Timestamp(seen));
    user.user_interacted = true;
    let by = last_sender(rng, user.agent.is_some());
    let at = match by {
        Sender::User => seen,
        Sender::Bot => seen + rng.gen_range(1_000..20_000),
        Sender::Agent => seen + rng.gen_range(MINUTE..6 * HOUR),
    };
    user.last_message = Some(message(rng, person, by, at.min(horizon)));
    if by == Sender::User && rng.gen_bool(0.55) {
        user.unread = unread_count(rng);
    }
    user.presence = Some(match rng.gen_bool(0.7) {
        true => Presence { online: true, at: Timestamp(seen) },
        false => Presence { online: false, at: Timestamp((seen + rng.gen_range(MINUTE..30 * MINUTE)).min(horizon)) },
    });
}

/// Many website visitors open the widget and never write; on messengers nearly everyone writes.
fn writing_share(first: Platform) -> f64 {
    match first {
        Platform::Website => 0.7,
        Platform::Whatsapp => 0.92,
        Platform::Telegram => 0.9,
        Platform::Facebook => 0.85,
    }
}

/// Some users came for one conversation right after they arrived; the others came back since.
fn last_seen_at<R: Rng>(rng: &mut R, created: i64, horizon: i64) -> i64 {
    let seen = if rng.gen_bool(0.45) {
        created + (-(1.0 - rng.gen::<f64>()).ln() * 2.0 * HOUR as f64) as i64
    } else {
        created + ((horizon - created) as f64 * rng.gen::<f64>().sqrt()) as i64
    };
    seen.min(horizon)
}

/// Agents speak last mostly in the conversations they are assigned to.
fn last_sender<R: Rng>(rng: &mut R, has_agent: bool) -> Sender {
    let (user, bot) = if has_agent { (40, 20) } else { (50, 45) };
    match rng.gen_range(0..100) {
        n if n < user => Sender::User,
        n if n < user + bot => Sender::Bot,
        _ => Sender::Agent,
    }
}

fn message<R: Rng>(rng: &mut R, person: &Person, by: Sender, at: i64) -> Message {
    let text = match by {
        Sender::User if rng.gen_bool(0.45) => pick(rng, person.culture.user_texts),
        Sender::User => pick(rng, USER_TEXTS),
        Sender::Bot => pick(rng, BOT_TEXTS),
        Sender::Agent => pick(rng, AGENT_TEXTS),
    };
    Message { text: text.to_string(), at: Timestamp(at), by }
}

fn unread_count<R: Rng>(rng: &mut R) -> u32 {
    let mut count = 1;
    while count < 20 && rng.gen_bool(0.4) {
        count += 1;
    }
    count
}

fn set_relationship<R: Rng>(rng: &mut R, user: &mut User, online: bool) {
    user.is_contact = rng.gen_bool(if user.user_interacted { 0.55 } else { 0.9 });
    user.is_subscriber = rng.gen_bool(if has_tag(user, "newsletter") { 0.9 } else { 0.25 });
    user.is_user_blocked = rng.gen_bool(0.003);
    let chatting = user.status.as_str() == "OPEN" && user.agent.is_some() && user.user_interacted;
    user.is_live_chat_active = chatting && rng.gen_bool(if online { 0.5 } else { 0.04 });
}

fn has_tag(user: &User, tag: &str) -> bool {
    user.profile.tags.iter().any(|held| held.eq_ignore_ascii_case(tag))
}

/// VIPs and gold customers order far more often than the rest.
fn orders<R: Rng>(rng: &mut R, user: &User, horizon: i64) -> Orders {
    let gold = user.attribute("plan").and_then(Value::as_str) == Some("gold");
    let share = if has_tag(user, "vip") {
        0.5
    } else if gold {
        0.3
    } else {
        0.07
    };
    if !rng.gen_bool(share) {
        return Orders::default();
    }
    let mut count = 1;
    while count < 40 && rng.gen_bool(0.45) {
        count += 1;
    }
    Orders { count, last_at: Some(Timestamp(between(rng, user.created_at.0, horizon))) }
}

fn notes<R: Rng>(rng: &mut R) -> Vec<Note> {
    if !rng.gen_bool(0.02) {
        return Vec::new();
    }
    let count = rng.gen_range(1..=2);
    let note = |(title, description): &(&str, &str)| Note {
        id: Id::generate(),
        title: title.to_string(),
        description: description.to_string(),
    };
    NOTES.choose_multiple(rng, count).map(note).collect()
}

/// The latest change: the latest thing that happened, or for some a later edit by the team.
fn updated_at<R: Rng>(rng: &mut R, user: &User, horizon: i64) -> Timestamp {
    let latest = [
        Some(user.created_at),
        user.last_seen_at,
        user.last_message.as_ref().map(|message| message.at),
        user.presence.map(|presence| presence.at),
        user.orders.last_at,
    ];
    let latest = latest.into_iter().flatten().max().unwrap_or(user.created_at);
    match rng.gen_bool(0.25) {
        true => Timestamp(between(rng, latest.0, horizon)),
        false => latest,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    const NOW: Timestamp = Timestamp(1_750_000_000_000);

    fn population() -> Population {
        let bots = [(); 4].map(|_| Id::generate());
        Population::new(bots, (0..8).map(|_| Id::generate()).collect()).expect("population")
    }

    fn crowd(count: usize) -> Vec<User> {
        let population = population();
        let mut rng = StdRng::seed_from_u64(7);
        (0..count).map(|index| user(&mut rng, &population, index, NOW)).collect()
    }

    fn share(users: &[User], holds: impl Fn(&User) -> bool) -> f64 {
        users.iter().filter(|user| holds(user)).count() as f64 / users.len() as f64
    }

    #[test]
    fn every_culture_has_names_cities_phones_and_texts() {
        for culture in CULTURES {
            let tables = [culture.given_names, culture.family_names, culture.cities, culture.mobile_starts];
            assert!(tables.iter().all(|table| !table.is_empty()), "{}", culture.country);
            assert!(!culture.user_texts.is_empty() && !culture.email_domains.is_empty(), "{}", culture.country);
            assert!(culture.mobile_starts.iter().all(|start| start.len() < culture.number_len));
        }
    }

    #[test]
    fn names_with_accents_exist_and_some_users_give_less() {
        let users = crowd(2_000);
        assert!(users.iter().filter_map(|user| user.profile.name.as_deref()).any(|name| !name.is_ascii()));
        assert!(share(&users, |user| user.profile.name.is_none() && user.profile.user_provided_name.is_some()) > 0.05);
        assert!(share(&users, |user| user.display_name().is_none()) > 0.05);
    }

    #[test]
    fn emails_are_ascii_and_some_use_capitals() {
        let users = crowd(2_000);
        let emails: Vec<&str> = users.iter().filter_map(|user| user.profile.email.as_deref()).collect();
        assert!(emails.len() > 600);
        assert!(emails.iter().all(|email| email.is_ascii() && email.matches('@').count() == 1), "{emails:?}");
        assert!(emails.iter().any(|email| email.chars().any(|c| c.is_ascii_uppercase())));
    }

    #[test]
    fn phones_come_from_many_countries_as_digits() {
        let users = crowd(2_000);
        let phones: Vec<&Phone> = users.iter().filter_map(|user| user.profile.phone.as_ref()).collect();
        let prefixes: HashSet<&str> = phones.iter().filter_map(|phone| phone.prefix.as_deref()).collect();
        assert!(prefixes.len() >= 15, "{prefixes:?}");
        for phone in phones {
            let digits = phone.digits();
            assert!(!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()), "{phone:?}");
        }
    }

    #[test]
    fn every_user_has_an_identity_on_each_channel() {
        let users = crowd(2_000);
        for user in &users {
            let channels = user.platforms().count();
            assert!((1..=2).contains(&channels));
            let profile = &user.profile;
            let identity = |platform: Platform| match platform {
                Platform::Website => user.uuid.is_some(),
                Platform::Whatsapp => profile.whatsapp_number.is_some(),
                Platform::Telegram => profile.telegram_user_name.is_some(),
                Platform::Facebook => profile.facebook_profile_id.is_some(),
            };
            assert!(user.platforms().all(identity), "{user:?}");
            if let (Some(number), Some(phone)) = (&profile.whatsapp_number, &profile.phone) {
                assert_eq!(*number, phone.digits());
            }
        }
        for platform in Platform::ALL {
            assert!(users.iter().any(|user| user.bot(platform).is_some()), "{platform:?}");
        }
        assert!(share(&users, |user| user.platforms().count() == 2) > 0.05);
    }

    #[test]
    fn tags_are_unique_ignoring_case_and_popular_ones_dominate() {
        let users = crowd(2_000);
        for user in &users {
            let tags = &user.profile.tags;
            let distinct: HashSet<String> = tags.iter().map(|tag| tag.to_lowercase()).collect();
            assert!(tags.len() <= MAX_TAGS && distinct.len() == tags.len(), "{tags:?}");
        }
        let holding = |tag: &str| users.iter().filter(|user| has_tag(user, tag)).count();
        assert!(holding(TAGS[0]) > 3 * holding(TAGS[20]));
        assert!(holding("vip") > 50);
    }

    #[test]
    fn no_timestamp_is_before_creation_or_after_the_last_update() {
        let users = crowd(2_000);
        let oldest = NOW.0 - HISTORY - QUIET;
        for user in &users {
            let created = user.created_at;
            assert!(created.0 >= oldest && user.updated_at <= NOW, "{user:?}");
            let others = [
                user.last_seen_at,
                user.last_message.as_ref().map(|message| message.at),
                user.presence.map(|presence| presence.at),
                user.orders.last_at,
            ];
            for at in others.into_iter().flatten() {
                assert!(created <= at && at <= user.updated_at, "{user:?}");
            }
        }
        assert!(share(&users, |user| user.created_at.0 > NOW.0 - HISTORY / 2) > 0.6, "more recent, more users");
    }

    #[test]
    fn user_interacted_means_the_user_wrote() {
        let users = crowd(2_000);
        for user in &users {
            assert_eq!(user.user_interacted, user.last_seen_at.is_some(), "{user:?}");
            if user.unread > 0 {
                assert!(user.user_interacted);
            }
            match &user.last_message {
                Some(message) if message.by == Sender::User => assert_eq!(user.last_seen_at, Some(message.at)),
                Some(message) => assert!(user.last_seen_at.is_none_or(|seen| seen <= message.at)),
                None => assert!(!user.user_interacted),
            }
        }
        assert!(share(&users, |user| !user.user_interacted) > 0.05);
        for by in [Sender::User, Sender::Bot, Sender::Agent] {
            assert!(users.iter().any(|user| user.last_message.as_ref().is_some_and(|message| message.by == by)));
        }
    }

    #[test]
    fn a_few_users_are_online_now() {
        let window = 120_000;
        let users = crowd(2_000);
        let online: Vec<&User> = users.iter().filter(|user| user.is_online(NOW, window)).collect();
        assert!(!online.is_empty() && online.len() < 40, "{}", online.len());
        assert!(online.iter().all(|user| user.last_seen_at == Some(NOW) && user.updated_at == NOW));
        assert!(crowd(10).iter().any(|user| user.is_online(NOW, window)));
    }

    #[test]
    fn the_inbox_has_a_realistic_mix() {
        let users = crowd(2_000);
        let status = |name: &'static str| move |user: &User| user.status.as_str() == name;
        assert!(share(&users, status("OPEN")) > 0.6);
        assert!(share(&users, status("CLOSED")) > 0.1 && share(&users, status("PENDING")) > 0.05);
        assert!(users.iter().any(status("DELETED")));
        assert!((0.33..0.47).contains(&share(&users, |user| user.agent.is_some())));
        assert!((0.52..0.68).contains(&share(&users, |user| user.is_contact)));
        assert!((0.06..0.16).contains(&share(&users, |user| user.orders.count > 0)));
        assert!(users.iter().any(|user| user.is_live_chat_active));
        assert!(users.iter().any(|user| !user.notes.is_empty()));
        assert!(users.iter().any(|user| user.unread > 0));
        assert!(users.iter().any(|user| user.attribute("plan").and_then(Value::as_str) == Some("gold")));
    }

    #[test]
    fn the_same_seed_draws_the_same_people() {
        let names = |users: Vec<User>| users.into_iter().map(|user| user.profile).collect::<Vec<_>>();
        assert_eq!(names(crowd(50)), names(crowd(50)));
    }
}
