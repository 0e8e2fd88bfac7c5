//! Latency histograms (HDR, microsecond resolution), percentile summaries and medians over
//! rounds.

use hdrhistogram::Histogram;

/// Largest latency a histogram keeps exactly: one minute, in microseconds. Larger values are
/// recorded as this value (they are failures anyway).
pub const MAX_US: u64 = 60_000_000;

/// A latency histogram in microseconds.
#[derive(Clone)]
pub struct Latencies {
    hist: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies::new()
    }
}

impl std::fmt::Debug for Latencies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Latencies({:?})", self.summary())
    }
}

impl Latencies {
    pub fn new() -> Latencies {
        // 1 µs … 60 s at 3 significant digits always fits; the fallback keeps the type total.
        let hist = Histogram::new_with_bounds(1, MAX_US, 3)
            .or_else(|_| Histogram::new(3))
            .unwrap_or_else(|_| unreachable_histogram());
        Latencies { hist }
    }

    /// Record one latency, clamped into `1..=MAX_US` µs.
    pub fn record_us(&mut self, us: u64) {
        let _ = self.hist.record(us.clamp(1, MAX_US));
    }

    pub fn record(&mut self, d: std::time::Duration) {
        self.record_us(u64::try_from(d.as_micros()).unwrap_or(MAX_US));
    }

    pub fn merge(&mut self, other: &Latencies) {
        let _ = self.hist.add(&other.hist);
    }

    pub fn len(&self) -> u64 {
        self.hist.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hist.is_empty()
    }

    /// The value at quantile `q` (0–1), in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.hist.is_empty() {
            return 0.0;
        }
        self.hist.value_at_quantile(q.clamp(0.0, 1.0)) as f64 / 1000.0
    }

    pub fn summary(&self) -> Summary {
        Summary {
            count: self.hist.len(),
            p50: self.quantile_ms(0.50),
            p95: self.quantile_ms(0.95),
            p99: self.quantile_ms(0.99),
            p999: self.quantile_ms(0.999),
            max: if self.hist.is_empty() {
                0.0
            } else {
                self.hist.max() as f64 / 1000.0
            },
        }
    }
}

/// `Histogram::new(3)` cannot fail (3 significant digits is in range); this only satisfies the
/// type checker without an `unwrap`.
fn unreachable_histogram() -> Histogram<u64> {
    match Histogram::new_with_max(MAX_US, 2) {
        Ok(h) => h,
        Err(_) => match Histogram::new(2) {
            Ok(h) => h,
            Err(e) => panic!("hdrhistogram rejects 2 significant digits: {e}"),
        },
    }
}

/// Percentiles of one run, milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Summary {
    /// The element-wise median of several rounds' summaries (counts are summed).
    pub fn median_of(rounds: &[Summary]) -> Summary {
        let pick = |f: fn(&Summary) -> f64| median(&rounds.iter().map(f).collect::<Vec<_>>());
        Summary {
            count: rounds.iter().map(|s| s.count).sum(),
            p50: pick(|s| s.p50).unwrap_or(0.0),
            p95: pick(|s| s.p95).unwrap_or(0.0),
            p99: pick(|s| s.p99).unwrap_or(0.0),
            p999: pick(|s| s.p999).unwrap_or(0.0),
            max: pick(|s| s.max).unwrap_or(0.0),
        }
    }
}

/// Median of `values` (mean of the middle two for an even count); `None` when empty. NaNs are
/// ignored.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Nearest-rank percentile of a small sample (`q` in 0–1); `None` when empty.
pub fn percentile(values: &[f64], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = (q.clamp(0.0, 1.0) * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_uniform_run() {
        let mut l = Latencies::new();
        for us in 1..=10_000u64 {
            l.record_us(us);
        }
        let s = l.summary();
        assert_eq!(s.count, 10_000);
        // 3 significant digits: within 0.1 %.
        assert!((s.p50 - 5.0).abs() < 0.01, "{s:?}");
        assert!((s.p99 - 9.9).abs() < 0.01, "{s:?}");
        assert!((s.p999 - 9.99).abs() < 0.01, "{s:?}");
        assert!((s.max - 10.0).abs() < 0.01, "{s:?}");
    }

    #[test]
    fn tail_outliers_show_in_p999_not_p50() {
        let mut l = Latencies::new();
        for _ in 0..9_990 {
            l.record_us(200);
        }
        for _ in 0..10 {
            l.record_us(50_000);
        }
        let s = l.summary();
        assert!((s.p50 - 0.2).abs() < 0.001);
        assert!((s.p99 - 0.2).abs() < 0.001);
        assert!((s.p999 - 0.2).abs() < 0.001);
        assert!((s.max - 50.0).abs() < 0.1);
        let mut more = Latencies::new();
        for _ in 0..20 {
            more.record_us(50_000);
        }
        l.merge(&more);
        assert_eq!(l.len(), 10_020);
        assert!(l.summary().p999 > 49.0);
    }

    #[test]
    fn values_are_clamped_and_empty_is_zero() {
        let mut l = Latencies::new();
        assert!(l.is_empty());
        assert_eq!(l.summary(), Summary::default());
        l.record_us(0);
        l.record_us(u64::MAX);
        assert_eq!(l.len(), 2);
        assert!(l.summary().max >= 59_000.0);
        l.record(std::time::Duration::from_millis(3));
        assert_eq!(l.len(), 3);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[f64::NAN, 1.0]), Some(1.0));
        let rounds = [
            Summary {
                count: 10,
                p50: 1.0,
                p95: 2.0,
                p99: 9.0,
                p999: 10.0,
                max: 12.0,
            },
            Summary {
                count: 10,
                p50: 2.0,
                p95: 3.0,
                p99: 3.0,
                p999: 4.0,
                max: 5.0,
            },
            Summary {
                count: 10,
                p50: 3.0,
                p95: 4.0,
                p99: 4.0,
                p999: 5.0,
                max: 6.0,
            },
        ];
        let m = Summary::median_of(&rounds);
        assert_eq!(m.count, 30);
        assert_eq!(m.p50, 2.0);
        assert_eq!(m.p99, 4.0);
        assert_eq!(m.max, 6.0);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(10.0));
        assert_eq!(percentile(&v, 0.95), Some(19.0));
        assert_eq!(percentile(&v, 1.0), Some(20.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
