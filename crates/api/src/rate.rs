//! Per-`sub` rate limit: a token bucket for each subject (governor's
//! keyed GCRA limiter), refilled at `KPSS_RATE_LIMIT_PER_SECOND`.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::time::Duration;

/// Subjects kept before the buckets that have refilled are dropped.
const FORGET_FULL_BUCKETS_ABOVE: usize = 10_000;

pub struct RateLimit(Option<DefaultKeyedRateLimiter<String>>);

impl RateLimit {
    /// `per_second` 0 turns the limit off; a `burst` of 0 means `per_second`.
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self(NonZeroU32::new(per_second).map(|rate| {
            let burst = NonZeroU32::new(burst).unwrap_or(rate);
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        }))
    }

    /// Takes one token of `subject`'s bucket, or says how long until one is there.
    pub fn check(&self, subject: &str) -> Result<(), Duration> {
        let Some(limiter) = &self.0 else {
            return Ok(());
        };
        if limiter.len() > FORGET_FULL_BUCKETS_ABOVE {
            limiter.retain_recent();
        }
        limiter
            .check_key(&subject.to_owned())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}
