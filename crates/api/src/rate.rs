//! Fair use: a rate per operation (a token bucket for each subject, and for
//! each peer address that sends no valid token: governor's keyed GCRA
//! limiter, refilled at `KPSS_RATE_LIMIT_PER_SECOND`), and a cap on the
//! operations one subject runs at once (`KPSS_MAX_CONCURRENT_PER_SUBJECT`).

use crate::error::ApiError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Keys kept before the buckets that have refilled are dropped.
const FORGET_FULL_BUCKETS_ABOVE: usize = 10_000;

/// Whose bucket an operation takes its token from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// A token's `sub`.
    Subject(String),
    /// A caller without a valid token, by the address it connects from.
    Peer(IpAddr),
}

pub struct RateLimit(Option<DefaultKeyedRateLimiter<Bucket>>);

impl RateLimit {
    /// `per_second` 0 turns the limit off; a `burst` of 0 means `per_second`.
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self(NonZeroU32::new(per_second).map(|rate| {
            let burst = NonZeroU32::new(burst).unwrap_or(rate);
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        }))
    }

    /// Takes one token of the bucket, or refuses with the time until one is there.
    pub fn check(&self, bucket: &Bucket) -> Result<(), ApiError> {
        let Some(limiter) = &self.0 else {
            return Ok(());
        };
        if limiter.len() > FORGET_FULL_BUCKETS_ABOVE {
            limiter.retain_recent();
        }
        limiter.check_key(bucket).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::RateLimited {
                retry_after_secs: retry_after(wait),
            }
        })
    }
}

/// Whole seconds, at least 1: what `Retry-After` says.
fn retry_after(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

/// At most `per_subject` operations of one subject run at once; as many
/// more wait for a place, up to a time; beyond that they are refused. One
/// caller's parallel heavy queries then cannot hold every pooled connection.
pub struct FairShare {
    per_subject: usize,
    subjects: moka::sync::Cache<String, Arc<Places>>,
}

struct Places {
    running: Arc<Semaphore>,
    waiting: AtomicUsize,
}

/// A subject's place among its running operations, given back on drop.
pub type Place = Option<OwnedSemaphorePermit>;

impl FairShare {
    /// `per_subject` 0 turns the cap off.
    pub fn new(per_subject: usize) -> Self {
        Self {
            per_subject,
            // An idle subject's places are forgotten; none is held by then,
            // since an operation runs for at most the request time.
            subjects: moka::sync::Cache::builder()
                .time_to_idle(Duration::from_secs(600))
                .build(),
        }
    }

    /// A place for one operation of `subject`, waiting at most `wait` when
    /// all are taken and the queue has room.
    pub async fn enter(&self, subject: &str, wait: Duration) -> Result<Place, ApiError> {
        if self.per_subject == 0 {
            return Ok(None);
        }
        let places = self.subjects.get_with_by_ref(subject, || {
            Arc::new(Places {
                running: Arc::new(Semaphore::new(self.per_subject)),
                waiting: AtomicUsize::new(0),
            })
        });
        if let Ok(place) = places.running.clone().try_acquire_owned() {
            return Ok(Some(place));
        }
        let busy = || ApiError::RateLimited {
            retry_after_secs: 1,
        };
        if places.waiting.fetch_add(1, Ordering::AcqRel) >= self.per_subject {
            places.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(busy());
        }
        let place = tokio::time::timeout(wait, places.running.clone().acquire_owned()).await;
        places.waiting.fetch_sub(1, Ordering::AcqRel);
        match place {
            Ok(Ok(place)) => Ok(Some(place)),
            _ => Err(busy()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_subject_beyond_its_cap_waits_in_a_bounded_queue() {
        let fair = FairShare::new(1);
        let wait = Duration::from_secs(5);
        let first = fair.enter("a", wait).await.expect("a place");
        // Another subject has places of its own.
        let other = fair.enter("b", Duration::ZERO).await.expect("b's place");
        // One may wait; it gets the place when the first leaves.
        let queued = tokio::spawn({
            let fair = Arc::new(fair);
            let waiting = fair.clone();
            let entered = tokio::spawn(async move { waiting.enter("a", wait).await.is_ok() });
            async move {
                while fair
                    .subjects
                    .get("a")
                    .map(|p| p.waiting.load(Ordering::Acquire))
                    != Some(1)
                {
                    tokio::task::yield_now().await;
                }
                // The queue is full: refused at once.
                let refused = fair.enter("a", wait).await;
                assert!(matches!(refused, Err(ApiError::RateLimited { .. })));
                drop(first);
                entered.await.expect("joined")
            }
        });
        assert!(queued.await.expect("joined"), "the waiter got the place");
        drop(other);
    }

    #[tokio::test]
    async fn a_wait_longer_than_allowed_is_refused() {
        let fair = FairShare::new(1);
        let _held = fair.enter("a", Duration::ZERO).await.expect("a place");
        let refused = fair.enter("a", Duration::from_millis(20)).await;
        assert!(matches!(
            refused,
            Err(ApiError::RateLimited {
                retry_after_secs: 1
            })
        ));
        assert!(FairShare::new(0).enter("a", Duration::ZERO).await.is_ok());
    }
}
