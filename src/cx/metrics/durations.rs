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
    pub fn of(mut micros: Vec<i64>) -> Durations {
        micros.sort_unstable();
        let n = micros.len();
        let rank = |p: usize| {
            (n > 0).then(|| {
                let r = (p * n).div_ceil(100).max(1);
                micros[r - 1] as f64 / 1e6
            })
        };
        let sum: i128 = micros.iter().map(|&m| i128::from(m)).sum();
        Durations {
            count: n,
            mean_seconds: (n > 0).then(|| sum as f64 / n as f64 / 1e6),
            median_seconds: rank(50),
            p90_seconds: rank(90),
        }
    }
}
