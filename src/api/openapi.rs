//! The OpenAPI 3.1 document of the API, served at `GET /openapi.json`. It is generated from the
//! handlers' `#[utoipa::path]` annotations and from the schema types below, which mirror the
//! contract (the handlers themselves read bodies as JSON values and validate them field by field,
//! so that every problem is reported; these types describe the same shapes).
//!
//! Every operation that needs a token gets the bearer security requirement and the error
//! answers (the envelope) added by [`Errors`].

use serde_json::Value;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

/// Paths answered without a token.
pub const PUBLIC_PATHS: [&str; 3] = ["/health", "/metrics", "/openapi.json"];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "inboxd",
        description = "A self-hosted contacts inbox for chatbot and live-chat businesses. Every JSON answer is the envelope \
                       {success, message, code, data[, meta]}; errors carry a list of \"<field path>: <problem>\" strings.",
        license(name = "MIT", identifier = "MIT")
    ),
    paths(
        super::health,
        super::metrics,
        openapi_json,
        super::users::query,
        super::users::import_users,
        super::users::update_status,
        super::users::get_user,
        super::users::update_user,
        super::users::delete_user,
        super::events::ingest,
        super::catalog::list_bots,
        super::catalog::create_bot,
        super::catalog::list_agents,
        super::catalog::create_agent,
        super::catalog::list_segments,
        super::catalog::create_segment,
        super::catalog::delete_segment,
        super::integrations::update_user_attributes,
        super::webhooks::subscribe,
        super::webhooks::fetch,
        super::webhooks::deliveries,
        super::webhooks::redeliver,
        super::me::me,
    ),
    modifiers(&Errors),
    tags(
        (name = "users", description = "Query, export, import, read, change and delete users"),
        (name = "events", description = "What bots and channels report"),
        (name = "catalog", description = "Bots, agents and segments"),
        (name = "integrations", description = "Endpoints existing integrations call, webhooks"),
        (name = "operations", description = "Health, metrics and this document")
    )
)]
pub struct ApiDoc;

/// The document, as served.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(document())
}

/// Adds the bearer scheme, and to every operation that needs a token: the security requirement
/// and every error status the contract names, each answered with the error envelope.
struct Errors;

const ERRORS: [(&str, &str); 10] = [
    ("400", "Bad input: every problem listed, each naming its field path"),
    ("401", "Missing, malformed, unknown or revoked token"),
    ("403", "The token's role is too low"),
    ("404", "No such id in the token's workspace, or no such endpoint"),
    ("405", "Method not allowed on this endpoint"),
    ("413", "Body larger than the limit (16 MiB)"),
    ("415", "Wrong content type"),
    ("429", "Rate limited (Retry-After says when to retry)"),
    ("500", "Internal error (details only in the server's logs)"),
    ("503", "Not answered within the request timeout (the work may still complete)"),
];

impl Modify for Errors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("An API token (ixd_...)")).build(),
            ),
        );
        components.schemas.insert("ErrorEnvelope".into(), ErrorEnvelope::schema());
        for (path, item) in openapi.paths.paths.iter_mut() {
            let public = PUBLIC_PATHS.contains(&path.as_str());
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                add_errors(operation, public);
            }
        }
    }
}

fn add_errors(operation: &mut Operation, public: bool) {
    let statuses: &[(&str, &str)] = if public { &ERRORS[4..5] } else { &ERRORS };
    for (status, description) in statuses {
        let response = ResponseBuilder::new()
            .description(*description)
            .content(
                "application/json",
                ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorEnvelope"))).build(),
            )
            .build();
        operation.responses.responses.entry(status.to_string()).or_insert(response.into());
    }
    if !public {
        operation.security = Some(vec![SecurityRequirement::new("bearer", Vec::<String>::new())]);
    }
}

// ---- Envelopes -------------------------------------------------------------------------------

/// Every error: `data` lists the problems, each "<field path>: <problem>".
#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct ErrorEnvelope {
    /// Always false.
    success: bool,
    /// A one-line summary.
    message: String,
    /// The HTTP status, repeated.
    code: u16,
    data: Vec<String>,
}

/// `{"total": n}`: a whole list's length.
#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct ListMeta {
    total: u64,
}

/// A query page's counts.
#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct PageMeta {
    page: u64,
    limit: u64,
    /// The exact number of matching users at the moment of the query.
    total: u64,
    /// total / limit, rounded up (0 when nothing matches).
    #[serde(rename = "totalPages")]
    total_pages: u64,
}

macro_rules! envelope {
    ($name:ident, $data:ty) => {
        #[doc = concat!("A success whose `data` is ", stringify!($data), ".")]
        #[derive(ToSchema, serde::Serialize, serde::Deserialize)]
        #[allow(dead_code)]
        pub struct $name {
            success: bool,
            message: String,
            code: u16,
            data: $data,
        }
    };
    ($name:ident, $data:ty, $meta:ty) => {
        #[doc = concat!("A success whose `data` is ", stringify!($data), ", with `meta`.")]
        #[derive(ToSchema, serde::Serialize, serde::Deserialize)]
        #[allow(dead_code)]
        pub struct $name {
            success: bool,
            message: String,
            code: u16,
            data: $data,
            meta: $meta,
        }
    };
}

envelope!(UserEnvelope, User);
envelope!(UserPageEnvelope, Vec<User>, PageMeta);
envelope!(ImportEnvelope, ImportResult);
envelope!(EventsEnvelope, EventsResult);
envelope!(StatusUpdateEnvelope, StatusUpdateResult);
envelope!(DeletedEnvelope, Deleted);
envelope!(BotEnvelope, Bot);
envelope!(MeEnvelope, Me);
envelope!(BotListEnvelope, Vec<Bot>, ListMeta);
envelope!(AgentEnvelope, Agent);
envelope!(AgentListEnvelope, Vec<Agent>, ListMeta);
envelope!(SegmentEnvelope, Segment);
envelope!(SegmentListEnvelope, Vec<Segment>, ListMeta);
envelope!(SubscribeEnvelope, SubscribeResult);
envelope!(SubscribedWebhooksEnvelope, Vec<SubscribedWebhooks>);
envelope!(DeliveriesEnvelope, Vec<Delivery>);
envelope!(RedeliverEnvelope, Redelivering);

/// `GET /health`: exactly `{"status": "ok"}`, no envelope.
#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct Health {
    status: String,
}

// ---- Enumerations (the values the contract names; some are accepted in any case too) ----------

/// A channel (any case is accepted where the contract says so).
#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code, clippy::upper_case_acronyms)]
pub enum Platform {
    WEBSITE,
    WHATSAPP,
    TELEGRAM,
    FACEBOOK,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub enum EventType {
    Message,
    Presence,
    Order,
    LiveChat,
    Read,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub enum Sender {
    User,
    Bot,
    Agent,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub enum SortBy {
    LastSeenAt,
    CreatedAt,
    UpdatedAt,
    LastMessageAt,
    Name,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub enum SortOrder {
    Asc,
    Desc,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub enum ExportKind {
    None,
    Csv,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub enum ConditionField {
    Tag,
    Attribute,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub enum ConditionOperator {
    Is,
    IsNot,
    Contains,
    Exists,
    NotExists,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub enum SegmentMatch {
    All,
    Any,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub enum HookEvent {
    NewLeadHook,
    NewMessageHook,
    NewOrderHook,
}

// ---- Requests --------------------------------------------------------------------------------

/// `{startAt, endsAt}`: each "" (open), an RFC 3339 timestamp or a date YYYY-MM-DD (that UTC day).
#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct DateRange {
    #[serde(rename = "startAt")]
    start_at: Option<String>,
    #[serde(rename = "endsAt")]
    ends_at: Option<String>,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct Sort {
    by: Option<SortBy>,
    /// desc (default) or asc.
    order: Option<SortOrder>,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct HasOrderedFilter {
    status: bool,
    /// "" or a date or timestamp: an order at or after it.
    #[serde(rename = "lastAt")]
    last_at: Option<String>,
}

/// `POST /inbox/users`: every field optional; a missing field (or "", null, []) does not filter.
#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct QueryBody {
    #[serde(rename = "searchText")]
    search_text: Option<String>,
    tags: Option<Vec<String>>,
    status: Option<Vec<String>>,
    #[serde(rename = "_botWebsite")]
    bot_website: Option<Vec<String>>,
    #[serde(rename = "_botWhatsapp")]
    bot_whatsapp: Option<Vec<String>>,
    #[serde(rename = "_botTelegram")]
    bot_telegram: Option<Vec<String>>,
    #[serde(rename = "_botFacebook")]
    bot_facebook: Option<Vec<String>>,
    /// Agent ids, or "UNASSIGNED".
    #[serde(rename = "_agentAssigned")]
    agent_assigned: Option<Vec<String>>,
    segments: Option<Vec<String>>,
    /// user, bot or agent.
    #[serde(rename = "lastMessageBy")]
    last_message_by: Option<Vec<String>>,
    #[serde(rename = "lastSeenAt")]
    last_seen_at: Option<DateRange>,
    #[serde(rename = "createdAt")]
    created_at: Option<DateRange>,
    #[serde(rename = "isOnline")]
    is_online: Option<bool>,
    #[serde(rename = "userInteracted")]
    user_interacted: Option<bool>,
    #[serde(rename = "isLiveChatActive")]
    is_live_chat_active: Option<bool>,
    #[serde(rename = "isSubscriber")]
    is_subscriber: Option<bool>,
    #[serde(rename = "hasOrdered")]
    has_ordered: Option<HasOrderedFilter>,
    /// Which of the conditional filters apply.
    #[serde(rename = "applicableFilters")]
    applicable_filters: Option<Vec<String>>,
    #[serde(rename = "isContact")]
    is_contact: Option<bool>,
    #[schema(minimum = 1)]
    page: Option<u64>,
    #[schema(minimum = 1, maximum = 500)]
    limit: Option<u64>,
    sort: Option<Sort>,
    /// "none" (a JSON page) or "csv" (the export, admin).
    #[serde(rename = "isExport")]
    is_export: Option<ExportKind>,
    /// Sent by existing clients; accepted only empty, false or null.
    #[serde(rename = "_botAutomation")]
    #[schema(value_type = Option<Object>)]
    bot_automation: Option<Value>,
    #[serde(rename = "_botInstagram")]
    #[schema(value_type = Option<Object>)]
    bot_instagram: Option<Value>,
    #[serde(rename = "ctwaNewUsers")]
    #[schema(value_type = Option<Object>)]
    ctwa_new_users: Option<Value>,
    #[serde(rename = "ctwaOldUsers")]
    #[schema(value_type = Option<Object>)]
    ctwa_old_users: Option<Value>,
    #[serde(rename = "tagsV2")]
    #[schema(value_type = Option<Object>)]
    tags_v2: Option<Value>,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct Phone {
    /// Digits (input may carry +, spaces and dashes).
    number: String,
    prefix: Option<String>,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    email: Option<String>,
    phone: Option<Phone>,
}

/// An attribute: the value is a string, number or boolean; null removes the key.
#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    key: String,
    #[schema(value_type = Option<Object>)]
    value: Option<Value>,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct UserDetails {
    name: Option<String>,
    #[serde(rename = "userProvidedName")]
    user_provided_name: Option<String>,
    picture: Option<String>,
    contact: Option<Contact>,
    #[serde(rename = "whatsAppNumber")]
    whats_app_number: Option<String>,
    #[serde(rename = "telegramUserName")]
    telegram_user_name: Option<String>,
    #[serde(rename = "facebookProfileId")]
    facebook_profile_id: Option<String>,
    #[serde(rename = "instagramProfileId")]
    instagram_profile_id: Option<String>,
    city: Option<String>,
    country: Option<String>,
    tags: Option<Vec<String>>,
    attributes: Option<Vec<Attribute>>,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct Note {
    /// Present on stored notes; a PUT appends notes without one.
    #[serde(rename = "_id")]
    id: Option<String>,
    title: Option<String>,
    description: Option<String>,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct ProfileInput {
    #[serde(rename = "userDetails")]
    user_details: Option<UserDetails>,
    /// PUT only.
    notes: Option<Vec<Note>>,
}

/// The input shape of import rows and PUT bodies (a PUT may also carry every field of the user
/// object; the server-owned ones are ignored).
#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    /// Import: only to match an existing user.
    #[serde(rename = "_id")]
    id: Option<String>,
    uuid: Option<String>,
    status: Option<String>,
    #[serde(rename = "isContact")]
    is_contact: Option<bool>,
    #[serde(rename = "isSubscriber")]
    is_subscriber: Option<bool>,
    #[serde(rename = "isUserBlocked")]
    is_user_blocked: Option<bool>,
    /// PUT only.
    #[serde(rename = "isLiveChatActive")]
    is_live_chat_active: Option<bool>,
    #[serde(rename = "_botWebsite")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    bot_website: Option<String>,
    #[serde(rename = "_botWhatsapp")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    bot_whatsapp: Option<String>,
    #[serde(rename = "_botTelegram")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    bot_telegram: Option<String>,
    #[serde(rename = "_botFacebook")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    bot_facebook: Option<String>,
    #[serde(rename = "_agentAssigned")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    agent_assigned: Option<String>,
    profile: Option<ProfileInput>,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct StatusUpdate {
    ids: Vec<String>,
    status: String,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct Visitor {
    platform: Platform,
    #[serde(rename = "botId")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    bot_id: String,
    #[serde(rename = "externalId")]
    external_id: String,
}

/// One event. `type` says which of the other fields apply: message (by, text, at; userId or
/// visitor), presence (online, at), order (orderId, at, amount, currency), liveChat (active), read.
#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// message, presence, order, liveChat or read.
    #[serde(rename = "type")]
    kind: EventType,
    #[serde(rename = "userId")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    user_id: Option<String>,
    visitor: Option<Visitor>,
    /// An eventId already applied in the workspace is skipped as a duplicate.
    #[serde(rename = "eventId")]
    event_id: Option<String>,
    at: Option<String>,
    by: Option<Sender>,
    text: Option<String>,
    online: Option<bool>,
    #[serde(rename = "orderId")]
    order_id: Option<String>,
    amount: Option<f64>,
    currency: Option<String>,
    active: Option<bool>,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct BotInput {
    name: String,
    platform: Platform,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct AgentInput {
    name: String,
    email: Option<String>,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct SegmentCondition {
    field: ConditionField,
    /// Required for attribute.
    key: Option<String>,
    operator: ConditionOperator,
    #[schema(value_type = Option<Object>)]
    value: Option<Value>,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct SegmentInput {
    #[serde(rename = "segmentName")]
    segment_name: String,
    platform: Option<String>,
    #[serde(rename = "botId")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    bot_id: Option<String>,
    /// all (default) or any.
    #[serde(rename = "match")]
    match_: Option<SegmentMatch>,
    conditions: Option<Vec<SegmentCondition>>,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserAttributes {
    /// An email, a phone number or a uuid.
    search: String,
    /// key: value (string, number, boolean; null removes the key).
    #[schema(value_type = Object)]
    attributes: Value,
    #[serde(rename = "botId")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    bot_id: Option<String>,
    platform: Option<String>,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct SubscribeTrigger {
    #[serde(rename = "webhookUrl")]
    webhook_url: String,
    event: HookEvent,
    #[serde(rename = "botId")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    bot_id: Option<String>,
    platform: Option<String>,
    slug: Option<String>,
    category: Option<String>,
    subscribe: bool,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct FetchSubscribed {
    event: Option<String>,
    #[serde(rename = "botId")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    bot_id: Option<String>,
    slug: Option<String>,
    category: Option<String>,
    platform: Option<String>,
}

// ---- Answers ---------------------------------------------------------------------------------

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct HasOrdered {
    status: bool,
    #[serde(rename = "lastAt")]
    last_at: Option<String>,
    count: u64,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct LastMessage {
    text: String,
    at: String,
    by: String,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct Profile {
    #[serde(rename = "userDetails")]
    user_details: UserDetails,
    notes: Vec<Note>,
}

/// The user object (contract section 4). Timestamps are UTC RFC 3339 with milliseconds.
#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct User {
    #[serde(rename = "_id")]
    id: String,
    uuid: Option<String>,
    #[serde(rename = "createdAt")]
    created_at: String,
    #[serde(rename = "updatedAt")]
    updated_at: String,
    #[serde(rename = "lastSeenAt")]
    last_seen_at: Option<String>,
    #[serde(rename = "isContact")]
    is_contact: bool,
    #[serde(rename = "isOnline")]
    is_online: bool,
    #[serde(rename = "isLiveChatActive")]
    is_live_chat_active: bool,
    #[serde(rename = "userInteracted")]
    user_interacted: bool,
    #[serde(rename = "isSubscriber")]
    is_subscriber: bool,
    #[serde(rename = "isUserBlocked")]
    is_user_blocked: bool,
    status: String,
    platform: Vec<String>,
    #[serde(rename = "_botWebsite")]
    bot_website: Option<String>,
    #[serde(rename = "_botWhatsapp")]
    bot_whatsapp: Option<String>,
    #[serde(rename = "_botTelegram")]
    bot_telegram: Option<String>,
    #[serde(rename = "_botFacebook")]
    bot_facebook: Option<String>,
    #[serde(rename = "_agentAssigned")]
    agent_assigned: Option<String>,
    segments: Vec<String>,
    #[serde(rename = "hasOrdered")]
    has_ordered: HasOrdered,
    #[serde(rename = "lastMessage")]
    last_message: Option<LastMessage>,
    #[serde(rename = "unreadMessages")]
    unread_messages: u64,
    profile: Profile,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct RowRejection {
    row: u64,
    errors: Vec<String>,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct ImportResult {
    created: u64,
    updated: u64,
    /// The _id of each row, or null for a rejected row.
    ids: Vec<Option<String>>,
    rejected: Vec<RowRejection>,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct EventRejection {
    index: u64,
    errors: Vec<String>,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct EventsResult {
    applied: u64,
    duplicates: u64,
    /// The user each event concerned, or null when rejected.
    users: Vec<Option<String>>,
    rejected: Vec<EventRejection>,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct StatusUpdateResult {
    updated: u64,
    #[serde(rename = "notFound")]
    not_found: Vec<String>,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct Deleted {
    deleted: String,
}

/// What `GET /inbox/me` says of the token.
#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct Me {
    /// "admin" or "agent".
    role: String,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct Bot {
    #[serde(rename = "_id")]
    id: String,
    name: String,
    platform: String,
    #[serde(rename = "createdAt")]
    created_at: String,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct Agent {
    #[serde(rename = "_id")]
    id: String,
    name: String,
    email: Option<String>,
    #[serde(rename = "createdAt")]
    created_at: String,
}

/// A segment: its definition, and `count` (users matching now; listed segments only).
#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct Segment {
    #[serde(rename = "_id")]
    id: String,
    #[serde(rename = "segmentName")]
    segment_name: String,
    platform: Option<String>,
    #[serde(rename = "botId")]
    bot_id: Option<String>,
    #[serde(rename = "match")]
    match_: String,
    conditions: Vec<SegmentCondition>,
    count: Option<u64>,
}

/// subscribe true: `{_id, secret}`; false: `{removed}`.
#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct SubscribeResult {
    #[serde(rename = "_id")]
    id: Option<String>,
    /// The HMAC-SHA256 key of the deliveries' X-Inboxd-Signature.
    secret: Option<String>,
    removed: Option<u64>,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct Hook {
    url: String,
    #[serde(rename = "_id")]
    id: String,
    #[serde(rename = "createdAt")]
    created_at: String,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct SubscribedWebhooks {
    #[serde(rename = "botId")]
    bot_id: Option<String>,
    slug: Option<String>,
    category: Option<String>,
    /// event name -> its hooks.
    #[serde(rename = "integrationCredentials")]
    integration_credentials: std::collections::BTreeMap<String, Vec<Hook>>,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct Delivery {
    #[serde(rename = "_id")]
    id: String,
    event: String,
    #[serde(rename = "eventId")]
    event_id: String,
    #[serde(rename = "subscriptionId")]
    subscription_id: String,
    url: Option<String>,
    #[serde(rename = "userId")]
    user_id: Option<String>,
    /// pending, delivered or failed.
    status: String,
    attempts: u64,
    #[serde(rename = "lastAttemptAt")]
    last_attempt_at: Option<String>,
    #[serde(rename = "lastError")]
    last_error: Option<String>,
    #[serde(rename = "nextAttemptAt")]
    next_attempt_at: Option<String>,
    #[serde(rename = "createdAt")]
    created_at: String,
    #[serde(rename = "deliveredAt")]
    delivered_at: Option<String>,
}

#[derive(ToSchema, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub struct Redelivering {
    redelivering: String,
}
