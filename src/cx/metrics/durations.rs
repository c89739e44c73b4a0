//! Summaries of durations: count, mean and nearest-rank percentiles.

use serde::Serialize;

/// Count, mean, nearest-rank median and 90th percentile of durations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Durations {
    pub count: usize,
    pub mean_seconds: Option<f64>,
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
}

impl Durations {
    /// In linear time: each percentile is a selection, not a sort.
    pub fn of(mut micros: Vec<i64>) -> Durations {
        let n = micros.len();
        let mut rank = |p: usize| {
            (n > 0).then(|| {
                let r = (p * n).div_ceil(100).max(1);
                let (_, v, _) = micros.select_nth_unstable(r - 1);
                *v as f64 / 1e6
            })
        };
        let median_seconds = rank(50);
        let p90_seconds = rank(90);
        let sum: i128 = micros.iter().map(|&m| i128::from(m)).sum();
        Durations {
            count: n,
            mean_seconds: (n > 0).then(|| sum as f64 / n as f64 / 1e6),
            median_seconds,
            p90_seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let d = Durations::of(vec![4_000_000, 1_000_000, 3_000_000, 2_000_000]);
        assert_eq!(d.median_seconds, Some(2.0));
        assert_eq!(d.p90_seconds, Some(4.0));
        assert_eq!(d.mean_seconds, Some(2.5));
        assert_eq!(Durations::of(vec![]).median_seconds, None);
    }
}
