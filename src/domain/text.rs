//! Case and accent folding, the one notion of "the same text" that search, tags and sorting share.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Lower-cases and strips accents: "José" and "JOSE" both become "jose".
pub fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    if text.is_ascii() {
        folded.extend(text.chars().map(|c| c.to_ascii_lowercase()));
        return folded;
    }
    for c in text.nfd().filter(|c| !is_combining_mark(*c)) {
        folded.extend(c.to_lowercase());
    }
    folded
}

/// Ignoring case only (tags, emails, attribute keys): simple lower-casing.
pub fn lower(text: &str) -> String {
    text.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn accents_and_case_fold_away() {
        assert_eq!(fold("José Müller"), "jose muller");
        assert_eq!(fold("ÇAĞRI"), "cagri");
        assert_eq!(fold("plain"), "plain");
    }
}
