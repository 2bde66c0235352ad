//! The limits of all classes, the charge, and the refusal a caller is told.

use super::bucket::{BucketOwner, Class, Rate};
use super::store::BoundedStore;
use governor::clock::{Clock, MonotonicClock};
use governor::middleware::NoOpMiddleware;
use governor::{InsufficientCapacity, RateLimiter};
use std::num::NonZeroU32;
use std::time::Duration;
use tonic::Status;

/// Why a charge was refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Refused {
    /// The tokens come back after this long.
    Wait(Duration),
    /// More units than the burst: no wait makes the call fit.
    NeverFits(u32),
}

/// One class's limit: governor's keyed GCRA over its own bounded store.
pub(super) struct ClassLimit<C: Clock> {
    rate: Rate,
    pub(super) gcra: RateLimiter<BucketOwner, BoundedStore, C, NoOpMiddleware<C::Instant>>,
}

/// The limits of all classes.
pub(crate) struct Limiter<C: Clock = MonotonicClock> {
    pub(super) identified: Option<ClassLimit<C>>,
    pub(super) public: Option<ClassLimit<C>>,
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
    pub(super) fn check(&self, key: BucketOwner) -> Result<(), Duration> {
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
    pub(super) fn refusal(&self, class: Class, units: u32, refused: Refused) -> Status {
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
