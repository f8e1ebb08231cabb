//! What both stores share: the user document's encoding and the change feed's vocabulary.

use serde::Serialize;

use crate::domain::Id;
use crate::model::{ExportedUser, User};

/// A user document as stored: compact MessagePack. Structs are arrays of their fields in
/// declaration order, ids are their 12 bytes and timestamps their milliseconds (the binary forms
/// of `Id` and `Timestamp`), so a document is about half the size of the named form and decodes
/// without matching field names or parsing text.
///
/// To keep documents evolvable, add new fields only at the end of a struct and mark them
/// `#[serde(default)]`: older documents are shorter arrays and read with the default.
pub fn encode(user: &User) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(512);
    user.serialize(&mut rmp_serde::Serializer::new(&mut bytes))?;
    Ok(bytes)
}

/// Reads a document in the compact form, or in the named form documents were first written in
/// (maps with field names, ids and timestamps as text); both decode through the same serde
/// derive, which accepts a struct as an array or a map.
pub fn decode(bytes: &[u8]) -> anyhow::Result<User> {
    Ok(rmp_serde::from_slice(bytes)?)
}

/// Reads only what the CSV export writes, borrowing the text from `bytes`; both forms, like `decode`.
///
/// The compact form is read by hand first: the export decodes every stored document, and serde's
/// path checks the text of fields the export skips and goes through a visitor per value. Whatever
/// that reader does not plainly recognise is decoded by serde, which stays the one judge of what a
/// document holds.
pub fn decode_exported(bytes: &[u8]) -> anyhow::Result<ExportedUser<'_>> {
    match ExportedUser::read_compact(bytes) {
        Some(user) => Ok(user),
        None => Ok(rmp_serde::from_slice(bytes)?),
    }
}

/// Stored documents as read, not decoded: ids with their encoded bytes, kept in one buffer.
#[derive(Debug, Default)]
pub struct Documents {
    ids: Vec<Id>,
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Documents {
    /// Forgets the documents, keeping the buffers' room for the next ones.
    pub fn clear(&mut self) {
        self.ids.clear();
        self.bytes.clear();
        self.ends.clear();
    }

    pub fn push(&mut self, id: Id, document: &[u8]) {
        self.ids.push(id);
        self.bytes.extend_from_slice(document);
        self.ends.push(self.bytes.len());
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn last_id(&self) -> Option<Id> {
        self.ids.last().copied()
    }

    /// Each id with its encoded document, in the order read.
    pub fn iter(&self) -> impl Iterator<Item = (Id, &[u8])> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        self.ids.iter().zip(starts.zip(self.ends.iter())).map(|(id, (start, &end))| (*id, &self.bytes[start..end]))
    }
}

/// A user id as stored: its 12 bytes.
pub fn id_from_bytes(bytes: &[u8]) -> Option<Id> {
    Some(Id::from_bytes(bytes.try_into().ok()?))
}

/// A random name for one open store, written into the changes it commits.
pub fn new_origin() -> String {
    hex::encode(rand::random::<[u8; 8]>())
}

#[cfg(test)]
mod tests {
    use proptest::option;
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::domain::{Phone, Platform, Sender, Timestamp};
    use crate::model::{Attribute, Message, Note, Orders, Presence};

    fn full_user() -> User {
        let mut user = User::new(Id::parse("65f1c2a9e4b0a1b2c3d4e5f6").expect("id"), Timestamp(1_740_823_200_000));
        user.uuid = Some("visitor-1".into());
        user.last_seen_at = Some(Timestamp(1_740_823_300_123));
        user.is_contact = true;
        user.bots[Platform::Whatsapp.index()] = Some(Id::parse("65f1c2a9e4b0a1b2c3d4e5f7").expect("id"));
        user.agent = Some(Id::parse("65f1c2a9e4b0a1b2c3d4e5f9").expect("id"));
        user.orders = Orders { count: 2, last_at: Some(Timestamp(1_740_823_200_500)) };
        user.last_message = Some(Message { text: "hi".into(), at: Timestamp(1_740_823_201_000), by: Sender::Agent });
        user.presence = Some(Presence { online: true, at: Timestamp(1_740_823_202_000) });
        user.unread = 3;
        user.profile.name = Some("José".into());
        user.profile.phone = Some(Phone { number: "825551234".into(), prefix: Some("27".into()) });
        user.profile.tags = vec!["vip".into()];
        user.profile.attributes = vec![
            Attribute { key: "plan".into(), value: json!("gold") },
            Attribute { key: "seats".into(), value: json!(3.5) },
            Attribute { key: "trial".into(), value: json!(true) },
        ];
        user.notes = vec![Note {
            id: Id::parse("65f1c2a9e4b0a1b2c3d4e5fa").expect("id"),
            title: "t".into(),
            description: "d".into(),
        }];
        user
    }

    #[test]
    fn a_document_round_trips() {
        let user = full_user();
        assert_eq!(decode(&encode(&user).expect("encode")).expect("decode"), user);
    }

    #[test]
    fn documents_written_in_the_first_named_form_still_read() {
        let user = full_user();
        // The first form: maps with field names, ids and timestamps as text.
        let mut legacy = Vec::new();
        user.serialize(&mut rmp_serde::Serializer::new(&mut legacy).with_struct_map().with_human_readable())
            .expect("encode");
        assert_eq!(decode(&legacy).expect("decode"), user);
        assert!(encode(&user).expect("encode").len() < legacy.len());
    }

    /// The export's row from the borrowed view, and from the full decode.
    fn rows_both_ways(bytes: &[u8], keys: &[String]) -> (String, String) {
        let mut viewed = crate::csv_format::export::CsvRows::new();
        viewed.write_exported(&decode_exported(bytes).expect("view"), Some("Ann"), keys, true);
        let mut decoded = crate::csv_format::export::CsvRows::new();
        decoded.write_user(&decode(bytes).expect("decode"), Some("Ann"), keys, true);
        let text = |mut rows: crate::csv_format::export::CsvRows| String::from_utf8(rows.take_bytes()).expect("utf-8");
        (text(viewed), text(decoded))
    }

    #[test]
    fn the_export_view_writes_the_row_of_the_full_decode_from_both_forms() {
        let mut full = full_user();
        full.profile.picture = Some("https://example.com/p.png".into());
        full.profile.instagram_profile_id = Some("ig".into());
        full.profile.tags.push("=sum".into());
        full.profile.attributes.extend([
            Attribute { key: "nothing".into(), value: json!(null) },
            Attribute { key: "list".into(), value: json!([1, "a"]) },
            Attribute { key: "map".into(), value: json!({"b": 2, "a": 1}) },
            Attribute { key: "big".into(), value: json!(u64::MAX) },
            Attribute { key: "below".into(), value: json!(-7) },
        ]);
        let mut unicode = full.clone();
        unicode.profile.attributes.push(Attribute { key: "Ünit".into(), value: json!("m²") });
        let bare = User::new(Id::parse("65f1c2a9e4b0a1b2c3d4e5fb").expect("id"), Timestamp(0));
        let keys: Vec<String> = ["big", "below", "LIST", "map", "nothing", "plan", "seats", "trial", "ünit", "zone"]
            .map(String::from)
            .into();
        for user in [full, unicode, bare] {
            let mut legacy = Vec::new();
            user.serialize(&mut rmp_serde::Serializer::new(&mut legacy).with_struct_map().with_human_readable())
                .expect("encode");
            for bytes in [encode(&user).expect("encode"), legacy] {
                let (viewed, decoded) = rows_both_ways(&bytes, &keys);
                assert_eq!(viewed, decoded);
            }
        }
    }

    #[test]
    fn the_export_view_refuses_what_the_full_decode_refuses() {
        let mut user = full_user();
        user.profile.name = Some("x".into());
        let mut bytes = encode(&user).expect("encode");
        bytes.truncate(bytes.len() - 3);
        assert!(decode(&bytes).is_err());
        assert!(decode_exported(&bytes).is_err());
    }

    /// The export view as serde reads it, the judge the hand-written reader must agree with.
    fn exported_by_serde(bytes: &[u8]) -> Option<ExportedUser<'_>> {
        rmp_serde::from_slice(bytes).ok()
    }

    fn legacy_bytes(user: &User) -> Vec<u8> {
        let mut legacy = Vec::new();
        user.serialize(&mut rmp_serde::Serializer::new(&mut legacy).with_struct_map().with_human_readable())
            .expect("encode");
        legacy
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![Just(String::new()), "[a-zA-Z0-9 ]{0,40}", any::<String>(), "[a-z]{250,300}"]
    }

    fn scalar() -> impl Strategy<Value = serde_json::Value> {
        prop_oneof![
            text().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            any::<bool>().prop_map(serde_json::Value::from),
            Just(serde_json::Value::Null),
        ]
    }

    fn timestamp() -> impl Strategy<Value = Timestamp> {
        prop_oneof![any::<i64>(), 0..2_000_000_000_000i64].prop_map(Timestamp)
    }

    fn id() -> impl Strategy<Value = Id> {
        any::<[u8; 12]>().prop_map(Id::from_bytes)
    }

    /// Users with every field drawn at random, attribute values scalars as the API stores them.
    fn random_user() -> impl Strategy<Value = User> {
        let head = (
            id(),
            option::of(text()),
            timestamp(),
            timestamp(),
            option::of(timestamp()),
            any::<[bool; 5]>(),
            "[A-Z_0-9]{1,32}",
        );
        let links = (
            [option::of(id()), option::of(id()), option::of(id()), option::of(id())],
            option::of(id()),
            (any::<u32>(), option::of(timestamp())),
            option::of((text(), timestamp(), prop_oneof![Just(Sender::User), Just(Sender::Bot), Just(Sender::Agent)])),
            option::of((any::<bool>(), timestamp())),
            any::<u32>(),
        );
        let profile = (
            proptest::collection::vec(option::of(text()), 10),
            option::of(("[0-9]{0,12}", option::of("[0-9]{1,3}"))),
            proptest::collection::vec(text(), 0..20),
            proptest::collection::vec((text(), scalar()), 0..20),
            proptest::collection::vec((id(), text(), text()), 0..4),
        );
        (head, links, profile).prop_map(|(head, links, profile)| {
            let (id, uuid, created_at, updated_at, last_seen_at, flags, status) = head;
            let (bots, agent, orders, message, presence, unread) = links;
            let (texts, phone, tags, attributes, notes) = profile;
            let mut user = User::new(id, created_at);
            user.uuid = uuid;
            user.updated_at = updated_at;
            user.last_seen_at = last_seen_at;
            [
                user.is_contact,
                user.is_live_chat_active,
                user.user_interacted,
                user.is_subscriber,
                user.is_user_blocked,
            ] = flags;
            user.status = crate::domain::Status::parse(&status).expect("status");
            user.bots = bots;
            user.agent = agent;
            user.orders = Orders { count: orders.0, last_at: orders.1 };
            user.last_message = message.map(|(text, at, by)| Message { text, at, by });
            user.presence = presence.map(|(online, at)| Presence { online, at });
            user.unread = unread;
            let p = &mut user.profile;
            let mut texts = texts.into_iter();
            for field in [
                &mut p.name,
                &mut p.user_provided_name,
                &mut p.picture,
                &mut p.email,
                &mut p.whatsapp_number,
                &mut p.telegram_user_name,
                &mut p.facebook_profile_id,
                &mut p.instagram_profile_id,
                &mut p.city,
                &mut p.country,
            ] {
                *field = texts.next().flatten();
            }
            p.phone = phone.map(|(number, prefix)| Phone { number, prefix });
            p.tags = tags;
            p.attributes = attributes.into_iter().map(|(key, value)| Attribute { key, value }).collect();
            user.notes = notes.into_iter().map(|(id, title, description)| Note { id, title, description }).collect();
            user
        })
    }

    /// Realistic users from the demo generator.
    fn demo_user() -> impl Strategy<Value = User> {
        (any::<u64>(), 0..1_000_000usize).prop_map(|(seed, index)| {
            use rand::SeedableRng;
            let bots = [1u8, 2, 3, 4].map(|n| Id::from_bytes([n; 12]));
            let agents = vec![Id::from_bytes([9; 12]), Id::from_bytes([10; 12])];
            let population = crate::demo::user::Population::new(bots, agents).expect("population");
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            crate::demo::user::user(&mut rng, &population, index, Timestamp(1_740_823_200_000))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

        #[test]
        fn the_compact_reader_reads_what_serde_reads(user in prop_oneof![random_user(), demo_user()]) {
            let bytes = encode(&user).expect("encode");
            let fast = ExportedUser::read_compact(&bytes);
            prop_assert!(fast.is_some(), "the compact form of a user left to serde");
            prop_assert_eq!(fast, exported_by_serde(&bytes));
            prop_assert_eq!(decode_exported(&bytes).ok(), Some(ExportedUser::from(&user)));
        }

        #[test]
        fn the_named_form_is_left_to_serde(user in prop_oneof![random_user(), demo_user()]) {
            let bytes = legacy_bytes(&user);
            prop_assert!(ExportedUser::read_compact(&bytes).is_none());
            prop_assert_eq!(decode_exported(&bytes).ok(), exported_by_serde(&bytes));
            // The text form cannot hold every millisecond count; whatever the full decode reads, the view reads.
            prop_assert_eq!(decode_exported(&bytes).is_ok(), decode(&bytes).is_ok());
        }

        #[test]
        fn damaged_documents_read_as_serde_reads_them(
            user in random_user(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = encode(&user).expect("encode");
            for (at, byte) in edits {
                let at = at.index(bytes.len());
                bytes[at] = byte;
            }
            prop_assert_eq!(decode_exported(&bytes).ok(), exported_by_serde(&bytes));
            let cut = cut.index(bytes.len());
            prop_assert_eq!(decode_exported(&bytes[..cut]).ok(), exported_by_serde(&bytes[..cut]));
        }

        #[test]
        fn garbage_is_refused_without_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(decode_exported(&bytes).ok(), exported_by_serde(&bytes));
        }
    }

    #[test]
    fn every_truncated_document_is_refused() {
        let bytes = encode(&full_user()).expect("encode");
        for cut in 0..bytes.len() {
            assert!(ExportedUser::read_compact(&bytes[..cut]).is_none());
            assert!(decode_exported(&bytes[..cut]).is_err(), "{cut} bytes read");
        }
        assert!(ExportedUser::read_compact(&bytes).is_some());
    }

    #[test]
    fn attribute_values_serde_reads_and_the_reader_does_not_still_read() {
        let mut user = full_user();
        user.profile.attributes.push(Attribute { key: "list".into(), value: json!([1, "a", {"b": null}]) });
        let bytes = encode(&user).expect("encode");
        assert!(ExportedUser::read_compact(&bytes).is_none());
        assert_eq!(decode_exported(&bytes).expect("view"), ExportedUser::from(&user));
    }

    #[test]
    fn a_document_with_bytes_after_it_is_left_to_serde() {
        let mut bytes = encode(&full_user()).expect("encode");
        bytes.push(0xc0);
        assert!(ExportedUser::read_compact(&bytes).is_none());
        assert_eq!(decode_exported(&bytes).ok(), exported_by_serde(&bytes));
    }

    #[tokio::test]
    async fn a_page_read_into_used_buffers_holds_only_that_page() {
        use crate::store::{Commit, SqliteStore, Store};
        let dir = tempfile::tempdir().expect("dir");
        let store = SqliteStore::open(&dir.path().join("store.db")).expect("store");
        let workspace = store.ensure_workspace("w").await.expect("workspace");
        let users: Vec<User> = (1..=5u8).map(|n| User::new(Id::from_bytes([n; 12]), Timestamp(i64::from(n)))).collect();
        store.commit(workspace, &Commit { upsert: users.clone(), ..Commit::default() }).await.expect("commit");

        let first = store.documents_after(workspace, None, 3, Documents::default()).await.expect("first page");
        let after = first.last_id();
        let second = store.documents_after(workspace, after, 3, first).await.expect("second page");
        let read: Vec<(Id, User)> = second.iter().map(|(id, bytes)| (id, decode(bytes).expect("decode"))).collect();
        assert_eq!(read, users[3..].iter().map(|u| (u.id, u.clone())).collect::<Vec<_>>());
    }
}
