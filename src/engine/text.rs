//! Text search: the folded searchable text and phone digits of every user in one arena, and a
//! trigram index over both that narrows the candidates a search then verifies against the text.

use memchr::memmem::Finder;
use roaring::RoaringBitmap;

use super::interner::FastMap;
use super::row::Texts;
use crate::query::TextSearch;

/// Trigrams of phone digits live in the same map as text trigrams, told apart by this bit.
const PHONE: u32 = 1 << 24;

/// Users per step of the bulk build: one roaring container's worth, so each step's postings of a
/// trigram append whole containers (tests take small steps to cross many).
const BUILD_STEP: usize = if cfg!(test) { 4 } else { 1 << 16 };

pub(super) type Trigrams = FastMap<u32, RoaringBitmap>;

/// Where one user's texts sit in the arena: the searchable text, then the phone digits.
#[derive(Clone, Copy, Default)]
pub(super) struct Span {
    pub(super) start: u32,
    pub(super) text_len: u32,
    pub(super) phone_len: u32,
}

#[derive(Default)]
pub struct TextIndex {
    pub(super) arena: Vec<u8>,
    pub(super) spans: Vec<Span>,
    /// Arena bytes no span points at any more (replaced or removed texts).
    pub(super) garbage: usize,
    pub(super) trigrams: Trigrams,
    /// Slots below this have their trigrams in `trigrams` (the bulk build indexes in steps).
    pub(super) indexed: usize,
}

/// The distinct trigrams of a text, skipping those across line breaks (a term never holds one).
fn trigrams_of(bytes: &[u8], tag: u32, into: &mut Vec<u32>) {
    for w in bytes.windows(3) {
        if !w.contains(&b'\n') {
            into.push(tag | (u32::from(w[0]) << 16) | (u32::from(w[1]) << 8) | u32::from(w[2]));
        }
    }
}

impl TextIndex {
    fn text(&self, slot: u32) -> &[u8] {
        let span = self.spans[slot as usize];
        &self.arena[span.start as usize..(span.start + span.text_len) as usize]
    }

    fn phone(&self, slot: u32) -> &[u8] {
        let span = self.spans[slot as usize];
        let start = (span.start + span.text_len) as usize;
        &self.arena[start..start + span.phone_len as usize]
    }

    fn user_trigrams(&self, slot: u32) -> Vec<u32> {
        let mut grams = Vec::new();
        self.user_trigrams_into(slot, &mut grams);
        grams
    }

    fn user_trigrams_into(&self, slot: u32, grams: &mut Vec<u32>) {
        grams.clear();
        trigrams_of(self.text(slot), 0, grams);
        trigrams_of(self.phone(slot), PHONE, grams);
        grams.sort_unstable();
        grams.dedup();
    }

    /// Whether these texts differ from the user's current ones.
    pub fn differs(&self, slot: u32, texts: &Texts) -> bool {
        if self.spans.len() <= slot as usize {
            return true;
        }
        self.text(slot) != texts.search.as_bytes() || self.phone(slot) != texts.phone.as_bytes()
    }

    /// Appends the texts of the next slot without indexing them: `index_pushed` does, in bulk.
    pub fn push(&mut self, texts: &Texts) {
        let start = self.arena.len() as u32;
        self.arena.extend_from_slice(texts.search.as_bytes());
        self.arena.extend_from_slice(texts.phone.as_bytes());
        let (text_len, phone_len) = (texts.search.len() as u32, texts.phone.len() as u32);
        self.spans.push(Span { start, text_len, phone_len });
        if self.spans.len() - self.indexed >= BUILD_STEP {
            self.index_pushed(false);
        }
    }

    /// Indexes what `push` left and gives back spare capacity: the bulk build is done.
    pub fn finish_bulk(&mut self) {
        self.index_pushed(true);
        self.arena.shrink_to_fit();
        self.spans.shrink_to_fit();
    }

    /// Indexes the trigrams of every pushed slot not indexed yet, whole steps only unless `all`.
    ///
    /// Appending each user's trigrams to their bitmaps one by one jumps between tens of thousands
    /// of bitmaps (a cache miss or three per trigram): instead a step's (trigram, slot) pairs are
    /// grouped by trigram with a counting sort, and each trigram's slots appended as one run.
    fn index_pushed(&mut self, all: bool) {
        let mut numbers: FastMap<u32, u32> = FastMap::default();
        let mut grams: Vec<u32> = Vec::new();
        let mut bitmaps: Vec<RoaringBitmap> = Vec::new();
        for (gram, bitmap) in self.trigrams.drain() {
            numbers.insert(gram, grams.len() as u32);
            grams.push(gram);
            bitmaps.push(bitmap);
        }
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        let mut counts: Vec<u32> = Vec::new();
        let mut runs: Vec<u32> = Vec::new();
        let mut user = Vec::new();
        while self.indexed < self.spans.len() {
            let end = (self.indexed / BUILD_STEP + 1) * BUILD_STEP;
            if end > self.spans.len() && !all {
                break;
            }
            let end = end.min(self.spans.len());
            pairs.clear();
            for slot in self.indexed as u32..end as u32 {
                self.user_trigrams_into(slot, &mut user);
                for gram in &user {
                    let number = *numbers.entry(*gram).or_insert_with(|| {
                        grams.push(*gram);
                        bitmaps.push(RoaringBitmap::new());
                        (grams.len() - 1) as u32
                    });
                    pairs.push((number, slot));
                }
            }
            counts.clear();
            counts.resize(grams.len() + 1, 0);
            for (number, _) in &pairs {
                counts[*number as usize + 1] += 1;
            }
            for i in 1..counts.len() {
                counts[i] += counts[i - 1];
            }
            runs.clear();
            runs.resize(pairs.len(), 0);
            let mut next = counts.clone();
            for (number, slot) in &pairs {
                runs[next[*number as usize] as usize] = *slot;
                next[*number as usize] += 1;
            }
            for (number, bitmap) in bitmaps.iter_mut().enumerate() {
                let run = &runs[counts[number] as usize..counts[number + 1] as usize];
                if !run.is_empty() {
                    // Slots of a step are above every slot already in the bitmap, and in order.
                    let _ = bitmap.append(run.iter().copied());
                }
            }
            self.indexed = end;
        }
        self.trigrams = grams.into_iter().zip(bitmaps).collect();
    }

    /// Sets a user's texts, replacing what it had.
    pub fn set(&mut self, slot: u32, texts: &Texts) {
        let (text, phone) = (texts.search.as_str(), texts.phone.as_str());
        self.remove(slot);
        if self.spans.len() <= slot as usize {
            let complete = self.indexed == self.spans.len();
            self.spans.resize(slot as usize + 1, Span::default());
            if complete {
                self.indexed = self.spans.len();
            }
        }
        if self.garbage > (1 << 20) && self.garbage > self.arena.len() / 2 {
            self.compact();
        }
        let start = self.arena.len() as u32;
        self.arena.extend_from_slice(text.as_bytes());
        self.arena.extend_from_slice(phone.as_bytes());
        self.spans[slot as usize] = Span { start, text_len: text.len() as u32, phone_len: phone.len() as u32 };
        for gram in self.user_trigrams(slot) {
            let bitmap = self.trigrams.entry(gram).or_default();
            // Most trigram bitmaps are sparse (array containers), where appending the highest slot
            // (a new user's) is cheaper than inserting, which searches a cold array.
            if bitmap.try_push(slot).is_err() {
                bitmap.insert(slot);
            }
        }
    }

    /// Forgets a user's texts.
    pub fn remove(&mut self, slot: u32) {
        let Some(span) = self.spans.get(slot as usize).copied() else { return };
        if span.text_len + span.phone_len == 0 {
            return;
        }
        for gram in self.user_trigrams(slot) {
            if let Some(bitmap) = self.trigrams.get_mut(&gram) {
                bitmap.remove(slot);
                if bitmap.is_empty() {
                    self.trigrams.remove(&gram);
                }
            }
        }
        self.garbage += (span.text_len + span.phone_len) as usize;
        self.spans[slot as usize] = Span::default();
    }

    /// Copies the live texts into a fresh arena, dropping the garbage.
    fn compact(&mut self) {
        let mut arena = Vec::with_capacity(self.arena.len() - self.garbage);
        for span in &mut self.spans {
            let len = (span.text_len + span.phone_len) as usize;
            let start = arena.len() as u32;
            arena.extend_from_slice(&self.arena[span.start as usize..span.start as usize + len]);
            span.start = start;
        }
        self.arena = arena;
        self.garbage = 0;
    }

    /// Candidates holding every trigram of the needles, within `base`; `None` when no needle is long enough.
    fn narrow<'a>(
        &self,
        needles: impl Iterator<Item = &'a [u8]>,
        tag: u32,
        base: &RoaringBitmap,
    ) -> Option<RoaringBitmap> {
        let mut grams = Vec::new();
        for needle in needles {
            trigrams_of(needle, tag, &mut grams);
        }
        if grams.is_empty() {
            return None;
        }
        grams.sort_unstable();
        grams.dedup();
        let mut bitmaps = Vec::with_capacity(grams.len());
        for gram in grams {
            match self.trigrams.get(&gram) {
                Some(bitmap) => bitmaps.push(bitmap),
                None => return Some(RoaringBitmap::new()),
            }
        }
        bitmaps.sort_by_key(|b| b.len());
        // The trigrams first, narrowest first, and the base last: the base is often most of the
        // workspace, which the first intersection would otherwise walk.
        let mut candidates = match bitmaps.get(1) {
            Some(second) => bitmaps[0] & *second,
            None => bitmaps[0].clone(),
        };
        for bitmap in bitmaps.iter().skip(2) {
            if candidates.is_empty() {
                break;
            }
            candidates &= *bitmap;
        }
        candidates &= base;
        Some(candidates)
    }

    /// The users of `base` the search matches: every term in the text, or the digits in the phone digits.
    pub fn search(&self, search: &TextSearch, base: &RoaringBitmap) -> RoaringBitmap {
        let terms: Vec<&[u8]> = search.terms.iter().map(|t| t.as_bytes()).collect();
        let candidates = self.narrow(terms.iter().copied(), 0, base);
        let candidates = candidates.as_ref().unwrap_or(base);
        // The folded texts and the terms are valid UTF-8: byte containment is `str::contains`.
        let finders: Vec<Finder> = terms.iter().map(Finder::new).collect();
        let mut found = RoaringBitmap::from_sorted_iter(candidates.iter().filter(|slot| {
            let text = self.text(*slot);
            finders.iter().all(|finder| finder.find(text).is_some())
        }))
        .unwrap_or_default();
        if let Some(digits) = search.phone_digits.as_deref() {
            let digits = digits.as_bytes();
            let candidates = self.narrow(std::iter::once(digits), PHONE, base);
            let candidates = candidates.as_ref().unwrap_or(base);
            let finder = Finder::new(digits);
            let by_phone =
                candidates.iter().filter(|slot| !found.contains(*slot) && finder.find(self.phone(*slot)).is_some());
            found |= RoaringBitmap::from_sorted_iter(by_phone).unwrap_or_default();
        }
        found
    }

    /// Whether one user matches, as `search` would answer for a base holding only it.
    pub fn matches(&self, search: &TextSearch, slot: u32) -> bool {
        let text = self.text(slot);
        let by_text = search.terms.iter().all(|term| memchr::memmem::find(text, term.as_bytes()).is_some());
        by_text
            || search
                .phone_digits
                .as_deref()
                .is_some_and(|d| memchr::memmem::find(self.phone(slot), d.as_bytes()).is_some())
    }

    pub fn heap_bytes(&self) -> usize {
        let bitmaps: usize = self.trigrams.values().map(|b| b.serialized_size() + 16).sum();
        self.arena.capacity()
            + self.spans.capacity() * std::mem::size_of::<Span>()
            + self.trigrams.capacity() * (4 + std::mem::size_of::<RoaringBitmap>() + 1)
            + bitmaps
    }
}
