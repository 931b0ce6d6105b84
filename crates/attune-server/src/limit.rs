//! Join attempts are rate-limited per client address (a token bucket each), so join codes cannot be
//! guessed by brute force. Addresses live only in this table, in memory, never in the database, and
//! the table is bounded: idle buckets are forgotten first, then the longest idle.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most addresses remembered at once.
const MAX_ADDRESSES: usize = 10_000;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// A token bucket per client address: `per_minute` joins a minute, in bursts of as many.
#[derive(Debug)]
pub struct JoinLimiter {
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
    capacity: f64,
    per_sec: f64,
}

impl JoinLimiter {
    /// `per_minute` joins a minute per address; 0 turns the limit off.
    pub fn new(per_minute: u32) -> JoinLimiter {
        JoinLimiter {
            buckets: Mutex::default(),
            capacity: f64::from(per_minute),
            per_sec: f64::from(per_minute) / 60.0,
        }
    }

    /// Takes one join for `addr`, or says how long to wait.
    pub fn check(&self, addr: IpAddr) -> Result<(), Duration> {
        if self.capacity == 0.0 {
            return Ok(());
        }
        let Ok(mut buckets) = self.buckets.lock() else { return Ok(()) };
        let now = Instant::now();
        if buckets.len() >= MAX_ADDRESSES && !buckets.contains_key(&addr) {
            let (capacity, rate) = (self.capacity, self.per_sec);
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < capacity);
            if buckets.len() >= MAX_ADDRESSES {
                if let Some(oldest) = buckets.iter().min_by_key(|(_, b)| b.at).map(|(a, _)| *a) {
                    buckets.remove(&oldest);
                }
            }
        }
        let b = buckets.entry(addr).or_insert(Bucket { tokens: self.capacity, at: now });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * self.per_sec).min(self.capacity);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / self.per_sec))
        }
    }

    /// Addresses remembered now.
    pub fn len(&self) -> usize {
        self.buckets.lock().map_or(0, |b| b.len())
    }

    /// Whether no address is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_a_wait_per_address() {
        let limit = JoinLimiter::new(3);
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        assert!((0..3).all(|_| limit.check(a).is_ok()));
        let wait = limit.check(a).expect_err("fourth join in a burst of three");
        assert!(wait > Duration::from_secs(15) && wait <= Duration::from_secs(20), "{wait:?}");
        assert!(limit.check(b).is_ok(), "another address has its own bucket");
        assert!(JoinLimiter::new(0).check(a).is_ok());
    }

    #[test]
    fn memory_is_bounded() {
        let limit = JoinLimiter::new(60);
        for k in 0..(MAX_ADDRESSES as u32 + 500) {
            let _ = limit.check(IpAddr::from(k.to_be_bytes()));
        }
        assert!(limit.len() <= MAX_ADDRESSES);
    }
}
