//! Rate limits: a token bucket (GCRA, from the `governor` crate) per key, O(1) per request. Join
//! attempts and group creation are limited per client address, answers per member token, so join
//! codes cannot be guessed by brute force, strangers cannot fill the database with groups, and one
//! member cannot flood a poll.
//!
//! Keys live only in memory, never in the database, and the table is bounded: buckets that are full
//! again are forgotten once a minute (or as soon as the table is full, at most once a second), and
//! while it is still full, requests share one bucket: a flood of new addresses cannot grow memory,
//! and it lasts only until the flood's own buckets refill and are forgotten. IPv6 addresses are limited per /64, the block one
//! home or phone is given, so changing the last 64 bits does not buy a new bucket.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// Most keys remembered at once per limiter.
pub const MAX_KEYS: usize = 100_000;

/// How often full buckets are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// A key, or the bucket that new keys share while the table is full.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Slot<K> {
    Key(K),
    Overflow,
}

/// A token bucket per key: `per_minute` a minute, in bursts of `burst`.
#[derive(Debug)]
pub struct Limiter<K: Hash + Eq + Clone> {
    buckets: Option<DefaultKeyedRateLimiter<Slot<K>>>,
    max_keys: usize,
    /// When the table was last swept.
    swept: Mutex<Instant>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    /// `per_minute` a minute per key, `burst` at once; `per_minute` 0 turns the limit off.
    pub fn new(per_minute: u32, burst: u32) -> Limiter<K> {
        Limiter::bounded(per_minute, burst, MAX_KEYS)
    }

    /// The same with room for `max_keys` keys (tests use a small table).
    pub fn bounded(per_minute: u32, burst: u32, max_keys: usize) -> Limiter<K> {
        let buckets = NonZeroU32::new(per_minute).map(|rate| {
            let burst = NonZeroU32::new(burst).unwrap_or(rate);
            DefaultKeyedRateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst))
        });
        Limiter { buckets, max_keys, swept: Mutex::new(Instant::now()) }
    }

    /// Takes one request for `key`, or says how long to wait.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        let Some(buckets) = &self.buckets else { return Ok(()) };
        let mut slot = Slot::Key(key.clone());
        let full = buckets.len() >= self.max_keys;
        self.sweep(buckets, full);
        if buckets.len() >= self.max_keys {
            // Still full: the request takes from the shared bucket (`check_key` on an unknown key
            // would add it, and governor cannot tell a known key without adding it).
            slot = Slot::Overflow;
        }
        buckets.check_key(&slot).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets full buckets once a [`SWEEP_EVERY`], or at once (at most once a second) when the
    /// table is full.
    fn sweep(&self, buckets: &DefaultKeyedRateLimiter<Slot<K>>, full: bool) {
        let Ok(mut swept) = self.swept.try_lock() else { return };
        let since = swept.elapsed();
        if since >= SWEEP_EVERY || (full && since >= Duration::from_secs(1)) {
            buckets.retain_recent();
            buckets.shrink_to_fit();
            *swept = Instant::now();
        }
    }

    /// Keys remembered now.
    pub fn len(&self) -> usize {
        self.buckets.as_ref().map_or(0, |b| b.len())
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The key of a client address: itself for IPv4, its /64 for IPv6 (an IPv4-mapped IPv6 address is
/// its IPv4 address).
pub fn address_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

/// An address block (`10.0.0.0/8`, `::1/128`, or one address): the proxies whose
/// `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Cidr, String> {
        let bad = || format!("`{s}` is not an address block such as 10.0.0.0/8, 192.0.2.7 or fd00::/8");
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl Cidr {
    /// Whether `ip` is inside the block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The client's address: the connection's peer, unless the peer is a trusted proxy; then the
/// right-most address of `X-Forwarded-For` that is not itself a trusted proxy (the left part of the
/// header is whatever the client wrote, and is not believed).
pub fn client_address(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[Cidr]) -> IpAddr {
    if !trusted.iter().any(|c| c.contains(peer)) {
        return peer;
    }
    let Some(header) = forwarded_for else { return peer };
    for hop in header.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if trusted.iter().any(|c| c.contains(ip)) => continue,
            Ok(ip) => return ip,
            // A hop that is not an address: nothing to its left can be believed.
            Err(_) => return peer,
        }
    }
    peer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_a_wait_per_key() {
        let limit = Limiter::new(3, 3);
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        assert!((0..3).all(|_| limit.check(&a).is_ok()));
        let wait = limit.check(&a).expect_err("fourth in a burst of three");
        assert!(wait > Duration::from_secs(15) && wait <= Duration::from_secs(20), "{wait:?}");
        assert!(limit.check(&b).is_ok(), "another key has its own bucket");
        assert!(Limiter::new(0, 0).check(&a).is_ok(), "0 is no limit");
    }

    #[test]
    fn memory_is_bounded_and_a_flood_of_new_keys_shares_one_bucket() {
        let limit = Limiter::bounded(60, 5, 100);
        let known: IpAddr = [192, 0, 2, 1].into();
        assert!(limit.check(&known).is_ok());
        let mut refused = 0;
        for k in 0..1000u32 {
            refused += usize::from(limit.check(&IpAddr::from(k.to_be_bytes())).is_err());
        }
        assert!(limit.len() <= 101, "{} keys", limit.len());
        // 99 keys fit beside the known one; the other 901 share one bucket of 5.
        assert!((890..=896).contains(&refused), "new keys past the bound share one bucket: {refused} refused");
    }

    #[test]
    fn ipv6_is_limited_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().expect("ip");
        assert_eq!(address_key(mapped), IpAddr::from([10, 1, 2, 3]));
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let trusted: Vec<Cidr> = ["10.0.0.0/8", "::1"].iter().map(|c| c.parse().expect("cidr")).collect();
        let proxy: IpAddr = [10, 1, 1, 1].into();
        let stranger: IpAddr = [203, 0, 113, 5].into();
        let header = Some("1.1.1.1, 198.51.100.7, 10.2.2.2");
        assert_eq!(client_address(proxy, header, &trusted), IpAddr::from([198, 51, 100, 7]));
        assert_eq!(client_address(stranger, header, &trusted), stranger, "a stranger's header is ignored");
        assert_eq!(client_address(proxy, None, &trusted), proxy);
        assert_eq!(client_address(proxy, Some("junk, 198.51.100.7"), &trusted), IpAddr::from([198, 51, 100, 7]));
        assert_eq!(client_address(proxy, Some("198.51.100.7, junk"), &trusted), proxy);
        assert_eq!(
            client_address("::1".parse().expect("ip"), Some("2001:db8::1"), &trusted),
            "2001:db8::1".parse::<IpAddr>().expect("ip")
        );
        for bad in ["10.0.0.0/33", "nope", "::/129", ""] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        assert!("0.0.0.0/0".parse::<Cidr>().expect("all").contains(stranger));
    }
}
