//! The demo workspace's bots, agents and saved segments.

use anyhow::anyhow;
use serde_json::{json, Value};

use super::ascii::ascii_letters;
use super::words::{AGENT_EMAIL_DOMAIN, AGENT_NAMES, BOT_NAMES};
use crate::domain::{Id, Platform, Timestamp};
use crate::query::SegmentDefinition;
use crate::store::{Agent, Bot, SegmentRecord};

const DAY_MS: i64 = 86_400_000;

/// Everything the users of the demo refer to.
pub struct Catalog {
    /// One bot per channel, in `Platform::ALL` order.
    pub bots: Vec<Bot>,
    pub agents: Vec<Agent>,
    pub segments: Vec<SegmentRecord>,
}

impl Catalog {
    /// The bots and agents were set up before the first user came, the segments a month ago.
    pub fn new(now: Timestamp) -> anyhow::Result<Catalog> {
        let opened = Timestamp(now.0 - 740 * DAY_MS);
        let bots = Platform::ALL.iter().zip(BOT_NAMES).map(|(platform, name)| bot(name, *platform, opened)).collect();
        let agents =
            AGENT_NAMES.iter().enumerate().map(|(i, name)| agent(name, Timestamp(opened.0 + i as i64 * DAY_MS)));
        let mut catalog = Catalog { bots, agents: agents.collect(), segments: Vec::new() };
        let segments_saved = Timestamp(now.0 - 30 * DAY_MS);
        for body in segment_bodies(catalog.bot(Platform::Website)) {
            let segment = catalog.segment(&body, segments_saved)?;
            catalog.segments.push(segment);
        }
        Ok(catalog)
    }

    pub fn bot(&self, platform: Platform) -> Id {
        self.bots[platform.index()].id
    }

    pub fn bot_ids(&self) -> [Id; 4] {
        Platform::ALL.map(|platform| self.bot(platform))
    }

    pub fn agent_ids(&self) -> Vec<Id> {
        self.agents.iter().map(|agent| agent.id).collect()
    }

    /// A segment saved as `POST /inbox/segments` saves it: parsed, then written back in its stored form.
    fn segment(&self, body: &Value, created_at: Timestamp) -> anyhow::Result<SegmentRecord> {
        let bot_platform = |id: Id| self.bots.iter().find(|bot| bot.id == id).map(|bot| bot.platform);
        let definition = SegmentDefinition::parse(body, &bot_platform)
            .map_err(|problems| anyhow!("demo segment {body} is refused: {}", problems.0.join("; ")))?;
        Ok(SegmentRecord { id: Id::generate(), definition: definition.to_json(), created_at })
    }
}

fn bot(name: &str, platform: Platform, created_at: Timestamp) -> Bot {
    Bot { id: Id::generate(), name: name.to_string(), platform, created_at }
}

/// An agent whose email is the name in ASCII, e.g. "amelie.dubois@mare-coffee.example".
fn agent(name: &str, created_at: Timestamp) -> Agent {
    let words: Vec<String> = name.split_whitespace().map(|word| ascii_letters(word).to_ascii_lowercase()).collect();
    let email = format!("{}@{AGENT_EMAIL_DOMAIN}", words.join("."));
    Agent { id: Id::generate(), name: name.to_string(), email: Some(email), created_at }
}

/// Segments whose conditions the generated users hit: every operator, both matches, a channel and a bot.
fn segment_bodies(website_bot: Id) -> Vec<Value> {
    vec![
        json!({"segmentName": "VIP on WhatsApp", "platform": "WHATSAPP", "match": "all",
            "conditions": [{"field": "tag", "operator": "is", "value": "vip"}]}),
        json!({"segmentName": "Paying plans", "match": "any", "conditions": [
            {"field": "attribute", "key": "plan", "operator": "is", "value": "gold"},
            {"field": "attribute", "key": "plan", "operator": "is", "value": "basic"}]}),
        json!({"segmentName": "Leads we may contact", "match": "all", "conditions": [
            {"field": "tag", "operator": "contains", "value": "lead"},
            {"field": "tag", "operator": "isNot", "value": "do not contact"}]}),
        json!({"segmentName": "Website visitors from ads", "botId": website_bot.to_string(), "match": "any",
            "conditions": [
            {"field": "attribute", "key": "source", "operator": "contains", "value": "ad"},
            {"field": "tag", "operator": "is", "value": "google ads"}]}),
        json!({"segmentName": "Black Friday & Cyber Monday", "match": "any", "conditions": [
            {"field": "tag", "operator": "is", "value": "Black Friday"},
            {"field": "tag", "operator": "is", "value": "cyber monday"}]}),
        json!({"segmentName": "Untagged Portuguese speakers", "match": "all", "conditions": [
            {"field": "tag", "operator": "notExists"},
            {"field": "attribute", "key": "language", "operator": "contains", "value": "pt"},
            {"field": "attribute", "key": "plan", "operator": "exists"}]}),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_is_one_bot_per_channel() {
        let catalog = Catalog::new(Timestamp::now()).expect("catalog");
        let platforms: Vec<Platform> = catalog.bots.iter().map(|bot| bot.platform).collect();
        assert_eq!(platforms, Platform::ALL);
    }

    #[test]
    fn agents_have_ascii_emails_of_their_own() {
        let catalog = Catalog::new(Timestamp::now()).expect("catalog");
        let mut emails: Vec<String> = catalog.agents.iter().filter_map(|agent| agent.email.clone()).collect();
        assert!(emails.iter().all(|email| email.is_ascii() && email.contains('@')), "{emails:?}");
        emails.sort();
        emails.dedup();
        assert_eq!(emails.len(), catalog.agents.len());
    }

    #[test]
    fn segments_are_stored_as_the_api_stores_them() {
        let catalog = Catalog::new(Timestamp::now()).expect("catalog");
        assert!((4..=6).contains(&catalog.segments.len()));
        let website_bot = catalog.bot(Platform::Website).to_string();
        assert!(catalog.segments.iter().any(|segment| segment.definition["botId"] == website_bot.as_str()));
        assert!(catalog.segments.iter().any(|segment| segment.definition["match"] == "any"));
    }
}
