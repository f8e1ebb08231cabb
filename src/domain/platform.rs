//! The four channels a business talks to its users on.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Platform {
    Website,
    Whatsapp,
    Telegram,
    Facebook,
}

impl Platform {
    pub const ALL: [Platform; 4] = [Platform::Website, Platform::Whatsapp, Platform::Telegram, Platform::Facebook];
    pub const ALLOWED: &'static str = "WEBSITE, WHATSAPP, TELEGRAM, FACEBOOK";

    /// Accepts the channel name in any case.
    pub fn parse(text: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.as_str().eq_ignore_ascii_case(text.trim()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Website => "WEBSITE",
            Platform::Whatsapp => "WHATSAPP",
            Platform::Telegram => "TELEGRAM",
            Platform::Facebook => "FACEBOOK",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// The user-object field that holds the user's bot on this channel.
    pub fn bot_field(self) -> &'static str {
        match self {
            Platform::Website => "_botWebsite",
            Platform::Whatsapp => "_botWhatsapp",
            Platform::Telegram => "_botTelegram",
            Platform::Facebook => "_botFacebook",
        }
    }
}
