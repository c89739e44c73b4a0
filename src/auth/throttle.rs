//! Failed authentications remembered per key, with exponential backoff:
//! the first `FREE_FAILURES` failures in a row cost nothing more (a
//! mistyped secret, a client's tests of its error handling); after `n`
//! more a key is refused without verification for `BASE_DELAY * 2^(n-1)`,
//! at most `MAX_DELAY`. A key quiet for `RESET_AFTER` after its backoff
//! starts over. A wrong secret costs a full
//! Argon2 verification (about 19 MiB and 30 ms of CPU); the backoff caps
//! what one key can cost, the verification semaphore (`Authenticator`)
//! what all keys together can.
//!
//! Keys are whatever clients send, so the table is bounded: when it holds
//! `MAX_KEYS`, expired entries go first, then those whose backoff ends
//! soonest.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(super) const FREE_FAILURES: u32 = 10;
const BASE_DELAY: Duration = Duration::from_secs(1);
const RESET_AFTER: Duration = Duration::from_secs(60);
const MAX_DELAY: Duration = Duration::from_secs(300);
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    until: Instant,
}

#[derive(Debug, Default)]
pub(super) struct Throttle {
    keys: Mutex<HashMap<String, Failures>>,
}

/// The backoff after `count` failures in a row.
fn delay(count: u32) -> Duration {
    if count <= FREE_FAILURES {
        return Duration::ZERO;
    }
    let doublings = (count - FREE_FAILURES - 1).min(16);
    BASE_DELAY.saturating_mul(1u32 << doublings).min(MAX_DELAY)
}

impl Throttle {
    /// How long `key` must still wait, if it is backing off.
    pub(super) fn wait(&self, key: &str, now: Instant) -> Option<Duration> {
        let keys = self.keys.lock().ok()?;
        let failures = keys.get(key)?;
        (failures.until > now).then(|| failures.until - now)
    }

    /// Records a failed verification of `key` at `now`.
    pub(super) fn failed(&self, key: &str, now: Instant) {
        let Ok(mut keys) = self.keys.lock() else {
            return;
        };
        if keys.len() >= MAX_KEYS && !keys.contains_key(key) {
            keys.retain(|_, f| f.until > now);
            if keys.len() >= MAX_KEYS {
                let mut ends: Vec<Instant> = keys.values().map(|f| f.until).collect();
                ends.sort_unstable();
                let cut = ends.get(MAX_KEYS / 2).copied().unwrap_or(now);
                keys.retain(|_, f| f.until > cut);
            }
        }
        let entry = keys.entry(key.to_owned()).or_insert(Failures {
            count: 0,
            until: now,
        });
        if now >= entry.until + RESET_AFTER {
            entry.count = 0;
        }
        entry.count = entry.count.saturating_add(1);
        entry.until = now + delay(entry.count);
    }

    /// Forgets the failures of `key` (a verified secret).
    pub(super) fn succeeded(&self, key: &str) {
        if let Ok(mut keys) = self.keys.lock() {
            keys.remove(key);
        }
    }

    #[cfg(test)]
    pub(super) fn tracked(&self) -> usize {
        self.keys.lock().map(|k| k.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_in_a_row_doubles_the_wait_up_to_the_cap() {
        let t = Throttle::default();
        let now = Instant::now();
        assert_eq!(t.wait("k", now), None);
        for _ in 0..FREE_FAILURES {
            t.failed("k", now);
            assert_eq!(t.wait("k", now), None);
        }
        t.failed("k", now);
        assert_eq!(t.wait("k", now), Some(Duration::from_secs(1)));
        t.failed("k", now);
        assert_eq!(t.wait("k", now), Some(Duration::from_secs(2)));
        t.failed("k", now);
        assert_eq!(t.wait("k", now), Some(Duration::from_secs(4)));
        for _ in 0..40 {
            t.failed("k", now);
        }
        assert_eq!(t.wait("k", now), Some(MAX_DELAY));
        assert_eq!(t.wait("k", now + MAX_DELAY), None);
        // Quiet long enough after its backoff, a key starts over.
        let later = now + MAX_DELAY + RESET_AFTER;
        t.failed("k", later);
        assert_eq!(t.wait("k", later), None);
        assert_eq!(t.wait("other", now), None, "backoff is per key");
        t.succeeded("k");
        assert_eq!(t.wait("k", now), None);
    }

    #[test]
    fn the_table_of_keys_stays_bounded() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..MAX_KEYS + 10 {
            for _ in 0..=FREE_FAILURES {
                t.failed(&format!("key-{i}"), now);
            }
        }
        assert!(t.tracked() <= MAX_KEYS, "{}", t.tracked());
    }
}
