//! Text search: the folded searchable text and phone digits of every user in one arena, and a
//! trigram index over both that narrows the candidates a search then verifies against the text.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use roaring::RoaringBitmap;

use crate::query::TextSearch;

/// Trigrams of phone digits live in the same map as text trigrams, told apart by this bit.
const PHONE: u32 = 1 << 24;

/// A multiplicative hasher for the u32 trigram keys: SipHash would dominate index building.
#[derive(Default)]
pub struct TrigramHasher(u64);

impl Hasher for TrigramHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (u64::from(n) ^ 0x9e37_79b9_7f4a_7c15).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type Trigrams = HashMap<u32, RoaringBitmap, BuildHasherDefault<TrigramHasher>>;

/// Where one user's texts sit in the arena: the searchable text, then the phone digits.
#[derive(Clone, Copy, Default)]
struct Span {
    start: u32,
    text_len: u32,
    phone_len: u32,
}

#[derive(Default)]
pub struct TextIndex {
    arena: Vec<u8>,
    spans: Vec<Span>,
    /// Arena bytes no span points at any more (replaced or removed texts).
    garbage: usize,
    trigrams: Trigrams,
}

/// The distinct trigrams of a text, skipping those across line breaks (a term never holds one).
fn trigrams_of(bytes: &[u8], tag: u32, into: &mut Vec<u32>) {
    for w in bytes.windows(3) {
        if !w.contains(&b'\n') {
            into.push(tag | (u32::from(w[0]) << 16) | (u32::from(w[1]) << 8) | u32::from(w[2]));
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    // The folded texts are valid UTF-8 and so are the terms: byte containment is `str::contains`.
    match needle.len() {
        0 => true,
        1 => haystack.contains(&needle[0]),
        n if n > haystack.len() => false,
        _ => {
            let first = needle[0];
            haystack.windows(needle.len()).any(|w| w[0] == first && w == needle)
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
        trigrams_of(self.text(slot), 0, &mut grams);
        trigrams_of(self.phone(slot), PHONE, &mut grams);
        grams.sort_unstable();
        grams.dedup();
        grams
    }

    /// Whether these texts differ from the user's current ones.
    pub fn differs(&self, slot: u32, text: &str, phone: &str) -> bool {
        if self.spans.len() <= slot as usize {
            return true;
        }
        self.text(slot) != text.as_bytes() || self.phone(slot) != phone.as_bytes()
    }

    /// Sets a user's texts, replacing what it had.
    pub fn set(&mut self, slot: u32, text: &str, phone: &str) {
        self.remove(slot);
        if self.spans.len() <= slot as usize {
            self.spans.resize(slot as usize + 1, Span::default());
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
            // Appending is the common case (new users take the highest slot) and much cheaper.
            if !bitmap.push(slot) {
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
        let mut candidates = bitmaps[0] & base;
        for bitmap in &bitmaps[1..] {
            if candidates.is_empty() {
                break;
            }
            candidates &= *bitmap;
        }
        Some(candidates)
    }

    /// The users of `base` the search matches: every term in the text, or the digits in the phone digits.
    pub fn search(&self, search: &TextSearch, base: &RoaringBitmap) -> RoaringBitmap {
        let terms: Vec<&[u8]> = search.terms.iter().map(|t| t.as_bytes()).collect();
        let candidates = self.narrow(terms.iter().copied(), 0, base);
        let candidates = candidates.as_ref().unwrap_or(base);
        let mut found = RoaringBitmap::from_sorted_iter(candidates.iter().filter(|slot| {
            let text = self.text(*slot);
            terms.iter().all(|term| contains(text, term))
        }))
        .unwrap_or_default();
        if let Some(digits) = search.phone_digits.as_deref() {
            let digits = digits.as_bytes();
            let candidates = self.narrow(std::iter::once(digits), PHONE, base);
            let candidates = candidates.as_ref().unwrap_or(base);
            let by_phone =
                candidates.iter().filter(|slot| !found.contains(*slot) && contains(self.phone(*slot), digits));
            found |= RoaringBitmap::from_sorted_iter(by_phone).unwrap_or_default();
        }
        found
    }

    pub fn heap_bytes(&self) -> usize {
        let bitmaps: usize = self.trigrams.values().map(|b| b.serialized_size() + 16).sum();
        self.arena.capacity()
            + self.spans.capacity() * std::mem::size_of::<Span>()
            + self.trigrams.capacity() * (4 + std::mem::size_of::<RoaringBitmap>() + 1)
            + bitmaps
    }
}
