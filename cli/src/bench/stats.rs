//! What a list of spawn+wait times is summarised as: median, mean, p90, p99 and the count.
//!
//! Percentiles are nearest-rank (the smallest sample with at least p% of the samples at or below
//! it), so every figure printed is a time that was really measured.

use std::time::Duration;

/// The summary of one cell's samples, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub median_us: f64,
    pub mean_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub runs: usize,
}

impl Summary {
    /// Summarises `samples` (sorted in place). NaN figures for an empty list.
    pub fn of(samples: &mut [Duration]) -> Summary {
        samples.sort_unstable();
        let n = samples.len();
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        if n == 0 {
            return Summary {
                median_us: f64::NAN,
                mean_us: f64::NAN,
                p90_us: f64::NAN,
                p99_us: f64::NAN,
                runs: 0,
            };
        }
        let median = if n % 2 == 1 {
            us(samples[n / 2])
        } else {
            (us(samples[n / 2 - 1]) + us(samples[n / 2])) / 2.0
        };
        let total: f64 = samples.iter().map(|&d| us(d)).sum();
        Summary {
            median_us: median,
            mean_us: total / n as f64,
            p90_us: us(samples[nearest_rank(n, 90)]),
            p99_us: us(samples[nearest_rank(n, 99)]),
            runs: n,
        }
    }
}

/// The index of the p-th percentile among n sorted samples (n > 0), nearest-rank.
fn nearest_rank(n: usize, p: usize) -> usize {
    (n * p).div_ceil(100).clamp(1, n) - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&x| Duration::from_micros(x)).collect()
    }

    #[test]
    fn one_to_a_hundred() {
        let mut s: Vec<Duration> = us(&(1..=100).rev().collect::<Vec<_>>());
        let sum = Summary::of(&mut s);
        assert_eq!(sum.median_us, 50.5);
        assert_eq!(sum.mean_us, 50.5);
        assert_eq!(sum.p90_us, 90.0);
        assert_eq!(sum.p99_us, 99.0);
        assert_eq!(sum.runs, 100);
    }

    #[test]
    fn a_tail_moves_mean_and_p99_not_the_median() {
        let mut v = vec![10; 98];
        v.extend([1000, 1000]);
        let sum = Summary::of(&mut us(&v));
        assert_eq!(sum.median_us, 10.0);
        assert_eq!(sum.p90_us, 10.0);
        assert_eq!(sum.p99_us, 1000.0);
        assert!((sum.mean_us - 29.8).abs() < 1e-9);
    }

    #[test]
    fn one_sample_is_every_figure() {
        let sum = Summary::of(&mut us(&[7]));
        assert_eq!(
            (sum.median_us, sum.mean_us, sum.p90_us, sum.p99_us),
            (7.0, 7.0, 7.0, 7.0)
        );
        assert!(Summary::of(&mut []).median_us.is_nan());
    }
}
