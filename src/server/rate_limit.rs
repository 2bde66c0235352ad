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
//! The buckets are `governor`'s keyed GCRA (`check_key_n` charges n units, all or none, and
//! a refusal writes nothing), one rate limiter per class, each over a store of our own that
//! bounds the number of callers it remembers (`BoundedStore`). The layer is cloned into every
//! per-core runtime; the state is shared, in shards behind short-held mutexes, so a call
//! costs one lock of one shard.

use super::connection::ConnectionInfo;
use crate::api::Charge;
use crate::config::RateLimitConfig;
use crate::domain::Caller;
use crate::locks;
use governor::clock::{Clock, MonotonicClock};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::ShrinkableKeyedStateStore;
use governor::{InsufficientCapacity, Quota, RateLimiter};
use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tonic::Status;
use tonic::body::Body;
use tower::{Layer, Service};

/// Shards of the bucket map: calls from different callers rarely wait for one another.
const SHARDS: usize = 16;

/// Callers one shard of a class keeps before it sweeps (16 shards: about 64 Ki callers, a
/// few MiB).
const SHARD_CAPACITY: usize = 4096;

/// Paths that are never limited: probes must always get through.
const EXEMPT: &[&str] = &[
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

/// Whom a bucket belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum BucketOwner {
    /// A client certificate's SPIFFE ID.
    Identity(String),
    /// A caller without one, by address (IPv6 by its /64: one host usually has all of it).
    Address(IpAddr),
    /// Neither is known (no TCP connection info).
    Unknown,
}

impl BucketOwner {
    fn class(&self) -> Class {
        match self {
            BucketOwner::Identity(_) => Class::Identified,
            BucketOwner::Address(_) | BucketOwner::Unknown => Class::Public,
        }
    }

    fn address(ip: IpAddr) -> Self {
        BucketOwner::Address(super::per_address::host(ip))
    }

    /// The bucket owner of a request: its caller's identity (resolved by the identity layer), else
    /// its address.
    fn of<B>(req: &http::Request<B>) -> Self {
        let ext = req.extensions();
        if let Some(Caller::Identified(id)) = ext.get::<Caller>() {
            return BucketOwner::Identity(id.to_string());
        }
        ext.get::<ConnectionInfo>()
            .map_or(BucketOwner::Unknown, |c| {
                BucketOwner::address(c.remote.ip())
            })
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
    /// The quota governor enforces: `per_second` cells a second, `burst` at once.
    fn quota(self) -> Quota {
        let nz = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        Quota::per_second(nz(self.per_second)).allow_burst(nz(self.burst))
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

/// governor's keyed state (each caller's theoretical arrival time), bounded: governor's own
/// stores grow with every key until `retain_recent` is called, and a scan from many addresses
/// must not grow this one. Sharded behind short-held mutexes, so a charge locks one shard.
#[derive(Debug)]
pub(crate) struct BoundedStore {
    hasher: RandomState,
    shard_capacity: usize,
    shards: Vec<Mutex<HashMap<BucketOwner, Nanos>>>,
}

impl BoundedStore {
    fn new(shard_capacity: usize) -> Self {
        Self {
            hasher: RandomState::new(),
            shard_capacity: shard_capacity.max(2),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }
}

impl StateStore for BoundedStore {
    type Key = BucketOwner;

    fn measure_and_replace<T, F, E>(&self, key: &BucketOwner, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let shard = &self.shards[self.hasher.hash_one(key) as usize % SHARDS];
        let mut map = locks::lock(shard);
        if let Some(tat) = map.get_mut(key) {
            let (outcome, next) = f(Some(*tat))?;
            *tat = next;
            return Ok(outcome);
        }
        // A refused charge writes nothing, not even the new caller's entry.
        let (outcome, next) = f(None)?;
        if map.len() >= self.shard_capacity {
            sweep(&mut map, self.shard_capacity / 2);
        }
        map.insert(key.clone(), next);
        Ok(outcome)
    }
}

/// What governor's `retain_recent` and `len` need; the sweep above bounds the store without it.
impl ShrinkableKeyedStateStore<BucketOwner> for BoundedStore {
    fn retain_recent(&self, drop_below: Nanos) {
        for shard in &self.shards {
            let mut map = locks::lock(shard);
            map.retain(|_, tat| *tat >= drop_below);
        }
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|s| locks::lock(s).len()).sum()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Keeps the `keep` callers with the latest theoretical arrival times. The others are the
/// nearest to a full bucket, and a forgotten caller starts full: those already full lose
/// nothing. Sweeps are rare: each leaves half the shard free.
fn sweep(map: &mut HashMap<BucketOwner, Nanos>, keep: usize) {
    if map.len() <= keep {
        return;
    }
    let excess = map.len() - keep;
    let mut tats: Vec<Nanos> = map.values().copied().collect();
    let (_, cut, _) = tats.select_nth_unstable(excess - 1);
    let cut = *cut;
    // Fewer than `excess` are earlier; the rest are dropped from those at the cut.
    let mut ties = excess - tats.iter().filter(|&&t| t < cut).count();
    map.retain(|_, t| {
        let tie = *t == cut && ties > 0;
        ties -= usize::from(tie);
        *t > cut || (*t == cut && !tie)
    });
}

/// One class's limit: governor's keyed GCRA over its own bounded store.
struct ClassLimit<C: Clock> {
    rate: Rate,
    gcra: RateLimiter<BucketOwner, BoundedStore, C, NoOpMiddleware<C::Instant>>,
}

/// The limits of all classes.
pub(crate) struct Limiter<C: Clock = MonotonicClock> {
    identified: Option<ClassLimit<C>>,
    public: Option<ClassLimit<C>>,
    challenge: Option<ClassLimit<C>>,
    clock: C,
}

impl<C: Clock> std::fmt::Debug for Limiter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rate = |c: &Option<ClassLimit<C>>| c.as_ref().map(|c| c.rate);
        f.debug_struct("Limiter")
            .field("identified", &rate(&self.identified))
            .field("public", &rate(&self.public))
            .field("challenge", &rate(&self.challenge))
            .finish_non_exhaustive()
    }
}

impl Limiter {
    pub(crate) fn new(
        identified: Option<Rate>,
        public: Option<Rate>,
        challenge: Option<Rate>,
        shard_capacity: usize,
    ) -> Self {
        Self::with_clock(
            identified,
            public,
            challenge,
            shard_capacity,
            MonotonicClock,
        )
    }
}

impl<C: Clock + Clone> Limiter<C> {
    pub(crate) fn with_clock(
        identified: Option<Rate>,
        public: Option<Rate>,
        challenge: Option<Rate>,
        shard_capacity: usize,
        clock: C,
    ) -> Self {
        let limit = |rate: Option<Rate>| {
            rate.map(|rate| ClassLimit {
                rate,
                gcra: RateLimiter::new(
                    rate.quota(),
                    BoundedStore::new(shard_capacity),
                    clock.clone(),
                ),
            })
        };
        Self {
            identified: limit(identified),
            public: limit(public),
            challenge: limit(challenge),
            clock,
        }
    }

    fn limit(&self, class: Class) -> Option<&ClassLimit<C>> {
        match class {
            Class::Identified => self.identified.as_ref(),
            Class::Public => self.public.as_ref(),
            Class::Challenge => self.challenge.as_ref(),
        }
    }

    fn rate(&self, class: Class) -> Option<Rate> {
        self.limit(class).map(|l| l.rate)
    }

    /// Takes a token from `key`'s bucket of its own class, or says how long to wait.
    #[cfg(test)]
    fn check(&self, key: BucketOwner) -> Result<(), Duration> {
        let class = key.class();
        self.charge(class, key, 1).map_err(|r| match r {
            Refused::Wait(d) => d,
            Refused::NeverFits(_) => Duration::MAX,
        })
    }

    /// Takes `units` tokens from the bucket of `key` in `class` (all or none), or says why
    /// not.
    pub(crate) fn charge(&self, class: Class, key: BucketOwner, units: u32) -> Result<(), Refused> {
        let (Some(limit), Some(n)) = (self.limit(class), NonZeroU32::new(units)) else {
            return Ok(());
        };
        match limit.gcra.check_key_n(&key, n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(Refused::Wait(not_until.wait_time_from(self.clock.now()))),
            Err(InsufficientCapacity(_)) => Err(Refused::NeverFits(units)),
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
                let key = BucketOwner::of(&req);
                let class = if challenge {
                    Class::Challenge
                } else {
                    key.class()
                };
                let rest = charged.then(|| key.clone());
                if let Err(refused) = limiter.charge(class, key, 1) {
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
                            .charge(class, key.clone(), units)
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
    use governor::clock::FakeRelativeClock;

    fn rate(per_second: u32, burst: u32) -> Option<Rate> {
        Rate::new(per_second, burst)
    }

    fn ip(last: u8) -> BucketOwner {
        BucketOwner::Address(IpAddr::from([10, 0, 0, last]))
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn limiter(
        identified: Option<Rate>,
        public: Option<Rate>,
        challenge: Option<Rate>,
        cap: usize,
    ) -> (Limiter<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        // A clock at 0 is the limiter's start: begin a little later, as a real one does.
        clock.advance(Duration::from_secs(1));
        let l = Limiter::with_clock(identified, public, challenge, cap, clock.clone());
        (l, clock)
    }

    /// Within a microsecond of `millis`.
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
        let (l, clock) = limiter(None, rate(10, 5), None, 64);
        for _ in 0..5 {
            assert_eq!(l.check(ip(1)), Ok(()));
        }
        // 10 per second: a token every 100 ms.
        waits(l.check(ip(1)), 100);
        clock.advance(ms(40));
        waits(l.check(ip(1)), 60);
    }

    #[test]
    fn refills_continuously_up_to_the_burst() {
        let (l, clock) = limiter(None, rate(10, 5), None, 64);
        for _ in 0..5 {
            l.check(ip(1)).expect("burst");
        }
        // 250 ms: two and a half tokens.
        clock.advance(ms(250));
        assert_eq!(l.check(ip(1)), Ok(()));
        assert_eq!(l.check(ip(1)), Ok(()));
        waits(l.check(ip(1)), 50);
        // A long pause refills to the burst, not beyond.
        clock.advance(Duration::from_secs(60));
        for _ in 0..5 {
            assert_eq!(l.check(ip(1)), Ok(()));
        }
        assert!(l.check(ip(1)).is_err());
    }

    #[test]
    fn callers_and_classes_are_separate() {
        let (l, _clock) = limiter(rate(100, 3), rate(1, 1), None, 64);
        assert_eq!(l.check(ip(1)), Ok(()));
        assert!(l.check(ip(1)).is_err());
        assert_eq!(l.check(ip(2)), Ok(()));
        assert_eq!(l.check(BucketOwner::Unknown), Ok(()));
        assert!(l.check(BucketOwner::Unknown).is_err());
        let a = || BucketOwner::Identity("spiffe://cq.talent/counter/a".into());
        let b = || BucketOwner::Identity("spiffe://cq.talent/counter/b".into());
        for _ in 0..3 {
            assert_eq!(l.check(a()), Ok(()));
        }
        waits(l.check(a()), 10);
        assert_eq!(l.check(b()), Ok(()));
    }

    #[test]
    fn an_unlimited_class_is_not_counted() {
        let (l, _clock) = limiter(None, rate(1, 1), None, 64);
        let id = || BucketOwner::Identity("spiffe://cq.talent/partner/mianyang".into());
        for _ in 0..1000 {
            assert_eq!(l.check(id()), Ok(()));
        }
        assert!(l.identified.is_none());
        assert_eq!(l.public.as_ref().map(|p| p.gcra_len()), Some(0));
        assert_eq!(Rate::new(0, 10), None);
        assert_eq!(Rate::new(10, 0), None);
    }

    impl<C: Clock> ClassLimit<C> {
        fn gcra_len(&self) -> usize {
            self.gcra.len()
        }
    }

    #[test]
    fn a_refused_newcomer_leaves_nothing_behind() {
        let store = BoundedStore::new(64);
        let refused: Result<(), ()> = store.measure_and_replace(&ip(1), |_| Err(()));
        assert!(refused.is_err());
        assert_eq!(store.len(), 0);
        let taken: Result<(), ()> = store.measure_and_replace(&ip(1), |_| Ok(((), Nanos::from(5))));
        assert!(taken.is_ok());
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn the_store_stays_bounded_under_a_scan() {
        let cap = 8;
        let (l, _clock) = limiter(None, rate(10, 2), None, cap);
        // A scan from many addresses, all at once: no shard grows past its capacity.
        for i in 0..=255u8 {
            for j in 0..4u8 {
                let key = BucketOwner::Address(IpAddr::from([10, 1, i, j]));
                assert_eq!(l.check(key), Ok(()));
            }
        }
        let len = l.public.as_ref().map_or(0, |p| p.gcra_len());
        assert!(len <= SHARDS * cap, "{len}");
        assert!(len > 0);
    }

    #[test]
    fn a_sweep_keeps_the_half_furthest_from_full() {
        let mut map = HashMap::new();
        for i in 0..10u8 {
            // Three callers share each arrival time, so the cut falls among ties.
            map.insert(ip(i), Nanos::from(u64::from(i / 3)));
        }
        sweep(&mut map, 5);
        assert_eq!(map.len(), 5);
        // Those still in deficit longest (latest arrival times) are kept.
        assert!(map.values().all(|t| *t >= Nanos::from(1)), "{map:?}");
        for i in 6..10 {
            assert!(map.contains_key(&ip(i)), "{i}");
        }
    }

    #[test]
    fn addresses_are_keyed_by_host() {
        let v6 = |s: &str| BucketOwner::address(s.parse().expect("ip"));
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
        let (l, _clock) = limiter(None, rate(10, 300), None, 64);
        assert_eq!(l.charge(Class::Public, ip(1), 256), Ok(()));
        // 44 left: a second call of 256 is refused and takes nothing.
        let Err(Refused::Wait(wait)) = l.charge(Class::Public, ip(1), 256) else {
            panic!("refused with a wait");
        };
        assert!(wait.abs_diff(Duration::from_millis(21_200)) < Duration::from_micros(1));
        assert_eq!(l.charge(Class::Public, ip(1), 44), Ok(()));
        assert_eq!(
            l.charge(Class::Public, ip(2), 301),
            Err(Refused::NeverFits(301))
        );
        assert_eq!(l.charge(Class::Public, ip(2), 300), Ok(()));
    }

    #[test]
    fn challenges_have_buckets_of_their_own() {
        let (l, _clock) = limiter(None, rate(1, 2), rate(1, 3), 64);
        for _ in 0..3 {
            assert_eq!(l.charge(Class::Challenge, ip(1), 1), Ok(()));
        }
        assert!(l.charge(Class::Challenge, ip(1), 1).is_err());
        // The same address's ordinary bucket is full.
        assert_eq!(l.charge(Class::Public, ip(1), 2), Ok(()));
    }
}
