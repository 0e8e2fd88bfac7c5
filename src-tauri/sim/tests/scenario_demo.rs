//! The built-in demo keeps a lively, varied stream of calls going, also on the clock with every
//! front-end running.

use std::time::Duration;

use cti_sim::scenario::{run, Scenario, ScenarioRunner, Span};
use cti_sim::world::{CallState, Direction};
use cti_sim::{Sim, SimConfig};

#[tokio::test]
async fn the_demo_starts_a_call_every_5_to_20_seconds_forever() {
    let sim = Sim::start(SimConfig::default())
        .await
        .expect("simulator starts");
    let mut r = ScenarioRunner::new(sim.ctx.clone(), Scenario::builtin_demo().expect("demo"));
    r.run_until(30 * 60 * 1000);
    assert!(!r.is_finished(), "the demo never runs dry");
    let calls = sim.world().all_calls();
    // A scripted opening of 7 calls, then one every 12.5 s on average from 100 s on.
    assert!(
        (100..=300).contains(&calls.len()),
        "{} calls in half an hour",
        calls.len()
    );
    assert!(calls.iter().any(|c| c.direction == Direction::Outbound));
    assert!(calls.iter().any(|c| c.direction == Direction::Internal));
    assert!(calls.iter().any(|c| c
        .from_name
        .as_deref()
        .is_some_and(|n| n.chars().any(|ch| ('а'..='я').contains(&ch)))));
    let rep = r.report();
    assert!(rep.answered > rep.missed, "{rep:?}");
    assert!(
        rep.missed + rep.cancelled + rep.busy + rep.rejected > 0,
        "{rep:?}"
    );
    assert!(rep.problems.is_empty(), "{:?}", rep.problems);
}

#[tokio::test]
async fn five_demo_minutes_on_the_clock_end_cleanly() {
    // 150×: five simulated minutes of calls (and their endings) take a few real seconds.
    let sim = Sim::start(SimConfig {
        speed: 150.0,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let mut demo = Scenario::builtin_demo().expect("demo");
    demo.until = Some(Span::secs(300));
    let report = tokio::time::timeout(Duration::from_secs(25), run(sim.ctx.clone(), demo))
        .await
        .expect("the bounded demo ends")
        .expect("task");
    assert!(report.calls_started >= 20, "{report:?}");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(
        sim.world()
            .all_calls()
            .iter()
            .all(|c| c.state == CallState::Ended),
        "no call left behind"
    );
}
