//! Latin-script names spelled in plain ASCII letters and digits, as people write them in emails and handles.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Drops accents, spells out the letters that have no decomposition (ø, ł, ß, đ, þ...) and keeps
/// only ASCII letters and digits, case included: "Ødegård" gives "Odegard", "D'Angelo" "DAngelo".
pub fn ascii_letters(text: &str) -> String {
    let mut ascii = String::with_capacity(text.len());
    for c in text.nfd().filter(|c| !is_combining_mark(*c)) {
        match spelled_out(c) {
            Some(spelling) => ascii.push_str(spelling),
            None if c.is_ascii_alphanumeric() => ascii.push(c),
            None => {}
        }
    }
    ascii
}

fn spelled_out(c: char) -> Option<&'static str> {
    Some(match c {
        'ø' => "o",
        'Ø' => "O",
        'æ' => "ae",
        'Æ' => "Ae",
        'œ' => "oe",
        'Œ' => "Oe",
        'ß' => "ss",
        'ł' => "l",
        'Ł' => "L",
        'đ' => "d",
        'Đ' => "D",
        'ð' => "d",
        'Ð' => "D",
        'þ' => "th",
        'Þ' => "Th",
        'ı' => "i",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::ascii_letters;

    #[test]
    fn accents_and_special_letters_are_spelled_in_ascii() {
        assert_eq!(ascii_letters("Ødegård"), "Odegard");
        assert_eq!(ascii_letters("Łukasz Wróbel"), "LukaszWrobel");
        assert_eq!(ascii_letters("Weißmüller"), "Weissmuller");
        assert_eq!(ascii_letters("Đặng"), "Dang");
        assert_eq!(ascii_letters("Þórunn Guðmundsdóttir"), "ThorunnGudmundsdottir");
        assert_eq!(ascii_letters("Işıl"), "Isil");
        assert_eq!(ascii_letters("Adébáyọ̀"), "Adebayo");
        assert_eq!(ascii_letters("D'Angelo"), "DAngelo");
    }
}
