//! Per-token rate limiting: a fixed one-minute window, off unless configured.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::error::Error;

const WINDOW: Duration = Duration::from_secs(60);

pub struct RateLimiter {
    per_minute: Option<u32>,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(per_minute: Option<u32>) -> RateLimiter {
        RateLimiter { per_minute, windows: Mutex::new(HashMap::new()) }
    }

    /// Counts one request of this token; 429 with the seconds to wait once over the limit.
    pub fn check(&self, token_id: &str) -> Result<(), Error> {
        let Some(limit) = self.per_minute else { return Ok(()) };
        let now = Instant::now();
        let mut windows = self.windows.lock();
        let (started, count) = windows.entry(token_id.to_string()).or_insert((now, 0));
        if now.duration_since(*started) >= WINDOW {
            *started = now;
            *count = 0;
        }
        if *count >= limit {
            let retry_after_secs = WINDOW.saturating_sub(now.duration_since(*started)).as_secs().max(1);
            return Err(Error::RateLimited { retry_after_secs });
        }
        *count += 1;
        Ok(())
    }
}
