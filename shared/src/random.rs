//! Randomness behind every secret and every captcha, behind a trait so tests
//! can replay it.

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use std::sync::Mutex;

/// A source of cryptographically secure random numbers.
pub trait Random: Send + Sync {
    /// Fills `dest` with random bytes.
    fn fill(&self, dest: &mut [u8]);

    /// A uniformly distributed integer in `0..bound`; `bound` must be positive.
    fn below(&self, bound: u32) -> u32;

    /// A uniformly distributed float in `low..high`.
    fn between(&self, low: f32, high: f32) -> f32 {
        const STEPS: u32 = 1 << 24;
        low + (high - low) * (self.below(STEPS) as f32 / STEPS as f32)
    }
}

/// The operating system's entropy through rand's thread-local CSPRNG
/// (ChaCha12, reseeded from the OS). The production source.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, dest: &mut [u8]) {
        rand::rng().fill_bytes(dest);
    }

    fn below(&self, bound: u32) -> u32 {
        rand::rng().random_range(0..bound)
    }
}

/// A reproducible generator for tests and benchmarks: the same seed gives the
/// same captchas, codes and tokens. Never use it to make real secrets.
#[derive(Debug)]
pub struct SeededRandom(Mutex<StdRng>);

impl SeededRandom {
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(StdRng::seed_from_u64(seed)))
    }

    fn rng(&self) -> std::sync::MutexGuard<'_, StdRng> {
        // A panic while holding this lock cannot leave the generator invalid.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Random for SeededRandom {
    fn fill(&self, dest: &mut [u8]) {
        self.rng().fill_bytes(dest);
    }

    fn below(&self, bound: u32) -> u32 {
        self.rng().random_range(0..bound)
    }
}

impl<R: Random + ?Sized> Random for std::sync::Arc<R> {
    fn fill(&self, dest: &mut [u8]) {
        (**self).fill(dest);
    }

    fn below(&self, bound: u32) -> u32 {
        (**self).below(bound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_numbers() {
        let (a, b) = (SeededRandom::new(7), SeededRandom::new(7));
        let draws_a: Vec<u32> = (0..8).map(|_| a.below(1000)).collect();
        let draws_b: Vec<u32> = (0..8).map(|_| b.below(1000)).collect();
        assert_eq!(draws_a, draws_b);
    }

    /// Always draws `bound - 1`, or 0: the ends of `below`'s range.
    struct Extreme {
        highest: bool,
    }

    impl Random for Extreme {
        fn fill(&self, dest: &mut [u8]) {
            dest.fill(0);
        }

        fn below(&self, bound: u32) -> u32 {
            if self.highest { bound - 1 } else { 0 }
        }
    }

    #[test]
    fn between_starts_at_its_low_end_and_stays_below_its_high_end() {
        assert_eq!(Extreme { highest: false }.between(-2.0, 3.0), -2.0);
        let top = Extreme { highest: true }.between(-2.0, 3.0);
        assert!((2.999..3.0).contains(&top), "{top}");
    }
}
