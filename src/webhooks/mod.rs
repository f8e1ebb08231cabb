//! Webhooks: which subscriptions a change fires, the bodies they get, and their delivery.
//!
//! Deliveries are written to the outbox in the transaction of the change that fires them;
//! the worker (worker.rs) sends them afterwards, so a slow receiver never slows the API.

mod policy;
pub mod worker;

use serde_json::{json, Value};

use crate::domain::{Id, Platform, Timestamp};
use crate::engine::Engine;
use crate::model::{user_json, Message, User};
use crate::query::Filter;
use crate::store::{NewDelivery, Subscription};

pub use policy::DestinationPolicy;

/// The trigger events of the existing integrations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookEvent {
    NewLead,
    NewMessage,
    NewOrder,
}

impl HookEvent {
    pub const ALLOWED: &'static str = "newLeadHook, newMessageHook, newOrderHook";

    pub fn parse(text: &str) -> Option<HookEvent> {
        match text {
            "newLeadHook" => Some(HookEvent::NewLead),
            "newMessageHook" => Some(HookEvent::NewMessage),
            "newOrderHook" => Some(HookEvent::NewOrder),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::NewLead => "newLeadHook",
            HookEvent::NewMessage => "newMessageHook",
            HookEvent::NewOrder => "newOrderHook",
        }
    }
}

/// An order as an order event reported it.
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    pub order_id: String,
    pub at: Timestamp,
    pub amount: Option<f64>,
    pub currency: Option<String>,
}

/// Something that happened to a user and may fire webhooks.
#[derive(Clone, Debug)]
pub enum Trigger {
    /// A user was created (import, visitor event).
    NewLead(Id),
    /// A message by the user.
    NewMessage(Id, Message),
    NewOrder(Id, Order),
}

impl Trigger {
    fn event(&self) -> HookEvent {
        match self {
            Trigger::NewLead(_) => HookEvent::NewLead,
            Trigger::NewMessage(..) => HookEvent::NewMessage,
            Trigger::NewOrder(..) => HookEvent::NewOrder,
        }
    }

    fn user(&self) -> Id {
        match self {
            Trigger::NewLead(id) | Trigger::NewMessage(id, _) | Trigger::NewOrder(id, _) => *id,
        }
    }
}

/// What a workspace knows that the bodies need.
pub struct Context<'a> {
    pub subscriptions: &'a [Subscription],
    pub bot_platform: &'a dyn Fn(Id) -> Option<Platform>,
    pub segments: Vec<(Id, Filter)>,
    pub presence_window_ms: i64,
}

fn in_scope(subscription: &Subscription, user: &User) -> bool {
    subscription.bot.is_none_or(|bot| user.bots.contains(&Some(bot)))
        && subscription.platform.is_none_or(|platform| user.bot(platform).is_some())
}

/// The bot and channel a delivery names: the subscription's, else the user's.
fn bot_and_platform(subscription: &Subscription, user: &User, cx: &Context) -> (Option<Id>, Option<Platform>) {
    if let Some(bot) = subscription.bot {
        return (Some(bot), (cx.bot_platform)(bot));
    }
    let platform = subscription.platform.or_else(|| user.platforms().next());
    (platform.and_then(|p| user.bot(p)), platform)
}

/// The segments a user (not yet committed) matches, with the workspace's definitions.
fn segments_of(user: &User, cx: &Context, now: Timestamp) -> Vec<Id> {
    let mut engine = Engine::new();
    engine.set_segments(cx.segments.clone());
    engine.upsert(user);
    engine.segments_of(user.id, crate::engine::Clock { now, window_ms: cx.presence_window_ms })
}

/// The outbox rows for these triggers; `user_of` gives each user as the change leaves it.
pub fn deliveries<'u>(
    triggers: &[Trigger],
    user_of: impl Fn(Id) -> Option<&'u User>,
    cx: &Context,
) -> Vec<NewDelivery> {
    if cx.subscriptions.is_empty() {
        return Vec::new();
    }
    let now = Timestamp::now();
    let mut deliveries = Vec::new();
    for trigger in triggers {
        let Some(user) = user_of(trigger.user()) else { continue };
        let event = trigger.event();
        let matching: Vec<&Subscription> =
            cx.subscriptions.iter().filter(|s| s.event == event.as_str() && in_scope(s, user)).collect();
        if matching.is_empty() {
            continue;
        }
        let rendered = user_json(user, &segments_of(user, cx, now), now, cx.presence_window_ms);
        let data = match trigger {
            Trigger::NewLead(_) => rendered,
            Trigger::NewMessage(_, m) => json!({"user": rendered, "message": {"text": m.text, "at": m.at, "by": m.by}}),
            Trigger::NewOrder(_, o) => json!({"user": rendered, "order": {
                "orderId": o.order_id, "at": o.at, "amount": o.amount, "currency": o.currency}}),
        };
        for subscription in matching {
            let (bot, platform) = bot_and_platform(subscription, user, cx);
            let event_id = Id::generate();
            let body: Value = json!({
                "event": event.as_str(),
                "eventId": event_id,
                "botId": bot,
                "platform": platform,
                "timestamp": now,
                "data": data,
            });
            deliveries.push(NewDelivery {
                id: Id::generate(),
                subscription: subscription.id,
                user: user.id,
                event: event.as_str().to_string(),
                event_id,
                body: body.to_string(),
                created_at: now,
            });
        }
    }
    deliveries
}
