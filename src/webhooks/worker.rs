//! The delivery worker: sends due outbox rows, signs them, retries with backoff.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use rand::Rng;
use sha2::Sha256;
use tokio::sync::{Notify, Semaphore};

use super::DestinationPolicy;
use crate::domain::{Id, Timestamp};
use crate::store::{Attempt, Delivery, Store};

/// At most this many deliveries are under way at once, so one dead receiver cannot take them all.
const CONCURRENT_DELIVERIES: usize = 16;
/// A receiver gets this long to answer.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the outbox is looked at when nothing wakes the worker.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Retries go on at least this long after the change (the contract asks for 24 hours).
const RETRY_FOR_MS: i64 = 25 * 3_600_000;
/// Seconds before retry n (then the last one, repeated): the first three come within a minute.
const BACKOFF_SECS: [u64; 9] = [1, 5, 15, 60, 300, 900, 1_800, 3_600, 7_200];

/// Which deliveries this node is sending, and which it finished since the outbox was last read.
/// A list read from the outbox can be stale by the time it is walked: a delivery finished
/// meanwhile must not be sent again from it.
#[derive(Default)]
struct Tracker {
    in_flight: HashSet<Id>,
    finished_since_read: HashSet<Id>,
}

pub struct Deliverer {
    store: Arc<dyn Store>,
    policy: DestinationPolicy,
    client: reqwest::Client,
    wake: Arc<Notify>,
    tracker: Mutex<Tracker>,
    slots: Arc<Semaphore>,
}

/// The signature header's value: `sha256=<hex HMAC-SHA256 of the body>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// When to try again after `attempts` failed attempts, with ±20% jitter; None once past the retry period.
fn next_attempt(delivery: &Delivery, attempts: u32, now: Timestamp) -> Option<Timestamp> {
    let base = BACKOFF_SECS[(attempts as usize).saturating_sub(1).min(BACKOFF_SECS.len() - 1)] as f64 * 1000.0;
    let delay = (base * rand::thread_rng().gen_range(0.8..1.2)) as i64;
    let at = Timestamp(now.0 + delay);
    (at.0 - delivery.created_at.0 <= RETRY_FOR_MS).then_some(at)
}

impl Deliverer {
    pub fn new(store: Arc<dyn Store>, policy: DestinationPolicy, wake: Arc<Notify>) -> anyhow::Result<Arc<Deliverer>> {
        let client = reqwest::Client::builder()
            .timeout(DELIVERY_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("inboxd/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Arc::new(Deliverer {
            store,
            policy,
            client,
            wake,
            tracker: Mutex::new(Tracker::default()),
            slots: Arc::new(Semaphore::new(CONCURRENT_DELIVERIES)),
        }))
    }

    /// Runs forever: takes due deliveries and sends each on its own task.
    pub async fn run(self: Arc<Self>) {
        loop {
            // Cleared before the read: whatever finishes from now on may still be in the list.
            self.tracker.lock().finished_since_read.clear();
            match self.store.due_deliveries(Timestamp::now(), 64).await {
                Ok(due) => {
                    for delivery in due {
                        let Ok(slot) = self.slots.clone().acquire_owned().await else { return };
                        {
                            let mut tracker = self.tracker.lock();
                            if tracker.finished_since_read.contains(&delivery.id)
                                || !tracker.in_flight.insert(delivery.id)
                            {
                                continue;
                            }
                        }
                        let this = self.clone();
                        tokio::spawn(async move {
                            this.deliver(&delivery).await;
                            let mut tracker = this.tracker.lock();
                            tracker.finished_since_read.insert(delivery.id);
                            tracker.in_flight.remove(&delivery.id);
                            drop(tracker);
                            drop(slot);
                            this.wake.notify_one();
                        });
                    }
                }
                Err(error) => tracing::error!(%error, "could not read the webhook outbox"),
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        }
    }

    async fn deliver(&self, delivery: &Delivery) {
        let attempt = self.attempt(delivery).await;
        let now = Timestamp::now();
        let attempt = match attempt {
            Ok(()) => Attempt::Delivered,
            Err(error) => match next_attempt(delivery, delivery.attempts + 1, now) {
                Some(at) => Attempt::Retry { at, error },
                None => Attempt::Failed { error },
            },
        };
        match &attempt {
            Attempt::Delivered => tracing::info!(delivery = %delivery.id, event = delivery.event, "webhook delivered"),
            Attempt::Retry { at, error } => {
                tracing::warn!(delivery = %delivery.id, %error, retry_at = %at, "webhook delivery failed; will retry")
            }
            Attempt::Failed { error } => tracing::error!(delivery = %delivery.id, %error, "webhook delivery given up"),
        }
        if let Err(error) = self.store.record_attempt(delivery.workspace, delivery.id, now, &attempt).await {
            tracing::error!(delivery = %delivery.id, %error, "could not record a webhook attempt");
        }
    }

    /// One POST; Err with what went wrong.
    async fn attempt(&self, delivery: &Delivery) -> Result<(), String> {
        let Some((url, secret)) = &delivery.target else { return Err("the subscription was removed".into()) };
        let url = self.policy.check(url).await?;
        let response = self
            .client
            .post(url)
            .header("Content-Type", "application/json")
            .header("X-Inboxd-Signature", signature(secret, delivery.body.as_bytes()))
            .body(delivery.body.clone())
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("receiver answered {}", response.status()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::signature;

    #[test]
    fn signatures_are_hex_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
