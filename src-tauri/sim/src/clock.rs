//! Simulated time. A speed factor makes tests fast (e.g. 60× turns the 3-minute park return into
//! 3 real seconds) while the demo runs at 1×.

use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Clock {
    speed: f64,
    started: Instant,
    epoch_ms: i64,
}

impl Clock {
    /// `speed` > 0; values ≤ 0 or non-finite fall back to 1.
    pub fn new(speed: f64) -> Clock {
        let speed = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        };
        Clock {
            speed,
            started: Instant::now(),
            epoch_ms: chrono::Utc::now().timestamp_millis(),
        }
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Simulated wall-clock time in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        let real = self.started.elapsed().as_secs_f64() * 1000.0;
        self.epoch_ms + (real * self.speed) as i64
    }

    /// Real duration corresponding to a simulated one.
    pub fn real(&self, simulated: Duration) -> Duration {
        simulated.div_f64(self.speed)
    }

    /// Sleep for a simulated duration.
    pub async fn sleep(&self, simulated: Duration) {
        tokio::time::sleep(self.real(simulated)).await
    }
}
