//! Segment definitions (contract section 6): parsed strictly, compiled to the same filter tree as queries.

use serde_json::{json, Value};

use super::filter::Filter;
use crate::domain::{Id, Platform};
use crate::fields::{read_array, read_id, read_platform, read_string, read_text, Fields, Problems};
use crate::limits::{MAX_SEGMENT_CONDITIONS, MAX_SHORT_TEXT};
use crate::model::attribute_text;

#[derive(Clone, Debug, PartialEq)]
pub struct SegmentDefinition {
    pub name: String,
    pub platform: Option<Platform>,
    /// The bot and its channel.
    pub bot: Option<(Id, Platform)>,
    pub match_all: bool,
    pub conditions: Vec<Condition>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    Tag { operator: Operator, value: String },
    Attribute { key: String, operator: Operator, value: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    Is,
    IsNot,
    Contains,
    Exists,
    NotExists,
}

impl Operator {
    const ALLOWED: &'static str = "is, isNot, contains, exists, notExists";

    fn parse(text: &str) -> Option<Operator> {
        Some(match text {
            "is" => Operator::Is,
            "isNot" => Operator::IsNot,
            "contains" => Operator::Contains,
            "exists" => Operator::Exists,
            "notExists" => Operator::NotExists,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Operator::Is => "is",
            Operator::IsNot => "isNot",
            Operator::Contains => "contains",
            Operator::Exists => "exists",
            Operator::NotExists => "notExists",
        }
    }

    fn needs_value(self) -> bool {
        matches!(self, Operator::Is | Operator::IsNot | Operator::Contains)
    }
}

impl SegmentDefinition {
    /// Parses a POST /inbox/segments body; `bot_platform` gives the channel of a bot of the workspace.
    pub fn parse(body: &Value, bot_platform: &dyn Fn(Id) -> Option<Platform>) -> Result<SegmentDefinition, Problems> {
        let mut problems = Problems::default();
        let Some(mut fields) = Fields::of(body, "", &mut problems) else { return Err(problems) };
        let name = fields.field("segmentName", &mut problems, read_text(MAX_SHORT_TEXT)).value();
        let name = name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        if name.is_none() && problems.is_empty() {
            problems.add("segmentName", "is required and must not be empty");
        }
        let platform = fields.field("platform", &mut problems, read_platform).value();
        let bot_id = fields.field("botId", &mut problems, read_id).value();
        let bot = bot_id.and_then(|id| match bot_platform(id) {
            Some(platform) => Some((id, platform)),
            None => {
                problems.add("botId", format!("{id} names no bot of this workspace"));
                None
            }
        });
        let match_all = match fields.string("match", &mut problems).value().as_deref() {
            None | Some("all") => true,
            Some("any") => false,
            Some(other) => {
                problems.add("match", format!("{other:?} is not allowed; allowed: all, any"));
                true
            }
        };
        let conditions = match fields.raw("conditions") {
            None | Some(Value::Null) => Vec::new(),
            Some(value) => read_array(value, "conditions", MAX_SEGMENT_CONDITIONS, &mut problems, read_condition)
                .unwrap_or_default(),
        };
        fields.finish(&mut problems);
        match (name, problems.is_empty()) {
            (Some(name), true) => Ok(SegmentDefinition { name, platform, bot, match_all, conditions }),
            _ => Err(problems),
        }
    }

    /// The filter a user must match to be in the segment.
    pub fn to_filter(&self) -> Filter {
        let mut parts = Vec::new();
        if let Some(platform) = self.platform {
            parts.push(Filter::HasPlatform(platform));
        }
        if let Some((id, platform)) = self.bot {
            parts.push(Filter::BotIn(vec![(platform, id)]));
        }
        let conditions: Vec<Filter> = self.conditions.iter().map(Condition::to_filter).collect();
        if !conditions.is_empty() {
            parts.push(if self.match_all { Filter::And(conditions) } else { Filter::Or(conditions) });
        }
        Filter::And(parts)
    }

    /// The definition as stored and listed.
    pub fn to_json(&self) -> Value {
        json!({
            "segmentName": self.name,
            "platform": self.platform.map(Platform::as_str),
            "botId": self.bot.map(|(id, _)| id),
            "match": if self.match_all { "all" } else { "any" },
            "conditions": self.conditions.iter().map(Condition::to_json).collect::<Vec<_>>(),
        })
    }
}

fn read_condition(value: &Value, path: &str, problems: &mut Problems) -> Option<Condition> {
    let before = problems.len();
    let mut fields = Fields::of(value, path, problems)?;
    let field = fields.string("field", problems).value();
    let key = fields.field("key", problems, read_text(MAX_SHORT_TEXT)).value();
    let operator = fields.string("operator", problems).value();
    let value = fields.field("value", problems, |v, p, pr| match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Some(attribute_text(v)),
        _ => read_string(v, p, pr),
    });
    fields.finish(problems);
    let operator = match operator.as_deref().map(|o| (o, Operator::parse(o))) {
        Some((_, Some(op))) => Some(op),
        Some((text, None)) => {
            problems
                .add(&format!("{path}.operator"), format!("{text:?} is not allowed; allowed: {}", Operator::ALLOWED));
            None
        }
        None => {
            problems.add(&format!("{path}.operator"), format!("is required; allowed: {}", Operator::ALLOWED));
            None
        }
    }?;
    let value = value.value().unwrap_or_default();
    if operator.needs_value() && value.is_empty() {
        problems.add(&format!("{path}.value"), format!("is required for operator {}", operator.as_str()));
    }
    let condition = match field.as_deref() {
        Some("tag") => {
            if key.is_some() {
                problems.add(&format!("{path}.key"), "is only for attribute conditions");
            }
            Condition::Tag { operator, value: value.trim().to_string() }
        }
        Some("attribute") => match key.map(|k| k.trim().to_string()).filter(|k| !k.is_empty()) {
            Some(key) => Condition::Attribute { key, operator, value },
            None => {
                problems.add(&format!("{path}.key"), "is required for attribute conditions");
                return None;
            }
        },
        other => {
            problems.add(&format!("{path}.field"), format!("{other:?} is not allowed; allowed: tag, attribute"));
            return None;
        }
    };
    (problems.len() == before).then_some(condition)
}

impl Condition {
    fn to_filter(&self) -> Filter {
        match self {
            Condition::Tag { operator, value } => {
                let value = value.to_lowercase();
                match operator {
                    Operator::Is => Filter::TagIn(vec![value]),
                    Operator::IsNot => Filter::negate(Filter::TagIn(vec![value])),
                    Operator::Contains => Filter::TagContains(value),
                    Operator::Exists => Filter::HasAnyTag,
                    Operator::NotExists => Filter::negate(Filter::HasAnyTag),
                }
            }
            Condition::Attribute { key, operator, value } => {
                let (key, value) = (key.to_lowercase(), value.to_lowercase());
                match operator {
                    Operator::Is => Filter::AttributeIs { key, value },
                    Operator::IsNot => Filter::negate(Filter::AttributeIs { key, value }),
                    Operator::Contains => Filter::AttributeContains { key, value },
                    Operator::Exists => Filter::AttributeExists(key),
                    Operator::NotExists => Filter::negate(Filter::AttributeExists(key)),
                }
            }
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Condition::Tag { operator, value } => {
                json!({"field": "tag", "operator": operator.as_str(), "value": value})
            }
            Condition::Attribute { key, operator, value } => {
                json!({"field": "attribute", "key": key, "operator": operator.as_str(), "value": value})
            }
        }
    }
}
