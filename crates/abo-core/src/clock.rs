//! The one clock (DESIGN, rules of the house: "Nothing reads the system time
//! except the `Clock`").
//!
//! Services take an `Arc<dyn Clock>`. Production uses [`SystemClock`]; tests
//! and the per-business test-clock API use [`TestClock`], which only moves
//! forward so that every scheduled effect falls due in order.

use std::sync::{Arc, Mutex, PoisonError};

use jiff::{Timestamp, TimestampArithmetic};

use crate::error::CoreError;

/// A source of the current instant.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The real time of the machine.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still until moved forward (like Stripe's test clocks).
///
/// It uses interior mutability so one instance can be shared in an `Arc`
/// between the code under test and the test that moves it.
#[derive(Debug)]
pub struct TestClock {
    now: Mutex<Timestamp>,
}

impl TestClock {
    pub fn new(now: Timestamp) -> TestClock {
        TestClock {
            now: Mutex::new(now),
        }
    }

    /// A shareable clock, ready to hand out as `Arc<dyn Clock>`.
    pub fn shared(now: Timestamp) -> Arc<TestClock> {
        Arc::new(TestClock::new(now))
    }

    /// Moves the clock to `to`, which must not be earlier than now: effects
    /// already carried out cannot be undone by going back in time.
    pub fn set(&self, to: Timestamp) -> Result<(), CoreError> {
        let mut now = self.lock();
        if to < *now {
            return Err(CoreError::ClockBackwards {
                now: *now,
                requested: to,
            });
        }
        *now = to;
        Ok(())
    }

    /// Moves the clock forward by a `SignedDuration`, a `std::time::Duration`
    /// or a `Span` of hours or smaller units (calendar units need a time zone:
    /// compute the target with `Zoned` and call [`TestClock::set`]). Returns
    /// the new instant. A negative amount is an error.
    pub fn advance<A: Into<TimestampArithmetic>>(&self, by: A) -> Result<Timestamp, CoreError> {
        let mut now = self.lock();
        let to = now.checked_add(by)?;
        if to < *now {
            return Err(CoreError::ClockBackwards {
                now: *now,
                requested: to,
            });
        }
        *now = to;
        Ok(to)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Timestamp> {
        // A Timestamp is always valid, so a panic elsewhere while the lock
        // was held cannot have left it half-written.
        self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        *self.lock()
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::{SignedDuration, ToSpan};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn test_clock_moves_forward_only() {
        let clock = TestClock::new(ts("2026-01-10T00:00:00Z"));
        assert_eq!(clock.now(), ts("2026-01-10T00:00:00Z"));
        clock.set(ts("2026-02-10T00:00:00Z")).unwrap();
        assert_eq!(clock.now(), ts("2026-02-10T00:00:00Z"));
        // Setting the same instant is allowed (idempotent test steps).
        clock.set(ts("2026-02-10T00:00:00Z")).unwrap();
        assert!(matches!(
            clock.set(ts("2026-01-01T00:00:00Z")),
            Err(CoreError::ClockBackwards { .. })
        ));
        assert_eq!(clock.now(), ts("2026-02-10T00:00:00Z"));
    }

    #[test]
    fn advance_by_duration_or_span() {
        let clock = TestClock::new(ts("2026-01-10T00:00:00Z"));
        clock.advance(SignedDuration::from_hours(6)).unwrap();
        assert_eq!(clock.now(), ts("2026-01-10T06:00:00Z"));
        let now = clock.advance(90.minutes()).unwrap();
        assert_eq!(now, ts("2026-01-10T07:30:00Z"));
        clock.advance(std::time::Duration::from_secs(30)).unwrap();
        assert_eq!(clock.now(), ts("2026-01-10T07:30:30Z"));
        assert!(clock.advance(SignedDuration::from_secs(-1)).is_err());
        assert_eq!(clock.now(), ts("2026-01-10T07:30:30Z"));
    }

    #[test]
    fn shared_as_dyn_clock() {
        let clock = TestClock::shared(ts("2026-01-10T00:00:00Z"));
        let as_dyn: Arc<dyn Clock> = clock.clone();
        clock.advance(SignedDuration::from_hours(1)).unwrap();
        assert_eq!(as_dyn.now(), ts("2026-01-10T01:00:00Z"));
        assert_eq!(Clock::now(&as_dyn), ts("2026-01-10T01:00:00Z"));
    }

    #[test]
    fn system_clock_is_recent() {
        assert!(SystemClock.now() > ts("2026-01-01T00:00:00Z"));
    }
}
