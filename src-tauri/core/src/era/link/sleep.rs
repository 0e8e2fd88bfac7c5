//! Noticing that the computer slept. On Linux and macOS the monotonic clock (tokio's `Instant`)
//! stops while the system is suspended and the wall clock does not: after a resume, timers think
//! little time passed while the platform dropped the connection and let the subscriptions lapse
//! long ago. A wall clock that moved on much further than the monotonic one between two looks
//! means a suspend (or a large clock step, for which replacing the link is harmless too).

use std::time::Duration;

use tokio::time::Instant;

/// How much unexplained wall-clock time counts as a sleep.
pub(crate) const SLEEP_GAP: Duration = Duration::from_secs(10);
/// How often the clocks are compared while nothing else happens.
pub(crate) const CHECK_EVERY: Duration = Duration::from_secs(2);

/// Compares the wall clock with the monotonic one.
#[derive(Debug, Clone)]
pub(crate) struct SleepWatch {
    mono: Instant,
    wall_ms: i64,
    wall: fn() -> i64,
}

impl SleepWatch {
    /// Starting now, reading the wall clock with `wall` (ms since the epoch).
    pub(crate) fn now(wall: fn() -> i64) -> SleepWatch {
        SleepWatch {
            mono: Instant::now(),
            wall_ms: wall(),
            wall,
        }
    }

    #[cfg(test)]
    fn at(mono: Instant, wall_ms: i64) -> SleepWatch {
        SleepWatch {
            mono,
            wall_ms,
            wall: || 0,
        }
    }

    /// When to look again if nothing else wakes the link up.
    pub(crate) fn next_check(&self) -> Instant {
        self.mono + CHECK_EVERY
    }

    /// Look at both clocks now; returns the time slept if it exceeds [`SLEEP_GAP`].
    pub(crate) fn observe(&mut self) -> Option<Duration> {
        self.observe_at(Instant::now(), (self.wall)())
    }

    /// [`Self::observe`] with given readings. A wall clock going backwards (a clock step) is
    /// not a sleep; either way the readings become the new base.
    pub(crate) fn observe_at(&mut self, mono: Instant, wall_ms: i64) -> Option<Duration> {
        let mono_ms = mono.saturating_duration_since(self.mono).as_millis();
        let wall = wall_ms.saturating_sub(self.wall_ms);
        self.mono = mono;
        self.wall_ms = wall_ms;
        let unexplained = u128::try_from(wall).ok()?.checked_sub(mono_ms)?;
        let gap = Duration::from_millis(u64::try_from(unexplained).unwrap_or(u64::MAX));
        (gap > SLEEP_GAP).then_some(gap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_moving_together_are_no_sleep() {
        let t0 = Instant::now();
        let mut w = SleepWatch::at(t0, 1_000_000);
        assert_eq!(w.observe_at(t0 + Duration::from_secs(2), 1_002_000), None);
        // A process stopped for minutes (SIGSTOP) sees both clocks move: overdue timers handle it.
        assert_eq!(w.observe_at(t0 + Duration::from_secs(122), 1_122_050), None);
        // Ordinary drift and a small clock step are ignored.
        assert_eq!(w.observe_at(t0 + Duration::from_secs(124), 1_129_000), None);
    }

    #[test]
    fn a_wall_clock_far_ahead_of_the_monotonic_one_is_a_sleep() {
        let t0 = Instant::now();
        let mut w = SleepWatch::at(t0, 5_000_000);
        // Suspended for 10 minutes: the monotonic clock advanced 1 s across it.
        assert_eq!(
            w.observe_at(t0 + Duration::from_secs(1), 5_601_000),
            Some(Duration::from_secs(600))
        );
        // The readings became the base: the same sleep is reported once.
        assert_eq!(w.observe_at(t0 + Duration::from_secs(3), 5_603_000), None);
    }

    #[test]
    fn a_wall_clock_stepping_back_is_no_sleep() {
        let t0 = Instant::now();
        let mut w = SleepWatch::at(t0, 5_000_000);
        assert_eq!(w.observe_at(t0 + Duration::from_secs(2), 4_000_000), None);
        assert_eq!(w.observe_at(t0 + Duration::from_secs(4), 4_002_000), None);
    }
}
