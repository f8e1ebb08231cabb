//! The export view read straight from the compact stored form, without serde: only the text the
//! export writes is checked as UTF-8, the rest (notes, picture) is stepped over.
//!
//! It reads exactly what the serde derive reads from that form and nothing more: any other shape
//! (the named maps, an array of another length, a marker it does not expect, bytes left over)
//! answers `None` and the caller decodes through serde, so what is accepted or refused never
//! depends on this reader.

use std::borrow::Cow;

use rmp::Marker;
use serde::de::IgnoredAny;
use serde_json::Value;

use super::{
    AttributeValue, ExportedAttribute, ExportedMessage, ExportedPhone, ExportedProfile, ExportedUser, StatusText,
};
use crate::domain::{Id, Sender, Status, Timestamp};
use crate::model::{Orders, Presence};

/// How deep `skip` follows nested arrays and maps before leaving the document to serde.
const SKIP_DEPTH: u32 = 16;

impl<'a> ExportedUser<'a> {
    /// The view of a document in the compact form; `None` when it is not plainly in that form.
    pub(crate) fn read_compact(bytes: &'a [u8]) -> Option<ExportedUser<'a>> {
        let mut reader = Reader { rest: bytes };
        let user = reader.user()?;
        reader.rest.is_empty().then_some(user)
    }
}

/// The unread part of a document.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn user(&mut self) -> Option<ExportedUser<'a>> {
        self.array(19)?;
        Some(ExportedUser {
            id: self.id()?,
            uuid: self.optional(Reader::str)?,
            created_at: self.timestamp()?,
            updated_at: self.timestamp()?,
            last_seen_at: self.optional(Reader::timestamp)?,
            is_contact: self.bool()?,
            is_live_chat_active: self.bool()?,
            user_interacted: self.bool()?,
            is_subscriber: self.bool()?,
            is_user_blocked: self.bool()?,
            status: self.status()?,
            bots: {
                self.array(4)?;
                [
                    self.optional(Reader::id)?,
                    self.optional(Reader::id)?,
                    self.optional(Reader::id)?,
                    self.optional(Reader::id)?,
                ]
            },
            agent: self.optional(Reader::id)?,
            orders: {
                self.array(2)?;
                Orders { count: self.u32()?, last_at: self.optional(Reader::timestamp)? }
            },
            last_message: self.optional(Reader::message)?,
            presence: self.optional(Reader::presence)?,
            unread: self.u32()?,
            profile: self.profile()?,
            _notes: self.skip(SKIP_DEPTH)?,
        })
    }

    fn message(&mut self) -> Option<ExportedMessage<'a>> {
        self.array(3)?;
        Some(ExportedMessage { text: self.str()?, at: self.timestamp()?, by: Sender::parse(self.str()?)? })
    }

    fn presence(&mut self) -> Option<Presence> {
        self.array(2)?;
        Some(Presence { online: self.bool()?, at: self.timestamp()? })
    }

    fn profile(&mut self) -> Option<ExportedProfile<'a>> {
        self.array(13)?;
        Some(ExportedProfile {
            name: self.optional(Reader::str)?,
            user_provided_name: self.optional(Reader::str)?,
            _picture: self.skip(SKIP_DEPTH)?,
            email: self.optional(Reader::str)?,
            phone: self.optional(Reader::phone)?,
            whatsapp_number: self.optional(Reader::str)?,
            telegram_user_name: self.optional(Reader::str)?,
            facebook_profile_id: self.optional(Reader::str)?,
            _instagram_profile_id: self.skip(SKIP_DEPTH)?,
            city: self.optional(Reader::str)?,
            country: self.optional(Reader::str)?,
            tags: self.list(Reader::str)?,
            attributes: self.list(Reader::attribute)?,
        })
    }

    fn phone(&mut self) -> Option<ExportedPhone<'a>> {
        self.array(2)?;
        Some(ExportedPhone { number: self.str()?, prefix: self.optional(Reader::str)? })
    }

    fn attribute(&mut self) -> Option<ExportedAttribute<'a>> {
        self.array(2)?;
        Some(ExportedAttribute { key: self.str()?, value: self.attribute_value()? })
    }

    /// What `Value` reads of a scalar (integers keep their sign's kind, floats JSON cannot hold
    /// become null); arrays and maps are left to serde.
    fn attribute_value(&mut self) -> Option<AttributeValue<'a>> {
        let other = match self.marker()? {
            Marker::Null => Value::Null,
            Marker::True => Value::Bool(true),
            Marker::False => Value::Bool(false),
            Marker::FixPos(n) => Value::from(n),
            Marker::U8 => Value::from(u8::from_be_bytes(self.be()?)),
            Marker::U16 => Value::from(u16::from_be_bytes(self.be()?)),
            Marker::U32 => Value::from(u32::from_be_bytes(self.be()?)),
            Marker::U64 => Value::from(u64::from_be_bytes(self.be()?)),
            Marker::FixNeg(n) => Value::from(i64::from(n)),
            Marker::I8 => Value::from(i64::from(i8::from_be_bytes(self.be()?))),
            Marker::I16 => Value::from(i64::from(i16::from_be_bytes(self.be()?))),
            Marker::I32 => Value::from(i64::from(i32::from_be_bytes(self.be()?))),
            Marker::I64 => Value::from(i64::from_be_bytes(self.be()?)),
            Marker::F32 => Value::from(f64::from(f32::from_be_bytes(self.be()?))),
            Marker::F64 => Value::from(f64::from_be_bytes(self.be()?)),
            marker => {
                let len = self.str_len(marker)?;
                return Some(AttributeValue::Text(Cow::Borrowed(self.utf8(len)?)));
            }
        };
        Some(AttributeValue::Other(other))
    }

    /// Nil, or what `read` reads.
    fn optional<T>(&mut self, read: impl FnOnce(&mut Reader<'a>) -> Option<T>) -> Option<Option<T>> {
        if let Some((&byte, rest)) = self.rest.split_first() {
            if Marker::from_u8(byte) == Marker::Null {
                self.rest = rest;
                return Some(None);
            }
        }
        read(self).map(Some)
    }

    fn list<T>(&mut self, mut read: impl FnMut(&mut Reader<'a>) -> Option<T>) -> Option<Vec<T>> {
        let len = self.array_len()?;
        // Every element takes a byte at least: a forged length cannot reserve more than that.
        let mut items = Vec::with_capacity(len.min(self.rest.len()));
        for _ in 0..len {
            items.push(read(self)?);
        }
        Some(items)
    }

    fn status(&mut self) -> Option<StatusText<'a>> {
        let text = self.str()?;
        Status::is_valid(text).then_some(StatusText(text))
    }

    /// An id's 12 bytes (its text form is left to serde).
    fn id(&mut self) -> Option<Id> {
        let len = match self.marker()? {
            Marker::Bin8 => usize::from(self.byte()?),
            Marker::Bin16 => usize::from(u16::from_be_bytes(self.be()?)),
            Marker::Bin32 => usize::try_from(u32::from_be_bytes(self.be()?)).ok()?,
            _ => return None,
        };
        Some(Id::from_bytes(self.take(len)?.try_into().ok()?))
    }

    /// Milliseconds (the RFC 3339 text form is left to serde).
    fn timestamp(&mut self) -> Option<Timestamp> {
        Some(Timestamp(i64::try_from(self.int()?).ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.int()?).ok()
    }

    /// An integer of any width and sign.
    fn int(&mut self) -> Option<i128> {
        Some(match self.marker()? {
            Marker::FixPos(n) => i128::from(n),
            Marker::FixNeg(n) => i128::from(n),
            Marker::U8 => i128::from(u8::from_be_bytes(self.be()?)),
            Marker::U16 => i128::from(u16::from_be_bytes(self.be()?)),
            Marker::U32 => i128::from(u32::from_be_bytes(self.be()?)),
            Marker::U64 => i128::from(u64::from_be_bytes(self.be()?)),
            Marker::I8 => i128::from(i8::from_be_bytes(self.be()?)),
            Marker::I16 => i128::from(i16::from_be_bytes(self.be()?)),
            Marker::I32 => i128::from(i32::from_be_bytes(self.be()?)),
            Marker::I64 => i128::from(i64::from_be_bytes(self.be()?)),
            _ => return None,
        })
    }

    fn bool(&mut self) -> Option<bool> {
        match self.marker()? {
            Marker::True => Some(true),
            Marker::False => Some(false),
            _ => None,
        }
    }

    /// Text, checked as UTF-8 (binary is left to serde).
    fn str(&mut self) -> Option<&'a str> {
        let marker = self.marker()?;
        let len = self.str_len(marker)?;
        self.utf8(len)
    }

    fn str_len(&mut self, marker: Marker) -> Option<usize> {
        match marker {
            Marker::FixStr(len) => Some(usize::from(len)),
            Marker::Str8 => Some(usize::from(self.byte()?)),
            Marker::Str16 => Some(usize::from(u16::from_be_bytes(self.be()?))),
            Marker::Str32 => usize::try_from(u32::from_be_bytes(self.be()?)).ok(),
            _ => None,
        }
    }

    fn utf8(&mut self, len: usize) -> Option<&'a str> {
        std::str::from_utf8(self.take(len)?).ok()
    }

    /// The header of an array of exactly `len` elements.
    fn array(&mut self, len: usize) -> Option<()> {
        (self.array_len()? == len).then_some(())
    }

    fn array_len(&mut self) -> Option<usize> {
        match self.marker()? {
            Marker::FixArray(len) => Some(usize::from(len)),
            Marker::Array16 => Some(usize::from(u16::from_be_bytes(self.be()?))),
            Marker::Array32 => usize::try_from(u32::from_be_bytes(self.be()?)).ok(),
            _ => None,
        }
    }

    /// Steps over one value of any kind, text unchecked (serde's `IgnoredAny` accepts text that is
    /// not UTF-8 too), at most `depth` arrays or maps deep.
    fn skip(&mut self, depth: u32) -> Option<IgnoredAny> {
        let marker = self.marker()?;
        let (bytes, values) = match marker {
            Marker::Null | Marker::True | Marker::False | Marker::FixPos(_) | Marker::FixNeg(_) => (0, 0),
            Marker::U8 | Marker::I8 => (1, 0),
            Marker::U16 | Marker::I16 => (2, 0),
            Marker::U32 | Marker::I32 | Marker::F32 => (4, 0),
            Marker::U64 | Marker::I64 | Marker::F64 => (8, 0),
            Marker::FixStr(len) => (usize::from(len), 0),
            Marker::Str8 | Marker::Bin8 => (usize::from(self.byte()?), 0),
            Marker::Str16 | Marker::Bin16 => (usize::from(u16::from_be_bytes(self.be()?)), 0),
            Marker::Str32 | Marker::Bin32 => (usize::try_from(u32::from_be_bytes(self.be()?)).ok()?, 0),
            Marker::FixArray(len) => (0, usize::from(len)),
            Marker::Array16 => (0, usize::from(u16::from_be_bytes(self.be()?))),
            Marker::Array32 => (0, usize::try_from(u32::from_be_bytes(self.be()?)).ok()?),
            Marker::FixMap(len) => (0, 2 * usize::from(len)),
            Marker::Map16 => (0, 2 * usize::from(u16::from_be_bytes(self.be()?))),
            Marker::Map32 => (0, 2 * usize::try_from(u32::from_be_bytes(self.be()?)).ok()?),
            _ => return None,
        };
        self.take(bytes)?;
        if values > 0 {
            let depth = depth.checked_sub(1)?;
            for _ in 0..values {
                self.skip(depth)?;
            }
        }
        Some(IgnoredAny)
    }

    fn marker(&mut self) -> Option<Marker> {
        self.byte().map(Marker::from_u8)
    }

    fn byte(&mut self) -> Option<u8> {
        let (&byte, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(byte)
    }

    fn be<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        if len > self.rest.len() {
            return None;
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some(taken)
    }
}
