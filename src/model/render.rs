//! The user object of contract section 4, as every endpoint answers it.

use serde_json::{json, Value};

use crate::domain::{Id, Platform, Timestamp};
use crate::model::User;

fn ts(value: Option<Timestamp>) -> Value {
    value.map_or(Value::Null, |t| Value::String(t.to_string()))
}

/// Renders a user; `segments` are the ids of the segments it matches now.
pub fn user_json(user: &User, segments: &[Id], now: Timestamp, presence_window_ms: i64) -> Value {
    let profile = &user.profile;
    let phone = profile.phone.as_ref().map(|p| json!({"number": p.number, "prefix": p.prefix}));
    let bot = |platform: Platform| json!(user.bot(platform));
    json!({
        "_id": user.id,
        "uuid": user.uuid,
        "createdAt": user.created_at,
        "updatedAt": user.updated_at,
        "lastSeenAt": ts(user.last_seen_at),
        "isContact": user.is_contact,
        "isOnline": user.is_online(now, presence_window_ms),
        "isLiveChatActive": user.is_live_chat_active,
        "userInteracted": user.user_interacted,
        "isSubscriber": user.is_subscriber,
        "isUserBlocked": user.is_user_blocked,
        "status": user.status,
        "platform": user.platforms().map(Platform::as_str).collect::<Vec<_>>(),
        "_botWebsite": bot(Platform::Website),
        "_botWhatsapp": bot(Platform::Whatsapp),
        "_botTelegram": bot(Platform::Telegram),
        "_botFacebook": bot(Platform::Facebook),
        "_agentAssigned": user.agent,
        "segments": segments,
        "hasOrdered": {
            "status": user.orders.count > 0,
            "lastAt": ts(user.orders.last_at),
            "count": user.orders.count,
        },
        "lastMessage": user.last_message.as_ref().map(|m| json!({"text": m.text, "at": m.at, "by": m.by})),
        "unreadMessages": user.unread,
        "profile": {
            "userDetails": {
                "name": profile.name,
                "userProvidedName": profile.user_provided_name,
                "picture": profile.picture,
                "contact": {"email": profile.email, "phone": phone},
                "whatsAppNumber": profile.whatsapp_number,
                "telegramUserName": profile.telegram_user_name,
                "facebookProfileId": profile.facebook_profile_id,
                "instagramProfileId": profile.instagram_profile_id,
                "city": profile.city,
                "country": profile.country,
                "tags": profile.tags,
                "attributes": profile.attributes.iter().map(|a| json!({"key": a.key, "value": a.value})).collect::<Vec<_>>(),
            },
            "notes": user.notes.iter().map(|n| json!({"_id": n.id, "title": n.title, "description": n.description})).collect::<Vec<_>>(),
        }
    })
}
