//! Load mode produces the requested number of calls at the requested rate and answer ratio.

use std::time::Duration;

use cti_sim::scenario::{run_load, LoadProfile, ScenarioRunner};
use cti_sim::world::{CallState, ExtensionKind};
use cti_sim::{Sim, SimConfig};

#[tokio::test]
async fn load_mode_runs_in_simulated_time_and_makes_the_requested_calls() {
    // 60×: 4 s of calls plus up to 23 s per call take well under a second.
    let sim = Sim::start(SimConfig {
        speed: 60.0,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let profile = LoadProfile {
        agents: 50,
        calls_per_sec: 5.0,
        duration: Duration::from_secs(4),
        answer_ratio: 0.7,
    };
    let report = tokio::time::timeout(Duration::from_secs(20), run_load(sim.ctx.clone(), profile))
        .await
        .expect("load run ends")
        .expect("task");
    assert_eq!(report.calls_started, 20, "5 calls/s for 4 s");
    let calls = sim.world().all_calls();
    assert_eq!(calls.len(), 20);
    assert!(
        calls.iter().all(|c| c.state == CallState::Ended),
        "every call ended"
    );
    assert_eq!(report.answered + report.missed + report.busy, 20);
    assert!(
        (9..=19).contains(&report.answered),
        "about 70 % answered: {}",
        report.answered
    );
    let agents = sim.world().agents();
    assert!(agents.iter().filter(|a| a.number.starts_with("10")).count() >= 50);
    assert!(
        calls
            .iter()
            .all(|c| c.legs.iter().all(|l| l.target.len() == 4)),
        "load agents are rung"
    );
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[tokio::test]
async fn a_big_load_is_exactly_rate_times_duration() {
    let sim = Sim::start(SimConfig::default())
        .await
        .expect("simulator starts");
    let profile = LoadProfile {
        agents: 200,
        calls_per_sec: 25.0,
        duration: Duration::from_secs(20),
        answer_ratio: 0.9,
    };
    let mut runner = ScenarioRunner::new(sim.ctx.clone(), profile.scenario());
    while runner.step().is_some() {}
    let rep = runner.report();
    assert_eq!(rep.calls_started, 500);
    assert_eq!(sim.world().all_calls().len(), 500);
    let load_agents = sim
        .world()
        .extensions()
        .into_iter()
        .filter(|e| e.kind == ExtensionKind::Agent)
        .count();
    assert!(load_agents >= 200);
    let ratio = rep.answered as f64 / 500.0;
    assert!((0.8..=0.97).contains(&ratio), "answer ratio {ratio}");
}
