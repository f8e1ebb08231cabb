//! The engine as a file, so that a cold start loads it instead of building it from every document.
//!
//! Layout: a header (magic, format version, a fingerprint of this build's hashing and folding, the
//! caller's metadata, the payload's length and CRC-32), then the payload: rows as fixed-size records
//! with their few variable parts inline, identity keys as raw hashes, arenas and presorted orders
//! as raw bytes, bitmaps in roaring's portable format. The hash maps that only speed up lookups (id
//! to slot, value to number, identity key to holder) are not stored: they are rebuilt from the
//! vectors, which costs less than reading them. Everything read is checked before it is trusted: a
//! file that is not one of ours, of another format or build, truncated, or failing its checksum is
//! refused with an error, never turned into an engine.

use std::collections::BTreeMap;
use std::hash::Hasher;
use std::io::{self, Read, Seek, SeekFrom, Write};

use roaring::RoaringBitmap;

use super::identities::{Identities, Key, Keys};
use super::index::Index;
use super::interner::{FastHasher, FastMap, Interner, Names, People};
use super::order::SortOrder;
use super::row::Row;
use super::text::{Span, TextIndex};
use super::timeline::Timeline;
use super::{Engine, SORT_KEYS};
use crate::domain::{Id, Sender};

const MAGIC: &[u8; 8] = b"INBXSNAP";
/// Bumped whenever the payload's layout or the meaning of a stored value changes.
pub const FORMAT: u32 = 1;
/// Magic, format, fingerprint, metadata length.
const FIXED_HEADER: usize = 8 + 4 + 8 + 4;
/// The payload's length and checksum, after the metadata.
const PAYLOAD_HEADER: usize = 8 + 4;
/// Longer metadata means a damaged header.
const MAX_META: usize = 1 << 16;
/// A missing name key (a name's length never reaches it).
const NO_NAME: u32 = u32::MAX;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("reading the snapshot: {0}")]
    Io(#[from] io::Error),
    #[error("not an engine snapshot")]
    NotASnapshot,
    #[error("snapshot format {found}, this build reads format {FORMAT}")]
    Format { found: u32 },
    #[error("written by a build that hashes or folds text differently")]
    Build,
    #[error("truncated: {found} bytes where {expected} were written")]
    Truncated { expected: u64, found: u64 },
    #[error("checksum mismatch: the payload is damaged")]
    Checksum,
    #[error("inconsistent content: {0}")]
    Corrupt(&'static str),
}

type Result<T> = std::result::Result<T, SnapshotError>;

/// The stored keys and texts depend on SipHash (which Rust may change between releases) and on
/// Unicode folding (which a dependency may change): a snapshot is only read by a build that
/// derives the same ones.
fn fingerprint() -> u64 {
    let keys = Keys {
        uuid: Some("probe".into()),
        email: Some("probe@example.com".into()),
        phone: Some("27825551234".into()),
        ..Keys::default()
    };
    let mut hasher = FastHasher::default();
    for key in keys.hashed().iter() {
        let [a, b] = key.to_words();
        hasher.write_u64(a);
        hasher.write_u64(b);
    }
    hasher.write(crate::domain::text::fold("Zoë ÆRØ Çağrı Straße ǅ").as_bytes());
    hasher.finish()
}

/// What a snapshot file says before its payload.
pub struct Header {
    /// The caller's metadata, as given to `write`.
    pub meta: Vec<u8>,
    payload_len: u64,
    checksum: u32,
    /// Bytes before the payload.
    len: u64,
}

impl Header {
    pub fn payload_len(&self) -> u64 {
        self.payload_len
    }
}

/// Writes the engine, with `meta`, to `file` from its current position; answers the bytes written.
/// The caller holds the engine's read lock; the file is not synced.
pub fn write(engine: &Engine, meta: &[u8], file: &mut std::fs::File) -> io::Result<u64> {
    let start = file.stream_position()?;
    let mut head = Vec::with_capacity(FIXED_HEADER + meta.len() + PAYLOAD_HEADER);
    head.extend_from_slice(MAGIC);
    head.extend_from_slice(&FORMAT.to_le_bytes());
    head.extend_from_slice(&fingerprint().to_le_bytes());
    head.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    head.extend_from_slice(meta);
    // Length and checksum are known at the end: written then, in place.
    head.extend_from_slice(&[0; PAYLOAD_HEADER]);
    file.write_all(&head)?;
    let mut out = Out::new(&mut *file);
    out.engine(engine)?;
    let (payload_len, checksum) = out.finish()?;
    file.seek(SeekFrom::Start(start + (head.len() - PAYLOAD_HEADER) as u64))?;
    file.write_all(&payload_len.to_le_bytes())?;
    file.write_all(&checksum.to_le_bytes())?;
    file.seek(SeekFrom::End(0))?;
    Ok(head.len() as u64 + payload_len)
}

/// Reads the header of a snapshot file of `file_len` bytes.
pub fn read_header(reader: &mut impl Read, file_len: u64) -> Result<Header> {
    let mut fixed = [0u8; FIXED_HEADER];
    reader.read_exact(&mut fixed).map_err(|_| SnapshotError::NotASnapshot)?;
    if &fixed[..8] != MAGIC {
        return Err(SnapshotError::NotASnapshot);
    }
    let word = |at: usize| u32::from_le_bytes([fixed[at], fixed[at + 1], fixed[at + 2], fixed[at + 3]]);
    let format = word(8);
    if format != FORMAT {
        return Err(SnapshotError::Format { found: format });
    }
    let mut build = [0u8; 8];
    build.copy_from_slice(&fixed[12..20]);
    if u64::from_le_bytes(build) != fingerprint() {
        return Err(SnapshotError::Build);
    }
    let meta_len = word(20) as usize;
    if meta_len > MAX_META {
        return Err(SnapshotError::Corrupt("metadata length"));
    }
    let mut rest = vec![0u8; meta_len + PAYLOAD_HEADER];
    reader
        .read_exact(&mut rest)
        .map_err(|_| SnapshotError::Truncated { expected: (FIXED_HEADER + rest.len()) as u64, found: file_len })?;
    let mut input = In::new(&rest[meta_len..]);
    let payload_len = input.u64()?;
    let checksum = input.u32()?;
    rest.truncate(meta_len);
    let len = (FIXED_HEADER + meta_len + PAYLOAD_HEADER) as u64;
    let expected = len.saturating_add(payload_len);
    if file_len != expected {
        return Err(SnapshotError::Truncated { expected, found: file_len });
    }
    Ok(Header { meta: rest, payload_len, checksum, len })
}

/// Reads the payload that follows `header` and makes the engine it holds (without segments: the
/// caller sets them).
pub fn read_engine(reader: &mut impl Read, header: &Header) -> Result<Engine> {
    let mut payload = Vec::new();
    payload.try_reserve_exact(header.payload_len as usize).map_err(|_| SnapshotError::Corrupt("payload length"))?;
    reader.by_ref().take(header.payload_len).read_to_end(&mut payload)?;
    if payload.len() as u64 != header.payload_len {
        let found = header.len + payload.len() as u64;
        return Err(SnapshotError::Truncated { expected: header.len + header.payload_len, found });
    }
    // Decoding trusts nothing it reads (every length and number is checked), so the checksum is
    // computed beside it rather than before it; a mismatch refuses whatever was decoded.
    std::thread::scope(|scope| {
        let checksum = beside(scope, || crc32fast::hash(&payload));
        let mut input = In::new(&payload);
        let engine = input.engine().and_then(|engine| match input.is_empty() {
            true => Ok(engine),
            false => corrupt("bytes after the engine"),
        });
        if checksum.join() != header.checksum {
            return Err(SnapshotError::Checksum);
        }
        engine
    })
}

/// Work running on another thread of a scope, or done already when no thread could be had.
enum Beside<'scope, T> {
    Running(std::thread::ScopedJoinHandle<'scope, T>),
    Done(T),
}

/// Starts `work` on another thread of the scope; does it here when no thread can be had (it is
/// `Copy`, capturing references only, so it is still at hand then).
fn beside<'scope, T, F>(scope: &'scope std::thread::Scope<'scope, '_>, work: F) -> Beside<'scope, T>
where
    T: Send + 'scope,
    F: FnOnce() -> T + Send + Copy + 'scope,
{
    match std::thread::Builder::new().name("snapshot-read".into()).spawn_scoped(scope, work) {
        Ok(handle) => Beside::Running(handle),
        Err(_) => Beside::Done(work()),
    }
}

impl<T> Beside<'_, T> {
    fn join(self) -> T {
        match self {
            Beside::Done(done) => done,
            Beside::Running(handle) => handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        }
    }
}

/// The payload's writer: buffered, checksummed and counted as it goes.
struct Out<W: Write> {
    inner: W,
    buffer: Vec<u8>,
    crc: crc32fast::Hasher,
    len: u64,
}

const BUFFER: usize = 1 << 20;

impl<W: Write> Write for Out<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.bytes(bytes)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.crc.update(&self.buffer);
        self.len += self.buffer.len() as u64;
        self.inner.write_all(&self.buffer)?;
        self.buffer.clear();
        Ok(())
    }
}

impl<W: Write> Out<W> {
    fn new(inner: W) -> Out<W> {
        Out { inner, buffer: Vec::with_capacity(BUFFER), crc: crc32fast::Hasher::new(), len: 0 }
    }

    fn finish(mut self) -> io::Result<(u64, u32)> {
        self.flush()?;
        Ok((self.len, self.crc.finalize()))
    }

    fn bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.buffer.len() + bytes.len() > BUFFER {
            self.flush()?;
        }
        if bytes.len() > BUFFER {
            self.crc.update(bytes);
            self.len += bytes.len() as u64;
            return self.inner.write_all(bytes);
        }
        self.buffer.extend_from_slice(bytes);
        Ok(())
    }

    fn u8(&mut self, n: u8) -> io::Result<()> {
        self.bytes(&[n])
    }

    fn u32(&mut self, n: u32) -> io::Result<()> {
        self.bytes(&n.to_le_bytes())
    }

    fn u64(&mut self, n: u64) -> io::Result<()> {
        self.bytes(&n.to_le_bytes())
    }

    fn i64(&mut self, n: i64) -> io::Result<()> {
        self.bytes(&n.to_le_bytes())
    }

    fn len(&mut self, n: usize) -> io::Result<()> {
        self.u64(n as u64)
    }

    fn str(&mut self, text: &str) -> io::Result<()> {
        self.len(text.len())?;
        self.bytes(text.as_bytes())
    }

    fn u32s(&mut self, numbers: &[u32]) -> io::Result<()> {
        self.len(numbers.len())?;
        for chunk in numbers.chunks(1024) {
            let mut bytes = [0u8; 4096];
            for (to, n) in bytes.chunks_exact_mut(4).zip(chunk) {
                to.copy_from_slice(&n.to_le_bytes());
            }
            self.bytes(&bytes[..chunk.len() * 4])?;
        }
        Ok(())
    }

    fn u64s(&mut self, numbers: &[u64]) -> io::Result<()> {
        self.len(numbers.len())?;
        for chunk in numbers.chunks(512) {
            let mut bytes = [0u8; 4096];
            for (to, n) in bytes.chunks_exact_mut(8).zip(chunk) {
                to.copy_from_slice(&n.to_le_bytes());
            }
            self.bytes(&bytes[..chunk.len() * 8])?;
        }
        Ok(())
    }

    fn bitmap(&mut self, bitmap: &RoaringBitmap) -> io::Result<()> {
        self.len(bitmap.serialized_size())?;
        bitmap.serialize_into(&mut *self)
    }

    fn bitmaps(&mut self, bitmaps: &[RoaringBitmap]) -> io::Result<()> {
        self.len(bitmaps.len())?;
        bitmaps.iter().try_for_each(|b| self.bitmap(b))
    }

    fn bitmap_map(&mut self, map: &FastMap<u32, RoaringBitmap>) -> io::Result<()> {
        self.len(map.len())?;
        for (key, bitmap) in map {
            self.u32(*key)?;
            self.bitmap(bitmap)?;
        }
        Ok(())
    }

    fn timeline(&mut self, timeline: &Timeline) -> io::Result<()> {
        self.len(timeline.days.len())?;
        for (day, bitmap) in &timeline.days {
            self.i64(*day)?;
            self.bitmap(bitmap)?;
        }
        Ok(())
    }

    fn interner(&mut self, interner: &Interner) -> io::Result<()> {
        self.len(interner.names().len())?;
        interner.names().iter().try_for_each(|name| self.str(name))
    }

    fn engine(&mut self, engine: &Engine) -> io::Result<()> {
        let names = &engine.names;
        for interner in [&names.tags, &names.statuses, &names.keys, &names.values] {
            self.interner(interner)?;
        }
        let people = names.people.by_number();
        self.len(people.len())?;
        people.iter().try_for_each(|id| self.bytes(id.as_bytes()))?;

        self.len(engine.rows.len())?;
        engine.rows.iter().try_for_each(|row| self.row(row))?;
        self.u32s(&engine.vacant)?;

        self.len(engine.keys_of.len())?;
        for keys in &engine.keys_of {
            self.u8(keys.len() as u8)?;
            for key in keys.iter() {
                let [a, b] = key.to_words();
                self.u64(a)?;
                self.u64(b)?;
            }
        }
        let shared: Vec<(Key, &[Id])> = engine.identities.shared().collect();
        self.len(shared.len())?;
        for (key, holders) in shared {
            let [a, b] = key.to_words();
            self.u64(a)?;
            self.u64(b)?;
            self.len(holders.len())?;
            holders.iter().try_for_each(|id| self.bytes(id.as_bytes()))?;
        }

        self.len(engine.attribute_keys.len())?;
        for (lower, (first_seen, count)) in &engine.attribute_keys {
            self.str(lower)?;
            self.str(first_seen)?;
            self.len(*count)?;
        }

        self.index(&engine.index)?;
        for order in &engine.orders {
            self.order(&order.read())?;
        }
        Ok(())
    }

    fn row(&mut self, row: &Row) -> io::Result<()> {
        let mut fixed = [0u8; 12 + 3 + 4 + 6 * 8 + 4 * 4 + 4 + 4];
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            fixed[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        put(row.id.as_bytes());
        let by = match row.last_message_by {
            None => 0,
            Some(Sender::User) => 1,
            Some(Sender::Bot) => 2,
            Some(Sender::Agent) => 3,
        };
        put(&[u8::from(row.alive), row.flags, by]);
        put(&row.status.to_le_bytes());
        for time in
            [row.created_at, row.updated_at, row.last_seen_at, row.last_message_at, row.last_order_at, row.presence_at]
        {
            put(&time.to_le_bytes());
        }
        for bot in row.bots {
            put(&bot.to_le_bytes());
        }
        put(&row.agent.to_le_bytes());
        put(&row.order_count.to_le_bytes());
        self.bytes(&fixed)?;
        self.u32(row.tags.len() as u32)?;
        row.tags.iter().try_for_each(|tag| self.u32(*tag))?;
        self.u32(row.attributes.len() as u32)?;
        for (key, value) in row.attributes.iter() {
            self.u32(*key)?;
            self.u32(*value)?;
        }
        match &row.name_key {
            Some(name) => {
                self.u32(name.len() as u32)?;
                self.bytes(name.as_bytes())
            }
            None => self.u32(NO_NAME),
        }
    }

    fn index(&mut self, index: &Index) -> io::Result<()> {
        self.bitmap(&index.universe)?;
        self.bitmaps(&index.tags)?;
        self.bitmap(&index.tagged)?;
        self.bitmaps(&index.statuses)?;
        for bots in &index.bots {
            self.bitmap_map(bots)?;
        }
        index.platforms.iter().try_for_each(|b| self.bitmap(b))?;
        self.bitmap_map(&index.agents)?;
        self.bitmap(&index.unassigned)?;
        index.last_message_by.iter().try_for_each(|b| self.bitmap(b))?;
        index.flags.iter().try_for_each(|b| self.bitmap(b))?;
        self.bitmap(&index.ordered)?;
        self.bitmaps(&index.attribute_keys)?;
        self.len(index.attribute_values.len())?;
        index.attribute_values.iter().try_for_each(|values| self.bitmap_map(values))?;
        for timeline in [&index.created, &index.last_seen, &index.last_order, &index.online_signal] {
            self.timeline(timeline)?;
        }
        self.text(&index.text)
    }

    fn text(&mut self, text: &TextIndex) -> io::Result<()> {
        self.len(text.arena.len())?;
        self.bytes(&text.arena)?;
        self.len(text.spans.len())?;
        for chunk in text.spans.chunks(256) {
            let mut bytes = [0u8; 256 * 12];
            for (to, span) in bytes.chunks_exact_mut(12).zip(chunk) {
                to[..4].copy_from_slice(&span.start.to_le_bytes());
                to[4..8].copy_from_slice(&span.text_len.to_le_bytes());
                to[8..].copy_from_slice(&span.phone_len.to_le_bytes());
            }
            self.bytes(&bytes[..chunk.len() * 12])?;
        }
        self.len(text.garbage)?;
        self.len(text.indexed)?;
        self.bitmap_map(&text.trigrams)
    }

    fn order(&mut self, order: &SortOrder) -> io::Result<()> {
        self.u8(super::key_index(order.by) as u8)?;
        self.u32s(&order.base)?;
        self.len(order.present)?;
        self.u64s(&order.boundaries)?;
        self.u64s(&order.stale)?;
        self.u32s(&order.pending)
    }
}

/// The highest slot any bitmap of the index holds.
fn max_slot(index: &Index) -> Option<u32> {
    let maps = index.bots.iter().chain([&index.agents]).chain(&index.attribute_values).flat_map(|m| m.values());
    let timelines = [&index.created, &index.last_seen, &index.last_order, &index.online_signal]
        .into_iter()
        .flat_map(|t| t.days.values());
    [&index.universe, &index.tagged, &index.unassigned, &index.ordered]
        .into_iter()
        .chain(&index.tags)
        .chain(&index.statuses)
        .chain(&index.platforms)
        .chain(&index.last_message_by)
        .chain(&index.flags)
        .chain(&index.attribute_keys)
        .chain(maps)
        .chain(timelines)
        .filter_map(RoaringBitmap::max)
        .max()
}

/// The payload's reader: every read is bounds-checked, every length checked against what is left.
struct In<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// A little-endian u32 of 4 bytes.
fn word(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// A little-endian u64 of 8 bytes.
fn double(bytes: &[u8]) -> u64 {
    u64::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7]])
}

fn corrupt<T>(what: &'static str) -> Result<T> {
    Err(SnapshotError::Corrupt(what))
}

impl<'a> In<'a> {
    fn new(bytes: &'a [u8]) -> In<'a> {
        In { bytes, at: 0 }
    }

    fn is_empty(&self) -> bool {
        self.at == self.bytes.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.bytes.len() - self.at < n {
            return corrupt("a length past the end");
        }
        let taken = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut array = [0u8; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    fn id(&mut self) -> Result<Id> {
        Ok(Id::from_bytes(self.array()?))
    }

    /// A count of items of at least `item` bytes each: never more than the bytes left could hold.
    fn len(&mut self, item: usize) -> Result<usize> {
        let n = self.u64()?;
        match usize::try_from(n) {
            Ok(n) if n.saturating_mul(item.max(1)) <= self.bytes.len() - self.at => Ok(n),
            _ => corrupt("a count past the end"),
        }
    }

    fn str(&mut self) -> Result<Box<str>> {
        let n = self.len(1)?;
        match std::str::from_utf8(self.take(n)?) {
            Ok(text) => Ok(text.into()),
            Err(_) => corrupt("text that is not UTF-8"),
        }
    }

    fn u32s(&mut self) -> Result<Vec<u32>> {
        let n = self.len(4)?;
        Ok(self.take(n * 4)?.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }

    fn u64s(&mut self) -> Result<Vec<u64>> {
        let n = self.len(8)?;
        Ok(self
            .take(n * 8)?
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect())
    }

    /// `count` ids, in one allocation of their size.
    fn ids(&mut self, count: usize) -> Result<Vec<Id>> {
        let bytes = self.take(count.saturating_mul(12))?;
        Ok(bytes
            .chunks_exact(12)
            .map(|c| {
                let mut id = [0u8; 12];
                id.copy_from_slice(c);
                Id::from_bytes(id)
            })
            .collect())
    }

    /// `count` identity keys, in one allocation of their size.
    fn keys(&mut self, count: usize) -> Result<Box<[Key]>> {
        let bytes = self.take(count.saturating_mul(16))?;
        Ok(bytes.chunks_exact(16).map(|c| Key::from_words([double(&c[..8]), double(&c[8..])])).collect())
    }

    fn key(&mut self) -> Result<Key> {
        Ok(Key::from_words([self.u64()?, self.u64()?]))
    }

    fn bitmap(&mut self) -> Result<RoaringBitmap> {
        let n = self.len(1)?;
        let bytes = self.take(n)?;
        match RoaringBitmap::deserialize_from(bytes) {
            Ok(bitmap) if bitmap.serialized_size() == n => Ok(bitmap),
            _ => corrupt("a bitmap"),
        }
    }

    fn bitmaps(&mut self) -> Result<Vec<RoaringBitmap>> {
        let n = self.len(8)?;
        (0..n).map(|_| self.bitmap()).collect()
    }

    fn bitmap_map(&mut self) -> Result<FastMap<u32, RoaringBitmap>> {
        let n = self.len(12)?;
        let mut map = FastMap::with_capacity_and_hasher(n, Default::default());
        for _ in 0..n {
            let key = self.u32()?;
            if map.insert(key, self.bitmap()?).is_some() {
                return corrupt("a bitmap stored twice");
            }
        }
        Ok(map)
    }

    fn timeline(&mut self) -> Result<Timeline> {
        let n = self.len(16)?;
        let mut days = BTreeMap::new();
        for _ in 0..n {
            let day = self.i64()?;
            days.insert(day, self.bitmap()?);
        }
        Ok(Timeline::from_days(days))
    }

    fn interner(&mut self) -> Result<Interner> {
        let n = self.len(8)?;
        let mut names = Vec::with_capacity(n);
        for _ in 0..n {
            names.push(self.str()?);
        }
        Interner::from_names(names).map_or_else(|| corrupt("a name stored twice"), Ok)
    }

    /// The engine; its lookup maps are rebuilt on another thread meanwhile.
    fn engine(&mut self) -> Result<Engine> {
        let tags = self.interner()?;
        let statuses = self.interner()?;
        let keys = self.interner()?;
        let values = self.interner()?;
        let n = self.len(12)?;
        let people = self.ids(n)?;
        let people = People::from_ids(&people).map_or_else(|| corrupt("a bot or agent stored twice"), Ok)?;
        let names = Names { tags, statuses, keys, values, people };

        let n = self.len(12)?;
        let mut rows = Vec::with_capacity(n);
        for _ in 0..n {
            rows.push(self.row(&names)?);
        }
        let vacant = self.u32s()?;
        if vacant.iter().any(|slot| rows.get(*slot as usize).is_none_or(|row| row.alive)) {
            return corrupt("a vacant slot that is not");
        }

        let n = self.len(1)?;
        if n > rows.len() {
            return corrupt("identity keys of slots that do not exist");
        }
        let mut keys_of = Vec::with_capacity(n);
        let mut held = 0;
        for row in &rows[..n] {
            let count = self.u8()? as usize;
            if count > 0 && !row.alive {
                return corrupt("identity keys of a vacant slot");
            }
            held += count;
            keys_of.push(self.keys(count)?);
        }
        let n = self.len(16 + 8)?;
        let mut shared = Vec::with_capacity(n);
        for _ in 0..n {
            let key = self.key()?;
            let count = self.len(12)?;
            if count < 2 {
                return corrupt("a shared identity key with fewer than two holders");
            }
            shared.push((key, self.ids(count)?));
        }
        // A key k users share is held k times.
        let distinct = held.saturating_sub(shared.iter().map(|(_, list)| list.len() - 1).sum::<usize>());

        // The id and identity lookups are hash-map inserts, a third of the work: done beside the
        // index's decoding, which needs neither.
        let shared = parking_lot::Mutex::new(Some(shared));
        let live = rows.len().saturating_sub(vacant.len());
        let (lookups, rest) = std::thread::scope(|scope| {
            let (rows, keys_of, shared) = (&rows, &keys_of, &shared);
            let lookups = beside(scope, move || {
                let mut slots = FastMap::with_capacity_and_hasher(live, Default::default());
                for (slot, row) in rows.iter().enumerate().filter(|(_, row)| row.alive) {
                    if slots.insert(row.id, slot as u32).is_some() {
                        return None;
                    }
                }
                let holders = keys_of.iter().enumerate().map(|(slot, keys)| (rows[slot].id, &keys[..]));
                let shared = shared.lock().take().unwrap_or_default();
                Some((slots, Identities::rebuild(shared, holders, distinct)))
            });
            let rest = self.rest(rows.len());
            (lookups.join(), rest)
        });
        let Some((slots, identities)) = lookups else { return corrupt("a user in two slots") };
        let (attribute_keys, index, orders) = rest?;
        Ok(Engine {
            rows,
            vacant,
            slots,
            keys_of,
            identities,
            names,
            attribute_keys,
            segments: Default::default(),
            segment_order: Vec::new(),
            index,
            orders,
        })
    }

    /// What follows the rows and identities: attribute key counts, the index, the orders.
    #[allow(clippy::type_complexity)]
    fn rest(
        &mut self,
        rows: usize,
    ) -> Result<(BTreeMap<String, (String, usize)>, Index, [parking_lot::RwLock<SortOrder>; 5])> {
        let n = self.len(24)?;
        let mut attribute_keys = BTreeMap::new();
        for _ in 0..n {
            let lower = self.str()?.into_string();
            let first_seen = self.str()?.into_string();
            attribute_keys.insert(lower, (first_seen, self.u64()? as usize));
        }

        let index = self.index(rows)?;
        let mut orders = Vec::with_capacity(SORT_KEYS.len());
        for by in SORT_KEYS {
            orders.push(parking_lot::RwLock::new(self.order(by, rows)?));
        }
        let orders = match <[_; 5]>::try_from(orders) {
            Ok(orders) => orders,
            Err(_) => return corrupt("the sort orders"),
        };
        Ok((attribute_keys, index, orders))
    }

    /// A row, its dictionary numbers checked against the dictionaries.
    fn row(&mut self, names: &Names) -> Result<Row> {
        let id = self.id()?;
        let [alive, flags, by] = self.array()?;
        let last_message_by = match by {
            0 => None,
            1 => Some(Sender::User),
            2 => Some(Sender::Bot),
            3 => Some(Sender::Agent),
            _ => return corrupt("a row's last sender"),
        };
        let status = self.u32()?;
        let [created_at, updated_at, last_seen_at, last_message_at, last_order_at, presence_at] =
            [self.i64()?, self.i64()?, self.i64()?, self.i64()?, self.i64()?, self.i64()?];
        let bots = [self.u32()?, self.u32()?, self.u32()?, self.u32()?];
        let agent = self.u32()?;
        let order_count = self.u32()?;
        let n = self.u32()? as usize;
        let tags: Box<[u32]> = self.take(n.saturating_mul(4))?.chunks_exact(4).map(word).collect();
        let n = self.u32()? as usize;
        let attributes: Box<[(u32, u32)]> =
            self.take(n.saturating_mul(8))?.chunks_exact(8).map(|c| (word(&c[..4]), word(&c[4..]))).collect();
        let name_key = match self.u32()? {
            NO_NAME => None,
            n => match std::str::from_utf8(self.take(n as usize)?) {
                Ok(name) => Some(name.into()),
                Err(_) => return corrupt("a name key that is not UTF-8"),
            },
        };
        let people = names.people.len();
        let known = alive <= 1
            && (alive == 1 || status == 0)
            && (alive == 0 || (status as usize) < names.statuses.names().len())
            && bots.iter().chain([&agent]).all(|n| *n as usize <= people)
            && tags.iter().all(|t| (*t as usize) < names.tags.names().len())
            && attributes
                .iter()
                .all(|(k, v)| (*k as usize) < names.keys.names().len() && (*v as usize) < names.values.names().len());
        if !known {
            return corrupt("a row naming values no dictionary holds");
        }
        Ok(Row {
            id,
            alive: alive == 1,
            flags,
            last_message_by,
            status,
            created_at,
            updated_at,
            last_seen_at,
            last_message_at,
            last_order_at,
            presence_at,
            bots,
            agent,
            order_count,
            tags,
            attributes,
            name_key,
        })
    }

    /// The index; every bitmap's slots are slots of a row (queries read rows by them).
    fn index(&mut self, rows: usize) -> Result<Index> {
        let universe = self.bitmap()?;
        let tags = self.bitmaps()?;
        let tagged = self.bitmap()?;
        let statuses = self.bitmaps()?;
        let bots = [self.bitmap_map()?, self.bitmap_map()?, self.bitmap_map()?, self.bitmap_map()?];
        let platforms = [self.bitmap()?, self.bitmap()?, self.bitmap()?, self.bitmap()?];
        let agents = self.bitmap_map()?;
        let unassigned = self.bitmap()?;
        let last_message_by = [self.bitmap()?, self.bitmap()?, self.bitmap()?];
        let flags = [self.bitmap()?, self.bitmap()?, self.bitmap()?, self.bitmap()?];
        let ordered = self.bitmap()?;
        let attribute_keys = self.bitmaps()?;
        let n = self.len(8)?;
        let attribute_values = (0..n).map(|_| self.bitmap_map()).collect::<Result<Vec<_>>>()?;
        let [created, last_seen, last_order, online_signal] =
            [self.timeline()?, self.timeline()?, self.timeline()?, self.timeline()?];
        let text = self.text(rows)?;
        let index = Index {
            universe,
            tags,
            tagged,
            statuses,
            bots,
            platforms,
            agents,
            unassigned,
            last_message_by,
            flags,
            ordered,
            attribute_keys,
            attribute_values,
            created,
            last_seen,
            last_order,
            online_signal,
            text,
        };
        if index.universe.max().is_some_and(|slot| slot as usize >= index.text.spans.len())
            || max_slot(&index).is_some_and(|slot| slot as usize >= rows)
        {
            return corrupt("a bitmap naming a slot past the rows");
        }
        Ok(index)
    }

    fn text(&mut self, rows: usize) -> Result<TextIndex> {
        let n = self.len(1)?;
        let arena = self.take(n)?.to_vec();
        let n = self.len(12)?;
        if n > rows {
            return corrupt("texts of slots that do not exist");
        }
        let spans: Vec<Span> = self
            .take(n * 12)?
            .chunks_exact(12)
            .map(|c| Span {
                start: u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                text_len: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
                phone_len: u32::from_le_bytes([c[8], c[9], c[10], c[11]]),
            })
            .collect();
        let inside = |s: &Span| s.start as u64 + s.text_len as u64 + s.phone_len as u64 <= arena.len() as u64;
        if !spans.iter().all(inside) {
            return corrupt("a text past the arena");
        }
        let garbage = self.u64()? as usize;
        let indexed = self.u64()? as usize;
        if indexed > spans.len() || garbage > arena.len() {
            return corrupt("the text index's counters");
        }
        let trigrams = self.bitmap_map()?;
        if trigrams.values().filter_map(RoaringBitmap::max).any(|slot| slot as usize >= spans.len()) {
            return corrupt("a trigram naming a slot without texts");
        }
        Ok(TextIndex { arena, spans, garbage, indexed, trigrams })
    }

    fn order(&mut self, by: crate::query::SortKey, rows: usize) -> Result<SortOrder> {
        if self.u8()? as usize != super::key_index(by) {
            return corrupt("the sort orders' keys");
        }
        let base = self.u32s()?;
        let present = self.u64()? as usize;
        let boundaries = self.u64s()?;
        let stale = self.u64s()?;
        let pending = self.u32s()?;
        let in_rows = |slots: &[u32]| slots.iter().all(|slot| (*slot as usize) < rows);
        if present > base.len() || !in_rows(&base) || !in_rows(&pending) {
            return corrupt("a sort order naming a slot past the rows");
        }
        // A walk looks back for the start of a group (the first entry always starts one), and a
        // merge clears the stale bit of every pending slot.
        let stale_bit = |slot: u32| stale.get(slot as usize / 64).is_some_and(|word| word & (1 << (slot % 64)) != 0);
        if boundaries.first().is_some_and(|word| word & 1 == 0) || !pending.iter().all(|slot| stale_bit(*slot)) {
            return corrupt("a sort order's bookkeeping");
        }
        Ok(SortOrder { by, base, present, boundaries, stale, pending })
    }
}
