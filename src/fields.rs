//! A strict reader of JSON request bodies: it names the field path of every problem and
//! collects all of them, so one 400 lists everything wrong with a body at once.

use serde_json::{Map, Value};

/// Problems found in one body, each "<field path>: <problem>".
#[derive(Default, Debug, Clone, PartialEq)]
pub struct Problems(pub Vec<String>);

impl Problems {
    pub fn add(&mut self, path: &str, problem: impl std::fmt::Display) {
        if path.is_empty() {
            self.0.push(format!("body: {problem}"));
        } else {
            self.0.push(format!("{path}: {problem}"));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn into_result<T>(self, value: T) -> Result<T, Problems> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

/// The path of a member: `parent.key`, or `key` at the top.
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// The path of an array element: `parent[i]`.
pub fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// The JSON type name used in messages.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A field that may be absent, explicitly null, or set.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Field<T> {
    #[default]
    Missing,
    Null,
    Set(T),
}

impl<T> Field<T> {
    pub fn is_missing(&self) -> bool {
        matches!(self, Field::Missing)
    }

    /// Missing and null both read as "no value".
    pub fn value(self) -> Option<T> {
        match self {
            Field::Set(v) => Some(v),
            _ => None,
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Field<U> {
        match self {
            Field::Missing => Field::Missing,
            Field::Null => Field::Null,
            Field::Set(v) => Field::Set(f(v)),
        }
    }
}

/// An object being read: every key taken is remembered, and `finish` reports the others as unknown.
pub struct Fields<'a> {
    path: String,
    map: &'a Map<String, Value>,
    taken: Vec<&'a str>,
}

impl<'a> Fields<'a> {
    /// Reads `value` as an object at `path`; anything else is a problem and None.
    pub fn of(value: &'a Value, path: &str, problems: &mut Problems) -> Option<Fields<'a>> {
        match value {
            Value::Object(map) => Some(Fields { path: path.to_string(), map, taken: Vec::new() }),
            other => {
                problems.add(path, format!("must be an object, not {}", type_name(other)));
                None
            }
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn path_of(&self, key: &str) -> String {
        join(&self.path, key)
    }

    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// The raw value of a key (null included), marking it as known.
    pub fn raw(&mut self, key: &'static str) -> Option<&'a Value> {
        let value = self.map.get(key)?;
        self.taken.push(key);
        Some(value)
    }

    /// Marks keys as known without reading them (fields the server owns and ignores).
    pub fn ignore(&mut self, keys: &[&'static str]) {
        self.taken.extend(keys.iter().copied());
    }

    pub fn field<T>(
        &mut self,
        key: &'static str,
        problems: &mut Problems,
        read: impl FnOnce(&'a Value, &str, &mut Problems) -> Option<T>,
    ) -> Field<T> {
        match self.raw(key) {
            None => Field::Missing,
            Some(Value::Null) => Field::Null,
            Some(value) => {
                let path = self.path_of(key);
                match read(value, &path, problems) {
                    Some(v) => Field::Set(v),
                    None => Field::Missing,
                }
            }
        }
    }

    pub fn string(&mut self, key: &'static str, problems: &mut Problems) -> Field<String> {
        self.field(key, problems, read_string)
    }

    pub fn boolean(&mut self, key: &'static str, problems: &mut Problems) -> Field<bool> {
        self.field(key, problems, read_bool)
    }

    /// Reports every key that no reader asked for.
    pub fn finish(&self, problems: &mut Problems) {
        for key in self.map.keys() {
            if !self.taken.contains(&key.as_str()) {
                problems.add(&join(&self.path, key), "unknown field");
            }
        }
    }
}

pub fn read_string(value: &Value, path: &str, problems: &mut Problems) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        other => {
            problems.add(path, format!("must be a string, not {}", type_name(other)));
            None
        }
    }
}

pub fn read_bool(value: &Value, path: &str, problems: &mut Problems) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        other => {
            problems.add(path, format!("must be a boolean, not {}", type_name(other)));
            None
        }
    }
}

pub fn read_integer(value: &Value, path: &str, problems: &mut Problems) -> Option<i64> {
    match value.as_i64() {
        Some(n) => Some(n),
        None => {
            problems.add(path, format!("must be an integer, not {}", type_name(value)));
            None
        }
    }
}

pub fn read_number(value: &Value, path: &str, problems: &mut Problems) -> Option<f64> {
    match value.as_f64() {
        Some(n) => Some(n),
        None => {
            problems.add(path, format!("must be a number, not {}", type_name(value)));
            None
        }
    }
}

/// An array whose elements are read one by one; at most `max` of them.
pub fn read_array<'a, T>(
    value: &'a Value,
    path: &str,
    max: usize,
    problems: &mut Problems,
    mut read: impl FnMut(&'a Value, &str, &mut Problems) -> Option<T>,
) -> Option<Vec<T>> {
    let Value::Array(items) = value else {
        problems.add(path, format!("must be an array, not {}", type_name(value)));
        return None;
    };
    if items.len() > max {
        problems.add(path, format!("has {} items; at most {max} are allowed", items.len()));
        return None;
    }
    let before = problems.len();
    let read: Vec<T> = items.iter().enumerate().filter_map(|(i, item)| read(item, &index(path, i), problems)).collect();
    (problems.len() == before).then_some(read)
}

/// A string no longer than `max` characters.
pub fn read_text(max: usize) -> impl Fn(&Value, &str, &mut Problems) -> Option<String> {
    move |value, path, problems| {
        let text = read_string(value, path, problems)?;
        if text.chars().count() > max {
            problems.add(path, format!("is longer than {max} characters"));
            return None;
        }
        Some(text)
    }
}

/// A 24-character hex id.
pub fn read_id(value: &Value, path: &str, problems: &mut Problems) -> Option<crate::domain::Id> {
    let text = read_string(value, path, problems)?;
    let id = crate::domain::Id::parse(&text);
    if id.is_none() {
        problems.add(path, format!("{text:?} is not an id (24 lowercase hex characters)"));
    }
    id
}

/// An RFC 3339 timestamp.
pub fn read_timestamp(value: &Value, path: &str, problems: &mut Problems) -> Option<crate::domain::Timestamp> {
    let text = read_string(value, path, problems)?;
    let ts = crate::domain::Timestamp::parse(&text);
    if ts.is_none() {
        problems.add(path, format!("{text:?} is not an RFC 3339 timestamp"));
    }
    ts
}

/// A string that `parse` accepts; otherwise a problem naming what is allowed.
pub fn read_parsed<T>(
    value: &Value,
    path: &str,
    problems: &mut Problems,
    parse: impl FnOnce(&str) -> Option<T>,
    allowed: &str,
) -> Option<T> {
    let text = read_string(value, path, problems)?;
    let parsed = parse(&text);
    if parsed.is_none() {
        problems.add(path, format!("{text:?} is not allowed; allowed: {allowed}"));
    }
    parsed
}

/// A channel, in any case.
pub fn read_platform(value: &Value, path: &str, problems: &mut Problems) -> Option<crate::domain::Platform> {
    use crate::domain::Platform;
    read_parsed(value, path, problems, Platform::parse, Platform::ALLOWED)
}

/// Who sent a message: user, bot or agent.
pub fn read_sender(value: &Value, path: &str, problems: &mut Problems) -> Option<crate::domain::Sender> {
    use crate::domain::Sender;
    read_parsed(value, path, problems, Sender::parse, Sender::ALLOWED)
}

/// A status: an upper-case word.
pub fn read_status(value: &Value, path: &str, problems: &mut Problems) -> Option<crate::domain::Status> {
    use crate::domain::Status;
    read_parsed(value, path, problems, Status::parse, Status::RULE)
}
