//! The demo business (Maré Coffee, a roaster selling online worldwide): its tags, attributes, messages, notes.

/// Agents' emails end with this (a reserved domain: nothing is ever sent there).
pub const AGENT_EMAIL_DOMAIN: &str = "mare-coffee.example";

/// The bot on each channel, in `Platform::ALL` order.
pub const BOT_NAMES: [&str; 4] =
    ["Maré Website Concierge", "Maré WhatsApp Orders", "Maré Telegram Helper", "Maré Messenger Assistant"];

/// The support team, busiest first.
pub const AGENT_NAMES: &[&str] = &[
    "Thandi Mokoena",
    "Lucas Ferreira",
    "Amélie Dubois",
    "Priya Raman",
    "Jonas Weiß",
    "Nguyễn Thu Trang",
    "Carlos Núñez",
    "Aoife Byrne",
];

/// How often each agent is assigned, in `AGENT_NAMES` order.
pub const AGENT_WEIGHTS: &[u32] = &[20, 18, 15, 12, 10, 10, 8, 7];

/// The tags, most used first: a user's tags are drawn by a Zipf law over this order.
/// No two differ only in case.
pub const TAGS: &[&str] = &[
    "newsletter",
    "lead",
    "support",
    "new customer",
    "vip",
    "returning customer",
    "Black Friday",
    "abandoned cart",
    "subscription",
    "hot lead",
    "espresso",
    "delivery issue",
    "feedback",
    "Instagram ad",
    "Google ads",
    "refund",
    "giveaway",
    "filter coffee",
    "Cyber Monday",
    "wholesale",
    "café owner",
    "gift card",
    "decaf",
    "referral",
    "complaint",
    "Christmas 2024",
    "student discount",
    "WhatsApp opt-in",
    "B2B",
    "churn risk",
    "upsell",
    "influencer",
    "Ramadan",
    "Diwali",
    "Dia dos Namorados",
    "Día de Muertos",
    "beta tester",
    "partner",
    "do not contact",
    "spam",
];

/// Values of the `plan` attribute and how common each is.
pub const PLANS: &[(&str, u32)] = &[("free", 60), ("basic", 28), ("gold", 12)];

/// Values of the `source` attribute and how common each is.
pub const SOURCES: &[(&str, u32)] = &[
    ("organic", 30),
    ("instagram ad", 20),
    ("google", 15),
    ("facebook ad", 12),
    ("referral", 10),
    ("qr code in store", 8),
    ("tiktok", 5),
];

pub const ROASTS: &[&str] = &["light", "medium", "dark", "espresso blend", "decaf"];

pub const COMPANIES: &[&str] = &[
    "Café Ñandú",
    "Kaffeehaus Grünwald",
    "Padaria Pão Dourado",
    "Çay Evi Kadıköy",
    "Bakkerij De Smet",
    "Joe's Diner",
    "Ubuntu Coffee Hub",
    "Cà Phê Sữa Đá Corner",
    "La Crème Pâtisserie",
    "Kahvila Pöllö",
];

/// Common email providers everywhere.
pub const GLOBAL_EMAIL_DOMAINS: &[&str] =
    &["gmail.com", "gmail.com", "gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "proton.me"];

/// Handles of users who give no name.
pub const HANDLES: &[&str] = &[
    "coffeelover",
    "night.owl",
    "sunrise",
    "bluebird",
    "latte.art",
    "mocha",
    "trailrunner",
    "happy.days",
    "brewmaster",
    "moonchild",
];

/// User-provided names that are nicknames rather than names.
pub const NICKNAMES: &[&str] = &["☕ Coffee Addict", "Mari 🌸", "Big J", "KK", "mom", "Dr. Bean", "🦋", "the boss"];

pub const USER_TEXTS: &[&str] = &[
    "Hi, is my order on its way?",
    "Do you deliver on Sundays?",
    "I want to change my delivery address",
    "What are your opening hours?",
    "Thanks! 🙏",
    "ok",
    "👍",
    "Can I speak to a human please",
    "The discount code BLACKFRIDAY isn't working",
    "How much is shipping to Cape Town?",
    "I was charged twice",
    "Is the 1kg bag of the Ethiopian back in stock?",
    "Where can I find my invoice?",
    "Yes please",
    "No thanks",
    "Can you call me back?",
    "I'd like a refund",
    "Hello??",
    "Perfect, thank you so much!",
    "my tracking number doesn't work",
    "Do you sell grinders too?",
    "STOP",
];

pub const BOT_TEXTS: &[&str] = &[
    "Hi there! 👋 How can I help you today?",
    "Your order has been shipped 📦 We'll message you when it's out for delivery.",
    "Please choose an option: 1️⃣ My order 2️⃣ Our coffees 3️⃣ Talk to a person",
    "Thanks for your message! A member of our team will reply shortly.",
    "Our opening hours are Mon–Fri 08:00–17:00 and Sat 09:00–13:00.",
    "Here's your 10% welcome code: WELCOME10 🎉",
    "Did that answer your question?",
    "Sorry, I didn't get that. Type MENU to see the options.",
    "Payment received ✅ Thank you!",
    "🔥 Black Friday starts now: up to 40% off all beans!",
    "You left something in your cart 🛒 Complete your order today for free delivery.",
    "How would you rate our service from 1 to 5?",
];

pub const AGENT_TEXTS: &[&str] = &[
    "Hi! I'm checking this for you now.",
    "I've refunded the second charge, it should show within 3-5 working days.",
    "Your new delivery address is saved ✅",
    "Sorry for the wait! The 1kg bags are back in stock.",
    "Could you send me your order number, please?",
    "I've passed this on to our logistics team and will update you tomorrow.",
    "You're welcome, have a great day! 😊",
    "Let me know if there's anything else I can help with.",
    "I've applied the discount to your order manually.",
    "Your invoice is on its way to your email.",
];

/// Notes agents leave on a user: a title and what it means.
pub const NOTES: &[(&str, &str)] = &[
    ("Prefers WhatsApp", "Asked us not to call, WhatsApp messages only."),
    ("Refund issued", "Double charge on the card refunded on request."),
    ("Wholesale interest", "Runs a café and wants prices for 20 kg a month."),
    ("Address change", "Moved house; new address confirmed by phone."),
    ("VIP", "Top-10 customer last year, send the Christmas gift box."),
    ("Allergies", "Lactose intolerant: no milk chocolate samples."),
    ("Language", "Prefers to be answered in their own language, not English."),
    ("Complaint", "Delivery arrived damaged; replacement sent, no charge."),
    ("Follow up", "Call back after the 15th about the subscription upgrade."),
];
