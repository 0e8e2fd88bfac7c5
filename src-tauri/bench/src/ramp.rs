//! The ceiling search shared by the Call Interactive and ingest benchmarks: one step at a
//! fixed rate (tried once more when it fails), and the ceiling read from the steps.

use std::time::Duration;

use crate::ci::Run;
use crate::loadgen::{self, Check, LoadSpec, MakeRequest};
use crate::procmem::OthersCpu;
use crate::servers::Server;

/// One ceiling-search step at `rate` against `server`. A step that fails is tried once more
/// (this machine is shared and noisy): it fails only when both attempts fail, and the better
/// attempt is kept. `request` gives each attempt its requests (`None`: the step cannot run).
/// `None` when no attempt ran.
pub(crate) fn ramp_step(
    server: &Server,
    spec: &LoadSpec,
    rate: f64,
    p99_limit_ms: f64,
    check: &Check,
    mut request: impl FnMut() -> Option<MakeRequest>,
) -> Option<Run> {
    let mut best: Option<Run> = None;
    for _attempt in 0..2 {
        let Some(make) = request() else { break };
        let others = OthersCpu::start();
        let result = loadgen::run(server.addr, make, check.clone(), spec);
        let others_cpu = others.percent_of_a_core();
        server.wait_idle(Duration::from_secs(60));
        let Ok(r) = result else { break };
        let run = Run::of(&r, others_cpu);
        if run.holds(rate, p99_limit_ms) {
            return Some(run);
        }
        if best.as_ref().is_none_or(|b| better(&run, b)) {
            best = Some(run);
        }
    }
    best
}

/// Whether attempt `a` of a ramp step went better than `b`: fewer errors, then a lower p99.
pub(crate) fn better(a: &Run, b: &Run) -> bool {
    (a.errors, a.summary.p99) < (b.errors, b.summary.p99)
}

/// The highest rate whose step held, from ascending `steps` (stops at the first failure).
pub fn ceiling(steps: &[(f64, bool)]) -> Option<f64> {
    let mut best = None;
    for &(rate, ok) in steps {
        if !ok {
            break;
        }
        best = Some(rate);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_is_the_last_step_before_the_first_failure() {
        assert_eq!(ceiling(&[]), None);
        assert_eq!(ceiling(&[(1000.0, false)]), None);
        assert_eq!(
            ceiling(&[
                (1000.0, true),
                (2000.0, true),
                (4000.0, false),
                (8000.0, true)
            ]),
            Some(2000.0)
        );
        assert_eq!(ceiling(&[(1000.0, true), (2000.0, true)]), Some(2000.0));
    }
}
