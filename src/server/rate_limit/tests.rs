use super::bucket::{BucketOwner, Class, Rate};
use super::limiter::{ClassLimit, Limiter, Refused};
use super::store::{BoundedStore, SHARDS, sweep};
use governor::clock::Clock;
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::ShrinkableKeyedStateStore;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

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
