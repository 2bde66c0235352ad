//! Per-caller rate limits: a token bucket per certificate identity, and per address for
//! callers without one. Past its bucket a call gets RESOURCE_EXHAUSTED with the time to wait
//! (`retry-after-ms` and google.rpc.RetryInfo) before any service sees it; other callers'
//! buckets are untouched. Health and reflection are never limited.
//!
//! Calls are charged per unit of work (DESIGN.md): this layer takes one unit before the body
//! is read; a handler that finds more work in the decoded request (credentials, holder
//! proofs) takes the rest through the [`Charge`] left in the request's extensions.
//! CreateChallenge has buckets of its own.
//!
//! The layer is cloned into every per-core runtime; the buckets are shared, in shards behind
//! short-held mutexes, so a call costs one lock of one shard.

use super::connection::ConnectionInfo;
use crate::api::Charge;
use crate::config::RateLimitConfig;
use crate::domain::Caller;
use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tonic::Status;
use tonic::body::Body;
use tower::{Layer, Service};

/// Shards of the bucket map: calls from different callers rarely wait for one another.
const SHARDS: usize = 16;

/// Buckets one shard keeps before it sweeps (16 shards: about 64 Ki callers, a few MiB).
const SHARD_CAPACITY: usize = 4096;

/// Paths that are never limited: probes must always get through.
const EXEMPT: &[&str] = &[
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

/// Whom a bucket belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// A client certificate's SPIFFE ID.
    Identity(String),
    /// A caller without one, by address (IPv6 by its /64: one host usually has all of it).
    Address(IpAddr),
    /// Neither is known (no TCP connection info).
    Unknown,
}

impl Key {
    fn class(&self) -> Class {
        match self {
            Key::Identity(_) => Class::Identified,
            Key::Address(_) | Key::Unknown => Class::Public,
        }
    }

    fn address(ip: IpAddr) -> Self {
        Key::Address(super::per_address::host(ip))
    }

    /// The key of a request: its caller's identity (resolved by the identity layer), else
    /// its address.
    fn of<B>(req: &http::Request<B>) -> Self {
        let ext = req.extensions();
        if let Some(Caller::Identified(id)) = ext.get::<Caller>() {
            return Key::Identity(id.to_string());
        }
        ext.get::<ConnectionInfo>()
            .map_or(Key::Unknown, |c| Key::address(c.remote.ip()))
    }
}

/// Paths whose requests may carry more than one unit of work: the layer leaves them a
/// [`Charge`] for the rest.
const CHARGED: &[&str] = &[
    "/talentcard.v1.Verification/VerifyCard",
    "/talentcard.v1.Verification/VerifyCards",
    "/talentcard.v1.Entitlements/RedeemService",
    "/talentcard.v1.Federation/ReserveQuota",
];

/// CreateChallenge is charged to buckets of its own.
const CHALLENGE: &str = "/talentcard.v1.Verification/CreateChallenge";

/// The kinds of bucket, each with its own limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Class {
    Identified,
    Public,
    Challenge,
}

/// Calls per second refilled continuously, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rate {
    per_second: u32,
    burst: u32,
}

impl Rate {
    /// No limit when either is 0.
    fn new(per_second: u32, burst: u32) -> Option<Self> {
        (per_second > 0 && burst > 0).then_some(Self { per_second, burst })
    }
}

/// One caller's bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(rate: Rate, now: Instant) -> Self {
        Self {
            tokens: f64::from(rate.burst),
            at: now,
        }
    }

    /// Tokens at `now`, refilled since the last look.
    fn level(&self, rate: Rate, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        (self.tokens + elapsed * f64::from(rate.per_second)).min(f64::from(rate.burst))
    }

    /// Takes `units` tokens, or says how long until there are that many (nothing is taken
    /// then: a refused call costs nothing).
    fn take(&mut self, rate: Rate, now: Instant, units: u32) -> Result<(), Refused> {
        let tokens = self.level(rate, now);
        self.at = now.max(self.at);
        self.tokens = tokens;
        let want = f64::from(units);
        if units > rate.burst {
            Err(Refused::NeverFits(units))
        } else if tokens >= want {
            self.tokens = tokens - want;
            Ok(())
        } else {
            Err(Refused::Wait(Duration::from_secs_f64(
                (want - tokens) / f64::from(rate.per_second),
            )))
        }
    }
}

/// Why a charge was refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Refused {
    /// The tokens come back after this long.
    Wait(Duration),
    /// More units than the burst: no wait makes the call fit.
    NeverFits(u32),
}

/// The buckets of all callers, sharded by class and key.
#[derive(Debug)]
pub(crate) struct Limiter {
    identified: Option<Rate>,
    public: Option<Rate>,
    challenge: Option<Rate>,
    hasher: RandomState,
    shard_capacity: usize,
    shards: Vec<Mutex<HashMap<(Class, Key), Bucket>>>,
}

impl Limiter {
    pub(crate) fn new(
        identified: Option<Rate>,
        public: Option<Rate>,
        challenge: Option<Rate>,
        shard_capacity: usize,
    ) -> Self {
        Self {
            identified,
            public,
            challenge,
            hasher: RandomState::new(),
            shard_capacity,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn rate(&self, class: Class) -> Option<Rate> {
        match class {
            Class::Identified => self.identified,
            Class::Public => self.public,
            Class::Challenge => self.challenge,
        }
    }

    /// Takes a token from `key`'s bucket of its own class, or says how long to wait.
    #[cfg(test)]
    fn check(&self, key: Key, now: Instant) -> Result<(), Duration> {
        let class = key.class();
        self.charge(class, key, now, 1).map_err(|r| match r {
            Refused::Wait(d) => d,
            Refused::NeverFits(_) => Duration::MAX,
        })
    }

    /// Takes `units` tokens from the bucket of `key` in `class`, or says why not.
    pub(crate) fn charge(
        &self,
        class: Class,
        key: Key,
        now: Instant,
        units: u32,
    ) -> Result<(), Refused> {
        let Some(rate) = self.rate(class) else {
            return Ok(());
        };
        let slot = (class, key);
        let shard = &self.shards[self.hasher.hash_one(&slot) as usize % SHARDS];
        // A poisoned shard holds plain numbers that are still consistent.
        let mut map = shard.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bucket) = map.get_mut(&slot) {
            return bucket.take(rate, now, units);
        }
        if map.len() >= self.shard_capacity {
            self.sweep(&mut map, now);
        }
        let mut bucket = Bucket::full(rate, now);
        let taken = bucket.take(rate, now, units);
        map.insert(slot, bucket);
        taken
    }

    /// Forgets the buckets that have refilled (a fresh one is the same); if callers still
    /// fill most of the shard, also the longest idle of them, down to half. Sweeps are rare:
    /// each leaves at least half the shard free.
    fn sweep(&self, map: &mut HashMap<(Class, Key), Bucket>, now: Instant) {
        map.retain(|(class, _), b| {
            self.rate(*class)
                .is_some_and(|rate| b.level(rate, now) < f64::from(rate.burst))
        });
        let keep = self.shard_capacity / 2;
        if map.len() > keep {
            let excess = map.len() - keep;
            let mut ats: Vec<Instant> = map.values().map(|b| b.at).collect();
            let (_, newest_dropped, _) = ats.select_nth_unstable(excess - 1);
            let newest_dropped = *newest_dropped;
            // Fewer than `excess` are older; the rest are dropped from those seen with it.
            let mut ties = excess - ats.iter().filter(|&&at| at < newest_dropped).count();
            map.retain(|_, b| {
                let tie = b.at == newest_dropped && ties > 0;
                ties -= usize::from(tie);
                b.at > newest_dropped || (b.at == newest_dropped && !tie)
            });
        }
    }

    /// The refusal for a caller of `class` charged `units` and refused.
    fn refusal(&self, class: Class, units: u32, refused: Refused) -> Status {
        let who = match class {
            Class::Identified => "callers with one certificate identity",
            Class::Public => "public callers from one address",
            Class::Challenge => "CreateChallenge from one caller",
        };
        let rate = self.rate(class).unwrap_or(Rate {
            per_second: 0,
            burst: 0,
        });
        let what = if class == Class::Challenge {
            "calls"
        } else {
            "units of work"
        };
        let wait = match refused {
            Refused::Wait(wait) => wait,
            Refused::NeverFits(units) => {
                return Status::resource_exhausted(format!(
                    "rate limit: this call carries {units} {what} (one per credential and \
                     holder proof), more than the {} that {who} may spend at once; send fewer \
                     per call",
                    rate.burst
                ));
            }
        };
        let this_call = if units > 1 {
            format!("this call carries {units} (one per credential and holder proof); ")
        } else {
            String::new()
        };
        let ms = wait.as_nanos().div_ceil(1_000_000).max(1);
        let mut status = <Status as tonic_types::StatusExt>::with_error_details(
            tonic::Code::ResourceExhausted,
            format!(
                "rate limit: at most {} {what} per second (burst {}) for {who}; \
                 {this_call}retry after {ms} ms",
                rate.per_second, rate.burst
            ),
            tonic_types::ErrorDetails::with_retry_info(Some(Duration::from_millis(ms as u64))),
        );
        status
            .metadata_mut()
            .insert("retry-after-ms", ms.to_string().parse().expect("digits"));
        status
    }
}

/// The layer: one limiter shared by every clone.
#[derive(Debug, Clone)]
pub struct RateLimits {
    limiter: Option<Arc<Limiter>>,
}

impl RateLimits {
    /// The limits of the configuration; none when disabled.
    pub fn new(config: &RateLimitConfig) -> Self {
        let identified = Rate::new(config.identified_per_second, config.identified_burst);
        let public = Rate::new(config.public_per_second, config.public_burst);
        let challenge = Rate::new(config.challenge_per_second, config.challenge_burst);
        let on =
            config.enabled && (identified.is_some() || public.is_some() || challenge.is_some());
        Self {
            limiter: on
                .then(|| Arc::new(Limiter::new(identified, public, challenge, SHARD_CAPACITY))),
        }
    }
}

impl<S> Layer<S> for RateLimits {
    type Service = RateLimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimitService {
            limiter: self.limiter.clone(),
            inner,
        }
    }
}

/// The service the layer wraps around the router.
#[derive(Debug, Clone)]
pub struct RateLimitService<S> {
    limiter: Option<Arc<Limiter>>,
    inner: S,
}

impl<S> Service<http::Request<Body>> for RateLimitService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<Body>) -> Self::Future {
        if let Some(limiter) = &self.limiter {
            let path = req.uri().path();
            if !EXEMPT.iter().any(|p| path.starts_with(p)) {
                let charged = CHARGED.contains(&path);
                let challenge = path == CHALLENGE;
                let key = Key::of(&req);
                let class = if challenge {
                    Class::Challenge
                } else {
                    key.class()
                };
                let rest = charged.then(|| key.clone());
                if let Err(refused) = limiter.charge(class, key, Instant::now(), 1) {
                    // The inner service was made ready and is not called: it stays ready
                    // for the next call.
                    let refusal = limiter.refusal(class, 1, refused).into_http();
                    return Box::pin(std::future::ready(Ok(refusal)));
                }
                if let Some(key) = rest {
                    let limiter = limiter.clone();
                    req.extensions_mut().insert(Charge::new(move |units| {
                        let total = units + 1;
                        limiter
                            .charge(class, key.clone(), Instant::now(), units)
                            .map_err(|r| limiter.refusal(class, total, r))
                    }));
                }
            }
        }
        Box::pin(self.inner.call(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(per_second: u32, burst: u32) -> Option<Rate> {
        Rate::new(per_second, burst)
    }

    fn ip(last: u8) -> Key {
        Key::Address(IpAddr::from([10, 0, 0, last]))
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Within a microsecond of `millis` (the arithmetic is in floating point).
    #[track_caller]
    fn waits(r: Result<(), Duration>, millis: u64) {
        let wait = r.expect_err("refused");
        let diff = wait.abs_diff(ms(millis));
        assert!(
            diff < Duration::from_micros(1),
            "{wait:?} is not {millis} ms"
        );
    }

    #[test]
    fn burst_then_refusal_with_the_wait_for_one_token() {
        let l = Limiter::new(None, rate(10, 5), None, 64);
        let t0 = Instant::now();
        for _ in 0..5 {
            assert_eq!(l.check(ip(1), t0), Ok(()));
        }
        // 10 per second: a token every 100 ms.
        waits(l.check(ip(1), t0), 100);
        waits(l.check(ip(1), t0 + ms(40)), 60);
    }

    #[test]
    fn refills_continuously_up_to_the_burst() {
        let l = Limiter::new(None, rate(10, 5), None, 64);
        let t0 = Instant::now();
        for _ in 0..5 {
            l.check(ip(1), t0).expect("burst");
        }
        // 250 ms: two and a half tokens.
        let t1 = t0 + ms(250);
        assert_eq!(l.check(ip(1), t1), Ok(()));
        assert_eq!(l.check(ip(1), t1), Ok(()));
        waits(l.check(ip(1), t1), 50);
        // A long pause refills to the burst, not beyond.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..5 {
            assert_eq!(l.check(ip(1), t2), Ok(()));
        }
        assert!(l.check(ip(1), t2).is_err());
    }

    #[test]
    fn callers_and_classes_are_separate() {
        let l = Limiter::new(rate(100, 3), rate(1, 1), None, 64);
        let t0 = Instant::now();
        assert_eq!(l.check(ip(1), t0), Ok(()));
        assert!(l.check(ip(1), t0).is_err());
        assert_eq!(l.check(ip(2), t0), Ok(()));
        assert_eq!(l.check(Key::Unknown, t0), Ok(()));
        assert!(l.check(Key::Unknown, t0).is_err());
        let a = || Key::Identity("spiffe://cq.talent/counter/a".into());
        let b = || Key::Identity("spiffe://cq.talent/counter/b".into());
        for _ in 0..3 {
            assert_eq!(l.check(a(), t0), Ok(()));
        }
        waits(l.check(a(), t0), 10);
        assert_eq!(l.check(b(), t0), Ok(()));
    }

    #[test]
    fn an_unlimited_class_is_not_counted() {
        let l = Limiter::new(None, rate(1, 1), None, 64);
        let t0 = Instant::now();
        let id = || Key::Identity("spiffe://cq.talent/partner/mianyang".into());
        for _ in 0..1000 {
            assert_eq!(l.check(id(), t0), Ok(()));
        }
        assert!(l.shards.iter().all(|s| s.lock().expect("shard").is_empty()));
        assert_eq!(Rate::new(0, 10), None);
        assert_eq!(Rate::new(10, 0), None);
    }

    #[test]
    fn a_clock_going_back_does_not_mint_tokens() {
        let l = Limiter::new(None, rate(10, 1), None, 64);
        let t0 = Instant::now() + Duration::from_secs(10);
        assert_eq!(l.check(ip(1), t0), Ok(()));
        assert!(l.check(ip(1), t0 - Duration::from_secs(5)).is_err());
        assert!(l.check(ip(1), t0).is_err());
    }

    fn len(l: &Limiter) -> usize {
        l.shards
            .iter()
            .map(|s| s.lock().expect("shard").len())
            .sum()
    }

    #[test]
    fn full_idle_buckets_are_forgotten_and_the_map_stays_bounded() {
        let cap = 8;
        let l = Limiter::new(None, rate(10, 2), None, cap);
        let t0 = Instant::now();
        // A scan from many addresses, all at once: no shard grows past its capacity.
        for i in 0..=255u8 {
            for j in 0..4u8 {
                let key = Key::Address(IpAddr::from([10, 1, i, j]));
                assert_eq!(l.check(key, t0), Ok(()));
            }
        }
        assert!(len(&l) <= SHARDS * cap, "{}", len(&l));
    }

    #[test]
    fn a_sweep_of_callers_all_in_deficit_keeps_half() {
        let cap = 10;
        let l = Limiter::new(None, rate(1, 5), None, cap);
        let t0 = Instant::now();
        let mut map = HashMap::new();
        for i in 0..cap as u8 {
            let mut b = Bucket::full(Rate::new(1, 5).expect("rate"), t0 + ms(u64::from(i % 3)));
            b.tokens = 0.0;
            map.insert((Class::Public, ip(i)), b);
        }
        l.sweep(&mut map, t0 + ms(10));
        assert_eq!(map.len(), cap / 2);
        // The most recently seen are kept.
        assert!(map.values().all(|b| b.at >= t0 + ms(1)));
    }

    #[test]
    fn a_sweep_keeps_the_buckets_still_in_deficit() {
        // One shard's worth of capacity is plenty here: everything below stays under it.
        let l = Limiter::new(None, rate(1, 1), None, 1000);
        let t0 = Instant::now();
        assert_eq!(l.check(ip(1), t0), Ok(()));
        let mut map = l.shards[l.hasher.hash_one((Class::Public, ip(1))) as usize % SHARDS]
            .lock()
            .expect("shard");
        map.insert(
            (Class::Public, ip(2)),
            Bucket::full(Rate::new(1, 1).expect("rate"), t0),
        );
        l.sweep(&mut map, t0 + ms(500));
        assert!(
            map.contains_key(&(Class::Public, ip(1))),
            "half refilled: kept"
        );
        assert!(
            !map.contains_key(&(Class::Public, ip(2))),
            "full: forgotten"
        );
    }

    #[test]
    fn addresses_are_keyed_by_host() {
        let v6 = |s: &str| Key::address(s.parse().expect("ip"));
        assert_eq!(v6("2001:db8:1:2:aaaa::1"), v6("2001:db8:1:2:bbbb::2"));
        assert_ne!(v6("2001:db8:1:2::1"), v6("2001:db8:1:3::1"));
        assert_eq!(v6("::ffff:10.0.0.1"), ip(1));
        assert_ne!(v6("10.0.0.1"), v6("10.0.0.2"));
    }

    #[test]
    fn the_refusal_says_what_limit_and_when_to_retry() {
        use tonic_types::StatusExt;
        let l = Limiter::new(rate(2000, 4000), rate(100, 200), rate(20, 40), 64);
        let wait = Refused::Wait(Duration::from_micros(11_200));
        let s = l.refusal(Class::Public, 1, wait);
        assert_eq!(s.code(), tonic::Code::ResourceExhausted);
        assert_eq!(
            s.message(),
            "rate limit: at most 100 units of work per second (burst 200) for public callers \
             from one address; retry after 12 ms"
        );
        assert_eq!(
            s.metadata()
                .get("retry-after-ms")
                .and_then(|v| v.to_str().ok()),
            Some("12")
        );
        let retry = s.get_details_retry_info().expect("RetryInfo");
        assert_eq!(retry.retry_delay, Some(ms(12)));
        let s = l.refusal(
            Class::Identified,
            3,
            Refused::Wait(Duration::from_micros(10)),
        );
        assert!(
            s.message().contains(
                "(burst 4000) for callers with one certificate identity; this call carries 3 \
                 (one per credential and holder proof); retry after 1 ms"
            ),
            "{}",
            s.message()
        );
        let s = l.refusal(Class::Challenge, 1, wait);
        assert!(
            s.message().starts_with(
                "rate limit: at most 20 calls per second (burst 40) \
             for CreateChallenge from one caller"
            ),
            "{}",
            s.message()
        );
        let s = l.refusal(Class::Public, 300, Refused::NeverFits(300));
        assert!(
            s.message().contains("carries 300 units of work"),
            "{}",
            s.message()
        );
        assert!(s.metadata().get("retry-after-ms").is_none());
    }

    #[test]
    fn a_charge_of_many_units_takes_them_all_or_nothing() {
        let l = Limiter::new(None, rate(10, 300), None, 64);
        let t0 = Instant::now();
        assert_eq!(l.charge(Class::Public, ip(1), t0, 256), Ok(()));
        // 44 left: a second call of 256 is refused and takes nothing.
        let Err(Refused::Wait(wait)) = l.charge(Class::Public, ip(1), t0, 256) else {
            panic!("refused with a wait");
        };
        assert!(wait.abs_diff(Duration::from_millis(21_200)) < Duration::from_micros(1));
        assert_eq!(l.charge(Class::Public, ip(1), t0, 44), Ok(()));
        assert_eq!(
            l.charge(Class::Public, ip(2), t0, 301),
            Err(Refused::NeverFits(301))
        );
        assert_eq!(l.charge(Class::Public, ip(2), t0, 300), Ok(()));
    }

    #[test]
    fn challenges_have_buckets_of_their_own() {
        let l = Limiter::new(None, rate(1, 2), rate(1, 3), 64);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.charge(Class::Challenge, ip(1), t0, 1), Ok(()));
        }
        assert!(l.charge(Class::Challenge, ip(1), t0, 1).is_err());
        // The same address's ordinary bucket is full.
        assert_eq!(l.charge(Class::Public, ip(1), t0, 2), Ok(()));
    }
}
