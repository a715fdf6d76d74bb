//! Time as epoch seconds, behind a trait so tests can move it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, the unit of the table's `expires_at`.
pub type EpochSeconds = i64;

/// Tells the current time.
pub trait Clock: Send + Sync {
    fn now(&self) -> EpochSeconds;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> EpochSeconds {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(elapsed) => elapsed.as_secs() as EpochSeconds,
            // A clock set before 1970 is broken; treat it as the epoch.
            Err(_) => 0,
        }
    }
}

/// A clock that only moves when told to; shared between a test and the code
/// under test through `Arc` or a reference.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(now: EpochSeconds) -> Self {
        Self(AtomicI64::new(now))
    }

    /// Starts at the system time, for tests against DynamoDB Local, which
    /// deletes items whose `expires_at` has passed by its own wall clock.
    pub fn at_system_time() -> Self {
        Self::new(SystemClock.now())
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }

    pub fn set(&self, now: EpochSeconds) {
        self.0.store(now, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> EpochSeconds {
        self.0.load(Ordering::SeqCst)
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> EpochSeconds {
        (**self).now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let clock = ManualClock::new(1_000);
        assert_eq!(clock.now(), 1_000);
        clock.advance(300);
        assert_eq!(clock.now(), 1_300);
    }
}
