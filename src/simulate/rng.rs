//! The simulator's random numbers: ChaCha8 (`rand_chacha`), seeded with
//! `seed_from_u64(seed)` (rand_core's documented PCG32 expansion of the
//! seed), one ChaCha stream per learner / course. Every draw below is built
//! from `next_u64` only, with fixed arithmetic, so a seed gives the same
//! population on every platform and build.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use uuid::Uuid;

pub struct SimRng(ChaCha8Rng);

impl SimRng {
    /// The generator for one independent part of the population.
    pub fn new(seed: u64, stream: u64) -> SimRng {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        SimRng(rng)
    }

    /// Uniform in [0, 1), 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform integer in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        debug_assert!(lo <= hi);
        let span = (hi - lo + 1) as u64;
        lo + (self.0.next_u64() % span) as i64
    }

    /// Exponentially distributed with the given mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    /// Approximately normal (sum of four uniforms), clamped to [lo, hi].
    pub fn normal(&mut self, mean: f64, sd: f64, lo: f64, hi: f64) -> f64 {
        let z = (self.unit() + self.unit() + self.unit() + self.unit() - 2.0) * 3f64.sqrt();
        (mean + sd * z).clamp(lo, hi)
    }

    /// An index drawn with the given weights.
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// A version 4 UUID made of this generator's bits.
    pub fn uuid(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        self.0.fill_bytes(&mut bytes);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_and_stream_give_the_same_draws() {
        let a: Vec<u64> = (0..5)
            .map({
                let mut r = SimRng::new(7, 3);
                move |_| r.range(0, 1_000_000) as u64
            })
            .collect();
        let b: Vec<u64> = (0..5)
            .map({
                let mut r = SimRng::new(7, 3);
                move |_| r.range(0, 1_000_000) as u64
            })
            .collect();
        let c: Vec<u64> = (0..5)
            .map({
                let mut r = SimRng::new(7, 4);
                move |_| r.range(0, 1_000_000) as u64
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn draws_stay_in_their_ranges() {
        let mut r = SimRng::new(1, 0);
        for _ in 0..10_000 {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            let n = r.range(3, 5);
            assert!((3..=5).contains(&n));
            let x = r.normal(0.5, 0.3, 0.0, 1.0);
            assert!((0.0..=1.0).contains(&x));
            assert!(r.exponential(2.0) >= 0.0);
        }
        assert_eq!(r.uuid().get_version_num(), 4);
    }
}
