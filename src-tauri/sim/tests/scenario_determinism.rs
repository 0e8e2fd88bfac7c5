//! The same seed gives the same sequence of World events; another seed gives another one.

use std::collections::HashMap;

use cti_sim::scenario::{Scenario, ScenarioRunner, Span};
use cti_sim::world::{WorldEvent, WorldEventKind};
use cti_sim::{Sim, SimConfig};

/// Run ten minutes of the demo and describe every World event without ids or wall times.
async fn demo_events(seed: u64) -> Vec<String> {
    let sim = Sim::start(SimConfig::default())
        .await
        .expect("simulator starts");
    let mut rx = sim.world().subscribe();
    let mut scenario = Scenario::builtin_demo().expect("demo");
    scenario.seed = Some(seed);
    scenario.until = Some(Span::secs(600));
    let mut runner = ScenarioRunner::new(sim.ctx.clone(), scenario);
    let mut events: Vec<WorldEvent> = Vec::new();
    while runner.step().is_some() {
        events.extend(std::iter::from_fn(|| rx.try_recv().ok()));
    }
    let report = runner.report();
    assert!(
        report.calls_started > 20,
        "ten minutes of demo have many calls"
    );
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(
        report.answered > 10 && report.missed > 0 && report.cancelled > 0,
        "{report:?}"
    );
    let mut call_no: HashMap<String, usize> = HashMap::new();
    let mut leg_no: HashMap<String, usize> = HashMap::new();
    events
        .iter()
        .map(|e| {
            let n = call_no.len();
            let c = *call_no.entry(e.call.id.clone()).or_insert(n);
            let mut leg = |id: &str| {
                let n = leg_no.len();
                *leg_no.entry(id.to_string()).or_insert(n)
            };
            let kind = match &e.kind {
                WorldEventKind::LegRinging { leg_id, target } => {
                    format!("ring leg{} {target}", leg(leg_id))
                }
                WorldEventKind::LegAnswered { leg_id, target } => {
                    format!("answer leg{} {target}", leg(leg_id))
                }
                WorldEventKind::LegEnded {
                    leg_id,
                    target,
                    code,
                } => format!("end leg{} {target} {code}", leg(leg_id)),
                other => format!("{other:?}"),
            };
            format!(
                "call{c} {:?} {} ({:?}) -> {} via {:?}: {kind}",
                e.call.direction, e.call.from, e.call.from_name, e.call.to, e.call.did
            )
        })
        .collect()
}

#[tokio::test]
async fn the_same_seed_replays_the_same_world_events() {
    let a = demo_events(77).await;
    let b = demo_events(77).await;
    assert!(a.len() > 200, "a busy ten minutes: {} events", a.len());
    assert_eq!(a, b);
    let kinds = a.join("\n");
    for expected in [
        "Parked",
        "Unparked",
        "Dtmf",
        "Transferred",
        "Held",
        "Conference",
        "Outbound",
        "code: \"304\"",
        "code: \"603-S\"",
    ] {
        assert!(kinds.contains(expected), "the demo shows {expected}");
    }
}

#[tokio::test]
async fn another_seed_gives_another_stream() {
    let a = demo_events(1).await;
    let b = demo_events(2).await;
    assert_ne!(a, b);
}
