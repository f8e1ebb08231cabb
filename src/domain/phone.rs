//! Phone numbers as the contract keeps them: a country prefix and a number, both digits only.

use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Phone {
    pub number: String,
    pub prefix: Option<String>,
}

/// The characters a phone number may be written with besides digits.
fn is_phone_punctuation(c: char) -> bool {
    matches!(c, ' ' | '+' | '-' | '(' | ')' | '.')
}

/// The digits of a value written with digits, spaces, `+ - ( ) .`; None when anything else is in it.
pub fn phone_digits(text: &str) -> Option<String> {
    if !text.chars().all(|c| c.is_ascii_digit() || is_phone_punctuation(c)) {
        return None;
    }
    Some(text.chars().filter(|c| c.is_ascii_digit()).collect())
}

/// How a WhatsApp number is matched: its digits when it is written like a phone number,
/// else the text itself (some channels hand out opaque ids).
pub fn whatsapp_key(text: &str) -> String {
    let text = text.trim();
    phone_digits(text).filter(|d| !d.is_empty()).unwrap_or_else(|| text.to_string())
}

/// Every ASCII digit of a text, in order.
pub fn digits_of(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

impl Phone {
    /// The international form of section 7: `+<prefix><number>`, or the bare number without a prefix.
    pub fn international(&self) -> String {
        match &self.prefix {
            Some(prefix) => format!("+{prefix}{}", self.number),
            None => self.number.clone(),
        }
    }

    /// prefix followed by number, the digits a phone search looks in.
    pub fn digits(&self) -> String {
        format!("{}{}", self.prefix.as_deref().unwrap_or(""), self.number)
    }

    /// Parses an exported phone cell. With a leading `+`, the country calling code is split off
    /// (libphonenumber's metadata knows where it ends); without one, all digits are the number.
    pub fn parse_international(text: &str) -> Option<Phone> {
        let text = text.trim();
        let digits = phone_digits(text)?;
        if digits.is_empty() {
            return None;
        }
        if !text.starts_with('+') {
            return Some(Phone { number: digits, prefix: None });
        }
        let code = phonenumber::parse(None, format!("+{digits}")).ok().map(|parsed| parsed.code().value().to_string());
        match code {
            Some(code) if digits.starts_with(&code) && digits.len() > code.len() => {
                Some(Phone { number: digits[code.len()..].to_string(), prefix: Some(code) })
            }
            _ => Some(Phone { number: digits, prefix: None }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn international_form_round_trips() {
        for (prefix, number) in [("27", "825551234"), ("1", "4155550100"), ("351", "912345678"), ("44", "7700900123")] {
            let phone = Phone { prefix: Some(prefix.into()), number: number.into() };
            assert_eq!(Phone::parse_international(&phone.international()), Some(phone));
        }
    }

    #[test]
    fn phone_digits_refuse_letters() {
        assert_eq!(phone_digits("+27 82-555").as_deref(), Some("2782555"));
        assert_eq!(phone_digits("call 082"), None);
    }
}
